// .safetensors files (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
// `{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__": {...}}`, then
// the data, each tensor little-endian in C order at [begin, end) relative to the first byte after the
// header. Listing reads the header only; get() copies one tensor's bytes.

import { LensError, fmtShape, quoteSnippet } from '../../errors';
import { halvesToFloat32 } from '../float16';
import { JSON_BYTES, JsonBytes, JsonSyntaxError } from '../text/jsonBytes';
import { type NpzMember, memberLabel, resolveNpzMember, ROLE_NAMES, type TensorRole } from './npz';
import { type DType, type Tensor, type TensorData, numel } from '../tensor';

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
  /** The parsed header (see SafetensorsHeader: names and offsets without an object per tensor). */
  readonly header: SafetensorsHeader;
  /** Tensors in header order. */
  readonly tensors: readonly SafetensorsInfo[];
  get(name: string): Tensor;
}

function corrupt(detail: string): LensError {
  return new LensError('format', `not a valid .safetensors file: ${detail}`);
}

const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function nameLabel(name: string): string {
  // JSON.stringify leaves line and paragraph separators as they are: a message stays one line.
  return /^[\w./-]{1,60}$/.test(name) ? name : quoteSnippet(name).replace(/[\u2028\u2029\u0085]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const DTYPE_NAMES = Object.keys(DTYPES) as SafetensorsDType[];
const MAX_DIMS = 64;
/** The shortest entry that passes its checks: `"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`. */
const MIN_ENTRY_BYTES = 50;

/**
 * Reads a JSON array of numbers into `into` and returns their count, or -1 when it is not one (any other
 * value, or more than into.length elements: the rest is checked and skipped, never stored).
 */
function numberArray(sc: JsonBytes, into: number[]): number {
  sc.ws();
  if (sc.peek() !== JSON_BYTES.LBRACKET) {
    sc.skipValue();
    return -1;
  }
  sc.pos++;
  if (sc.eat(JSON_BYTES.RBRACKET)) return 0;
  let n = 0;
  for (;;) {
    sc.ws();
    const c = sc.peek();
    if (n >= 0 && (c === JSON_BYTES.MINUS || (c >= 0x30 && c <= 0x39))) {
      const v = sc.number();
      if (n < into.length) into[n++] = v;
      else n = -1;
    } else {
      sc.skipValue();
      n = -1;
    }
    if (sc.eat(JSON_BYTES.COMMA)) continue;
    sc.expect(JSON_BYTES.RBRACKET, "',' or ']'");
    return n;
  }
}

function isDim(d: number): boolean {
  return Number.isSafeInteger(d) && d >= 0;
}

/**
 * A parsed header, one column per field: a million entries cost a few typed arrays, not a million objects
 * and strings (which took seconds of allocation and collection here). Names stay as byte ranges of the
 * header until asked for; info(i) makes the entry object a caller keeps.
 */
export class SafetensorsHeader {
  private nameStart: Uint32Array;
  private nameEnd: Uint32Array;
  /** 1 when the name is plain ASCII without escapes. */
  private namePlain: Uint8Array;
  private nameHash: Uint32Array;
  private dtypeCode: Uint8Array;
  private dimStart: Uint32Array;
  private dimCount: Uint8Array;
  private dims = new Float64Array(256);
  private dimsUsed = 0;
  private begins: Float64Array;
  private ends: Float64Array;
  private n = 0;

  constructor(
    private readonly sc: JsonBytes,
    /** First byte of the data section in the file. */
    readonly dataStart: number,
    readonly dataLen: number,
  ) {
    // Every entry takes at least MIN_ENTRY_BYTES of JSON, so this many columns never grow (growing a
    // million-row column copies it and faults in fresh pages again).
    const cap = Math.floor((dataStart - 8) / MIN_ENTRY_BYTES) + 1;
    this.nameStart = new Uint32Array(cap);
    this.nameEnd = new Uint32Array(cap);
    this.namePlain = new Uint8Array(cap);
    this.nameHash = new Uint32Array(cap);
    this.dtypeCode = new Uint8Array(cap);
    this.dimStart = new Uint32Array(cap);
    this.dimCount = new Uint8Array(cap);
    this.begins = new Float64Array(cap);
    this.ends = new Float64Array(cap);
  }

  get length(): number {
    return this.n;
  }

  /** Never needed while MIN_ENTRY_BYTES holds; kept so that a wrong bound costs time, not entries. */
  private growRows(): void {
    const cap = 2 * this.begins.length;
    const more = <T extends Uint8Array | Uint32Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.nameStart = more(this.nameStart, new Uint32Array(cap));
    this.nameEnd = more(this.nameEnd, new Uint32Array(cap));
    this.namePlain = more(this.namePlain, new Uint8Array(cap));
    this.nameHash = more(this.nameHash, new Uint32Array(cap));
    this.dtypeCode = more(this.dtypeCode, new Uint8Array(cap));
    this.dimStart = more(this.dimStart, new Uint32Array(cap));
    this.dimCount = more(this.dimCount, new Uint8Array(cap));
    this.begins = more(this.begins, new Float64Array(cap));
    this.ends = more(this.ends, new Float64Array(cap));
  }

  /** Appends an entry (begin and end relative to the data section, as in the header). */
  add(s0: number, s1: number, plain: boolean, dtype: number, shape: readonly number[], dims: number, begin: number, end: number): void {
    const i = this.n++;
    if (i === this.begins.length) this.growRows();
    if (this.dimsUsed + dims > this.dims.length) {
      const more = new Float64Array(2 * (this.dimsUsed + dims));
      more.set(this.dims);
      this.dims = more;
    }
    this.nameStart[i] = s0;
    this.nameEnd[i] = s1;
    this.namePlain[i] = plain ? 1 : 0;
    let h = 0x811c9dc5;
    if (plain) {
      // While the name's bytes are in the cache.
      const b = this.sc.b;
      for (let k = s0; k < s1; k++) h = Math.imul(h ^ b[k], 0x01000193);
    } else {
      const text = this.sc.textAt(s0, s1, false);
      for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
    }
    this.nameHash[i] = h >>> 0;
    this.dtypeCode[i] = dtype;
    this.dimStart[i] = this.dimsUsed;
    this.dimCount[i] = dims;
    for (let d = 0; d < dims; d++) this.dims[this.dimsUsed + d] = shape[d];
    this.dimsUsed += dims;
    this.begins[i] = begin;
    this.ends[i] = end;
  }

  name(i: number): string {
    return this.sc.textAt(this.nameStart[i], this.nameEnd[i], this.namePlain[i] === 1);
  }

  shape(i: number): number[] {
    return Array.from(this.dims.subarray(this.dimStart[i], this.dimStart[i] + this.dimCount[i]));
  }

  stDType(i: number): SafetensorsDType {
    return DTYPE_NAMES[this.dtypeCode[i]];
  }

  /** Byte range of entry i's data in the file. */
  begin(i: number): number {
    return this.dataStart + this.begins[i];
  }

  end(i: number): number {
    return this.dataStart + this.ends[i];
  }

  info(i: number): SafetensorsInfo {
    const stDType = this.stDType(i);
    return { name: this.name(i), shape: this.shape(i), dtype: DTYPES[stDType].dtype, stDType, begin: this.begin(i), end: this.end(i) };
  }

  /** Every entry, in header order. */
  all(): SafetensorsInfo[] {
    return Array.from({ length: this.n }, (_, i) => this.info(i));
  }

  /** Whether entry i is named `name`. */
  isNamed(i: number, name: string): boolean {
    return this.sc.textIs(this.nameStart[i], this.nameEnd[i], this.namePlain[i] === 1, name);
  }

  /** Whether entry i's name, lowercased, is one of `lower` (ASCII names compared in place). */
  isNamedLower(i: number, lower: readonly string[]): boolean {
    if (this.namePlain[i] !== 1) return lower.includes(this.name(i).toLowerCase());
    const s0 = this.nameStart[i];
    const len = this.nameEnd[i] - s0;
    const b = this.sc.b;
    outer: for (const w of lower) {
      if (w.length !== len) continue;
      for (let k = 0; k < len; k++) {
        const c = b[s0 + k];
        if ((c >= 0x41 && c <= 0x5a ? c + 32 : c) !== w.charCodeAt(k)) continue outer;
      }
      return true;
    }
    return false;
  }

  /** The entry named `name`, or -1 (names are unique: checked when the header was read). */
  indexOf(name: string): number {
    for (let i = 0; i < this.n; i++) if (this.isNamed(i, name)) return i;
    return -1;
  }

  /** Whether entries i and j have the same name. */
  private sameName(i: number, j: number): boolean {
    if (this.namePlain[i] === 1 && this.namePlain[j] === 1) {
      const a = this.nameStart[i];
      const c = this.nameStart[j];
      const len = this.nameEnd[i] - a;
      if (this.nameEnd[j] - c !== len) return false;
      const b = this.sc.b;
      for (let k = 0; k < len; k++) if (b[a + k] !== b[c + k]) return false;
      return true;
    }
    return this.name(i) === this.name(j);
  }

  /**
   * Names are unique: JSON.parse (and the reference reader's map) would keep only the last of two entries
   * of one name, and `file:name` would mean either. An open-addressing table of entry numbers, by hash.
   */
  checkUniqueNames(): void {
    let size = 16;
    while (size < this.n * 2) size *= 2;
    const table = new Int32Array(size);
    // At most half full, the table takes about 1.5 probes a name. Names made to share the hash's low bits
    // (the hash is fixed, so anyone can make them) would take a probe per name before them: past this
    // budget the check goes by the names' text in a Set, whose hash V8 seeds per process.
    let budget = 8 * this.n + 1024;
    for (let i = 0; i < this.n; i++) {
      let slot = this.nameHash[i] & (size - 1);
      for (;;) {
        const j = table[slot] - 1;
        if (j < 0) {
          table[slot] = i + 1;
          break;
        }
        if (this.nameHash[i] === this.nameHash[j] && this.sameName(i, j)) throw this.listedTwice(i);
        if (--budget < 0) return this.checkUniqueNamesByText();
        slot = (slot + 1) & (size - 1);
      }
    }
  }

  private checkUniqueNamesByText(): void {
    const seen = new Set<string>();
    for (let i = 0; i < this.n; i++) {
      const name = this.name(i);
      if (seen.has(name)) throw this.listedTwice(i);
      seen.add(name);
    }
  }

  private listedTwice(i: number): LensError {
    return corrupt(`tensor ${nameLabel(this.name(i))} is listed twice in the header`);
  }

  /**
   * The format's layout rule, as the reference reader checks it: sorted by offset, the tensors' byte ranges
   * tile the data section exactly, from 0 to its end, with no overlap (one tensor reading another's bytes)
   * and no gap (bytes no tensor owns). A violation names the tensors on both sides of it.
   */
  checkTiling(): void {
    const n = this.n;
    const bg = this.begins;
    const en = this.ends;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if (bg[i] < bg[i - 1] || (bg[i] === bg[i - 1] && en[i] < en[i - 1])) sorted = false;
    // Writers list tensors in offset order; any other order is sorted here (entry numbers only).
    let order: ArrayLike<number> | null = null;
    if (!sorted) {
      const idx = Array.from({ length: n }, (_, i) => i);
      idx.sort((a, b) => bg[a] - bg[b] || en[a] - en[b] || a - b);
      order = idx;
    }
    const at = (k: number): number => (order === null ? k : order[k]);
    const label = (i: number): string => `${nameLabel(this.name(i))} [${bg[i]}, ${en[i]}]`;
    let expected = 0;
    for (let k = 0; k < n; k++) {
      const i = at(k);
      if (bg[i] !== expected) {
        if (k === 0) throw corrupt(`tensor ${label(i)} leaves the ${bg[i]} data bytes before it to no tensor (data_offsets must start at 0)`);
        const p = at(k - 1);
        if (bg[i] < expected) throw corrupt(`tensors ${label(p)} and ${label(i)} overlap in their data_offsets`);
        throw corrupt(`tensors ${label(p)} and ${label(i)} leave the ${bg[i] - expected} data bytes between them to no tensor`);
      }
      expected = en[i];
    }
    if (expected !== this.dataLen) {
      if (n === 0) throw corrupt(`the header lists no tensors but ${this.dataLen} data bytes follow it`);
      throw corrupt(`the last tensor ${label(at(n - 1))} leaves the ${this.dataLen - expected} data bytes after it to no tensor`);
    }
  }
}

// Scratch for one entry's numbers: a million entries allocate nothing per entry.
const shapeScratch = new Array<number>(MAX_DIMS).fill(0);
const offsetScratch = [0, 0];

/**
 * One tensor's object (dtype, shape, data_offsets; other keys are skipped, as the reference reader does),
 * checked and added. A repeated key keeps its last value, as JSON.parse does.
 */
/** Worded only when a check fails: a million entries would otherwise each build a message. */
function entryLabel(sc: JsonBytes, s0: number, s1: number, plain: boolean): string {
  return `tensor ${nameLabel(sc.textAt(s0, s1, plain))}`;
}

function readEntry(sc: JsonBytes, h: SafetensorsHeader, s0: number, s1: number, plain: boolean): void {
  sc.ws();
  if (sc.peek() !== JSON_BYTES.LBRACE) {
    // A syntax error in the value is reported as such.
    sc.skipValue();
    throw corrupt(`${entryLabel(sc, s0, s1, plain)} is not an object`);
  }
  sc.pos++;
  let dtype = -1;
  let badDType = 'undefined';
  let dims = -1;
  let offs = -1;
  if (!sc.eat(JSON_BYTES.RBRACE)) {
    for (;;) {
      sc.scanString();
      sc.expect(JSON_BYTES.COLON, "':'");
      if (sc.lastStringIs('dtype')) {
        sc.ws();
        const from = sc.pos;
        dtype = -1;
        if (sc.peek() === JSON_BYTES.QUOTE) {
          sc.scanString();
          for (let d = 0; d < DTYPE_NAMES.length && dtype < 0; d++) if (sc.lastStringIs(DTYPE_NAMES[d])) dtype = d;
          if (dtype < 0) badDType = quoteSnippet(sc.lastString(), 20);
        } else {
          sc.skipValue();
          badDType = sc.raw(from, sc.pos);
        }
      } else if (sc.lastStringIs('shape')) dims = numberArray(sc, shapeScratch);
      else if (sc.lastStringIs('data_offsets')) offs = numberArray(sc, offsetScratch);
      else sc.skipValue();
      if (sc.eat(JSON_BYTES.COMMA)) continue;
      sc.expect(JSON_BYTES.RBRACE, "',' or '}'");
      break;
    }
  }
  if (dtype < 0) {
    throw new LensError('dtype', `${entryLabel(sc, s0, s1, plain)} has dtype ${badDType}, which is not read here (F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL) — convert it before saving`);
  }
  if (dims < 0) throw corrupt(`${entryLabel(sc, s0, s1, plain)} has no valid shape`);
  let count = 1;
  for (let d = 0; d < dims; d++) {
    if (!isDim(shapeScratch[d])) throw corrupt(`${entryLabel(sc, s0, s1, plain)} has no valid shape`);
    count *= shapeScratch[d];
  }
  if (offs !== 2 || !isDim(offsetScratch[0]) || !isDim(offsetScratch[1])) throw corrupt(`${entryLabel(sc, s0, s1, plain)} has no valid data_offsets`);
  const [b, e] = offsetScratch;
  const stName = DTYPE_NAMES[dtype];
  const size = count * DTYPES[stName].size;
  if (b > e || e > h.dataLen) throw corrupt(`${entryLabel(sc, s0, s1, plain)} has data_offsets [${b}, ${e}] outside the ${h.dataLen} data bytes — truncated?`);
  if (e - b !== size) throw corrupt(`${entryLabel(sc, s0, s1, plain)} has ${e - b} data bytes, but shape ${fmtShape(shapeScratch.slice(0, dims))} ${stName} needs ${size}`);
  h.add(s0, s1, plain, dtype, shapeScratch, dims, b, e);
}

/**
 * Reads and checks the header: `bytes` needs to hold at least the first 8 + N bytes (the data only for
 * get()); `fileSize` is the whole file's. Every problem is a one-line LensError.
 */
export function readSafetensorsHeader(bytes: Uint8Array, fileSize = bytes.length): SafetensorsHeader {
  if (bytes.length < 8) throw corrupt(bytes.length === 0 ? 'the file is empty' : 'shorter than its 8-byte header length — truncated?');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > MAX_SAFETENSORS_HEADER) throw corrupt(`the header claims ${n} bytes, more than the ${MAX_SAFETENSORS_HEADER} allowed — not a safetensors file?`);
  if (8 + n > fileSize || 8 + n > bytes.length) throw corrupt(`the header claims ${n} bytes but the file holds ${fileSize - 8} after the length — truncated?`);
  const sc = new JsonBytes(bytes, 8, 8 + n);
  const h = new SafetensorsHeader(sc, 8 + n, fileSize - 8 - n);
  try {
    sc.ws();
    if (sc.peek() !== JSON_BYTES.LBRACE) {
      // Valid JSON of another kind says so; anything else is a syntax error.
      sc.skipValue();
      sc.ws();
      if (!sc.atEnd()) sc.fail('unexpected data after the JSON value');
      throw corrupt('the header is not a JSON object');
    }
    sc.pos++;
    if (!sc.eat(JSON_BYTES.RBRACE)) {
      for (;;) {
        sc.scanString();
        const { s0, s1, plain } = sc;
        sc.expect(JSON_BYTES.COLON, "':'");
        if (sc.textIs(s0, s1, plain, '__metadata__')) sc.skipValue();
        else readEntry(sc, h, s0, s1, plain);
        if (sc.eat(JSON_BYTES.COMMA)) continue;
        sc.expect(JSON_BYTES.RBRACE, "',' or '}'");
        break;
      }
    }
    // The reference writer pads the header with spaces; anything else after the object is not JSON.
    sc.ws();
    if (!sc.atEnd()) sc.fail('unexpected data after the header object');
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw corrupt(`the header is not UTF-8 JSON (${e.message})`);
    throw e;
  }
  h.checkUniqueNames();
  h.checkTiling();
  return h;
}

/** The header's entries as objects, in header order (see readSafetensorsHeader). */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize = bytes.length): SafetensorsInfo[] {
  return readSafetensorsHeader(bytes, fileSize).all();
}

