// Requests to a paused Python debuggee as one DAP `evaluate` expression each, and their replies. Pure: no
// vscode, no Node (the unit tests run it against a real debugpy adapter without VS Code).
//
// The expression is fixed code (DEBUGGEE_CODE) plus the request as a JSON string literal: nothing taken from
// the debuggee (a variable name, a dict key, the debugger's evaluateName) ever becomes code. A value is named
// by a ValueRef, a path the debuggee walks with getattr and [] on string or integer keys.
import { base64ToBytes } from '../base64';
import { LensError } from '../errors';
import { DEBUGGEE_CODE } from './debuggeeCode';

/** One step into a value: an attribute, a dict key, or a sequence index. */
export type RefStep = readonly ['attr', string] | readonly ['key', string | number] | readonly ['index', number];

/** A value in the paused frame: a local (or global) name and steps into it. */
export interface ValueRef {
  readonly root: string;
  readonly steps: readonly RefStep[];
}

/** What a tensor-like value is, as the debuggee describes it. */
export interface ValueMeta {
  readonly kind: 'torch' | 'numpy';
  readonly shape: readonly number[];
  /** torch's or NumPy's name: float32, bfloat16, int64, bool… */
  readonly dtype: string;
  /** 'cpu', 'cuda:0'… ('cpu' for NumPy). */
  readonly device: string;
  readonly requiresGrad: boolean;
  readonly numel: number;
  /** As the user would write it: logits, outputs.logits, batch["labels"]. */
  readonly label: string;
}

export interface ListedValue extends ValueMeta {
  readonly ref: ValueRef;
}

/** A fixed operation applied in the debuggee before saving (a mechanical fix: target.argmax(1)). */
export type Transform =
  | { readonly op: 'argmax'; readonly dim: number }
  | { readonly op: 'long' }
  | { readonly op: 'float' }
  | { readonly op: 'unsqueeze'; readonly dim: number }
  | { readonly op: 'movedim'; readonly source: number; readonly destination: number };

/** JSON numbers the debuggee could not write as numbers. */
export type PyNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface ValueStats extends ValueMeta {
  readonly min?: PyNumber;
  readonly max?: PyNumber;
  readonly mean?: PyNumber;
  readonly nan?: number;
  readonly inf?: number;
}

/** What the exception classifier needs of a target (src/debug/lossError.ts). */
export interface TargetFacts extends ValueMeta {
  readonly integral?: boolean;
  readonly min?: PyNumber;
  readonly max?: PyNumber;
  /** Axes along which the values are one-hot over C classes (0/1, summing to 1). */
  readonly oneHotDims?: readonly number[];
  /** Integral targets: how many values lie outside [0, C) (ignore_index aside), and the first few distinct ones. */
  readonly outOfRange?: number;
  readonly outOfRangeValues?: readonly PyNumber[];
}

export interface SavedValue {
  /** Where the debuggee wrote the .npy (on its machine). */
  readonly path: string;
  /** Its private folder (0700), reused by later saves of the session. */
  readonly dir: string;
  readonly bytes: number;
  readonly shape: readonly number[];
  readonly descr: string;
  readonly label: string;
  /** The value before its transform and conversion (dtype, device, requires_grad as the user has it). */
  readonly source: ValueMeta;
}

export interface CallArguments {
  /** input, target, weight, pos_weight where the call has them. */
  readonly tensors: Readonly<Record<string, ListedValue>>;
  /** ignore_index, reduction, label_smoothing (and the deprecated size_average/reduce) as Python had them. */
  readonly scalars: Readonly<Record<string, string | number | boolean | null>>;
  /** The class of `self` in an nn module's forward (CrossEntropyLoss…), else null. */
  readonly owner: string | null;
  /** That class's MRO names (a subclass of CrossEntropyLoss is one). */
  readonly ownerMro?: readonly string[];
  /** The functional found through a traceback (cross_entropy…); null for a module's forward or in place. */
  readonly function?: string | null;
}

export type DebuggeeRequest =
  | { readonly op: 'list' }
  | { readonly op: 'describe'; readonly refs: readonly ValueRef[] }
  /** maxBytes: refuse a value larger than this before copying or writing it (a session known to be remote). */
  | { readonly op: 'save'; readonly ref: ValueRef; readonly name: string; readonly dir: string | null; readonly transform: readonly Transform[]; readonly maxBytes?: number }
  | { readonly op: 'stats'; readonly ref: ValueRef }
  | { readonly op: 'facts'; readonly ref: ValueRef; readonly classes: number; readonly ignoreIndex: number | null }
  /** traceback: the frame is a user frame stopped on an exception; the call's frame is found in its traceback. */
  | { readonly op: 'call'; readonly module: boolean; readonly traceback?: boolean }
  | { readonly op: 'read'; readonly path: string; readonly offset: number; readonly length: number }
  /** A folder of the lens, or with `path` one file in it. */
  | { readonly op: 'remove'; readonly dir: string; readonly path?: string };

/** The reply of each request, by op. */
export interface DebuggeeReplies {
  list: { readonly values: readonly ListedValue[] };
  describe: { readonly values: ReadonlyArray<ValueMeta | { readonly error: string }> };
  save: SavedValue;
  stats: ValueStats;
  facts: TargetFacts;
  call: CallArguments;
  read: { readonly data: string };
  remove: { readonly removed: string };
}

/** A reply that says what went wrong in the debuggee (one line). */
export class DebuggeeError extends Error {}

