// Loader for the WebAssembly SIMD sigmoid focal kernel (src/wasm/focal.ts, built to dist/focal.wasm by
// scripts/build-wasm.mjs): torchvision's sigmoid_focal_loss on float32 logits and targets. Pure, like
// wasmKernel.ts: the caller compiles the module and owns the (shared) memory; pointers are byte offsets.

/** f64 accumulators before the per-class ones: loss sum, NaN losses, infinite losses, unused. */
export const SF_SCALARS = 4;
/** f64 accumulators per class, in order: loss sum, count, predicted positive, positive target, correct, true positive. */
export const SF_PER_CLASS = 6;

/** Number of f64 accumulators of sigmoidFocalF32 for C classes. */
export function sigmoidFocalAccLength(C: number): number {
  return SF_SCALARS + SF_PER_CLASS * C;
}

export interface SigmoidFocalKernel {
  /** gamma >= 0 and alpha (negative: no alpha weighting) for the calls that follow. */
  setSigmoidFocal(gamma: number, alpha: number): void;
  /**
   * n elements: x, t f32 logits and targets; writes loss f32 (within 2e-6 |l| + 2e-7 of the float64
   * reference, NaN/Inf exactly where it puts them), pred u8 (x > 0) and tc u8 (t >= 0.5), one byte per element. Element i is
   * flat element e0 + i of an input whose class axis has C entries and `inner` elements after it; adds to
   * acc (f64, sigmoidFocalAccLength(C)). A lane's results do not depend on how ranges are split.
   */
  sigmoidFocalF32(x: number, t: number, loss: number, pred: number, tc: number, n: number, e0: number, inner: number, C: number, acc: number): void;
  /** The first i in [i0, end) whose f32 loss is not below floor (NaN qualifies), or end. */
  nextWorst(loss: number, i0: number, end: number, floor: number): number;
}

export function instantiateSigmoidFocal(module: WebAssembly.Module, memory: WebAssembly.Memory): SigmoidFocalKernel {
  // The exact fallback (non-finite lanes) uses the host's functions, those of the float64 reference.
  const ex = new WebAssembly.Instance(module, { env: { memory, exp: Math.exp, log: Math.log, pow: Math.pow } }).exports;
  const { setSigmoidFocal, sigmoidFocalF32, nextWorst } = ex;
  if (typeof setSigmoidFocal !== 'function' || typeof sigmoidFocalF32 !== 'function' || typeof nextWorst !== 'function') {
    throw new Error('not the sigmoid focal kernel module: setSigmoidFocal, sigmoidFocalF32 or nextWorst is missing');
  }
  return {
    setSigmoidFocal: setSigmoidFocal as SigmoidFocalKernel['setSigmoidFocal'],
    sigmoidFocalF32: sigmoidFocalF32 as SigmoidFocalKernel['sigmoidFocalF32'],
    nextWorst: nextWorst as SigmoidFocalKernel['nextWorst'],
  };
}