/** Decodes a tensor from `raw`, a copy of its bytes (swapped and normalized in place). */
function decode(info: SafetensorsInfo, raw: Uint8Array): Tensor {
  const n = numel(info.shape);
  if (raw.length !== info.end - info.begin) throw corrupt(`tensor ${nameLabel(info.name)} runs past the end of the file — truncated?`);
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
  return { dtype: info.dtype, shape: [...info.shape], data, ...(info.stDType === 'BF16' ? { storedAs: 'bfloat16' as const } : {}) };
}

/**
 * One tensor of a parsed header, its bytes got by `range` (absolute file offsets; a fresh copy, possibly short
 * when the file is): the whole file in memory, or a ranged read of a checkpoint too large to read whole.
 * Errors are one-line LensErrors, not yet prefixed with the file.
 */
export function safetensorsTensor(header: SafetensorsHeader, name: string, range: (begin: number, end: number) => Uint8Array): Tensor {
  const i = header.indexOf(name);
  if (i < 0) {
    const shown = Math.min(12, header.length);
    const list = Array.from({ length: shown }, (_, k) => `${memberLabel(header.name(k))} ${fmtShape(header.shape(k))} ${header.stDType(k)}`);
    if (header.length > shown) list.push(`… ${header.length - shown} more`);
    throw new LensError('option', `no tensor named ${nameLabel(name)}; tensors: ${list.join(', ') || 'none'}`);
  }
  const info = header.info(i);
  return decode(info, range(info.begin, info.end));
}

