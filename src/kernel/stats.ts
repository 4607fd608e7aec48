// Statistics the UI shows next to the loss: per-class table, confusion matrix, worst elements.
// Built in two steps so parallel work merges exactly: accumulate a StatsPartial per chunk (counts are
// integers in float64, so they merge exactly in any order; float sums merge in chunk order), then finalize.
import { unravelIndex } from '../errors';
import { perClassLength } from './classLimits';
import { keepsMatrix, mergePairs, topPairs, topPairsOfMatrix, type PairCounts } from './confusion';
import type { FocalMaps } from './losses/focal';
import type { ClassStats, LossStats, WorstElement } from './types';
import type { BceProblem, Problem } from './validate';

export interface WorstEntry {
  readonly flat: number;
  readonly loss: number;
  readonly target: number;
  readonly predicted: number;
}

export interface StatsPartial {
  readonly C: number;
  numerator: number;
  denominator: number;
  /** Label smoothing with index targets: the separately reduced terms PyTorch mixes (see reducedValue). */
  nllSum: number;
  smoothSum: number;
  /** focal only: plain cross-entropy's reduction with the same weight (see CeCompanion). */
  ceNumerator: number;
  ceDenominator: number;
  ignored: number;
  nan: number;
  inf: number;
  readonly lossSum: Float64Array;
  readonly count: Float64Array;
  readonly predicted: Float64Array;
  readonly ignoredPerClass: Float64Array;
  /** Correctly predicted elements of each class (ce: confusion diagonal; bce: true positives). */
  readonly tp: Float64Array;
  /** Elements whose target is this class (ce: = count; bce: positive targets). */
  readonly positives: Float64Array;
  /** bce only: correct predictions (tp + tn) per channel. */
  readonly correct: Float64Array;
  /** focal only (else empty): unweighted -log p_t summed per target class, for ClassStats.ceMean. */
  readonly ceSum: Float64Array;
  /** Row-major C x C counts while C is small enough (keepsMatrix), else empty. */
  readonly confusion: Float64Array;
  /** Above that: the off-diagonal (target, predicted) pairs that occur, counted exactly (tp holds the diagonal). */
  readonly pairs: PairCounts | null;
  worst: WorstEntry[];
}

/**
 * Statistics that count nothing yet; `withConfusion`: a matrix for small C, pair counts above that;
 * `withCe`: per-class cross-entropy sums (focal). `elements`: loss elements the statistics will count; none
 * leaves out the per-class arrays above a small C (perClassLength), so a header's claim of C allocates nothing.
 */
export function emptyPartial(C: number, withConfusion: boolean, withCe = false, elements = Infinity): StatsPartial {
  const K = perClassLength(C, elements);
  const z = (): Float64Array => new Float64Array(K);
  const matrix = withConfusion && keepsMatrix(C) && K === C;
  return {
    C, numerator: 0, denominator: 0, nllSum: 0, smoothSum: 0, ceNumerator: 0, ceDenominator: 0, ignored: 0, nan: 0, inf: 0,
    lossSum: z(), count: z(), predicted: z(), ignoredPerClass: z(), tp: z(), positives: z(), correct: z(),
    ceSum: new Float64Array(withCe ? K : 0),
    confusion: new Float64Array(matrix ? C * C : 0),
    pairs: withConfusion && !matrix ? new Map() : null,
    worst: [],
  };
}

/**
 * A partial without per-class arrays (each of length 0, so mergeInto adds nothing from them): the fast
 * path's jobs leave their per-class sums in shared memory, read by the host in job order. `withPairs`:
 * a (target, predicted) pair map for classes above the confusion matrix's limit.
 */
export function scalarPartial(C: number, withPairs: boolean): StatsPartial {
  return { ...emptyPartial(0, false), C, pairs: withPairs ? new Map() : null };
}

/** NaN is the worst loss of all: it is what a person most needs to find. Ties keep the earlier element. */
export function worse(a: WorstEntry, b: WorstEntry): boolean {
  const x = a.loss;
  const y = b.loss;
  if (x !== x) return y === y || a.flat < b.flat;
  if (y !== y) return false;
  return x > y || (x === y && a.flat < b.flat);
}

/** Inserts into a worst-first list capped at k. */
export function pushWorst(list: WorstEntry[], e: WorstEntry, k: number): void {
  if (k <= 0) return;
  if (list.length >= k && !worse(e, list[list.length - 1])) return;
  let j = list.length < k ? list.length : k - 1;
  while (j > 0 && worse(e, list[j - 1])) {
    if (j < k) list[j] = list[j - 1];
    j--;
  }
  list[j] = e;
}

