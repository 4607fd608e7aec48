// Confusion at any class count: the full matrix up to 1,024 classes, exact pair counts above, and the most
// frequent pairs either way. Expected values are counted in the test from the targets and argmaxes.
import * as assert from 'node:assert/strict';
import { CONFUSION_MATRIX_MAX_CLASSES, TOP_CONFUSIONS, topPairs, topPairsOfMatrix } from '../../../src/kernel/confusion';
import { computeLoss } from '../../../src/kernel/index';
import type { Tensor } from '../../../src/tensor/tensor';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Brute force: every off-diagonal pair's count, sorted by count desc, then target, then predicted. */
function expectedTop(t: ArrayLike<number>, p: ArrayLike<number>, ignore: number, k: number): Array<{ target: number; predicted: number; count: number }> {
  const m = new Map<string, number>();
  for (let i = 0; i < t.length; i++) {
    if (t[i] === ignore || t[i] === p[i]) continue;
    const key = `${t[i]},${p[i]}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return [...m.entries()]
    .map(([key, count]) => ({ target: Number(key.split(',')[0]), predicted: Number(key.split(',')[1]), count }))
    .sort((a, b) => b.count - a.count || a.target - b.target || a.predicted - b.predicted)
    .slice(0, k);
}

/** Rows whose argmax is known: logit 5 at the planted class, small noise elsewhere. */
function planted(N: number, C: number, seed: number): { input: Tensor; target: Tensor; pred: Int32Array; tgt: Int32Array } {
  const rnd = lcg(seed);
  const x = new Float64Array(N * C);
  const pred = new Int32Array(N);
  const tgt = new Int32Array(N);
  // Few distinct classes, so pairs repeat and ties occur.
  const pool = Array.from({ length: 12 }, () => Math.floor(rnd() * C));
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < C; c++) x[i * C + c] = rnd() * 0.01;
    pred[i] = pool[Math.floor(rnd() * pool.length)];
    x[i * C + pred[i]] = 5;
    tgt[i] = rnd() < 0.1 ? -100 : rnd() < 0.3 ? pred[i] : pool[Math.floor(rnd() * pool.length)];
  }
  return { input: { dtype: 'float64', shape: [N, C], data: x }, target: { dtype: 'int64', shape: [N], data: tgt }, pred, tgt };
}

describe('kernel: confusion at any class count', function () {
  it('top pairs of a pair map and of a matrix equal a brute-force count, ties broken by target then predicted', function () {
    const rnd = lcg(3);
    const C = 7;
    const t = Int32Array.from({ length: 3000 }, () => Math.floor(rnd() * C));
    const p = Int32Array.from({ length: 3000 }, () => Math.floor(rnd() * C));
    const pairs = new Map<number, number>();
    const matrix = new Float64Array(C * C);
    for (let i = 0; i < t.length; i++) {
      matrix[t[i] * C + p[i]]++;
      if (t[i] !== p[i]) pairs.set(t[i] * C + p[i], (pairs.get(t[i] * C + p[i]) ?? 0) + 1);
    }
    for (const k of [1, 5, 42, 100]) {
      const want = expectedTop(t, p, -100, k);
      assert.deepEqual(topPairs(pairs, C, k), want);
      assert.deepEqual(topPairsOfMatrix(matrix, C, k), want);
    }
  });

  it(`keeps the full matrix up to ${CONFUSION_MATRIX_MAX_CLASSES} classes`, function () {
    const { input, target, pred, tgt } = planted(400, CONFUSION_MATRIX_MAX_CLASSES, 5);
    const r = computeLoss({ input, target });
    const C = CONFUSION_MATRIX_MAX_CLASSES;
    assert.equal(r.stats.confusion.length, C * C);
    assert.deepEqual(r.stats.topConfusions, expectedTop(tgt, pred, -100, TOP_CONFUSIONS));
  });

  it('above that: no C x C matrix, exact top pairs, and true positives, precision and recall per class from the same counts', function () {
    const C = 50_000;
    const { input, target, pred, tgt } = planted(300, C, 9);
    const r = computeLoss({ input, target });
    assert.equal(r.stats.confusion.length, 0, 'a C x C matrix was allocated');
    assert.deepEqual(r.stats.topConfusions, expectedTop(tgt, pred, -100, TOP_CONFUSIONS));
    const tp = new Map<number, number>();
    const predicted = new Map<number, number>();
    const count = new Map<number, number>();
    for (let i = 0; i < tgt.length; i++) {
      if (tgt[i] === -100) continue;
      count.set(tgt[i], (count.get(tgt[i]) ?? 0) + 1);
      predicted.set(pred[i], (predicted.get(pred[i]) ?? 0) + 1);
      if (tgt[i] === pred[i]) tp.set(tgt[i], (tp.get(tgt[i]) ?? 0) + 1);
    }
    for (const [c, n] of count) {
      const row = r.stats.perClass[c];
      assert.equal(row.accuracy, (tp.get(c) ?? 0) / n, `recall of class ${c}`);
      assert.equal(row.precision, (tp.get(c) ?? 0) / (predicted.get(c) ?? 0), `precision of class ${c}`);
    }
  });
});
