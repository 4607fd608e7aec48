// Likely label errors as a view shows them (the panel and the notebook renderer): the reported positions in
// the loss map, with per-class counts and the given → predicted table read from the loss maps' target and
// predicted classes. Pure code: the host, the renderer's page and tests share it.
import { LABEL_ISSUE_TABLE_ROWS, type ViewLabelIssuesDone } from '../protocol';
import { commonIssues } from './labelIssues';

/** The flat positions where a mask is set, ascending. */
export function flaggedOfMask(mask: ArrayLike<number>): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Int32Array(n);
  let at = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[at++] = i;
  return out;
}

export interface ViewIssuesInput {
  /** Reported positions in the loss map, ascending. */
  readonly flagged: Int32Array;
  /** Each loss-map element's target class and predicted class (the loss maps'). */
  readonly target: ArrayLike<number>;
  readonly predicted: ArrayLike<number>;
  readonly classes: number;
  /** Labelled (non-ignored) elements. */
  readonly examples: number;
  readonly origin: string;
  readonly rule: ViewLabelIssuesDone['rule'];
  readonly show?: boolean;
}

/**
 * The view's label issues. The predicted class is the loss maps' (the first largest logit), which is the first
 * largest float64 probability that cleanlab's table uses: the softmax keeps the order of distinct logits
 * unless they differ by less than the float64 exp can tell apart near 1 (about 1e-16).
 */
export function viewLabelIssues(a: ViewIssuesInput): ViewLabelIssuesDone {
  const perClass = new Array<number>(a.classes).fill(0);
  const pairs: Array<readonly [number, number]> = [];
  for (const i of a.flagged) {
    const given = a.target[i]!;
    if (given >= 0 && given < a.classes) perClass[given] += 1;
    pairs.push([given, a.predicted[i]!]);
  }
  const all = commonIssues(pairs, Infinity);
  return {
    state: 'done',
    count: a.flagged.length,
    examples: a.examples,
    origin: a.origin,
    rule: a.rule,
    flagged: a.flagged,
    perClass,
    table: all.slice(0, LABEL_ISSUE_TABLE_ROWS),
    pairs: all.length,
    ...(a.show ? { show: true } : {}),
  };
}

/** The positions of sample n's reported elements within the sample's map of `perSample` elements (n -1: all). */
export function flaggedInSample(flagged: Int32Array, n: number, perSample: number): Int32Array {
  if (n < 0) return flagged;
  const lo = lowerBound(flagged, n * perSample);
  const hi = lowerBound(flagged, (n + 1) * perSample);
  return flagged.subarray(lo, hi).map((v) => v - n * perSample);
}

function lowerBound(a: Int32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
