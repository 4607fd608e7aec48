// "Hard in every run" of one image of a runs evaluation, for the loss panel opened from the runs view: the
// image's pair in every run goes through one evaluatePairs call on the worker pool with keepLosses, exactly
// the jobs `runs` gives its images, so every loss is bit-identical to the ones its percentiles and
// persistent[] were computed from; then figures.ts's decision (hardPixels.ts) against the runs' percentiles.
import { LensError } from '../../errors';
import type { WorkerPool } from '../../worker/engine/pool';
import { evaluatePairs } from '../runEval';
import type { EvalOptions } from '../types';
import { hardInEveryRun, type HardMask } from './hardPixels';

/** The options of the runs evaluation that change per-pixel losses or which pixels count. */
export interface RunsLossOptions {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly classDim: number;
}

export interface ImageHardRequest {
  /** The image's prediction in each run, in run order. */
  readonly predictions: readonly string[];
  readonly label: string;
  readonly options: RunsLossOptions;
  /** Each run's percentile from the runs report (RunsReport.runs[].p90). */
  readonly percentiles: ReadonlyArray<number | null>;
  readonly pool: WorkerPool;
  readonly wasmPath: string | null;
  readonly signal?: AbortSignal;
}

export async function imageHardMask(req: ImageHardRequest): Promise<HardMask> {
  if (req.percentiles.length !== req.predictions.length) {
    throw new LensError('shape', `${req.predictions.length} runs but ${req.percentiles.length} percentiles`);
  }
  // Bins, boundary and weight change figures the panel does not use here, never the kept losses.
  const options: EvalOptions = { ...req.options, bins: 15, boundary: 0, weight: null };
  const losses: Float32Array[] = new Array<Float32Array>(req.predictions.length);
  await evaluatePairs({
    pairs: req.predictions.map((prediction, r) => ({ stem: `run${r}`, prediction, label: req.label })),
    options, pool: req.pool, wasmPath: req.wasmPath, signal: req.signal, keepLosses: true,
    onImage: (result, index) => {
      if (!result.losses) throw new LensError('io', 'the worker sent no losses back');
      losses[index] = result.losses;
    },
  });
  return hardInEveryRun(losses, req.percentiles);
}
