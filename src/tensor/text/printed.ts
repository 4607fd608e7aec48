// Tensors as people copy them from a console or write them in code: PyTorch reprs (tensor([...], dtype=...,
// grad_fn=<...>)), NumPy reprs (array([...], dtype=float32)), NumPy print() output without commas, plain
// bracket lists, and the same inside Python source (torch.tensor([...]), np.array([...])).
// dtype follows what Python would build from the text: torch.tensor gives float32 for floats, NumPy and
// plain lists give float64; integers are int64 unless a dtype says otherwise.

import { LensError, fmtShape, quoteSnippet } from '../../errors';
import { type DType, type Tensor, numel } from '../tensor';
import { MAX_TENSOR_DIMS } from './json';
import { ClaimedValues, decimalValue, storeValues } from '../values';

type Flavor = 'torch' | 'numpy' | 'plain';

export type TensorLiteral =
  | { start: number; end: number; tensor: Tensor }
  | { start: number; end: number; error: LensError };

/** A text that is not a tensor literal at all (as opposed to one that is, but cannot be used). */
class NotALiteral extends LensError {}
const QUIET_NOT_A_LITERAL = new NotALiteral('format', 'not a tensor literal');

const MAX_DEPTH = MAX_TENSOR_DIMS;

const SUMMARIZED_FIX =
  "print with torch.set_printoptions(profile='full') or np.set_printoptions(threshold=sys.maxsize)";

/**
 * Line numbers and bracket matches of a text, computed once on demand: a text may hold thousands of
 * failed candidates, and rescanning it for each would be quadratic.
 */
class TextIndex {
  private lineStarts: number[] | undefined;
  private closers: Int32Array | undefined;
  constructor(readonly text: string) {}

  line(pos: number): number {
    if (this.lineStarts === undefined) {
      const starts = [0];
      for (let i = this.text.indexOf('\n'); i >= 0; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.lineStarts = starts;
    }
    const st = this.lineStarts;
    let lo = 0;
    let hi = st.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (st[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  /** Where the line holding `pos` starts (by the line table: no scan back through a long line). */
  lineStart(pos: number): number {
    const line = this.line(pos); // builds the table first
    return (this.lineStarts as number[])[line - 1];
  }

  lineCol(pos: number): string {
    const line = this.line(pos);
    return `line ${line}, column ${pos - (this.lineStarts as number[])[line - 1] + 1}`;
  }

  /** One past the bracket that closes the '(' or '[' at `open`, or -1. */
  closingEnd(open: number): number {
    if (this.closers === undefined) {
      const t = this.text;
      const closers = new Int32Array(t.length).fill(-1);
      const stack: number[] = [];
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c === 0x28 || c === 0x5b) stack.push(i);
        else if ((c === 0x29 || c === 0x5d) && stack.length > 0) closers[stack.pop() as number] = i + 1;
      }
      this.closers = closers;
    }
    return this.closers[open];
  }
}

const SPECIAL = /([+-]?)(nan|inf(?:inity)?)(?![\w.])/iy;
const BOOL = /(True|False|true|false)(?![\w.])/y;
/** Letters, digits, '_' and '.': what may not touch a number token. */
function isIdentChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f || c === 0x2e;
}

type Nested = number | Nested[];

class LiteralParser {
  pos: number;
  kind: 'number' | 'boolean' | undefined;
  sawFloat = false;
  // A plain Map dies with the parser; a WeakMap's entries cost far more to collect.
  private readonly starts = new Map<Nested[], number>();
  /** Set while scanning for literals: a failed bare '[' needs no message, and building one per failure adds up. */
  quiet = false;
  /** The literal starts on a Python prompt's line (>>> ): a line that starts with '... ' continues it. */
  repl = false;

  private readonly text: string;

  constructor(
    readonly ix: TextIndex,
    start: number,
  ) {
    this.text = ix.text;
    this.pos = start;
  }

  syntax(what: string, at = this.pos): never {
    if (this.quiet) throw QUIET_NOT_A_LITERAL;
    const found = at >= this.text.length ? 'the end of the text' : `'${this.text.slice(at, at + 10).split(/[\r\n]/)[0]}'`;
    throw new NotALiteral('format', `cannot read the printed tensor at ${this.ix.lineCol(at)}: ${what}, found ${found}`);
  }

