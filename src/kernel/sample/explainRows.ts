// One element's breakdown as the view receives it: the rows it shows, not arrays of C values. At 50,257
// classes the whole explanation was 3.9 MB per hover (78 MB at a million), sorted on the host to pick the
// top classes, for a table of twelve rows. Pure: the host's session and the notebook page's both use it.
import { topIndices } from '../topIndices';
import type { ElementExplanation } from '../types';

/** Rows of the breakdown: every class up to this many, else the target, the prediction and the most probable. */
export const MAX_EXPLAIN_ROWS = 12;

/** ElementExplanation's per-class values for `classes` only (ascending), plus what the view derives from all C. */
export interface ExplainedElement {
  readonly index: readonly number[];
  /** Classes in all (rows not listed are summarized as hidden). */
  readonly C: number;
  /** The first class of largest probability (NaN skipped unless every one is NaN), as argmax gives it. */
  readonly predicted: number;
  /** The classes with a row, ascending; the arrays below hold their values in this order. */
  readonly classes: readonly number[];
  readonly inputs: readonly number[];
  readonly logProbs: readonly number[];
  readonly probs: readonly number[];
  readonly expShifted: readonly number[] | null;
  readonly targetProbs: readonly number[] | null;
  readonly max: number | null;
  readonly sumExp: number | null;
  readonly target: number | null;
  readonly ignored: boolean;
  readonly weight: number;
  readonly nll: number | null;
  readonly smoothing: number | null;
  readonly loss: number;
}

function argmax(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best] || (v[best] !== v[best] && v[i] === v[i])) best = i;
  return best;
}

export function explainedForView(e: ElementExplanation, maxRows = MAX_EXPLAIN_ROWS): ExplainedElement {
  const C = e.inputs.length;
  const predicted = argmax(e.probs);
  const t = e.target;
  let classes: number[];
  if (C <= maxRows) classes = Array.from({ length: C }, (_, c) => c);
  else {
    const set = new Set<number>();
    if (t !== null && t >= 0 && t < C) set.add(t);
    set.add(predicted);
    // NaN ranks as 0 here, as a probability of nothing.
    for (const c of topIndices(C, (c) => e.probs[c] || 0, maxRows)) {
      if (set.size >= maxRows) break;
      set.add(c);
    }
    classes = [...set].sort((a, b) => a - b);
  }
  const pick = (v: readonly number[]): number[] => classes.map((c) => v[c]);
  return {
    index: e.index, C, predicted, classes,
    inputs: pick(e.inputs), logProbs: pick(e.logProbs), probs: pick(e.probs),
    expShifted: e.expShifted ? pick(e.expShifted) : null, targetProbs: e.targetProbs ? pick(e.targetProbs) : null,
    max: e.max, sumExp: e.sumExp, target: e.target, ignored: e.ignored, weight: e.weight, nll: e.nll, smoothing: e.smoothing, loss: e.loss,
  };
}