/** Statistics of one problem's maps; `flatOffset` shifts worst-element offsets (a chunk of a larger map). */
export function accumulateStats(p: Problem, m: FocalMaps, topK: number, flatOffset = 0): StatsPartial {
  const C = p.C;
  const isBce = isElementwise(p);
  const ceMap = m.ce?.map ?? null;
  const M = m.lossMap.length;
  const s = emptyPartial(C, !isBce, ceMap !== null, M);
  const k = Math.max(0, Math.floor(topK));
  const inner = isBce ? p.inner : 1;
  for (let i = 0; i < M; i++) {
    const tc = m.targetClass[i];
    if (m.ignoredMask[i]) {
      s.ignored++;
      if (tc >= 0 && tc < C) s.ignoredPerClass[tc]++;
      continue;
    }
    const loss = m.lossMap[i];
    if (loss !== loss) s.nan++;
    else if (loss === Infinity || loss === -Infinity) s.inf++;
    const pc = m.predicted[i];
    const c = isBce ? Math.floor(i / inner) % C : tc;
    s.count[c]++;
    s.lossSum[c] += loss;
    if (ceMap) s.ceSum[c] += ceMap[i];
    if (isBce) {
      if (pc) s.predicted[c]++;
      if (tc) s.positives[c]++;
      if (pc === tc) s.correct[c]++;
      if (pc && tc) s.tp[c]++;
    } else {
      s.predicted[pc]++;
      if (s.pairs === null) s.confusion[tc * C + pc]++;
      else if (pc === tc) s.tp[tc]++;
      else {
        const key = tc * C + pc;
        s.pairs.set(key, (s.pairs.get(key) ?? 0) + 1);
      }
    }
    if (k > 0) pushWorst(s.worst, { flat: i + flatOffset, loss, target: tc, predicted: pc }, k);
  }
  if (!isBce) {
    for (let c = 0; c < s.count.length; c++) {
      if (s.pairs === null) s.tp[c] = s.confusion[c * C + c];
      s.positives[c] = s.count[c];
      s.correct[c] = s.tp[c];
    }
  }
  s.numerator = m.numerator;
  s.denominator = m.denominator;
  s.nllSum = m.smoothingParts?.nllSum ?? 0;
  s.smoothSum = m.smoothingParts?.smoothSum ?? 0;
  s.ceNumerator = m.ce?.numerator ?? 0;
  s.ceDenominator = m.ce?.denominator ?? 0;
  return s;
}

/** Adds `b` into `a` (a's float sums first, so merging in chunk order is deterministic). */
export function mergeInto(a: StatsPartial, b: StatsPartial, topK: number): void {
  a.numerator += b.numerator;
  a.denominator += b.denominator;
  a.nllSum += b.nllSum;
  a.smoothSum += b.smoothSum;
  a.ignored += b.ignored;
  a.nan += b.nan;
  a.inf += b.inf;
  const arrays = ['lossSum', 'count', 'predicted', 'ignoredPerClass', 'tp', 'positives', 'correct', 'confusion'] as const;
  for (const key of arrays) {
    const x = a[key];
    const y = b[key];
    for (let i = 0; i < y.length; i++) x[i] += y[i];
  }
  // Partials cross the worker boundary as plain objects: one from a worker bundle older than the focal
  // fields (a dist/ not yet rebuilt beside newer sources) has none, and adds nothing to them.
  const ce = b as Partial<Pick<StatsPartial, 'ceSum' | 'ceNumerator' | 'ceDenominator'>>;
  a.ceNumerator += ce.ceNumerator ?? 0;
  a.ceDenominator += ce.ceDenominator ?? 0;
  if (ce.ceSum) for (let i = 0; i < ce.ceSum.length; i++) a.ceSum[i] += ce.ceSum[i];
  if (a.pairs && b.pairs) mergePairs(a.pairs, b.pairs);
  for (const e of b.worst) pushWorst(a.worst, e, topK);
}

export function finalizeStats(s: StatsPartial, lossShape: readonly number[], weight: ArrayLike<number> | null, elementCount: number): LossStats {
  const C = s.C;
  // Per-class figures as far as the partial holds them: none for an empty loss map of many classes.
  const K = Math.min(C, s.count.length);
  let total = 0;
  let correctAll = 0;
  for (let c = 0; c < K; c++) {
    total += s.lossSum[c];
    correctAll += s.correct[c];
  }
  const perClass: ClassStats[] = [];
  for (let c = 0; c < K; c++) {
    const tp = s.tp[c];
    perClass.push({
      index: c,
      count: s.count[c],
      ignored: s.ignoredPerClass[c],
      lossSum: s.lossSum[c],
      lossMean: s.lossSum[c] / s.count[c],
      weight: weight ? weight[c] : 1,
      share: s.lossSum[c] / total,
      accuracy: s.correct[c] / s.count[c],
      iou: tp / (s.positives[c] + s.predicted[c] - tp),
      predicted: s.predicted[c],
      precision: tp / s.predicted[c],
      ...(s.ceSum.length > 0 ? { ceMean: s.ceSum[c] / s.count[c] } : {}),
    });
  }
  const worst: WorstElement[] = s.worst.map((w) => ({ ...w, index: unravelIndex(w.flat, lossShape) }));
  return {
    numClasses: C,
    perClass,
    confusion: s.confusion,
    topConfusions: s.pairs ? topPairs(s.pairs, C) : topPairsOfMatrix(s.confusion, s.confusion.length > 0 ? C : 0),
    ignoredCount: s.ignored,
    elementCount,
    accuracy: correctAll / (elementCount - s.ignored),
    nanCount: s.nan,
    infCount: s.inf,
    worst,
  };
}

export function computeStats(p: Problem, m: FocalMaps, topK: number): LossStats {
  return finalizeStats(accumulateStats(p, m, topK), p.lossShape, classWeights(p), m.lossMap.length);
}

/** bce and sigmoid-focal: one loss per input element, statistics per channel of the class axis. */
export function isElementwise(p: Problem): p is BceProblem {
  return p.loss === 'bce' || p.loss === 'sigmoid-focal';
}

/** The per-class weights the statistics report (cross-entropy's weight, focal's alpha); none for bce. */
export function classWeights(p: Problem): Float64Array | null {
  return p.loss === 'ce' || p.loss === 'focal' ? p.w : null;
}
