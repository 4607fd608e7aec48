// Compare with another run (ViewSummary.compare, SampleMaps.delta): media/view/analysis/compare.ts.
import * as assert from 'node:assert/strict';
import { deltaRgba, diverging, maxAbs, sortCompareRows } from '../../../../media/view/analysis/compare';
import { fmt6, fmtCount } from '../../../../media/view/format';
import { geometryFor } from '../../../../media/view/render/raster';
import { pointer, SEG, setup, type Harness } from '../harness';

describe('view: compare (pure parts)', function () {
  it('a diverging scale centred at 0: blue below, red above, symmetric in |delta|', function () {
    assert.deepEqual(diverging(0), [221, 221, 221]);
    assert.deepEqual(diverging(-1), [59, 76, 192]);
    assert.deepEqual(diverging(1), [180, 4, 38]);
    assert.deepEqual(diverging(5), diverging(1));
    assert.equal(maxAbs([0.5, -2, NaN, 1]), 2);
    const g = geometryFor([2, 2]);
    assert.ok(g);
    const rgba = deltaRgba([-2, 0, NaN, 1], g, 0, 2);
    assert.deepEqual([...rgba.subarray(0, 4)], [59, 76, 192, 255]);
    assert.deepEqual([...rgba.subarray(4, 8)], [221, 221, 221, 255]);
    assert.equal(rgba[11], 0, 'ignored (NaN) is transparent');
    assert.deepEqual([...rgba.subarray(12, 16)], [...diverging(0.5), 255]);
  });

  it('sorts per-class changes either way, empty classes last', function () {
    const rows = [{ class: 0, meanA: 1, meanB: 2, deltaMeanLoss: 1 }, { class: 1, meanA: NaN, meanB: NaN, deltaMeanLoss: NaN }, { class: 2, meanA: 3, meanB: 1, deltaMeanLoss: -2 }];
    assert.deepEqual(sortCompareRows(rows, 'deltaMeanLoss', 'asc').map((r) => r.class), [2, 0, 1]);
    assert.deepEqual(sortCompareRows(rows, 'deltaMeanLoss', 'desc').map((r) => r.class), [0, 2, 1]);
    assert.deepEqual(sortCompareRows(rows, 'class', 'desc').map((r) => r.class), [2, 1, 0]);
  });
});

describe('view: compare section', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  it('shows the counts, the delta map with a read-out, and a sortable per-class table', async function () {
    h = await setup({ ...SEG, compare: true });
    const c = h.host.compareSummary();
    assert.ok(c);
    const section = h.$('.cel-compare');
    assert.equal(section.hidden, false);
    assert.equal(h.$('[data-testid="compare-counts"]').textContent, `${fmtCount(c.improved)} elements improved (lower loss in B) · ${fmtCount(c.regressed)} regressed (higher in B)`);
    assert.ok(c.improved > 0 && c.regressed > 0);
    const canvas = h.$<HTMLCanvasElement>('[data-testid="compare-delta"]');
    assert.equal(canvas.tagName, 'CANVAS');
    assert.equal(canvas.width, 16);
    assert.equal(canvas.height, 12);
    const m = h.host.sample(0);
    assert.ok(m.delta);
    // A non-ignored element: its read-out gives B - A and both losses.
    let k = 0;
    while (m.ignored[k]) k++;
    const x = k % 16;
    const y = Math.floor(k / 16);
    pointer(h, canvas, 'pointermove', x + 0.5, y + 0.5);
    assert.equal(h.$('[data-testid="compare-readout"]').textContent, `(y, x) = (${y}, ${x}): B − A = ${fmt6(m.delta[k])} · A ${fmt6(m.loss[k] - m.delta[k])} · B ${fmt6(m.loss[k])}`);
    // The table: largest increase first; a header click sorts the other way.
    const firstClass = (): number => Number(h.$$('[data-testid="compare-classes"] tbody tr')[0].getAttribute('data-class'));
    const finite = c.perClass.filter((r) => !Number.isNaN(r.deltaMeanLoss));
    const max = finite.reduce((a, b) => (b.deltaMeanLoss > a.deltaMeanLoss ? b : a));
    const min = finite.reduce((a, b) => (b.deltaMeanLoss < a.deltaMeanLoss ? b : a));
    assert.equal(firstClass(), max.class);
    h.$<HTMLButtonElement>('[data-testid="compare-classes"] th[data-key="deltaMeanLoss"] button').click();
    assert.equal(firstClass(), min.class);
    assert.equal(h.$('[data-testid="compare-classes"] th[data-key="deltaMeanLoss"]').getAttribute('aria-sort'), 'ascending');
    // The heatmap's read-out adds B - A too.
    h.$('.cel-viewport').dispatchEvent(new h.win.KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }) as unknown as Event);
    assert.match(h.$('.cel-tooltip').textContent ?? '', /B − A /);
  });

  it('"Compare with…" asks the host in the panel only; no section outside a comparison', async function () {
    h = await setup();
    assert.ok(h.$('.cel-compare').hidden);
    const button = h.$$<HTMLButtonElement>('.cel-actions .cel-button').find((b) => b.textContent === 'Compare with…');
    assert.ok(button);
    button.click();
    assert.deepEqual(h.posted.at(-1), { type: 'compareWith' });
    h.close();
    h = await setup(SEG, { compact: true });
    assert.equal(h.$$<HTMLButtonElement>('.cel-button').filter((b) => b.textContent === 'Compare with…').length, 0);
  });
});
