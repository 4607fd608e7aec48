// .safetensors files (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
// `{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__": {...}}`, then
// the data, each tensor little-endian in C order at [begin, end) relative to the first byte after the
// header. Listing reads the header only; get() copies one tensor's bytes.

import { LensError, fmtShape, quoteSnippet } from '../errors';
import { halvesToFloat32 } from './float16';
import { type NpzMember, memberLabel, resolveNpzMember, ROLE_NAMES, type TensorRole } from './npz';
import { type DType, type Tensor, type TensorData, numel } from './tensor';

/** The dtype names of the format; BF16 decodes to float32 exactly. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

const DTYPES: Readonly<Record<SafetensorsDType, { dtype: DType; size: number }>> = {
  F64: { dtype: 'float64', size: 8 },
  F32: { dtype: 'float32', size: 4 },
  F16: { dtype: 'float16', size: 2 },
  BF16: { dtype: 'float32', size: 2 },
  I64: { dtype: 'int64', size: 8 },
  I32: { dtype: 'int32', size: 4 },
  I16: { dtype: 'int16', size: 2 },
  I8: { dtype: 'int8', size: 1 },
  U64: { dtype: 'uint64', size: 8 },
  U32: { dtype: 'uint32', size: 4 },
  U16: { dtype: 'uint16', size: 2 },
  U8: { dtype: 'uint8', size: 1 },
  BOOL: { dtype: 'bool', size: 1 },
};

/** The largest header read (the reference implementation caps it at 100 MB too). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

export interface SafetensorsInfo {
  readonly name: string;
  readonly shape: readonly number[];
  /** The dtype of the decoded Tensor ('float32' for BF16). */
  readonly dtype: DType;
  readonly stDType: SafetensorsDType;
  /** Byte range in the file (absolute). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsFile {
  /** Tensors in header order. */
  readonly tensors: readonly SafetensorsInfo[];
  get(name: string): Tensor;
}

function corrupt(detail: string): LensError {
  return new LensError('format', `not a valid .safetensors file: ${detail}`);
}

const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function nameLabel(name: string): string {
  return /^[\w./-]{1,60}$/.test(name) ? name : quoteSnippet(name);
}

/** Reads the header: `bytes` needs to hold at least the first 8 + N bytes (the data only for get()). */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize = bytes.length): SafetensorsInfo[] {
  if (bytes.length < 8) throw corrupt(bytes.length === 0 ? 'the file is empty' : 'shorter than its 8-byte header length — truncated?');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > MAX_SAFETENSORS_HEADER) throw corrupt(`the header claims ${n} bytes, more than the ${MAX_SAFETENSORS_HEADER} allowed — not a safetensors file?`);
  if (8 + n > fileSize || 8 + n > bytes.length) throw corrupt(`the header claims ${n} bytes but the file holds ${fileSize - 8} after the length — truncated?`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw corrupt(`the header is not UTF-8 JSON (${e instanceof Error ? e.message.split('\n')[0].slice(0, 80) : String(e)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw corrupt('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = fileSize - dataStart;
  const out: SafetensorsInfo[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const what = `tensor ${nameLabel(name)}`;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw corrupt(`${what} is not an object`);
    const { dtype, shape, data_offsets: offs } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) {
      const shown = typeof dtype === 'string' ? quoteSnippet(dtype, 20) : String(dtype);
      throw new LensError('dtype', `${what} has dtype ${shown}, which is not read here (F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL) — convert it before saving`);
    }
    const isDim = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
    if (!Array.isArray(shape) || shape.length > 64 || !shape.every(isDim)) throw corrupt(`${what} has no valid shape`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isDim)) throw corrupt(`${what} has no valid data_offsets`);
    const [b, e] = offs as [number, number];
    const st = DTYPES[dtype as SafetensorsDType];
    const size = numel(shape) * st.size;
    if (b > e || e > dataLen) throw corrupt(`${what} has data_offsets [${b}, ${e}] outside the ${dataLen} data bytes — truncated?`);
    if (e - b !== size) throw corrupt(`${what} has ${e - b} data bytes, but shape ${fmtShape(shape)} ${dtype} needs ${size}`);
    out.push({ name, shape: [...shape] as number[], dtype: st.dtype, stDType: dtype as SafetensorsDType, begin: dataStart + b, end: dataStart + e });
  }
  return out;
}

function decode(info: SafetensorsInfo, bytes: Uint8Array): Tensor {
  const n = numel(info.shape);
  if (info.end > bytes.length) throw corrupt(`tensor ${nameLabel(info.name)} runs past the end of the file — truncated?`);
  const raw = bytes.slice(info.begin, info.end);
  const size = DTYPES[info.stDType].size;
  if (size > 1 && !PLATFORM_LITTLE_ENDIAN) {
    for (let i = 0; i + size <= raw.length; i += size) raw.subarray(i, i + size).reverse();
  }
  const buf = raw.buffer;
  let data: TensorData;
  switch (info.stDType) {
    case 'F64': data = new Float64Array(buf); break;
    case 'F32': data = new Float32Array(buf); break;
    case 'F16': data = halvesToFloat32(new Uint16Array(buf)); break;
    case 'BF16': {
      const h = new Uint16Array(buf);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
      data = new Float32Array(bits.buffer);
      break;
    }
    case 'I32': data = new Int32Array(buf); break;
    case 'I16': data = new Int16Array(buf); break;
    case 'I8': data = new Int8Array(buf); break;
    case 'U32': data = new Uint32Array(buf); break;
    case 'U16': data = new Uint16Array(buf); break;
    case 'U8': data = raw; break;
    case 'BOOL':
      for (let i = 0; i < raw.length; i++) if (raw[i] > 1) raw[i] = 1;
      data = raw;
      break;
    case 'I64':
    case 'U64': {
      const w = new Int32Array(buf);
      const out = new Int32Array(n);
      const signed = info.stDType === 'I64';
      for (let i = 0; i < n; i++) {
        const l = w[2 * i];
        const u = w[2 * i + 1];
        if (signed ? u !== l >> 31 : u !== 0 || l < 0) {
          const value = signed ? (BigInt(u) << 32n) | BigInt(l >>> 0) : (BigInt(u >>> 0) << 32n) | BigInt(l >>> 0);
          const idx: number[] = [];
          for (let d = info.shape.length - 1, r = i; d >= 0; d--) {
            idx.unshift(info.shape[d] > 0 ? r % info.shape[d] : 0);
            r = Math.floor(r / Math.max(1, info.shape[d]));
          }
          throw new LensError('dtype', `${info.dtype} value ${value} at index ${fmtShape(idx)} does not fit the kernel's 32-bit integer type`);
        }
        out[i] = l;
      }
      data = out;
      break;
    }
  }
  return { dtype: info.dtype, shape: [...info.shape], data };
}

