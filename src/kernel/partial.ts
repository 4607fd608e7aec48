// One slice of a loss computation for parallel work: samples [n0, n1) of a batched cross-entropy
// problem. Each slice is computed exactly as computeLoss would (the elements are independent), and its
// statistics merge with mergeInto in slice order.
import type { Tensor, TensorData } from '../tensor/tensor';
import { numel } from '../tensor/tensor';
import { lossMaps, type FocalMaps } from './losses/focal';
import { resolveOptions } from './options';
import { accumulateStats, type StatsPartial } from './stats';
import type { LossRequest } from './types';
import { buildProblem, type Problem } from './validate';

export interface SliceResult {
  readonly problem: Problem;
  readonly maps: FocalMaps;
  readonly stats: StatsPartial;
  /** Offset of this slice's first element in the whole loss map. */
  readonly flatOffset: number;
}

/**
 * Whether the request can be split over its first axis: cross-entropy or focal with a batched input whose
 * class axis is not axis 0 (after which axis 0 is the batch axis of input and target alike), or bce and
 * sigmoid-focal (elementwise; weights that vary along axis 0 are cut with the samples).
 */
export function splittableSamples(req: LossRequest): number {
  const o = resolveOptions(req.options);
  const nd = req.input.shape.length;
  if (nd < 2) return 1;
  if (o.loss === 'bce' || o.loss === 'sigmoid-focal') return req.input.shape[0];
  if (o.loss !== 'ce' && o.loss !== 'focal') return 1;
  const classAxis = o.classDim < 0 ? o.classDim + nd : o.classDim;
  if (classAxis === 0) return 1;
  return req.input.shape[0];
}

/**
 * Whether a bce weight (or pos_weight) varies along the input's axis 0, so that it is cut with the
 * samples; weights of lower rank, or with a leading 1, broadcast to every sample.
 */
export function weightPerSample(t: Tensor | null | undefined, inputRank: number): t is Tensor {
  return !!t && t.shape.length === inputRank && t.shape[0] !== 1;
}

/** Samples [n0, n1) of a C-order tensor (a view, no copy). */
export function sliceAxis0(t: Tensor, n0: number, n1: number): Tensor {
  const per = numel(t.shape.slice(1));
  return { dtype: t.dtype, shape: [n1 - n0, ...t.shape.slice(1)], data: t.data.subarray(n0 * per, n1 * per) as TensorData };
}

/** Computes samples [n0, n1) (the whole request when it cannot be split: pass 0, 1). */
export function computeSlice(req: LossRequest, n0: number, n1: number, topK: number): SliceResult {
  const options = resolveOptions(req.options);
  const whole = splittableSamples(req) === 1;
  // bce weights that vary along axis 0 (the request was validated whole, so their axis 0 is the batch) are
  // cut like the samples; others broadcast to every sample.
  const nd = req.input.shape.length;
  const bce = options.loss === 'bce' || options.loss === 'sigmoid-focal';
  const sub: LossRequest = whole
    ? req
    : {
      ...req,
      input: sliceAxis0(req.input, n0, n1),
      target: sliceAxis0(req.target, n0, n1),
      ...(bce && weightPerSample(req.weight, nd) ? { weight: sliceAxis0(req.weight, n0, n1) } : {}),
      ...(bce && weightPerSample(req.posWeight, nd) ? { posWeight: sliceAxis0(req.posWeight, n0, n1) } : {}),
    };
  const problem = buildProblem(sub, options);
  const maps = lossMaps(problem);
  const perSample = whole ? 0 : numel(problem.lossShape.slice(1));
  const flatOffset = n0 * perSample;
  return { problem, maps, stats: accumulateStats(problem, maps, topK, flatOffset), flatOffset };
}
