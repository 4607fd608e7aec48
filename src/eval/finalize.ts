// From the sums of an evaluation to the `eval --json` report (DESIGN.md). Pure.
//
// Floating sums over images are added here, in the order of `records` (stem order), never as images
// complete: one run and the merge of its shards then make the same additions in the same order and give
// the same bits. Integer counts (EvalCounts) are exact in any order.
//
// Figures (n = non-ignored pixels of all images, L_c = unweighted loss summed over class c's pixels,
// n_c = its pixel count, tp/fp/fn from the argmax):
// - value: sum_c L_c / n without --weight; with it sum_c w_c L_c / sum_c w_c n_c (PyTorch's weighted mean),
//   or with label smoothing too the kernel's weighted numerator / denominator summed over images.
// - perClass: iou = tp / (tp + fp + fn) (null: empty union), accuracy = tp / n_c (recall; null: never a
//   target), dice = 2 tp / (2 tp + fp + fn) (null: empty), meanLoss = L_c / n_c (null: never a target),
//   share = L_c / sum_c L_c (null when the loss sums to 0).
// - miou: mean iou over classes with a non-empty union; miouPerImage: mean over images of their miou
//   (images without a non-empty union left out).
// - ece = sum_b (count_b / n) |confidence_b - accuracy_b| over non-empty bins; mce = max of those gaps.
// - boundary.share = loss in the band / all loss; meanInside / meanOutside = mean loss in / out of it.
// - weights: f_c = n_c / n; medianFrequency = median(f over present classes) / f_c, sqrtInverse =
//   1 / sqrt(f_c), enet = 1 / ln(1.02 + f_c), each 0 for an absent class; each value* is
//   sum_c w_c L_c / sum_c w_c n_c with those weights (F.cross_entropy with that weight, without smoothing).
import { folderIssues, type ImagePass2 } from '../labels/labelIssues';
import { meanIou, weightedByClass } from './accumulate';
import type { EvalCounts, EvalOptions, EvalReport, FolderLabelIssues, ImageRecord, UnreadableEntry } from './types';

function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Floating totals, added in the order of `records`. */
export interface FloatTotals {
  readonly lossSum: number;
  readonly classLoss: Float64Array;
  readonly binConfidence: Float64Array;
  readonly bandLoss: number;
  readonly outsideLoss: number;
  readonly weighted: { num: number; den: number } | null;
}

export function floatTotals(records: readonly ImageRecord[], C: number, B: number): FloatTotals {
  let lossSum = 0;
  let bandLoss = 0;
  let outsideLoss = 0;
  let num = 0;
  let den = 0;
  let anyWeighted = false;
  const classLoss = new Float64Array(C);
  const binConfidence = new Float64Array(B);
  for (const r of records) {
    lossSum += r.lossSum;
    for (const [c, s] of r.classLoss) classLoss[c] += s;
    for (let b = 0; b < B; b++) binConfidence[b] += r.binConfidence[b];
    bandLoss += r.bandLoss;
    outsideLoss += r.outsideLoss;
    if (r.weighted !== null) {
      anyWeighted = true;
      num += r.weighted.num;
      den += r.weighted.den;
    }
  }
  return { lossSum, classLoss, binConfidence, bandLoss, outsideLoss, weighted: anyWeighted ? { num, den } : null };
}

function classWeights(counts: EvalCounts): { frequency: number[]; medianFrequency: number[]; sqrtInverse: number[]; enet: number[] } {
  const n = counts.pixels;
  const frequency = Array.from(counts.count, (c) => (n === 0 ? 0 : c / n));
  const present = frequency.filter((f) => f > 0);
  const med = present.length === 0 ? 0 : median(present);
  return {
    frequency,
    medianFrequency: frequency.map((f) => (f > 0 ? med / f : 0)),
    sqrtInverse: frequency.map((f) => (f > 0 ? 1 / Math.sqrt(f) : 0)),
    enet: frequency.map((f) => (f > 0 ? 1 / Math.log(1.02 + f) : 0)),
  };
}

