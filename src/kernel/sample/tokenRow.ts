// One token's class row of a language-model input: where its C values sit in the input, and what the token
// view's hover shows about it (top classes, p(target), the target's rank, its loss), in float64. Pure: the
// worker job (src/worker/jobs/tokenDetails.ts) and the notebook page's own session both use it. O(C) per row.
import { LensError, fmtShape } from '../../errors';
import { normalizeAxis } from '../options';
import type { InputKind } from '../types';

/** Where row `row` (a flat index into the loss map) keeps its C class values: offset + c * stride. */
export interface RowLayout {
  readonly offset: number;
  readonly stride: number;
  readonly C: number;
  /** Rows in the loss map. */
  readonly rows: number;
}

/**
 * The class values of loss-map element `row` for an input of `inputShape` with the class axis `classDim`
 * (PyTorch's: 1 for (N, C, ...), -1 for class-last [B, T, V]). A 1-D input (C) is one row.
 */
export function tokenRowLayout(inputShape: readonly number[], classDim: number, row: number): RowLayout {
  const nd = inputShape.length;
  if (nd === 0) throw new LensError('shape', 'a 0-d input has no classes');
  const axis = nd === 1 ? 0 : normalizeAxis(classDim, nd);
  if (axis === null) throw new LensError('option', `class dim ${classDim} is outside an input of shape ${fmtShape(inputShape)}`);
  const C = inputShape[axis];
  let rows = 1;
  for (let d = 0; d < nd; d++) if (d !== axis) rows *= inputShape[d];
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new LensError('value', `token ${row} is outside [0, ${rows - 1}]`);
  let stride = 1;
  for (let d = axis + 1; d < nd; d++) stride *= inputShape[d];
  // Unravel row over the dims without the class axis (last first), then place it with the input's strides.
  let rest = row;
  let offset = 0;
  let step = 1;
  for (let d = nd - 1; d >= 0; d--) {
    if (d === axis) {
      step *= C;
      continue;
    }
    const i = rest % inputShape[d];
    rest = Math.floor(rest / inputShape[d]);
    offset += i * step;
    step *= inputShape[d];
  }
  return { offset, stride, C, rows };
}

export interface TokenTop {
  readonly id: number;
  readonly prob: number;
}

export interface TokenRowDetails {
  /**
   * The token's loss as reduction='none' gives it, in float64: -log p(target), scaled by the target's class
   * weight and mixed with the smoothing term when the result has them (NaN for an ignored token).
   */
  readonly loss: number;
  readonly pTarget: number;
  /** 1 = the most likely class; ties rank together (classes strictly above + 1); 0 when there is no target class. */
  readonly rank: number;
  /** The k most likely classes, most likely first (ties: lower id first). */
  readonly top: readonly TokenTop[];
}

/** log p of every class of one row (float64), from logits (log-softmax with the max subtracted), probs or log-probs. */
function logProbs(x: ArrayLike<number>, offset: number, stride: number, C: number, kind: InputKind): Float64Array {
  const lp = new Float64Array(C);
  if (kind === 'log-probs') {
    for (let c = 0; c < C; c++) lp[c] = x[offset + c * stride];
    return lp;
  }
  if (kind === 'probs') {
    for (let c = 0; c < C; c++) lp[c] = Math.log(x[offset + c * stride]);
    return lp;
  }
  let m = -Infinity;
  let nan = false;
  for (let c = 0; c < C; c++) {
    const v = x[offset + c * stride];
    lp[c] = v;
    if (v > m) m = v;
    else if (v !== v) nan = true;
  }
  if (nan || m === Infinity) return lp.fill(NaN);
  let z = 0;
  for (let c = 0; c < C; c++) z += Math.exp(lp[c] - m);
  const lse = m + Math.log(z);
  for (let c = 0; c < C; c++) lp[c] -= lse;
  return lp;
}

/** NaN sorts below everything. */
function above(a: number, ia: number, b: number, ib: number): boolean {
  if (a !== a) return false;
  if (b !== b) return true;
  return a > b || (a === b && ia < ib);
}

/** What of the result's options a token's loss depends on beyond its row and target. */
export interface TokenLossTerms {
  /** Class weights (F.cross_entropy's weight, C values), or null. */
  readonly weight: ArrayLike<number> | null;
  readonly labelSmoothing: number;
  readonly ignoreIndex: number;
}

const PLAIN: TokenLossTerms = { weight: null, labelSmoothing: 0, ignoreIndex: -100 };

/**
 * PyTorch's reduction='none' value for one row (the loss map's): (1 - eps) w[t] (-log p_t) + eps / C
 * sum_c w[c] (-log p_c). The hover must show the loss map's number, so weight and smoothing enter here too.
 */
function rowLoss(lp: Float64Array, target: number, C: number, terms: TokenLossTerms): number {
  const w = terms.weight;
  const eps = terms.labelSmoothing;
  const nll = -lp[target] * (w ? w[target] : 1);
  if (!(eps > 0)) return nll;
  let smooth = 0;
  for (let c = 0; c < C; c++) smooth -= lp[c] * (w ? w[c] : 1);
  return (1 - eps) * nll + (eps / C) * smooth;
}

/** What the token view's hover shows for one row: O(C) time, O(C) memory for the row's log-probabilities. */
export function tokenRowDetails(
  x: ArrayLike<number>, offset: number, stride: number, C: number, target: number, kind: InputKind, k = 5, terms: TokenLossTerms = PLAIN,
): TokenRowDetails {
  const lp = logProbs(x, offset, stride, C, kind);
  const hasTarget = Number.isInteger(target) && target >= 0 && target < C;
  const ignored = target === terms.ignoreIndex;
  let rank = 0;
  if (hasTarget) {
    const t = lp[target];
    rank = 1;
    for (let c = 0; c < C; c++) if (lp[c] > t) rank++;
  }
  // Top k by insertion into a sorted list of at most k (k is small).
  const ids: number[] = [];
  const vals: number[] = [];
  const K = Math.min(k, C);
  for (let c = 0; c < C; c++) {
    const v = lp[c];
    let j: number;
    if (ids.length < K) {
      ids.push(c);
      vals.push(v);
      j = ids.length - 1;
    } else if (K > 0 && above(v, c, vals[K - 1], ids[K - 1])) {
      j = K - 1;
      ids[j] = c;
      vals[j] = v;
    } else continue;
    // Bubble the new entry up to its place.
    while (j > 0 && above(vals[j], ids[j], vals[j - 1], ids[j - 1])) {
      const tv = vals[j]; vals[j] = vals[j - 1]; vals[j - 1] = tv;
      const ti = ids[j]; ids[j] = ids[j - 1]; ids[j - 1] = ti;
      j--;
    }
  }
  return {
    loss: hasTarget && !ignored ? rowLoss(lp, target, C, terms) : NaN,
    pTarget: hasTarget ? Math.exp(lp[target]) : NaN,
    rank,
    top: ids.map((id, i) => ({ id, prob: Math.exp(vals[i]) })),
  };
}
