// The fast path's run: float32/float16 logits with class-index targets through the WebAssembly SIMD
// kernel in one shared wasm memory that all workers import. Files larger than the in-memory budget stream
// in blocks of samples read straight from disk, the next block reading while the current one computes.
// Steps: lay out the memory (memoryLayout.ts), stage each block (staging.ts), make its jobs (fastJobs.ts)
// and run them (schedule.ts), copy maps out as samples finish and assemble the result (assemble.ts).
import { emptyPartial, mergeInto, type StatsPartial } from '../../kernel/stats';
import type { LossOptions } from '../../kernel/types';
import { addJobAccumulators, assembleFast, copyOut, emptyFastResult, keptMaps, type KeptMaps } from './assemble';
import { BadTargetFound, firstBadTarget } from '../engine/badTarget';
import type { ComputeControls, EngineOptions, EngineRequest, EngineResult } from '../engine/engineTypes';
import { blockJobs, completeSamples } from './fastJobs';
import { fileStamp, type FastPlan } from './fastPlan';
import { fastLayout, pieceCount, type FastLayout } from './memoryLayout';
import { NpyStreamWriter } from '../files/npyStreamWriter';
import type { WasmInit, WorkerPool } from '../engine/pool';
import { cancelled, deferred, Progress, runJobs, type Deferred } from '../engine/schedule';
import { stageBlock, type BlockLoad, type BlockStaging } from '../engine/staging';

/** What the engine keeps between fast requests (they run one at a time, see Engine.compute). */
export interface FastState {
  /** What the working memory holds from the last complete fast request read from files. */
  resident: string | null;
  /** Settles when jobs and reads of a cancelled or failed request stop writing into the working memory. */
  draining: Promise<unknown>;
}

/** Everything a fast request runs with, from the engine. */
export interface FastContext {
  readonly req: EngineRequest;
  readonly options: LossOptions;
  readonly plan: FastPlan;
  readonly ctl: ComputeControls;
  readonly opts: EngineOptions;
  readonly module: WebAssembly.Module;
  /** Bytes at the start of the memory that hold the kernel's static data. */
  readonly reservedBytes: number;
  readonly maxWorkers: number;
  readonly workingMemory: (pages: number) => { memory: WebAssembly.Memory; generation: number };
  readonly getPool: () => WorkerPool;
  readonly state: FastState;
}

/** Bytes of the kept maps per element: float32 loss, int32 prediction and target, uint8 ignored. */
const MAP_BYTES_PER_ELEMENT = 13;

