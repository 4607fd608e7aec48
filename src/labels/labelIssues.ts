// Confident learning's label issues, as cleanlab 2.x computes them with default arguments
// (docs/label-issues.md; its outputs are the reference fixtures, its code is not used): per-class thresholds
// from the mean self-confidence of each given class (pass 1), then per example its self-confidence, its
// predicted class and whether that prediction is confident (pass 2); the number of issues T is the count
// of confident predictions that disagree with the label, the candidates are the T examples of lowest
// self-confidence, and a candidate is reported unless its label is (nearly) the prediction.
// Pure: the CLI, the workers and tests share it. Ignored examples are left out before anything here.
import { LensError } from '../errors';
import { argsortNumpy, NUMPY_SUM_BLOCK, pairwiseSumNumpy } from './numpyOrder';

/** Added to or subtracted from a probability in cleanlab's comparisons (docs/label-issues.md §2). */
export const EPS = 1e-6;
/** Thresholds are never below this. */
export const THRESHOLD_FLOOR = 2e-6;
/** find_label_issues_batched's batch size (examples). */
export const BATCH = 10_000;
/** The image score's softmin temperature (cleanlab.segmentation.rank, method softmin). */
export const SOFTMIN_TEMPERATURE = 0.1;
/** Rows of the given → predicted table (cleanlab.segmentation.summary.common_label_issues' top). */
export const COMMON_ISSUES_TOP = 20;

/**
 * classification: find_label_issues_batched (a candidate is dropped when its label is the argmax once 1e-6
 * is added to its probability); segmentation: cleanlab.segmentation.filter.find_label_issues (dropped when
 * the first argmax is the label, nothing added).
 */
export type IssueRule = 'classification' | 'segmentation';

/**
 * Pass 1: running per-class means of the given class's probability over batches, as the batched label
 * inspector combines them: t = (n t + c m) / max(n + c, 1), each batch mean and each t floored at 2e-6. A
 * class never labelled keeps 2e-6.
 */
export class ThresholdPass {
  private readonly t: Float64Array;
  private readonly n: Float64Array;
  private readonly batchSum: Float64Array;
  private readonly batchCount: Float64Array;
  /**
   * cleanlab takes np.mean of each class's values in a batch: NumPy sums blocks of 8192 values pairwise and
   * the blocks left to right. A plain left-to-right sum differs in the last bits, which decides a probability
   * lying exactly on a threshold (a helper's probe: T 0 against cleanlab's 1). Per class, the block being
   * filled and the sum of the blocks before it; null once a batch holds sums (addSums: a folder's images).
   */
  private blocks: Array<{ values: number[]; total: number } | undefined> | null;
  private inBatch = 0;

  /** batchSize: examples per batch (Infinity: one batch, as a segmentation set given as one image is). */
  constructor(readonly classes: number, private readonly batchSize: number = BATCH) {
    if (classes < 2) throw new LensError('option', `label issues need at least 2 classes (the input has ${classes})`);
    this.t = new Float64Array(classes);
    this.n = new Float64Array(classes);
    this.batchSum = new Float64Array(classes);
    this.batchCount = new Float64Array(classes);
    this.blocks = [];
  }

  add(label: number, pLabel: number): void {
    if (this.blocks !== null) {
      const b = (this.blocks[label] ??= { values: [], total: 0 });
      b.values.push(pLabel);
      if (b.values.length === NUMPY_SUM_BLOCK) {
        b.total += pairwiseSumNumpy(b.values);
        b.values = [];
      }
    }
    this.batchSum[label] += pLabel;
    this.batchCount[label] += 1;
    if (++this.inBatch >= this.batchSize) this.endBatch();
  }

  /** Per-class sums and counts of one part of the current batch (a folder's image; one batch only). */
  addSums(sums: ArrayLike<number>, counts: ArrayLike<number>): void {
    if (this.batchSize !== Infinity) throw new LensError('option', 'label issues: sums are added to a single batch only');
    this.blocks = null;
    for (let k = 0; k < this.classes; k++) {
      this.batchSum[k] += sums[k] ?? 0;
      this.batchCount[k] += counts[k] ?? 0;
      this.inBatch += counts[k] ?? 0;
    }
  }

  private endBatch(): void {
    for (let k = 0; k < this.classes; k++) {
      const c = this.batchCount[k]!;
      const b = this.blocks?.[k];
      const sum = this.blocks === null ? this.batchSum[k]! : b === undefined ? 0 : b.total + (b.values.length > 0 ? pairwiseSumNumpy(b.values) : 0);
      const m = c > 0 ? Math.max(sum / c, THRESHOLD_FLOOR) : 0;
      this.t[k] = Math.max((this.n[k]! * this.t[k]! + c * m) / Math.max(this.n[k]! + c, 1), THRESHOLD_FLOOR);
      this.n[k] += c;
      this.batchSum[k] = 0;
      this.batchCount[k] = 0;
    }
    this.inBatch = 0;
    if (this.blocks !== null) this.blocks = [];
  }

