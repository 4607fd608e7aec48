// When a decoded tensor may view the bytes it was decoded from instead of copying them.
import type { DType, TensorData } from '../tensor';

type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TensorData;

/**
 * The typed array that views a dtype's stored bytes as the tensor's data, as they are (in the platform's
 * byte order); undefined for dtypes that are widened or normalized when decoded (float16, 64-bit integers,
 * bool).
 */
export const VIEW_CONSTRUCTORS: Partial<Record<DType, ViewConstructor>> = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, int16: Int16Array, uint16: Uint16Array, int8: Int8Array, uint8: Uint8Array,
};

/**
 * Bytes the caller read into shared memory for this (readTensorFile's `shared`: they go to other threads as
 * they are) may be viewed in place by a tensor that is aligned for its type and most of them: a small
 * tensor would otherwise keep a whole checkpoint alive. Private bytes are always copied, so that a tensor
 * never aliases a buffer its caller still owns.
 */
export function viewableInPlace(bytes: Uint8Array, start: number, length: number, item: number): boolean {
  return isShared(bytes) && (bytes.byteOffset + start) % item === 0 && 2 * length >= bytes.buffer.byteLength;
}

/** The bytes lie in a SharedArrayBuffer (where there is one: a browser without cross-origin isolation has none). */
export function isShared(bytes: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
}

/** A zeroed buffer of `length` bytes in the same kind of memory as `like` (shared or private). */
export function bytesLike(like: Uint8Array, length: number): Uint8Array {
  return isShared(like) ? new Uint8Array(new SharedArrayBuffer(length)) : new Uint8Array(length);
}
