// eval --label-issues: two streaming passes over a folder's pairs on the worker pool (pass 1: each image's
// per-class sums of its labels' probabilities, for the thresholds; pass 2: each image's low scores, its part
// of T and its label quality), one image per worker at a time; the folder's pixels are pooled as one image,
// as docs/label-issues.md §1 says (src/labels/labelIssues.ts folderIssues). A sharded run makes each pass
// on its own pairs and merges in between (src/eval/labelIssueParts.ts).
import { LensError } from '../errors';
import { thresholdsFromSums, type ImagePass2 } from '../labels/labelIssues';
import type { WorkerPool } from '../worker/engine/pool';
import { cancelled, runOne } from '../worker/engine/schedule';
import { folderLabelIssuesOf } from './finalize';
import type { EvalOptions, EvalPair, FolderLabelIssues } from './types';

export type { FolderLabelIssues } from './types';

/** One image's pass 1: per class, the sum of the labelled class's probability and the pixel count. */
export interface ImagePass1 {
  readonly sums: readonly number[];
  readonly counts: readonly number[];
}

async function eachImage<T>(pairs: readonly EvalPair[], pool: WorkerPool, signal: AbortSignal | undefined, job: (pair: EvalPair, index: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(pairs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < pairs.length && !signal?.aborted) {
      const i = next++;
      out[i] = await job(pairs[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(pool.size, pairs.length)) }, lane));
  // Stopped lanes leave holes: never hand them on as results.
  if (signal?.aborted) throw cancelled();
  return out;
}

/** Pass 1 of each pair, in the order of the pairs. */
export async function labelIssuesPass1(pairs: readonly EvalPair[], options: EvalOptions, pool: WorkerPool, signal?: AbortSignal): Promise<ImagePass1[]> {
  return eachImage(pairs, pool, signal, async (pair, id) => {
    const r = await runOne(() => pool, { kind: 'label-issues-image', id, prediction: pair.prediction, label: pair.label, classDim: options.classDim, ignoreIndex: options.ignoreIndex, thresholds: null }, signal);
    if (r.kind !== 'label-issues-image-done' || !r.pass1) throw new LensError('io', `unexpected worker reply ${r.kind}`);
    return r.pass1;
  });
}

/** Pass 2 of each pair under the folder's thresholds, in the order of the pairs. */
export async function labelIssuesPass2(pairs: readonly EvalPair[], options: EvalOptions, thresholds: readonly number[], pool: WorkerPool, signal?: AbortSignal): Promise<ImagePass2[]> {
  return eachImage<ImagePass2>(pairs, pool, signal, async (pair, id) => {
    const r = await runOne(() => pool, { kind: 'label-issues-image', id, prediction: pair.prediction, label: pair.label, classDim: options.classDim, ignoreIndex: options.ignoreIndex, thresholds }, signal);
    if (r.kind !== 'label-issues-image-done' || !r.pass2) throw new LensError('io', `unexpected worker reply ${r.kind}`);
    return r.pass2;
  });
}

/** Both passes over all the folder's pairs (in stem order). */
export async function folderLabelIssues(pairs: readonly EvalPair[], options: EvalOptions, classes: number, pool: WorkerPool, signal?: AbortSignal): Promise<FolderLabelIssues> {
  const pass1 = await labelIssuesPass1(pairs, options, pool, signal);
  const thresholds = Array.from(thresholdsFromSums(pass1, classes));
  return folderLabelIssuesOf(await labelIssuesPass2(pairs, options, thresholds, pool, signal), thresholds);
}
