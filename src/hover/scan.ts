// Finding tensor literals in a document without parsing them: one forward pass over the text that knows
// strings and comments (JSON/JSONC, Python, Markdown code fences) and marks every bracket group whose
// content could only be numbers. The result is small plain data (structured-clone safe), cached by the
// host per document version, so a hover looks its literal up by offset instead of re-reading the text.
// Parsing the values (and reporting what is wrong with them) is left to the tensor parsers.

import { LensError } from '../errors';
import { ROLE_NAMES } from '../tensor/binary/npz';

/** How a document's text is read: JSON numbers (like a .json tensor file) or Python / printed tensors. */
export type LiteralSyntax = 'json' | 'python';
/** What a document is, for scanning: Markdown scans its fenced code blocks only. */
export type DocumentSyntax = LiteralSyntax | 'markdown';

export interface LiteralSpan {
  /** First character of the literal: the call (torch.tensor( ... ) when there is one, else the '['. */
  readonly start: number;
  /** One past the last character (the ')' of a call, else the ']'). */
  readonly end: number;
  /** The outermost '[' ... ']' (equal to start/end for a bare list). */
  readonly listStart: number;
  readonly listEnd: number;
  readonly syntax: LiteralSyntax;
  /** The JSON key ({"logits": [...]}) or Python name assigned (logits = ...) that names it; null if none. */
  readonly name: string | null;
  /**
   * Literals that may pair up (input with target) share this: the offset of the enclosing JSON object's
   * '{', the Markdown fence's first character, or -1 (a whole Python file or cell).
   */
  readonly group: number;
}

/** A string literal that names a tensor file (.npy, .npz, .pt/.pth/.bin, .safetensors, or file.npz:member). */
export interface PathSpan {
  /** The quotes included. */
  readonly start: number;
  readonly end: number;
  readonly value: string;
}

export interface LiteralIndex {
  /** Outermost literals, sorted by start; they never overlap. */
  readonly literals: readonly LiteralSpan[];
  /** Sorted by start. */
  readonly paths: readonly PathSpan[];
}

// Character codes used by the scanner.
const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const LBRACK = 0x5b, RBRACK = 0x5d, LPAREN = 0x28, RPAREN = 0x29, LBRACE = 0x7b, RBRACE = 0x7d;
const COMMA = 0x2c, COLON = 0x3a, HASH = 0x23, SLASH = 0x2f, STAR = 0x2a, DQUOTE = 0x22, SQUOTE = 0x27, BACKSLASH = 0x5c;
const DOT = 0x2e, EQUALS = 0x3d, LESS = 0x3c, GREATER = 0x3e, BANG = 0x21;
const ELLIPSIS = 0x2026;
/** Bracket kinds as small indices, for the per-kind counts of open frames. */
function kindSlot(kind: number): number {
  return kind === LBRACK ? 0 : kind === LPAREN ? 1 : 2;
}

/** Words that may stand inside a numeric list (exponent and complex markers are left to the parser's messages). */
const NUMERIC_WORDS = new Set(['nan', 'NaN', 'inf', 'Inf', 'infinity', 'Infinity', 'True', 'False', 'true', 'false', 'e', 'E', 'j', 'J']);

/** Characters of numbers and separators, the bulk of a large literal (see the fast path in scanRange). */
const NUMERIC_RUN = /[0-9.,+\- \n\r\t]+/y;

const PATH_VALUE = /\.(?:npy|npz|pt|pth|bin|safetensors)(?::[^\\/:]+)?$/i;
/** A PNG label mask's path (summarized by its header and class counts). */
const MASK_PATH_VALUE = /\.png$/i;
/**
 * A network or device path (\\host\share\x.npy, //host/share/x.npy, \\?\...): never looked up. On Windows,
 * looking one up opens a connection to that host, which then sees the user's credentials: a hover over a
 * string in a stranger's file must not do that.
 */
const NETWORK_PATH = /^[\\/]{2}/;
/** A path longer than this is not worth a file-system lookup on every hover. */
const MAX_PATH_LENGTH = 1024;

