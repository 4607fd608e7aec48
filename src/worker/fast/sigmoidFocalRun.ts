// torchvision's sigmoid focal loss on the SIMD path: float32 logits and float32 targets of the same
// shape, from in-memory tensors or .npy files under the in-memory budget (larger files stream on the
// general path). The elements go through the shared working memory in blocks (the next block is copied or
// read in while the workers compute the current one); each job runs dist/focal.wasm over a range and
// leaves its maps in the block's region, whose pages are reused from request to request.
//
// The result keeps no maps: they are as large as the input (6 bytes per element), and first touching that
// many fresh pages took several times the kernel's own time (a 4 KiB page costs ~11 us to fault in on the
// development VM; 44 M elements are 65 K pages). Nothing needs them whole to show the result: the
// statistics and worst elements come from the jobs, a loss file (the CLI's --out) is written from the
// regions block by block, and whatever needs maps asks the result's mapsOnDemand for a range (a sample
// for the view; everything for an export or a comparison), which runs the same kernel over the same
// elements again: the values the computation had, bit for bit.
//
// Jobs depend on the problem's size only and merge in job order: the same statistics for any number of
// workers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { reducedValue } from '../../kernel/index';
import { sigmoidFocalAccLength } from '../../kernel/wasm/focalKernel';
import { emptyPartial, finalizeStats, mergeInto, type StatsPartial } from '../../kernel/stats';
import type { LossOptions } from '../../kernel/types';
import { buildProblem, shapeOnly, type BceProblem } from '../../kernel/validate';
import { numel, type Tensor } from '../../tensor/tensor';
import type { ComputeControls, ElementMaps, EngineOptions, EngineRequest, EngineResult, MapsOnDemand, TensorSource } from '../engine/engineTypes';
import type { FastState } from './fastRun';
import { closeNpy, isNpyPath, openNpy, readF32, type NpyFile } from '../files/npyFile';
import { NpyStreamWriter } from '../files/npyStreamWriter';
import type { WasmInit, WorkerPool } from '../engine/pool';
import { identityOf, sameIdentity, type FileIdentity } from '../files/regularFile';
import { deferred, Progress, runJobs, type Deferred, type FastJob } from '../engine/schedule';
import { loadWhole } from '../engine/sources';

/**
 * Elements per block in the working memory (14 bytes each: x, t, loss f32, pred, tc u8; two blocks, 117
 * MB). A block is staged while the workers compute the one before: at 2^21 they sometimes waited for it.
 */
const BLOCK_ELEMENTS = 1 << 22;
/** Elements per job: 3 ms of kernel; at 2^18 a job's messages and statistics took a tenth of its time. */
const JOB_ELEMENTS = 1 << 20;
/** Files above this many bytes stream on the general path (the engine's in-memory budget by default). */
const DEFAULT_IN_MEMORY = 1 << 30;

/**
 * Where an operand's float32 values are read from: an in-memory tensor (a file of another format is
 * loaded whole into one), or a C-order float32 .npy read by ranges straight into the working memory.
 */
type Operand =
  | { readonly kind: 'tensor'; readonly data: Float32Array; readonly shape: readonly number[] }
  | { readonly kind: 'npy'; readonly file: NpyFile; readonly identity: FileIdentity };

/** An operand as the result keeps it for computing maps later: the values themselves, or which file. */
type KeptOperand =
  | { readonly kind: 'tensor'; readonly data: Float32Array }
  | { readonly kind: 'npy'; readonly path: string; readonly identity: FileIdentity };

export interface SigmoidFocalPlan {
  readonly input: Operand;
  readonly target: Operand;
  readonly problem: BceProblem;
}

/** What computing maps again needs: the operands, the class layout and the loss's settings. */
export interface SigmoidFocalSpec {
  readonly input: KeptOperand;
  readonly target: KeptOperand;
  readonly M: number;
  readonly C: number;
  readonly inner: number;
  readonly gamma: number;
  readonly alpha: number;
}

function operandShape(o: Operand): readonly number[] {
  return o.kind === 'tensor' ? o.shape : o.file.header.shape;
}

/** The operand of a source, or null when it does not hold float32 values (another path computes it). */
function openOperand(src: TensorSource, role: 'input' | 'target'): Operand | null {
  if (src.kind === 'file' && isNpyPath(src.path)) {
    const file = openNpy(src.path, src.pin);
    const h = file.header;
    if (h.dtype === 'float32' && !(h.fortranOrder && h.shape.length > 1)) return { kind: 'npy', file, identity: identityOf(fs.fstatSync(file.fd)) };
    closeNpy(file);
    // A Fortran-order float32 file is read whole (in C order); any other dtype is not this path's.
    if (h.dtype !== 'float32') return null;
  }
  const t: Tensor = loadWhole(src, role);
  return t.dtype === 'float32' && t.data instanceof Float32Array ? { kind: 'tensor', data: t.data, shape: t.shape } : null;
}

