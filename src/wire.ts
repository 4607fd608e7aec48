// Messages between the extension host and a notebook renderer travel as JSON (VS Code's renderer
// messaging serializes them), which would turn a Float32Array into an object of string keys and NaN or
// Infinity into null. The wire form keeps both: typed arrays become base64 of their little-endian bytes,
// non-finite numbers a tagged string. Pure code: the host, the renderer and tests share it.
import { base64ToBytes, bytesToBase64 } from './base64';
import { LensError } from './errors';

type TypedKind = 'f32' | 'f64' | 'i32' | 'u32' | 'i16' | 'u16' | 'i8' | 'u8';

interface WireArray {
  readonly $typed: TypedKind;
  readonly b64: string;
}
interface WireNumber {
  readonly $num: 'NaN' | 'Infinity' | '-Infinity';
}

/**
 * Messages nest a handful of levels; the walks below recurse once per level, so a bound keeps a hostile or
 * broken 100k-level message from overflowing the stack (it is refused instead).
 */
export const MAX_WIRE_DEPTH = 100;

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
