// torchvision's sigmoid focal loss on the SIMD path: float32 logits and float32 targets of the same
// shape, whole in memory (larger .npy files stream on the general path). The elements go through the
// shared working memory in blocks (the host copies the next block in while the workers compute the
// current one); each job runs dist/focal.wasm over a range and writes its maps straight into the result's
// shared buffers, so their pages are first touched by the workers, in parallel. Jobs depend on the
// problem's size only and merge in job order: the same statistics for any number of workers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { reducedValue } from '../kernel/index';
import { sigmoidFocalAccLength } from '../kernel/focalKernel';
import { emptyPartial, finalizeStats, mergeInto } from '../kernel/stats';
import type { LossOptions } from '../kernel/types';
import { buildProblem, type BceProblem } from '../kernel/validate';
import { numel, type Tensor } from '../tensor/tensor';
import type { WorkerRequest } from '../protocol';
import type { ComputeControls, EngineOptions, EngineRequest, EngineResult } from './engineTypes';
import type { FastState } from './fastRun';
import { NpyStreamWriter } from './npyStreamWriter';
import type { WasmInit, WorkerPool } from './pool';
import { cancelled, Progress, runJobs } from './schedule';
import { loadWhole } from './sources';

/** Elements per block in the working memory (14 bytes each: x, t, loss f32, pred, tc u8). */
const BLOCK_ELEMENTS = 1 << 21;
/** Elements per job. */
const JOB_ELEMENTS = 1 << 18;
/** Files above this many bytes stream on the general path (the engine's in-memory budget by default). */
const DEFAULT_IN_MEMORY = 1 << 30;

export interface SigmoidFocalPlan {
  readonly input: Tensor;
  readonly target: Tensor;
  readonly problem: BceProblem;
}

/**
 * Whether a request takes the SIMD sigmoid focal path: loss sigmoid-focal, float32 logits and targets,
 * no file above the in-memory budget. Loads both; throws the reference's errors for bad shapes or options.
 */
export function planSigmoidFocal(req: EngineRequest, options: LossOptions, opts: EngineOptions): SigmoidFocalPlan | null {
  if (options.loss !== 'sigmoid-focal' || options.inputKind !== 'logits' || req.weight || req.posWeight) return null;
  const budget = opts.inMemoryBytes ?? DEFAULT_IN_MEMORY;
  for (const src of [req.input, req.target]) {
    if (src.kind === 'file' && fs.statSync(src.path).size > budget) return null;
  }
  const input = loadWhole(req.input, 'input');
  if (input.dtype !== 'float32' || !(input.data instanceof Float32Array)) return null;
  const target = loadWhole(req.target, 'target');
  if (target.dtype !== 'float32' || !(target.data instanceof Float32Array)) return null;
  const problem = buildProblem({ input, target, weight: null, posWeight: null }, options);
  if (problem.loss !== 'sigmoid-focal') return null;
  return { input, target, problem };
}

export interface SigmoidFocalContext {
  readonly req: EngineRequest;
  readonly options: LossOptions;
  readonly plan: SigmoidFocalPlan;
  readonly ctl: ComputeControls;
  readonly distDir: string;
  readonly module: WebAssembly.Module;
  readonly reservedBytes: number;
  readonly maxWorkers: number;
  readonly workingMemory: (pages: number) => { memory: WebAssembly.Memory; generation: number };
  readonly getPool: () => WorkerPool;
  /** The fast path's state: the working memory is overwritten here, and a cancel leaves jobs draining. */
  readonly state: FastState;
}