export async function runFast(cx: FastContext): Promise<EngineResult> {
  const { req, options, plan, ctl, state } = cx;
  if (plan.N * plan.S === 0) return emptyFast(cx);
  const module = cx.module;
  const { N, C, S } = plan;
  const topK = req.topK ?? 10;
  const W = cx.maxWorkers;
  const layout = fastLayout(plan, { workers: W, reservedBytes: cx.reservedBytes, inMemoryBytes: cx.opts.inMemoryBytes, streamFilesOverBytes: cx.opts.streamFilesOverBytes, blockBytes: cx.opts.blockBytes });
  const { streamed, regions, wOff, confOff, confLen } = layout;
  const { memory, generation } = cx.workingMemory(layout.pages);
  const buf = memory.buffer as unknown as SharedArrayBuffer;
  // Files read by the previous request are still in the working memory (the kernel only reads them):
  // recomputing with other options (the panel's option edits) skips reading them again when neither
  // file changed on disk and the layout is the same.
  const residentKey = !streamed && plan.input.kind === 'file' && plan.target.kind === 'file'
    ? JSON.stringify([generation, regions[0].x, regions[0].t, N, C, S, fileStamp(plan.input.file), fileStamp(plan.target.file)])
    : null;
  const reuse = residentKey !== null && state.resident === residentKey;
  state.resident = null;
  if (plan.weight) new Float32Array(buf, wOff, C).set(plan.weight.data);
  if (plan.focal?.alpha) new Float64Array(buf, layout.alphaOff, C).set(plan.focal.alpha);
  // The memory is reused between requests: the kernel adds to the confusion counts, so start from zero.
  new Float64Array(buf, confOff, W * confLen).fill(0);
  const init: WasmInit = { module, memory, generation };
  const pool = cx.getPool();

  // The loss map is written in the order it is computed: Fortran order for a Fortran-order input.
  const out = req.outFile ? new NpyStreamWriter(req.outFile, plan.lossShape, plan.fortran !== null) : null;
  const merged = emptyPartial(C, true, plan.focal !== null);
  // Reading and computing each count for half of the progress bar.
  const bytesPerSample = C * S * plan.inputItemSize + S * plan.targetItemSize;
  const progress = new Progress(ctl.onProgress, 2 * N * S);
  if (reuse) progress.add(N * S); // nothing to read
  const onBytes = (n: number): void => {
    // Reads come in 8 MiB pieces: stopping between pieces keeps cancellation prompt while streaming.
    if (ctl.signal?.aborted) throw cancelled();
    progress.add((n / bytesPerSample) * S);
  };
  // Samples load one after another; a sample's jobs start as soon as it is in memory, so reading (or
  // copying an in-memory tensor) overlaps the kernel instead of preceding it.
  // Classification rows (S = 1): a block of rows is stored transposed, (C, rows), so the kernel runs over
  // the rows as the pixels of one sample, with its full vector width.
  // Settles when piece u is in the block layout; all rejected on a failure, so that a read waiting for a
  // staging area stops instead of waiting forever.
  const relaid = layout.blocked ? Array.from({ length: pieceCount(layout) }, deferred) : [];
  const staging: BlockStaging = { plan, layout, buf, reuse, relaid, onBytes, signal: ctl.signal, opts: cx.opts };
  // Maps kept for the view, copied out of the working memory sample by sample as each one finishes.
  // Allocated at the first copy, not here: zeroing 13 bytes an element (27 MB for a [8, 512, 512] batch)
  // would hold back the first jobs by a few ms, while after them it overlaps the workers' computing.
  let kept: KeptMaps | null = null;
  const keep = !streamed || N * S * MAP_BYTES_PER_ELEMENT <= (cx.opts.keepStreamedMapsBytes ?? 0) ? (): KeptMaps => (kept ??= keptMaps(N * S)) : null;
  const block: BlockRun = { cx, layout, buf, init, pool, topK, reuse, relaid, keep, progress };
  let loading: BlockLoad | null = null;
  let nextLoad: Promise<BlockLoad> | null = null;
  try {
    loading = stageBlock(staging, 0);
    for (let k = 0; k < layout.blocks.length; k++) {
      const current: BlockLoad = k === 0 ? loading : await nextLoad!;
      loading = current;
      // The other staging region is free once this block is read (its last jobs finished before this
      // block's began), so the next block reads ahead from then on.
      nextLoad = k + 1 < layout.blocks.length ? current.all.then(() => stageBlock(staging, k + 1)) : null;
      // A failed read-ahead surfaces when awaited; keep it from being reported as unhandled meanwhile.
      nextLoad?.catch(() => undefined);
      const partials = await computeBlock(block, k, current, merged);
      for (const p of partials) mergeInto(merged, p, topK);
      const [b0, b1] = layout.blocks[k];
      if (out) out.append(new Float32Array(buf, regions[k % regions.length].loss, (b1 - b0) * S));
    }
    out?.finish();
    state.resident = residentKey;
  } catch (e) {
    out?.abort();
    for (const d of relaid) d.reject(e);
    // Reads may still be writing into the working memory: the next request waits for them.
    const pending = [loading?.all, nextLoad?.then((l) => l.all)].filter((x) => x !== undefined);
    if (pending.length) state.draining = Promise.all([state.draining, ...pending.map((x) => x.catch(() => undefined))]);
    throw e;
  } finally {
    progress.stop();
  }
  return assembleFast({
    plan, options, merged, confusion: new Float64Array(buf, confOff, W * confLen), confLen, W, keep: keep?.() ?? null, streamed, reusedInput: reuse,
    workersUsed: Math.min(W, pool.started),
  });
}

