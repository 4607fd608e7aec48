// The accuracy the WebAssembly SIMD kernels promise against float64 (src/wasm/ce.ts, measured on adversarial
// rows by test/unit/wasm): per element 2e-6 of the loss plus 2e-7, float32's own rounding near a loss of 1.
// It is relative for all but the tiniest losses, so a confident prediction's loss of 1e-3 may be off by 2e-9
// plus the floor, not by 1% as an absolute 1e-5 below 1 allowed. Reduced values: 2e-6 relative.

export const SIMD_REL = 2e-6;
export const SIMD_ABS = 2e-7;

/** The largest |got - want| the SIMD path may show for an element whose float64 loss is `want`. */
export function simdBound(want: number): number {
  return SIMD_REL * Math.abs(want) + SIMD_ABS;
}

/** Element within the bound; NaN matches only NaN, infinities match exactly. */
export function simdElementOk(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= simdBound(want);
}

/**
 * PyTorch's own float64 error per element, which a reduced value of tiny losses inherits: log_softmax takes
 * log(1 + e) of a rounded 1 + e, so a confident element's float64 loss is off by up to ~1.1e-16 absolute
 * (a loss of 1.16e-11 came out 1.4e-5 relative above the exact value; the kernel, which adds log1p(e), was
 * nearer). 1e-14 is 100 such roundings and seven orders below the element floor.
 */
export const REFERENCE_ABS = 1e-14;

/**
 * A reduced value within 2e-6 relative (NaN only for NaN, infinities exact), plus `referenceSlack` for
 * the float64 reference's own rounding (REFERENCE_ABS per element summed, once for a mean).
 */
export function simdValueOk(got: number, want: number, referenceSlack = 0): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= SIMD_REL * Math.abs(want) + referenceSlack;
}

/** |got - want| as a fraction of the element bound (1 = at the bound), for the worst-case read-outs. */
export function boundShare(got: number, want: number): number {
  return Math.abs(got - want) / simdBound(want);
}
