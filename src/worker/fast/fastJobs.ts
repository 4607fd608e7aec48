// The fast path's jobs for one block: relayout jobs (rows read from disk into the kernel's 16-pixel block
// layout) and compute jobs (the SIMD kernel over pixel ranges of samples). The grouping depends on the
// problem's size only, never on the worker count, so the statistics are the same for any number of workers.
import type { LossOptions } from '../../kernel/types';
import { sampleGroup, transposedSpan, type FastLayout } from './memoryLayout';
import type { FastChunkJob } from '../../protocol';
import type { FastJob, Deferred } from '../engine/schedule';
import type { BlockLoad } from '../engine/staging';

/** What making a block's jobs needs. */
export interface JobContext {
  readonly layout: FastLayout;
  readonly C: number;
  readonly S: number;
  readonly options: LossOptions;
  readonly topK: number;
  /** The working memory's generation (workers re-initialise on a new one). */
  readonly generation: number;
  readonly reuse: boolean;
  readonly relaid: readonly Deferred[];
  /** Softmax focal's alpha and gamma (see FastPlan.focal), or null. */
  readonly focal: FastChunkJob['focal'];
}

export interface BlockJobs {
  readonly jobs: FastJob[];
  /** Each job's pixels, for progress (0 for a relayout job). */
  readonly sizes: number[];
  /**
   * The samples [first, last] each job covers, to copy a sample's maps out once its jobs are done (null
   * for a relayout job).
   */
  readonly covers: Array<readonly [number, number] | null>;
  /** Compute jobs still to finish per sample of the block. */
  readonly left: number[];
  /** Accumulator slots used, one per compute job in job order (merged by the host in that order). */
  readonly slots: number;
}

/** The jobs of block k, whose samples load as `current` says. */
export function blockJobs(cx: JobContext, k: number, current: BlockLoad): BlockJobs {
  const { layout, C, S, options, topK, reuse, relaid } = cx;
  const { blocked, rows, rowKernel, xDtype, xSample, stage, wOff, confOff, accLen, confLen, jobPixels, jobsPerSample } = layout;
  // Each worker's own confusion region, or none (large C: the jobs count pairs).
  const confusionOf = (worker: number): number => (confLen > 0 ? confOff + worker * confLen * 8 : 0);
  const pairs = confLen === 0;
  const pieceBase = layout.pieceBase[k];
  const [b0, b1] = layout.blocks[k];
  const nb = b1 - b0;
  const r = layout.regions[k % layout.regions.length];
  const jobs: FastJob[] = [];
  const sizes: number[] = [];
  const covers: Array<readonly [number, number] | null> = [];
  const left = new Array<number>(nb).fill(0);
  // Each compute job adds to accumulators of its own.
  let accSlot = 0;
  // Relayout jobs for this block's pieces, those of a sample sent ahead of the compute jobs of the
  // sample before it, so that with several workers one lays out the next sample while the others
  // compute.
  const pieces = layout.blockPieces[k];
  let emitted = 0;
  const emitRelayouts = (upToSample: number): void => {
    if (!blocked || reuse) return;
    for (; emitted < pieces.length && pieces[emitted].n0 <= upToSample; emitted++) {
      const u = pieceBase + emitted;
      const { n0, n1, c0, c1 } = pieces[emitted];
      const id = jobs.length;
      sizes.push(0);
      covers.push(null);
      jobs.push({
        ready: current.pieces[emitted],
        make: () => ({ kind: 'fast-relayout', id, generation: cx.generation, src: stage[u % 2], dst: r.x + n0 * xSample, C, S, samples: n1 - n0, c0, c1 }),
        settles: relaid[u],
      });
    }
  };
  /** When samples [n0, n1] are in memory in the kernel's layout. */
  const samplesReady = (n0: number, n1: number): Promise<unknown> => {
    if (!blocked || reuse) return current.samples[n1];
    const waits: Array<Promise<void>> = [];
    pieces.forEach((p, i) => {
      if (p.n1 > n0 && p.n0 <= n1) waits.push(relaid[pieceBase + i].promise);
    });
    if (waits.length === 1) return waits[0];
    const all = Promise.all(waits);
    // Jobs never sent after a failure leave this unobserved: the lane that sends one sees the rejection.
    all.catch(() => undefined);
    return all;
  };
  // Samples smaller than a job go several to a job (classification rows are one pixel each); at least
  // 16 jobs per block keep every worker busy, and the grouping does not depend on the worker count,
  // so the statistics are the same for any number of workers.
  const group = sampleGroup(C, S, nb, jobsPerSample);
  if (rows) {
    // One transposed sample of nb pixels, in pixel ranges (multiples of 16) of about a job's size.
    const span = transposedSpan(nb, C);
    for (let s0 = 0; s0 < nb; s0 += span) {
      const id = jobs.length;
      const slot = accSlot++;
      const s1 = Math.min(nb, s0 + span);
      sizes.push(s1 - s0);
      covers.push([0, nb - 1]);
      jobs.push({
        ready: current.samples[0],
        make: (worker) => ({
          kind: 'fast-chunk', id, generation: cx.generation,
          x: r.x, t: r.t, w: wOff, C, S: nb, s0, s1, blocked: false, rowKernel: false, xDtype: 'float32', xSample: 0,
          ignoreIndex: options.ignoreIndex, labelSmoothing: options.labelSmoothing,
          outLoss: r.loss, outPred: r.pred,
          acc: r.acc + slot * accLen * 8, confusion: confusionOf(worker), pairs,
          topK, flatBase: b0, samples: 1, focal: cx.focal,
        }),
      });
    }
  }
  for (let n = 0; n < (rows ? 0 : nb); n += group) {
    const count = Math.min(group, nb - n);
    emitRelayouts(n + count);
    const ready = samplesReady(n, n + count - 1);
    for (let j = 0; j < jobsPerSample; j++) {
      const id = jobs.length;
      const slot = accSlot++;
      const s0 = j * jobPixels;
      const s1 = Math.min(S, s0 + jobPixels);
      sizes.push((s1 - s0) * count);
      covers.push([n, n + count - 1]);
      for (let m = n; m < n + count; m++) left[m]++;
      jobs.push({
        ready,
        make: (worker) => ({
          kind: 'fast-chunk', id, generation: cx.generation,
          x: r.x + n * xSample, t: r.t + n * S * 4, w: wOff, C, S, s0, s1, blocked, rowKernel, xDtype, xSample,
          ignoreIndex: options.ignoreIndex, labelSmoothing: options.labelSmoothing,
          outLoss: r.loss + n * S * 4, outPred: r.pred + n * S * 4,
          acc: r.acc + slot * accLen * 8, confusion: confusionOf(worker), pairs,
          topK, flatBase: (b0 + n) * S, samples: count, focal: cx.focal,
        }),
      });
    }
  }
  emitRelayouts(nb);
  return { jobs, sizes, covers, left, slots: accSlot };
}

/**
 * Counts a finished compute job off the samples it covers and passes the samples it completes to `copy`
 * as contiguous runs [n0, n1].
 */
export function completeSamples(cover: readonly [number, number], left: number[], copy: (n0: number, n1: number) => void): void {
  let run = -1;
  for (let n = cover[0]; n <= cover[1] + 1; n++) {
    const done = n <= cover[1] && --left[n] === 0;
    if (done && run < 0) run = n;
    if (!done && run >= 0) {
      copy(run, n - 1);
      run = -1;
    }
  }
}
