// The softmax of one sample's logits, for elements [s0, s1): class probabilities, confidence maps, or both
// in one go. sampleProbabilities (softmax.ts) and sampleConfidence (confidence.ts) take it for logits, and
// the probability job runs it by ranges so the workers share a sample. With both asked for and up to
// STORED_MAX_CLASSES classes, each logit's exp is taken once and kept in a float64 tile that stays in cache
// (0.12 s for a [21, 512, 512] sample on one thread, against 0.4 s for an exp per logit per map and a
// second one for the probabilities); above, the probabilities take the exp again, so memory stays O(tile).
// Same expressions in the same order either way: the max with NaN skipped (a NaN anywhere in an element
// makes its sum, and so every probability and its confidence, NaN), the sum in class order, then e / sum.
import type { ConfidenceMaps } from '../../protocol';
import type { InputKind, LossKind } from '../types';

/** Whether the probabilities are a softmax of logits, the case softmaxRange computes (by ranges). */
export function softmaxOfLogits(kind: InputKind, loss: LossKind): boolean {
  return kind === 'logits' && loss !== 'bce' && loss !== 'sigmoid-focal';
}

/** Elements per tile (at most). */
const TILE = 1024;
/** Bytes of kept exps a tile may hold: fewer elements per tile for more classes, at least 16 (a cache line a row). */
const TILE_BYTES = 1 << 20;
/** Classes above which the exps are not kept: 16 elements' would take more than TILE_BYTES. */
const STORED_MAX_CLASSES = TILE_BYTES / (8 * 16);

/**
 * x: (C, S) logits of one sample. Writes out[c S + s] (float32 probabilities) when out is given and
 * conf.top1/margin/entropy[s] when conf is, for s in [s0, s1); nothing else.
 */
export function softmaxRange(x: ArrayLike<number>, C: number, S: number, s0: number, s1: number, out: Float32Array | null, conf: ConfidenceMaps | null): void {
  if (C === 0) {
    if (conf) for (let s = s0; s < s1; s++) conf.top1[s] = conf.margin[s] = conf.entropy[s] = NaN;
    return;
  }
  const stored = out !== null && C <= STORED_MAX_CLASSES;
  const tile = Math.max(1, Math.min(TILE, s1 - s0, stored ? Math.floor(TILE_BYTES / (8 * C)) : TILE));
  const e = stored ? new Float64Array(C * tile) : null;
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
        if (e) e[er + i] = ei;
        sum[i] += ei;
        // ei = 0 (far below the max, or -inf) contributes 0, not -inf * 0 = NaN.
        if (ei !== 0 || d !== d) plogp[i] += d * ei;
      }
    }
    if (out) {
      for (let c = 0; c < C; c++) {
        const row = c * S + t0;
        const er = c * tile;
        if (e) for (let i = 0; i < n; i++) out[row + i] = e[er + i] / sum[i];
        else for (let i = 0; i < n; i++) out[row + i] = Math.exp(x[row + i] - m1[i]) / sum[i];
      }
    }
    if (!conf) continue;
    for (let i = 0; i < n; i++) {
      const s = t0 + i;
      if (nan[i]) {
        conf.top1[s] = conf.margin[s] = conf.entropy[s] = NaN;
        continue;
      }
      // p_c = e^(x_c - max) / sum: the largest is 1 / sum; H = log(sum) - sum_c p_c (x_c - max).
      const z = sum[i];
      conf.top1[s] = 1 / z;
      conf.margin[s] = (1 - Math.exp(m2[i] - m1[i])) / z;
      // Rounding can leave -1e-17 for a certain element; entropy is never below 0.
      conf.entropy[s] = Math.max(0, Math.log(z) - plogp[i] / z);
    }
  }
}
