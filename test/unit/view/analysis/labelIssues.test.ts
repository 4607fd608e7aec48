// The label-errors mode of the view (media/view/analysis/labelIssues.ts, raster.ts, legend.ts, classTable.ts): what
// the host sends is what the page shows — the count, the marked pixels, the given → predicted table whose
// rows filter the heatmap, and the per-class column. The numbers themselves are cleanlab's (src/labels/,
// tested against cleanlab's outputs in test/unit/labels/); here the fake host runs the same code.
import * as assert from 'node:assert/strict';
import { commonIssues } from '../../../../src/labels/labelIssues';
import { pairLabelIssues } from '../../../../src/labels/pairIssues';
import { flaggedInSample, flaggedOfMask, viewLabelIssues } from '../../../../src/labels/viewIssues';
import { COLORS, geometryFor, rasterize, UNMARKED_ALPHA } from '../../../../media/view/render/raster';
import { syntheticRequest } from '../fakeHost';
import { change, key, setup, SEG, type Harness } from '../harness';

/** The synthetic batch's label issues as the fake host finds them, and each element's given and predicted class. */
function expected(): { mask: Uint8Array; given: number[]; predicted: number[]; S: number } {
  const req = syntheticRequest(SEG);
  const r = pairLabelIssues(req.input, req.target, { classDim: 1, ignoreIndex: 255, inputKind: 'logits' });
  const C = SEG.C;
  const S = req.target.shape.slice(1).reduce((a, b) => a * b, 1);
  const x = req.input.data as Float32Array;
  const t = req.target.data as Int32Array;
  const predicted: number[] = [];
  for (let e = 0; e < t.length; e++) {
    const n = Math.floor(e / S);
    const s = e % S;
    let best = 0;
    for (let c = 1; c < C; c++) if (x[(n * C + c) * S + s]! > x[(n * C + best) * S + s]!) best = c;
    predicted.push(best);
  }
  return { mask: r.mask, given: Array.from(t), predicted, S };
}

describe('view: likely label errors (pure parts)', function () {
  it('flaggedInSample cuts a sample\'s positions out of the sorted flat list', function () {
    const flagged = Int32Array.of(1, 5, 6, 11, 12, 19);
    assert.deepEqual(Array.from(flaggedInSample(flagged, 0, 6)), [1, 5]);
    assert.deepEqual(Array.from(flaggedInSample(flagged, 1, 6)), [0, 5]);
    assert.deepEqual(Array.from(flaggedInSample(flagged, 2, 6)), [0]);
    assert.deepEqual(Array.from(flaggedInSample(flagged, 3, 6)), [1]);
    assert.deepEqual(Array.from(flaggedInSample(flagged, -1, 6)), [1, 5, 6, 11, 12, 19]);
  });

  it('viewLabelIssues counts per given class and lists every pair, most frequent first', function () {
    const v = viewLabelIssues({ flagged: Int32Array.of(0, 2, 3, 5), target: [1, 0, 1, 2, 0, 2], predicted: [0, 0, 0, 1, 1, 1], classes: 3, examples: 6, origin: 'x', rule: 'segmentation' });
    assert.deepEqual(v.perClass, [0, 2, 2]);
    assert.deepEqual(v.table.map((r) => ({ ...r })), [{ given: 1, predicted: 0, count: 2 }, { given: 2, predicted: 1, count: 2 }]);
    assert.equal(v.pairs, 2);
    assert.equal(v.count, 4);
  });

  it('draws reported elements in the flagged colour over the target\'s colours, drawn faint', function () {
    const g = geometryFor([2, 2]);
    assert.ok(g);
    const maps = { loss: [1, 1, 1, 1], target: [0, 1, 1, 0], predicted: [0, 0, 1, 1], ignored: [0, 0, 0, 1], pTarget: null };
    const rgba = rasterize(maps, g, 0, { mode: 'labelIssues', colormap: 'viridis', classFilter: null, showIgnored: false, domain: null, flagged: [0, 1, 0, 0] });
    assert.deepEqual([...rgba.subarray(4, 8)], [...COLORS.flagged]);
    assert.equal(rgba[3], UNMARKED_ALPHA);
    assert.equal(rgba[11], UNMARKED_ALPHA);
    // With the pair filter, only that pair's elements are drawn.
    const only = rasterize(maps, g, 0, { mode: 'labelIssues', colormap: 'viridis', classFilter: null, showIgnored: false, domain: null, flagged: [0, 1, 0, 0], pair: { target: 1, predicted: 0 } });
    assert.deepEqual([only[3], only[7], only[11]], [0, 255, 0]);
  });
});