  /** Skips spaces, newlines and Python comments; says whether it skipped anything. */
  ws(): boolean {
    const t = this.text;
    const from = this.pos;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      // The REPL's continuation prompt, not a summarized print's '...' (those are indented).
      if (c === 0x0a && this.repl && t.startsWith('...', p + 1) && (t.charCodeAt(p + 4) === 0x20 || t.charCodeAt(p + 4) === 0x0a || p + 4 >= t.length)) p += 4;
      // Unicode spaces too: a print copied from a web page or a rendered notebook has no-break spaces.
      else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || (c > 0x7f && isBlank(c))) p++;
      else if (c === 0x23) {
        while (p < t.length && t.charCodeAt(p) !== 0x0a) p++;
      } else break;
    }
    this.pos = p;
    return p > from;
  }

  leaf(): number {
    const t = this.text;
    const at = this.pos;
    if (t.startsWith('...', at) || t.startsWith('…', at)) {
      throw new LensError('format', `summarized print, values missing: ... at line ${this.ix.line(at)} — ${SUMMARIZED_FIX}`);
    }
    let value: number;
    let isBool = false;
    // Digits are scanned by hand: this runs once per element of prints with millions of them.
    let p = at;
    let c = t.charCodeAt(p);
    if (c === 0x2b || c === 0x2d) c = t.charCodeAt(++p);
    const intStart = p;
    while (c >= 0x30 && c <= 0x39) c = t.charCodeAt(++p);
    let digits = p - intStart;
    let isFloat = false;
    if (c === 0x2e) {
      isFloat = true;
      const f = ++p;
      c = t.charCodeAt(p);
      while (c >= 0x30 && c <= 0x39) c = t.charCodeAt(++p);
      digits += p - f;
    }
    if (digits > 0) {
      if (c === 0x65 || c === 0x45) {
        let q = p + 1;
        let d = t.charCodeAt(q);
        if (d === 0x2b || d === 0x2d) d = t.charCodeAt(++q);
        if (d >= 0x30 && d <= 0x39) {
          while (d >= 0x30 && d <= 0x39) d = t.charCodeAt(++q);
          p = q;
          isFloat = true;
        }
      }
      const nc = t.charCodeAt(p);
      if (nc === 0x6a || nc === 0x4a || ((nc === 0x2b || nc === 0x2d) && /^[+-][\d.]+(?:e[+-]?\d+)?[jJ]/.test(t.slice(p, p + 40)))) {
        throw new LensError('dtype', `complex values are not supported (line ${this.ix.line(at)}) — use the real part or the magnitude, e.g. x.real or x.abs()`);
      }
      if (isIdentChar(nc)) this.syntax('expected a number');
      if (isFloat) this.sawFloat = true;
      value = decimalValue(t, at, p);
      this.pos = p;
    } else {
      SPECIAL.lastIndex = at;
      BOOL.lastIndex = at;
      let m: RegExpExecArray | null;
      if ((m = SPECIAL.exec(t)) !== null) {
        value = m[2].toLowerCase() === 'nan' ? NaN : m[1] === '-' ? -Infinity : Infinity;
        this.sawFloat = true;
        this.pos = at + m[0].length;
      } else if ((m = BOOL.exec(t)) !== null) {
        value = m[1] === 'True' || m[1] === 'true' ? 1 : 0;
        isBool = true;
        this.pos = at + m[0].length;
      } else if (t[at] === "'" || t[at] === '"') {
        this.syntax('expected a number, not a string');
      } else {
        this.syntax('expected a number');
      }
    }
    const kind = isBool ? 'boolean' : 'number';
    if (this.kind === undefined) this.kind = kind;
    else if (this.kind !== kind) {
      throw new LensError(
        'format',
        `${isBool ? 'a boolean' : 'a number'} among ${this.kind === 'boolean' ? 'booleans' : 'numbers'} at ${this.ix.lineCol(at)}: a tensor holds numbers or booleans, not both`,
      );
    }
    return value;
  }

  /** A '[...]' list whose elements are separated by commas, whitespace or both. */
  list(depth: number): Nested[] {
    // depth counts from 0: the 65th level of '[' is refused, as JSON refuses it.
    if (depth >= MAX_DEPTH) this.syntax('lists nested too deeply');
    const t = this.text;
    const out: Nested[] = [];
    this.starts.set(out, this.pos);
    this.pos++; // [
    this.ws();
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x5d) {
        this.pos++;
        return out;
      }
      out.push(c === 0x5b ? this.list(depth + 1) : this.leaf());
      const spaced = this.ws();
      const d = t.charCodeAt(this.pos);
      if (d === 0x2c) {
        this.pos++;
        this.ws();
        if (t.charCodeAt(this.pos) === 0x2c) this.syntax("expected a value after ','");
      } else if (d !== 0x5d && !spaced) {
        this.syntax("expected ',' or ']'");
      }
    }
  }

  /** Shape of a nested list, checked to be rectangular; values in C order. */
  flatten(root: Nested[]): { shape: number[]; values: Float64Array } {
    const shape: number[] = [];
    for (let cur: Nested = root; Array.isArray(cur); cur = cur[0]) {
      shape.push(cur.length);
      if (cur.length === 0) break;
    }
    const nd = shape.length;
    const values = new ClaimedValues(numel(shape));
    const walk = (a: Nested[], depth: number): void => {
      if (a.length !== shape[depth]) {
        const at = this.starts.get(a) ?? 0;
        throw new LensError(
          'format',
          `ragged list at ${this.ix.lineCol(at)}: expected ${shape[depth]} elements like the first list at depth ${depth}, found ${a.length}`,
        );
      }
      for (const v of a) {
        if (depth === nd - 1) {
          if (Array.isArray(v)) {
            const at = this.starts.get(v) ?? 0;
            throw new LensError('format', `ragged list at ${this.ix.lineCol(at)}: expected a number, found a list`);
          }
          values.push(v);
        } else {
          if (!Array.isArray(v)) {
            const at = this.starts.get(a) ?? 0;
            throw new LensError('format', `ragged list at ${this.ix.lineCol(at)}: expected lists of ${shape[depth + 1]}, found a number`);
          }
          walk(v, depth + 1);
        }
      }
    };
    walk(root, 0);
    return { shape, values: values.values };
  }

  /** A value after '(' or at the start: a nested list or a single leaf (0-d). */
  body(): { shape: number[]; values: Float64Array; empty: boolean } {
    if (this.text.charCodeAt(this.pos) === 0x5b) {
      const root = this.list(0);
      const { shape, values } = this.flatten(root);
      return { shape, values, empty: values.length === 0 };
    }
    return { shape: [], values: Float64Array.of(this.leaf()), empty: false };
  }

  /** Skips one argument expression up to ',' or ')' at depth 0; returns its text. */
  expr(): string {
    const t = this.text;
    const from = this.pos;
    let depth = 0;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === "'" || c === '"') {
        const close = t.indexOf(c, this.pos + 1);
        if (close < 0) this.syntax('unterminated string');
        this.pos = close + 1;
        continue;
      }
      if (depth === 0 && (c === ',' || c === ')')) break;
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') depth--;
      this.pos++;
    }
    if (this.pos >= t.length) this.syntax("expected ')'");
    return t.slice(from, this.pos).trim();
  }
}

