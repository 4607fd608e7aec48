// Label issues of one input/target pair held in memory (the CLI's --label-issues on a pair): the examples are
// the samples of [N, C], the pixels of [N, C, ...spatial] (cleanlab's segmentation rule, all pixels pooled as
// one image), or the tokens of a class-last [B, T, V]; ignored labels are left out first (docs/label-issues.md
// §1). Probabilities are the float64 softmax of the logits (inputs that are probabilities as they are).
import { LensError } from '../errors';
import type { InputKind } from '../kernel/types';
import type { Tensor } from '../tensor/tensor';
import { BATCH, commonIssues, EPS, LOW_SCORE, scoreExample, selectIssues, softminScore, ThresholdPass, type CommonIssue, type ImagePass2, type IssueRule } from './labelIssues';

export interface LabelIssuesOptions {
  /** 1 (PyTorch's) or -1 (classes last); for a 1-D input, 0. */
  readonly classDim: number;
  readonly ignoreIndex: number;
  readonly inputKind: InputKind;
}

export interface LabelIssuesSummary {
  /** Reported examples (pixels, tokens or samples). */
  readonly count: number;
  /** T: confident predictions that disagree with their label (the number of candidates). */
  readonly numIssuesEstimate: number;
  readonly thresholds: readonly number[];
  readonly examples: number;
  readonly rule: IssueRule;
  readonly commonIssues: readonly CommonIssue[];
}

export interface PairIssues {
  readonly labelIssues: LabelIssuesSummary;
  /** Per image softmin scores (spatial inputs; null for an image without labelled pixels), else per example self-confidence (null where ignored). */
  readonly labelQuality: ReadonlyArray<number | null>;
  /** 1 where a label is reported, in the target's shape (C order). */
  readonly mask: Uint8Array;
  /** The target's shape, as stored (the mask's). */
  readonly maskShape: readonly number[];
}

function axisLayout(shape: readonly number[], classDim: number): { N: number; C: number; S: number; classLast: boolean } {
  if (shape.length === 1) return { N: 1, C: shape[0]!, S: 1, classLast: false };
  const d = classDim < 0 ? classDim + shape.length : classDim;
  if (d === shape.length - 1 && shape.length >= 2 && d !== 1) {
    const C = shape[d]!;
    return { N: shape[0]!, C, S: shape.slice(1, -1).reduce((a, b) => a * b, 1), classLast: true };
  }
  if (d !== 1) throw new LensError('option', `label issues read the classes on axis 1 or the last axis (class dim ${classDim} of ${shape.length})`);
  return { N: shape[0]!, C: shape[1]!, S: shape.slice(2).reduce((a, b) => a * b, 1), classLast: false };
}

