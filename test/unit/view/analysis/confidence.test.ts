// Confidence modes (SampleMaps.confidence): top-1, margin, entropy and confidently wrong, the threshold
// slider and the count of marked elements (media/view/analysis/confidence.ts, raster.ts).
import * as assert from 'node:assert/strict';
import { fmtCount } from '../../../../media/view/format';
import { countMarked, geometryFor, isMarked, rasterize, UNMARKED_ALPHA } from '../../../../media/view/render/raster';
import { DEFAULT_STATE } from '../../../../media/view/state';
import { change, key, setup, SEG, type Harness } from '../harness';

const CONF = { ...SEG, confidence: true };

function slide(h: Harness, value: number): void {
  const s = h.$<HTMLInputElement>('[data-testid="confidence-threshold"]');
  s.value = String(value);
  s.dispatchEvent(new h.win.Event('input', { bubbles: true }) as unknown as Event);
}

describe('view: confidence maps (pure parts)', function () {
  const maps = {
    loss: [1, 1, 1, 1], target: [0, 1, 1, 0], predicted: [0, 0, 1, 1], ignored: [0, 0, 0, 1], pTarget: null,
    confidence: { top1: [0.9, 0.95, 0.4, 0.99], margin: [0.8, 0.2, 0.1, 0.9], entropy: [0.2, 0.1, 1.1, 0.05] },
  };

  it('marks low top-1 and margin, high entropy, and confidently wrong elements; never ignored ones', function () {
    assert.deepEqual([0, 1, 2, 3].map((k) => isMarked(maps, 'top1', 0.5, k)), [false, false, true, false]);
    assert.deepEqual([0, 1, 2, 3].map((k) => isMarked(maps, 'margin', 0.5, k)), [false, true, true, false]);
    assert.deepEqual([0, 1, 2, 3].map((k) => isMarked(maps, 'entropy', 0.5, k)), [false, false, true, false]);
    assert.deepEqual([0, 1, 2, 3].map((k) => isMarked(maps, 'confWrong', 0.5, k)), [false, true, false, false]);
    assert.deepEqual(countMarked(maps, 'margin', 0.5), { marked: 2, total: 3 });
  });

  it('draws nothing in a confidence mode while the maps are on their way (no "correct" everywhere)', function () {
    const g = geometryFor([4]);
    assert.ok(g);
    const { confidence: _c, ...without } = maps;
    for (const mode of ['top1', 'margin', 'entropy', 'confWrong'] as const) {
      const rgba = rasterize(without, g, 0, { mode, colormap: 'viridis', classFilter: null, showIgnored: false, domain: null, threshold: 0.5 });
      assert.deepEqual([...rgba], new Array(16).fill(0), mode);
    }
  });

  it('draws unmarked elements faint and marked ones opaque', function () {
    const g = geometryFor([4]);
    assert.ok(g);
    const rgba = rasterize(maps, g, 0, { mode: 'top1', colormap: 'viridis', classFilter: null, showIgnored: false, domain: null, threshold: 0.5 });
    assert.deepEqual([rgba[3], rgba[7], rgba[11]], [UNMARKED_ALPHA, UNMARKED_ALPHA, 255]);
    const wrong = rasterize(maps, g, 0, { mode: 'confWrong', colormap: 'viridis', classFilter: null, showIgnored: false, domain: null, threshold: 0.5 });
    assert.deepEqual([...wrong.subarray(4, 8)], [255, 96, 32, 255]);
    assert.equal(wrong[3], UNMARKED_ALPHA);
  });
});