// ---------------------------------------------------------------------------------------------------------
// dtype arguments

const TORCH_DTYPES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16', int8: 'int8',
  uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool',
};

const NUMPY_DTYPES: Record<string, DType> = {
  float32: 'float32', single: 'float32', float64: 'float64', double: 'float64', float_: 'float64', float: 'float64',
  float16: 'float16', half: 'float16', int64: 'int64', int_: 'int64', int: 'int64', longlong: 'int64', int32: 'int32',
  intc: 'int32', int16: 'int16', short: 'int16', int8: 'int8', byte: 'int8', uint8: 'uint8', ubyte: 'uint8',
  uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool', bool_: 'bool',
};

const DESCR_DTYPES: Record<string, DType> = {
  b1: 'bool', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64', u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
  f2: 'float16', f4: 'float32', f8: 'float64',
};

function dtypeArg(raw: string): DType {
  const unquoted = raw.replace(/^(['"])(.*)\1$/, '$2');
  const m = /^(?:(torch|np|numpy)\.)?([\w<>|=]+)$/.exec(unquoted);
  if (m !== null) {
    const [, mod, name] = m;
    // torch.float is float32, but a bare float (Python's type), a string or np.float_ means float64, for
    // torch.tensor and np.array alike.
    const d = (mod === 'torch' ? TORCH_DTYPES : NUMPY_DTYPES)[name];
    if (d !== undefined) return d;
    const descr = /^[<>|=]?([biuf]\d)$/.exec(name);
    if (descr !== null && DESCR_DTYPES[descr[1]] !== undefined) return DESCR_DTYPES[descr[1]];
    if (/^(complex|cfloat|cdouble|chalf|c\d)/.test(name) || /^[<>|=]?c\d+$/.test(name)) {
      throw new LensError('dtype', `dtype ${shown(raw)} is not supported — use the real part or the magnitude, e.g. x.real or x.abs()`);
    }
    if (name === 'bfloat16') {
      throw new LensError('dtype', 'dtype torch.bfloat16 is not supported — print x.float() instead');
    }
    if (/^[<>|=]?[USaVO]\d*$/.test(name) || name === 'object' || name === 'str' || name === 'object_' || name === 'str_') {
      throw new LensError('dtype', `dtype ${shown(raw)} is not numeric — convert with .astype(np.float32), or map labels to class indices`);
    }
  }
  throw new LensError('dtype', `cannot tell the dtype from dtype=${shown(raw)} — use a name such as torch.float32 or float32`);
}

/** Largest size a printed dimension may claim (an empty tensor's size=(...) is the only way to claim one). */
const MAX_PRINTED_DIM = 2 ** 31 - 1;

/** fmtShape, at most 12 sizes shown (a print may claim any number of dimensions). */
function shortShape(shape: readonly number[]): string {
  return shape.length <= 12 ? fmtShape(shape) : `${fmtShape(shape.slice(0, 12)).slice(0, -1)}, … (${shape.length} dimensions)]`;
}

function shapeArg(raw: string): number[] | undefined {
  const inner = /^(?:torch\.Size\(\s*\[([^\]]*)\]\s*\)|\(([^)]*)\)|\[([^\]]*)\])$/.exec(raw);
  if (inner === null) return undefined;
  const body = (inner[1] ?? inner[2] ?? inner[3]).trim();
  if (body === '') return [];
  const parts = body.split(',').map((s) => s.trim()).filter((s, i, a) => s !== '' || i < a.length - 1);
  if (!parts.every((p) => /^\d+$/.test(p))) return undefined;
  return parts.map(Number);
}

