// The notebook output payload (MIME application/vnd.cross-entropy-lens+json): { input, target, weight?,
// options? }. Notebook outputs come from anyone, so everything is checked and bounded; every problem is a
// one-line LensError naming where in the payload it is.
import { LensError, quoteSnippet } from '../../errors';
import type { LossOptions } from '../../kernel/types';
import { MAX_TENSOR_DIMS, parseJsonTensor } from './json';
import type { Tensor } from '../tensor';
import { decodePayloadImage, type PayloadImage } from '../image/payloadImage';
import { decodeTokenizerOption, type Vocabulary } from './vocab';

export const PAYLOAD_MIME = 'application/vnd.cross-entropy-lens+json';
/** Largest payload (JSON text length, or decoded bytes) rendered; larger ones say so instead of freezing. */
export const MAX_PAYLOAD_BYTES = 64 << 20;
const MAX_CLASS_NAMES = 100_000;
const MAX_NAME_LENGTH = 200;
/** Lists and objects open at once in a payload: the payload object, a tensor record, a tensor's lists. */
export const MAX_PAYLOAD_DEPTH = MAX_TENSOR_DIMS + 2;

export interface Payload {
  readonly input: Tensor;
  readonly target: Tensor;
  readonly weight: Tensor | null;
  readonly options: Partial<LossOptions>;
  readonly classNames: readonly string[];
  /** Token strings for the token view (options.tokenizer, as the Python helper's tokenizer= writes them). */
  readonly tokenizer?: Vocabulary | null;
  /** The photo to draw the maps over (display(..., image=...)); a bad one decodes as { kind: 'invalid' }. */
  readonly image?: PayloadImage | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Whether JSON text opens more than `limit` lists or objects at once (brackets inside strings do not count).
 * Linear and allocation-free, it runs before JSON.parse: some engines' JSON.parse recurses, and so would
 * JSON.stringify or a structured clone of the result, so a 100k-level output is refused as text. UTF-8 bytes
 * scan like text: '"' and '\' never occur inside a multi-byte sequence. The text is not validated here.
 */
export function jsonNestsDeeperThan(text: string | Uint8Array, limit: number): boolean {
  return typeof text === 'string' ? textDeeperThan(text, limit) : bytesDeeperThan(text, limit);
}

// Two copies of one loop: a shared one reading through a callback runs 2-5x slower on 64 MB.
function textDeeperThan(s: string, limit: number): boolean {
  const n = s.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x22) {
      // Skip the string, escapes included; an unterminated one ends the scan (JSON.parse reports it).
      for (i++; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c) i++;
      }
    }
  }
  return false;
}

function bytesDeeperThan(b: Uint8Array, limit: number): boolean {
  const n = b.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x22) {
      for (i++; i < n; i++) {
        const d = b[i];
        if (d === 0x22) break;
        if (d === 0x5c) i++;
      }
    }
  }
  return false;
}

/** Checks a payload's JSON text (or UTF-8 bytes) before parsing: its size, and how deeply it nests. */
export function checkPayloadText(text: string | Uint8Array): void {
  if (text.length > MAX_PAYLOAD_BYTES) throw payloadTooLarge(text.length);
  if (jsonNestsDeeperThan(text, MAX_PAYLOAD_DEPTH)) throw tooDeep('payload', MAX_PAYLOAD_DEPTH);
}

function tooDeep(where: string, limit: number): LensError {
  return new LensError('format', `${where} is nested more than ${limit} levels deep (a tensor has at most ${MAX_TENSOR_DIMS} dimensions)`);
}

/**
 * Size estimate (strings dominate: base64; lists count their elements' text roughly) and a depth check in one
 * pass with an explicit stack: a recursive walk would overflow on a hostile 100k-level value before any
 * check could refuse it. `tooDeep` once a container sits more than `limit` levels down (the root is level 1).
 */
function measure(root: unknown, limit: number): { size: number; tooDeep: boolean } {
  if (typeof root === 'string') return { size: root.length, tooDeep: false };
  if (root === null || typeof root !== 'object') return { size: 8, tooDeep: false };
  let size = 0;
  const values: object[] = [root];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop() as object;
    const depth = depths.pop() as number;
    if (depth > limit) return { size, tooDeep: true };
    const items: readonly unknown[] = Array.isArray(v) ? v : Object.values(v);
    for (const x of items) {
      if (typeof x === 'string') size += x.length;
      else if (x !== null && typeof x === 'object') {
        values.push(x);
        depths.push(depth + 1);
      } else size += 8;
    }
  }
  return { size, tooDeep: false };
}

function memberPath(key: string): string {
  return /^[A-Za-z_$][\w$]{0,39}$/.test(key) ? `payload.${key}` : `payload[${quoteSnippet(key)}]`;
}

function tensorAt(v: unknown, path: string): Tensor {
  if (v === undefined || v === null) throw new LensError('format', `payload has no ${path}: expected { input, target, weight?, options? }`);
  return parseJsonTensor(v, `payload.${path}`);
}

