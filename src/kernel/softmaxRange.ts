// Class probabilities and confidence maps of one sample's logits, for elements [s0, s1): what
// sampleProbabilities (softmax.ts) and sampleConfidence (confidence.ts) compute, bit for bit, in one go.
// Those two took an exp per logit each and the probabilities a second one (0.4 s for a [21, 512, 512]
// sample on one thread); here each logit's exp is taken once, kept in a float64 tile that stays in cache, and
// a range lets the workers share a sample. Same expressions in the same order: the max as confidence.ts
// takes it (NaN skipped, which changes nothing: a NaN anywhere in an element makes its sum, and so every
// probability, NaN either way), the sum in class order, then e / sum.
import type { ConfidenceMaps } from '../protocol';
import type { InputKind, LossKind } from './types';

/**
 * Classes above which softmaxRange is not used: a tile of 16 elements then holds over 2 MB of exps, and the
 * two-pass functions, which stream each class row twice, are as fast (a vocabulary of 32,000 or 50,257).
 */
export const SOFTMAX_RANGE_MAX_CLASSES = 16384;

/** Whether softmaxRange computes this sample's probabilities (by ranges): a softmax of logits, not too many classes. */
export function softmaxOfLogits(kind: InputKind, loss: LossKind, C: number): boolean {
  return kind === 'logits' && loss !== 'bce' && loss !== 'sigmoid-focal' && C <= SOFTMAX_RANGE_MAX_CLASSES;
}

/** Elements per tile (at most): C x TILE float64 exps stay in the L2 cache for C up to a hundred. */
const TILE = 1024;
/** Bytes of exps a tile may hold: fewer elements per tile for many classes (at least 16: one cache line a row). */
const TILE_BYTES = 1 << 20;

/**
 * x: (C, S) logits of one sample. Writes out[c S + s] (float32 probabilities) and, when conf is given,
 * conf.top1/margin/entropy[s], for s in [s0, s1); nothing else.
 */
export function softmaxRange(x: ArrayLike<number>, C: number, S: number, s0: number, s1: number, out: Float32Array, conf: ConfidenceMaps | null): void {
  if (C === 0) {
    if (conf) for (let s = s0; s < s1; s++) conf.top1[s] = conf.margin[s] = conf.entropy[s] = NaN;
    return;
  }
  const tile = Math.max(1, Math.min(TILE, s1 - s0, Math.max(16, Math.floor(TILE_BYTES / (8 * C)))));
  const e = new Float64Array(C * tile);
  const m1 = new Float64Array(tile);
  const m2 = new Float64Array(tile);
  const nan = new Uint8Array(tile);
  const sum = new Float64Array(tile);
  const plogp = new Float64Array(tile);
  for (let t0 = s0; t0 < s1; t0 += tile) {
    const n = Math.min(tile, s1 - t0);
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
      const er = c * tile;
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
      const er = c * tile;
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