/** The names of calls whose first argument is the literal (torch.tensor(, np.array(, ...). */
const CALL_NAMES: ReadonlySet<string> = new Set(['tensor', 'as_tensor', 'array', 'asarray']);
/** How far before a '(' its call name is looked for, and before a literal its assigned name. */
const CALL_LOOKBACK = 96;
const NAME_LOOKBACK = 200;
/** The longest word worth a lookup in NUMERIC_WORDS. */
const LONGEST_NUMERIC_WORD = 8;

/**
 * Bounds on one scan. The scan is linear, but a worker must still not be held for long by a document of
 * tens of megabytes, nor fill its heap with millions of literals of a generated file.
 */
export interface ScanLimits {
  /** performance.now() after which the scan gives up. */
  readonly deadline?: number;
  /** Literals plus paths after which the scan gives up. */
  readonly maxEntries?: number;
  /** Brackets open at once after which the scan gives up (each holds a frame). */
  readonly maxDepth?: number;
}

class Budget {
  private steps = 0;
  private entries = 0;
  constructor(private readonly limits: ScanLimits) {}

  /** Called once per token: reading the clock every few thousand tokens costs nothing measurable. */
  step(): void {
    if ((++this.steps & 0xfff) === 0 && this.limits.deadline !== undefined && performance.now() > this.limits.deadline) {
      throw new LensError('io', 'finding tensor literals in this document took too long: hovers are off for this version of it');
    }
  }

  depth(open: number): void {
    if (this.limits.maxDepth !== undefined && open > this.limits.maxDepth) {
      throw new LensError('format', `brackets nest more than ${this.limits.maxDepth} deep in this document: too deep for hovers`);
    }
  }

  entry(): void {
    if (this.limits.maxEntries !== undefined && ++this.entries > this.limits.maxEntries) {
      throw new LensError('format', `the document holds more than ${this.limits.maxEntries} tensor literals and paths: too many for hovers`);
    }
  }
}

interface Candidate {
  start: number;
  end: number;
  listStart: number;
  listEnd: number;
  name: string | null;
  group: number;
}

/** An array of `n` nulls, packed (as the frames' reference columns must stay). */
function nulls<T>(n: number): Array<T | null> {
  const a: Array<T | null> = [];
  for (let k = 0; k < n; k++) a.push(null);
  return a;
}

/**
 * The open brackets, one column per field rather than one object per bracket: a document of a million
 * '(' would otherwise hold a million objects, and copying them around in the garbage collector, not the
 * scan, took most of the time. Index `depth - 1` is the innermost.
 */
class Frames {
  depth = 0;
  /** Where the bracket is, and which ('[', '(' or '{', as its character code). */
  open = new Int32Array(64);
  kind = new Uint8Array(64);
  /** '[': every token so far could belong to a numeric list (1), or not (0). */
  numeric = new Uint8Array(64);
  /** '[': a number (or numeric word) appeared, so this is not just nested empty lists. */
  hasValue = new Uint8Array(64);
  /** '(' of a tensor call (torch.tensor(, np.array(, ...): where the call's name starts, else -1. */
  callStart = new Int32Array(64);
  /** Offset of the first token inside the frame (-1 before any). */
  first = new Int32Array(64);
  /** The JSON object a '[' is the value of (else the range's group). */
  group0 = new Int32Array(64);
  /**
   * '(' and '{': numeric lists that closed directly inside, literals once this frame closes. A '[' keeps
   * its numeric lists in `nested` instead, as (open, end) pairs: a large tensor has millions of rows,
   * which are part of it in the end, and a pair of numbers costs a tenth of a Candidate.
   */
  readonly children: Array<Candidate[] | null> = nulls(64);
  readonly nested: Array<number[] | null> = nulls(64);
  /** '{' (JSON): the last string seen, and the key of the value being read. */
  readonly lastString: Array<string | null> = nulls(64);
  readonly key: Array<string | null> = nulls(64);
  /** The key a '[' is the value of. */
  readonly key0: Array<string | null> = nulls(64);
  /** Open frames of each kind ('[', '(', '{'): a closer with none of its kind open is stray at once. */
  readonly ofKind = [0, 0, 0];

