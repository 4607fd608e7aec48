// What a hover shows about literals, as plain data: parsing, summary statistics, the softmax preview and
// the cross-entropy of an input/target pair. Pure and structured-clone safe, so the same function runs on
// the extension host for small literals and in a worker thread for large ones, with identical results.

import { LensError, unravelIndex } from '../errors';
import { computeLoss } from '../kernel/index';
import { fitPair, type TensorMeta } from '../kernel/roles';
import { normalizeAxis, resolveOptions } from '../kernel/options';
import { sampleProbabilities } from '../kernel/sample/softmax';
import type { InputKind, LossOptions } from '../kernel/types';
import { MAX_TENSOR_DIMS, parseJsonDocument, parseJsonTensor, type JsonDocument } from '../tensor/text/json';
import { parsePrintedTensor } from '../tensor/text/printed';
import { ClaimedValues, indexText, storeValues } from '../tensor/values';
import { type Tensor, type TensorData, isFloatDType } from '../tensor/tensor';
import type { LiteralSyntax } from './scan';

/** Summary statistics of a tensor's values (or of a sample of them). */
export interface TensorStats {
  readonly count: number;
  readonly nanCount: number;
  readonly posInfCount: number;
  readonly negInfCount: number;
  /** Over values that are not NaN (NaN when there are none). */
  readonly min: number;
  readonly max: number;
  /** Over finite values (NaN when there are none). */
  readonly mean: number;
}

/** Accumulates TensorStats over pieces of data (blocks of a file, or one whole array). */
export class StatsAccumulator {
  private count = 0;
  private nan = 0;
  private posInf = 0;
  private negInf = 0;
  private min = Infinity;
  private max = -Infinity;
  private sum = 0;
  private finite = 0;

  add(data: ArrayLike<number>): void {
    let min = this.min;
    let max = this.max;
    let sum = 0;
    let nan = 0;
    let posInf = 0;
    let negInf = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v !== v) nan++;
      else {
        if (v < min) min = v;
        if (v > max) max = v;
        if (v === Infinity) posInf++;
        else if (v === -Infinity) negInf++;
        else sum += v;
      }
    }
    this.min = min;
    this.max = max;
    this.sum += sum;
    this.nan += nan;
    this.posInf += posInf;
    this.negInf += negInf;
    this.finite += data.length - nan - posInf - negInf;
    this.count += data.length;
  }

  result(): TensorStats {
    const any = this.count - this.nan > 0;
    return {
      count: this.count,
      nanCount: this.nan,
      posInfCount: this.posInf,
      negInfCount: this.negInf,
      min: any ? this.min : NaN,
      max: any ? this.max : NaN,
      mean: this.finite > 0 ? this.sum / this.finite : NaN,
    };
  }
}

export function tensorStats(data: ArrayLike<number>): TensorStats {
  const acc = new StatsAccumulator();
  acc.add(data);
  return acc.result();
}

/** Probabilities of the first rows of a 1-D or 2-D float array read as the input kind in the settings. */
export interface ProbsPreview {
  readonly kind: InputKind;
  readonly rowCount: number;
  readonly classCount: number;
  /** Up to PREVIEW_ROWS rows, each with up to PREVIEW_CLASSES probabilities (classes 0..k-1). */
  readonly rows: ReadonlyArray<{ readonly row: number; readonly probs: readonly number[]; readonly argmax: number }>;
}

export const PREVIEW_ROWS = 3;
export const PREVIEW_CLASSES = 8;
/** Rows of the per-sample loss shown. */
export const LOSS_ROWS = 5;

export type TensorReport =
  | { readonly ok: true; readonly shape: readonly number[]; readonly dtype: string; readonly stats: TensorStats; readonly preview: ProbsPreview | null }
  | { readonly ok: false; readonly error: string };

export interface LossRow {
  readonly index: readonly number[];
  readonly loss: number;
  /** The target class (index targets), or the argmax of a probability target. */
  readonly target: number;
  readonly predicted: number;
  readonly ignored: boolean;
}

export type LossReport =
  | {
      readonly ok: true;
      readonly options: LossOptions;
      readonly value: number | null;
      readonly numerator: number;
      readonly denominator: number;
      readonly lossShape: readonly number[];
      readonly targetKind: 'index' | 'probs' | 'binary';
      readonly rows: readonly LossRow[];
      readonly ignoredCount: number;
      readonly elementCount: number;
      /** The settings' class axis did not fit; the last one did (roles.ts fitPair). */
      readonly classLastFromShapes: boolean;
    }
  | { readonly ok: false; readonly error: string };

