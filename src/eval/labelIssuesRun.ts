// eval --label-issues: two streaming passes over a folder's pairs on the worker pool (pass 1: each image's
// per-class sums of its labels' probabilities, for the thresholds; pass 2: each image's low scores, its part
// of T and its label quality), one image per worker at a time; the folder's pixels are pooled as one image,
// as docs/label-issues.md §1 says (src/labels/labelIssues.ts folderIssues).
import { LensError } from '../errors';
import { folderIssues, thresholdsFromSums, type FolderIssues, type ImagePass2 } from '../labels/labelIssues';
import type { WorkerPool } from '../worker/pool';
import { runOne } from '../worker/schedule';
import type { EvalOptions, EvalPair } from './types';

export interface FolderLabelIssues extends FolderIssues {
  readonly thresholds: readonly number[];
  /** Per image, in the order of the pairs: its label quality (null without labelled pixels). */
  readonly quality: ReadonlyArray<number | null>;
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
  return out;
}

export async function folderLabelIssues(pairs: readonly EvalPair[], options: EvalOptions, classes: number, pool: WorkerPool, signal?: AbortSignal): Promise<FolderLabelIssues> {
  const base = { classDim: options.classDim, ignoreIndex: options.ignoreIndex };
  const pass1 = await eachImage(pairs, pool, signal, async (pair, id) => {
    const r = await runOne(() => pool, { kind: 'label-issues-image', id, prediction: pair.prediction, label: pair.label, ...base, thresholds: null }, signal);
    if (r.kind !== 'label-issues-image-done' || !r.pass1) throw new LensError('io', `unexpected worker reply ${r.kind}`);
    return r.pass1;
  });
  const thresholds = Array.from(thresholdsFromSums(pass1, classes));
  const pass2 = await eachImage<ImagePass2>(pairs, pool, signal, async (pair, id) => {
    const r = await runOne(() => pool, { kind: 'label-issues-image', id, prediction: pair.prediction, label: pair.label, ...base, thresholds }, signal);
    if (r.kind !== 'label-issues-image-done' || !r.pass2) throw new LensError('io', `unexpected worker reply ${r.kind}`);
    return r.pass2;
  });
  return { ...folderIssues(pass2), thresholds, quality: pass2.map((p) => p.quality) };
}
