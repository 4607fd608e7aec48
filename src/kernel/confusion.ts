// Confusion at any class count. A full C x C matrix costs C² memory and messages, which at language-model
// vocabularies (C = 32,000 to 262,144) is gigabytes to terabytes. Up to CONFUSION_MATRIX_MAX_CLASSES the
// matrix is kept; above that, only the off-diagonal (target, predicted) pairs that actually occur are
// counted, exactly, in a map keyed by target * C + predicted: there are at most as many as wrong elements,
// so memory follows the data (O(N)), never C². The most frequent pairs come out of that map.
export const CONFUSION_MATRIX_MAX_CLASSES = 1024;
/** How many pairs the top-confusions list holds. */
export const TOP_CONFUSIONS = 100;

export interface ConfusionPair {
  readonly target: number;
  readonly predicted: number;
  readonly count: number;
}

/** Whether statistics for C classes keep the full matrix (else they count pairs). */
export function keepsMatrix(C: number): boolean {
  return C <= CONFUSION_MATRIX_MAX_CLASSES;
}

/**
 * Off-diagonal pair counts, keyed by target * C + predicted (exact up to C = 2^26, far above any
 * vocabulary: the key stays below 2^53).
 */
export type PairCounts = Map<number, number>;

/** Adds every pair of b into a. Counts are integers, so the order of merging does not matter. */
export function mergePairs(a: PairCounts, b: ReadonlyMap<number, number>): void {
  for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
}

/** A before b: the larger count first; ties by target, then predicted (so the list is deterministic). */
function before(a: ConfusionPair, b: ConfusionPair): boolean {
  return a.count > b.count || (a.count === b.count && (a.target < b.target || (a.target === b.target && a.predicted < b.predicted)));
}

/** Keeps the k best pairs in a sorted list (insertion into a list of at most k). */
function pushTop(list: ConfusionPair[], e: ConfusionPair, k: number): void {
  if (list.length >= k && !before(e, list[list.length - 1])) return;
  let j = list.length < k ? list.length : k - 1;
  while (j > 0 && before(e, list[j - 1])) {
    if (j < k) list[j] = list[j - 1];
    j--;
  }
  list[j] = e;
}

/** The k most frequent pairs of a pair map: O(P log k)-ish for P pairs, no sort of the whole map. */
export function topPairs(pairs: ReadonlyMap<number, number>, C: number, k = TOP_CONFUSIONS): ConfusionPair[] {
  const out: ConfusionPair[] = [];
  for (const [key, count] of pairs) {
    if (count <= 0) continue;
    const target = Math.floor(key / C);
    pushTop(out, { target, predicted: key - target * C, count }, k);
  }
  return out;
}

/** The k most frequent off-diagonal cells of a row-major C x C matrix. */
export function topPairsOfMatrix(confusion: ArrayLike<number>, C: number, k = TOP_CONFUSIONS): ConfusionPair[] {
  const out: ConfusionPair[] = [];
  for (let t = 0; t < C; t++) {
    for (let p = 0; p < C; p++) {
      const count = confusion[t * C + p];
      if (t !== p && count > 0) pushTop(out, { target: t, predicted: p, count }, k);
    }
  }
  return out;
}

/**
 * Counts the elements [i0, i1) of a job: the true positives per class (into tp) and the off-diagonal pairs
 * (into pairs). Ignored elements and targets outside [0, C) (only ignored ones reach here) are skipped.
 */
export function countPairs(
  target: ArrayLike<number>, predicted: ArrayLike<number>, i0: number, i1: number, C: number, ignoreIndex: number,
  tp: Float64Array, pairs: PairCounts,
): void {
  for (let i = i0; i < i1; i++) {
    const t = target[i];
    if (t === ignoreIndex || t < 0 || t >= C) continue;
    const p = predicted[i];
    if (p === t) tp[t]++;
    else if (p >= 0 && p < C) {
      const key = t * C + p;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
  }
}
