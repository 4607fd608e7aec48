// Finding tensor literals in a document without parsing them: one forward pass over the text that knows
// strings and comments (JSON/JSONC, Python, Markdown code fences) and marks every bracket group whose
// content could only be numbers. The result is small plain data (structured-clone safe), cached by the
// host per document version, so a hover looks its literal up by offset instead of re-reading the text.
// Parsing the values (and reporting what is wrong with them) is left to the tensor parsers.

import { ROLE_NAMES } from '../tensor/npz';

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

/** A string literal that names a tensor file (.npy, .npz, or file.npz:member). */
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
const ELLIPSIS = 0x2026;

/** Words that may stand inside a numeric list (exponent and complex markers are left to the parser's messages). */
const NUMERIC_WORDS = new Set(['nan', 'NaN', 'inf', 'Inf', 'infinity', 'Infinity', 'True', 'False', 'true', 'false', 'e', 'E', 'j', 'J']);

/** Characters of numbers and separators, the bulk of a large literal (see the fast path in scanRange). */
const NUMERIC_RUN = /[0-9.,+\- \n\r\t]+/y;

const PATH_VALUE = /\.(?:npy|npz)(?::[^\\/:]+)?$/i;
/** A path longer than this is not worth a file-system lookup on every hover. */
const MAX_PATH_LENGTH = 1024;

const TENSOR_CALL_BEFORE = /(?<![\w.])((?:[A-Za-z_]\w*\.)*(?:tensor|as_tensor|array|asarray))\s*$/;

interface Candidate {
  start: number;
  end: number;
  listStart: number;
  listEnd: number;
  name: string | null;
  group: number;
}

