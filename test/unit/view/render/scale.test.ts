// Percentiles, colour domains and value-to-colour index mapping.
import * as assert from 'node:assert/strict';
import { computeDomain, fixedDomain, lutIndex, NAN_INDEX, percentile, percentileSorted, valueAt } from '../../../../src/valueScale';

describe('view: percentile (NumPy linear)', function () {
  it('matches numpy.percentile', function () {
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(percentileSorted(a, 0), 1);
    assert.equal(percentileSorted(a, 100), 10);
    assert.equal(percentileSorted(a, 50), 5.5);
    assert.ok(Math.abs(percentileSorted(a, 90) - 9.1) < 1e-12);
    assert.equal(percentileSorted([0, 10], 25), 2.5);
    assert.equal(percentileSorted([7], 99), 7);
    assert.ok(Number.isNaN(percentileSorted([], 50)));
  });

  it('skips NaN and infinities and leaves the input alone', function () {
    const a = [5, NaN, 1, Infinity, 3, -Infinity];
    assert.equal(percentile(a, 50), 3);
    assert.equal(percentile(a, 100), 5);
    assert.ok(Number.isNaN(a[1]));
    assert.equal(a[0], 5);
  });
});

describe('view: colour domain', function () {
  it('spans min..max of finite values and counts the rest', function () {
    const d = computeDomain(Float32Array.from([2, NaN, 4, Infinity, 3, -Infinity, Infinity]), { scale: 'linear', clip: 100 });
    assert.equal(d.min, 2);
    assert.equal(d.max, 4);
    assert.equal(d.dataMax, 4);
    assert.equal(d.finiteCount, 3);
    assert.equal(d.nanCount, 1);
    assert.equal(d.posInfCount, 2);
    assert.equal(d.negInfCount, 1);
  });

  it('clips the top at a percentile', function () {
    const v = Float64Array.from({ length: 101 }, (_, i) => i); // 0..100
    const d = computeDomain(v, { scale: 'linear', clip: 90 });
    assert.equal(d.min, 0);
    assert.equal(d.max, 90);
    assert.equal(d.dataMax, 100);
    assert.equal(lutIndex(95, d), 255);
    assert.equal(lutIndex(100, d), 255);
  });

  it('honours an include mask (ignored elements do not count)', function () {
    const d = computeDomain([0, 5, 7, 100], { scale: 'linear', clip: 100, include: [0, 1, 1, 0] });
    assert.equal(d.min, 5);
    assert.equal(d.max, 7);
  });

  it('log scale uses positive values only', function () {
    const d = computeDomain([0, -1, 0.01, 1, 100], { scale: 'log', clip: 100 });
    assert.equal(d.min, 0.01);
    assert.equal(d.max, 100);
    assert.equal(d.finiteCount, 3);
    assert.equal(lutIndex(0, d), 0);
    assert.equal(lutIndex(-1, d), 0);
    assert.equal(lutIndex(1, d), 128); // the geometric middle
    assert.equal(lutIndex(100, d), 255);
    assert.ok(Math.abs(valueAt(0.5, d) - 1) < 1e-12);
  });

  it('gives a placeholder domain when nothing is finite', function () {
    const d = computeDomain([NaN, Infinity], { scale: 'linear', clip: 99 });
    assert.equal(d.finiteCount, 0);
    assert.equal(d.min, 0);
    assert.equal(d.max, 1);
    assert.equal(lutIndex(Infinity, d), 255);
    assert.equal(lutIndex(NaN, d), NAN_INDEX);
  });
});

describe('view: value to table index', function () {
  const d = fixedDomain(0, 1);
  it('maps linearly with 256 equal bins', function () {
    assert.equal(lutIndex(0, d), 0);
    assert.equal(lutIndex(0.5, d), 128);
    assert.equal(lutIndex(0.999, d), 255);
    assert.equal(lutIndex(1, d), 255);
    assert.equal(lutIndex(1 / 256 - 1e-9, d), 0);
    assert.equal(lutIndex(1 / 256 + 1e-9, d), 1);
  });
  it('puts NaN apart, +Inf at the top, -Inf at the bottom, and clamps', function () {
    assert.equal(lutIndex(NaN, d), NAN_INDEX);
    assert.equal(lutIndex(Infinity, d), 255);
    assert.equal(lutIndex(-Infinity, d), 0);
    assert.equal(lutIndex(7, d), 255);
    assert.equal(lutIndex(-7, d), 0);
  });
  it('handles a constant map', function () {
    const c = computeDomain([3, 3, 3], { scale: 'linear', clip: 100 });
    assert.equal(lutIndex(3, c), 0);
    assert.equal(lutIndex(4, c), 255);
    assert.equal(lutIndex(Infinity, c), 255);
  });
});
