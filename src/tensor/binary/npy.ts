// The .npy format (numpy/lib/format.py): magic, version, a Python dict literal padded to 64 bytes, then raw
// data. Reading turns any byte order and Fortran order into the shared C-order, native-endian Tensor once.
// Every failure, on any bytes, is a LensError: callers show the message as is.

import { LensError, fmtShape, quoteSnippet, unravelIndex } from '../../errors';
import { type DType, type Tensor, type TensorData, numel } from '../tensor';

/** Most dimensions a .npy header may declare (NumPy 2's NPY_MAXDIMS). */
export const MAX_NPY_DIMS = 64;
import { floatToHalf, halvesToFloat32 } from '../float16';
import { bytesLike, VIEW_CONSTRUCTORS, viewableInPlace } from './inPlace';

export interface NpyHeader {
  version: '1.0' | '2.0' | '3.0';
  /** The descr as written, e.g. '<f4'; a structured dtype's list is shown as its Python text. */
  descr: string;
  dtype: DType;
  littleEndian: boolean;
  itemSize: number;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first data byte from the start of the file. */
  dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------------------
// A tiny reader for the Python literals np.save writes (and that hand-written or Python 2 files contain).

// Integers are numbers; any other numeric literal (2.0, 1e3, 3j) keeps its text, so that a shape such as
// (2.0, 3.0), which NumPy refuses, is not mistaken for (2, 3).
type PyValue = string | number | boolean | null | PyOtherNumber | PySeq | PyDict;
interface PyOtherNumber {
  readonly kind: 'float';
  readonly text: string;
}
interface PySeq {
  readonly kind: 'tuple' | 'list';
  readonly items: PyValue[];
}
interface PyDict {
  readonly kind: 'dict';
  readonly entries: Map<string, PyValue>;
}

// Headers are short; a cap on nesting keeps a hostile header from exhausting the stack.
const MAX_LITERAL_DEPTH = 32;

// Python 3 numeric literals: integers (a decimal other than zero cannot start with 0), then floats and
// imaginary numbers; group 2 is Python 2's long suffix (3L).
const INT_LITERAL = /^(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)(L?)(?![\w.])/;
const OTHER_NUMBER = /^((?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][-+]?\d(?:_?\d)*)?[jJ]?)(L?)(?![\w.])/;

class PyLiteralReader {
  private pos = 0;
  /**
   * `python2Longs`: accept the L suffix of Python 2 integers (3L), which NumPy strips from version 1.0 and 2.0
   * headers only (numpy/lib/format.py `_filter_header`).
   */
  constructor(
    private readonly s: string,
    private readonly python2Longs: boolean,
  ) {}

  parseAll(): PyValue {
    const v = this.value(0);
    this.ws();
    if (this.pos < this.s.length) this.fail('unexpected text after the dict');
    return v;
  }

  private fail(what: string): never {
    throw new LensError('format', `.npy header is not a valid Python dict (${what} at offset ${this.pos})`);
  }

