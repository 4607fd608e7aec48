// The kernel's public entry points. Pure: usable from the worker, the CLI, the webview and tests.
import { LensError, fmtShape, unravelIndex } from '../errors';
import { logProb } from './losses/crossEntropy';
import { lossMaps } from './losses/focal';
import { resolveOptions } from './options';
import { computeStats } from './stats';
import type { ElementExplanation, LossOptions, LossRequest, LossResult } from './types';
import { buildProblem, type CeProblem } from './validate';

export * from './types';
export { resolveOptions } from './options';

export interface ReductionSums {
  readonly numerator: number;
  readonly denominator: number;
  readonly nllSum: number;
  readonly smoothSum: number;
}

/**
 * The reduced loss from its sums. With label smoothing and class-index targets PyTorch reduces the nll and
 * smoothing terms separately and mixes the results, which differs from numerator / denominator when the
 * denominator is 0 (NaN, not Inf).
 */
export function reducedValue(options: LossOptions, C: number, targetKind: LossResult['targetKind'], s: ReductionSums): number | null {
  const eps = options.labelSmoothing;
  const mixed = targetKind === 'index' && options.loss === 'ce' && eps > 0;
  switch (options.reduction) {
    case 'none':
      return null;
    case 'sum':
      return mixed ? (1 - eps) * s.nllSum + s.smoothSum * (eps / C) : s.numerator;
    case 'mean':
      return mixed ? (1 - eps) * (s.nllSum / s.denominator) + (s.smoothSum / s.denominator) * (eps / C) : s.numerator / s.denominator;
  }
}

/**
 * focal: F.cross_entropy's value with the same weight, ignore_index and reduction (null for 'none'), from
 * the cross-entropy sums kept beside the focal ones; undefined for other losses.
 */
export function ceValueOf(options: LossOptions, s: { readonly ceNumerator: number; readonly ceDenominator: number }): number | null | undefined {
  if (options.loss !== 'focal') return undefined;
  switch (options.reduction) {
    case 'none':
      return null;
    case 'sum':
      return s.ceNumerator;
    case 'mean':
      return s.ceNumerator / s.ceDenominator;
  }
}

export function computeLoss(req: LossRequest): LossResult {
  const options = resolveOptions(req.options);
  const problem = buildProblem(req, options);
  const maps = lossMaps(problem);
  const stats = computeStats(problem, maps, req.topK ?? 10);
  const value = reducedValue(options, problem.C, problem.targetKind, {
    numerator: maps.numerator,
    denominator: maps.denominator,
    nllSum: maps.smoothingParts?.nllSum ?? 0,
    smoothSum: maps.smoothingParts?.smoothSum ?? 0,
  });
  return {
    options,
    value,
    lossShape: problem.lossShape,
    lossMap: maps.lossMap,
    numerator: maps.numerator,
    denominator: maps.denominator,
    predicted: maps.predicted,
    targetClass: maps.targetClass,
    ignoredMask: maps.ignoredMask,
    targetKind: problem.targetKind,
    stats,
    ...(maps.ce ? { ceValue: ceValueOf(options, { ceNumerator: maps.ce.numerator, ceDenominator: maps.ce.denominator }) } : {}),
  };
}

/**
 * The step-by-step numbers of one element of the loss map (flat C-order offset), computed afresh from the
 * inputs so the UI can show each intermediate; `loss` equals computeLoss(req).lossMap[flat].
 */
export function explainElement(req: LossRequest, flat: number): ElementExplanation {
  const options = resolveOptions(req.options);
  const p = buildProblem(req, options);
  if (p.loss !== 'ce') {
    throw new LensError('option', `explainElement covers cross-entropy (loss ce) only, not ${p.loss}`);
  }
  const M = p.N * p.S;
  if (!Number.isInteger(flat) || flat < 0 || flat >= M) {
    throw new LensError('value', `element ${flat} is outside the loss map of shape ${fmtShape(p.lossShape)}`);
  }
  return explainCe(p, flat);
}

function explainCe(p: CeProblem, flat: number): ElementExplanation {
  const { x, t, w, C, S, options } = p;
  const n = Math.floor(flat / S);
  const s = flat % S;
  const base = n * C * S + s;
  const inputs: number[] = [];
  for (let c = 0; c < C; c++) inputs.push(x[base + c * S]);
  const kind = options.inputKind;
  let max: number | null = null;
  let expShifted: number[] | null = null;
  let sumExp: number | null = null;
  let logSum = 0;
  if (kind === 'logits' && C > 0) {
    let m = inputs[0];
    for (const v of inputs) if (m === m && (v > m || v !== v)) m = v;
    max = m;
    expShifted = inputs.map((v) => Math.exp(v - m));
    sumExp = expShifted.reduce((a, b) => a + b, 0);
    logSum = Math.log(sumExp);
  }
  const logProbs = inputs.map((v) => logProb(kind, v, max ?? 0, logSum));
  const probs = kind === 'probs' ? [...inputs] : logProbs.map((lp) => Math.exp(lp));
  const eps = options.labelSmoothing;
  const index = unravelIndex(flat, p.lossShape);

  if (p.targetKind === 'probs') {
    const targetProbs: number[] = [];
    let acc = 0;
    for (let c = 0; c < C; c++) {
      const raw = t[base + c * S];
      const tv = eps > 0 ? raw * (1 - eps) + eps / C : raw;
      targetProbs.push(tv);
      let term = logProbs[c] * tv;
      if (w) term *= w[c];
      acc += term;
    }
    return { index, inputs, logProbs, probs, max, expShifted, sumExp, target: null, ignored: false, targetProbs, weight: 1, nll: null, smoothing: null, loss: -acc };
  }

  const tc = t[flat];
  if (tc === options.ignoreIndex) {
    // As in the loss map: the masked smoothing term times eps / C, NaN without classes.
    const loss = eps > 0 ? 0 * (eps / C) : 0;
    return { index, inputs, logProbs, probs, max, expShifted, sumExp, target: tc, ignored: true, targetProbs: null, weight: 0, nll: null, smoothing: null, loss };
  }
  const wt = w ? w[tc] : 1;
  const nll = -wt * logProbs[tc];
  let smoothing: number | null = null;
  let loss = nll;
  let targetProbs: number[] | null = null;
  if (eps > 0) {
    let smooth = 0;
    for (let c = 0; c < C; c++) smooth += w ? logProbs[c] * w[c] : logProbs[c];
    smoothing = -smooth;
    loss = (1 - eps) * nll + -smooth * (eps / C);
    targetProbs = inputs.map((_, c) => (c === tc ? 1 - eps : 0) + eps / C);
  }
  return { index, inputs, logProbs, probs, max, expShifted, sumExp, target: tc, ignored: false, targetProbs, weight: wt, nll, smoothing, loss };
}
