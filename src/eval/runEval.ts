// Orchestration of folder evaluation over a worker pool, for the CLI and the dataset view: pairs go to the
// workers in stem order, one image in flight per worker (memory stays bounded: a worker holds one image's
// logits and maps, and sends back only its sums and a loss thumbnail of at most 32 x 32), results stream to
// onImage as they complete, and the totals come out in stem order (see finalize.ts for why that order).
import { LensError } from '../errors';
import type { WorkerPool } from '../worker/engine/pool';
import { cancelled, runOne } from '../worker/engine/schedule';
import { addCounts, emptyCounts } from './accumulate';
import type { EvalCounts, EvalImageRequest, EvalOptions, EvalPair, ImageRecord, ImageResult } from './types';

export interface EvalRun {
  readonly pairs: readonly EvalPair[];
  readonly options: EvalOptions;
  readonly pool: WorkerPool;
  /** dist/ce.wasm, or null to use the pure-TS kernel. */
  readonly wasmPath: string | null;
  readonly signal?: AbortSignal;
  /** Each image as it completes (any order); `index` is its position in `pairs`. */
  readonly onImage?: (result: ImageResult, index: number, pair: EvalPair) => void;
  /** Images done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Images in flight at once (default: the pool's size). */
  readonly concurrency?: number;
  /** Ask each image's non-ignored losses back (ImageResult.losses), for `runs`. */
  readonly keepLosses?: boolean;
  /** Ask each image's label-issue pass 1 back (ImageResult.labelSums), for eval --label-issues. */
  readonly labelSums?: boolean;
  /** Test hook: awaited before each image is sent (the end-to-end Cancel test paces a run with it). */
  readonly beforeImage?: () => Promise<void>;
}

export interface EvalOutcome {
  readonly counts: EvalCounts;
  /** In the order of `pairs` (stem order). */
  readonly records: readonly ImageRecord[];
  /** Classes of the predictions (0 when there were no pairs and no weight). */
  readonly classes: number;
}

/**
 * Images per worker up to which predictions are read in 4 pixel ranges (EvalImageRequest.readRanges):
 * measured on a 2-vCPU VM, 600 reads of 32 KB cost about 1.7 ms per [150, 256, 256] float16 image more than
 * one read, and a quarter of the image's staging memory saves about 70 ms once per worker.
 */
const FEW_IMAGES = 40;

export async function evaluatePairs(run: EvalRun): Promise<EvalOutcome> {
  const { pairs, options, pool, signal } = run;
  if (signal?.aborted) throw cancelled();
  const records: Array<ImageRecord | undefined> = new Array<ImageRecord | undefined>(pairs.length);
  let counts: EvalCounts | null = null;
  let classes = options.weight?.length ?? 0;
  let classesFrom: string | null = null;
  let done = 0;
  let next = 0;
  // The first failure stops further images; images already running finish, and the failure reported is
  // the one earliest in stem order, so the same folder always gives the same message.
  const failures: Array<{ index: number; error: unknown }> = [];

  const take = (r: ImageResult, index: number): void => {
    const pair = pairs[index];
    if (counts === null) {
      classes = r.classes;
      classesFrom = pair.prediction;
      counts = emptyCounts(classes, options.bins);
    } else if (r.classes !== classes) {
      throw new LensError('shape', `${pair.prediction}: ${r.classes} classes, but ${classesFrom} has ${classes} — every prediction must have the same classes`);
    }
    addCounts(counts, r.counts);
    records[index] = r.record;
    done++;
    run.onImage?.(r, index, pair);
    run.onProgress?.(done, pairs.length);
  };

  const lanes = Math.max(1, Math.min(run.concurrency ?? pool.size, pairs.length));
  // Few images per worker: their first image's memory costs more than the extra reads of a few ranges.
  const readRanges = Math.ceil(pairs.length / lanes) <= FEW_IMAGES ? 4 : 1;
  const lane = async (): Promise<void> => {
    while (failures.length === 0 && next < pairs.length && !signal?.aborted) {
      const index = next++;
      if (run.beforeImage) await run.beforeImage();
      if (signal?.aborted) break;
      const msg: EvalImageRequest = {
        kind: 'eval-image', id: index, pair: pairs[index], options, wasmPath: run.wasmPath, ...(readRanges > 1 ? { readRanges } : {}),
        ...(run.keepLosses === true ? { keepLosses: true } : {}), ...(run.labelSums === true ? { labelSums: true } : {}),
      };
      try {
        const r = await runOne(() => pool, msg, signal);
        if (r.kind !== 'eval-image-done') throw new LensError('io', `unexpected worker reply ${r.kind}`);
        take(r.result, index);
      } catch (e) {
        failures.push({ index, error: e });
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  if (signal?.aborted) throw cancelled();
  if (failures.length > 0) throw failures.reduce((a, b) => (b.index < a.index ? b : a)).error;
  return { counts: counts ?? emptyCounts(classes, options.bins), records: records as ImageRecord[], classes };
}