function closeOperand(o: Operand | null): void {
  if (o?.kind === 'npy') closeNpy(o.file);
}

export function closeSigmoidFocal(plan: SigmoidFocalPlan): void {
  closeOperand(plan.input);
  closeOperand(plan.target);
}

/**
 * Whether a request takes the SIMD sigmoid focal path: loss sigmoid-focal, float32 logits and targets,
 * no file above the in-memory budget. .npy files are opened by their headers (the caller closes them with
 * closeSigmoidFocal); throws the reference's errors for bad shapes or options.
 */
export function planSigmoidFocal(req: EngineRequest, options: LossOptions, opts: EngineOptions): SigmoidFocalPlan | null {
  if (options.loss !== 'sigmoid-focal' || options.inputKind !== 'logits' || req.weight || req.posWeight) return null;
  const budget = opts.inMemoryBytes ?? DEFAULT_IN_MEMORY;
  for (const src of [req.input, req.target]) {
    if (src.kind === 'file' && fs.statSync(src.path).size > budget) return null;
  }
  const input = openOperand(req.input, 'input');
  if (!input) return null;
  let target: Operand | null = null;
  try {
    target = openOperand(req.target, 'target');
    if (!target) {
      closeOperand(input);
      return null;
    }
    const shapeOf = (o: Operand): Tensor => shapeOnly({ dtype: 'float32', shape: operandShape(o) });
    const problem = buildProblem({ input: shapeOf(input), target: shapeOf(target), weight: null, posWeight: null }, options);
    if (problem.loss !== 'sigmoid-focal') {
      closeOperand(input);
      closeOperand(target);
      return null;
    }
    return { input, target, problem };
  } catch (e) {
    closeOperand(input);
    closeOperand(target);
    throw e;
  }
}

/** What the engine lends a run: its kernel, working memory, workers and fast-path state. */
export interface SigmoidFocalEngine {
  readonly distDir: string;
  readonly module: WebAssembly.Module;
  readonly reservedBytes: number;
  readonly workingMemory: (pages: number) => { memory: WebAssembly.Memory; generation: number };
  readonly getPool: () => WorkerPool;
  /** The fast path's state: the working memory is overwritten here, and a cancel leaves jobs draining. */
  readonly state: FastState;
  /** EngineOptions.blockBytes: blocks of at most this many bytes of logits (tests make them small). */
  readonly blockBytes?: number;
  /** EngineOptions.beforePieceRead, awaited before each block is staged (piece 0). */
  readonly beforePieceRead?: (block: number, piece: number) => Promise<void> | undefined;
}

export interface SigmoidFocalContext extends SigmoidFocalEngine {
  readonly req: EngineRequest;
  readonly options: LossOptions;
  readonly plan: SigmoidFocalPlan;
  readonly ctl: ComputeControls;
  readonly maxWorkers: number;
  /** The result's maps, computed again when asked (see the Engine). */
  readonly onDemand: (spec: SigmoidFocalSpec) => MapsOnDemand;
}

/** One pass of the kernel over elements [m0, m1). */
interface RangeRun {
  readonly input: Operand;
  readonly target: Operand;
  readonly m0: number;
  readonly m1: number;
  readonly C: number;
  readonly inner: number;
  readonly gamma: number;
  readonly alpha: number;
  readonly topK: number;
  readonly signal: AbortSignal | undefined;
  readonly progress: Progress | null;
  /**
   * Each block's maps in the working memory (elements [b0, b0 + loss.length)), in order, once its jobs are
   * done; valid only during the call.
   */
  readonly onBlock: ((b0: number, loss: Float32Array, pred: Uint8Array, tc: Uint8Array) => void) | null;
}

/** Elements copied from an in-memory tensor between turns of the event loop. */
const COPY_PIECE = 1 << 18;

async function load(o: Operand, start: number, dest: Float32Array): Promise<void> {
  if (o.kind === 'npy') return readF32(o.file, start, dest.length, dest, 0);
  // In pieces, giving the lanes a turn between them to hand the workers their next jobs: copying a whole
  // block at once held this thread for milliseconds while the workers, done with their jobs, waited.
  for (let i = 0; i < dest.length; i += COPY_PIECE) {
    if (i > 0) await new Promise<void>((r) => setImmediate(r));
    const n = Math.min(COPY_PIECE, dest.length - i);
    dest.set(o.data.subarray(start + i, start + i + n), i);
  }
}