/** The report of `records` (stem order) with their integer totals. */
export function finalizeReport(
  counts: EvalCounts, records: readonly ImageRecord[], options: EvalOptions, C: number, unmatched: readonly string[], unreadable: readonly UnreadableEntry[] = [],
): EvalReport {
  const B = options.bins;
  const f = floatTotals(records, C, B);
  const n = counts.pixels;
  const value = options.weight === null ? f.lossSum / n : f.weighted !== null ? f.weighted.num / f.weighted.den : weightedByClass(options.weight, f.classLoss, counts.count);
  const perClass = Array.from({ length: C }, (_, c) => {
    const tp = counts.tp[c];
    const fp = counts.fp[c];
    const fn = counts.fn[c];
    const nc = counts.count[c];
    return {
      class: c,
      count: nc,
      iou: ratio(tp, tp + fp + fn),
      accuracy: ratio(tp, nc),
      dice: ratio(2 * tp, 2 * tp + fp + fn),
      meanLoss: nc === 0 ? null : f.classLoss[c] / nc,
      share: f.lossSum === 0 ? null : f.classLoss[c] / f.lossSum,
    };
  });
  const edges = Array.from({ length: B + 1 }, (_, k) => k / B);
  const confidence: Array<number | null> = [];
  const accuracy: Array<number | null> = [];
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < B; b++) {
    const nb = counts.binCount[b];
    const conf = ratio(f.binConfidence[b], nb);
    const acc = ratio(counts.binCorrect[b], nb);
    confidence.push(conf);
    accuracy.push(acc);
    if (conf !== null && acc !== null) {
      const gap = Math.abs(conf - acc);
      ece += (nb / n) * gap;
      if (gap > mce) mce = gap;
    }
  }
  const w = classWeights(counts);
  const valueOf = (weights: readonly number[]): number => weightedByClass(weights, f.classLoss, counts.count);
  const imageMious = records.map((r) => r.miou).filter((m): m is number => m !== null);
  return {
    images: records.length,
    value,
    pixelAccuracy: ratio(counts.correct, n),
    perClass,
    miou: meanIou(counts.tp, counts.fp, counts.fn),
    miouPerImage: imageMious.length === 0 ? null : imageMious.reduce((a, b) => a + b, 0) / imageMious.length,
    ece: n === 0 ? null : ece,
    mce: n === 0 ? null : mce,
    calibration: { edges, count: Array.from(counts.binCount), confidence, accuracy },
    boundary: {
      width: options.boundary,
      share: f.lossSum === 0 ? null : f.bandLoss / f.lossSum,
      meanInside: ratio(f.bandLoss, counts.bandCount),
      meanOutside: ratio(f.outsideLoss, counts.outsideCount),
    },
    weights: {
      ...w,
      valueMedianFrequency: valueOf(w.medianFrequency),
      valueSqrtInverse: valueOf(w.sqrtInverse),
      valueEnet: valueOf(w.enet),
    },
    perImage: records.map((r) => ({ name: r.name, value: r.value, pixelAccuracy: r.pixelAccuracy, miou: r.miou, worstClass: r.worstClass })),
    unmatched: [...unmatched],
    // Only when there are some: reports of ordinary folders keep exactly the contract's fields.
    ...(unreadable.length > 0 ? { unreadable: unreadable.map((u) => ({ name: u.name, reason: u.reason })) } : {}),
  };
}

/**
 * A folder's label issues from its images' pass 2 under `thresholds`, the images in stem order (the order
 * decides among scores equal at the cut-off, as in the single run; src/labels/labelIssues.ts folderIssues).
 */
export function folderLabelIssuesOf(pass2: readonly ImagePass2[], thresholds: readonly number[]): FolderLabelIssues {
  return { ...folderIssues(pass2), thresholds, quality: pass2.map((p) => p.quality) };
}

/** The report with the folder's label issues: its summary, and each image's count and quality. */
export function withLabelIssues(r: EvalReport, li: FolderLabelIssues): EvalReport & { labelIssues: unknown } {
  return {
    ...r,
    perImage: r.perImage.map((p, i) => ({ ...p, labelIssues: li.perImage[i] ?? 0, labelQuality: li.quality[i] ?? null })),
    labelIssues: { count: li.count, numIssuesEstimate: li.numIssuesEstimate, examples: li.examples, thresholds: li.thresholds, commonIssues: li.commonIssues },
  };
}