// ---------------------------------------------------------------------------------------------------------
// Literal forms

const CALL = /((?:[A-Za-z_]\w*\.)*)(tensor|as_tensor|array|asarray)\s*\(/y;
const LITERAL_START = /\s*(?:[[\d+\-.…]|(?:nan|inf|True|False)\b)/y;

function finish(
  p: LiteralParser,
  body: { shape: number[]; values: Float64Array; empty: boolean },
  flavor: Flavor,
  dtypeText: string | undefined,
  shapeText: string | undefined,
): Tensor {
  let shape = body.shape;
  if (shapeText !== undefined) {
    const given = shapeArg(shapeText);
    if (given === undefined) throw new LensError('format', `cannot read size/shape ${shown(shapeText)}`);
    // The print's own claim, so bounded like any shape read: an empty tensor's size=(0, 1e23) or 100
    // dimensions would otherwise go on to the kernels.
    if (given.length > MAX_TENSOR_DIMS) throw new LensError('shape', `the print says ${given.length} dimensions, more than a tensor has (${MAX_TENSOR_DIMS})`);
    const huge = given.findIndex((d) => d > MAX_PRINTED_DIM);
    if (huge >= 0) throw new LensError('shape', `the print says dimension ${huge} has size ${shown(String(given[huge]))}, more than a tensor is read with (${MAX_PRINTED_DIM})`);
    if (body.empty ? numel(given) !== 0 : fmtShape(given) !== fmtShape(shape)) {
      throw new LensError('shape', `the values have shape ${shortShape(shape)} but the print says ${shortShape(given)}`);
    }
    shape = given;
  }
  let dtype: DType;
  if (dtypeText !== undefined) dtype = dtypeArg(dtypeText);
  else if (p.kind === 'boolean') dtype = 'bool';
  else if (p.kind === 'number' && !p.sawFloat) dtype = 'int64';
  else dtype = flavor === 'torch' ? 'float32' : 'float64';
  return storeValues(body.values, shape, dtype);
}

/** Parses a literal at `start` (a call such as tensor(...) or a bare '['); returns it with its end. */
function parseLiteralAt(ix: TextIndex, start: number, quietBare = false, reach?: { pos: number }): { tensor: Tensor; end: number } {
  const p = new LiteralParser(ix, start);
  const lineStart = ix.lineStart(start);
  p.repl = ix.text.startsWith('>>> ', lineStart) || ix.text.startsWith('... ', lineStart);
  try {
    return parseWith(p, start, quietBare);
  } finally {
    // How far the parser read, also when it failed: the caller resumes its search after that.
    if (reach !== undefined) reach.pos = Math.max(reach.pos, p.pos);
  }
}

function parseWith(p: LiteralParser, start: number, quietBare: boolean): { tensor: Tensor; end: number } {
  const text = p.ix.text;
  CALL.lastIndex = start;
  const call = CALL.exec(text);
  if (call === null) {
    if (text.charCodeAt(start) !== 0x5b) p.syntax('expected tensor(...), array(...) or [...]', start);
    p.quiet = quietBare;
    const body = p.body();
    return { tensor: finish(p, body, 'plain', undefined, undefined), end: p.pos };
  }
  const flavor: Flavor = call[2] === 'tensor' || call[2] === 'as_tensor' ? 'torch' : 'numpy';
  p.pos = start + call[0].length;
  p.ws();
  const body = p.body();
  let dtypeText: string | undefined;
  let shapeText: string | undefined;
  let positional = 0;
  for (;;) {
    p.ws();
    const c = text[p.pos];
    if (c === ')') {
      p.pos++;
      break;
    }
    if (c !== ',') p.syntax("expected ',' or ')'");
    p.pos++;
    p.ws();
    if (text[p.pos] === ')') {
      p.pos++;
      break;
    }
    const kw = /([A-Za-z_]\w*)\s*=(?!=)/y;
    kw.lastIndex = p.pos;
    const k = kw.exec(text);
    if (k !== null) p.pos += k[0].length;
    p.ws();
    const value = p.expr();
    const key = k?.[1] ?? (positional++ === 0 ? 'dtype' : '');
    if (key === 'dtype') dtypeText = value;
    else if (key === 'size' || key === 'shape') shapeText = value;
    // device, requires_grad, grad_fn, names, ... do not change the values.
  }
  return { tensor: finish(p, body, flavor, dtypeText, shapeText), end: p.pos };
}

const CALL_NAMES: ReadonlySet<string> = new Set(['tensor', 'as_tensor', 'array', 'asarray']);

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f;
}

function isIdentStart(c: number): boolean {
  return ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f;
}

/** \s of a regular expression, Unicode spaces included. */
function isBlank(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Where a literal may start: a bare '[' or a call such as torch.tensor( (`open` is its '('). */
interface Start {
  readonly start: number;
  readonly isCall: boolean;
  readonly open: number;
  /** A NumPy masked_array( print: its lists are data with '--' holes and a mask, not a tensor. */
  readonly masked?: true;
}

/**
 * The next '[' or tensor call at or after `from`, in one forward pass: each dotted name (`a.b.c`) is read
 * once and passed over whole unless it ends in tensor/as_tensor/array/asarray followed by '('. (A regular
 * expression with a repeated `(?:name\.)*` group backtracked over such chains from every word boundary.)
 */
function nextStart(text: string, from: number): Start | null {
  const n = text.length;
  let i = from;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x5b) return { start: i, isCall: false, open: i };
    if (!isIdentStart(c) || (i > 0 && isWordChar(text.charCodeAt(i - 1)))) {
      i++;
      continue;
    }
    // A dotted name: words of [A-Za-z_]\w* joined by single dots.
    let wordStart = i;
    let p = i + 1;
    for (;;) {
      while (p < n && isWordChar(text.charCodeAt(p))) p++;
      if (p + 1 < n && text.charCodeAt(p) === 0x2e && isIdentStart(text.charCodeAt(p + 1))) {
        wordStart = p + 1;
        p += 2;
      } else break;
    }
    const masked = p - wordStart === 12 && text.startsWith('masked_array', wordStart);
    if (masked || (p - wordStart <= 9 && CALL_NAMES.has(text.slice(wordStart, p)))) {
      let q = p;
      while (q < n && isBlank(text.charCodeAt(q))) q++;
      if (text.charCodeAt(q) === 0x28) return masked ? { start: i, isCall: true, open: q, masked } : { start: i, isCall: true, open: q };
    }
    i = p;
  }
  return null;
}

/**
 * Every tensor literal in a text (a selection, a log, Python source), outermost only, in order. Literals
 * that are clearly meant as tensors but cannot be used (summarized prints, ragged lists, bad dtypes) come
 * back as errors; brackets that are not numeric lists (indexing, lists of strings) are passed over.
 *
 * Linear in the text: after a literal that cannot be read, the search goes on past both the bracket that
 * closes it and everything its parser read (a comment or argument can run past that bracket), so no text
 * is parsed twice.
 */
export function findTensorLiterals(text: string): TensorLiteral[] {
  const out: TensorLiteral[] = [];
  const ix = new TextIndex(text);
  /** A call whose print is not a tensor's: one error over all of it; returns where the search goes on. */
  const refuse = (start: number, open: number, what: string, fix: string): number => {
    const close = ix.closingEnd(open);
    const end = close > 0 ? close : text.length;
    out.push({ start, end, error: new LensError('format', `${what} at line ${ix.line(start)} is not read — ${fix}`) });
    return end;
  };
  let from = 0;
  for (;;) {
    const m = nextStart(text, from);
    if (m === null) break;
    const { start, isCall, open } = m;
    from = open + 1;
    if (m.masked === true) {
      // Its mask=[...] read alone was a bool tensor, silently: say what to print instead.
      from = refuse(start, open, 'a masked array', 'print x.filled(fill_value) or x.data (its values without the mask)');
      continue;
    }
    if (isCall) {
      if (start > 0 && text[start - 1] === '.') continue;
      if (/^\s*indices\s*=/.test(text.slice(open + 1, open + 64))) {
        // A sparse tensor's print: its indices and values are tensors of their own, not the tensor.
        from = refuse(start, open, 'a sparse tensor', 'print x.to_dense()');
        continue;
      }
      LITERAL_START.lastIndex = open + 1;
      if (!LITERAL_START.test(text)) continue; // tensor(x): a call on a variable, not a literal
    } else if (start > 0 && /[\w)\]'"]/.test(text[start - 1])) {
      continue; // x[0], f()[1], "[INFO]": indexing or strings
    } else if (text.endsWith('Size(', start)) {
      continue; // torch.Size([2, 3]): a shape, printed beside tensors in a console
    } else if (ix.closingEnd(start) < 0) {
      continue; // an unmatched '[' cannot open a list; trying would rescan the rest of the text
    }
    const reach = { pos: start };
    try {
      const { tensor, end } = parseLiteralAt(ix, start, !isCall, reach);
      from = end;
      if (!isCall && tensor.data.length === 0) continue; // a bare [] is an empty Python list far more often than a tensor
      if (!isCall && /^[ \t]*:/.test(text.slice(end, end + 16))) continue; // IPython's In [3]: prompt, or a slice
      out.push({ start, end, tensor });
    } catch (e) {
      // Go on after the bracket that closes the failed literal's opening one.
      const close = ix.closingEnd(open);
      if (e instanceof NotALiteral && !isCall) {
        // A list of tensors ([tensor(...), tensor(...)], what print([a, b]) shows, or torch.stack([...]))
        // stops at its first call: go on from there, inside the list. Elsewhere skip the whole list.
        CALL.lastIndex = reach.pos;
        from = CALL.test(text) ? reach.pos : Math.max(close > 0 ? close : start + 1, reach.pos);
        continue;
      }
      const error = e instanceof LensError ? e : new LensError('format', String(e));
      const end = close > 0 ? close : text.length;
      out.push({ start, end, error: error instanceof NotALiteral ? new LensError(error.kind, error.message) : error });
      from = Math.max(end, reach.pos);
    }
  }
  return out;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** After the digits at `p`, or -1 when there are none. */
function digitsEnd(t: string, p: number): number {
  let q = p;
  while (isDigit(t.charCodeAt(q))) q++;
  return q > p ? q : -1;
}

/**
 * Whether text from `p` on is one number, nan, inf, True or False (any case) and then only whitespace:
 * print(np.array(3.5)). Read by hand; the regular expression it replaces backtracked over long digit runs.
 */
function isSingleValue(t: string, p: number): boolean {
  let q = p;
  const word = t.slice(q, q + 5).toLowerCase();
  if (word === 'false') q += 5;
  else if (word.startsWith('true')) q += 4;
  else {
    if (t.charCodeAt(q) === 0x2b || t.charCodeAt(q) === 0x2d) q++;
    const w = t.slice(q, q + 3).toLowerCase();
    if (w === 'nan' || w === 'inf') q += 3;
    else {
      const int = digitsEnd(t, q);
      if (int >= 0) {
        q = int;
        if (t.charCodeAt(q) === 0x2e) q = Math.max(q + 1, digitsEnd(t, q + 1));
      } else if (t.charCodeAt(q) === 0x2e && digitsEnd(t, q + 1) >= 0) q = digitsEnd(t, q + 1);
      else return false;
      // An exponent counts only when complete (1e5, 2.5E-3); a bare 'e' is not whitespace, so it fails below.
      if ((t.charCodeAt(q) | 0x20) === 0x65) {
        const s = t.charCodeAt(q + 1) === 0x2b || t.charCodeAt(q + 1) === 0x2d ? q + 2 : q + 1;
        const e = digitsEnd(t, s);
        if (e >= 0) q = e;
      }
    }
  }
  while (q < t.length && isBlank(t.charCodeAt(q))) q++;
  return q >= t.length;
}

/** Untrusted argument text in a message: as written when short, else cut (it may be a whole file). */
function shown(raw: string): string {
  return raw.length <= 40 ? raw : quoteSnippet(raw);
}

/** Parses text holding exactly one printed tensor (surrounding whitespace is fine). */
export function parsePrintedTensor(text: string, source?: string): Tensor {
  try {
    const ix = new TextIndex(text);
    let start = 0;
    while (start < text.length && /\s/.test(text[start])) start++;
    if (start >= text.length) throw new LensError('format', 'no tensor in the text: it is empty');
    let tensor: Tensor;
    let end: number;
    if (text[start] !== '[' && isSingleValue(text, start)) {
      // print(np.array(3.5)) writes just the number: a 0-d array.
      const p = new LiteralParser(ix, start);
      const body = p.body();
      tensor = finish(p, body, 'plain', undefined, undefined);
      end = p.pos;
    } else {
      CALL.lastIndex = start;
      if (text[start] !== '[' && !CALL.test(text)) {
        throw new LensError('format', `not a printed tensor at ${ix.lineCol(start)}: expected tensor(...), array(...) or [...]`);
      }
      ({ tensor, end } = parseLiteralAt(ix, start));
    }
    const rest = text.slice(end);
    if (rest.trim() !== '') {
      const at = end + (rest.length - rest.trimStart().length);
      throw new LensError('format', `unexpected text after the tensor at ${ix.lineCol(at)} — give one tensor at a time`);
    }
    return tensor;
  } catch (e) {
    const le = e instanceof NotALiteral ? new LensError(e.kind, e.message) : e instanceof LensError ? e : new LensError('format', String(e));
    throw source === undefined ? le : le.withSource(source);
  }
}