export interface LiteralText {
  readonly text: string;
  readonly syntax: LiteralSyntax;
  /** The JSON key or Python name, used in messages. */
  readonly name: string | null;
}

export interface ReportRequest {
  readonly literals: readonly LiteralText[];
  /** Which literal is hovered (its statistics are shown). */
  readonly hovered: number;
  /** Indices into literals of an input/target pair (and weight) to compute the loss of. */
  readonly pair: { readonly input: number; readonly target: number; readonly weight: number | null } | null;
  /** The settings' options (resolved with defaults here). */
  readonly options: Partial<LossOptions>;
}

export interface HoverReport {
  readonly tensor: TensorReport;
  readonly loss: LossReport | null;
}

function message(e: unknown): string {
  if (e instanceof LensError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

/** JSONC comments inside a list are whitespace; the JSON parser knows no comments. */
function blankComments(text: string): string {
  if (!text.includes('/')) return text;
  return text.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '));
}

/**
 * JSON.parse is several times faster than the float-marking parser on a large list, and for a literal
 * (numbers, booleans and brackets only) float-ness needs no per-number marks: the tensor is floating when
 * any number is written with a point or an exponent (NaN/Infinity make JSON.parse fail: the slow path).
 * Marking one innermost array is enough for parseJsonTensor, which types the whole tensor at once.
 */
function nativeJson(text: string): (JsonDocument & { readonly isFloat: boolean }) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const arrays = new WeakSet<object>();
  const isFloat = /[.eE]/.test(text);
  if (isFloat) {
    let inner: unknown = value;
    while (Array.isArray(inner) && Array.isArray(inner[0])) inner = inner[0];
    if (Array.isArray(inner)) arrays.add(inner);
  }
  return { value, isFloat, marks: { arrays, keys: new WeakMap(), root: typeof value === 'number' && isFloat } };
}

/**
 * The common case of a large literal, flattened in one tight pass: a non-empty rectangular nested list of
 * numbers. Anything else (booleans, ragged lists, empty lists) returns undefined, and parseJsonTensor
 * handles it with its own messages; the dtypes are the ones parseJsonTensor gives (float64 or int64).
 */
function rectangular(value: unknown, isFloat: boolean, path: string): Tensor | undefined {
  const shape: number[] = [];
  for (let cur: unknown = value; Array.isArray(cur); cur = cur[0]) {
    // Too deep for a tensor (and for the recursive walk below): parseJsonTensor says so.
    if (cur.length === 0 || shape.length === MAX_TENSOR_DIMS) return undefined;
    shape.push(cur.length);
  }
  if (shape.length === 0) return undefined;
  const values = new ClaimedValues(shape.reduce((a, b) => a * b, 1));
  const last = shape.length - 1;
  const walk = (a: unknown[], depth: number): boolean => {
    if (a.length !== shape[depth]) return false;
    if (depth === last) {
      for (let i = 0; i < a.length; i++) {
        const v = a[i];
        if (typeof v !== 'number') return false;
        values.push(v);
      }
      return true;
    }
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (!Array.isArray(v) || !walk(v, depth + 1)) return false;
    }
    return true;
  };
  if (!walk(value as unknown[], 0)) return undefined;
  return storeValues(values.values, shape, isFloat ? 'float64' : 'int64', (i) => (path === '$' ? indexText(i, shape) : `${indexText(i, shape)} of ${path}`));
}

/**
 * Reads one literal as its document would be read: JSON lists like a .json tensor file (floats are
 * float64, integers int64), Python text like a printed tensor (torch.tensor floats are float32).
 */
export function parseLiteral(l: LiteralText): Tensor {
  if (l.syntax === 'json') {
    const text = blankComments(l.text);
    const path = l.name === null ? '$' : l.name;
    const fast = nativeJson(text);
    if (fast !== undefined) return rectangular(fast.value, fast.isFloat, path) ?? parseJsonTensor(fast.value, path, fast.marks);
    const doc = parseJsonDocument(text);
    return parseJsonTensor(doc.value, path, doc.marks);
  }
  return parsePrintedTensor(l.text, l.name ?? undefined);
}