export async function runSigmoidFocal(cx: SigmoidFocalContext): Promise<EngineResult> {
  const { options, plan, ctl } = cx;
  cx.state.resident = null;
  const { input, target, problem } = plan;
  const M = numel(problem.lossShape);
  const { C, inner } = problem;
  const x = input.data as Float32Array;
  const t = target.data as Float32Array;
  const topK = cx.req.topK ?? 10;
  // Layout: the kernels' reserved prefix, the accumulators of both regions' jobs, then two regions.
  const B = Math.max(4, Math.min(BLOCK_ELEMENTS, Math.ceil(M / 4) * 4));
  const jobsPerBlock = Math.ceil(B / JOB_ELEMENTS);
  const accBytes = Math.ceil((sigmoidFocalAccLength(C) * 8) / 128) * 128;
  const accBase = Math.ceil(cx.reservedBytes / 128) * 128;
  const regionBase = accBase + 2 * jobsPerBlock * accBytes;
  // Rounded so that the second region's f32 arrays stay 16-byte aligned like the first's (B * 14 need not be).
  const regionBytes = Math.ceil((B * 14) / 128) * 128;
  const pages = Math.ceil((regionBase + 2 * regionBytes) / 65536);
  const { memory, generation } = cx.workingMemory(pages);
  const buf = memory.buffer;
  const init: WasmInit = { module: cx.module, memory, generation };
  const pool = cx.getPool();
  const wasmPath = path.join(cx.distDir, 'focal.wasm');
  // The result's maps: shared, so the workers write them; `ignored` stays all zeros (never written, so
  // its pages are never faulted in here). predicted and targetClass only hold 0/1: one byte each.
  const outLoss = new SharedArrayBuffer(Math.max(8, M * 4));
  const outPred = new SharedArrayBuffer(Math.max(8, M));
  const outTc = new SharedArrayBuffer(Math.max(8, M));
  const merged = emptyPartial(C, false, false, M);
  const progress = new Progress(ctl.onProgress, Math.max(1, M));
  const blocks = Math.ceil(M / B);
  const region = (k: number): number => regionBase + (k % 2) * regionBytes;
  const stage = (k: number): void => {
    const b0 = k * B;
    const n = Math.min(B, M - b0);
    const r = region(k);
    new Float32Array(buf, r, n).set(x.subarray(b0, b0 + n));
    new Float32Array(buf, r + B * 4, n).set(t.subarray(b0, b0 + n));
  };
  try {
    if (blocks > 0) stage(0);
    for (let k = 0; k < blocks; k++) {
      if (ctl.signal?.aborted) throw cancelled();
      const b0 = k * B;
      const n = Math.min(B, M - b0);
      const r = region(k);
      const acc0 = accBase + (k % 2) * jobsPerBlock * accBytes;
      new Float64Array(buf, acc0, (jobsPerBlock * accBytes) / 8).fill(0);
      const jobs: Array<() => WorkerRequest> = [];
      const sizes: number[] = [];
      for (let j = 0, i0 = 0; i0 < n; j++, i0 += JOB_ELEMENTS) {
        const m = Math.min(JOB_ELEMENTS, n - i0);
        sizes.push(m);
        jobs.push(() => ({
          kind: 'sigmoid-focal-chunk', id: j, generation, wasmPath,
          x: r + i0 * 4, t: r + B * 4 + i0 * 4, loss: r + B * 8 + i0 * 4, pred: r + B * 12 + i0, tc: r + B * 13 + i0,
          acc: acc0 + j * accBytes, n: m, e0: b0 + i0, C, inner, gamma: options.gamma, alpha: options.alpha, topK,
          outLoss, outPred, outTc,
        }));
      }
      const running = runJobs(pool, jobs, init, ctl.signal, (i) => progress.add(sizes[i]), () => null, false, (settled) => (cx.state.draining = settled));
      // The other region's jobs (block k - 1) are done: stage the next block while these run.
      if (k + 1 < blocks) stage(k + 1);
      for (const p of await running) mergeInto(merged, p, topK);
    }
  } finally {
    progress.stop();
  }
  const maps = { loss: new Float32Array(outLoss, 0, M), predicted: new Uint8Array(outPred, 0, M), targetClass: new Uint8Array(outTc, 0, M), ignored: new Uint8Array(new SharedArrayBuffer(Math.max(8, M)), 0, M) };
  if (cx.req.outFile) {
    const w = new NpyStreamWriter(cx.req.outFile, problem.lossShape);
    try {
      w.append(maps.loss);
      w.finish();
    } catch (e) {
      w.abort();
      throw e;
    }
  }
  return {
    options, value: reducedValue(options, C, problem.targetKind, merged), lossShape: problem.lossShape,
    numerator: merged.numerator, denominator: merged.denominator, targetKind: problem.targetKind,
    stats: finalizeStats(merged, problem.lossShape, null, M), maps,
    input: { shape: input.shape, dtype: input.dtype }, target: { shape: target.shape, dtype: target.dtype },
    engine: 'wasm-simd', workers: Math.min(cx.maxWorkers, pool.started), streamed: false, reusedInput: false,
  };
}
