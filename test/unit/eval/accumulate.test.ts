// Per-image accumulation and finalisation on a small hand-worked image: every expected figure is worked
// out by hand below from the definitions in DESIGN.md (no output of ours is used as an expectation).
import * as assert from 'node:assert/strict';
import { accumulateImage, addCounts, calibrationBin, emptyCounts } from '../../../src/eval/accumulate';
import { finalizeReport } from '../../../src/eval/finalize';
import type { EvalOptions } from '../../../src/eval/types';

const OPTS: EvalOptions = { ignoreIndex: 255, labelSmoothing: 0, classDim: 1, bins: 4, boundary: 1, weight: null };

describe('eval accumulation', () => {
  it('calibration bins are (lo, hi] with edges k / B', () => {
    assert.equal(calibrationBin(0.25, 4), 0);
    assert.equal(calibrationBin(0.2500001, 4), 1);
    assert.equal(calibrationBin(1, 4), 3);
    assert.equal(calibrationBin(0, 4), 0);
    assert.equal(calibrationBin(0.7, 10), 6); // 0.7 * 10 = 7.000000000000001 in float64
    assert.equal(calibrationBin(0.3, 10), 2); // 0.3 * 10 = 3.0000000000000004
    for (let k = 1; k <= 15; k++) assert.equal(calibrationBin(k / 15, 15), k - 1, `edge ${k}/15`);
  });

  it('sums, counts and figures of a 2 x 3 image', () => {
    // target      predicted   loss        top-class probability
    // 0 0 1       0 1 1       .5 1 2      .9 .6 .8
    // 255 1 2     0 1 0       9 1 3       .5 .7 .4
    const target = Int32Array.from([0, 0, 1, 255, 1, 2]);
    const predicted = Int32Array.from([0, 1, 1, 0, 1, 0]);
    const loss = Float64Array.from([0.5, 1, 2, 9, 1, 3]);
    const topLoss = Float64Array.from([0.9, 0.6, 0.8, 0.5, 0.7, 0.4], (p) => -Math.log(p));
    const r = accumulateImage('im', { loss, predicted, target, topLoss }, 3, 2, 3, OPTS, null);
    const c = r.counts;
    assert.equal(c.pixels, 5);
    assert.equal(c.correct, 3);
    assert.deepEqual(Array.from(c.count), [2, 2, 1]);
    assert.deepEqual(Array.from(c.tp), [1, 2, 0]);
    assert.deepEqual(Array.from(c.fp), [1, 1, 0]);
    assert.deepEqual(Array.from(c.fn), [1, 0, 1]);
    // cells [t * 3 + p]: (0,0) (0,1) (1,1) x2 (2,0)
    assert.deepEqual(Array.from(c.confusion!), [0, 1, 1, 1, 4, 2, 6, 1]);
    // bins of 0.25: .9 -> 3, .6 -> 2, .8 -> 3, .7 -> 2, .4 -> 1
    assert.deepEqual(Array.from(c.binCount), [0, 1, 2, 2]);
    assert.deepEqual(Array.from(c.binCorrect), [0, 0, 1, 2]);
    // 3 x 3 windows: every non-ignored pixel sees two labels (0 and 1, or 1 and 2).
    assert.equal(c.bandCount, 5);
    assert.equal(c.outsideCount, 0);
    const rec = r.record;
    assert.equal(rec.lossSum, 7.5);
    assert.deepEqual(rec.classLoss, [[0, 1.5], [1, 3], [2, 3]]);
    assert.equal(rec.value, 1.5);
    assert.equal(rec.pixelAccuracy, 0.6);
    // IoU: class 0 1/3, class 1 2/3, class 2 0/1.
    assert.ok(Math.abs(rec.miou! - 1 / 3) < 1e-12);
    assert.equal(rec.worstClass, 2);

    const counts = emptyCounts(3, 4);
    addCounts(counts, c);
    const rep = finalizeReport(counts, [rec], OPTS, 3, []);
    assert.equal(rep.value, 1.5);
    assert.deepEqual(rep.perClass.map((p) => p.dice), [0.5, 0.8, 0]);
    assert.deepEqual(rep.perClass.map((p) => p.accuracy), [0.5, 1, 0]);
    assert.deepEqual(rep.perClass.map((p) => p.meanLoss), [0.75, 1.5, 3]);
    assert.deepEqual(rep.perClass.map((p) => p.share), [0.2, 0.4, 0.4]);
    // bins: 1 -> conf .4 acc 0; 2 -> conf .65 acc .5; 3 -> conf .85 acc 1.
    // ece = (1 * .4 + 2 * .15 + 2 * .15) / 5 = 0.2; mce = 0.4
    assert.ok(Math.abs(rep.ece! - 0.2) < 1e-12);
    assert.ok(Math.abs(rep.mce! - 0.4) < 1e-12);
    assert.equal(rep.boundary.share, 1);
    assert.equal(rep.boundary.meanOutside, null);
    // f = [.4, .4, .2]; median .4 -> [1, 1, 2]; value = (1.5 + 3 + 2 * 3) / (2 + 2 + 2) = 1.75
    assert.deepEqual(rep.weights.medianFrequency, [1, 1, 2]);
    assert.ok(Math.abs(rep.weights.valueMedianFrequency - 1.75) < 1e-12);
    assert.ok(Math.abs(rep.weights.sqrtInverse[2] - 1 / Math.sqrt(0.2)) < 1e-12);
    assert.ok(Math.abs(rep.weights.enet[0] - 1 / Math.log(1.42)) < 1e-12);
  });

  it('an image whose pixels are all ignored gives NaN and nulls, not errors', () => {
    const t = Int32Array.from([255, 255]);
    const r = accumulateImage('void', { loss: new Float64Array(2), predicted: new Int32Array(2), target: t, topLoss: new Float64Array(2) }, 2, 1, 2, OPTS, null);
    assert.ok(Number.isNaN(r.record.value));
    assert.equal(r.record.pixelAccuracy, null);
    assert.equal(r.record.miou, null);
    assert.equal(r.record.worstClass, null);
  });

  it('with a weight and no smoothing the value is sum_c w_c L_c / sum_c w_c n_c', () => {
    const target = Int32Array.from([0, 1, 1]);
    const r = accumulateImage('w', { loss: Float64Array.from([1, 2, 4]), predicted: Int32Array.from([0, 1, 0]), target, topLoss: new Float64Array(3) }, 2, 1, 3, { ...OPTS, weight: [3, 0.5] }, null);
    // (3 * 1 + 0.5 * 2 + 0.5 * 4) / (3 + 0.5 + 0.5)
    assert.equal(r.record.value, 6 / 4);
  });

  it('above 1024 classes keeps per-class tp / fp / fn and no confusion matrix', () => {
    const C = 1100;
    const target = Int32Array.from([1099, 5, 5, 7]);
    const predicted = Int32Array.from([1099, 5, 1099, 7]);
    const r = accumulateImage('big', { loss: Float64Array.from([1, 1, 1, 1]), predicted, target, topLoss: new Float64Array(4) }, C, 2, 2, OPTS, null);
    assert.equal(r.counts.confusion, null);
    assert.equal(r.counts.tp[1099], 1);
    assert.equal(r.counts.fp[1099], 1);
    assert.equal(r.counts.fn[5], 1);
    const counts = emptyCounts(C, 4);
    assert.equal(counts.confusion, null);
    addCounts(counts, r.counts);
    const rep = finalizeReport(counts, [r.record], OPTS, C, []);
    // IoU: 1099 -> 1/2, 5 -> 1/2, 7 -> 1; other classes have an empty union.
    assert.ok(Math.abs(rep.miou! - 2 / 3) < 1e-12);
  });
});