  private ws(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) this.pos++;
      else break;
    }
  }

  private value(depth: number): PyValue {
    if (depth > MAX_LITERAL_DEPTH) this.fail('nesting too deep');
    this.ws();
    const c = this.s[this.pos];
    if (c === undefined) this.fail('unexpected end');
    if (c === '{') return this.dict(depth);
    if (c === '(' || c === '[') return this.seq(depth);
    if (c === "'" || c === '"') return this.str();
    if (c === '-' || c === '+' || (c >= '0' && c <= '9') || c === '.') return this.num();
    const word = /^[A-Za-z_]\w*/.exec(this.s.slice(this.pos, this.pos + 16));
    if (word !== null) {
      this.pos += word[0].length;
      if (word[0] === 'True') return true;
      if (word[0] === 'False') return false;
      if (word[0] === 'None') return null;
      this.pos -= word[0].length;
      this.fail(`unknown name '${word[0]}'`);
    }
    this.fail(`unexpected '${c}'`);
  }

  private dict(depth: number): PyDict {
    this.pos++; // {
    const entries = new Map<string, PyValue>();
    for (;;) {
      this.ws();
      if (this.s[this.pos] === '}') {
        this.pos++;
        return { kind: 'dict', entries };
      }
      const key = this.value(depth + 1);
      if (typeof key !== 'string') this.fail('a key that is not a string');
      this.ws();
      if (this.s[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      entries.set(key, this.value(depth + 1));
      this.ws();
      if (this.s[this.pos] === ',') this.pos++;
      else if (this.s[this.pos] !== '}') this.fail("expected ',' or '}'");
    }
  }

  private seq(depth: number): PyValue {
    const open = this.s[this.pos];
    const close = open === '(' ? ')' : ']';
    this.pos++;
    const items: PyValue[] = [];
    let sawComma = false;
    for (;;) {
      this.ws();
      if (this.s[this.pos] === close) {
        this.pos++;
        // (x) is a parenthesized value in Python, not a tuple.
        if (open === '(' && items.length === 1 && !sawComma) return items[0];
        return { kind: open === '(' ? 'tuple' : 'list', items };
      }
      items.push(this.value(depth + 1));
      this.ws();
      if (this.s[this.pos] === ',') {
        this.pos++;
        sawComma = true;
      } else if (this.s[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private str(): string {
    const q = this.s[this.pos++];
    let out = '';
    for (;;) {
      const c = this.s[this.pos++];
      if (c === undefined || c === '\n') this.fail('unterminated string');
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.pos++];
      if (e === undefined) this.fail('unterminated string');
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u') {
        const len = e === 'x' ? 2 : 4;
        const hex = this.s.slice(this.pos, this.pos + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail('bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += len;
      } else out += '\\' + e;
    }
  }

  private num(): number | PyOtherNumber {
    const sign = this.s[this.pos] === '-' || this.s[this.pos] === '+' ? this.s[this.pos] : '';
    const rest = this.s.slice(this.pos + sign.length, this.pos + sign.length + 400);
    const int = INT_LITERAL.exec(rest);
    // What matches neither is a decimal with a leading zero (02), which Python 3 refuses.
    const other = int === null ? OTHER_NUMBER.exec(rest) : null;
    const m = int ?? (other !== null && /[.eEjJ]/.test(other[1]) ? other : null);
    if (m === null) this.fail('bad number');
    // Python 2 wrote shapes like (3L, 4L); NumPy still reads them, from version 1.0 and 2.0 headers only.
    if (m[2] === 'L' && !this.python2Longs) this.fail("a Python 2 'L' suffix, which NumPy reads only in version 1.0 and 2.0 headers");
    this.pos += sign.length + m[0].length;
    if (int === null) return { kind: 'float', text: sign + m[1] };
    const v = Number(m[1].replace(/_/g, ''));
    return sign === '-' && v !== 0 ? -v : v;
  }
}

function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') return String(v);
  if (v !== null && typeof v === 'object' && v.kind === 'float') return v.text;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null) return 'None';
  if (v.kind === 'dict') return `{${[...v.entries].map(([k, x]) => `'${k}': ${pyRepr(x)}`).join(', ')}}`;
  const inner = v.items.map(pyRepr).join(', ');
  if (v.kind === 'list') return `[${inner}]`;
  return v.items.length === 1 ? `(${inner},)` : `(${inner})`;
}

// ---------------------------------------------------------------------------------------------------------
// descr -> dtype

interface Descr {
  dtype: DType;
  littleEndian: boolean;
  itemSize: number;
}

function unsupported(name: string, fix: string): never {
  throw new LensError('dtype', `dtype ${name} is not supported — ${fix}`);
}

const FLOAT_FIX = 'convert with arr.astype(np.float32) before saving';

function parseDescr(descr: PyValue): Descr {
  if (typeof descr !== 'string') {
    if (descr !== null && typeof descr === 'object' && descr.kind === 'list') {
      const names = descr.items
        .map((f) => (typeof f === 'object' && f !== null && f.kind === 'tuple' && typeof f.items[0] === 'string' ? f.items[0] : '?'))
        .slice(0, 5)
        .map((n) => quoteSnippet(n));
      const first = names[0] ?? '"field"';
      unsupported(
        `structured (fields ${names.join(', ')})`,
        `save one field as its own array: np.save(path, arr[${first}])`,
      );
    }
    throw new LensError('format', `.npy header has a descr that is not a dtype string: ${quoteSnippet(pyRepr(descr))}`);
  }
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)(\[\w+\])?$/.exec(descr);
  const quoted = quoteSnippet(descr);
  if (m === null) throw new LensError('dtype', `unknown dtype ${quoted} in .npy header — ${FLOAT_FIX}`);
  const [, order, kind, sizeText, unit] = m;
  const size = sizeText === '' ? 0 : Number(sizeText);
  const littleEndian = order !== '>';
  const ok = (dtype: DType, itemSize: number): Descr => ({ dtype, littleEndian, itemSize });
  if (unit === undefined) {
    // NumPy spells bool 'b1' or '?' ('?1' is not a dtype: np.dtype('?1') raises).
    if ((kind === 'b' && size === 1) || (kind === '?' && sizeText === '')) return ok('bool', 1);
    if (kind === 'i' || kind === 'u') {
      const bits = size * 8;
      if (bits === 8 || bits === 16 || bits === 32 || bits === 64) return ok(`${kind === 'i' ? 'int' : 'uint'}${bits}` as DType, size);
    }
    if (kind === 'f') {
      if (size === 2) return ok('float16', 2);
      if (size === 4) return ok('float32', 4);
      if (size === 8) return ok('float64', 8);
      if (size === 12 || size === 16) unsupported(`float${size * 8} (longdouble, ${quoted})`, 'convert with arr.astype(np.float64) before saving');
    }
    if (kind === 'c' && (size === 8 || size === 16 || size === 32)) {
      unsupported(`complex${size * 8} (${quoted})`, 'save the real part or the magnitude: arr.real.astype(np.float32) or np.abs(arr).astype(np.float32)');
    }
    if (kind === 'O') unsupported(`object (${quoted})`, FLOAT_FIX);
    if (kind === 'U') unsupported(`str (${quoted})`, 'convert strings to numbers first: arr.astype(np.float32), or class names to indices as np.int64');
    if (kind === 'S' || kind === 'a') unsupported(`bytes (${quoted})`, 'convert to numbers first: arr.astype(np.float32), or labels to class indices as np.int64');
    if (kind === 'V') unsupported(`void (${quoted}, raw bytes)`, 'save a numeric array, e.g. arr.view(np.float32) if the bytes are floats');
  }
  if (kind === 'M') unsupported(`datetime64 (${quoted})`, 'convert with arr.astype(np.int64) before saving');
  if (kind === 'm') unsupported(`timedelta64 (${quoted})`, 'convert with arr.astype(np.int64) before saving');
  throw new LensError('dtype', `unknown dtype ${quoted} in .npy header — ${FLOAT_FIX}`);
}

// ---------------------------------------------------------------------------------------------------------
// Header

function truncatedHeader(need: number, have: number): LensError {
  return new LensError('format', `truncated .npy header: the header needs ${need} bytes, only ${have} are there`);
}

function hasMagicPrefix(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

/**
 * NumPy's np.load refuses a header longer than this many characters unless allow_pickle=True
 * (numpy/lib/format.py `_MAX_HEADER_SIZE`); np.save never writes one for an array this extension reads.
 */
export const MAX_NPY_HEADER_CHARS = 10000;

function headerTooLong(length: string): LensError {
  return new LensError(
    'format',
    `.npy header is ${length}, over the ${MAX_NPY_HEADER_CHARS} characters np.load accepts (max_header_size) — corrupt file? re-save the array with np.save`,
  );
}

/**
 * Where the data starts, or undefined when `bytes` end before the header length is known. Refuses a header
 * length np.load would refuse, so a caller inflating a member to find the header's end stops early.
 */
export function npyHeaderEnd(bytes: Uint8Array): number | undefined {
  if (!hasMagicPrefix(bytes)) throw new LensError('format', 'not a .npy file (missing \\x93NUMPY magic)');
  if (bytes.length < 8) return undefined;
  const major = bytes[6];
  const minor = bytes[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new LensError('format', `unsupported .npy format version ${major}.${minor} (NumPy writes 1.0, 2.0 or 3.0)`);
  }
  const pre = major === 1 ? 10 : 12;
  if (bytes.length < pre) return undefined;
  const len = major === 1 ? bytes[8] | (bytes[9] << 8) : (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 2 ** 24;
  // UTF-8 (version 3.0) spends at most 4 bytes per character; the exact count is checked once decoded.
  if (len > MAX_NPY_HEADER_CHARS * (major === 3 ? 4 : 1)) throw headerTooLong(`${len} bytes`);
  return pre + len;
}

/** Reads the header only; the first few KB of a file are enough. */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const end = npyHeaderEnd(bytes);
  if (end === undefined) {
    const need = bytes.length >= 7 && bytes[6] !== 1 ? 12 : 10;
    throw truncatedHeader(need, bytes.length);
  }
  if (bytes.length < end) throw truncatedHeader(end, bytes.length);
  const major = bytes[6];
  const version = `${major}.0` as NpyHeader['version'];
  const pre = major === 1 ? 10 : 12;
  const raw = bytes.subarray(pre, end);
  // Versions 1 and 2 are latin1 by definition; 3.0 exists only to allow utf8 (field names), and NumPy
  // refuses bytes that are not UTF-8 rather than replacing them.
  let text: string;
  try {
    text = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : latin1(raw);
  } catch {
    throw new LensError('format', '.npy header (format version 3.0) is not valid UTF-8 — corrupt file?');
  }
  if (text.length > MAX_NPY_HEADER_CHARS) {
    const chars = [...text].length;
    if (chars > MAX_NPY_HEADER_CHARS) throw headerTooLong(`${chars} characters`);
  }

  const dict = new PyLiteralReader(text, major !== 3).parseAll();
  if (dict === null || typeof dict !== 'object' || dict.kind !== 'dict') {
    throw new LensError('format', '.npy header is not a Python dict');
  }
  // NumPy wants exactly these keys: a missing one, or one it does not know, means the file is not what it seems.
  const keys = [...dict.entries.keys()];
  const listKeys = (ks: readonly string[]): string => ks.slice(0, 5).map((k) => quoteSnippet(k)).join(', ') + (ks.length > 5 ? ', …' : '');
  const get = (key: string): PyValue => {
    const v = dict.entries.get(key);
    if (v === undefined) throw new LensError('format', `.npy header lacks '${key}' (found ${listKeys(keys) || 'no keys'})`);
    return v;
  };
  const descrValue = get('descr');
  const fortran = get('fortran_order');
  const shapeValue = get('shape');
  const extra = keys.filter((k) => k !== 'descr' && k !== 'fortran_order' && k !== 'shape');
  if (extra.length > 0) {
    throw new LensError('format', `.npy header has keys NumPy does not read (${listKeys(extra)}); it holds exactly descr, fortran_order and shape`);
  }
  if (typeof fortran !== 'boolean') {
    throw new LensError('format', `.npy header has fortran_order ${quoteSnippet(pyRepr(fortran))}, expected True or False`);
  }
  const badShape = (why: string): LensError => new LensError('format', `.npy header has shape ${quoteSnippet(pyRepr(shapeValue))}: ${why}`);
  if (shapeValue === null || typeof shapeValue !== 'object' || shapeValue.kind !== 'tuple') {
    throw badShape('expected a tuple of integers, as np.load requires');
  }
  // NumPy 2 holds at most 64 dimensions (NPY_MAXDIMS); a longer tuple is no array it wrote.
  if (shapeValue.items.length > MAX_NPY_DIMS) throw badShape(`${shapeValue.items.length} dimensions, more than the ${MAX_NPY_DIMS} NumPy allows`);
  const shape: number[] = [];
  for (const d of shapeValue.items) {
    // np.load refuses a float dimension such as 2.0 ("shape is not valid") as it refuses a negative one.
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw badShape('dimensions must be non-negative integers');
    shape.push(d);
  }
  const descr = parseDescr(descrValue);
  return {
    version,
    descr: typeof descrValue === 'string' ? descrValue : pyRepr(descrValue),
    dtype: descr.dtype,
    littleEndian: descr.littleEndian,
    itemSize: descr.itemSize,
    fortranOrder: fortran,
    shape,
    dataOffset: end,
  };
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Data

type TypedCtor<T extends TensorData> = new (n: number) => T;

/** Reorders Fortran-order elements into C order. */
function fortranToC<T extends TensorData>(src: T, shape: readonly number[]): T {
  const n = src.length;
  const out = new (src.constructor as TypedCtor<T>)(n);
  forEachCOrder(shape, (c, f) => {
    out[c] = src[f];
    return false;
  });
  return out;
}

/**
 * Visits elements in C order with their offset in Fortran order; stops when `visit` returns true.
 * The odometer keeps this O(1) per element and free of allocations.
 */
function forEachCOrder(shape: readonly number[], visit: (cIndex: number, fIndex: number) => boolean): number {
  const nd = shape.length;
  const n = numel(shape);
  const fStride = new Array<number>(nd);
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fStride[d] = s;
    s *= shape[d];
  }
  const idx = new Array<number>(nd).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    if (visit(c, f)) return c;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      f += fStride[d];
      if (idx[d] < shape[d]) break;
      f -= fStride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return -1;
}

function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i + size <= b.length; i += size) {
    for (let j = 0, k = size - 1; j < k; j++, k--) {
      const t = b[i + j];
      b[i + j] = b[i + k];
      b[i + k] = t;
    }
  }
}

/** Decodes a whole .npy file into a C-order tensor. */
export function decodeNpy(bytes: Uint8Array): Tensor {
  const h = parseNpyHeader(bytes);
  return decodeRawData(bytes.subarray(h.dataOffset), h);
}

/**
 * Decodes raw array bytes (what follows a .npy header; trailing bytes are ignored, as NumPy does) into a
 * C-order tensor. Also used for base64 payloads that carry dtype and shape beside the bytes.
 */
export function decodeRawData(
  bytes: Uint8Array,
  h: Pick<NpyHeader, 'dtype' | 'shape' | 'littleEndian' | 'fortranOrder'>,
): Tensor {
  const { dtype } = h;
  const shape = [...h.shape];
  const itemSize = ITEM_SIZE[dtype];
  const n = numel(shape);
  const need = n * itemSize;
  if (!Number.isSafeInteger(need)) {
    throw new LensError('format', `shape ${fmtShape(shape)} ${dtype} is larger than any file — corrupt header?`);
  }
  const have = bytes.length;
  if (have < need) {
    throw new LensError('format', `file holds ${have} of ${need} data bytes for shape ${fmtShape(shape)} ${dtype} — truncated?`);
  }
  const direct = VIEW_CONSTRUCTORS[dtype];
  if (direct !== undefined && (itemSize === 1 || h.littleEndian === PLATFORM_LITTLE_ENDIAN) && !(h.fortranOrder && shape.length > 1) && n > 0 && viewableInPlace(bytes, 0, need, itemSize)) {
    return { dtype, shape, data: new direct(bytes.buffer, bytes.byteOffset, n) };
  }
  // A fresh, aligned copy, which typed-array views need. Not bytes.slice(): on a Node Buffer slice() is a view
  // into the shared pool (at any offset), and views over raw.buffer would then read other bytes. Bytes read
  // into shared memory (a worker's load-tensor: an .npz member) are copied into shared memory, which share()
  // then passes on without another copy.
  const raw = bytesLike(bytes, need);
  raw.set(bytes.subarray(0, need));
  if (itemSize > 1 && h.littleEndian !== PLATFORM_LITTLE_ENDIAN) swapBytes(raw, itemSize);
  const buf = raw.buffer;

  let data: TensorData;
  switch (dtype) {
    case 'bool': {
      // NumPy treats any non-zero byte as True; the kernel wants 0/1.
      for (let i = 0; i < raw.length; i++) if (raw[i] > 1) raw[i] = 1;
      data = raw;
      break;
    }
    case 'int8': data = new Int8Array(buf); break;
    case 'uint8': data = raw; break;
    case 'int16': data = new Int16Array(buf); break;
    case 'uint16': data = new Uint16Array(buf); break;
    case 'int32': data = new Int32Array(buf); break;
    case 'uint32': data = new Uint32Array(buf); break;
    case 'float32': data = new Float32Array(buf); break;
    case 'float64': data = new Float64Array(buf); break;
    case 'float16': data = halvesToFloat32(new Uint16Array(buf)); break;
    case 'int64':
    case 'uint64': data = narrow64(new Int32Array(buf), n, dtype, shape, h.fortranOrder); break;
  }
  if (h.fortranOrder && shape.length > 1 && n > 1) data = fortranToC(data, shape);
  return { dtype, shape, data };
}

/** 64-bit integers become Int32Array; the first value that does not fit (in C order) is named. */
function narrow64(words: Int32Array, n: number, dtype: 'int64' | 'uint64', shape: readonly number[], fortran: boolean): Int32Array {
  const lo = PLATFORM_LITTLE_ENDIAN ? 0 : 1;
  const hi = 1 - lo;
  const out = new Int32Array(n);
  const signed = dtype === 'int64';
  let anyBad = false;
  for (let i = 0; i < n; i++) {
    const l = words[2 * i + lo];
    const u = words[2 * i + hi];
    // Fits int32 when the high word is the sign extension of the low one (unsigned: both non-negative).
    if (signed ? u !== l >> 31 : u !== 0 || l < 0) anyBad = true;
    out[i] = l;
  }
  if (!anyBad) return out;
  const bad = (f: number): boolean => {
    const l = words[2 * f + lo];
    const u = words[2 * f + hi];
    return signed ? u !== l >> 31 : u !== 0 || l < 0;
  };
  let fIndex = -1;
  let cIndex = -1;
  if (fortran && shape.length > 1) {
    cIndex = forEachCOrder(shape, (_c, f) => {
      fIndex = f;
      return bad(f);
    });
  } else {
    for (let i = 0; i < n && cIndex < 0; i++) if (bad(i)) cIndex = fIndex = i;
  }
  const l = BigInt(words[2 * fIndex + lo] >>> 0);
  const u = signed ? BigInt(words[2 * fIndex + hi]) : BigInt(words[2 * fIndex + hi] >>> 0);
  const value = (u << 32n) | l;
  throw new LensError(
    'dtype',
    `${dtype} value ${value} at index ${fmtShape(unravelIndex(cIndex, shape))} does not fit the kernel's 32-bit integer type`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

export interface EncodeNpyOptions {
  fortranOrder?: boolean;
  bigEndian?: boolean;
  /** Default: 1.0, or 2.0 when the header would not fit 1.0's 64 KiB. */
  version?: '1.0' | '2.0' | '3.0';
}

export const ITEM_SIZE: Readonly<Record<DType, number>> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float16: 2, float32: 4, float64: 8,
};

const DESCR_CODE: Record<DType, string> = {
  bool: 'b1', int8: 'i1', uint8: 'u1', int16: 'i2', uint16: 'u2', int32: 'i4', uint32: 'u4', int64: 'i8', uint64: 'u8',
  float16: 'f2', float32: 'f4', float64: 'f8',
};

// [smallest, one past the largest]: exact bounds even where the largest is not a double (2^63 - 1).
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 128], uint8: [0, 256], int16: [-32768, 32768], uint16: [0, 65536],
  int32: [-(2 ** 31), 2 ** 31], uint32: [0, 2 ** 32], int64: [-(2 ** 63), 2 ** 63], uint64: [0, 2 ** 64],
};

