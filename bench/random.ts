// Deterministic pseudo-random data (xorshift) shared by the benchmarks, so their runs compare.
import type { Tensor } from '../src/tensor/tensor';

export function xorshift(seed = 12345): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * The benchmarks' segmentation case [N, C, H, W] drawn from rnd: float32 logits uniform in [-4, 4), int64 class
 * targets [N, H, W] with 5% ignore_index 255. The order of draws (every logit, then every target) is fixed,
 * so each benchmark's data stays what it was.
 */
export function segmentationCase(rnd: () => number, N: number, C: number, H: number, W: number): { readonly input: Tensor & { data: Float32Array }; readonly target: Tensor & { data: Int32Array } } {
  const x = new Float32Array(N * C * H * W);
  for (let i = 0; i < x.length; i++) x[i] = (rnd() - 0.5) * 8;
  const t = new Int32Array(N * H * W);
  for (let i = 0; i < t.length; i++) t[i] = rnd() < 0.05 ? 255 : Math.floor(rnd() * C);
  return { input: { dtype: 'float32', shape: [N, C, H, W], data: x }, target: { dtype: 'int64', shape: [N, H, W], data: t } };
}
