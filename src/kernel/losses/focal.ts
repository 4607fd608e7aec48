// The focal losses in float64, term by term as PyTorch/torchvision write them, so NaN, Inf and exact zeros
// land where theirs do.
// - focal (multi-class, Lin et al.): -alpha[t] (1 - p_t)^gamma log p_t, alpha = the per-class weight (else
//   1), ignore_index as in cross_entropy; mean = sum over non-ignored elements / their count.
// - sigmoid-focal: torchvision.ops.sigmoid_focal_loss (0.14): bce_with_logits * (1 - p_t)^gamma, times
//   alpha t + (1 - alpha)(1 - t) when alpha >= 0; mean over all elements.
import { bceMaps } from './bce';
import { crossEntropyMaps, type LossMaps } from './crossEntropy';
import type { BceProblem, CeProblem, Problem } from '../validate';

/** Plain cross-entropy beside focal, for reading the two side by side. */
export interface CeCompanion {
  /** -log p_t per element, unweighted; 0 where ignored. */
  readonly map: Float64Array;
  /** F.cross_entropy's reduction with the same weight and ignore_index: sum of w[t] (-log p_t) ... */
  readonly numerator: number;
  /** ... and the summed weight of non-ignored targets. */
  readonly denominator: number;
}

export type FocalMaps = LossMaps & { readonly ce?: CeCompanion };

/** The unreduced maps of any loss. */
export function lossMaps(p: Problem): FocalMaps {
  switch (p.loss) {
    case 'bce':
      return bceMaps(p);
    case 'sigmoid-focal':
      return sigmoidFocalMaps(p);
    case 'focal':
      return focalMaps(p);
    default:
      return crossEntropyMaps(p);
  }
}

export function focalMaps(p: CeProblem): FocalMaps {
  // Unweighted cross-entropy is exactly -log p_t per element (-(1 * logp)), with PyTorch's log_softmax and
  // argmax, and 0 where ignored: the focal terms are built on it.
  const ce = crossEntropyMaps({ ...p, loss: 'ce', w: null });
  const { w } = p;
  const gamma = p.options.gamma;
  const M = ce.lossMap.length;
  const lossMap = new Float64Array(M);
  let numerator = 0;
  let denominator = 0;
  let ceNumerator = 0;
  let ceDenominator = 0;
  for (let i = 0; i < M; i++) {
    if (ce.ignoredMask[i]) continue;
    const nll = ce.lossMap[i];
    const tc = ce.targetClass[i];
    const wt = w ? w[tc] : 1;
    // 1 - p_t = -expm1(log p_t): exact where p_t is near 1, where 1 - exp(log p_t) cancels. pow(x, 0) is
    // 1 for every x, NaN included, as torch.pow gives, so gamma 0 is cross-entropy bit for bit.
    const loss = wt * Math.pow(-Math.expm1(-nll), gamma) * nll;
    lossMap[i] = loss;
    numerator += loss;
    denominator++;
    ceNumerator += wt * nll;
    ceDenominator += wt;
  }
  return {
    lossMap, predicted: ce.predicted, targetClass: ce.targetClass, ignoredMask: ce.ignoredMask, numerator, denominator,
    ce: { map: ce.lossMap, numerator: ceNumerator, denominator: ceDenominator },
  };
}

export function sigmoidFocalMaps(p: BceProblem): FocalMaps {
  // binary_cross_entropy_with_logits without weights (bce's own loop), then torchvision's factors in its order.
  const bce = bceMaps({ ...p, loss: 'bce', w: null, pw: null });
  const { x, t } = p;
  const { gamma, alpha } = p.options;
  const M = x.length;
  const lossMap = new Float64Array(M);
  let numerator = 0;
  for (let i = 0; i < M; i++) {
    const xi = x[i];
    const ti = t[i];
    // torch.sigmoid in float64 is 1 / (1 + exp(-x)); 1 - p_t then rounds as torchvision's does, which is
    // what makes its loss exactly 0 for a confident, correct logit (p rounds to 1).
    const prob = 1 / (1 + Math.exp(-xi));
    const pt = prob * ti + (1 - prob) * (1 - ti);
    let loss = bce.lossMap[i] * Math.pow(1 - pt, gamma);
    if (alpha >= 0) loss = (alpha * ti + (1 - alpha) * (1 - ti)) * loss;
    lossMap[i] = loss;
    numerator += loss;
  }
  return { lossMap, predicted: bce.predicted, targetClass: bce.targetClass, ignoredMask: bce.ignoredMask, numerator, denominator: M };
}