/** Runs the kernel over [m0, m1) and returns the merged statistics of its jobs, in job order. */
async function runRange(en: SigmoidFocalEngine, run: RangeRun): Promise<StatsPartial> {
  const { m0, m1, C, inner, topK, signal } = run;
  const M = m1 - m0;
  // Layout: the kernels' reserved prefix, the accumulators of both regions' jobs, then two regions.
  const blockMax = en.blockBytes ? Math.max(64, Math.floor(en.blockBytes / 64) * 16) : BLOCK_ELEMENTS;
  const B = Math.max(4, Math.min(blockMax, Math.ceil(M / 4) * 4));
  // At least 4 jobs per block, so that both workers have one queued behind the one they compute.
  const jobElements = Math.min(JOB_ELEMENTS, Math.max(16, Math.ceil(B / 64) * 16));
  const jobsPerBlock = Math.ceil(B / jobElements);
  const accBytes = Math.ceil((sigmoidFocalAccLength(C) * 8) / 128) * 128;
  const accBase = Math.ceil(en.reservedBytes / 128) * 128;
  const regionBase = accBase + 2 * jobsPerBlock * accBytes;
  // Rounded so that the second region's f32 arrays stay 16-byte aligned like the first's (B * 14 need not be).
  const regionBytes = Math.ceil((B * 14) / 128) * 128;
  const pages = Math.ceil((regionBase + 2 * regionBytes) / 65536);
  const { memory, generation } = en.workingMemory(pages);
  const buf = memory.buffer;
  const init: WasmInit = { module: en.module, memory, generation };
  const pool = en.getPool();
  const wasmPath = path.join(en.distDir, 'focal.wasm');
  const merged = emptyPartial(C, false, false, M);
  const blocks = Math.ceil(M / B);
  const region = (k: number): number => regionBase + (k % 2) * regionBytes;
  const accOf = (k: number): number => accBase + (k % 2) * jobsPerBlock * accBytes;
  /** Block k: its first element, its length and its region. */
  const blockAt = (k: number): { b0: number; n: number; r: number } => {
    const b0 = m0 + k * B;
    return { b0, n: Math.min(B, m1 - b0), r: region(k) };
  };
  const stage = async (k: number): Promise<void> => {
    const { b0, n, r } = blockAt(k);
    await en.beforePieceRead?.(k, 0);
    new Float64Array(buf, accOf(k), (jobsPerBlock * accBytes) / 8).fill(0);
    await load(run.input, b0, new Float32Array(buf, r, n));
    await load(run.target, b0, new Float32Array(buf, r + B * 4, n));
  };
  // One queue of every block's jobs, so that the workers go from one block to the next without waiting
  // for the slowest job of a block (a per-block barrier idled them ~10% of the time). A job waits for its
  // block's staging; block k is staged into its region once block k - 2's jobs there are done (and, when
  // the caller takes the maps, once it has them).
  const staged: Array<Promise<void>> = [];
  const blockDone: Array<Promise<void>> = [];
  const jobs: FastJob[] = [];
  const sizes: number[] = [];
  for (let k = 0; k < blocks; k++) {
    const { b0, n, r } = blockAt(k);
    const acc0 = accOf(k);
    const ready = k < 2 ? stage(k) : blockDone[k - 2].then(() => stage(k));
    ready.catch(() => undefined);
    staged.push(ready);
    const settles: Deferred[] = [];
    for (let j = 0, i0 = 0; i0 < n; j++, i0 += jobElements) {
      const m = Math.min(jobElements, n - i0);
      const d = deferred();
      const id = jobs.length;
      settles.push(d);
      sizes.push(m);
      jobs.push({
        ready,
        settles: d,
        make: () => ({
          kind: 'sigmoid-focal-chunk', id, generation, wasmPath,
          x: r + i0 * 4, t: r + B * 4 + i0 * 4, loss: r + B * 8 + i0 * 4, pred: r + B * 12 + i0, tc: r + B * 13 + i0,
          acc: acc0 + j * accBytes, n: m, e0: b0 + i0, C, inner, gamma: run.gamma, alpha: run.alpha, topK,
        }),
      });
    }
    // In block order: the maps go to the caller in order, and a region is reused only after its block.
    const done = Promise.all([Promise.all(settles.map((d) => d.promise)), k > 0 ? blockDone[k - 1] : undefined]).then(() => {
      run.onBlock?.(b0, new Float32Array(buf, r + B * 8, n), new Uint8Array(buf, r + B * 12, n), new Uint8Array(buf, r + B * 13, n));
    });
    done.catch(() => undefined);
    blockDone.push(done);
  }
  // Jobs and reads still writing into the working memory after a failure or a cancel: the next request
  // waits for them.
  const drain = (settled: Promise<unknown>): void => {
    en.state.draining = Promise.all([en.state.draining, settled.catch(() => undefined)]);
  };
  try {
    const partials = await runJobs(pool, jobs, init, signal, (i) => run.progress?.add(sizes[i]), () => null, false, drain);
    for (const p of partials) mergeInto(merged, p, topK);
    // The last blocks' maps (every job is done: this settles at once).
    if (blocks > 0) await blockDone[blocks - 1];
  } catch (e) {
    // Jobs never sent never settle by themselves: settled here, the blocks after them are never staged.
    for (const j of jobs) j.settles?.reject(e);
    drain(Promise.all(staged.map((p) => p.catch(() => undefined))));
    throw e;
  }
  return merged;
}

