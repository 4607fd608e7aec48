// Typed views over shared memory, so host and workers see the same tensor bytes without copies.
import type { SharedTensorRef } from '../../protocol';
import type { DType, Tensor, TensorData } from '../../tensor/tensor';
import { numel } from '../../tensor/tensor';

type Storage = SharedTensorRef['storage'];

const CTORS = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  i16: Int16Array,
  i8: Int8Array,
  u32: Uint32Array,
  u16: Uint16Array,
  u8: Uint8Array,
} as const;

export function storageOf(data: TensorData): Storage {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Int16Array) return 'i16';
  if (data instanceof Int8Array) return 'i8';
  if (data instanceof Uint32Array) return 'u32';
  if (data instanceof Uint16Array) return 'u16';
  return 'u8';
}

export function viewOf(ref: SharedTensorRef): Tensor {
  // The union of constructors is not callable as one signature; each accepts a shared buffer.
  const Ctor = CTORS[ref.storage] as unknown as new (b: ArrayBufferLike, off: number, len: number) => TensorData;
  const data = new Ctor(ref.buffer, ref.byteOffset, numel(ref.shape));
  return { dtype: ref.dtype, shape: ref.shape, data, ...(ref.storedAs ? { storedAs: ref.storedAs } : {}) };
}

/**
 * A tensor in shared memory for workers: copied into a new SharedArrayBuffer once per request, or, when it
 * already lies in one (a file a worker decoded in place), shared as it is. Jobs only read the tensors they
 * are given and write to buffers of their own (allocShared).
 */
export function share(t: Tensor): SharedTensorRef {
  const storage = storageOf(t.data);
  const stored = t.storedAs ? { storedAs: t.storedAs } : {};
  if (t.data.buffer instanceof SharedArrayBuffer) return { dtype: t.dtype, shape: t.shape, buffer: t.data.buffer, byteOffset: t.data.byteOffset, storage, ...stored };
  const buffer = new SharedArrayBuffer(Math.max(8, t.data.byteLength));
  const Ctor = CTORS[storage] as unknown as new (b: ArrayBufferLike) => TensorData & { set(a: ArrayLike<number>): void };
  new Ctor(buffer).set(t.data);
  return { dtype: t.dtype, shape: t.shape, buffer, byteOffset: 0, storage, ...stored };
}

export function allocShared(dtype: DType, shape: readonly number[], storage: Storage): SharedTensorRef {
  const bytes = numel(shape) * CTORS[storage].BYTES_PER_ELEMENT;
  return { dtype, shape, buffer: new SharedArrayBuffer(Math.max(8, bytes)), byteOffset: 0, storage };
}
