// Per-image accumulation for folder evaluation: from one image's per-pixel loss, argmax and top-class
// probability to its additive sums (ImageRecord for floating sums, ImageCounts for integer counts), and
// the order-free totals of the integer counts. Pure: no Node or VS Code imports.
//
// Definitions (the README's "Evaluating a folder" section repeats them):
// - Ignored pixels (target == ignoreIndex) are left out of every sum and count.
// - The per-pixel loss accumulated here is F.cross_entropy(reduction='none') with label_smoothing and
//   WITHOUT --weight. Per-class meanLoss is its plain mean over the pixels whose target is that class;
//   boundary and the weights block use it as well. --weight enters only the pooled `value` and each image's
//   `value`: sum_i w[t_i] l_i / sum_i w[t_i], PyTorch's weighted mean (with label smoothing, PyTorch's
//   weighted smoothing term, from the kernel's weighted sums: see ImageRecord.weighted).
// - Confidence is the top-class softmax probability, max_c softmax(x)_c = exp(-(logsumexp(x) - max x)).
// - Calibration bins are (lo, hi] of width 1/B; a probability of exactly 0 would fall in the first bin.
import { boundaryBand } from './boundary';
import { CONFUSION_MAX_CLASSES, type EvalCounts, type EvalOptions, type ImageCounts, type ImageRecord, type ImageResult } from './types';

/** One image's per-pixel results, each of length H * W. */
export interface PixelMaps {
  /** Unweighted per-pixel loss (any value at ignored pixels). */
  readonly loss: Float32Array | Float64Array;
  readonly predicted: Int32Array;
  readonly target: Int32Array;
  /** -log of the top-class probability (logsumexp - max). */
  readonly topLoss: Float32Array | Float64Array;
}

/** The calibration bin (lo, hi] of probability p among B equal-width bins over [0, 1]. */
export function calibrationBin(p: number, B: number): number {
  let b = Math.ceil(p * B) - 1;
  if (!(b >= 0)) b = 0;
  if (b > B - 1) b = B - 1;
  // p * B can round across an edge: settle on edges k / B exactly as the report lists them.
  if (b > 0 && p <= b / B) b--;
  else if (b < B - 1 && p > (b + 1) / B) b++;
  return b;
}

/**
 * sum_c w_c lossSum_c / sum_c w_c count_c: F.cross_entropy's weighted mean without label smoothing,
 * regrouped by target class (each pixel of class c contributes w_c l and w_c).
 */
export function weightedByClass(weight: readonly number[], lossSum: ArrayLike<number>, count: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let c = 0; c < count.length; c++) {
    if (count[c] === 0) continue;
    num += weight[c] * lossSum[c];
    den += weight[c] * count[c];
  }
  return num / den;
}

/** Mean IoU over classes with a non-empty union (null when none). */
export function meanIou(tp: ArrayLike<number>, fp: ArrayLike<number>, fn: ArrayLike<number>): number | null {
  let sum = 0;
  let n = 0;
  for (let c = 0; c < tp.length; c++) {
    const union = tp[c] + fp[c] + fn[c];
    if (union > 0) {
      sum += tp[c] / union;
      n++;
    }
  }
  return n === 0 ? null : sum / n;
}

// Confusion cells of one image: a C x C scratch reused between images (only the touched cells are listed and
// cleared), so an image costs O(pixels), not O(C^2). `touched` lists them (at most C * C).
let scratch: { C: number; cells: Uint32Array; touched: Int32Array } | null = null;

function confusionScratch(C: number): { cells: Uint32Array; touched: Int32Array } {
  if (scratch === null || scratch.C !== C) scratch = { C, cells: new Uint32Array(C * C), touched: new Int32Array(C * C) };
  return scratch;
}

/**
 * One image's sums. `weighted` is the kernel's weighted numerator and denominator when a weight is used
 * with label smoothing (else null: the weighted value then follows from per-class sums).
 */