/**
 * The header bytes of a .npy file (magic through the padded dict), byte-identical to np.save's, so a
 * writer can stream the data after it.
 */
export function encodeNpyHeader(dtype: DType, shape: readonly number[], opts: EncodeNpyOptions = {}): Uint8Array {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new LensError('shape', `cannot write shape ${fmtShape(shape)}: dimensions must be non-negative integers`);
  }
  const fortran = opts.fortranOrder === true;
  const size = ITEM_SIZE[dtype];
  const order = size === 1 ? '|' : opts.bigEndian === true ? '>' : '<';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${order}${DESCR_CODE[dtype]}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  // NumPy leaves room for the growing axis to gain digits so headers can be rewritten in place; copy it so
  // our files are byte-identical to np.save's.
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, 21 - String(shape[fortran ? shape.length - 1 : 0]).length));
  const headerBytes = new TextEncoder().encode(dict);
  const fits1 = (headerBytes.length + 1 + 10 + 64) <= 65535;
  const version = opts.version ?? (fits1 ? '1.0' : '2.0');
  if (version === '1.0' && !fits1) throw new LensError('shape', 'header too long for .npy version 1.0; use version 2.0');
  const pre = version === '1.0' ? 10 : 12;
  const hlen = headerBytes.length + 1;
  const total = hlen + 64 - ((pre + hlen) % 64);
  const out = new Uint8Array(pre + total);
  out.set(MAGIC, 0);
  out[6] = Number(version[0]);
  const dv = new DataView(out.buffer);
  if (pre === 10) dv.setUint16(8, total, true);
  else dv.setUint32(8, total, true);
  out.set(headerBytes, pre);
  out.fill(0x20, pre + headerBytes.length, pre + total - 1);
  out[pre + total - 1] = 0x0a;
  return out;
}

