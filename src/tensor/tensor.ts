// The in-memory tensor every part of the product shares: C-order, native-endian typed array.
// Decoders convert whatever they read (byte order, Fortran order, float16, int64) into this form once,
// so the kernel has one layout to handle.

export type DType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64';

export const DTYPES: readonly DType[] = [
  'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16', 'float32', 'float64',
];

/**
 * Storage for each dtype after decoding:
 * - bool -> Uint8Array (0/1)
 * - int64/uint64 -> Int32Array when every value fits the kernel's integer type (int32); otherwise decoding
 *   fails and names the first element that does not fit (or Float64Array for float-like use, see npy.ts)
 * - float16 -> Float32Array (exact widening)
 * - everything else -> its own typed array
 */
export type TensorData =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array;

export interface Tensor {
  /** The dtype as stored in the source (a float16 file stays 'float16' though data is a Float32Array). */
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** C-order values; length is the product of shape (1 for a 0-d tensor). */
  readonly data: TensorData;
  /**
   * The dtype as stored, where it has no DType of its own: a bfloat16 tensor (torch.save, .safetensors) is
   * widened exactly to float32 data with dtype 'float32'; reports name what the file holds.
   */
  readonly storedAs?: 'bfloat16';
}

/** The dtype to show for a tensor: as stored in its source. */
export function shownDType(t: { readonly dtype: DType; readonly storedAs?: 'bfloat16' }): string {
  return t.storedAs ?? t.dtype;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function isFloatDType(d: DType): boolean {
  return d === 'float16' || d === 'float32' || d === 'float64';
}

export function isIntegerDType(d: DType): boolean {
  return !isFloatDType(d) && d !== 'bool';
}

/** Strides (in elements) of a C-order array. */
export function cStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export function makeTensor(dtype: DType, shape: readonly number[], data: TensorData): Tensor {
  return { dtype, shape: [...shape], data };
}