  push(open: number, kind: number, numeric: boolean, callStart: number, key0: string | null, group0: number): void {
    const t = this.depth;
    if (t === this.open.length) this.grow();
    this.open[t] = open;
    this.kind[t] = kind;
    this.numeric[t] = numeric ? 1 : 0;
    this.hasValue[t] = 0;
    this.callStart[t] = callStart;
    this.first[t] = -1;
    this.group0[t] = group0;
    this.children[t] = null;
    this.nested[t] = null;
    this.lastString[t] = null;
    this.key[t] = null;
    this.key0[t] = key0;
    this.ofKind[kindSlot(kind)]++;
    this.depth = t + 1;
  }

  /** Empty, for the next range (a push sets every field of its slot). */
  reset(): void {
    for (let t = 0; t < this.depth; t++) {
      this.children[t] = null;
      this.nested[t] = null;
    }
    this.depth = 0;
    this.ofKind.fill(0);
  }

  /** Closes the innermost frame; its fields stay readable at the returned index until the next push. */
  pop(): number {
    const t = --this.depth;
    this.ofKind[kindSlot(this.kind[t])]--;
    return t;
  }

  private grow(): void {
    const n = this.open.length * 2;
    const int32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const uint8 = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    this.open = int32(this.open);
    this.kind = uint8(this.kind);
    this.numeric = uint8(this.numeric);
    this.hasValue = uint8(this.hasValue);
    this.callStart = int32(this.callStart);
    this.first = int32(this.first);
    this.group0 = int32(this.group0);
    // The same arrays, filled ahead: a push then stores into a slot that exists.
    for (const a of [this.children, this.nested, this.lastString, this.key, this.key0] as Array<Array<unknown>>) {
      for (let k = a.length; k < n; k++) a.push(null);
    }
  }
}

function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

function isLetter(c: number): boolean {
  return ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f;
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === 0x2d;
}

/** A character of a regular expression's \s (Unicode spaces included). */
function isBlank(c: number): boolean {
  if (c <= 0x20) return c === SPACE || (c >= TAB && c <= CR);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** A character of \w: letters, digits and '_'. */
function isWordChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39);
}

/**
 * `text.indexOf(needle, from)` for a match that ends by `to`, else -1. A Markdown fence's search must not run
 * on through the rest of the document: over many fences that would be quadratic.
 */
function indexWithin(text: string, needle: string, from: number, to: number): number {
  if (to >= text.length) return text.indexOf(needle, from);
  const first = needle.charCodeAt(0);
  const last = to - needle.length;
  outer: for (let p = from; p <= last; p++) {
    if (text.charCodeAt(p) !== first) continue;
    for (let k = 1; k < needle.length; k++) if (text.charCodeAt(p + k) !== needle.charCodeAt(k)) continue outer;
    return p;
  }
  return -1;
}

/**
 * Where the call name before the '(' at `paren` starts (`torch.tensor (`, `np.array(`), or -1: a backward
 * walk over at most CALL_LOOKBACK characters. The name is a whole word preceded by dotted identifiers, and
 * the chain does not follow a word character or a '.'.
 */
function tensorCallStart(text: string, lo: number, paren: number): number {
  let p = paren;
  while (p > lo && isBlank(text.charCodeAt(p - 1))) p--;
  const nameEnd = p;
  while (p > lo && isWordChar(text.charCodeAt(p - 1))) p--;
  if (nameEnd - p > 9 || !CALL_NAMES.has(text.slice(p, nameEnd))) return -1;
  let start = p;
  while (start > lo && text.charCodeAt(start - 1) === DOT) {
    let q = start - 1;
    while (q > lo && isWordChar(text.charCodeAt(q - 1))) q--;
    const c = text.charCodeAt(q);
    if (q === start - 1 || !isLetter(c)) break;
    start = q;
  }
  if (start > lo) {
    const c = text.charCodeAt(start - 1);
    if (isWordChar(c) || c === DOT) return -1;
  }
  return start;
}