/**
 * A Python string literal for any JavaScript string, in ASCII: printable ASCII as is (quote and backslash
 * escaped), everything else as \xNN, \uNNNN or \UNNNNNNNN. Lone surrogates become \uD8xx, as Python keeps them.
 */
export function pyStr(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return `${out}'`;
}

const CODE_LITERAL = pyStr(DEBUGGEE_CODE);

/**
 * The evaluate expression for a request, run in the paused frame: `globals()` and `locals()` there are the
 * frame's. The code runs in a fresh namespace of its own (nothing is left in the debuggee's), through the
 * builtins module in case the program shadows exec.
 */
export function debuggeeExpression(request: DebuggeeRequest): string {
  return `(lambda __cel: (__import__('builtins').exec(${CODE_LITERAL}, __cel), __cel['OUT'])[1])({'G': globals(), 'L': locals(), 'ARG': ${pyStr(JSON.stringify(request))}})`;
}

/**
 * The reply from an evaluate response's `result`: the debugger shows the returned str as its repr, which for
 * base64 text is that text between quotes.
 */
export function parseReply<K extends DebuggeeRequest['op']>(result: string): DebuggeeReplies[K] {
  const m = /^(['"])([A-Za-z0-9+/=]*)\1$/.exec(result.trim());
  if (!m) throw new DebuggeeError(`the debugger answered ${JSON.stringify(result.slice(0, 200))}, not the lens's reply`);
  // base64ToBytes decodes with Node's Buffer on the extension host: atob and a byte loop took 140-270 ms of
  // its thread for each 3 MB chunk of a value copied through the debugger.
  const json = new TextDecoder().decode(base64ToBytes(m[2]!));
  const reply = JSON.parse(json) as DebuggeeReplies[K] | { error: string };
  if (reply !== null && typeof reply === 'object' && 'error' in reply && typeof reply.error === 'string') throw new DebuggeeError(reply.error);
  return reply as DebuggeeReplies[K];
}

/** A value's label as a user writes it: logits, outputs.logits, batch["labels"], xs[0]. */
export function refLabel(ref: ValueRef): string {
  let s = ref.root;
  for (const [kind, v] of ref.steps) s += kind === 'attr' ? `.${v}` : `[${JSON.stringify(v)}]`;
  return s;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * The debugger's evaluateName (debugpy: `logits`, `outputs.logits`, `batch['labels']`, `xs[0]`) as a
 * ValueRef, or null when it is anything else (a call such as `len(batch)`, a key that is not a str or int
 * literal): the lens never evaluates it, so a key whose repr looks like code stays a key or is refused.
 */
export function parseEvaluateName(name: string): ValueRef | null {
  const head = IDENT.exec(name);
  if (!head) return null;
  const steps: RefStep[] = [];
  let i = head[0].length;
  while (i < name.length) {
    if (name[i] === '.') {
      const id = IDENT.exec(name.slice(i + 1));
      if (!id) return null;
      steps.push(['attr', id[0]]);
      i += 1 + id[0].length;
      continue;
    }
    if (name[i] !== '[') return null;
    const int = /^\[(-?\d{1,15})\]/.exec(name.slice(i));
    if (int) {
      steps.push(['index', Number(int[1])]);
      i += int[0].length;
      continue;
    }
    const lit = parsePyStringLiteral(name, i + 1);
    if (!lit || name[lit.end] !== ']') return null;
    steps.push(['key', lit.value]);
    i = lit.end + 1;
  }
  return { root: head[0], steps };
}

/**
 * A Python str literal as repr() writes it (single or double quotes; escapes \\ \' \" \n \r \t \xNN \uNNNN
 * \UNNNNNNNN) starting at `start`: its value and the index after its closing quote; null for anything else
 * (prefixes, triple quotes, other escapes).
 */
export function parsePyStringLiteral(s: string, start: number): { value: string; end: number } | null {
  const q = s[start];
  if (q !== "'" && q !== '"') return null;
  let out = '';
  let i = start + 1;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === q) return { value: out, end: i + 1 };
    if (ch === '\n' || ch === '\r') return null;
    if (ch !== '\\') {
      out += ch;
      i++;
      continue;
    }
    const e = s[i + 1];
    const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t' };
    if (e !== undefined && e in simple) {
      out += simple[e];
      i += 2;
      continue;
    }
    const width = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const hex = width ? s.slice(i + 2, i + 2 + width) : '';
    if (!width || !new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) return null;
    const code = parseInt(hex, 16);
    if (code > 0x10ffff) return null;
    out += String.fromCodePoint(code);
    i += 2 + width;
  }
  return null;
}

/**
 * Runs one request through `evaluate` (the DAP evaluate request in the paused frame; its `result`), each
 * failure one line: the debuggee's own (DebuggeeError's message), a debugger that did not answer (the
 * debuggee ended or runs), a reply that is not the lens's.
 */
export async function askDebuggee<K extends DebuggeeRequest['op']>(evaluate: (expression: string) => Promise<string>, request: DebuggeeRequest & { op: K }): Promise<DebuggeeReplies[K]> {
  let result: string;
  try {
    result = await evaluate(debuggeeExpression(request));
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    throw new LensError('io', `the debuggee did not answer (${m.split('\n')[0]}): it may have ended or be running`);
  }
  try {
    return parseReply<K>(result);
  } catch (e) {
    if (e instanceof DebuggeeError) throw new LensError('value', e.message);
    throw new LensError('io', `the debuggee's reply could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}
