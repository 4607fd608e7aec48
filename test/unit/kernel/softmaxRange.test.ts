// softmaxRange (the softmax of logits behind sampleProbabilities, sampleConfidence and the probability
// job's ranges) against the two-pass loops those functions ran before it, written out here: the same bits
// on rows holding NaN, +-inf, only -inf, ties and huge logits, for C = 0, 1, many and more classes than
// the exps kept per tile, over any split into ranges (tiles cut across), writing nothing outside its range;
// and sampleProbabilities / sampleConfidence on logits give the same bits as well.
import { strict as assert } from 'node:assert';
import { sampleConfidence } from '../../../src/kernel/sample/confidence';
import { sampleProbabilities } from '../../../src/kernel/sample/softmax';
import { softmaxOfLogits, softmaxRange } from '../../../src/kernel/sample/softmaxRange';

/** The probabilities as sampleProbabilities computed them before softmaxRange: max, sum, exp again / sum. */
function twoPassProbabilities(x: ArrayLike<number>, C: number, S: number): Float32Array {
  const out = new Float32Array(C * S);
  const mx = new Float64Array(S).fill(-Infinity);
  for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) if (!(x[c * S + s] <= mx[s])) mx[s] = x[c * S + s];
  const sum = new Float64Array(S);
  for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) sum[s] += Math.exp(x[c * S + s] - mx[s]);
  for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) out[c * S + s] = Math.exp(x[c * S + s] - mx[s]) / sum[s];
  return out;
}

/** The confidence maps of logits as sampleConfidence computed them before softmaxRange. */
function twoPassConfidence(x: ArrayLike<number>, C: number, S: number): { top1: Float32Array; margin: Float32Array; entropy: Float32Array } {
  const top1 = new Float32Array(S).fill(NaN);
  const margin = new Float32Array(S).fill(NaN);
  const entropy = new Float32Array(S).fill(NaN);
  if (C === 0) return { top1, margin, entropy };
  const m1 = new Float64Array(S).fill(-Infinity);
  const m2 = new Float64Array(S).fill(-Infinity);
  const nan = new Uint8Array(S);
  for (let c = 0; c < C; c++) {
    for (let s = 0; s < S; s++) {
      const v = x[c * S + s];
      if (v > m1[s]) {
        m2[s] = m1[s];
        m1[s] = v;
      } else if (v > m2[s]) m2[s] = v;
      else if (v !== v) nan[s] = 1;
    }
  }
  const sum = new Float64Array(S);
  const plogp = new Float64Array(S);
  for (let c = 0; c < C; c++) {
    for (let s = 0; s < S; s++) {
      const d = x[c * S + s] - m1[s];
      const e = Math.exp(d);
      sum[s] += e;
      if (e !== 0 || d !== d) plogp[s] += d * e;
    }
  }
  for (let s = 0; s < S; s++) {
    if (nan[s]) continue;
    const z = sum[s];
    top1[s] = 1 / z;
    margin[s] = (1 - Math.exp(m2[s] - m1[s])) / z;
    entropy[s] = Math.max(0, Math.log(z) - plogp[s] / z);
  }
  return { top1, margin, entropy };
}

function logits(C: number, S: number, seed: number, f64: boolean): Float32Array | Float64Array {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const x = f64 ? new Float64Array(C * S) : new Float32Array(C * S);
  for (let i = 0; i < x.length; i++) x[i] = (rand() - 0.5) * 16;
  const special = [NaN, Infinity, -Infinity, 1e30, -1e30, 88.7, -103, 0, -0];
  for (let e = 0; e < S; e += 7) {
    const kind = e % 5;
    if (kind === 0) x[Math.floor(rand() * C) * S + e] = special[Math.floor(rand() * special.length)];
    else if (kind === 1) for (let c = 0; c < C; c++) x[c * S + e] = -Infinity; // only -inf: NaN, as torch.softmax
    else if (kind === 2) for (let c = 0; c < C; c++) x[c * S + e] = 3; // all tied
    else if (kind === 3 && C > 1) x[e] = x[S + e] = 40; // a tie for the top
  }
  return x;
}

