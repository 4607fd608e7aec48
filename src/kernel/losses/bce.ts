// binary_cross_entropy_with_logits, written as PyTorch 1.13 writes it (max_val form), in float64.
import type { LossMaps } from './crossEntropy';
import type { BceProblem } from '../validate';

export function bceMaps(p: BceProblem): LossMaps {
  const { x, t, w, pw } = p;
  const M = x.length;
  const lossMap = new Float64Array(M);
  const predicted = new Int32Array(M);
  const targetClass = new Int32Array(M);
  const ignoredMask = new Uint8Array(M);
  let numerator = 0;
  for (let i = 0; i < M; i++) {
    const xi = x[i];
    const ti = t[i];
    const maxVal = Math.max(-xi, 0) || 0; // clamp_min(0); `|| 0` folds -0
    const logTerm = Math.log(Math.exp(-maxVal) + Math.exp(-xi - maxVal));
    let loss: number;
    if (pw) {
      const logWeight = (pw[i] - 1) * ti + 1;
      loss = (1 - ti) * xi + logWeight * (logTerm + maxVal);
    } else {
      loss = (1 - ti) * xi + maxVal + logTerm;
    }
    if (w) loss *= w[i];
    // NaN logits: clamp_min propagates NaN in PyTorch; Math.max(NaN, 0) is NaN too, so `|| 0` must not hide it.
    if (xi !== xi) loss = NaN;
    lossMap[i] = loss;
    predicted[i] = xi > 0 ? 1 : 0;
    targetClass[i] = ti >= 0.5 ? 1 : 0;
    numerator += loss;
  }
  return { lossMap, predicted, targetClass, ignoredMask, numerator, denominator: M };
}
