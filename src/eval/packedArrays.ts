// Numeric arrays packed for the JSON files that sharded runs write (label-issue parts): base64 of their
// little-endian bytes, which keeps float64 values exact and is about a third the size of their decimal text.
// Unpacking is strict: only the standard alphabet with its padding, and the length is checked against the
// declared element count before anything is decoded or allocated. Pure (no Node import).
import { base64ToBytes, bytesToBase64, isStrictBase64 } from '../base64';

export type PackedKind = 'f64' | 'i32' | 'u8';

const BYTES: Readonly<Record<PackedKind, number>> = { f64: 8, i32: 4, u8: 1 };
const NAMES: Readonly<Record<PackedKind, string>> = { f64: 'float64', i32: 'int32', u8: 'uint8' };

function pack(n: number, kind: PackedKind, put: (view: DataView, i: number) => void): string {
  const view = new DataView(new ArrayBuffer(n * BYTES[kind]));
  for (let i = 0; i < n; i++) put(view, i);
  return bytesToBase64(new Uint8Array(view.buffer));
}

export function packF64(values: ArrayLike<number>): string {
  return pack(values.length, 'f64', (v, i) => v.setFloat64(8 * i, values[i]!, true));
}

export function packI32(values: ArrayLike<number>): string {
  return pack(values.length, 'i32', (v, i) => v.setInt32(4 * i, values[i]!, true));
}

export function packU8(values: ArrayLike<number>): string {
  return pack(values.length, 'u8', (v, i) => v.setUint8(i, values[i]!));
}

/** The base64 text length of `n` elements of `kind`. */
export function packedLength(n: number, kind: PackedKind): number {
  return 4 * Math.ceil((n * BYTES[kind]) / 3);
}

export type Unpacked<K extends PackedKind> = K extends 'f64' ? Float64Array : K extends 'i32' ? Int32Array : Uint8Array;

/** `n` elements of `kind` from base64 text, or why the text is not that: a one-line reason. */
export function unpack<K extends PackedKind>(text: string, n: number, kind: K): Unpacked<K> | string {
  const want = packedLength(n, kind);
  if (text.length !== want) {
    return `has ${text.length} base64 characters, expected ${want} (${n} ${NAMES[kind]} value${n === 1 ? '' : 's'}, little-endian)`;
  }
  if (!isStrictBase64(text)) return `is not base64 (characters outside A-Z a-z 0-9 + / or misplaced '=' padding)`;
  const bytes = base64ToBytes(text);
  if (bytes.length !== n * BYTES[kind]) return `decodes to ${bytes.length} bytes, expected ${n * BYTES[kind]} (${n} ${NAMES[kind]} values)`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (kind === 'f64') {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
    return out as Unpacked<K>;
  }
  if (kind === 'i32') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
    return out as Unpacked<K>;
  }
  return Uint8Array.from(bytes) as Unpacked<K>;
}