export async function runSigmoidFocal(cx: SigmoidFocalContext): Promise<EngineResult> {
  const { options, plan, ctl } = cx;
  cx.state.resident = null;
  const { input, target, problem } = plan;
  const M = numel(problem.lossShape);
  const { C, inner } = problem;
  const topK = cx.req.topK ?? 10;
  const progress = new Progress(ctl.onProgress, Math.max(1, M));
  // The loss file is written from the regions as each block completes, in order.
  const out = cx.req.outFile ? new NpyStreamWriter(cx.req.outFile, problem.lossShape) : null;
  let merged: StatsPartial;
  try {
    merged = await runRange(cx, {
      input, target, m0: 0, m1: M, C, inner, gamma: options.gamma, alpha: options.alpha, topK, signal: ctl.signal, progress,
      onBlock: out ? (_b0, loss) => out.append(loss) : null,
    });
    out?.finish();
  } catch (e) {
    out?.abort();
    throw e;
  } finally {
    progress.stop();
  }
  const keep = (o: Operand): KeptOperand => (o.kind === 'tensor' ? { kind: 'tensor', data: o.data } : { kind: 'npy', path: o.file.path, identity: o.identity });
  const inShape = operandShape(input);
  return {
    options, value: reducedValue(options, C, problem.targetKind, merged), lossShape: problem.lossShape,
    numerator: merged.numerator, denominator: merged.denominator, targetKind: problem.targetKind,
    stats: finalizeStats(merged, problem.lossShape, null, M), maps: null,
    mapsOnDemand: cx.onDemand({ input: keep(input), target: keep(target), M, C, inner, gamma: options.gamma, alpha: options.alpha }),
    input: { shape: inShape, dtype: 'float32' }, target: { shape: operandShape(target), dtype: 'float32' },
    engine: 'wasm-simd', workers: Math.min(cx.maxWorkers, cx.getPool().started), streamed: false, reusedInput: false,
  };
}

/** A kept operand opened again: the tensor as it is, or the very .npy file the computation read. */
function reopen(k: KeptOperand): Operand {
  if (k.kind === 'tensor') return { kind: 'tensor', data: k.data, shape: [k.data.length] };
  const file = openNpy(k.path);
  if (!sameIdentity(fs.fstatSync(file.fd), k.identity)) {
    closeNpy(file);
    throw new LensError('io', `${k.path} changed on disk since its loss was computed: compute it again to see its maps`);
  }
  return { kind: 'npy', file, identity: k.identity };
}

/**
 * Elements [start, start + count) of a result's maps: loss float32, predicted (x > 0) and targetClass
 * (t >= 0.5) one byte each, ignored all zeros (no element is ignored). The jobs' maps are copied out of
 * the working memory block by block into arrays of the range's size.
 */
export async function sigmoidFocalMaps(en: SigmoidFocalEngine, spec: SigmoidFocalSpec, start: number, count: number, signal?: AbortSignal): Promise<ElementMaps> {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > spec.M) {
    throw new LensError('value', `elements [${start}, ${start + count}) are outside the loss map of ${spec.M} elements`);
  }
  const input = reopen(spec.input);
  let target: Operand | null = null;
  let done = false;
  try {
    target = reopen(spec.target);
    const loss = new Float32Array(count);
    const predicted = new Uint8Array(count);
    const targetClass = new Uint8Array(count);
    await runRange(en, {
      input, target, m0: start, m1: start + count, C: spec.C, inner: spec.inner, gamma: spec.gamma, alpha: spec.alpha, topK: 0, signal, progress: null,
      onBlock: (b0, l, p, t) => {
        loss.set(l, b0 - start);
        predicted.set(p, b0 - start);
        targetClass.set(t, b0 - start);
      },
    });
    done = true;
    return { loss, predicted, targetClass, ignored: new Uint8Array(count) };
  } finally {
    // After a failure or a cancel, block reads may still be in flight on these descriptors (see the Engine's
    // inFastQueue): the files are closed once they are done.
    const close = (): void => {
      closeOperand(input);
      closeOperand(target);
    };
    if (done) close();
    else void en.state.draining.then(close, close);
  }
}