/** Writes a .npy file NumPy reads back; data is C order whatever `fortranOrder` says about the file. */
export function encodeNpy(
  t: { dtype: DType; shape: readonly number[]; data: ArrayLike<number> },
  opts: EncodeNpyOptions = {},
): Uint8Array {
  const { dtype, shape } = t;
  const header = encodeNpyHeader(dtype, shape, opts);
  const n = numel(shape);
  if (t.data.length !== n) {
    throw new LensError('shape', `cannot write ${t.data.length} values as shape ${fmtShape(shape)} (${n} elements)`);
  }
  const fortran = opts.fortranOrder === true;
  const big = opts.bigEndian === true;
  const size = ITEM_SIZE[dtype];
  const out = new Uint8Array(header.length + n * size);
  out.set(header, 0);
  const dv = new DataView(out.buffer);
  const off = header.length;
  const le = !big;
  // In a Fortran-order file the first axis varies fastest: file position k holds C-order element src[k].
  let src: ArrayLike<number> | undefined;
  if (fortran && shape.length > 1 && n > 1) {
    const s = n < 2 ** 31 ? new Int32Array(n) : new Float64Array(n);
    forEachCOrder(shape, (c, f) => {
      s[f] = c;
      return false;
    });
    src = s;
  }
  const range = INT_RANGE[dtype];
  for (let k = 0; k < n; k++) {
    const i = src === undefined ? k : src[k];
    const v = t.data[i];
    const p = off + k * size;
    if (range !== undefined && !(Number.isInteger(v) && v >= range[0] && v < range[1])) {
      throw new LensError('value', `cannot write ${v} at index ${fmtShape(unravelIndex(i, shape))} as ${dtype}`);
    }
    switch (dtype) {
      case 'bool': out[p] = v ? 1 : 0; break;
      case 'int8': dv.setInt8(p, v); break;
      case 'uint8': dv.setUint8(p, v); break;
      case 'int16': dv.setInt16(p, v, le); break;
      case 'uint16': dv.setUint16(p, v, le); break;
      case 'int32': dv.setInt32(p, v, le); break;
      case 'uint32': dv.setUint32(p, v, le); break;
      case 'int64': dv.setBigInt64(p, BigInt(v), le); break;
      case 'uint64': dv.setBigUint64(p, BigInt(v), le); break;
      case 'float16': dv.setUint16(p, floatToHalf(v), le); break;
      case 'float32': dv.setFloat32(p, v, le); break;
      case 'float64': dv.setFloat64(p, v, le); break;
    }
  }
  return out;
}
