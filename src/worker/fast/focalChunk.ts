// Softmax focal loss on the fast path, inside a worker: the SIMD kernel has just written plain
// cross-entropy -log p_t (class weights all ones) into a job's loss range; the kernel's focalInPlace
// (src/wasm/softmaxFocal.ts) turns each element into alpha[t] (1 - p_t)^gamma (-log p_t) in place, with the
// reference's float64 expression (src/kernel/losses/focal.ts: 1 - p_t = -expm1(-nll), exact where p_t is near 1).
// This rewrites the job's accumulators for focal: the per-class loss sums become focal sums, the kernel's
// (unweighted cross-entropy) ones move to the partial's ceSum, and the cross-entropy companion sums are
// weighted by alpha.
import { CE_ACC, type CeWasmKernel } from '../../kernel/wasm/wasmKernel';
import { FOCAL_SCALARS } from './memoryLayout';

/** What the focal pass adds to a job's partial. */
export interface FocalChunkSums {
  readonly numerator: number;
  readonly ceNumerator: number;
  readonly ceDenominator: number;
  readonly nan: number;
  readonly inf: number;
  /** Unweighted -log p_t per target class. */
  readonly ceSum: Float64Array;
}

/** One range of elements: byte offsets of its losses (f32) and targets (i32), and its length. */
export interface FocalRange {
  readonly loss: number;
  readonly t: number;
  readonly n: number;
}

export interface FocalSettings {
  readonly C: number;
  readonly ignoreIndex: number;
  /** Byte offset of alpha (f64 per class), or 0 for ones. */
  readonly alphaAt: number;
  readonly gamma: number;
  /** Byte offsets of the job's accumulators (CE_ACC layout) and of its FOCAL_SCALARS. */
  readonly acc: number;
  readonly scalars: number;
}

/** Applies focal to every range of one job and rewrites its accumulators. Ignored elements keep their loss 0. */
export function applyFocal(k: CeWasmKernel, buf: ArrayBufferLike, ranges: readonly FocalRange[], s: FocalSettings): FocalChunkSums {
  const sums = s.acc + CE_ACC.perClass * 8;
  const perClass = new Float64Array(buf, sums, s.C);
  const ceSum = perClass.slice();
  perClass.fill(0);
  const out = new Float64Array(buf, s.scalars, FOCAL_SCALARS);
  out.fill(0);
  for (const r of ranges) k.focalInPlace(r.loss, r.t, r.n, s.ignoreIndex, s.alphaAt, s.gamma, sums, s.scalars);
  return { numerator: out[0], ceNumerator: out[1], ceDenominator: out[2], nan: out[3], inf: out[4], ceSum };
}