/** The labelled examples of a pair and a reader of their probabilities (float64 softmax of logits). */
function examplesOf(input: Tensor, target: Tensor, o: LabelIssuesOptions): {
  readonly N: number; readonly C: number; readonly S: number; readonly M: number; readonly spatial: boolean;
  readonly labels: Int32Array; readonly kept: Int32Array; readonly p: Float64Array; readonly fill: (e: number) => void;
} {
  if (!/^u?int|^bool/.test(target.dtype)) throw new LensError('dtype', `label issues need class-index labels; the target is ${target.dtype} (probabilities)`);
  const { N, C, S, classLast } = axisLayout(input.shape, o.classDim);
  if (C < 2) throw new LensError('option', `label issues need at least 2 classes (the input has ${C})`);
  // Images are spatial with their classes on axis 1 ([N, C, H, W]) or last ([N, H, W, C], as eval reads a
  // channels-last folder); a class-last [B, T, V] is a language model's tokens, examples like [N, C]'s rows.
  const spatial = classLast ? input.shape.length >= 4 : input.shape.length >= 3;
  const x = input.data as ArrayLike<number>;
  const y = target.data as ArrayLike<number | bigint>;
  const M = N * S;
  // Typed integer labels are copied as they are (Number() on each of a million pixels showed in profiles).
  const labels = y instanceof Int32Array || y instanceof Uint8Array || y instanceof Int16Array || y instanceof Uint16Array || y instanceof Int8Array
    ? Int32Array.from(y as ArrayLike<number>) : Int32Array.from({ length: M }, (_, e) => Number(y[e]));
  let n = 0;
  for (let e = 0; e < M; e++) {
    const v = labels[e]!;
    if (v === o.ignoreIndex) continue;
    if (!(v >= 0 && v < C) || !Number.isInteger(Number(y[e]))) throw new LensError('value', `label issues: target value ${Number(y[e])} at flat index ${e} is outside 0..${C - 1}`);
    n++;
  }
  const kept = new Int32Array(n);
  n = 0;
  for (let e = 0; e < M; e++) if (labels[e] !== o.ignoreIndex) kept[n++] = e;
  // The probabilities of example e (flat over samples and positions), written into p.
  const p = new Float64Array(C);
  const fill = (e: number): void => {
    const n = Math.floor(e / S);
    const s = e - n * S;
    const b = classLast ? e * C : n * C * S + s;
    const step = classLast ? 1 : S;
    if (o.inputKind === 'probs') {
      for (let k = 0; k < C; k++) p[k] = x[b + k * step]!;
      return;
    }
    if (o.inputKind === 'log-probs') {
      for (let k = 0; k < C; k++) p[k] = Math.exp(x[b + k * step]!);
      return;
    }
    let max = -Infinity;
    for (let k = 0; k < C; k++) max = Math.max(max, x[b + k * step]!);
    let sum = 0;
    for (let k = 0; k < C; k++) {
      const ex = Math.exp(x[b + k * step]! - max);
      p[k] = ex;
      sum += ex;
    }
    for (let k = 0; k < C; k++) p[k]! /= sum;
  };
  return { N, C, S, M, spatial, labels, kept, p, fill };
}

/** Pixels per chunk of planeProbabilities (C of them in float64: 160 KB at 10 classes, 2.4 MB at 150). */
const CHUNK = 2048;

/**
 * The softmax terms of class-major logits ([N, C, ...spatial], the class axis 1), plane by plane over chunks
 * of pixels: per pixel the same float operations in the same order as examplesOf's fill (the running max
 * over the classes in order, the exps summed in class order), so the same bits, but reading memory in order
 * instead of one value per plane. visit(e0, len, ex, sum) gets pixels [e0, e0 + len) (flat over samples and
 * positions) with ex[k * len + j] the exp of class k at pixel e0 + j and sum[j] their sum: the probability is
 * ex / sum, divided only where it is needed (fill divides every class).
 */
function planeProbabilities(x: ArrayLike<number>, N: number, C: number, S: number, visit: (e0: number, len: number, ex: Float64Array, sum: Float64Array) => void): void {
  const L = Math.min(S, CHUNK);
  const m = new Float64Array(L);
  const sum = new Float64Array(L);
  const p = new Float64Array(C * L);
  for (let n = 0; n < N; n++) {
    for (let s0 = 0; s0 < S; s0 += L) {
      const len = Math.min(L, S - s0);
      const base = n * C * S + s0;
      m.fill(-Infinity, 0, len);
      sum.fill(0, 0, len);
      for (let k = 0; k < C; k++) {
        const row = base + k * S;
        for (let j = 0; j < len; j++) m[j] = Math.max(m[j]!, x[row + j]!);
      }
      for (let k = 0; k < C; k++) {
        const row = base + k * S;
        const q = k * len;
        for (let j = 0; j < len; j++) {
          const ex = Math.exp(x[row + j]! - m[j]!);
          p[q + j] = ex;
          sum[j] += ex;
        }
      }
      visit(n * S + s0, len, p, sum);
    }
  }
}