  /** The thresholds (the last, partial batch included) and how many examples each class has. */
  finish(): { readonly thresholds: Float64Array; readonly examplesPerClass: Float64Array } {
    if (this.inBatch > 0 || this.n.every((x) => x === 0)) this.endBatch();
    return { thresholds: this.t, examplesPerClass: this.n };
  }
}

/** What pass 2 keeps of one example. */
export interface ExampleScore {
  /** Self-confidence: the probability of the given label. */
  readonly score: number;
  /** The first argmax of the probabilities. */
  readonly predicted: number;
  /** The prediction disagrees with the label and reaches its class's threshold (counted in T). */
  readonly confidentError: boolean;
  /** The example may be reported (the rule's "label is not the prediction"). */
  readonly reportable: boolean;
}

/** Pass 2 for one example's probability vector (any accessor: class axis 1 or last). */
export function scoreExample(label: number, probs: (k: number) => number, classes: number, thresholds: Float64Array, rule: IssueRule): ExampleScore {
  let predicted = 0;
  let best = probs(0);
  for (let k = 1; k < classes; k++) {
    const p = probs(k);
    if (p > best) {
      best = p;
      predicted = k;
    }
  }
  const score = probs(label);
  const confidentError = predicted !== label && best >= thresholds[predicted]! - EPS;
  let reportable: boolean;
  if (rule === 'segmentation') reportable = predicted !== label;
  else {
    // The first argmax once 1e-6 is added to the label's probability: the label unless another class
    // beats it, or equals it at a lower index.
    const lifted = score + EPS;
    reportable = false;
    for (let k = 0; k < classes && !reportable; k++) {
      if (k === label) continue;
      const p = probs(k);
      if (p > lifted || (p === lifted && k < label)) reportable = true;
    }
  }
  return { score, predicted, confidentError, reportable };
}

/**
 * The reported examples: the T of lowest score in NumPy's argsort order (its introsort's order among equal
 * scores, as cleanlab sorts), minus those not reportable; ascending indices.
 */
export function selectIssues(scores: Float64Array, reportable: Uint8Array, T: number): Int32Array {
  const order = argsortNumpy(scores);
  const picked: number[] = [];
  for (let r = 0; r < Math.min(T, order.length); r++) {
    const i = order[r]!;
    if (reportable[i]) picked.push(i);
  }
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/**
 * An image's label quality: the softmin of its pixels' scores, sum s_i w_i with w = softmax((1 - s) / 0.1)
 * (cleanlab.segmentation.rank.get_label_quality_scores' default); null for an image without pixels.
 */
export function softminScore(scores: ArrayLike<number>): number | null {
  const n = scores.length;
  if (n === 0) return null;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, (1 - scores[i]!) / SOFTMIN_TEMPERATURE);
  let den = 0;
  let num = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.exp((1 - scores[i]!) / SOFTMIN_TEMPERATURE - max);
    den += w;
    num += scores[i]! * w;
  }
  return num / den;
}

export interface CommonIssue {
  readonly given: number;
  readonly predicted: number;
  readonly count: number;
}

/** The given → predicted table of the reported examples: counts descending, then given, then predicted. */
export function commonIssues(pairs: Iterable<readonly [given: number, predicted: number]>, top = COMMON_ISSUES_TOP): CommonIssue[] {
  const counts = new Map<string, CommonIssue>();
  for (const [given, predicted] of pairs) {
    const key = `${given},${predicted}`;
    const c = counts.get(key);
    counts.set(key, { given, predicted, count: (c?.count ?? 0) + 1 });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.given - b.given || a.predicted - b.predicted).slice(0, top);
}

/**
 * A folder's pixels are pooled as one image (segmentation's rule), streamed image by image. A reportable pixel
 * (its first argmax not its label) has a self-confidence of at most 0.5 (its label's probability is at most
 * its prediction's, and the two add to at most 1); so only the pixels scoring at most 0.5 are kept, exactly,
 * and the others counted: the T lowest of all scores are the T lowest kept ones when T is at most their
 * number, and otherwise every reportable pixel is a candidate. Memory follows the low-scoring pixels.
 */
export const LOW_SCORE = 0.5;