/** Lists a .safetensors file's tensors from its header; get() decodes one. Errors are prefixed with `source`. */
export function readSafetensors(bytes: Uint8Array, source?: string): SafetensorsFile {
  const src = (e: unknown): LensError => {
    const le = e instanceof LensError ? e : corrupt(e instanceof Error ? e.message : String(e));
    return source === undefined ? le : le.withSource(source);
  };
  let header: SafetensorsHeader;
  try {
    header = readSafetensorsHeader(bytes);
  } catch (e) {
    throw src(e);
  }
  let all: SafetensorsInfo[] | null = null;
  return {
    header,
    // Made on first use: one tensor of a header of a million is found without a million objects.
    get tensors(): readonly SafetensorsInfo[] {
      all ??= header.all();
      return all;
    },
    get(name: string): Tensor {
      try {
        // Uint8Array's slice: a Node Buffer's own slice() is a view, and the tensor is decoded in place.
        return safetensorsTensor(header, name, (begin, end) => Uint8Array.prototype.slice.call(bytes, begin, end));
      } catch (e) {
        throw src(e);
      }
    },
  };
}

/** The tensor a role uses when no name is given: the only one, else one named like the role (as for .npz). */
export function resolveSafetensorsMember(file: Pick<SafetensorsFile, 'header'>, role: TensorRole, source: string): string {
  const h = file.header;
  if (h.length === 1) return h.name(0);
  if (h.length === 0) throw new LensError('format', `${source}: holds no tensors`);
  const names = ROLE_NAMES[role];
  const hits: number[] = [];
  const others: number[] = [];
  for (let i = 0; i < h.length; i++) {
    if (h.isNamedLower(i, names)) hits.push(i);
    else if (others.length < 24) others.push(i);
  }
  const members: NpzMember[] = [...hits, ...others].slice(0, 24).map((i) => {
    const t = h.info(i);
    return {
      name: t.name,
      size: t.end - t.begin,
      deflated: false,
      header: { version: '1.0', descr: t.stDType, dtype: t.dtype, littleEndian: true, itemSize: DTYPES[t.stDType].size, fortranOrder: false, shape: [...t.shape], dataOffset: t.begin },
    };
  });
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