function preview(t: Tensor, options: LossOptions): ProbsPreview | null {
  const nd = t.shape.length;
  if (!isFloatDType(t.dtype) || nd < 1 || nd > 2 || t.data.length === 0) return null;
  // A 2-D array's class axis comes from the classDim setting (1 or -1 for (N, C)); a 1-D one is (C).
  const axis = nd === 1 ? 0 : normalizeAxis(options.classDim, nd);
  if (axis === null) return null;
  const C = t.shape[axis];
  const R = nd === 1 ? 1 : t.shape[1 - axis];
  const rowStride = nd === 1 ? 0 : axis === 1 ? C : 1;
  const classStride = nd === 1 ? 1 : axis === 1 ? 1 : R;
  const rows: Array<{ row: number; probs: number[]; argmax: number }> = [];
  const x = new Float64Array(C);
  for (let r = 0; r < Math.min(R, PREVIEW_ROWS); r++) {
    for (let c = 0; c < C; c++) x[c] = t.data[r * rowStride + c * classStride];
    const p = sampleProbabilities(x, C, 1, options.inputKind, 'ce');
    let best = 0;
    // NaN wins, as torch.argmax does.
    for (let c = 1; c < C; c++) if (p[c] > p[best] || (p[c] !== p[c] && p[best] === p[best])) best = c;
    rows.push({ row: r, probs: Array.from(p.subarray(0, Math.min(C, PREVIEW_CLASSES))), argmax: best });
  }
  return { kind: options.inputKind, rowCount: R, classCount: C, rows };
}

export function tensorReport(t: Tensor, options: LossOptions): TensorReport {
  return { ok: true, shape: t.shape, dtype: t.dtype, stats: tensorStats(t.data as TensorData), preview: preview(t, options) };
}

function metaOf(id: string, t: Tensor): TensorMeta {
  return { id, name: id, shape: t.shape, dtype: t.dtype };
}

function lossReport(input: Tensor, target: Tensor, weight: Tensor | null, settings: LossOptions): LossReport {
  try {
    // As the pickers do: a pair that fits only with the class axis last ([B, T, V] with [B, T]) computes so.
    const fit = fitPair(metaOf('input', input), metaOf('target', target), settings, weight === null ? undefined : metaOf('weight', weight));
    const classLastFromShapes = fit.kind === 'fits' && fit.classLastFromShapes;
    const options: LossOptions = classLastFromShapes ? { ...settings, classDim: -1 } : settings;
    const r = computeLoss({ input, target, weight, options, topK: 0 });
    const rows: LossRow[] = [];
    for (let i = 0; i < Math.min(LOSS_ROWS, r.lossMap.length); i++) {
      rows.push({ index: unravelIndex(i, r.lossShape), loss: r.lossMap[i], target: r.targetClass[i], predicted: r.predicted[i], ignored: r.ignoredMask[i] === 1 });
    }
    return {
      ok: true, options: r.options, value: r.value, numerator: r.numerator, denominator: r.denominator, lossShape: r.lossShape,
      targetKind: r.targetKind, rows, ignoredCount: r.stats.ignoredCount, elementCount: r.stats.elementCount, classLastFromShapes,
    };
  } catch (e) {
    return { ok: false, error: message(e) };
  }
}

/** Everything a literal hover shows. Errors become messages (one line each), never exceptions. */
export function hoverReport(req: ReportRequest): HoverReport {
  let options: LossOptions;
  try {
    options = resolveOptions(req.options);
  } catch (e) {
    return { tensor: { ok: false, error: message(e) }, loss: null };
  }
  const parsed = req.literals.map((l): Tensor | string => {
    try {
      return parseLiteral(l);
    } catch (e) {
      return message(e);
    }
  });
  const hovered = parsed[req.hovered];
  const tensor: TensorReport = typeof hovered === 'string' ? { ok: false, error: hovered } : tensorReport(hovered, options);
  let loss: LossReport | null = null;
  if (req.pair !== null) {
    const { input, target, weight } = req.pair;
    const parts = [parsed[input], parsed[target], weight === null ? null : parsed[weight]];
    const bad = parts.find((p): p is string => typeof p === 'string');
    loss = bad !== undefined ? { ok: false, error: bad } : lossReport(parts[0] as Tensor, parts[1] as Tensor, parts[2] as Tensor | null, options);
  }
  return { tensor, loss };
}