/** What pass 2 keeps of one image. */
export interface ImagePass2 {
  /** Confident disagreements (the image's part of T). */
  readonly T: number;
  /** The image's label quality (softmin of its pixels' scores); null without labelled pixels. */
  readonly quality: number | null;
  readonly pixels: number;
  /** Scores at most LOW_SCORE, in pixel order, with whether each is reportable and its given and predicted class. */
  readonly low: ArrayLike<number>;
  readonly lowReportable: ArrayLike<number>;
  readonly lowGiven: ArrayLike<number>;
  readonly lowPredicted: ArrayLike<number>;
  /** Where each low score sits: its flat position in the image's label map (ignored pixels counted). */
  readonly lowIndex: ArrayLike<number>;
}

/** Thresholds from the images' per-class sums (one batch: every labelled pixel of the folder as one image). */
export function thresholdsFromSums(parts: ReadonlyArray<{ readonly sums: readonly number[]; readonly counts: readonly number[] }>, classes: number): Float64Array {
  const pass = new ThresholdPass(classes, Infinity);
  for (const part of parts) pass.addSums(part.sums, part.counts);
  return pass.finish().thresholds;
}

export interface FolderIssues {
  readonly count: number;
  readonly numIssuesEstimate: number;
  readonly examples: number;
  /** Per image (in the order given): its reported pixels. */
  readonly perImage: readonly number[];
  /** Per image: the flat positions of its reported pixels in its label map, ascending. */
  readonly flagged: readonly Int32Array[];
  readonly commonIssues: readonly CommonIssue[];
}

/**
 * The reported pixels of a folder from its images' pass 2 (in stem order). Among scores equal at the cut-off,
 * NumPy's argsort order over the kept scores decides (cleanlab's over all pixels may take others of them).
 */
export function folderIssues(images: readonly ImagePass2[]): FolderIssues {
  const T = images.reduce((a, im) => a + im.T, 0);
  const nLow = images.reduce((a, im) => a + im.low.length, 0);
  // Only the scores and whether each is reportable are pooled (9 bytes a pixel): the classes and positions
  // are read from each image's own arrays, walking the picked pixels in order.
  const scores = new Float64Array(nLow);
  const reportable = new Uint8Array(nLow);
  let at = 0;
  for (const im of images) {
    if (im.low instanceof Float64Array) scores.set(im.low, at);
    else for (let j = 0; j < im.low.length; j++) scores[at + j] = im.low[j]!;
    if (im.lowReportable instanceof Uint8Array) reportable.set(im.lowReportable, at);
    else for (let j = 0; j < im.low.length; j++) reportable[at + j] = im.lowReportable[j]!;
    at += im.low.length;
  }
  const picked = T >= nLow ? Int32Array.from(reportable.keys()).filter((i) => reportable[i] === 1) : lowestReportable(scores, reportable, T);
  const perImage = new Array<number>(images.length).fill(0);
  const flagged: Int32Array[] = [];
  const pairs: Array<readonly [number, number]> = [];
  // picked is ascending over the images' low scores in order: one walk gives each image its pixels, ascending.
  let k = 0;
  let start = 0;
  images.forEach((im, i) => {
    const end = start + im.low.length;
    const from = k;
    while (k < picked.length && picked[k]! < end) {
      const j = picked[k]! - start;
      pairs.push([im.lowGiven[j]!, im.lowPredicted[j]!]);
      k++;
    }
    perImage[i] = k - from;
    const own = new Int32Array(k - from);
    for (let q = from; q < k; q++) own[q - from] = im.lowIndex[picked[q]! - start]!;
    flagged.push(own);
    start = end;
  });
  return {
    count: picked.length,
    numIssuesEstimate: T,
    examples: images.reduce((a, im) => a + im.pixels, 0),
    perImage,
    flagged,
    commonIssues: commonIssues(pairs),
  };
}

/**
 * selectIssues over many scores: when the T lowest end at a score that no left-out score equals, they are
 * the same set whatever the order among equal scores, so a native sort of a copy finds the cut-off; only a
 * tie split by the cut-off needs NumPy's argsort order (selectIssues).
 */
function lowestReportable(scores: Float64Array, reportable: Uint8Array, T: number): Int32Array {
  if (T <= 0) return new Int32Array(0);
  const sorted = Float64Array.from(scores).sort();
  const cut = sorted[T - 1]!;
  // NaN sorts last in both orders; a NaN cut-off (more NaN than room) goes the exact way.
  if (Number.isNaN(cut) || (T < sorted.length && sorted[T] === cut)) return selectIssues(scores, reportable, T);
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! <= cut && reportable[i]) n++;
  const out = new Int32Array(n);
  let w = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! <= cut && reportable[i]) out[w++] = i;
  return out;
}