function optionsOf(v: unknown): { options: Partial<LossOptions>; classNames: string[] } {
  if (v === undefined || v === null) return { options: {}, classNames: [] };
  if (!isObject(v)) throw new LensError('format', 'payload.options must be an object');
  const o: { -readonly [K in keyof LossOptions]?: LossOptions[K] } = {};
  const num = (k: string): number | undefined => {
    const x = v[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'number') throw new LensError('option', `payload.options.${k} must be a number, found ${typeof x}`);
    return x;
  };
  const str = <T extends string>(k: string, allowed: readonly T[]): T | undefined => {
    const x = v[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) throw new LensError('option', `payload.options.${k} must be one of ${allowed.join(', ')}`);
    return x as T;
  };
  const ii = num('ignoreIndex');
  if (ii !== undefined) o.ignoreIndex = ii;
  const ls = num('labelSmoothing');
  if (ls !== undefined) o.labelSmoothing = ls;
  const cd = num('classDim');
  if (cd !== undefined) o.classDim = cd;
  const red = str('reduction', ['none', 'mean', 'sum'] as const);
  if (red) o.reduction = red;
  const kind = str('inputKind', ['logits', 'probs', 'log-probs'] as const);
  if (kind) o.inputKind = kind;
  const loss = str('loss', ['ce', 'bce', 'focal', 'sigmoid-focal'] as const);
  if (loss) o.loss = loss;
  // Focal losses (resolveOptions checks their ranges and combinations like the CLI's).
  const gamma = num('gamma');
  if (gamma !== undefined) o.gamma = gamma;
  const alpha = num('alpha');
  if (alpha !== undefined) o.alpha = alpha;
  let classNames: string[] = [];
  const names = v.classNames;
  if (names !== undefined && names !== null) {
    if (!Array.isArray(names)) throw new LensError('format', 'payload.options.classNames must be a list of strings');
    if (names.length > MAX_CLASS_NAMES) throw new LensError('format', `payload.options.classNames has ${names.length} entries (at most ${MAX_CLASS_NAMES})`);
    // Names are shown as text only; long ones are cut so a hostile payload cannot blow up the layout. Only
    // primitives convert: String() of an object may throw ({"toString": 1}) or recurse.
    classNames = names.map((n: unknown, i) => {
      if (typeof n === 'string') return n.slice(0, MAX_NAME_LENGTH);
      if (typeof n === 'number' || typeof n === 'boolean' || n === null) return String(n);
      throw new LensError('format', `payload.options.classNames[${i}] must be a string, found ${Array.isArray(n) ? 'a list' : 'an object'}`);
    });
  }
  return { options: o, classNames };
}

/**
 * A large tensor the Python helper wrote beside the notebook: { file, bytes, sha256 }. Only the extension
 * host loads it (inside the notebook's trusted workspace folder, size and hash checked: src/host/editor/payloadFiles.ts).
 */