/**
 * The first argmax over the classes of the probabilities ex_k / sum at pixel j, and that probability, as
 * scoreExample finds them on the divided values, dividing only near the top: division by the sum is
 * monotone, so the largest quotient is the largest ex over the sum, and an earlier class ties with it only
 * if its quotient rounds to the same value, which needs its ex within a few ulps of the largest (a relative
 * 1e-9 margin is ample). A NaN sum (NaN or infinite logits) makes every probability NaN: class 0, as there.
 */
function firstArgmax(ex: Float64Array, j: number, len: number, C: number, sum: number): { predicted: number; best: number } {
  if (Number.isNaN(sum)) return { predicted: 0, best: ex[j]! / sum };
  let a = 0;
  let top = ex[j]!;
  for (let k = 1; k < C; k++) {
    const v = ex[k * len + j]!;
    if (v > top) {
      top = v;
      a = k;
    }
  }
  const best = top / sum;
  const near = top * (1 - 1e-9);
  for (let k = 0; k < a; k++) {
    const v = ex[k * len + j]!;
    if (v >= near && v / sum === best) return { predicted: k, best };
  }
  return { predicted: a, best };
}

/** Whether planeProbabilities serves a pair: logits with the classes on axis 1 and enough pixels per sample. */
function planeLayout(input: Tensor, o: LabelIssuesOptions): { N: number; C: number; S: number } | null {
  if (o.inputKind !== 'logits' || input.shape.length < 3) return null;
  const { N, C, S, classLast } = axisLayout(input.shape, o.classDim);
  return classLast || S < 64 ? null : { N, C, S };
}

/** Folder evaluation, pass 1 for one image: per class, the sum and the count of the labelled class's probability. */
export function imageThresholdSums(input: Tensor, target: Tensor, o: LabelIssuesOptions): { readonly sums: number[]; readonly counts: number[] } {
  const { C, labels, kept, p, fill } = examplesOf(input, target, o);
  const sums = new Array<number>(C).fill(0);
  const counts = new Array<number>(C).fill(0);
  const planes = planeLayout(input, o);
  if (planes) {
    // The kept pixels in order, as below.
    let at = 0;
    planeProbabilities(input.data as ArrayLike<number>, planes.N, C, planes.S, (e0, len, ex, sum) => {
      for (; at < kept.length && kept[at]! < e0 + len; at++) {
        const e = kept[at]!;
        const y = labels[e]!;
        sums[y] += ex[y * len + e - e0]! / sum[e - e0]!;
        counts[y] += 1;
      }
    });
    return { sums, counts };
  }
  for (const e of kept) {
    fill(e);
    sums[labels[e]!] += p[labels[e]!]!;
    counts[labels[e]!] += 1;
  }
  return { sums, counts };
}

/**
 * Folder evaluation, pass 2 for one image (segmentation's rule: every pixel of the folder pooled). The low
 * pixels come as typed arrays of their exact length (21 bytes a pixel), which a worker hands over without a copy.
 */
