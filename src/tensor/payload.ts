// The notebook output payload (MIME application/vnd.cross-entropy-lens+json): { input, target, weight?,
// options? }. Notebook outputs come from anyone, so everything is checked and bounded; every problem is a
// one-line LensError naming where in the payload it is.
import { LensError } from '../errors';
import type { LossOptions } from '../kernel/types';
import { parseJsonTensor } from './json';
import type { Tensor } from './tensor';

export const PAYLOAD_MIME = 'application/vnd.cross-entropy-lens+json';
/** Largest payload (JSON text length, or decoded bytes) rendered; larger ones say so instead of freezing. */
export const MAX_PAYLOAD_BYTES = 64 << 20;
const MAX_CLASS_NAMES = 100_000;
const MAX_NAME_LENGTH = 200;

export interface Payload {
  readonly input: Tensor;
  readonly target: Tensor;
  readonly weight: Tensor | null;
  readonly options: Partial<LossOptions>;
  readonly classNames: readonly string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function sizeOf(v: unknown): number {
  // Strings dominate (base64); lists are counted by their elements' text roughly.
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) {
    let n = 0;
    for (const x of v) n += typeof x === 'number' ? 8 : sizeOf(x);
    return n;
  }
  if (isObject(v)) {
    let n = 0;
    for (const k of Object.keys(v)) n += sizeOf(v[k]);
    return n;
  }
  return 8;
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
  const loss = str('loss', ['ce', 'bce'] as const);
  if (loss) o.loss = loss;
  let classNames: string[] = [];
  const names = v.classNames;
  if (names !== undefined && names !== null) {
    if (!Array.isArray(names)) throw new LensError('format', 'payload.options.classNames must be a list of strings');
    if (names.length > MAX_CLASS_NAMES) throw new LensError('format', `payload.options.classNames has ${names.length} entries (at most ${MAX_CLASS_NAMES})`);
    // Names are shown as text only; long ones are cut so a hostile payload cannot blow up the layout.
    classNames = names.map((n) => String(n).slice(0, MAX_NAME_LENGTH));
  }
  return { options: o, classNames };
}

/** Decodes a payload that arrived as parsed JSON (or its JSON text). */
export function decodePayload(value: unknown): Payload {
  let v = value;
  if (typeof v === 'string') {
    if (v.length > MAX_PAYLOAD_BYTES) throw payloadTooLarge(v.length);
    try {
      v = JSON.parse(v) as unknown;
    } catch (e) {
      throw new LensError('format', `payload is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (!isObject(v)) throw new LensError('format', 'payload must be an object { input, target, weight?, options? }');
  const size = sizeOf(v);
  if (size > MAX_PAYLOAD_BYTES) throw payloadTooLarge(size);
  const { options, classNames } = optionsOf(v.options);
  return {
    input: tensorAt(v.input, 'input'),
    target: tensorAt(v.target, 'target'),
    weight: v.weight === undefined || v.weight === null ? null : tensorAt(v.weight, 'weight'),
    options,
    classNames,
  };
}

export function payloadTooLarge(bytes: number): LensError {
  return new LensError('io', `payload of ${(bytes / 2 ** 20).toFixed(1)} MB is over the ${MAX_PAYLOAD_BYTES / 2 ** 20} MB limit for notebook outputs — save the arrays with np.save and open them with Cross-Entropy Lens: Compute Loss…`);
}
