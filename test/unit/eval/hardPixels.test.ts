// The pure half of "Hard in every run" (src/eval/runs/hardPixels.ts): figures.ts's strict decision ANDed over
// runs, and the mapping of the k-th labelled pixel back to its raster position.
import * as assert from 'node:assert/strict';
import { hardInEveryRun, hardPositions } from '../../../src/eval/runs/hardPixels';

describe('runs: hard pixels (pure)', function () {
  it('keeps the pixels strictly above every run\'s percentile; NaN is never above', () => {
    const m = hardInEveryRun([Float32Array.of(3, 1, 5, NaN, 2), Float32Array.of(4, 9, 2, 9, 7)], [2, 3]);
    assert.deepEqual(Array.from(m.alive), [1, 0, 0, 0, 0]);
    assert.equal(m.count, 1);
    assert.equal(m.pixels, 5);
  });

  it('marks nothing when a percentile is null or NaN, and refuses runs of different pixels', () => {
    assert.equal(hardInEveryRun([Float32Array.of(9)], [null]).count, 0);
    assert.equal(hardInEveryRun([Float32Array.of(9)], [NaN]).count, 0);
    assert.throws(() => hardInEveryRun([Float32Array.of(1, 2), Float32Array.of(1)], [0, 0]), /pixels/);
    assert.throws(() => hardInEveryRun([Float32Array.of(1)], [0, 0]), /percentiles/);
  });

  it('maps the k-th labelled pixel to its raster position, skipping the runs\' ignore index', () => {
    const target = [255, 1, 2, 255, 0, 3];
    const ignored = target.map((t) => (t === 255 ? 1 : 0));
    const m = hardInEveryRun([Float32Array.of(5, 0, 5, 5)], [1]);
    const at = hardPositions(m, target, ignored, 255);
    assert.equal(at.kind, 'positions', 'same pixels');
    if (at.kind === 'positions') assert.deepEqual(Array.from(at.positions), [1, 4, 5]);
  });

  it('gives a note when the map ignores other pixels or has another number of labelled ones', () => {
    const m = hardInEveryRun([Float32Array.of(5, 0, 5, 5)], [1]);
    const target = [255, 1, 2, 255, 0, 3];
    const other = hardPositions(m, target, [0, 0, 0, 0, 0, 0], 255);
    assert.equal(other.kind, 'mismatch', 'the panel ignores nothing');
    const fewer = hardPositions(m, [255, 255, 2, 255, 0, 3], [1, 1, 0, 1, 0, 0], 255);
    assert.equal(fewer.kind, 'mismatch', 'three labelled pixels, not four');
  });
});
