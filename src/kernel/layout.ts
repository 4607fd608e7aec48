// Moving the class axis to position 1 (channels-last data), so the loss loops see one layout: (N, C, S).
import type { Tensor, TensorData } from '../tensor/tensor';
import { cStrides, numel } from '../tensor/tensor';

/** Returns a C-order copy of `t` with axis `from` moved to position `to` (like torch.movedim). */
export function moveAxis(t: Tensor, from: number, to: number): Tensor {
  if (from === to) return t;
  const nd = t.shape.length;
  const order: number[] = [];
  for (let d = 0; d < nd; d++) if (d !== from) order.push(d);
  order.splice(to, 0, from);
  const newShape = order.map((d) => t.shape[d]);
  // A shape-only stand-in (no values, see validate.shapeOnly) moves its shape and nothing else.
  if (t.data.length === 0) return { dtype: t.dtype, shape: newShape, data: t.data };
  const srcStrides = cStrides(t.shape);
  const permStrides = order.map((d) => srcStrides[d]);
  const total = numel(newShape);
  const Ctor = t.data.constructor as new (n: number) => TensorData;
  const out = new Ctor(total);
  const src = t.data;
  // Odometer over the destination in C order; the innermost axis is a strided copy.
  const inner = nd > 0 ? newShape[nd - 1] : 1;
  const innerStride = nd > 0 ? permStrides[nd - 1] : 0;
  const idx = new Array<number>(Math.max(nd - 1, 0)).fill(0);
  let srcBase = 0;
  for (let o = 0; o < total; o += inner) {
    let si = srcBase;
    for (let k = 0; k < inner; k++, si += innerStride) out[o + k] = src[si];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      srcBase += permStrides[d];
      if (idx[d] < newShape[d]) break;
      srcBase -= permStrides[d] * newShape[d];
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, shape: newShape, data: out };
}

/**
 * Broadcasts `t` to `shape` (NumPy rules) and returns a flat C-order Float64Array of that shape, or null when
 * the shapes are not broadcast-compatible in that direction.
 */
export function broadcastTo(t: Tensor, shape: readonly number[]): Float64Array | null {
  const nd = shape.length;
  if (t.shape.length > nd) return null;
  const off = nd - t.shape.length;
  const srcStrides = cStrides(t.shape);
  const strides = new Array<number>(nd).fill(0);
  for (let d = 0; d < t.shape.length; d++) {
    const s = t.shape[d];
    const want = shape[d + off];
    if (s !== want && s !== 1) return null;
    strides[d + off] = s === 1 ? 0 : srcStrides[d];
  }
  const total = numel(shape);
  const out = new Float64Array(total);
  const idx = new Array<number>(nd).fill(0);
  let si = 0;
  for (let o = 0; o < total; o++) {
    out[o] = t.data[si];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      si += strides[d];
      if (idx[d] < shape[d]) break;
      si -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}
