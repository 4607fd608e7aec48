// Per-class probabilities of one sample, for the heatmap views (p(target), small multiples): the same
// max-subtracted softmax as the loss, or the input itself for probs, exp for log-probs, sigmoid for bce and
// sigmoid-focal.
import { softmaxRange } from './softmaxRange';
import type { InputKind, LossKind } from '../types';

/** x: (C, S) values of one sample; returns (C, S) probabilities as float32. */
export function sampleProbabilities(x: ArrayLike<number>, C: number, S: number, kind: InputKind, loss: LossKind): Float32Array {
  const out = new Float32Array(C * S);
  if (loss === 'bce' || loss === 'sigmoid-focal') {
    for (let i = 0; i < C * S; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
    return out;
  }
  if (kind === 'probs') {
    for (let i = 0; i < C * S; i++) out[i] = x[i];
    return out;
  }
  if (kind === 'log-probs') {
    for (let i = 0; i < C * S; i++) out[i] = Math.exp(x[i]);
    return out;
  }
  softmaxRange(x, C, S, 0, S, out, null);
  return out;
}