/** Lists a .safetensors file's tensors from its header; get() decodes one. Errors are prefixed with `source`. */
export function readSafetensors(bytes: Uint8Array, source?: string): SafetensorsFile {
  const src = (e: unknown): LensError => {
    const le = e instanceof LensError ? e : corrupt(e instanceof Error ? e.message : String(e));
    return source === undefined ? le : le.withSource(source);
  };
  let tensors: SafetensorsInfo[];
  try {
    tensors = parseSafetensorsHeader(bytes);
  } catch (e) {
    throw src(e);
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    tensors,
    get(name: string): Tensor {
      const t = byName.get(name);
      if (t === undefined) {
        const list = tensors.slice(0, 12).map((x) => `${memberLabel(x.name)} ${fmtShape(x.shape)} ${x.stDType}`);
        if (tensors.length > 12) list.push(`… ${tensors.length - 12} more`);
        throw src(new LensError('option', `no tensor named ${nameLabel(name)}; tensors: ${list.join(', ') || 'none'}`));
      }
      try {
        return decode(t, bytes);
      } catch (e) {
        throw src(e);
      }
    },
  };
}

/** The tensor a role uses when no name is given: the only one, else one named like the role (as for .npz). */
export function resolveSafetensorsMember(file: SafetensorsFile, role: TensorRole, source: string): string {
  if (file.tensors.length === 1) return file.tensors[0].name;
  if (file.tensors.length === 0) throw new LensError('format', `${source}: holds no tensors`);
  const names = ROLE_NAMES[role];
  const isHit = (t: SafetensorsInfo): boolean => names.includes(t.name.toLowerCase());
  const ordered = [...file.tensors.filter(isHit), ...file.tensors.filter((t) => !isHit(t))].slice(0, 24);
  const members: NpzMember[] = ordered.map((t) => ({
    name: t.name,
    size: t.end - t.begin,
    deflated: false,
    header: { version: '1.0', descr: t.stDType, dtype: t.dtype, littleEndian: true, itemSize: DTYPES[t.stDType].size, fortranOrder: false, shape: [...t.shape], dataOffset: t.begin },
  }));
  return resolveNpzMember({ members }, role, source);
}

export function decodeSafetensors(source: string, bytes: Uint8Array, role: TensorRole, member: string | undefined): Tensor {
  const file = readSafetensors(bytes, source);
  return file.get(member ?? resolveSafetensorsMember(file, role, source));
}

/** Whether bytes look like a .safetensors file (a plausible header length followed by '{'). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10 || bytes[8] !== 0x7b) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const n = dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true);
  return n >= 2 && n <= MAX_SAFETENSORS_HEADER && 8 + n <= bytes.length;
}

/** How many leading bytes hold the header (8 + its stated length), from the first 8 bytes; undefined when implausible. */
export function safetensorsHeaderEnd(first8: Uint8Array): number | undefined {
  if (first8.length < 8) return undefined;
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true);
  return n <= MAX_SAFETENSORS_HEADER ? 8 + n : undefined;
}