describe('view: confidence modes', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  it('are offered only when the sample has confidence maps', async function () {
    h = await setup();
    const opt = (v: string): HTMLOptionElement => h.$<HTMLOptionElement>(`select[aria-label="View mode"] option[value="${v}"]`);
    for (const m of ['top1', 'margin', 'entropy', 'confWrong']) assert.ok(opt(m).disabled, m);
    assert.ok(h.$('.cel-confidence').hidden);
    h.close();
    h = await setup(CONF);
    for (const m of ['top1', 'margin', 'entropy', 'confWrong']) assert.equal(h.$<HTMLOptionElement>(`select[aria-label="View mode"] option[value="${m}"]`).disabled, false, m);
  });

  it('the threshold marks elements and the count follows it, per mode', async function () {
    h = await setup(CONF);
    const m = h.host.sample(0);
    const mode = h.$<HTMLSelectElement>('select[aria-label="View mode"]');
    change(h, mode, 'top1');
    const controls = h.$('.cel-confidence');
    assert.equal(controls.hidden, false);
    const count = (): string => h.$('[data-testid="confidence-count"]').textContent ?? '';
    const want = (md: 'top1' | 'margin' | 'entropy' | 'confWrong', t: number): string => {
      const c = countMarked(m, md, t);
      return `${fmtCount(c.marked)} of ${fmtCount(c.total)} pixels in this sample`;
    };
    assert.ok(count().startsWith(want('top1', 0.5)), count());
    slide(h, 0.8);
    assert.ok(count().startsWith(want('top1', 0.8)), count());
    assert.notEqual(want('top1', 0.8), want('top1', 0.5), 'the synthetic sample has elements between the thresholds');
    change(h, mode, 'margin');
    assert.ok(count().startsWith(want('margin', 0.8)), count());
    change(h, mode, 'confWrong');
    assert.ok(count().startsWith(want('confWrong', 0.8)), count());
    assert.match(count(), /confidently wrong/);
    change(h, mode, 'entropy');
    const slider = h.$<HTMLInputElement>('[data-testid="confidence-threshold"]');
    assert.equal(Number(slider.max), Math.log(21));
    slide(h, 1.5);
    assert.ok(count().startsWith(want('entropy', 1.5)), count());
    // Back to a probability: the threshold is clamped to 1.
    change(h, mode, 'top1');
    assert.ok(count().startsWith(want('top1', 1)), count());
    await h.settle(200);
    assert.equal(h.states.at(-1)?.confidenceThreshold, 1);
    assert.match(h.$('.cel-legend').textContent ?? '', /top-class probability/);
  });

  it('the hover read-out adds top-1, margin and entropy', async function () {
    h = await setup(CONF);
    key(h, h.$('.cel-viewport'), 'ArrowRight');
    assert.match(h.$('.cel-tooltip').textContent ?? '', /top-1 p [0-9.]+ · margin [0-9.e-]+ · entropy [0-9.e-]+/);
  });

  it('a stored confidence mode falls back to the loss when the sample has no confidence maps', async function () {
    h = await setup(SEG, { initialState: { ...DEFAULT_STATE, mode: 'entropy' } });
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'loss');
  });

  it('a stored confidence mode waits through the first, pending maps for the complete ones', async function () {
    h = await setup(CONF, { initialState: { ...DEFAULT_STATE, mode: 'entropy' } });
    const mode = (): string => h.$<HTMLSelectElement>('select[aria-label="View mode"]').value;
    assert.equal(mode(), 'entropy');
    const full = h.host.sample(0);
    // The host paints the loss first; p(target) and the confidence maps follow.
    h.view.receive({ type: 'sample', maps: { ...full, pTarget: null, confidence: null, pending: true } });
    await h.settle();
    assert.equal(mode(), 'entropy', 'a pending sample keeps the mode');
    h.view.receive({ type: 'sample', maps: full });
    await h.settle();
    assert.equal(mode(), 'entropy');
    assert.match(h.$('[data-testid="confidence-count"]').textContent ?? '', /\d/);
  });
});