interface Frame {
  readonly open: number;
  readonly kind: number;
  /** '[': every token so far could belong to a numeric list. */
  numeric: boolean;
  /** '[': a number (or numeric word) appeared, so this is not just nested empty lists. */
  hasValue: boolean;
  /** Numeric lists that closed directly inside this frame, not yet known to be outermost. */
  children: Candidate[] | null;
  /** '{' (JSON): the last string seen, and the key of the value being read. */
  lastString: string | null;
  key: string | null;
  /** '(' of a tensor call (torch.tensor(, np.array(, ...): where the call's name starts. */
  callStart: number;
  /** Offset of the first token inside the frame (-1 before any). */
  first: number;
  /** The name this '[' inherits from its JSON object (the key it is the value of), and that object. */
  readonly key0: string | null;
  readonly group0: number;
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

/** Scans text[from, to) as one syntax, appending literals and paths (offsets are into `text`). */
function scanRange(text: string, from: number, to: number, syntax: LiteralSyntax, group: number, out: Candidate[], paths: PathSpan[]): void {
  const stack: Frame[] = [];
  const python = syntax === 'python';
  const emit = (cands: readonly Candidate[] | null): void => {
    if (cands !== null) for (const c of cands) out.push(c);
  };
  /** A token other than whitespace/comment at i: the top frame's first token, and numeric-ness. */
  const top = (): Frame | undefined => stack[stack.length - 1];
  const spoil = (): void => {
    const f = top();
    if (f !== undefined && f.kind === LBRACK) f.numeric = false;
  };
  const touch = (i: number): void => {
    const f = top();
    if (f !== undefined && f.first < 0) f.first = i;
  };

  let i = from;
  while (i < to) {
    // Fast path for the bulk of a large literal: digits, signs, points, commas and whitespace inside a
    // list that is still numeric need nothing but "a value was seen".
    const open = stack.length > 0 ? stack[stack.length - 1] : undefined;
    if (open !== undefined && open.kind === LBRACK && open.numeric) {
      // A sticky regular expression runs as native code: far faster than a loop over charCodeAt.
      NUMERIC_RUN.lastIndex = i;
      if (NUMERIC_RUN.test(text)) {
        const p = Math.min(NUMERIC_RUN.lastIndex, to);
        if (!open.hasValue) {
          for (let q = i; q < p; q++) {
            const d = text.charCodeAt(q);
            if (d >= 0x30 && d <= 0x39) {
              open.hasValue = true;
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
      const nl = text.indexOf('\n', i);
      i = nl < 0 || nl > to ? to : nl;
      continue;
    }
    if (!python && c === SLASH && text.charCodeAt(i + 1) === SLASH) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 || nl > to ? to : nl;
      continue;
    }
    if (!python && c === SLASH && text.charCodeAt(i + 1) === STAR) {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 || close + 2 > to ? to : close + 2;
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
        const close = text.indexOf(q, contentStart);
        contentEnd = close < 0 || close > to ? to : close;
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
      const f = top();
      const wantKey = !python && f !== undefined && f.kind === LBRACE;
      if (len <= MAX_PATH_LENGTH || wantKey) {
        const raw = text.slice(contentStart, contentEnd);
        const value = raw.includes('\\') ? unescape(raw, python) : raw;
        if (wantKey) f.lastString = value;
        if (len <= MAX_PATH_LENGTH && PATH_VALUE.test(value)) paths.push({ start, end: i, value });
      }
      continue;
    }
    if (c === LBRACK || c === LPAREN || c === LBRACE) {
      const parent = top();
      let numeric = false;
      let callStart = -1;
      if (c === LBRACK) {
        // x[0], f()[1]: indexing, not a list (as in findTensorLiterals).
        const prev = i > from ? text.charCodeAt(i - 1) : SPACE;
        numeric = !(isLetter(prev) || (prev >= 0x30 && prev <= 0x39) || prev === RPAREN || prev === RBRACK || prev === SQUOTE || prev === DQUOTE);
      } else {
        spoil();
        if (c === LPAREN && python) {
          const m = TENSOR_CALL_BEFORE.exec(text.slice(Math.max(from, i - 96), i));
          if (m !== null) callStart = i - m[0].length;
        }
      }
      const inObject = parent !== undefined && parent.kind === LBRACE;
      stack.push({
        open: i, kind: c, numeric, hasValue: false, children: null, lastString: null, key: null, callStart, first: -1,
        key0: inObject ? parent.key : null, group0: inObject ? parent.open : group,
      });
      i++;
      continue;
    }
    if (c === RBRACK || c === RPAREN || c === RBRACE) {
      const want = c === RBRACK ? LBRACK : c === RPAREN ? LPAREN : LBRACE;
      let k = stack.length - 1;
      while (k >= 0 && stack[k].kind !== want) k--;
      if (k < 0) {
        // A stray closer: nothing to match, but no list around it is numeric.
        spoil();
        i++;
        continue;
      }
      // Frames left open inside (malformed text) close here without being literals.
      while (stack.length - 1 > k) emit((stack.pop() as Frame).children);
      const f = stack.pop() as Frame;
      const end = i + 1;
      const parent = top();
      if (f.kind === LBRACK) {
        if (f.numeric && f.hasValue) {
          // Its nested lists are part of it; it is a candidate until its parent turns out non-numeric.
          const cand: Candidate = { start: f.open, end, listStart: f.open, listEnd: end, name: f.key0, group: f.group0 };
          if (parent === undefined) out.push(cand);
          else {
            (parent.children ??= []).push(cand);
            if (parent.kind === LBRACK) parent.hasValue = true;
          }
        } else {
          emit(f.children);
          if (parent !== undefined && parent.kind === LBRACK) {
            // [] inside a list is fine ([[], []] stays a candidate only if some value shows up).
            if (!f.numeric) parent.numeric = false;
          }
        }
      } else if (f.children !== null) {
        for (const cand of f.children) {
          // torch.tensor([[...]], dtype=...): the call is the literal when the list is its first argument.
          if (f.callStart >= 0 && cand.listStart === f.first) {
            out.push({ ...cand, start: f.callStart, end });
          } else out.push(cand);
        }
      }
      i++;
      continue;
    }
    const f = top();
    if (c === COMMA) {
      if (f !== undefined && f.kind === LBRACE) f.key = null;
      i++;
      continue;
    }
    if (c === COLON) {
      if (f !== undefined && f.kind === LBRACE) {
        f.key = f.lastString;
        f.lastString = null;
      }
      spoil();
      i++;
      continue;
    }
    if (isNumberChar(c)) {
      if (f !== undefined && f.kind === LBRACK && c !== 0x2b && c !== 0x2d) f.hasValue = true;
      i++;
      continue;
    }
    if (isLetter(c)) {
      let p = i + 1;
      while (p < to && isLetter(text.charCodeAt(p))) p++;
      if (f !== undefined && f.kind === LBRACK) {
        if (NUMERIC_WORDS.has(text.slice(i, p))) f.hasValue = true;
        else f.numeric = false;
      }
      i = p;
      continue;
    }
    if (c === ELLIPSIS) {
      // A summarized print ([1., 2., …, 9.]): a literal, so the hover can say why it cannot be read.
      if (f !== undefined && f.kind === LBRACK) f.hasValue = true;
      i++;
      continue;
    }
    spoil();
    i++;
  }
  // Unclosed frames (a document being typed): what closed inside them still counts.
  while (stack.length > 0) emit((stack.pop() as Frame).children);
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

/** The Python name assigned just before a literal: `logits = `, `self.y = `, `labels: Tensor = `. */
function assignedName(text: string, start: number, floor: number): string | null {
  const before = text.slice(Math.max(floor, start - 200), start);
  const m = /([A-Za-z_]\w*)\s*(?::[^=\n]*)?=\s*$/.exec(before);
  if (m === null) return null;
  // `a == [..]`, `a <= [..]`: comparisons, not assignments.
  const eq = before.length - m[0].length + m[0].lastIndexOf('=');
  const prev = before.charCodeAt(eq - 1);
  return prev === 0x3d || prev === 0x3c || prev === 0x3e || prev === 0x21 ? null : m[1];
}

interface Fence {
  readonly from: number;
  readonly to: number;
  readonly syntax: LiteralSyntax;
}

/** Fenced code blocks of a Markdown text (``` or ~~~, CommonMark rules for opening and closing). */
function markdownFences(text: string): Fence[] {
  const fences: Fence[] = [];
  const open = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$/gm;
  let m: RegExpExecArray | null;
  while ((m = open.exec(text)) !== null) {
    const marker = m[1];
    const info = m[2].toLowerCase();
    const from = m.index + m[0].length + 1;
    const close = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`, 'gm');
    close.lastIndex = from;
    const c = from <= text.length ? close.exec(text) : null;
    const to = c === null ? text.length : c.index;
    fences.push({ from: Math.min(from, text.length), to, syntax: info === 'json' || info === 'jsonc' || info === 'json5' ? 'json' : 'python' });
    open.lastIndex = c === null ? text.length : c.index + c[0].length;
    if (c === null) break;
  }
  return fences;
}

/** Every outermost numeric literal and every tensor-file path string of a document. */
export function scanDocument(text: string, syntax: DocumentSyntax): LiteralIndex {
  const cands: Candidate[] = [];
  const paths: PathSpan[] = [];
  const syntaxes: Array<{ cands: Candidate[]; syntax: LiteralSyntax; from: number }> = [];
  if (syntax === 'markdown') {
    for (const f of markdownFences(text)) {
      const part: Candidate[] = [];
      scanRange(text, f.from, f.to, f.syntax, f.from, part, paths);
      syntaxes.push({ cands: part, syntax: f.syntax, from: f.from });
    }
  } else {
    scanRange(text, 0, text.length, syntax, -1, cands, paths);
    syntaxes.push({ cands, syntax, from: 0 });
  }
  const literals: LiteralSpan[] = [];
  for (const s of syntaxes) {
    for (const c of s.cands) {
      const name = s.syntax === 'python' ? assignedName(text, c.start, s.from) : c.name;
      literals.push({ start: c.start, end: c.end, listStart: c.listStart, listEnd: c.listEnd, syntax: s.syntax, name, group: c.group });
    }
  }
  literals.sort((a, b) => a.start - b.start);
  paths.sort((a, b) => a.start - b.start);
  return { literals, paths };
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

/**
 * The input/target pair a hovered literal belongs to. JSON: the keys of one object, one per role (two
 * keys for one role is ambiguous, as for the CLI: no pair). Python: the nearest literal assigned to a name
 * of the other role in the same file, cell or code block. Null when the hovered literal has no role.
 */
export function findPair(index: LiteralIndex, hovered: LiteralSpan): LiteralPair | null {
  const role = roleOfName(hovered.name);
  if (role === null) return null;
  const peers = index.literals.filter((l) => l.group === hovered.group && l.syntax === hovered.syntax);
  if (hovered.syntax === 'json') {
    if (hovered.group < 0) return null;
    const byRole = (r: Role): LiteralSpan[] => peers.filter((l) => roleOfName(l.name) === r);
    const inputs = byRole('input');
    const targets = byRole('target');
    const weights = byRole('weight');
    if (inputs.length !== 1 || targets.length !== 1 || weights.length > 1) return null;
    return { input: inputs[0], target: targets[0], weight: weights[0] ?? null, hovered: role };
  }
  if (role === 'weight') return null;
  const other: Role = role === 'input' ? 'target' : 'input';
  let best: LiteralSpan | null = null;
  let bestDistance = Infinity;
  for (const l of peers) {
    if (roleOfName(l.name) !== other) continue;
    const d = l.start > hovered.start ? l.start - hovered.end : hovered.start - l.end;
    if (d < bestDistance) {
      best = l;
      bestDistance = d;
    }
  }
  if (best === null) return null;
  return role === 'input' ? { input: hovered, target: best, weight: null, hovered: role } : { input: best, target: hovered, weight: null, hovered: role };
}