export interface TensorRef {
  readonly kind: 'ref';
  /** Relative POSIX path from the notebook's folder; no '..', no absolute path, no backslash or drive. */
  readonly file: string;
  readonly bytes: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

/** A payload whose input and target may be references (the weight is always inline). */
export interface PayloadWithRefs extends Omit<Payload, 'input' | 'target'> {
  readonly input: Tensor | TensorRef;
  readonly target: Tensor | TensorRef;
}

/** Largest file a reference may name (a [8, 21, 512, 512] float32 batch is 176 MB). */
export const MAX_REF_BYTES = 16 * 2 ** 30;
const MAX_REF_PATH = 1024;

/** What the page says for a reference: it cannot read files. */
export const REF_IN_PAGE_MESSAGE = "this output's data is in a file beside the notebook; open it in VS Code with the extension to compute";

export function isTensorRef(t: Tensor | TensorRef): t is TensorRef {
  return (t as Partial<TensorRef>).kind === 'ref';
}

/** Whether a payload value is shaped like a reference (an object with a "file" member). */
function looksLikeRef(v: unknown): v is Record<string, unknown> {
  return isObject(v) && 'file' in v;
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Validates a { file, bytes, sha256 } reference; every problem is a one-line LensError. */
export function parseTensorRef(v: unknown, path: string): TensorRef {
  if (!isObject(v)) throw new LensError('format', `${path} must be a { file, bytes, sha256 } reference`);
  const { file, bytes, sha256 } = v;
  if (typeof file !== 'string' || file.length === 0 || file.length > MAX_REF_PATH) {
    throw new LensError('format', `${path}.file must be a relative path of 1 to ${MAX_REF_PATH} characters`);
  }
  const unsafe =
    file.startsWith('/') ? 'is absolute'
    : /[\\]/.test(file) ? 'contains a backslash'
    : /^[A-Za-z]:/.test(file) ? 'names a drive'
    : file.includes(':') ? 'contains a colon'
    : hasControlChar(file) ? 'contains control characters'
    : file.split('/').some((part) => part === '..') ? "contains '..'"
    : file.split('/').some((part) => part === '') ? 'has an empty path segment'
    : null;
  if (unsafe !== null) throw new LensError('format', `${path}.file ${quoteSnippet(file)} ${unsafe}: a reference names a file beside the notebook`);
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_REF_BYTES) {
    throw new LensError('format', `${path}.bytes must be an integer from 0 to ${MAX_REF_BYTES}`);
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new LensError('format', `${path}.sha256 must be 64 hexadecimal digits`);
  }
  return { kind: 'ref', file, bytes, sha256: sha256.toLowerCase() };
}

/** Decodes a payload that arrived as parsed JSON (or its JSON text). References are refused here. */
export function decodePayload(value: unknown): Payload {
  const p = decodePayloadWithRefs(value);
  if (isTensorRef(p.input) || isTensorRef(p.target)) throw new LensError('io', REF_IN_PAGE_MESSAGE);
  return p as Payload;
}

/** Decodes a payload whose input and target may be { file, bytes, sha256 } references (the host's). */
export function decodePayloadWithRefs(value: unknown): PayloadWithRefs {
  let v = value;
  if (typeof v === 'string') {
    checkPayloadText(v);
    try {
      v = JSON.parse(v) as unknown;
    } catch (e) {
      throw new LensError('format', `payload is not valid JSON (${jsonErrorText(e)})`);
    }
  }
  if (!isObject(v)) throw new LensError('format', 'payload must be an object { input, target, weight?, options? }');
  // Before anything recursive touches the value: a host gets it already parsed, from any page.
  let size = 0;
  for (const key of Object.keys(v)) {
    const m = measure(v[key], MAX_PAYLOAD_DEPTH - 1);
    if (m.tooDeep) throw tooDeep(memberPath(key), MAX_PAYLOAD_DEPTH - 1);
    size += m.size;
  }
  if (size > MAX_PAYLOAD_BYTES) throw payloadTooLarge(size);
  const { options, classNames } = optionsOf(v.options);
  const tok = isObject(v.options) ? v.options.tokenizer : undefined;
  const tokenizer = tok === undefined || tok === null ? null : decodeTokenizerOption(tok);
  if (looksLikeRef(v.weight)) throw new LensError('format', 'payload.weight must be inline (only input and target may be file references)');
  return {
    input: looksLikeRef(v.input) ? parseTensorRef(v.input, 'payload.input') : inlineFloats(tensorAt(v.input, 'input'), Array.isArray(v.input) || typeof v.input === 'number'),
    target: looksLikeRef(v.target) ? parseTensorRef(v.target, 'payload.target') : binaryTarget(tensorAt(v.target, 'target'), Array.isArray(v.target), options),
    weight: v.weight === undefined || v.weight === null ? null : tensorAt(v.weight, 'weight'),
    options,
    classNames,
    tokenizer,
    image: decodePayloadImage(v.image),
  };
}

/**
 * An inline target of a binary loss (bce, sigmoid focal) holds floating point values, whatever JSON makes of
 * them: JSON numbers carry no dtype (Python's json writes 1.0, JavaScript reads back 1), so 0/1 labels written
 * as floats would otherwise arrive as int64, which binary_cross_entropy_with_logits and sigmoid_focal_loss
 * refuse. A {dtype, shape, data} record or a file keeps the dtype it names.
 */
function binaryTarget(t: Tensor, nestedList: boolean, options: Partial<LossOptions>): Tensor {
  return options.loss === 'bce' || options.loss === 'sigmoid-focal' ? inlineFloats(t, nestedList) : t;
}

/**
 * An inline value (nested lists, or a bare number) read as int64 is floating point where it must be: JSON
 * numbers carry no dtype, so the input's logits [[2.0, 0.0, -1.0]] written by Python's json arrive as whole
 * numbers (int64: an input dtype PyTorch refuses), and so do a binary loss's 0/1 targets. A {dtype, shape,
 * data} record (what the Python helper sends for arrays) keeps the dtype it names.
 */
function inlineFloats(t: Tensor, inline: boolean): Tensor {
  if (!inline || t.dtype !== 'int64') return t;
  return { dtype: 'float64', shape: t.shape, data: Float64Array.from(t.data) };
}

/** A JSON.parse error for a message: engines may quote the input, so it is cut. */
export function jsonErrorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.length > 120 ? text.slice(0, 120) + '…' : text;
}

export function payloadTooLarge(bytes: number): LensError {
  return new LensError('io', `payload of ${(bytes / 2 ** 20).toFixed(1)} MB is over the ${MAX_PAYLOAD_BYTES / 2 ** 20} MB limit for notebook outputs — save the arrays with np.save and open them with Cross-Entropy Lens: Compute Loss…`);
}
