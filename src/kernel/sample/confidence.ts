// Confidence maps of one sample (the view's top-1 / margin / entropy modes): how sure the model is, element
// by element, whatever the target. Computed from the input values in float64 (not from the float32
// probabilities the class maps carry), so near-certain elements keep their small margins and entropies.
import type { ConfidenceMaps } from '../../protocol';
import { softmaxRange } from './softmaxRange';
import type { InputKind } from '../types';

/**
 * x: (C, S) input values of one sample (class axis first, as LossSession.sampleValues and sampleTensor give).
 * logits: softmax as the loss takes it (max-subtracted; a row holding NaN or +inf, or only -inf, is NaN, as
 * torch.softmax gives). probs: the values as they are (not renormalized: the view shows what the model
 * wrote). log-probs: exp of the values. Entropy uses 0 log 0 = 0. C = 1: margin = top1 (no second class).
 */
export function sampleConfidence(x: ArrayLike<number>, C: number, S: number, kind: InputKind): ConfidenceMaps {
  const top1 = new Float32Array(S);
  const margin = new Float32Array(S);
  const entropy = new Float32Array(S);
  // Logits: the softmax's own pass (src/kernel/sample/softmaxRange.ts), which the probability job shares.
  if (kind === 'logits') {
    const maps = { top1, margin, entropy };
    softmaxRange(x, C, S, 0, S, null, maps);
    return maps;
  }
  if (C === 0) {
    top1.fill(NaN);
    margin.fill(NaN);
    entropy.fill(NaN);
    return { top1, margin, entropy };
  }
  // Largest and second largest value per element; a NaN anywhere poisons the element.
  const m1 = new Float64Array(S).fill(-Infinity);
  const m2 = new Float64Array(S).fill(-Infinity);
  const nan = new Uint8Array(S);
  // Class-major loops: x is (C, S), so each pass reads memory in order.
  for (let c = 0; c < C; c++) {
    const row = c * S;
    for (let s = 0; s < S; s++) {
      const v = x[row + s];
      if (v > m1[s]) {
        m2[s] = m1[s];
        m1[s] = v;
      } else if (v > m2[s]) m2[s] = v;
      else if (v !== v) nan[s] = 1;
    }
  }
  // sum_c p_c log p_c.
  const plogp = new Float64Array(S);
  for (let c = 0; c < C; c++) {
    const row = c * S;
    for (let s = 0; s < S; s++) {
      const v = x[row + s];
      const p = kind === 'probs' ? v : Math.exp(v);
      if (p !== 0 || p !== p) plogp[s] += p * (kind === 'probs' ? Math.log(p) : v);
    }
  }
  for (let s = 0; s < S; s++) {
    if (nan[s]) {
      top1[s] = margin[s] = entropy[s] = NaN;
      continue;
    }
    const p1 = kind === 'probs' ? m1[s] : Math.exp(m1[s]);
    // C = 1 leaves m2 at -inf: no second class, so the margin is top1 itself.
    const p2 = m2[s] === -Infinity ? 0 : kind === 'probs' ? m2[s] : Math.exp(m2[s]);
    top1[s] = p1;
    margin[s] = p1 - p2;
    // -0 for a certain element reads as 0.
    entropy[s] = plogp[s] === 0 ? 0 : -plogp[s];
  }
  return { top1, margin, entropy };
}
