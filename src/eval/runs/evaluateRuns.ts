// Orchestration of a runs evaluation over the worker pool: the runs one after another, each exactly as
// `eval` evaluates its folder (evaluatePairs: one pass over the logits, images streaming through the
// workers), with each image's non-ignored losses sent back, appended to the run's spill file and counted
// into the run's level-1 histogram as they arrive. The figures that need whole runs (figures.ts) read the
// spill back afterwards. Spill folders that killed evaluations left behind are removed first (staleSpills.ts).
import * as os from 'node:os';
import { LensError } from '../../errors';
import type { WorkerPool } from '../../worker/engine/pool';
import { evaluatePairs, type EvalOutcome } from '../runEval';
import type { EvalOptions, EvalPair, ImageResult } from '../types';
import { LossSpill } from './lossFiles';
import { LossHistogram } from './percentile';
import { removeStaleSpills } from './staleSpills';

export interface RunsRun {
  /** Per run, its pairs of the same stems in stem order. */
  readonly pairs: ReadonlyArray<readonly EvalPair[]>;
  readonly options: EvalOptions;
  readonly pool: WorkerPool;
  readonly wasmPath: string | null;
  readonly signal?: AbortSignal;
  /** Run k, images done in it and its total. */
  readonly onProgress?: (run: number, done: number, total: number) => void;
  /** Each image of run k as it completes (the runs view keeps the first and last runs' loss thumbnails). */
  readonly onImage?: (run: number, result: ImageResult, index: number) => void;
  /** Each run's outcome as soon as that run is done (the runs view shows its pooled figures then). */
  readonly onRun?: (run: number, outcome: EvalOutcome) => void;
  /** Where the spill's temporary folder goes (default: the system's). */
  readonly tempDir?: string;
}

export interface RunsOutcome {
  /** Per run, what evaluatePairs gives for its pairs. */
  readonly outcomes: readonly EvalOutcome[];
  /** The losses; the caller closes it. */
  readonly spill: LossSpill;
  readonly histograms: readonly LossHistogram[];
}

export async function evaluateRuns(run: RunsRun): Promise<RunsOutcome> {
  const R = run.pairs.length;
  const images = run.pairs[0]?.length ?? 0;
  const tempDir = run.tempDir ?? os.tmpdir();
  removeStaleSpills(tempDir);
  const spill = new LossSpill(R, images, tempDir);
  const histograms = Array.from({ length: R }, () => new LossHistogram());
  const outcomes: EvalOutcome[] = [];
  let classes: { count: number; file: string } | null = null;
  try {
    for (let r = 0; r < R; r++) {
      const outcome = await evaluatePairs({
        pairs: run.pairs[r], options: run.options, pool: run.pool, wasmPath: run.wasmPath, signal: run.signal, keepLosses: true,
        onProgress: run.onProgress ? (done, total) => run.onProgress!(r, done, total) : undefined,
        onImage: (result, index, pair) => {
          if (classes === null) classes = { count: result.classes, file: pair.prediction };
          else if (result.classes !== classes.count) {
            throw new LensError('shape', `${pair.prediction}: ${result.classes} classes, but ${classes.file} has ${classes.count} — every run must predict the same classes`);
          }
          const losses = result.losses;
          if (losses === undefined) throw new LensError('io', 'a compute worker sent no losses back');
          spill.write(r, index, losses, pair.label);
          histograms[r].add(new Uint32Array(losses.buffer, losses.byteOffset, losses.length));
          run.onImage?.(r, result, index);
        },
      });
      outcomes.push(outcome);
      run.onRun?.(r, outcome);
    }
  } catch (e) {
    spill.close();
    throw e;
  }
  return { outcomes, spill, histograms };
}
