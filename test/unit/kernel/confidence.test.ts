// Confidence maps (src/kernel/sample/confidence.ts): top-1 probability, top-1 minus top-2, entropy in nats, against
// a float64 reference written here (per element: the probabilities, sorted; entropy summed directly) and
// closed forms (uniform rows, two-class rows).
import * as assert from 'node:assert/strict';
import { sampleConfidence } from '../../../src/kernel/sample/confidence';
import type { InputKind } from '../../../src/kernel/types';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** One element's probabilities from its C input values. */
function probsOf(v: number[], kind: InputKind): number[] {
  if (kind === 'probs') return v.slice();
  if (kind === 'log-probs') return v.map(Math.exp);
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

function refElement(v: number[], kind: InputKind): [number, number, number] {
  const p = probsOf(v, kind);
  if (p.some(Number.isNaN)) return [NaN, NaN, NaN];
  const sorted = p.slice().sort((a, b) => b - a);
  const h = -p.reduce((s, q) => s + (q === 0 ? 0 : q * Math.log(q)), 0);
  return [sorted[0], sorted[0] - (sorted.length > 1 ? sorted[1] : 0), h];
}

/** x (C, S) -> per element reference. */
function check(x: number[], C: number, S: number, kind: InputKind, tol = 2e-7): void {
  const got = sampleConfidence(Float64Array.from(x), C, S, kind);
  for (let s = 0; s < S; s++) {
    const v = Array.from({ length: C }, (_, c) => x[c * S + s]);
    const want = refElement(v, kind);
    const names = ['top1', 'margin', 'entropy'] as const;
    names.forEach((name, k) => {
      const g = got[name][s];
      const w = want[k];
      const what = `${kind} C=${C} element ${s} ${name} of [${v.join(', ')}]`;
      if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${what}: ${g} should be NaN`);
      // float32 output: relative error of float32 rounding, absolute near 0.
      else assert.ok(Math.abs(g - w) <= tol * Math.max(1, Math.abs(w)), `${what}: ${g} != ${w}`);
    });
  }
}

describe('sampleConfidence (src/kernel/sample/confidence.ts)', function () {
  it('matches the float64 reference on random logits, probs and log-probs', function () {
    for (const seed of [1, 2, 3]) {
      const r = lcg(seed);
      const C = 2 + Math.floor(r() * 30);
      const S = 1 + Math.floor(r() * 40);
      const logits = Array.from({ length: C * S }, () => (r() - 0.5) * 20);
      check(logits, C, S, 'logits');
      // probs and log-probs of those logits, written (C, S).
      const probs = new Array<number>(C * S);
      for (let s = 0; s < S; s++) {
        const p = probsOf(Array.from({ length: C }, (_, c) => logits[c * S + s]), 'logits');
        p.forEach((q, c) => (probs[c * S + s] = q));
      }
      check(probs, C, S, 'probs');
      check(probs.map(Math.log), C, S, 'log-probs');
    }
  });

  it('closed forms: uniform rows and two-class rows', function () {
    const C = 7;
    const got = sampleConfidence(new Float64Array(C).fill(3.25), C, 1, 'logits');
    assert.ok(Math.abs(got.top1[0] - 1 / C) < 1e-7);
    assert.equal(got.margin[0], 0);
    assert.ok(Math.abs(got.entropy[0] - Math.log(C)) < 1e-6);
    // [a, 0]: p = sigmoid(a), margin = 2p - 1, H = -p ln p - (1-p) ln(1-p).
    const a = 1.7;
    const p = 1 / (1 + Math.exp(-a));
    const two = sampleConfidence([a, 0], 2, 1, 'logits');
    assert.ok(Math.abs(two.top1[0] - p) < 1e-7);
    assert.ok(Math.abs(two.margin[0] - (2 * p - 1)) < 1e-7);
    assert.ok(Math.abs(two.entropy[0] - (-p * Math.log(p) - (1 - p) * Math.log(1 - p))) < 1e-7);
  });

  it('C = 1: top1 1, margin = top1, entropy 0 (logits); the value itself for probs', function () {
    const got = sampleConfidence([-4, 0, 9], 1, 3, 'logits');
    assert.deepEqual(Array.from(got.top1), [1, 1, 1]);
    assert.deepEqual(Array.from(got.margin), [1, 1, 1]);
    assert.deepEqual(Array.from(got.entropy), [0, 0, 0]);
    check([0.25, 1, 0], 1, 3, 'probs');
    const pr = sampleConfidence([0.25], 1, 1, 'probs');
    assert.equal(pr.margin[0], 0.25);
    check([Math.log(0.5), 0, -Infinity], 1, 3, 'log-probs');
  });

  it('ties at the top give margin 0', function () {
    // Element 0: classes 1 and 3 tie at the top; element 1: all equal; element 2: tie below the top.
    const x = [0, 1, 2, 5, 2, 1, 5, 2, 0, 5, 2, 1];
    const got = sampleConfidence(x, 4, 3, 'logits');
    assert.equal(got.margin[0], 0);
    assert.equal(got.margin[1], 0);
    assert.ok(got.margin[2] > 0);
    check(x, 4, 3, 'logits');
    check([0.4, 0.2, 0.4, 0.2, 0.2, 0.6], 3, 2, 'probs');
  });

  it('-inf and huge logits: no NaN where softmax is defined, NaN where it is not', function () {
    // Columns: one -inf class; logits of 1e30 and 1e300 magnitude; all -inf (softmax NaN); +inf (NaN); NaN.
    const C = 3;
    const cols = [
      [-Infinity, 0, 1],
      [1e30, 0, -1e30],
      [1e300, 1e300, -1e300],
      [-Infinity, -Infinity, -Infinity],
      [Infinity, 0, 0],
      [NaN, 0, 1],
    ];
    const S = cols.length;
    const x: number[] = [];
    for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) x.push(cols[s][c]);
    const got = sampleConfidence(x, C, S, 'logits');
    assert.ok(Number.isFinite(got.entropy[0]) && Number.isFinite(got.top1[0]));
    assert.deepEqual([got.top1[1], got.margin[1], got.entropy[1]], [1, 1, 0]);
    assert.ok(Math.abs(got.top1[2] - 0.5) < 1e-7 && got.margin[2] === 0 && Math.abs(got.entropy[2] - Math.LN2) < 1e-7);
    for (const s of [3, 4, 5]) assert.ok(Number.isNaN(got.top1[s]) && Number.isNaN(got.margin[s]) && Number.isNaN(got.entropy[s]), `column ${s}`);
    check(x, C, S, 'logits');
    // log-probs with -inf: p = 0 there, 0 log 0 = 0.
    check([Math.log(0.3), -Infinity, Math.log(0.7), 0, -Infinity, -Infinity], 3, 2, 'log-probs');
    check([0.3, 0, 0, 1, 0.7, 0], 3, 2, 'probs');
  });

  it('C = 0 gives NaN maps of length S', function () {
    const got = sampleConfidence([], 0, 2, 'logits');
    assert.equal(got.top1.length, 2);
    assert.ok(Number.isNaN(got.top1[0]) && Number.isNaN(got.entropy[1]));
  });
});