/** What computing one block of a fast request needs. */
interface BlockRun {
  readonly cx: FastContext;
  readonly layout: FastLayout;
  readonly buf: SharedArrayBuffer;
  readonly init: WasmInit;
  readonly pool: WorkerPool;
  readonly topK: number;
  readonly reuse: boolean;
  readonly relaid: readonly Deferred[];
  /** The maps kept for the view (allocated when first asked for), or null when none are kept. */
  readonly keep: (() => KeptMaps) | null;
  readonly progress: Progress;
}

/**
 * Runs block k's jobs once its pieces load, copying samples out as their jobs finish; adds the jobs'
 * per-class sums (left in their accumulators in the shared memory) into `merged` in job order, and
 * returns their partials (scalars, worst elements, pairs) in job order.
 */
async function computeBlock(br: BlockRun, k: number, current: BlockLoad, merged: StatsPartial): Promise<StatsPartial[]> {
  const { cx, layout, buf, keep, progress } = br;
  const { plan, options } = cx;
  const { C, S } = plan;
  const [b0, b1] = layout.blocks[k];
  const nb = b1 - b0;
  const r = layout.regions[k % layout.regions.length];
  new Float64Array(buf, r.acc, layout.jobsPerBlock * layout.accLen).fill(0);
  const { jobs, sizes, covers, left, slots } = blockJobs({ layout, C, S, options, topK: br.topK, generation: br.init.generation, reuse: br.reuse, relaid: br.relaid, focal: plan.focal ? { alphaAt: layout.alphaOff, gamma: plan.focal.gamma } : null }, k, current);
  // Copies samples [n0, n1] of this block out of the working memory.
  const copy = (n0: number, n1: number): void => {
    if (!keep) return;
    const maps = keep();
    copyOut(maps, buf, r, S, options.ignoreIndex, b0, n0, n1);
    if (b0 + n0 === 0) handFirstSample(cx, maps);
  };
  let rowJobsLeft = jobs.length;
  return runJobs(br.pool, jobs, br.init, cx.ctl.signal, (i) => {
    progress.add(sizes[i]);
    if (layout.rows) {
      if (--rowJobsLeft === 0) copy(0, nb - 1);
      return;
    }
    // The samples this job completes, copied as contiguous runs.
    const cover = covers[i];
    if (!cover) return;
    completeSamples(cover, left, copy);
  }, (res) => (res.kind === 'bad-target' ? new BadTargetFound(res.flat, res.value) : null), false, (settled) => (cx.state.draining = settled)).then((partials) => {
    addJobAccumulators(merged, buf, r.acc, layout.accLen * 8, slots, layout.confLen === 0);
    return partials;
  }, async (e: unknown) => {
    if (!(e instanceof BadTargetFound)) throw e;
    throw await firstBadTarget(plan, options.ignoreIndex, b0, nb, e);
  });
}

/**
 * Sample 0's maps to ctl.onFirstSample, once they are copied out: for a batch of several spatial samples
 * (one sample, or the strip of classification rows, is the whole result anyway), in C order (a Fortran-order
 * input's maps are reordered only when the result is assembled).
 */
function handFirstSample(cx: FastContext, keep: KeptMaps): void {
  const { plan, ctl } = cx;
  if (!ctl.onFirstSample || plan.N < 2 || plan.S < 2 || plan.fortran !== null) return;
  const S = plan.S;
  try {
    ctl.onFirstSample({
      shape: plan.lossShape.slice(1),
      loss: keep.loss.slice(0, S),
      target: keep.target.slice(0, S),
      predicted: keep.predicted.slice(0, S),
      ignored: keep.ignored.slice(0, S),
    });
  } catch {
    // the caller's trouble showing them is not the computation's
  }
}

/**
 * A loss map without elements (a batch or spatial size of 0): nothing to read or compute, and PyTorch's
 * answer — NaN for mean, 0 for sum, an empty map — with statistics that counted nothing.
 */
function emptyFast(cx: FastContext): EngineResult {
  const { req, plan } = cx;
  if (req.outFile) {
    const out = new NpyStreamWriter(req.outFile, plan.lossShape, plan.fortran !== null);
    try {
      out.finish();
    } catch (e) {
      out.abort();
      throw e;
    }
  }
  cx.ctl.onProgress?.(1);
  return emptyFastResult(plan, cx.options);
}