export function imagePass2(input: Tensor, target: Tensor, o: LabelIssuesOptions, thresholds: readonly number[]): ImagePass2 & { readonly low: Float64Array; readonly lowReportable: Uint8Array; readonly lowGiven: Int32Array; readonly lowPredicted: Int32Array; readonly lowIndex: Int32Array } {
  const { C, labels, kept, p, fill } = examplesOf(input, target, o);
  const t = Float64Array.from(thresholds);
  if (t.length !== C) throw new LensError('shape', `the thresholds hold ${t.length} classes, the prediction ${C}`);
  const at = (k: number): number => p[k]!;
  const all = new Float64Array(kept.length);
  // Sized for every pixel, cut to the low ones at the end (one image's worth at a time).
  const low = new Float64Array(kept.length);
  const lowReportable = new Uint8Array(kept.length);
  const lowGiven = new Int32Array(kept.length);
  const lowPredicted = new Int32Array(kept.length);
  const lowIndex = new Int32Array(kept.length);
  let n = 0;
  let T = 0;
  const planes = planeLayout(input, o);
  if (planes) {
    // scoreExample's segmentation rule inlined over the chunk's planes, the kept pixels in order.
    let i = 0;
    planeProbabilities(input.data as ArrayLike<number>, planes.N, C, planes.S, (e0, len, ex, sums) => {
      for (; i < kept.length && kept[i]! < e0 + len; i++) {
        const e = kept[i]!;
        const j = e - e0;
        const y = labels[e]!;
        const sum = sums[j]!;
        const { predicted, best } = firstArgmax(ex, j, len, C, sum);
        const score = ex[y * len + j]! / sum;
        all[i] = score;
        if (predicted !== y && best >= t[predicted]! - EPS) T++;
        if (score <= LOW_SCORE) {
          low[n] = score;
          lowReportable[n] = predicted !== y ? 1 : 0;
          lowGiven[n] = y;
          lowPredicted[n] = predicted;
          lowIndex[n] = e;
          n++;
        }
      }
    });
  } else kept.forEach((e, i) => {
    fill(e);
    const s = scoreExample(labels[e]!, at, C, t, 'segmentation');
    all[i] = s.score;
    if (s.confidentError) T++;
    if (s.score <= LOW_SCORE) {
      low[n] = s.score;
      lowReportable[n] = s.reportable ? 1 : 0;
      lowGiven[n] = labels[e]!;
      lowPredicted[n] = s.predicted;
      lowIndex[n] = e;
      n++;
    }
  });
  return {
    T, quality: softminScore(all), pixels: kept.length,
    low: low.slice(0, n), lowReportable: lowReportable.slice(0, n), lowGiven: lowGiven.slice(0, n), lowPredicted: lowPredicted.slice(0, n), lowIndex: lowIndex.slice(0, n),
  };
}

export function pairLabelIssues(input: Tensor, target: Tensor, o: LabelIssuesOptions): PairIssues {
  const { N, C, S, M, spatial, labels, kept, p, fill } = examplesOf(input, target, o);
  const rule: IssueRule = spatial ? 'segmentation' : 'classification';
  const at = (k: number): number => p[k]!;

  // Pass 1: thresholds. A segmentation set is one image of all its labelled pixels: one batch.
  const pass1 = new ThresholdPass(C, rule === 'segmentation' ? Infinity : BATCH);
  for (const e of kept) {
    fill(e);
    pass1.add(labels[e]!, p[labels[e]!]!);
  }
  const { thresholds } = pass1.finish();

  // Pass 2: scores, predictions, T.
  const scores = new Float64Array(kept.length);
  const reportable = new Uint8Array(kept.length);
  const predicted = new Int32Array(kept.length);
  let T = 0;
  kept.forEach((e, i) => {
    fill(e);
    const s = scoreExample(labels[e]!, at, C, thresholds, rule);
    scores[i] = s.score;
    reportable[i] = s.reportable ? 1 : 0;
    predicted[i] = s.predicted;
    if (s.confidentError) T++;
  });
  const issues = selectIssues(scores, reportable, T);
  const mask = new Uint8Array(M);
  for (const i of issues) mask[kept[i]!] = 1;

  let labelQuality: Array<number | null>;
  if (spatial) {
    labelQuality = [];
    let i = 0;
    for (let n = 0; n < N; n++) {
      const own: number[] = [];
      while (i < kept.length && kept[i]! < (n + 1) * S) own.push(scores[i++]!);
      labelQuality.push(softminScore(own));
    }
  } else {
    labelQuality = new Array<number | null>(M).fill(null);
    kept.forEach((e, i) => (labelQuality[e] = scores[i]!));
  }
  return {
    labelIssues: {
      count: issues.length,
      numIssuesEstimate: T,
      thresholds: Array.from(thresholds),
      examples: kept.length,
      rule,
      commonIssues: commonIssues(Array.from(issues, (i) => [labels[kept[i]!]!, predicted[i]!] as const)),
    },
    labelQuality,
    mask,
    maskShape: target.shape,
  };
}