function check(x: Float32Array | Float64Array, C: number, S: number, splits: readonly number[]): void {
  const wantP = twoPassProbabilities(x, C, S);
  const wantC = twoPassConfidence(x, C, S);
  const SENTINEL = 12345;
  const out = new Float32Array(C * S).fill(SENTINEL);
  const conf = { top1: new Float32Array(S).fill(SENTINEL), margin: new Float32Array(S).fill(SENTINEL), entropy: new Float32Array(S).fill(SENTINEL) };
  let prev = 0;
  for (const end of [...splits, S]) {
    softmaxRange(x, C, S, prev, end, out, conf);
    // Nothing past this range is written yet.
    for (let c = 0; c < C; c++) for (let s = end; s < S; s++) assert.equal(out[c * S + s], SENTINEL, `C ${C}: wrote (${c}, ${s}) past ${end}`);
    for (let s = end; s < S; s++) assert.equal(conf.top1[s], SENTINEL, `C ${C}: wrote top1[${s}] past ${end}`);
    prev = end;
  }
  for (let i = 0; i < C * S; i++) assert.ok(Object.is(out[i], wantP[i]), `C ${C}, S ${S}, probability ${i}: ${out[i]} vs ${wantP[i]}`);
  for (const k of ['top1', 'margin', 'entropy'] as const) {
    for (let s = 0; s < S; s++) assert.ok(Object.is(conf[k][s], wantC[k][s]), `C ${C}, S ${S}, ${k}[${s}]: ${conf[k][s]} vs ${wantC[k][s]}`);
  }
  // Each map alone (no exps kept for the confidence maps alone), and the whole-sample functions over it.
  const only = new Float32Array(C * S);
  softmaxRange(x, C, S, 0, S, only, null);
  const p = sampleProbabilities(x, C, S, 'logits', 'ce');
  for (let i = 0; i < C * S; i++) assert.ok(Object.is(only[i], wantP[i]) && Object.is(p[i], wantP[i]), `C ${C}, S ${S}, probabilities alone, ${i}`);
  const cm = sampleConfidence(x, C, S, 'logits');
  for (const k of ['top1', 'margin', 'entropy'] as const) {
    for (let s = 0; s < S; s++) assert.ok(Object.is(cm[k][s], wantC[k][s]), `C ${C}, S ${S}, sampleConfidence ${k}[${s}]`);
  }
}

describe('softmaxRange: probabilities and confidence maps by element range', () => {
  it('is the softmax of logits only (not probs, log-probs, or the sigmoid of bce and sigmoid focal)', () => {
    assert.equal(softmaxOfLogits('logits', 'ce'), true);
    assert.equal(softmaxOfLogits('logits', 'focal'), true);
    assert.equal(softmaxOfLogits('probs', 'ce'), false);
    assert.equal(softmaxOfLogits('log-probs', 'ce'), false);
    assert.equal(softmaxOfLogits('logits', 'bce'), false);
    assert.equal(softmaxOfLogits('logits', 'sigmoid-focal'), false);
  });

  for (const f64 of [false, true]) {
    it(`gives sampleProbabilities' and sampleConfidence's bits, ${f64 ? 'float64' : 'float32'} logits, any split`, () => {
      check(logits(21, 3000, 1, f64), 21, 3000, []);
      check(logits(21, 3000, 2, f64), 21, 3000, [1, 1023, 1024, 1500, 2999]);
      check(logits(5, 2048, 3, f64), 5, 2048, [1024]);
      check(logits(1, 700, 4, f64), 1, 700, [350]);
      check(logits(300, 37, 5, f64), 300, 37, [16]);
      // Many classes: tiles of 16 elements (the byte budget), cut by the ranges.
      check(logits(8000, 40, 6, f64), 8000, 40, [7, 20]);
      // More classes than a tile keeps exps for: the probabilities take the exp again.
      check(logits(9000, 40, 7, f64), 9000, 40, [7, 20]);
    });
  }

  it('C = 0: confidence NaN in the range, no probabilities', () => {
    const conf = { top1: new Float32Array(4), margin: new Float32Array(4), entropy: new Float32Array(4) };
    softmaxRange(new Float32Array(0), 0, 4, 1, 3, new Float32Array(0), conf);
    assert.deepEqual([...conf.top1].map(Number.isNaN), [false, true, true, false]);
    const want = sampleConfidence(new Float32Array(0), 0, 4, 'logits');
    assert.ok(Number.isNaN(want.top1[1]));
  });
});