describe('view: confidence maps the host holds until asked (confidenceOnRequest)', function () {
  const HELD = { ...CONF, twoStep: true };
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  const requests = (x: Harness): number[] => x.posted.flatMap((m) => (m.type === 'requestConfidence' ? [m.n] : []));

  it('offers the modes; the first confidence mode asks once, and the maps that come are drawn and counted', async function () {
    h = await setup(HELD);
    const mode = h.$<HTMLSelectElement>('select[aria-label="View mode"]');
    for (const m of ['top1', 'margin', 'entropy', 'confWrong']) assert.equal(h.$<HTMLOptionElement>(`select[aria-label="View mode"] option[value="${m}"]`).disabled, false, m);
    assert.deepEqual(requests(h), [], 'not asked for while the loss is shown');
    change(h, mode, 'top1');
    assert.match(h.$('.cel-legend').textContent ?? '', /Loading the confidence maps/);
    await h.settle();
    assert.deepEqual(requests(h), [0]);
    const c = countMarked(h.host.sample(0), 'top1', 0.5);
    assert.ok(c.total > 0);
    assert.ok((h.$('[data-testid="confidence-count"]').textContent ?? '').startsWith(`${fmtCount(c.marked)} of ${fmtCount(c.total)} pixels`));
    assert.match(h.$('.cel-legend').textContent ?? '', /top-class probability/);
    change(h, mode, 'margin');
    await h.settle();
    assert.deepEqual(requests(h), [0], 'asked once for the sample');
  });

  it('another sample in a confidence mode asks for its maps', async function () {
    h = await setup(HELD);
    change(h, h.$<HTMLSelectElement>('select[aria-label="View mode"]'), 'entropy');
    await h.settle();
    h.$<HTMLButtonElement>('button[aria-label="Next sample"]').click();
    await h.settle();
    assert.deepEqual(requests(h), [0, 1]);
    const c = countMarked(h.host.sample(1), 'entropy', h.states.at(-1)?.confidenceThreshold ?? 0.5);
    assert.ok((h.$('[data-testid="confidence-count"]').textContent ?? '').startsWith(`${fmtCount(c.marked)} of ${fmtCount(c.total)}`));
  });

  it('a stored confidence mode keeps through the quick maps and the rest, then asks', async function () {
    h = await setup(HELD, { initialState: { ...DEFAULT_STATE, mode: 'entropy' } });
    await h.settle();
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'entropy');
    assert.deepEqual(requests(h), [0]);
    assert.match(h.$('[data-testid="confidence-count"]').textContent ?? '', /\d/);
  });

  it("the hover read-out's top-1, margin and entropy come with the element's details, as the maps would give them", async function () {
    h = await setup(CONF);
    key(h, h.$('.cel-viewport'), 'ArrowRight');
    const fromMaps = (h.$('.cel-tooltip').textContent ?? '').match(/top-1 p [^]*?entropy [0-9.e-]+/)?.[0];
    assert.ok(fromMaps);
    h.close();
    h = await setup(HELD);
    key(h, h.$('.cel-viewport'), 'ArrowRight');
    assert.doesNotMatch(h.$('.cel-tooltip').textContent ?? '', /top-1 p/, 'no values before the details');
    await h.settle(120);
    assert.ok((h.$('.cel-tooltip').textContent ?? '').includes(fromMaps), h.$('.cel-tooltip').textContent ?? '');
    assert.ok((h.$('.cel-status').textContent ?? '').includes(fromMaps), `the status line announces them too: ${h.$('.cel-status').textContent}`);
    assert.deepEqual(requests(h), [], 'a hover does not fetch the maps');
  });

  it('a failed request takes the modes away: the loss is shown, and the note says why', async function () {
    h = await setup({ ...HELD, confidenceFails: true });
    change(h, h.$<HTMLSelectElement>('select[aria-label="View mode"]'), 'margin');
    await h.settle();
    assert.deepEqual(requests(h), [0]);
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'loss');
    for (const m of ['top1', 'margin', 'entropy', 'confWrong']) assert.ok(h.$<HTMLOptionElement>(`select[aria-label="View mode"] option[value="${m}"]`).disabled, m);
    assert.match(h.root.textContent ?? '', /confidence maps of sample 0 could not be computed/);
  });

  it('a rest for another sample leaves pending maps pending', async function () {
    h = await setup(HELD);
    const full = h.host.sample(0);
    const { confidence: _c, ...quick } = full;
    h.view.receive({ type: 'sample', maps: { ...quick, pTarget: null, pending: true } });
    await h.settle();
    const pOption = (): HTMLOptionElement => h.$<HTMLOptionElement>('select[aria-label="View mode"] option[value="pTarget"]');
    assert.ok(pOption().disabled, 'p(target) waits for the rest');
    h.view.receive({ type: 'sampleRest', rest: { n: 1, pTarget: h.host.sample(1).pTarget } });
    await h.settle();
    assert.ok(pOption().disabled, "sample 1's rest does not complete sample 0");
    h.view.receive({ type: 'sampleRest', rest: { n: 0, pTarget: full.pTarget } });
    await h.settle();
    assert.equal(pOption().disabled, false);
  });

  it('a rest completes only the pending maps of its own sample', async function () {
    h = await setup(HELD);
    assert.equal(h.$<HTMLOptionElement>('select[aria-label="View mode"] option[value="pTarget"]').disabled, false, 'the rest brought p(target)');
    const viewport = h.$('.cel-viewport');
    key(h, viewport, 'ArrowRight');
    const line = (h.$('.cel-tooltip').textContent ?? '').match(/p\(target\) [0-9.e-]+/)?.[0];
    assert.ok(line && line !== 'p(target) 0', h.$('.cel-tooltip').textContent ?? '');
    // A second rest (the same sample, maps no longer pending) and one for another sample: neither applies.
    const S = 12 * 16;
    h.view.receive({ type: 'sampleRest', rest: { n: 0, pTarget: new Float32Array(S) } });
    h.view.receive({ type: 'sampleRest', rest: { n: 1, pTarget: new Float32Array(S) } });
    await h.settle();
    key(h, viewport, 'ArrowLeft');
    key(h, viewport, 'ArrowRight');
    assert.ok((h.$('.cel-tooltip').textContent ?? '').includes(line), h.$('.cel-tooltip').textContent ?? '');
  });
});
