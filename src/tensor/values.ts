// Shared by the text parsers (JSON, printed tensors): reading decimal numbers fast and exactly, and storing
// flat values under a dtype with the same checks and messages everywhere.

import { LensError, fmtShape, unravelIndex } from '../errors';
import { type DType, type Tensor, type TensorData, numel } from './tensor';
import { roundToHalf } from './float16';

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The value of a decimal number token text[start, end) (already checked to be well formed: sign, digits,
 * optional fraction and exponent). Short tokens take Clinger's fast path: a mantissa below 2^53 and a power
 * of ten up to 10^22 are both exact doubles, so one multiplication or division rounds correctly. Everything
 * else goes through Number(), which rounds correctly too.
 */
export function decimalValue(text: string, start: number, end: number): number {
  let i = start;
  let neg = false;
  const c0 = text.charCodeAt(i);
  if (c0 === 0x2d || c0 === 0x2b) {
    neg = c0 === 0x2d;
    i++;
  }
  let m = 0;
  let digits = 0;
  let scale = 0;
  let c = text.charCodeAt(i);
  while (c >= 0x30 && c <= 0x39) {
    if (m !== 0 || c !== 0x30) digits++;
    m = m * 10 + (c - 0x30);
    c = text.charCodeAt(++i);
  }
  if (c === 0x2e) {
    c = text.charCodeAt(++i);
    while (c >= 0x30 && c <= 0x39) {
      if (m !== 0 || c !== 0x30) digits++;
      m = m * 10 + (c - 0x30);
      scale--;
      c = text.charCodeAt(++i);
    }
  }
  if (i < end) {
    // An exponent: e, sign, digits.
    let j = i + 1;
    let eneg = false;
    const s = text.charCodeAt(j);
    if (s === 0x2d || s === 0x2b) {
      eneg = s === 0x2d;
      j++;
    }
    let e = 0;
    while (j < end && e < 1e6) e = e * 10 + (text.charCodeAt(j++) - 0x30);
    scale += eneg ? -e : e;
  }
  if (digits <= 15) {
    let v: number | undefined;
    if (m === 0) v = 0;
    else if (scale >= 0 && scale <= 22) v = m * POW10[scale];
    else if (scale < 0 && scale >= -22) v = m / POW10[-scale];
    if (v !== undefined) return neg ? -v : v;
  }
  return Number(text.slice(start, end));
}

/** Where element i sits, for messages: "index [0, 5]". */
export function indexText(i: number, shape: readonly number[]): string {
  return `index ${fmtShape(unravelIndex(i, shape))}`;
}

const INT_LIMITS: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  // 64-bit integers are stored as int32 for the kernel; see tensor.ts.
  int64: [-(2 ** 31), 2 ** 31 - 1], uint64: [0, 2 ** 31 - 1],
};

const INT_STORAGE = {
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: Int32Array, uint64: Int32Array,
} as const;

/**
 * Stores flat C-order values under `dtype` (storage per tensor.ts). Integer dtypes need integral values in
 * range; 64-bit ones must fit int32. `where(i)` names element i in errors (defaults to its multi-index).
 */
export function storeValues(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  where: (i: number) => string = (i) => indexText(i, shape),
): Tensor {
  const n = numel(shape);
  if (values.length !== n) {
    throw new LensError('shape', `${values.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
  }
  let data: TensorData;
  switch (dtype) {
    case 'float64': data = values instanceof Float64Array ? values : Float64Array.from(values); break;
    case 'float32': data = Float32Array.from(values); break;
    case 'float16': {
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) d[i] = roundToHalf(values[i]);
      data = d;
      break;
    }
    case 'bool': {
      const d = new Uint8Array(n);
      for (let i = 0; i < n; i++) d[i] = values[i] !== 0 ? 1 : 0;
      data = d;
      break;
    }
    default: {
      const [lo, hi] = INT_LIMITS[dtype] as [number, number];
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (Number.isInteger(v) && v >= lo && v <= hi) continue;
        if (!Number.isInteger(v)) throw new LensError('dtype', `value ${fmtNumber(v)} at ${where(i)} is not an integer, but the dtype is ${dtype}`);
        if (dtype === 'int64' || dtype === 'uint64') {
          if (dtype === 'int64' || v >= 0) {
            throw new LensError('dtype', `${dtype} value ${fmtNumber(v)} at ${where(i)} does not fit the kernel's 32-bit integer type`);
          }
        }
        throw new LensError('dtype', `value ${fmtNumber(v)} at ${where(i)} does not fit ${dtype}`);
      }
      const d = new INT_STORAGE[dtype as keyof typeof INT_STORAGE](n);
      for (let i = 0; i < n; i++) d[i] = values[i];
      data = d;
    }
  }
  return { dtype, shape: [...shape], data };
}

function fmtNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  // Integers beyond 2^53 print in full, as Python would, not as 3e+21; up to 1e40, so that 1e308 in a
  // hostile file stays a short message.
  return Number.isInteger(v) && Math.abs(v) >= 1e21 && Math.abs(v) < 1e40 ? BigInt(v).toString() : String(v);
}

/**
 * The values of a nested list whose size its first elements claim (the product of their lengths), put in C
 * order by a walk that checks the rest keeps that shape. Grown as values arrive, so a claim the list does
 * not keep (a ragged list, which the walk refuses) allocates no more than the values there are: allocated
 * up front, a 361 K-character literal claiming [100, 90000, 100] took 7.2 GB.
 */
export class ClaimedValues {
  private buf: Float64Array;
  private k = 0;

  constructor(private readonly claimed: number) {
    this.buf = new Float64Array(Math.min(claimed, 1 << 12));
  }

  push(v: number): void {
    if (this.k === this.buf.length) {
      const more = new Float64Array(Math.min(this.claimed, 2 * this.buf.length));
      more.set(this.buf);
      this.buf = more;
    }
    this.buf[this.k++] = v;
  }

  /** The values, all `claimed` of them once the walk is complete. */
  get values(): Float64Array {
    return this.buf;
  }
}
