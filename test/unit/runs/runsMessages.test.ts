// What the runs view is sent (src/host/evaluation/runsMessages.ts): the CLI's report with NaN as null and changed[] /
// persistent[] pointing at perImage; the request kept for a window reload read back only when it is one;
// run names unique; the delta thumbnails in messages of bounded size.
import * as assert from 'node:assert/strict';
import type { RunsReport } from '../../../src/eval/runs/report';
import { DELTA_ROWS_PER_MESSAGE, deltaThumbnail, deltaThumbnailMessages, parseRunsRequest, runNamesOf, thumbnailRow, toRunsRequest, toRunsView } from '../../../src/host/evaluation/runsMessages';
import { decodeDeltaRow, deltaPixels } from '../../../media/runs/deltaThumb';
import { diverging } from '../../../media/view/analysis/compare';

const report: RunsReport = {
  images: 2,
  runs: [{ name: 'a', value: 1, pixelAccuracy: 0.5, miou: NaN, ece: 0.1, p90: 2 }, { name: 'b', value: 2, pixelAccuracy: null, miou: 0.5, ece: 0.2, p90: NaN }],
  perClass: [{ class: 0, meanLoss: [1, NaN], iou: [null, 0.5] }],
  perImage: [{ name: 'x', value: [1, 3] }, { name: 'y', value: [NaN, 1] }],
  changed: [{ name: 'x', delta: 2 }, { name: 'y', delta: NaN }],
  persistent: [{ name: 'y', share: 0.25 }, { name: 'x', share: null }],
  unmatched: ['a/z_logits.npy'],
};

describe('runs view messages', function () {
  it('toRunsView: non-finite as null, changed and persistent by perImage index in the CLI order', function () {
    const v = toRunsView(report);
    assert.deepEqual(v.runs.map((r) => [r.miou, r.p90, r.pixelAccuracy]), [[null, 2, 0.5], [0.5, null, null]]);
    assert.deepEqual(v.perClass[0].meanLoss, [1, null]);
    assert.deepEqual(v.perImage[1].value, [null, 1]);
    assert.deepEqual(v.changed, [{ index: 0, delta: 2 }, { index: 1, delta: null }]);
    assert.deepEqual(v.persistent, [{ index: 1, share: 0.25 }, { index: 0, share: null }]);
    assert.deepEqual(JSON.parse(JSON.stringify(v)), v, 'survives JSON');
  });

  it('parseRunsRequest reads back toRunsRequest and refuses other state', function () {
    const options = { ignoreIndex: 255, labelSmoothing: 0.1, classDim: 1, bins: 15, boundary: 3, weight: null };
    const req = toRunsRequest({ labelDir: '/l', runs: [{ name: 'a', folder: '/a' }, { name: 'b', folder: '/b' }], options });
    assert.deepEqual(parseRunsRequest(JSON.parse(JSON.stringify(req))), req);
    assert.equal(parseRunsRequest(null), null);
    assert.equal(parseRunsRequest({ ...req, runs: [{ name: 'a', folder: '/a' }] }), null, 'one run');
    assert.equal(parseRunsRequest({ ...req, runs: [{ name: 'a', folder: '/a' }, { name: 'a', folder: '/b' }] }), null, 'names twice');
    assert.equal(parseRunsRequest({ ...req, options: { ...options, bins: 0 } }), null, 'bad options');
    assert.equal(parseRunsRequest({ ...req, labelDir: '' }), null);
  });

  it('runNamesOf: folder names, with the parent where two share one', function () {
    assert.deepEqual(runNamesOf(['/r/epoch10', '/r/epoch30']), ['epoch10', 'epoch30']);
    assert.deepEqual(runNamesOf(['/x/run1/ckpt', '/x/run2/ckpt', '/x/best']), ['run1/ckpt', 'run2/ckpt', 'best']);
    assert.deepEqual(runNamesOf(['/a/run/ckpt', '/b/run/ckpt']), ['run/ckpt (1)', 'run/ckpt (2)']);
  });

  it('delta thumbnails: last minus first per cell, through base64 to the view, on a scale symmetric about 0', function () {
    const first = { h: 1, w: 3, data: new Float32Array([1, 2, NaN]) };
    const last = { h: 1, w: 3, data: new Float32Array([3, 1, NaN]) };
    const d = deltaThumbnail(first, last);
    assert.ok(d);
    assert.deepEqual([...d.data], [2, -1, NaN]);
    assert.equal(deltaThumbnail(first, { h: 3, w: 1, data: last.data }), null, 'sizes differ');
    assert.equal(deltaThumbnail(undefined, last), null);
    const [msg] = deltaThumbnailMessages([{ index: 7, thumbnail: d }]);
    assert.equal(msg.scale, 2);
    assert.deepEqual(msg.rows, [thumbnailRow(7, d)]);
    const t = decodeDeltaRow(msg.rows[0]);
    assert.ok(t, 'the row decodes');
    assert.deepEqual([...t.data], [2, -1, NaN]);
    assert.equal(decodeDeltaRow({ ...msg.rows[0], w: 2 }), null, 'a size that does not match its data');
    const px = deltaPixels(t.data, msg.scale);
    assert.deepEqual([...px.subarray(0, 4)], [...diverging(1), 255], 'the largest rise: full red');
    assert.deepEqual([...px.subarray(4, 8)], [...diverging(-0.5), 255]);
    assert.equal(px[11], 0, 'NaN transparent');
  });

  it('delta thumbnails go in messages of a bounded size, each with the scale of them all', function () {
    const rows = Array.from({ length: 2000 }, (_, i) => ({ index: i, thumbnail: { h: 32, w: 32, data: new Float32Array(1024).fill(i === 1234 ? -3 : 0.5) } }));
    const msgs = deltaThumbnailMessages(rows);
    assert.equal(msgs.length, Math.ceil(2000 / DELTA_ROWS_PER_MESSAGE));
    assert.deepEqual(msgs.flatMap((m) => m.rows.map((r) => r.index)), rows.map((r) => r.index), 'every row once, in order');
    for (const m of msgs) assert.equal(m.scale, 3, 'the largest |change| of all rows, in every message');
    const largest = Math.max(...msgs.map((m) => JSON.stringify(m).length));
    assert.ok(largest < 1.5e6, `largest message ${largest} bytes`);
  });
});
