// Tensors written as JSON: nested lists (what json.dumps(t.tolist()) writes), optionally inside an object
// that names the roles ({"logits": ..., "labels": ...}), or {dtype, shape, data} records.
// dtype follows torch.tensor: booleans -> bool, integers -> int64, anything with a decimal point, exponent
// or NaN/Infinity -> floating (float64 here, so no digit is lost). JSON.parse cannot tell 1.0 from 1,
// hence the parser below, which also accepts the NaN/Infinity tokens Python's json.dumps writes.

import { base64ToBytes } from '../../base64';
import { LensError, fmtShape, quoteSnippet } from '../../errors';
import { type DType, type Tensor, DTYPES, numel } from '../tensor';
import { decodeNpy, decodeRawData, ITEM_SIZE } from '../binary/npy';
import { ClaimedValues, decimalValue, indexText, storeValues } from '../values';
import { ROLE_NAMES, type TensorRole } from '../binary/npz';

/** Which numbers of a parsed document were written as floats (with '.', an exponent, NaN or Infinity). */
export interface JsonFloatMarks {
  /** Arrays holding at least one float-written number as a direct element. */
  readonly arrays: WeakSet<object>;
  /** Object keys whose value is a float-written number. */
  readonly keys: WeakMap<object, Set<string>>;
  /** The document itself is a float-written number. */
  readonly root: boolean;
}

export interface JsonDocument {
  readonly value: unknown;
  readonly marks: JsonFloatMarks;
}

/**
 * The most dimensions a nested list may have. NumPy allows 64 (32 before 2.0) and PyTorch fewer; the bound
 * keeps every walk over a hostile 100k-level list shallow (the walks recurse once per level).
 */
export const MAX_TENSOR_DIMS = 64;
// Lists and objects open at once in a JSON document: a 64-dimensional list inside a record inside a named
// entry fits, and the recursive parser below stays far from the stack limit.
const MAX_DEPTH = MAX_TENSOR_DIMS + 8;

type JsonObject = Record<string, unknown>;

class JsonParser {
  private pos = 0;
  private readonly arrays = new WeakSet<object>();
  private readonly keys = new WeakMap<object, Set<string>>();
  // Set by number() so containers can record float-written elements without wrapping values.
  private lastFloat = false;

  constructor(private readonly s: string) {}

  parse(): JsonDocument {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.ws();
    const value = this.value(0);
    const root = this.lastFloat && typeof value === 'number';
    this.ws();
    if (this.pos < this.s.length) this.fail('unexpected text after the JSON value');
    return { value, marks: { arrays: this.arrays, keys: this.keys, root } };
  }

  private fail(what: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.s.length; i++) {
      if (this.s.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new LensError('format', `invalid JSON at line ${line}:${at - lineStart + 1}: ${what}`);
  }

  private found(): string {
    if (this.pos >= this.s.length) return 'the end of the text';
    return `'${this.s.slice(this.pos, this.pos + 12).split(/[\r\n]/)[0]}'`;
  }

  private ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private value(depth: number): unknown {
    const c = this.s.charCodeAt(this.pos);
    this.lastFloat = false;
    if (c === 0x5b) return this.array(depth);
    if (c === 0x7b) return this.object(depth);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x4e || c === 0x49) return this.number();
    if (this.s.startsWith('true', this.pos)) {
      this.pos += 4;
      return true;
    }
    if (this.s.startsWith('false', this.pos)) {
      this.pos += 5;
      return false;
    }
    if (this.s.startsWith('null', this.pos)) {
      this.pos += 4;
      return null;
    }
    this.fail(`expected a value, found ${this.found()}`);
  }

