// The "Hard in every run" mode (media/view/runs/, raster.ts, legend.ts, runSlider.ts's "against"): offered
// only when the summary carries the runs view's runs; choosing it asks the host once per result; the host's
// answer is what the section, the legend, the painted pixels and the hover lines show; the baseline menu
// posts selectBaseRun. The pixels themselves are the runs' (test/unit/engine/runs/hardPixels.test.ts).
import * as assert from 'node:assert/strict';
import { COLORS, geometryFor, rasterize, UNMARKED_ALPHA } from '../../../../media/view/render/raster';
import { hardPixelLines } from '../../../../media/view/runs/hardSection';
import type { ViewHardPixels, ViewSummary } from '../../../../src/protocol';
import { change, setup, SEG, type Harness } from '../harness';

const RUNS = { names: ['ep1', 'ep2', 'ep3'], index: 2, base: 0 };
const S = 12 * 16;
/** Two pixels of sample 0, one of sample 1, of 300 labelled pixels. */
const DONE: ViewHardPixels = { state: 'done', count: 3, pixels: 300, positions: Int32Array.of(5, 17, S + 3), percentiles: [3.5, 2.25, 1.125], runs: RUNS.names };

describe('view: hard in every run (pure parts)', function () {
  it('paints hard pixels in their own colour over faint target colours, never label errors\' magenta', function () {
    const g = geometryFor([2, 2]);
    assert.ok(g, 'a 2 x 2 geometry');
    const maps = { loss: [1, 1, 1, 1], target: [0, 1, 1, 0], predicted: [0, 0, 1, 1], ignored: [0, 0, 0, 1], pTarget: null };
    const rgba = rasterize(maps, g, 0, { mode: 'hardEveryRun', colormap: 'viridis', classFilter: null, showIgnored: false, domain: null, flagged: [0, 0, 1, 0] });
    assert.deepEqual([...rgba.subarray(8, 12)], [...COLORS.hard]);
    assert.notDeepEqual([...COLORS.hard], [...COLORS.flagged], 'not the label errors\' colour');
    assert.equal(rgba[3], UNMARKED_ALPHA);
    assert.equal(rgba[7], UNMARKED_ALPHA);
  });
});

describe('view: hard in every run mode', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  const mode = (): HTMLSelectElement => h.$<HTMLSelectElement>('select[aria-label="View mode"]');
  const option = (): HTMLOptionElement => h.$<HTMLOptionElement>('select[aria-label="View mode"] option[value="hardEveryRun"]');
  const withRuns = async (): Promise<ViewSummary> => {
    const summary: ViewSummary = { ...h.host.summary(), runs: RUNS };
    h.view.receive({ type: 'summary', summary });
    // The host follows a summary with sample 0's maps.
    h.view.receive({ type: 'sample', maps: h.host.sample(0) });
    await h.settle();
    return summary;
  };

  it('is not offered without runs (any panel but the runs view\'s, the notebook renderer)', async function () {
    h = await setup(SEG);
    assert.equal(option().disabled, true, 'disabled');
    assert.equal(option().hidden, true, 'and hidden');
    await withRuns();
    assert.equal(option().disabled, false, 'offered with runs');
    assert.equal(option().hidden, false, 'shown with runs');
  });

  it('asks the host once per result and shows the count, the share and the percentiles', async function () {
    h = await setup(SEG);
    await withRuns();
    const section = h.$('[data-testid="hard-every-run"]');
    assert.equal(section.hidden, true, 'hidden outside the mode');
    change(h, mode(), 'hardEveryRun');
    await h.settle();
    assert.equal(h.posted.filter((m) => m.type === 'findHardPixels').length, 1, 'asked once');
    assert.equal(section.hidden, false, 'shown in the mode');
    assert.match(section.textContent ?? '', /Evaluating this image in every run/);
    h.view.receive({ type: 'hardPixels', hard: DONE });
    await h.settle();
    assert.equal(h.$('[data-testid="hard-every-run-count"]').textContent, '3 of 300 labelled pixels (1.00%)');
    assert.equal(section.getAttribute('data-share'), String(3 / 300), 'the exact share');
    assert.match(section.textContent ?? '', /ep1 > 3\.5, ep2 > 2\.25, ep3 > 1\.125/);
    const legend = h.$('[data-testid="hard-every-run-legend"]').textContent ?? '';
    assert.match(legend, /hard in every run: 3 of 300 labelled pixels \(1\.00%\)/);
    assert.match(legend, /ep1 > 3\.5/);
    change(h, mode(), 'loss');
    change(h, mode(), 'hardEveryRun');
    await h.settle();
    assert.equal(h.posted.filter((m) => m.type === 'findHardPixels').length, 1, 'not asked again for the same result');
    // Another run's result (the slider): asked again.
    await withRuns();
    assert.equal(h.posted.filter((m) => m.type === 'findHardPixels').length, 2, 'asked for the new result');
  });

  it('marks the sample\'s hard pixels in the hover read-out', async function () {
    h = await setup(SEG);
    await withRuns();
    change(h, mode(), 'hardEveryRun');
    await h.settle();
    h.view.receive({ type: 'hardPixels', hard: DONE });
    await h.settle(50);
    // The harness's model is private: the hover lines read it through the module's function on a stand-in.
    const mask = new Uint8Array(S);
    mask[5] = 1;
    const model = { hardOfSample: () => ({ mask, count: 1 }) } as unknown as Parameters<typeof hardPixelLines>[0];
    assert.deepEqual(hardPixelLines(model, 5), ['hard in every run (loss above each run\'s p90)']);
    assert.deepEqual(hardPixelLines(model, 6), []);
  });

  it('an answer the host could not give is one line in the section', async function () {
    h = await setup(SEG);
    await withRuns();
    change(h, mode(), 'hardEveryRun');
    await h.settle();
    h.view.receive({ type: 'hardPixels', hard: { state: 'error', message: 'this panel ignores other pixels than the runs did' } });
    await h.settle();
    assert.equal(h.$('[data-testid="hard-every-run"] .cel-issues-head').textContent, 'Hard in every run not shown: this panel ignores other pixels than the runs did');
  });

  it('"against" lists the runs at the baseline and posts selectBaseRun', async function () {
    h = await setup(SEG);
    await withRuns();
    const base = h.$<HTMLSelectElement>('[data-testid="run-baseline"]');
    assert.deepEqual(Array.from(base.options).map((o) => o.textContent), RUNS.names);
    assert.equal(base.value, '0');
    change(h, base, '1');
    assert.deepEqual(h.posted.at(-1), { type: 'selectBaseRun', index: 1 });
    h.view.receive({ type: 'summary', summary: { ...h.host.summary(), runs: { ...RUNS, base: 1 } } });
    await h.settle();
    assert.equal(h.$<HTMLSelectElement>('[data-testid="run-baseline"]').value, '1');
  });
});