export function accumulateImage(
  name: string, maps: PixelMaps, C: number, H: number, W: number, options: EvalOptions,
  weighted: { num: number; den: number } | null,
): ImageResult {
  const S = H * W;
  const B = options.bins;
  const ii = options.ignoreIndex;
  const { loss, predicted, target, topLoss } = maps;
  const band = boundaryBand(target, H, W, options.boundary, ii);
  const count = new Float64Array(C);
  const tp = new Float64Array(C);
  const fp = new Float64Array(C);
  const fn = new Float64Array(C);
  const classLoss = new Float64Array(C);
  const binCount = new Float64Array(B);
  const binCorrect = new Float64Array(B);
  const binConf = new Float64Array(B);
  const withConfusion = C <= CONFUSION_MAX_CLASSES;
  const conf = withConfusion ? confusionScratch(C) : null;
  const cells = conf?.cells ?? null;
  const touched = conf?.touched ?? null;
  let nTouched = 0;
  let pixels = 0;
  let correct = 0;
  let lossSum = 0;
  let bandLoss = 0;
  let outsideLoss = 0;
  let bandCount = 0;
  let outsideCount = 0;
  for (let i = 0; i < S; i++) {
    const t = target[i];
    if (t === ii) continue;
    const p = predicted[i];
    const l = loss[i];
    pixels++;
    lossSum += l;
    count[t]++;
    classLoss[t] += l;
    const hit = p === t;
    if (hit) {
      correct++;
      tp[t]++;
    } else {
      fp[p]++;
      fn[t]++;
    }
    if (cells !== null) {
      const cell = t * C + p;
      if (cells[cell]++ === 0) touched![nTouched++] = cell;
    }
    const conf = Math.exp(-topLoss[i]);
    const b = calibrationBin(conf, B);
    binCount[b]++;
    binConf[b] += conf;
    if (hit) binCorrect[b]++;
    if (band[i] === 1) {
      bandLoss += l;
      bandCount++;
    } else {
      outsideLoss += l;
      outsideCount++;
    }
  }
  let confusion: Float64Array | null = null;
  if (cells !== null) {
    // In ascending order: a scan of all C * C cells where they are many, else a sort of those touched.
    let list: ArrayLike<number>;
    if (C * C <= 16 * nTouched) {
      const all = touched!;
      let k = 0;
      for (let cell = 0; cell < C * C; cell++) if (cells[cell] !== 0) all[k++] = cell;
      list = all;
    } else {
      list = touched!.subarray(0, nTouched).sort();
    }
    confusion = new Float64Array(nTouched * 2);
    for (let k = 0; k < nTouched; k++) {
      const cell = list[k];
      confusion[2 * k] = cell;
      confusion[2 * k + 1] = cells[cell];
      cells[cell] = 0;
    }
  }
  const perClass: Array<readonly [number, number]> = [];
  let worstClass: number | null = null;
  let worstMean = -Infinity;
  for (let c = 0; c < C; c++) {
    if (count[c] === 0) continue;
    perClass.push([c, classLoss[c]]);
    const mean = classLoss[c] / count[c];
    // NaN losses make a class the worst: it is the one to look at.
    if (worstClass === null || mean > worstMean || (Number.isNaN(mean) && !Number.isNaN(worstMean))) {
      worstClass = c;
      worstMean = mean;
    }
  }
  const weight = options.weight;
  const value = weight === null ? lossSum / pixels : weighted !== null ? weighted.num / weighted.den : weightedByClass(weight, classLoss, count);
  const record: ImageRecord = {
    name,
    pixels,
    lossSum,
    classLoss: perClass,
    binConfidence: Array.from(binConf),
    bandLoss,
    outsideLoss,
    weighted,
    value,
    pixelAccuracy: pixels === 0 ? null : correct / pixels,
    miou: meanIou(tp, fp, fn),
    worstClass,
  };
  const counts: ImageCounts = { pixels, correct, count, tp, fp, fn, confusion, binCount, binCorrect, bandCount, outsideCount };
  return { record, counts, classes: C, shape: [H, W] };
}

export function emptyCounts(C: number, B: number): EvalCounts {
  return {
    images: 0,
    pixels: 0,
    correct: 0,
    count: new Float64Array(C),
    tp: new Float64Array(C),
    fp: new Float64Array(C),
    fn: new Float64Array(C),
    confusion: C <= CONFUSION_MAX_CLASSES ? new Float64Array(C * C) : null,
    binCount: new Float64Array(B),
    binCorrect: new Float64Array(B),
    bandCount: 0,
    outsideCount: 0,
  };
}

function addInto(dst: Float64Array, src: ArrayLike<number>): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/** Adds one image's counts (integers: exact in any order, so images are added as they complete). */
export function addCounts(total: EvalCounts, c: ImageCounts): void {
  total.images++;
  total.pixels += c.pixels;
  total.correct += c.correct;
  addInto(total.count, c.count);
  addInto(total.tp, c.tp);
  addInto(total.fp, c.fp);
  addInto(total.fn, c.fn);
  if (total.confusion !== null && c.confusion !== null) {
    for (let k = 0; k < c.confusion.length; k += 2) total.confusion[c.confusion[k]] += c.confusion[k + 1];
  }
  addInto(total.binCount, c.binCount);
  addInto(total.binCorrect, c.binCorrect);
  total.bandCount += c.bandCount;
  total.outsideCount += c.outsideCount;
}
