// Softmax focal loss on the fast path, inside a worker: the SIMD kernel has just written plain
// cross-entropy -log p_t (class weights all ones) into a job's loss range; this turns each element into
// alpha[t] (1 - p_t)^gamma (-log p_t) in place, with the same float64 expression as the reference
// (src/kernel/focal.ts: 1 - p_t = -expm1(log p_t), exact where p_t is near 1), and rewrites the job's
// accumulators for focal: the per-class loss sums become focal sums, the kernel's (unweighted
// cross-entropy) ones move to the partial's ceSum, and the cross-entropy companion sums are weighted by alpha.
import { ceAccLength, CE_ACC } from '../../kernel/wasmKernel';

/** What the focal pass adds to a job's partial. */
export interface FocalChunkSums {
  numerator: number;
  ceNumerator: number;
  ceDenominator: number;
  nan: number;
  inf: number;
  /** Unweighted -log p_t per target class. */
  readonly ceSum: Float64Array;
}

/** One range of elements: loss (f32) and targets (i32) views of the same length. */
export interface FocalRange {
  readonly loss: Float32Array;
  readonly t: Int32Array;
}

/**
 * Applies focal to every range and fixes the accumulators at acc (a Float64Array over ceAccLength(C) + ...
 * entries, the kernel's layout: see CE_ACC). Ignored elements keep their loss 0.
 */
export function applyFocal(ranges: readonly FocalRange[], acc: Float64Array, C: number, ignoreIndex: number, alpha: Float64Array | null, gamma: number): FocalChunkSums {
  const per = CE_ACC.perClass;
  const ceSum = acc.slice(per, per + C);
  const focalSum = new Float64Array(C);
  let numerator = 0;
  let ceNumerator = 0;
  let ceDenominator = 0;
  let nan = 0;
  let inf = 0;
  for (const { loss, t } of ranges) {
    for (let i = 0; i < loss.length; i++) {
      const tc = t[i];
      if (tc === ignoreIndex) continue;
      const nll = loss[i];
      const a = alpha ? alpha[tc] : 1;
      // The reference's expression, in its order; pow(x, 0) is 1 for every x, NaN included, as torch.pow.
      const f = a * Math.pow(-Math.expm1(-nll), gamma) * nll;
      loss[i] = f;
      numerator += f;
      focalSum[tc] += f;
      ceNumerator += a * nll;
      ceDenominator += a;
      if (f !== f) nan++;
      else if (f === Infinity || f === -Infinity) inf++;
    }
  }
  acc.set(focalSum, per);
  if (acc.length < ceAccLength(C)) throw new Error('focal: accumulators too short');
  return { numerator, ceNumerator, ceDenominator, nan, inf, ceSum };
}