describe('view: likely label errors mode', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  const mode = (): HTMLSelectElement => h.$<HTMLSelectElement>('select[aria-label="View mode"]');

  it('choosing the mode asks the host once and shows the count, this sample\'s count and the table', async function () {
    h = await setup();
    const want = expected();
    const total = want.mask.reduce((a, b) => a + b, 0);
    assert.ok(total > 0, 'the synthetic batch has label issues');
    assert.equal(h.$('[data-testid="label-issues"]').hidden, true);
    change(h, mode(), 'labelIssues');
    await h.settle();
    assert.equal(h.posted.filter((m) => m.type === 'findLabelIssues').length, 1);
    const section = h.$('[data-testid="label-issues"]');
    assert.equal(section.hidden, false);
    assert.equal(h.$('[data-testid="label-issue-count"]').textContent, total.toLocaleString('en-US'));
    const inSample0 = want.mask.subarray(0, want.S).reduce((a, b) => a + b, 0);
    assert.match(section.textContent ?? '', new RegExp(`\\(${inSample0} in this sample\\)`));
    assert.match(h.$('[data-testid="label-issues-legend"]').textContent ?? '', new RegExp(`${inSample0} in this sample, ${total} in all`));
    // The table: every given → predicted pair of the reported elements, most frequent first.
    const pairs: Array<readonly [number, number]> = [];
    want.mask.forEach((v, i) => v && pairs.push([want.given[i]!, want.predicted[i]!]));
    const rows = h.$$('[data-testid="label-issue-table"] tbody tr').map((tr) => [Number(tr.getAttribute('data-given')), Number(tr.getAttribute('data-predicted')), Number(tr.lastElementChild?.textContent)]);
    assert.deepEqual(rows, commonIssues(pairs, Infinity).map((r) => [r.given, r.predicted, r.count]));
    // Choosing the mode again (another sample, a redraw) does not ask again.
    change(h, mode(), 'loss');
    change(h, mode(), 'labelIssues');
    await h.settle();
    assert.equal(h.posted.filter((m) => m.type === 'findLabelIssues').length, 1);
  });

  it('a table row restricts the heatmap to that pair (again: all), by click or keyboard', async function () {
    h = await setup();
    change(h, mode(), 'labelIssues');
    await h.settle();
    const first = h.$('[data-testid="label-issue-table"] tbody tr');
    const pair = { target: Number(first.getAttribute('data-given')), predicted: Number(first.getAttribute('data-predicted')) };
    first.dispatchEvent(new h.win.MouseEvent('click', { bubbles: true }) as unknown as Event);
    await h.settle(200);
    assert.deepEqual(h.states.at(-1)?.pairFilter, pair);
    assert.equal(h.states.at(-1)?.mode, 'labelIssues');
    assert.equal(h.$('[data-testid="label-issue-table"] tbody tr').getAttribute('aria-pressed'), 'true');
    key(h, h.$('[data-testid="label-issue-table"] tbody tr'), 'Enter');
    await h.settle(200);
    assert.equal(h.states.at(-1)?.pairFilter, null);
  });

  it('the class table gains the label errors per given class', async function () {
    h = await setup();
    const want = expected();
    change(h, mode(), 'labelIssues');
    await h.settle();
    const perClass = new Array<number>(SEG.C).fill(0);
    want.mask.forEach((v, i) => v && perClass[want.given[i]!]++);
    const head = h.$$('[data-testid="class-table"] thead th').map((th) => th.getAttribute('data-key'));
    const col = head.indexOf('flagged');
    assert.ok(col >= 0, `columns ${head.join(', ')}`);
    for (const tr of h.$$('[data-testid="class-table"] tbody tr[data-class]')) {
      const c = Number(tr.getAttribute('data-class'));
      assert.equal(Number(tr.children[col]?.textContent), perClass[c], `class ${c}`);
    }
  });

  it('new options drop the label errors and, in the mode, ask for the new result\'s', async function () {
    h = await setup();
    change(h, mode(), 'labelIssues');
    await h.settle();
    h.view.receive({ type: 'summary', summary: h.host.summary() });
    await h.settle();
    assert.equal(h.posted.filter((m) => m.type === 'findLabelIssues').length, 2);
  });

  it('label errors sent with show switch to the mode; the mode is not offered for focal', async function () {
    h = await setup();
    const want = expected();
    h.view.receive({ type: 'labelIssues', issues: { ...viewLabelIssues({ flagged: flaggedOfMask(want.mask), target: want.given, predicted: want.predicted, classes: SEG.C, examples: 1, origin: 'the folder', rule: 'segmentation' }), show: true } });
    await h.settle(200);
    assert.equal(h.states.at(-1)?.mode, 'labelIssues');
    assert.match(h.$('[data-testid="label-issues"]').textContent ?? '', /the folder/);
    h.close();
    h = await setup({ ...SEG, options: { loss: 'focal' } });
    assert.ok(h.$<HTMLOptionElement>('select[aria-label="View mode"] option[value="labelIssues"]').disabled);
  });
});
