// Messages between the extension host and a notebook renderer travel as JSON (VS Code's renderer
// messaging serializes them), which would turn a Float32Array into an object of string keys and NaN or
// Infinity into null. The wire form keeps both: typed arrays become base64 of their little-endian bytes,
// non-finite numbers a tagged string. Pure code: the host, the renderer and tests share it.
import { LensError } from './errors';

type TypedKind = 'f32' | 'f64' | 'i32' | 'u32' | 'i16' | 'u16' | 'i8' | 'u8';

interface WireArray {
  readonly $typed: TypedKind;
  readonly b64: string;
}
interface WireNumber {
  readonly $num: 'NaN' | 'Infinity' | '-Infinity';
}

const CHUNK = 0x8000;
/**
 * Messages nest a handful of levels; the walks below recurse once per level, so a bound keeps a hostile or
 * broken 100k-level message from overflowing the stack (it is refused instead).
 */
export const MAX_WIRE_DEPTH = 100;

/** Node's Buffer where there is one (the extension host, the CLI), looked up without importing Node. */
interface NodeBuffer {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
  from(text: string, encoding: 'base64'): Uint8Array;
}
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

export function bytesToBase64(bytes: Uint8Array): string {
  // Node's btoa works a character at a time: 290 ms for a 512 x 512 sample's maps on the extension host,
  // which held the summary sent before them for as long. Buffer's encoder is native (a few ms); browsers'
  // btoa is native too.
  if (nodeBuffer) return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return bytesToBase64ByBtoa(bytes);
}

/** The same base64 by btoa (what a webview uses). */
export function bytesToBase64ByBtoa(bytes: Uint8Array): string {
  // btoa takes a binary string; building it in chunks keeps String.fromCharCode's argument list small.
  let s = '';
  for (let i = 0; i < bytes.length; i += CHUNK) s += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(s);
}

/**
 * Standard base64 with its padding, and nothing else (a length that is a multiple of 4). A character loop
 * the regex engine runs without backtracking: the grouped form (?:[...]{4})* overflowed the stack on texts
 * of a few million characters.
 */
export function isStrictBase64(b64: string): boolean {
  return b64.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(b64);
}

export function base64ToBytes(b64: string): Uint8Array {
  // Buffer decodes natively but accepts anything (it skips what is not base64): only text already known to
  // be strict base64 goes that way; the rest keeps atob's rules (and its errors). A copy: the caller views
  // the bytes' buffer from offset 0, and Buffer's may be a slice of its pool.
  if (nodeBuffer && isStrictBase64(b64)) return new Uint8Array(nodeBuffer.from(b64, 'base64'));
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function littleEndian(): boolean {
  return new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
}

function kindOf(v: ArrayBufferView): TypedKind | null {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint32Array) return 'u32';
  if (v instanceof Int16Array) return 'i16';
  if (v instanceof Uint16Array) return 'u16';
  if (v instanceof Int8Array) return 'i8';
  if (v instanceof Uint8Array) return 'u8';
  return null;
}

/** A JSON-safe copy of `value`: typed arrays and non-finite numbers survive JSON.stringify/parse. */
export function toWire(value: unknown): unknown {
  return toWireAt(value, 0);
}

function toWireAt(value: unknown, depth: number): unknown {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { $num: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' } satisfies WireNumber;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_WIRE_DEPTH) throw new TypeError(`a message nested more than ${MAX_WIRE_DEPTH} levels deep has no wire form`);
  if (ArrayBuffer.isView(value)) {
    const kind = kindOf(value);
    if (kind === null) throw new TypeError(`no wire form for ${value.constructor.name}`);
    if (!littleEndian()) throw new TypeError('big-endian hosts are not supported');
    return { $typed: kind, b64: bytesToBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) } satisfies WireArray;
  }
  if (Array.isArray(value)) return value.map((v) => toWireAt(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWireAt(v, depth + 1);
  return out;
}

function isWireArray(v: Record<string, unknown>): v is Record<string, unknown> & WireArray {
  return typeof v.$typed === 'string' && typeof v.b64 === 'string' && Object.keys(v).length === 2;
}

function isWireNumber(v: Record<string, unknown>): v is Record<string, unknown> & WireNumber {
  return typeof v.$num === 'string' && Object.keys(v).length === 1;
}

/**
 * Inverse of toWire. Unknown tags stay as they are (the receiver validates what it uses). A message nested
 * more than MAX_WIRE_DEPTH levels is a one-line LensError.
 */
export function fromWire(value: unknown): unknown {
  return fromWireAt(value, 0);
}

function fromWireAt(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_WIRE_DEPTH) throw new LensError('format', `message nested more than ${MAX_WIRE_DEPTH} levels deep`);
  if (Array.isArray(value)) return value.map((v) => fromWireAt(v, depth + 1));
  const o = value as Record<string, unknown>;
  if (isWireNumber(o)) return o.$num === 'NaN' ? NaN : o.$num === 'Infinity' ? Infinity : o.$num === '-Infinity' ? -Infinity : o;
  if (isWireArray(o)) {
    let bytes: Uint8Array;
    try {
      bytes = base64ToBytes(o.b64);
    } catch {
      return o; // not base64: an unknown tag to the receiver
    }
    // A fresh, aligned buffer: the decoded bytes start at offset 0.
    switch (o.$typed) {
      case 'f32': return bytes.length % 4 === 0 ? new Float32Array(bytes.buffer) : o;
      case 'f64': return bytes.length % 8 === 0 ? new Float64Array(bytes.buffer) : o;
      case 'i32': return bytes.length % 4 === 0 ? new Int32Array(bytes.buffer) : o;
      case 'u32': return bytes.length % 4 === 0 ? new Uint32Array(bytes.buffer) : o;
      case 'i16': return bytes.length % 2 === 0 ? new Int16Array(bytes.buffer) : o;
      case 'u16': return bytes.length % 2 === 0 ? new Uint16Array(bytes.buffer) : o;
      case 'i8': return new Int8Array(bytes.buffer);
      case 'u8': return bytes;
      default: return o;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    // A "__proto__" key (JSON.parse makes it an own property) stays one, instead of setting the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: fromWireAt(v, depth + 1), enumerable: true, writable: true, configurable: true });
    else out[k] = fromWireAt(v, depth + 1);
  }
  return out;
}