  private array(depth: number): unknown[] {
    if (depth >= MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} levels deep (a tensor has at most ${MAX_TENSOR_DIMS} dimensions)`);
    this.pos++;
    const out: unknown[] = [];
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    let anyFloat = false;
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      if (this.lastFloat) anyFloat = true;
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        break;
      }
      this.fail(`expected ',' or ']', found ${this.found()}`);
    }
    if (anyFloat) this.arrays.add(out);
    this.lastFloat = false;
    return out;
  }

  private object(depth: number): JsonObject {
    if (depth >= MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} levels deep (a tensor has at most ${MAX_TENSOR_DIMS} dimensions)`);
    this.pos++;
    // No prototype: a key such as "__proto__" stays an ordinary key.
    const out = Object.create(null) as JsonObject;
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 0x22) this.fail(`expected a key in double quotes, found ${this.found()}`);
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 0x3a) this.fail(`expected ':', found ${this.found()}`);
      this.pos++;
      this.ws();
      const v = this.value(depth + 1);
      out[key] = v;
      if (this.lastFloat && typeof v === 'number') {
        let set = this.keys.get(out);
        if (set === undefined) this.keys.set(out, (set = new Set()));
        set.add(key);
      }
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        break;
      }
      this.fail(`expected ',' or '}', found ${this.found()}`);
    }
    this.lastFloat = false;
    return out;
  }

  private string(): string {
    const start = this.pos;
    let p = start + 1;
    const s = this.s;
    for (;;) {
      if (p >= s.length) this.fail('unterminated string', start);
      const c = s.charCodeAt(p);
      if (c === 0x22) break;
      p += c === 0x5c ? 2 : 1;
    }
    this.pos = p + 1;
    try {
      return JSON.parse(s.slice(start, p + 1)) as string;
    } catch {
      this.fail('invalid string', start);
    }
  }

  private number(): number {
    const s = this.s;
    const start = this.pos;
    let p = start;
    if (s.charCodeAt(p) === 0x2d) p++;
    if (s.startsWith('Infinity', p)) {
      this.pos = p + 8;
      this.lastFloat = true;
      return p > start ? -Infinity : Infinity;
    }
    if (p === start && s.startsWith('NaN', p)) {
      this.pos = p + 3;
      this.lastFloat = true;
      return NaN;
    }
    let c = s.charCodeAt(p);
    const intStart = p;
    while (c >= 0x30 && c <= 0x39) c = s.charCodeAt(++p);
    if (p === intStart) this.fail(`expected a number, found ${this.found()}`);
    let isFloat = false;
    if (c === 0x2e) {
      isFloat = true;
      const f = ++p;
      c = s.charCodeAt(p);
      while (c >= 0x30 && c <= 0x39) c = s.charCodeAt(++p);
      if (p === f) this.fail('expected digits after the decimal point', p);
    }
    if (c === 0x65 || c === 0x45) {
      isFloat = true;
      c = s.charCodeAt(++p);
      if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++p);
      const e = p;
      while (c >= 0x30 && c <= 0x39) c = s.charCodeAt(++p);
      if (p === e) this.fail('expected digits in the exponent', p);
    }
    this.pos = p;
    this.lastFloat = isFloat;
    return decimalValue(s, start, p);
  }
}

/** Parses JSON text, keeping which numbers were written as floats; accepts NaN, Infinity and -Infinity. */
export function parseJsonDocument(text: string): JsonDocument {
  return new JsonParser(text).parse();
}

