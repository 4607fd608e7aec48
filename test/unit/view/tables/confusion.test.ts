// The confusion matrix section (media/view/tables/confusion.ts) and the heatmap filter it sets.
import * as assert from 'node:assert/strict';
import { colormapLUT } from '../../../../media/view/render/colormap';
import { AXIS_LABELS, confusionRgba, normalizeConfusion, positiveRange } from '../../../../media/view/tables/confusion';
import { fmtCount } from '../../../../media/view/format';
import { countPair, geometryFor, rasterize } from '../../../../media/view/render/raster';
import { pointer, setup, type Harness } from '../harness';

/** Opens the collapsed section as a click on its summary would. */
function open(h: Harness): HTMLDetailsElement {
  const d = h.$<HTMLDetailsElement>('[data-testid="confusion-matrix"]');
  d.open = true;
  d.dispatchEvent(new h.win.Event('toggle') as unknown as Event);
  return d;
}

describe('view: confusion matrix (pure parts)', function () {
  it('normalises by row, by column or not at all; empty rows stay 0', function () {
    const m = [2, 2, 0, 0, 0, 0, 1, 3, 4];
    assert.deepEqual([...normalizeConfusion(m, 3, 'none')], m);
    assert.deepEqual([...normalizeConfusion(m, 3, 'row')], [0.5, 0.5, 0, 0, 0, 0, 0.125, 0.375, 0.5]);
    assert.deepEqual([...normalizeConfusion(m, 3, 'column')], [2 / 3, 0.4, 0, 0, 0, 0, 1 / 3, 0.6, 1]);
  });

  it('colours on a log scale: zero transparent, the smallest positive value at the low end, the largest at the top', function () {
    const v = [0, 1, 10, 100];
    assert.deepEqual(positiveRange(v), { min: 1, max: 100 });
    const rgba = confusionRgba(v, 2, 'viridis');
    const lut = colormapLUT('viridis');
    assert.equal(rgba[3], 0);
    assert.deepEqual([...rgba.subarray(4, 8)], [...lut.subarray(0, 4)]);
    // log: 10 sits half way between 1 and 100.
    assert.deepEqual([...rgba.subarray(8, 12)], [...lut.subarray(128 * 4, 128 * 4 + 4)]);
    assert.deepEqual([...rgba.subarray(12, 16)], [...lut.subarray(255 * 4, 256 * 4)]);
  });

  it('a pair filter keeps only the elements of that cell (ignored ones too are masked)', function () {
    const g = geometryFor([2, 2]);
    assert.ok(g);
    const maps = { loss: [1, 1, 1, 1], target: [0, 1, 1, 1], predicted: [0, 2, 2, 1], ignored: [0, 0, 1, 0], pTarget: null };
    const rgba = rasterize(maps, g, 0, { mode: 'loss', colormap: 'gray', classFilter: null, showIgnored: true, domain: null, pair: { target: 1, predicted: 2 } });
    assert.deepEqual([rgba[3], rgba[7], rgba[11], rgba[15]], [0, 255, 0, 0]);
    assert.equal(countPair(maps, { target: 1, predicted: 2 }), 1);
  });
});

