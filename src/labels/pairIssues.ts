// Label issues of one input/target pair held in memory (the CLI's --label-issues on a pair): the examples are
// the samples of [N, C], the pixels of [N, C, ...spatial] (cleanlab's segmentation rule, all pixels pooled as
// one image), or the tokens of a class-last [B, T, V]; ignored labels are left out first (docs/label-issues.md
// §1). Probabilities are the float64 softmax of the logits (inputs that are probabilities as they are).
import { LensError } from '../errors';
import type { InputKind } from '../kernel/types';
import type { Tensor } from '../tensor/tensor';
import { BATCH, commonIssues, scoreExample, selectIssues, softminScore, ThresholdPass, type CommonIssue, type IssueRule } from './labelIssues';

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

export function pairLabelIssues(input: Tensor, target: Tensor, o: LabelIssuesOptions): PairIssues {
  if (!/^u?int|^bool/.test(target.dtype)) throw new LensError('dtype', `label issues need class-index labels; the target is ${target.dtype} (probabilities)`);
  const { N, C, S, classLast } = axisLayout(input.shape, o.classDim);
  const spatial = !classLast && input.shape.length >= 3;
  const rule: IssueRule = spatial ? 'segmentation' : 'classification';
  const x = input.data as ArrayLike<number>;
  const y = target.data as ArrayLike<number | bigint>;
  const M = N * S;
  const labels = new Int32Array(M);
  const kept: number[] = [];
  for (let e = 0; e < M; e++) {
    const v = Number(y[e]);
    labels[e] = v;
    if (v === o.ignoreIndex) continue;
    if (!Number.isInteger(v) || v < 0 || v >= C) throw new LensError('value', `label issues: target value ${v} at flat index ${e} is outside 0..${C - 1}`);
    kept.push(e);
  }
  // The probabilities of example e (flat over samples and positions), written into p.
  const p = new Float64Array(C);
  const base = (e: number): [number, number] => {
    const n = Math.floor(e / S);
    const s = e - n * S;
    return classLast ? [e * C, 1] : [n * C * S + s, S];
  };
  const fill = (e: number): void => {
    const [b, step] = base(e);
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