/** Scans text[from, to) as one syntax, appending literals and paths (offsets are into `text`). */
function scanRange(text: string, from: number, to: number, syntax: LiteralSyntax, group: number, out: Candidate[], paths: PathSpan[], budget: Budget, F: Frames): void {
  F.reset();
  const python = syntax === 'python';
  const emit = (c: Candidate): void => {
    budget.entry();
    out.push(c);
  };
  /** What closed inside frame `t`, which is not itself a literal. */
  const emitFrom = (t: number): void => {
    const children = F.children[t];
    if (children !== null) for (const c of children) emit(c);
    const nested = F.nested[t];
    if (nested !== null) {
      // A list inside a list has no name of its own and belongs to the range's group.
      for (let k = 0; k < nested.length; k += 2) emit({ start: nested[k], end: nested[k + 1], listStart: nested[k], listEnd: nested[k + 1], name: null, group });
    }
    F.children[t] = null;
    F.nested[t] = null;
  };
  /** A token other than whitespace/comment at i: the top frame's first token, and numeric-ness. */
  const spoil = (): void => {
    const t = F.depth - 1;
    if (t >= 0 && F.kind[t] === LBRACK) F.numeric[t] = 0;
  };
  const touch = (i: number): void => {
    const t = F.depth - 1;
    if (t >= 0 && F.first[t] < 0) F.first[t] = i;
  };

  let i = from;
  while (i < to) {
    budget.step();
    // Fast path for the bulk of a large literal: digits, signs, points, commas and whitespace inside a
    // list that is still numeric need nothing but "a value was seen".
    const open = F.depth - 1;
    if (open >= 0 && F.kind[open] === LBRACK && F.numeric[open] === 1) {
      // A sticky regular expression runs as native code: far faster than a loop over charCodeAt.
      NUMERIC_RUN.lastIndex = i;
      if (NUMERIC_RUN.test(text)) {
        const p = Math.min(NUMERIC_RUN.lastIndex, to);
        if (F.hasValue[open] === 0) {
          for (let q = i; q < p; q++) {
            const d = text.charCodeAt(q);
            if (d >= 0x30 && d <= 0x39) {
              F.hasValue[open] = 1;
              break;
            }
          }
        }
        i = p;
        continue;
      }
    }
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // Comments count as whitespace, also inside multi-line lists.
    if (python && c === HASH) {
      const nl = indexWithin(text, '\n', i, to);
      i = nl < 0 ? to : nl;
      continue;
    }
    if (!python && c === SLASH && text.charCodeAt(i + 1) === SLASH) {
      const nl = indexWithin(text, '\n', i, to);
      i = nl < 0 ? to : nl;
      continue;
    }
    if (!python && c === SLASH && text.charCodeAt(i + 1) === STAR) {
      const close = indexWithin(text, '*/', i + 2, to);
      i = close < 0 ? to : close + 2;
      continue;
    }
    touch(i);
    if (c === DQUOTE || (python && c === SQUOTE)) {
      const start = i;
      let contentStart: number;
      let contentEnd: number;
      const triple = python && text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === c;
      if (triple) {
        const q = String.fromCharCode(c).repeat(3);
        contentStart = i + 3;
        const close = indexWithin(text, q, contentStart, to);
        contentEnd = close < 0 ? to : close;
        i = Math.min(to, contentEnd + 3);
      } else {
        let p = i + 1;
        while (p < to) {
          const d = text.charCodeAt(p);
          if (d === c) break;
          // A line break ends an unterminated single-line string, so one stray quote spoils one line only.
          if (d === LF && python) break;
          p += d === BACKSLASH ? 2 : 1;
        }
        contentStart = i + 1;
        contentEnd = Math.min(p, to);
        i = Math.min(to, p + 1);
      }
      spoil();
      const len = contentEnd - contentStart;
      const t = F.depth - 1;
      const wantKey = !python && t >= 0 && F.kind[t] === LBRACE;
      if (len <= MAX_PATH_LENGTH || wantKey) {
        const raw = text.slice(contentStart, contentEnd);
        const value = raw.includes('\\') && !(python && isRawPrefixed(text, start)) ? unescape(raw, python) : raw;
        if (wantKey) F.lastString[t] = value;
        if (len <= MAX_PATH_LENGTH && (PATH_VALUE.test(value) || MASK_PATH_VALUE.test(value)) && !NETWORK_PATH.test(value)) {
          budget.entry();
          paths.push({ start, end: i, value });
        }
      }
      continue;
    }
    if (c === LBRACK || c === LPAREN || c === LBRACE) {
      const parent = F.depth - 1;
      let numeric = false;
      let callStart = -1;
      if (c === LBRACK) {
        // x[0], f()[1]: indexing, not a list (as in findTensorLiterals).
        const prev = i > from ? text.charCodeAt(i - 1) : SPACE;
        numeric = !(isLetter(prev) || (prev >= 0x30 && prev <= 0x39) || prev === RPAREN || prev === RBRACK || prev === SQUOTE || prev === DQUOTE);
      } else {
        spoil();
        if (c === LPAREN && python) callStart = tensorCallStart(text, Math.max(from, i - CALL_LOOKBACK), i);
      }
      const inObject = parent >= 0 && F.kind[parent] === LBRACE;
      budget.depth(F.depth + 1);
      F.push(i, c, numeric, callStart, inObject ? F.key[parent] : null, inObject ? F.open[parent] : group);
      i++;
      continue;
    }
    if (c === RBRACK || c === RPAREN || c === RBRACE) {
      const want = c === RBRACK ? LBRACK : c === RPAREN ? LPAREN : LBRACE;
      if (F.ofKind[kindSlot(want)] === 0) {
        // A stray closer: nothing to match, but no list around it is numeric. Known without walking the
        // stack, which made '((((...]]]]' quadratic.
        spoil();
        i++;
        continue;
      }
      // Frames left open inside (malformed text) close here without being literals. Each frame is popped
      // once, so this walk is paid for by the pushes.
      while (F.kind[F.depth - 1] !== want) emitFrom(F.pop());
      const f = F.pop();
      const end = i + 1;
      const parent = F.depth - 1;
      if (want === LBRACK) {
        if (F.numeric[f] === 1 && F.hasValue[f] === 1) {
          // Its nested lists are part of it; it is a candidate until its parent turns out non-numeric.
          F.children[f] = null;
          F.nested[f] = null;
          const open = F.open[f];
          if (parent < 0) emit({ start: open, end, listStart: open, listEnd: end, name: F.key0[f], group: F.group0[f] });
          else if (F.kind[parent] === LBRACK) {
            (F.nested[parent] ??= []).push(open, end);
            F.hasValue[parent] = 1;
          } else (F.children[parent] ??= []).push({ start: open, end, listStart: open, listEnd: end, name: F.key0[f], group: F.group0[f] });
        } else {
          const numeric = F.numeric[f] === 1;
          emitFrom(f);
          // [] inside a list is fine ([[], []] stays a candidate only if some value shows up).
          if (parent >= 0 && F.kind[parent] === LBRACK && !numeric) F.numeric[parent] = 0;
        }
      } else {
        const children = F.children[f];
        if (children !== null) {
          const callStart = F.callStart[f];
          const first = F.first[f];
          // torch.tensor([[...]], dtype=...): the call is the literal when the list is its first argument,
          // and other lists among its arguments are inside it (literals never overlap).
          const arg = callStart >= 0 ? children.find((cand) => cand.listStart === first) : undefined;
          if (arg !== undefined) emit({ ...arg, start: callStart, end });
          else for (const cand of children) emit(cand);
          F.children[f] = null;
        }
      }
      i++;
      continue;
    }
    const t = F.depth - 1;
    if (c === COMMA) {
      if (t >= 0 && F.kind[t] === LBRACE) F.key[t] = null;
      i++;
      continue;
    }
    if (c === COLON) {
      if (t >= 0 && F.kind[t] === LBRACE) {
        F.key[t] = F.lastString[t];
        F.lastString[t] = null;
      }
      spoil();
      i++;
      continue;
    }
    if (isNumberChar(c)) {
      if (t >= 0 && F.kind[t] === LBRACK && c !== 0x2b && c !== 0x2d) F.hasValue[t] = 1;
      i++;
      continue;
    }
    if (isLetter(c)) {
      let p = i + 1;
      while (p < to && isLetter(text.charCodeAt(p))) p++;
      if (t >= 0 && F.kind[t] === LBRACK) {
        if (p - i <= LONGEST_NUMERIC_WORD && NUMERIC_WORDS.has(text.slice(i, p))) F.hasValue[t] = 1;
        else F.numeric[t] = 0;
      }
      i = p;
      continue;
    }
    if (c === ELLIPSIS) {
      // A summarized print ([1., 2., …, 9.]): a literal, so the hover can say why it cannot be read.
      if (t >= 0 && F.kind[t] === LBRACK) F.hasValue[t] = 1;
      i++;
      continue;
    }
    spoil();
    i++;
  }
  // Unclosed frames (a document being typed): what closed inside them still counts.
  while (F.depth > 0) emitFrom(F.pop());
}

