// Class probabilities and confidence maps of one sample's logits, for elements [s0, s1): what
// sampleProbabilities (softmax.ts) and sampleConfidence (confidence.ts) compute, bit for bit, in one go.
// Those two took an exp per logit each and the probabilities a second one (0.4 s for a [21, 512, 512]
// sample on one thread); here each logit's exp is taken once, kept in a float64 tile that stays in cache, and
// a range lets the workers share a sample. Same expressions in the same order: the max as confidence.ts
// takes it (NaN skipped, which changes nothing: a NaN anywhere in an element makes its sum, and so every
// probability, NaN either way), the sum in class order, then e / sum.
import type { ConfidenceMaps } from '../protocol';
import type { InputKind, LossKind } from './types';

/** Whether the probabilities are a softmax of logits, the case softmaxRange computes (by ranges). */
export function softmaxOfLogits(kind: InputKind, loss: LossKind): boolean {
  return kind === 'logits' && loss !== 'bce' && loss !== 'sigmoid-focal';
}

/** Elements per tile: C x TILE float64 exps stay in the L2 cache for C up to a few hundred. */
const TILE = 1024;

/**
 * x: (C, S) logits of one sample. Writes out[c S + s] (float32 probabilities) and, when conf is given,
 * conf.top1/margin/entropy[s], for s in [s0, s1); nothing else.
 */
export function softmaxRange(x: ArrayLike<number>, C: number, S: number, s0: number, s1: number, out: Float32Array, conf: ConfidenceMaps | null): void {
  if (C === 0) {
    if (conf) for (let s = s0; s < s1; s++) conf.top1[s] = conf.margin[s] = conf.entropy[s] = NaN;
    return;
  }
  const e = new Float64Array(C * TILE);
  const m1 = new Float64Array(TILE);
  const m2 = new Float64Array(TILE);
  const nan = new Uint8Array(TILE);
  const sum = new Float64Array(TILE);
  const plogp = new Float64Array(TILE);
  for (let t0 = s0; t0 < s1; t0 += TILE) {
    const n = Math.min(TILE, s1 - t0);
    m1.fill(-Infinity);
    m2.fill(-Infinity);
    nan.fill(0);
    sum.fill(0);
    plogp.fill(0);
    for (let c = 0; c < C; c++) {
      const row = c * S + t0;
      for (let i = 0; i < n; i++) {
        const v = x[row + i];
        if (v > m1[i]) {
          m2[i] = m1[i];
          m1[i] = v;
        } else if (v > m2[i]) m2[i] = v;
        else if (v !== v) nan[i] = 1;
      }
    }
    for (let c = 0; c < C; c++) {
      const row = c * S + t0;
      const er = c * TILE;
      for (let i = 0; i < n; i++) {
        const d = x[row + i] - m1[i];
        const ei = Math.exp(d);
        e[er + i] = ei;
        sum[i] += ei;
        // ei = 0 (far below the max, or -inf) contributes 0, not -inf * 0 = NaN.
        if (ei !== 0 || d !== d) plogp[i] += d * ei;
      }
    }
    for (let c = 0; c < C; c++) {
      const row = c * S + t0;
      const er = c * TILE;
      for (let i = 0; i < n; i++) out[row + i] = e[er + i] / sum[i];
    }
    if (!conf) continue;
    for (let i = 0; i < n; i++) {
      const s = t0 + i;
      if (nan[i]) {
        conf.top1[s] = conf.margin[s] = conf.entropy[s] = NaN;
        continue;
      }
      const z = sum[i];
      conf.top1[s] = 1 / z;
      conf.margin[s] = (1 - Math.exp(m2[i] - m1[i])) / z;
      conf.entropy[s] = Math.max(0, Math.log(z) - plogp[i] / z);
    }
  }
}