// ---------------------------------------------------------------------------------------------------------
// Nested lists -> Tensor

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'string') return `the string ${quoteSnippet(v, 20)}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  if (typeof v === 'number') return `the number ${v}`;
  return `an object`;
}

function pathText(base: string, idx: readonly number[]): string {
  return base + idx.map((i) => `[${i}]`).join('');
}

/** A key as messages show it: bare when it is a short identifier, else quoted and cut (keys are untrusted). */
function keyText(key: string): string {
  return /^[A-Za-z_$][\w$]{0,39}$/.test(key) ? key : quoteSnippet(key);
}

function keyList(keys: readonly string[], max: number): string {
  if (keys.length === 0) return '(none)';
  const shown = keys.slice(0, max).map(keyText).join(', ');
  return keys.length > max ? `${shown}, … (${keys.length} keys)` : shown;
}

function keyPath(base: string, key: string): string {
  const k = keyText(key);
  return k === key ? `${base}.${key}` : `${base}[${k}]`;
}

/**
 * A tensor from an already-parsed value: nested lists of numbers or booleans, a bare number (0-d), or a
 * {dtype, shape, data} / {npy} record. `path` names the value in messages ('$' by default). Without
 * `marks` (a value from JSON.parse) integral numbers count as integers, since 1.0 and 1 are the same there.
 */
export function parseJsonTensor(value: unknown, path = '$', marks?: JsonFloatMarks): Tensor {
  if (typeof value === 'number' || typeof value === 'boolean') {
    const isFloat = typeof value === 'number' && (marks !== undefined ? marks.root : !Number.isInteger(value));
    return scalarTensor(value, isFloat);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return recordTensor(value as JsonObject, path, marks);
  if (!Array.isArray(value)) throw new LensError('format', `expected a list of numbers at ${path}, found ${describe(value)}`);
  const { shape, values, kind, isFloat } = nestedValues(value, path, marks);
  if (values.length === 0) return storeValues(values, shape, 'float32');
  const dtype: DType = kind === 'boolean' ? 'bool' : isFloat ? 'float64' : 'int64';
  return storeValues(values, shape, dtype, (i) => (path === '$' ? indexText(i, shape) : `${indexText(i, shape)} of ${path}`));
}

interface NestedValues {
  shape: number[];
  values: Float64Array;
  kind: 'number' | 'boolean' | undefined;
  isFloat: boolean;
}

/** Shape and C-order values of a rectangular nested list; the first irregular element is named by path. */
function nestedValues(value: unknown[], path: string, marks: JsonFloatMarks | undefined): NestedValues {
  const shape: number[] = [];
  for (let cur: unknown = value; Array.isArray(cur); cur = cur[0]) {
    if (shape.length === MAX_TENSOR_DIMS) {
      throw new LensError('shape', `lists at ${path} nest more than ${MAX_TENSOR_DIMS} levels deep: a tensor has at most ${MAX_TENSOR_DIMS} dimensions`);
    }
    shape.push(cur.length);
    if (cur.length === 0) break;
  }
  const values = new ClaimedValues(numel(shape));
  const nd = shape.length;
  const idx: number[] = [];
  let kind: 'number' | 'boolean' | undefined;
  let isFloat = false;
  const firstPath = (depth: number): string => pathText(path, new Array<number>(depth).fill(0));
  const mixed = (i: number, what: string): never => {
    idx.push(i);
    const first = kind === 'boolean' ? 'booleans' : 'numbers';
    throw new LensError('format', `${what} among ${first} at ${pathText(path, idx)}: a tensor holds numbers or booleans, not both`);
  };

  const walk = (a: unknown[], depth: number): void => {
    if (a.length !== shape[depth]) {
      throw new LensError(
        'format',
        `ragged list at ${pathText(path, idx)}: expected ${shape[depth]} elements like ${firstPath(depth)}, found ${a.length}`,
      );
    }
    if (depth === nd - 1) {
      if (marks !== undefined && marks.arrays.has(a)) isFloat = true;
      for (let i = 0; i < a.length; i++) {
        const v = a[i];
        if (typeof v === 'number') {
          if (kind !== 'number') {
            if (kind === 'boolean') mixed(i, 'a number');
            kind = 'number';
          }
          if (marks === undefined && !Number.isInteger(v)) isFloat = true;
          values.push(v);
        } else if (typeof v === 'boolean') {
          if (kind !== 'boolean') {
            if (kind === 'number') mixed(i, 'a boolean');
            kind = 'boolean';
          }
          values.push(v ? 1 : 0);
        } else {
          idx.push(i);
          const where = pathText(path, idx);
          if (Array.isArray(v)) {
            throw new LensError('format', `ragged list at ${where}: expected a number like ${firstPath(depth + 1)}, found ${describe(v)}`);
          }
          throw new LensError('format', `expected a number at ${where}, found ${describe(v)}`);
        }
      }
      return;
    }
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      idx.push(i);
      if (!Array.isArray(v)) {
        throw new LensError(
          'format',
          `ragged list at ${pathText(path, idx)}: expected a list of ${shape[depth + 1]} like ${firstPath(depth + 1)}, found ${describe(v)}`,
        );
      }
      walk(v, depth + 1);
      idx.pop();
    }
  };
  walk(value, 0);
  return { shape, values: values.values, kind, isFloat };
}

function scalarTensor(v: number | boolean, isFloat: boolean): Tensor {
  if (typeof v === 'boolean') return storeValues([v ? 1 : 0], [], 'bool');
  return storeValues([v], [], isFloat ? 'float64' : 'int64');
}

const DTYPE_ALIASES: Record<string, DType> = { bool_: 'bool', half: 'float16', float: 'float32', double: 'float64', long: 'int64', int: 'int32' };

function dtypeFromName(name: unknown, path: string): DType {
  if (typeof name !== 'string') throw new LensError('format', `expected a dtype name at ${path}, found ${describe(name)}`);
  const bare = name.replace(/^(torch|np|numpy)\./, '');
  const d = (DTYPES as readonly string[]).includes(bare) ? (bare as DType) : DTYPE_ALIASES[bare];
  if (d === undefined) throw new LensError('dtype', `unknown dtype ${quoteSnippet(name)} at ${path} (use one of ${DTYPES.join(', ')})`);
  return d;
}

export function base64Bytes(text: string, path: string): Uint8Array {
  // Whitespace and missing padding are allowed, as atob allows them (base64ToBytes keeps atob's rules).
  try {
    return base64ToBytes(/\s/.test(text) ? text.replace(/\s+/g, '') : text);
  } catch {
    throw new LensError('format', `invalid base64 at ${path}`);
  }
}

/** {npy: base64} or {dtype, shape, data} with data a flat (or nested) list or base64 little-endian bytes. */
function recordTensor(o: JsonObject, path: string, marks?: JsonFloatMarks): Tensor {
  if (typeof o.npy === 'string') return decodeNpy(base64Bytes(o.npy, keyPath(path, 'npy')));
  if (!('dtype' in o && 'shape' in o && 'data' in o)) {
    const keys = Object.keys(o);
    throw new LensError(
      'format',
      `expected a list of numbers at ${path}, found an object with keys ${keyList(keys, 8)}` +
        ' (a tensor record needs dtype, shape and data)',
    );
  }
  const dtype = dtypeFromName(o.dtype, keyPath(path, 'dtype'));
  const shapePath = keyPath(path, 'shape');
  if (!Array.isArray(o.shape) || !o.shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new LensError('format', `expected a list of non-negative integers at ${shapePath}, found ${describe(o.shape)}`);
  }
  if (o.shape.length > MAX_TENSOR_DIMS) {
    throw new LensError('shape', `${shapePath} has ${o.shape.length} dimensions: a tensor has at most ${MAX_TENSOR_DIMS}`);
  }
  const shape = o.shape as number[];
  const n = numel(shape);
  if (!Number.isSafeInteger(n)) throw new LensError('format', `shape ${fmtShape(shape)} at ${shapePath} is too large`);
  const dataPath = keyPath(path, 'data');
  if (typeof o.data === 'string') {
    const bytes = base64Bytes(o.data, dataPath);
    const need = n * ITEM_SIZE[dtype];
    if (bytes.length !== need) {
      throw new LensError('format', `${dataPath} holds ${bytes.length} bytes, but shape ${fmtShape(shape)} ${dtype} needs ${need} — wrong shape or dtype?`);
    }
    return decodeRawData(bytes, { dtype, shape, littleEndian: true, fortranOrder: false });
  }
  let flat: Float64Array;
  if (Array.isArray(o.data)) flat = nestedValues(o.data, dataPath, marks).values;
  else if (typeof o.data === 'number' || typeof o.data === 'boolean') flat = Float64Array.of(Number(o.data));
  else throw new LensError('format', `expected a list of numbers or base64 text at ${dataPath}, found ${describe(o.data)}`);
  if (flat.length !== n) {
    throw new LensError('shape', `${dataPath} holds ${flat.length} values, shape ${fmtShape(shape)} needs ${n}`);
  }
  return storeValues(flat, shape, dtype, (i) => `${indexText(i, shape)} of ${dataPath}`);
}

// ---------------------------------------------------------------------------------------------------------
// Files

export interface JsonTensorFile {
  input?: Tensor;
  target?: Tensor;
  weight?: Tensor;
  /** A file holding one tensor (a top-level list, number or tensor record). */
  tensor?: Tensor;
}

const ROLE_WORD: Record<TensorRole, string> = { input: 'an input', target: 'a target', weight: 'a weight' };

/** Reads a .json tensor file: one tensor, or an object naming input/target/weight. Errors name `source`. */
export function parseJsonTensorFile(text: string, source: string): JsonTensorFile {
  try {
    const doc = parseJsonDocument(text);
    const v = doc.value;
    if (Array.isArray(v) || typeof v === 'number' || typeof v === 'boolean') return { tensor: parseJsonTensor(v, '$', doc.marks) };
    if (v === null || typeof v !== 'object') {
      throw new LensError('format', `expected a list of numbers or an object holding input/logits and target/labels, found ${describe(v)}`);
    }
    const o = v as JsonObject;
    if (typeof o.npy === 'string' || ('dtype' in o && 'shape' in o && 'data' in o)) return { tensor: recordTensor(o, '$', doc.marks) };
    const keys = Object.keys(o);
    const out: JsonTensorFile = {};
    for (const role of ['input', 'target', 'weight'] as const) {
      const hits = keys.filter((k) => ROLE_NAMES[role].includes(k.toLowerCase()));
      if (hits.length > 1) {
        throw new LensError('format', `several keys name ${ROLE_WORD[role]} (${keyList(hits, 8)}); keep one`);
      }
      if (hits.length === 1) {
        const key = hits[0];
        const value = o[key];
        const p = keyPath('$', key);
        out[role] =
          typeof value === 'number' && doc.marks.keys.get(o)?.has(key) === true
            ? scalarTensor(value, true)
            : parseJsonTensor(value, p, doc.marks);
      }
    }
    if (out.input === undefined && out.target === undefined && out.weight === undefined) {
      throw new LensError(
        'format',
        `expected an object holding input (or logits) and target (or labels), optionally weight; found keys: ${keyList(keys, 12)}`,
      );
    }
    return out;
  } catch (e) {
    if (e instanceof LensError) throw e.withSource(source);
    throw new LensError('format', `${source}: cannot read JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}