describe('view: confusion matrix section', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  it('draws C x C cells with class names on both axes and reads out the cell under the pointer', async function () {
    h = await setup();
    const s = h.host.summary();
    const details = h.$<HTMLDetailsElement>('[data-testid="confusion-matrix"]');
    assert.equal(details.tagName, 'DETAILS');
    assert.equal(details.hidden, false);
    assert.equal(h.$$('.cel-cm-canvas').length, 0, 'not drawn while collapsed');
    open(h);
    const canvas = h.$<HTMLCanvasElement>('.cel-cm-canvas');
    assert.equal(canvas.width, 21);
    assert.equal(canvas.height, 21);
    assert.ok(21 <= AXIS_LABELS);
    assert.deepEqual(h.$$('.cel-cm-xlabel').map((e) => e.textContent), s.classNames.map((n, c) => `${c} (${n})`));
    assert.equal(h.$$('.cel-cm-ylabel').length, 21);
    // Without layout the canvas's pixel size is its box: (5.5, 3.5) is row 3, column 5.
    pointer(h, canvas, 'pointermove', 5.5, 3.5);
    const row = Array.from(s.confusion).slice(3 * 21, 4 * 21).reduce((a, b) => a + b, 0);
    const count = s.confusion[3 * 21 + 5];
    const readout = h.$('[data-testid="confusion-readout"]').textContent ?? '';
    assert.ok(readout.startsWith(`target 3 (bird) · predicted 5 (bottle) · count ${fmtCount(count)}`), readout);
    if (row > 0) assert.match(readout, /of target 3 \(bird\)$/);
    const norm = h.$<HTMLSelectElement>('select[aria-label="Normalise the confusion matrix"]');
    norm.value = 'none';
    norm.dispatchEvent(new h.win.Event('change') as unknown as Event);
    pointer(h, h.$('.cel-cm-canvas'), 'pointermove', 5.5, 3.5);
    assert.equal(h.$('[data-testid="confusion-readout"]').textContent, `target 3 (bird) · predicted 5 (bottle) · count ${fmtCount(count)}`);
    await h.settle(200);
    assert.equal(h.states.at(-1)?.confusionNorm, 'none');
  });

  it('a click on a cell filters the heatmap to its elements, says how many there are in the sample, and clears', async function () {
    h = await setup();
    const s = h.host.summary();
    const m = h.host.sample(0);
    // An off-diagonal cell with elements in sample 0.
    let pair: { target: number; predicted: number } | null = null;
    for (let k = 0; k < m.loss.length && !pair; k++) if (!m.ignored[k] && m.target[k] !== m.predicted[k]) pair = { target: m.target[k], predicted: m.predicted[k] };
    assert.ok(pair);
    assert.ok(s.confusion[pair.target * 21 + pair.predicted] > 0);
    open(h);
    h.$('.cel-cm-canvas').dispatchEvent(new h.win.MouseEvent('click', { clientX: pair.predicted + 0.5, clientY: pair.target + 0.5, bubbles: true }) as unknown as Event);
    const line = h.$('[data-testid="pair-filter"]');
    assert.equal(line.hidden, false);
    const n = countPair(m, pair);
    assert.ok(n > 0);
    const name = (c: number): string => `${c} (${s.classNames[c]})`;
    assert.equal(line.querySelector('span')?.textContent?.trim(), `Showing target ${name(pair.target)} predicted as ${name(pair.predicted)} (${n} ${n === 1 ? 'pixel' : 'pixels'} in this sample)`);
    assert.match(h.$('.cel-legend').textContent ?? '', new RegExp(`not target ${pair.target} \\(`));
    await h.settle(200);
    assert.deepEqual(h.states.at(-1)?.pairFilter, pair);
    // A class filter gives way to the pair, and the pair to a class filter.
    h.$('[data-testid="class-table"] tbody tr[data-class="12"]').click();
    assert.ok(line.hidden);
    open(h);
    h.$('.cel-cm-canvas').dispatchEvent(new h.win.MouseEvent('click', { clientX: pair.predicted + 0.5, clientY: pair.target + 0.5, bubbles: true }) as unknown as Event);
    assert.ok(h.$('.cel-chip').hidden, 'the class filter chip went away');
    (line.querySelector('button') as HTMLButtonElement).click();
    assert.ok(line.hidden);
    await h.settle(200);
    assert.equal(h.states.at(-1)?.pairFilter, null);
  });

  it('keyboard: arrows move the read-out cell, Enter filters', async function () {
    h = await setup();
    open(h);
    const canvas = h.$('.cel-cm-canvas');
    for (const k of ['ArrowRight', 'ArrowRight', 'ArrowDown']) canvas.dispatchEvent(new h.win.KeyboardEvent('keydown', { key: k, bubbles: true }) as unknown as Event);
    assert.match(h.$('[data-testid="confusion-readout"]').textContent ?? '', /^target 1 \(aeroplane\) · predicted 2 \(bicycle\)/);
    canvas.dispatchEvent(new h.win.KeyboardEvent('keydown', { key: 'Enter', bubbles: true }) as unknown as Event);
    await h.settle(200);
    assert.deepEqual(h.states.at(-1)?.pairFilter, { target: 1, predicted: 2 });
  });

  it('above 1,024 classes (no matrix) lists the most frequent confusions, each a filter', async function () {
    h = await setup();
    const s = h.host.summary();
    h.view.receive({ type: 'summary', summary: { ...s, confusion: [], topConfusions: [{ target: 4, predicted: 9, count: 1234 }, { target: 2, predicted: 3, count: 7 }] } });
    await h.settle();
    open(h);
    assert.equal(h.$$('.cel-cm-canvas').length, 0);
    const items = h.$$<HTMLButtonElement>('.cel-cm-pair');
    assert.equal(items.length, 2);
    assert.equal(items[0].textContent, `target 4 (boat) predicted as 9 (chair) · ${fmtCount(1234)}`);
    items[1].click();
    assert.match(h.$('[data-testid="pair-filter"]').textContent ?? '', /Showing target 2 \(bicycle\) predicted as 3 \(bird\)/);
    // No matrix and no list (a binary target): no section.
    h.view.receive({ type: 'summary', summary: { ...s, confusion: [], topConfusions: [] } });
    assert.ok(h.$('[data-testid="confusion-matrix"]').hidden);
  });
});