/**
 * Whether the Python string whose quote is at `quote` has a raw prefix (r, R, or with b or f: rb, Br, fR...),
 * whose backslashes are the string's own characters: r'C:\\x' is C, colon and two backslashes, then x.
 */
function isRawPrefixed(text: string, quote: number): boolean {
  let k = quote;
  while (k > 0 && quote - k < 3 && /[rRbBfFuU]/.test(text[k - 1])) k--;
  const prefix = text.slice(k, quote);
  // A longer run of letters, or one after an identifier character, is a name, not a prefix.
  if (prefix.length === 0 || prefix.length > 2 || (k > 0 && /[\w]/.test(text[k - 1]))) return false;
  return /^(?:[rR][bBfF]?|[bBfF][rR])$/.test(prefix);
}

function unescape(raw: string, python: boolean): string {
  if (!python) {
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return raw;
    }
  }
  // Python: the escapes a path may hold; a raw string (r'...') keeps backslashes, and so do unknown escapes.
  return raw.replace(/\\([\\'"])/g, '$1');
}

/**
 * The identifier whose last character is at `end - 1` after blanks are skipped backward from `end`, from
 * its first letter or '_' (`9ab` names `ab`); null if there is none. Never reads before `lo`.
 */
function identifierBefore(text: string, lo: number, end: number): string | null {
  let p = end;
  while (p > lo && isBlank(text.charCodeAt(p - 1))) p--;
  const last = p;
  while (p > lo && isWordChar(text.charCodeAt(p - 1))) p--;
  while (p < last && !isLetter(text.charCodeAt(p))) p++;
  return p < last ? text.slice(p, last) : null;
}

/**
 * The Python name assigned just before a literal: `logits = `, `self.y = `, `labels: Tensor = `. A backward
 * walk over at most NAME_LOOKBACK characters (a regular expression over that window backtracked).
 */
function assignedName(text: string, start: number, floor: number): string | null {
  const lo = Math.max(floor, start - NAME_LOOKBACK);
  let eq = start;
  while (eq > lo && isBlank(text.charCodeAt(eq - 1))) eq--;
  eq--;
  if (eq < lo || text.charCodeAt(eq) !== EQUALS) return null;
  // `a == [..]`, `a <= [..]`: comparisons, not assignments.
  const prev = eq > lo ? text.charCodeAt(eq - 1) : -1;
  if (prev === EQUALS || prev === LESS || prev === GREATER || prev === BANG) return null;
  // An annotation (`name: Type =`) sits on the '=' sign's line with no other '=' before it; the name before
  // its first ':' comes first, as the leftmost match did.
  let s = eq;
  while (s > lo && text.charCodeAt(s - 1) !== EQUALS && text.charCodeAt(s - 1) !== LF) s--;
  for (let k = s; k < eq; k++) {
    if (text.charCodeAt(k) !== COLON) continue;
    const name = identifierBefore(text, lo, k);
    if (name !== null) return name;
  }
  return identifierBefore(text, lo, eq);
}

interface Fence {
  readonly from: number;
  readonly to: number;
  readonly syntax: LiteralSyntax;
}

/**
 * Visits the fenced code blocks of a Markdown text in order (``` or ~~~, CommonMark rules for opening and
 * closing). One at a time, each a step of the budget: a text of empty fences (``` lines, millions of them in
 * 32 MB) has no tokens for the scan's own steps to count, and listing them all first cost memory.
 */
function markdownFences(text: string, budget: Budget, visit: (f: Fence) => void): void {
  const open = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$/gm;
  // One closing pattern per marker (character and length), not one per fence.
  const closers = new Map<string, RegExp>();
  let m: RegExpExecArray | null;
  while ((m = open.exec(text)) !== null) {
    budget.step();
    const marker = m[1];
    const info = m[2].toLowerCase();
    const from = m.index + m[0].length + 1;
    let close = closers.get(marker);
    if (close === undefined) {
      close = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`, 'gm');
      closers.set(marker, close);
    }
    close.lastIndex = from;
    const c = from <= text.length ? close.exec(text) : null;
    const to = c === null ? text.length : c.index;
    visit({ from: Math.min(from, text.length), to, syntax: info === 'json' || info === 'jsonc' || info === 'json5' ? 'json' : 'python' });
    open.lastIndex = c === null ? text.length : c.index + c[0].length;
    if (c === null) break;
  }
}

/** Every outermost numeric literal and every tensor-file path string of a document. */
export function scanDocument(text: string, syntax: DocumentSyntax, limits: ScanLimits = {}): LiteralIndex {
  const budget = new Budget(limits);
  const cands: Candidate[] = [];
  const paths: PathSpan[] = [];
  const syntaxes: Array<{ cands: Candidate[]; syntax: LiteralSyntax; from: number }> = [];
  const frames = new Frames();
  if (syntax === 'markdown') {
    markdownFences(text, budget, (f) => {
      const part: Candidate[] = [];
      scanRange(text, f.from, f.to, f.syntax, f.from, part, paths, budget, frames);
      // Empty fences leave nothing to keep.
      if (part.length > 0) syntaxes.push({ cands: part, syntax: f.syntax, from: f.from });
    });
  } else {
    scanRange(text, 0, text.length, syntax, -1, cands, paths, budget, frames);
    syntaxes.push({ cands, syntax, from: 0 });
  }
  const literals: LiteralSpan[] = [];
  for (const s of syntaxes) {
    for (const c of s.cands) {
      const name = s.syntax === 'python' ? assignedName(text, c.start, s.from) : c.name;
      literals.push({ start: c.start, end: c.end, listStart: c.listStart, listEnd: c.listEnd, syntax: s.syntax, name, group: c.group });
    }
  }
  // Literals never overlap (literalAt's binary search relies on it): a list inside an indexing bracket
  // inside a call, np.array([1, 2][[0, 1]]), was emitted beside the call that holds it. Keep the outer one.
  literals.sort((a, b) => a.start - b.start || b.end - a.end);
  let kept = 0;
  for (const l of literals) if (kept === 0 || l.start >= literals[kept - 1].end) literals[kept++] = l;
  literals.length = kept;
  paths.sort((a, b) => a.start - b.start);
  return { literals, paths };
}

/**
 * The text a literal's report reads: JSON reads the list itself (as a .json file would); Python reads the
 * call with its dtype= argument.
 */
export function literalRange(s: LiteralSpan): { readonly start: number; readonly end: number } {
  return s.syntax === 'json' ? { start: s.listStart, end: s.listEnd } : { start: s.start, end: s.end };
}

/** The last element whose start is <= offset, by binary search. */
function lastStartingBefore<T extends { readonly start: number }>(xs: readonly T[], offset: number): T | undefined {
  let lo = 0;
  let hi = xs.length - 1;
  let found: T | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid].start <= offset) {
      found = xs[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The literal under the cursor at `offset` (on its first character up to and including its last). */
export function literalAt(index: LiteralIndex, offset: number): LiteralSpan | undefined {
  const l = lastStartingBefore(index.literals, offset);
  return l !== undefined && offset < l.end ? l : undefined;
}

export function pathAt(index: LiteralIndex, offset: number): PathSpan | undefined {
  const p = lastStartingBefore(index.paths, offset);
  return p !== undefined && offset < p.end ? p : undefined;
}

export type Role = 'input' | 'target' | 'weight';

/** The role a name suggests: logits/input/pred/outputs, target/labels/y, weight (see ROLE_NAMES). */
export function roleOfName(name: string | null): Role | null {
  if (name === null) return null;
  const n = name.toLowerCase();
  for (const role of ['input', 'target', 'weight'] as const) if (ROLE_NAMES[role].includes(n)) return role;
  return null;
}

export interface LiteralPair {
  readonly input: LiteralSpan;
  readonly target: LiteralSpan;
  /** JSON objects only: a weight key beside input and target (as the CLI reads such a file). */
  readonly weight: LiteralSpan | null;
  readonly hovered: Role;
}

interface RoleLists {
  readonly input: LiteralSpan[];
  readonly target: LiteralSpan[];
  readonly weight: LiteralSpan[];
}

/**
 * Pairs literals of one index: the literals with a role are grouped once (linear), so each lookup is a
 * map access and a binary search. A worker answers every hover of a large document from one of these.
 *
 * JSON: the keys of one object, one per role (two keys for one role is ambiguous, as for the CLI: no
 * pair). Python: the nearest literal assigned to a name of the other role in the same file, cell or code
 * block (the earlier one on a tie). Null when the hovered literal has no role.
 */
export class PairFinder {
  private readonly groups = new Map<string, RoleLists>();

  constructor(index: LiteralIndex) {
    for (const l of index.literals) {
      const role = roleOfName(l.name);
      if (role === null) continue;
      const key = groupKey(l);
      let g = this.groups.get(key);
      if (g === undefined) {
        g = { input: [], target: [], weight: [] };
        this.groups.set(key, g);
      }
      // index.literals is sorted by start, so each list is too.
      g[role].push(l);
    }
  }

  find(hovered: LiteralSpan): LiteralPair | null {
    const role = roleOfName(hovered.name);
    if (role === null) return null;
    const g = this.groups.get(groupKey(hovered));
    if (g === undefined) return null;
    if (hovered.syntax === 'json') {
      if (hovered.group < 0) return null;
      if (g.input.length !== 1 || g.target.length !== 1 || g.weight.length > 1) return null;
      return { input: g.input[0], target: g.target[0], weight: g.weight[0] ?? null, hovered: role };
    }
    if (role === 'weight') return null;
    const others = role === 'input' ? g.target : g.input;
    // Literals never overlap: the nearest one before is the last before, the nearest after the first after.
    let lo = 0;
    let hi = others.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (others[mid].start <= hovered.start) lo = mid + 1;
      else hi = mid;
    }
    const before = lo > 0 ? others[lo - 1] : undefined;
    const after = lo < others.length ? others[lo] : undefined;
    let best: LiteralSpan | undefined = before;
    if (after !== undefined && (before === undefined || after.start - hovered.end < hovered.start - before.end)) best = after;
    if (best === undefined) return null;
    return role === 'input' ? { input: hovered, target: best, weight: null, hovered: role } : { input: best, target: hovered, weight: null, hovered: role };
  }
}

function groupKey(l: LiteralSpan): string {
  return `${l.syntax}:${l.group}`;
}

/** The input/target pair a hovered literal belongs to (see PairFinder; this builds one for one lookup). */
export function findPair(index: LiteralIndex, hovered: LiteralSpan): LiteralPair | null {
  return new PairFinder(index).find(hovered);
}

/** What a hover at one offset shows: a tensor-file path, a literal (with its pair), or nothing. */
export type HoverTarget =
  | { readonly kind: 'path'; readonly path: PathSpan }
  | { readonly kind: 'literal'; readonly literal: LiteralSpan; readonly pair: LiteralPair | null }
  | { readonly kind: 'none' };

export function lookupAt(index: LiteralIndex, offset: number, pairs: PairFinder = new PairFinder(index)): HoverTarget {
  const path = pathAt(index, offset);
  if (path !== undefined) return { kind: 'path', path };
  const literal = literalAt(index, offset);
  return literal === undefined ? { kind: 'none' } : { kind: 'literal', literal, pair: pairs.find(literal) };
}

/** A literal whose report is worth computing ahead of a hover: a large one that has a pair. */
export interface WarmLiteral {
  readonly literal: LiteralSpan;
  readonly pair: LiteralPair;
}

/** Up to `max` literals of more than `minChars` characters (their list) that pair up, in document order. */
export function literalsToWarm(index: LiteralIndex, minChars: number, max: number, pairs: PairFinder = new PairFinder(index)): WarmLiteral[] {
  const out: WarmLiteral[] = [];
  for (const literal of index.literals) {
    if (out.length >= max) break;
    if (literal.listEnd - literal.listStart <= minChars) continue;
    const pair = pairs.find(literal);
    if (pair !== null) out.push({ literal, pair });
  }
  return out;
}
