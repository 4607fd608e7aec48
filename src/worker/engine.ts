// The compute engine: every loss the product shows is computed here, in worker threads, never on the
// caller's thread. Two paths:
// - fast: float32/float16 logits with class-index targets go through the WebAssembly SIMD kernel in one
//   shared wasm memory that all workers import; files larger than the in-memory budget stream in blocks
//   of samples read straight from disk. Logits from files are laid out in 16-pixel blocks, which the
//   kernel reads in order, and stay in the memory for recomputing with other options.
// - general: everything else (probability targets, float64, probs/log-probs, channels-last, bce) runs the
//   pure-TS reference kernel on slices of samples over SharedArrayBuffers.
// Work is cut into jobs by the problem's size, never by the worker count, and partial statistics merge in
// job order, so results are identical for any number of workers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError, fmtShape } from '../errors';
import { reducedValue } from '../kernel/index';
import { resolveOptions, normalizeAxis } from '../kernel/options';
import { emptyPartial, finalizeStats, mergeInto, type StatsPartial } from '../kernel/stats';
import type { LossOptions, LossResult, LossStats } from '../kernel/types';
import { buildProblem, shapeOnly, targetRangeError } from '../kernel/validate';
import { blockedLength, ceAccLength, instantiateCeKernel, simdSupported } from '../kernel/wasmKernel';
import { sliceAxis0, splittableSamples, weightPerSample } from '../kernel/partial';
import { decodeRawData, encodeNpyHeader } from '../tensor/npy';
import { isIntegerDType, numel, type Tensor, type TensorData } from '../tensor/tensor';
import type { GeneralJob, HoverLookupQuery, SharedTensorRef, SharedText, WorkerRequest, WorkerResponse } from '../protocol';
import type { FileSummary, SamplingPolicy } from '../hover/files';
import type { HoverReport, ReportRequest } from '../hover/report';
import type { DocumentSyntax, HoverTarget, LiteralIndex, LiteralSpan, WarmLiteral } from '../hover/scan';
import type { TensorLiteral } from '../tensor/printed';
import { closeNpy, isNpyPath, openNpy, readF32, readI32, readRaw, type NpyFile } from './npyFile';
import { WorkerPool, type WasmInit } from './pool';
import { readTensorFile } from './readTensorFile';
import { allocShared, share, viewOf } from './shared';

export type TensorSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'tensor'; readonly tensor: Tensor; readonly label?: string };

export interface EngineRequest {
  readonly input: TensorSource;
  readonly target: TensorSource;
  readonly weight?: TensorSource | null;
  readonly posWeight?: TensorSource | null;
  readonly options?: Partial<LossOptions>;
  readonly topK?: number;
  /** Writes the unreduced loss (float32 .npy) here; streamed block by block for large inputs. */
  readonly outFile?: string;
}

export interface ComputeControls {
  readonly signal?: AbortSignal;
  /** Fraction done in [0, 1]. */
  readonly onProgress?: (fraction: number) => void;
}

export interface EngineResult {
  readonly options: LossOptions;
  readonly value: number | null;
  readonly lossShape: readonly number[];
  readonly numerator: number;
  readonly denominator: number;
  readonly targetKind: LossResult['targetKind'];
  readonly stats: LossStats;
  /** The unreduced loss, predictions and targets; null when the input streamed (too large to keep). */
  readonly maps: {
    readonly loss: Float32Array | Float64Array;
    readonly predicted: Int32Array;
    readonly targetClass: Int32Array;
    readonly ignored: Uint8Array;
  } | null;
  readonly input: { readonly shape: readonly number[]; readonly dtype: string };
  readonly target: { readonly shape: readonly number[]; readonly dtype: string };
  readonly engine: 'wasm-simd' | 'typescript';
  readonly workers: number;
  readonly streamed: boolean;
  /** The input files were still in the working memory from the previous request and were not read again. */
  readonly reusedInput: boolean;
}

export interface EngineOptions {
  /** Largest number of worker threads (default: available cores). */
  readonly maxWorkers?: number;
  /** dist/ folder holding worker.js and ce.wasm (default: this bundle's folder). */
  readonly distDir?: string;
  /** Logits larger than this stream from disk in blocks (default 1 GiB). */
  readonly inMemoryBytes?: number;
  /** Logits per streamed block (default 64 MiB). */
  readonly blockBytes?: number;
  /** Force the pure-TypeScript path (tests, benchmarks). */
  readonly disableWasm?: boolean;
  /** Heap limit per worker in MiB (tests use a small one to provoke out-of-memory). */
  readonly workerHeapMb?: number;
  /** Test hook: awaited before each piece of a fast request's block is read (to hold reads back). */
  readonly beforePieceRead?: (block: number, piece: number) => Promise<void> | undefined;
}

/** Logits per fast job: small enough for prompt cancellation and progress, large enough to amortize. */
const FAST_JOB_LOGITS = 1 << 22;
/** Samples smaller than this are read (or copied) several at a time. */
const LOAD_UNIT_BYTES = 8 << 20;
/**
 * Samples of at least this many pixels from files are kept in the kernel's 16-pixel block layout: the
 * kernel then reads memory in order (~1.6 instead of ~2.5 ns per logit on large images). Smaller ones stay
 * in rows (the padding of a last partial block would cost more than the layout saves).
 */
const BLOCKED_MIN_PIXELS = 64;
/** Elements per general job. */
const GENERAL_JOB_ELEMENTS = 1 << 21;
const PROGRESS_EVERY_MS = 100;
/** Working memory kept between requests (larger ones are released after use). */
const KEEP_MEMORY_BYTES = 512 << 20;

function cancelled(): LensError {
  return new LensError('cancelled', 'computation cancelled');
}

function unexpected(r: WorkerResponse): LensError {
  return new LensError('io', `unexpected worker reply ${r.kind}`);
}

export class Engine {
  private pool: WorkerPool | null = null;
  private wasmModule: WebAssembly.Module | null | undefined;
  private wasmReserved = 65536;
  private memory: { memory: WebAssembly.Memory; generation: number } | null = null;
  /** What the working memory holds from the last complete fast request read from files (see runFast). */
  private resident: string | null = null;
  private generation = 0;
  readonly maxWorkers: number;
  private readonly distDir: string;

  constructor(private readonly opts: EngineOptions = {}) {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    this.maxWorkers = Math.max(1, Math.floor(opts.maxWorkers && opts.maxWorkers > 0 ? opts.maxWorkers : cores));
    this.distDir = opts.distDir ?? __dirname;
  }

  private getPool(): WorkerPool {
    this.pool ??= new WorkerPool(path.join(this.distDir, 'worker.js'), this.maxWorkers, this.opts.workerHeapMb);
    return this.pool;
  }

  /** The compiled SIMD kernel, or null when WebAssembly SIMD (or the .wasm file) is unavailable. */
  private wasm(): WebAssembly.Module | null {
    if (this.wasmModule === undefined) {
      this.wasmModule = null;
      const file = path.join(this.distDir, 'ce.wasm');
      if (!this.opts.disableWasm && simdSupported() && fs.existsSync(file)) {
        const module = new WebAssembly.Module(fs.readFileSync(file));
        // The kernel's static data sits at the start of the memory; ask it how much to leave free.
        const probe = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
        this.wasmReserved = instantiateCeKernel(module, probe).reservedBytes;
        this.wasmModule = module;
      }
    }
    return this.wasmModule;
  }

  get wasmAvailable(): boolean {
    return this.wasm() !== null;
  }

  async dispose(): Promise<void> {
    await this.pool?.dispose();
    this.pool = null;
  }

  /** Runs a raw worker request on the pool (tests use it to prove crash recovery). */
  runRaw(msg: WorkerRequest): Promise<WorkerResponse> {
    return this.getPool().run(() => msg);
  }

  // ---------------------------------------------------------------------------------------------------
  // Hover jobs: one message each, on any free worker. Aborting stops that worker (a hover's work is large
  // when it gets here: small literals are summarized on the caller's thread) and rejects with 'cancelled'.

  /** The literal index of a document (src/hover/scan.ts), for documents too large to scan in place. */
  async hoverIndex(text: string, syntax: DocumentSyntax, signal?: AbortSignal): Promise<LiteralIndex> {
    const r = await this.runOne({ kind: 'hover-index', id: 0, text, syntax }, signal);
    if (r.kind !== 'hover-index-done') throw unexpected(r);
    return r.index;
  }

  /** Parses and summarizes literals and computes a pair's loss (src/hover/report.ts). */
  async hoverReport(request: ReportRequest, signal?: AbortSignal): Promise<HoverReport> {
    const r = await this.runOne({ kind: 'hover-report', id: 0, request }, signal);
    if (r.kind !== 'hover-report-done') throw unexpected(r);
    return r.report;
  }

  /** Header and statistics of a .npy/.npz file (a sample of it when large; see src/hover/files.ts). */
  async tensorFileSummary(path: string, signal?: AbortSignal, sampling?: SamplingPolicy): Promise<FileSummary> {
    const r = await this.runOne({ kind: 'tensor-file-summary', id: 0, path, sampling }, signal);
    if (r.kind !== 'tensor-file-summary-done') throw unexpected(r);
    return r.summary;
  }

  /**
   * Hovers on a large document held in shared memory: what is at `offset` and which literals to warm (see
   * the hover-lookup job in src/protocol.ts). The worker keeps the index under `key`.
   */
  async hoverLookup(q: HoverLookupQuery, signal?: AbortSignal): Promise<{ target: HoverTarget; warm: readonly WarmLiteral[] }> {
    const r = await this.runOne({ kind: 'hover-lookup', id: 0, ...q }, signal);
    if (r.kind !== 'hover-lookup-done') throw unexpected(r);
    return { target: r.target, warm: r.warm };
  }

  /** hoverReport on literals read from shared text in the worker. */
  async hoverReportShared(text: SharedText, spans: readonly LiteralSpan[], request: Omit<ReportRequest, 'literals'>, signal?: AbortSignal): Promise<HoverReport> {
    const r = await this.runOne({ kind: 'hover-report-shared', id: 0, text, spans, request }, signal);
    if (r.kind !== 'hover-report-done') throw unexpected(r);
    return r.report;
  }

  /** findTensorLiterals (src/tensor/printed.ts) on shared text; errors come back as LensErrors. */
  async findLiterals(text: SharedText, signal?: AbortSignal): Promise<TensorLiteral[]> {
    const r = await this.runOne({ kind: 'find-literals', id: 0, text }, signal);
    if (r.kind !== 'find-literals-done') throw unexpected(r);
    return r.literals.map((f) => ('tensor' in f ? f : { start: f.start, end: f.end, error: new LensError(f.error.kind, f.error.message) }));
  }

  private runOne(msg: WorkerRequest, signal: AbortSignal | undefined): Promise<WorkerResponse> {
    if (signal?.aborted) return Promise.reject(cancelled());
    const run = this.getPool().run(() => msg, undefined, signal);
    return new Promise<WorkerResponse>((resolve, reject) => {
      // Answer a cancel at once, also while the job still waits for a busy pool.
      const onAbort = (): void => reject(cancelled());
      signal?.addEventListener('abort', onAbort, { once: true });
      run.then(
        (r) => {
          signal?.removeEventListener('abort', onAbort);
          if (r.kind === 'error') reject(r.lensKind ? new LensError(r.lensKind as LensError['kind'], r.message) : new LensError('io', `internal error in a compute worker: ${r.message}`));
          else resolve(r);
        },
        (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(signal?.aborted ? cancelled() : e);
        },
      );
    });
  }

  async compute(req: EngineRequest, ctl: ComputeControls = {}): Promise<EngineResult> {
    if (ctl.signal?.aborted) throw cancelled();
    const options = resolveOptions(req.options);
    const plan = planFast(req, options, this.wasm());
    if (plan) {
      const run = this.fastQueue.then(() => this.runFast(req, options, plan, ctl));
      // The next fast request waits for this one, including jobs still finishing after a cancel.
      this.fastQueue = run.catch(() => undefined).then(() => this.draining);
      try {
        return await run;
      } finally {
        closeFiles(plan);
        this.releaseLargeMemory();
      }
    }
    return this.runGeneral(req, options, ctl);
  }

  // ---------------------------------------------------------------------------------------------------
  // Fast path

  /**
   * The shared wasm memory, reused between requests: fresh pages cost page faults on first touch, which
   * for a large tensor take longer than the kernel itself. It grows on demand (workers see the growth);
   * one larger than KEEP_MEMORY_BYTES is dropped after its request so a one-off big file does not stay
   * resident.
   */
  private workingMemory(pages: number): { memory: WebAssembly.Memory; generation: number } {
    const current = this.memory;
    if (current && current.memory.buffer.byteLength >= pages * 65536) return current;
    if (current) {
      try {
        current.memory.grow(pages - current.memory.buffer.byteLength / 65536);
        return current;
      } catch {
        // fall through to a fresh memory
      }
    }
    try {
      this.memory = { memory: new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true }), generation: ++this.generation };
    } catch {
      throw new LensError('io', `cannot allocate ${(pages / 16).toFixed(0)} MiB of working memory`);
    }
    return this.memory;
  }

  private releaseLargeMemory(): void {
    if (this.memory && this.memory.memory.buffer.byteLength > KEEP_MEMORY_BYTES) this.memory = null;
  }

  /** Fast requests share the working memory, so they run one at a time. */
  private fastQueue: Promise<unknown> = Promise.resolve();
  private draining: Promise<unknown> = Promise.resolve();

  private async runFast(req: EngineRequest, options: LossOptions, plan: FastPlan, ctl: ComputeControls): Promise<EngineResult> {
    if (plan.N * plan.S === 0) return this.emptyFast(req, options, plan, ctl);
    const module = this.wasm()!;
    const { N, C, S } = plan;
    const logitBytes = N * C * S * 4;
    const streamed = logitBytes > (this.opts.inMemoryBytes ?? 1 << 30);
    if (streamed && plan.input.kind !== 'file') {
      throw new LensError('io', `input of ${(logitBytes / 2 ** 30).toFixed(1)} GiB is too large to compute in memory`);
    }
    const perSample = C * S * 4;
    const blockSamples = streamed ? Math.max(1, Math.floor((this.opts.blockBytes ?? 64 << 20) / perSample)) : N;
    if (streamed && perSample > 1.5 * 2 ** 30) {
      throw new LensError('io', `one sample of ${fmtShape(plan.inputShape)} is ${(perSample / 2 ** 30).toFixed(1)} GiB; the stream reads whole samples — split the file along a spatial axis`);
    }
    const topK = req.topK ?? 10;
    const W = this.maxWorkers;
    // Equal pixel ranges per sample (multiples of 16, the kernel's vector width) so workers finish together.
    const perSampleJobs = Math.max(1, Math.ceil((S * C) / FAST_JOB_LOGITS));
    const jobPixels = Math.min(S, Math.ceil(S / perSampleJobs / 16) * 16);
    const jobsPerSample = Math.ceil(S / jobPixels);
    const jobsPerBlock = blockSamples * jobsPerSample;
    // Each job's accumulators and each worker's confusion counts on cache lines of their own (128 bytes,
    // two lines, for the adjacent-line prefetcher): workers writing neighbouring bytes would otherwise pass
    // the shared line back and forth on every update.
    const accLen = Math.ceil(ceAccLength(C) / 16) * 16;
    const confLen = Math.ceil((C * C) / 16) * 16;

    // Layout of the shared memory (byte offsets, 128-byte aligned). A streamed input gets two staging
    // regions, so the next block reads from disk while the workers compute the current one.
    const regionsCount = streamed && N > blockSamples ? 2 : 1;
    let top = 0;
    const take = (bytes: number): number => {
      const at = top;
      top = Math.ceil((top + bytes) / 128) * 128;
      return at;
    };
    take(this.wasmReserved); // the kernel's own static data
    const wOff = plan.weight ? take(C * 4) : 0;
    const confOff = take(W * confLen * 8);
    // Logits from a file are kept in 16-pixel blocks: read from disk into a staging area in rows, a piece at
    // a time, and put into blocks by the workers (relayout jobs) while the next piece reads. The relayout
    // costs about what it saves the kernel once, and files stay in the working memory for recomputing
    // (resident inputs), which then runs at the block layout's speed. In-memory tensors are never kept, so
    // they are copied straight into rows.
    const rows = S === 1;
    const blocked = !rows && S >= BLOCKED_MIN_PIXELS && plan.input.kind === 'file';
    const xSample = (blocked ? blockedLength(C, S) : C * S) * 4;
    // Samples up to a load unit go several to a piece; larger ones (blocked) a few class rows at a time.
    const unit = Math.max(1, Math.floor(LOAD_UNIT_BYTES / (C * S * 4)));
    const rowsPerPiece = blocked && C * S * 4 > LOAD_UNIT_BYTES ? Math.max(1, Math.floor(LOAD_UNIT_BYTES / (S * 4))) : C;
    const piecesOf = (nb: number): Piece[] => {
      const out: Piece[] = [];
      if (rowsPerPiece === C) for (let n0 = 0; n0 < nb; n0 += unit) out.push({ n0, n1: Math.min(nb, n0 + unit), c0: 0, c1: C });
      else for (let n = 0; n < nb; n++) for (let c0 = 0; c0 < C; c0 += rowsPerPiece) out.push({ n0: n, n1: n + 1, c0, c1: Math.min(C, c0 + rowsPerPiece) });
      return out;
    };
    const stageBytes = rowsPerPiece === C ? Math.min(unit, blockSamples) * C * S * 4 : rowsPerPiece * S * 4;
    const regions = Array.from({ length: regionsCount }, () => ({
      x: take(blockSamples * xSample),
      t: take(blockSamples * S * 4),
      loss: take(blockSamples * S * 4),
      pred: take(blockSamples * S * 4),
      acc: take(jobsPerBlock * accLen * 8),
    }));
    const stage = blocked ? [take(stageBytes), take(stageBytes)] : [];
    const pages = Math.ceil(top / 65536);
    if (pages > 65536) throw new LensError('io', `this computation needs ${(top / 2 ** 30).toFixed(1)} GiB of working memory, more than WebAssembly allows (4 GiB)`);
    const { memory, generation } = this.workingMemory(pages);
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    // Files read by the previous request are still in the working memory (the kernel only reads them):
    // recomputing with other options (the panel's option edits) skips reading them again when neither
    // file changed on disk and the layout is the same.
    const residentKey = !streamed && plan.input.kind === 'file' && plan.target.kind === 'file'
      ? JSON.stringify([generation, regions[0].x, regions[0].t, N, C, S, fileStamp(plan.input.file), fileStamp(plan.target.file)])
      : null;
    const reuse = residentKey !== null && this.resident === residentKey;
    this.resident = null;
    if (plan.weight) new Float32Array(buf, wOff, C).set(plan.weight.data);
    // The memory is reused between requests: the kernel adds to the confusion counts, so start from zero.
    new Float64Array(buf, confOff, W * confLen).fill(0);
    const init: WasmInit = { module, memory, generation };
    const pool = this.getPool();

    // The loss map is written in the order it is computed: Fortran order for a Fortran-order input.
    const out = req.outFile ? new NpyStreamWriter(req.outFile, plan.lossShape, plan.fortran !== null) : null;
    const merged = emptyPartial(C, true);
    // Reading and computing each count for half of the progress bar.
    const bytesPerSample = C * S * plan.inputItemSize + S * plan.targetItemSize;
    const progress = new Progress(ctl.onProgress, 2 * N * S);
    if (reuse) progress.add(N * S); // nothing to read
    const onBytes = (n: number): void => {
      // Reads come in 8 MiB pieces: stopping between pieces keeps cancellation prompt while streaming.
      if (ctl.signal?.aborted) throw cancelled();
      progress.add((n / bytesPerSample) * S);
    };
    const blocks: Array<[number, number]> = [];
    for (let b0 = 0; b0 < N; b0 += blockSamples) blocks.push([b0, Math.min(N, b0 + blockSamples)]);
    // Samples load one after another; a sample's jobs start as soon as it is in memory, so reading (or
    // copying an in-memory tensor) overlaps the kernel instead of preceding it.
    // Classification rows (S = 1): a block of rows is stored transposed, (C, rows), so the kernel runs over
    // the rows as the pixels of one sample, with its full vector width.
    // Pieces are numbered across blocks: piece u stages in stage[u % 2], free again once the relayout of
    // piece u - 2 is done.
    const blockPieces = blocks.map(([b0, b1]) => piecesOf(b1 - b0));
    const pieceBase = blockPieces.map((_, k) => blockPieces.slice(0, k).reduce((a, ps) => a + ps.length, 0));
    // Settles when piece u is in the block layout; all rejected on a failure, so that a read waiting for a
    // staging area stops instead of waiting forever.
    const relaid = blocked ? Array.from({ length: pieceBase[blocks.length - 1] + blockPieces[blocks.length - 1].length }, deferred) : [];
    const load = (k: number): BlockLoad => {
      const [b0, b1] = blocks[k];
      const r = regions[k % regionsCount];
      if (reuse) {
        const ready = Promise.resolve();
        return { samples: new Array<Promise<void>>(b1 - b0).fill(ready), pieces: [], all: ready };
      }
      if (rows) {
        return loadPieces(1, [{ n0: 0, n1: 1, c0: 0, c1: C }], C, async () => {
          await loadRowsTransposed(plan.input, b0, b1 - b0, C, new Float32Array(buf, r.x, (b1 - b0) * C), onBytes);
          await loadTarget(plan.target, b0, b1 - b0, new Int32Array(buf, r.t, b1 - b0), onBytes);
          if (ctl.signal?.aborted) throw cancelled();
        });
      }
      // Small samples load several at a time: one read per sample would cost more than the kernel.
      return loadPieces(b1 - b0, blockPieces[k], C, async ({ n0, n1, c0, c1 }, i) => {
        await this.opts.beforePieceRead?.(k, i);
        const m = n1 - n0;
        let dest = r.x + n0 * xSample;
        if (blocked) {
          const u = pieceBase[k] + i;
          if (u >= 2) await relaid[u - 2].promise;
          dest = stage[u % 2];
        }
        // Rows [c0, c1) of samples [n0, n1): contiguous in the file (whole samples, or rows of one).
        await loadInput(plan.input, ((b0 + n0) * C + c0) * S, m * (c1 - c0) * S, new Float32Array(buf, dest, m * (c1 - c0) * S), onBytes);
        if (c0 === 0) await loadTarget(plan.target, (b0 + n0) * S, m * S, new Int32Array(buf, r.t + n0 * S * 4, m * S), onBytes);
        if (ctl.signal?.aborted) throw cancelled();
      });
    };
    // Maps kept for the view, copied out of the working memory sample by sample as each one finishes.
    const keep = streamed ? null : { loss: new Float32Array(N * S), predicted: new Int32Array(N * S), target: new Int32Array(N * S), ignored: new Uint8Array(N * S) };
    let loading: BlockLoad | null = null;
    let nextLoad: Promise<BlockLoad> | null = null;
    try {
      loading = load(0);
      for (let k = 0; k < blocks.length; k++) {
        const current: BlockLoad = k === 0 ? loading : await nextLoad!;
        loading = current;
        // The other staging region is free once this block is read (its last jobs finished before this
        // block's began), so the next block reads ahead from then on.
        nextLoad = k + 1 < blocks.length ? current.all.then(() => load(k + 1)) : null;
        // A failed read-ahead surfaces when awaited; keep it from being reported as unhandled meanwhile.
        nextLoad?.catch(() => undefined);
        const [b0, b1] = blocks[k];
        const nb = b1 - b0;
        const r = regions[k % regionsCount];
        new Float64Array(buf, r.acc, jobsPerBlock * accLen).fill(0);
        const jobs: FastJob[] = [];
        const sizes: number[] = [];
        /**
         * The samples [first, last] each job covers, to copy a sample's maps out once its jobs are done (null
         * for a relayout job).
         */
        const covers: Array<readonly [number, number] | null> = [];
        const left = new Array<number>(nb).fill(0);
        // Each compute job adds to accumulators of its own.
        let accSlot = 0;
        // Relayout jobs for this block's pieces, those of a sample sent ahead of the compute jobs of the
        // sample before it, so that with several workers one lays out the next sample while the others
        // compute.
        const pieces = blockPieces[k];
        let emitted = 0;
        const emitRelayouts = (upToSample: number): void => {
          if (!blocked || reuse) return;
          for (; emitted < pieces.length && pieces[emitted].n0 <= upToSample; emitted++) {
            const u = pieceBase[k] + emitted;
            const { n0, n1, c0, c1 } = pieces[emitted];
            const id = jobs.length;
            sizes.push(0);
            covers.push(null);
            jobs.push({
              ready: current.pieces[emitted],
              make: () => ({ kind: 'fast-relayout', id, generation: init.generation, src: stage[u % 2], dst: r.x + n0 * xSample, C, S, samples: n1 - n0, c0, c1 }),
              settles: relaid[u],
            });
          }
        };
        /** When samples [n0, n1] are in memory in the kernel's layout. */
        const samplesReady = (n0: number, n1: number): Promise<unknown> => {
          if (!blocked || reuse) return current.samples[n1];
          const waits: Array<Promise<void>> = [];
          pieces.forEach((p, i) => {
            if (p.n1 > n0 && p.n0 <= n1) waits.push(relaid[pieceBase[k] + i].promise);
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
        const group = jobsPerSample === 1 ? Math.max(1, Math.min(Math.floor(FAST_JOB_LOGITS / (C * S)), Math.ceil(nb / 16))) : 1;
        if (rows) {
          // One transposed sample of nb pixels, in pixel ranges (multiples of 16) of about a job's size.
          const parts = Math.max(Math.ceil((nb * C) / FAST_JOB_LOGITS), Math.min(16, Math.floor(nb / 1024)), 1);
          const span = Math.min(nb, Math.ceil(nb / parts / 16) * 16);
          for (let s0 = 0; s0 < nb; s0 += span) {
            const id = jobs.length;
            const slot = accSlot++;
            const s1 = Math.min(nb, s0 + span);
            sizes.push(s1 - s0);
            covers.push([0, nb - 1]);
            jobs.push({
              ready: current.samples[0],
              make: (worker) => ({
                kind: 'fast-chunk', id, generation: init.generation,
                x: r.x, t: r.t, w: wOff, C, S: nb, s0, s1, blocked: false, xSample: 0,
                ignoreIndex: options.ignoreIndex, labelSmoothing: options.labelSmoothing,
                outLoss: r.loss, outPred: r.pred,
                acc: r.acc + slot * accLen * 8, confusion: confOff + worker * confLen * 8,
                topK, flatBase: b0, samples: 1,
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
                kind: 'fast-chunk', id, generation: init.generation,
                x: r.x + n * xSample, t: r.t + n * S * 4, w: wOff, C, S, s0, s1, blocked, xSample,
                ignoreIndex: options.ignoreIndex, labelSmoothing: options.labelSmoothing,
                outLoss: r.loss + n * S * 4, outPred: r.pred + n * S * 4,
                acc: r.acc + slot * accLen * 8, confusion: confOff + worker * confLen * 8,
                topK, flatBase: (b0 + n) * S, samples: count,
              }),
            });
          }
        }
        emitRelayouts(nb);
        // Copies samples [n0, n1] of this block out of the working memory (they are contiguous there).
        const copyOut = (n0: number, n1: number): void => {
          if (!keep) return;
          const at = (b0 + n0) * S;
          const len = (n1 - n0 + 1) * S;
          keep.loss.set(new Float32Array(buf, r.loss + n0 * S * 4, len), at);
          keep.predicted.set(new Int32Array(buf, r.pred + n0 * S * 4, len), at);
          const tv = new Int32Array(buf, r.t + n0 * S * 4, len);
          keep.target.set(tv, at);
          const ig = options.ignoreIndex;
          for (let i = 0; i < len; i++) keep.ignored[at + i] = tv[i] === ig ? 1 : 0;
        };
        let rowJobsLeft = jobs.length;
        const partials = await runJobs(pool, jobs, init, ctl.signal, (i) => {
          progress.add(sizes[i]);
          if (rows) {
            if (--rowJobsLeft === 0) copyOut(0, nb - 1);
            return;
          }
          // The samples this job completes, copied as contiguous runs.
          const cover = covers[i];
          if (!cover) return;
          let run = -1;
          for (let n = cover[0]; n <= cover[1] + 1; n++) {
            const done = n <= cover[1] && --left[n] === 0;
            if (done && run < 0) run = n;
            if (!done && run >= 0) {
              copyOut(run, n - 1);
              run = -1;
            }
          }
        }, (res) => (res.kind === 'bad-target' ? new BadTargetFound(res.flat, res.value) : null), false, (settled) => (this.draining = settled)).catch(async (e: unknown) => {
          if (!(e instanceof BadTargetFound)) throw e;
          throw await firstBadTarget(plan, options.ignoreIndex, b0, nb, e);
        });
        for (const p of partials) mergeInto(merged, p, topK);
        if (out) out.append(new Float32Array(buf, r.loss, nb * S));
      }
      out?.finish();
      this.resident = residentKey;
    } catch (e) {
      out?.abort();
      for (const d of relaid) d.reject(e);
      // Reads may still be writing into the working memory: the next request waits for them.
      const pending = [loading?.all, nextLoad?.then((l) => l.all)].filter((x) => x !== undefined);
      if (pending.length) this.draining = Promise.all([this.draining, ...pending.map((x) => x.catch(() => undefined))]);
      throw e;
    } finally {
      progress.stop();
    }
    // Confusion counts from every worker's region: integers, so the sum is exact in any order.
    const conf = new Float64Array(buf, confOff, W * confLen);
    for (let w = 0; w < W; w++) for (let i = 0; i < C * C; i++) merged.confusion[i] += conf[w * confLen + i];
    for (let c = 0; c < C; c++) {
      merged.tp[c] = merged.confusion[c * C + c];
      merged.positives[c] = merged.count[c];
      merged.correct[c] = merged.tp[c];
    }
    if (plan.fortran) {
      const toC = plan.fortran.toC;
      merged.worst = merged.worst.map((w) => ({ ...w, flat: toC(w.flat) }));
    }
    const stats = finalizeStats(merged, plan.lossShape, plan.weight ? plan.weight.data : null, N * S);
    const value = reducedValue(options, C, 'index', merged);
    const maps: EngineResult['maps'] = keep
      ? plan.fortran
        ? { loss: toCOrder(keep.loss, plan.fortran.toC), predicted: toCOrder(keep.predicted, plan.fortran.toC), targetClass: toCOrder(keep.target, plan.fortran.toC), ignored: toCOrder(keep.ignored, plan.fortran.toC) }
        : { loss: keep.loss, predicted: keep.predicted, targetClass: keep.target, ignored: keep.ignored }
      : null;
    return {
      options, value, lossShape: plan.lossShape, numerator: merged.numerator, denominator: merged.denominator,
      targetKind: 'index', stats, maps,
      input: { shape: plan.inputShape, dtype: plan.inputDtype }, target: { shape: plan.lossShape, dtype: plan.targetDtype },
      engine: 'wasm-simd', workers: Math.min(W, pool.started), streamed, reusedInput: reuse,
    };
  }

  /**
   * A loss map without elements (a batch or spatial size of 0): nothing to read or compute, and PyTorch's
   * answer — NaN for mean, 0 for sum, an empty map — with statistics that counted nothing.
   */
  private emptyFast(req: EngineRequest, options: LossOptions, plan: FastPlan, ctl: ComputeControls): EngineResult {
    if (req.outFile) {
      const out = new NpyStreamWriter(req.outFile, plan.lossShape, plan.fortran !== null);
      try {
        out.finish();
      } catch (e) {
        out.abort();
        throw e;
      }
    }
    const merged = emptyPartial(plan.C, true);
    ctl.onProgress?.(1);
    return {
      options, value: reducedValue(options, plan.C, 'index', merged), lossShape: plan.lossShape, numerator: 0, denominator: 0,
      targetKind: 'index', stats: finalizeStats(merged, plan.lossShape, plan.weight ? plan.weight.data : null, 0),
      maps: { loss: new Float32Array(0), predicted: new Int32Array(0), targetClass: new Int32Array(0), ignored: new Uint8Array(0) },
      input: { shape: plan.inputShape, dtype: plan.inputDtype }, target: { shape: plan.lossShape, dtype: plan.targetDtype },
      engine: 'wasm-simd', workers: 0, streamed: false, reusedInput: false,
    };
  }

  // ---------------------------------------------------------------------------------------------------
  // General path, streamed: a C-order .npy input larger than the in-memory budget (float64 logits,
  // probability targets, bce) is read a block of samples at a time; each block is split over samples
  // like a whole input, and only statistics and the loss file are kept.

  private planGeneralStream(req: EngineRequest): GeneralStream | null {
    if (req.input.kind !== 'file' || !isNpyPath(req.input.path)) return null;
    const input = openNpy(req.input.path);
    const h = input.header;
    const fortran = h.fortranOrder && h.shape.length > 1;
    if (fortran || numel(h.shape) * h.itemSize <= (this.opts.inMemoryBytes ?? 1 << 30) || h.shape.length < 2) {
      closeNpy(input);
      return null;
    }
    try {
      const t = describe(req.target);
      if (t.kind === 'header-free') throw new LensError('io', `${req.input.path} streams from disk; its target must be a .npy file too`);
      if (meta(t).fortran) {
        if (t.kind === 'file') closeNpy(t.file);
        throw new LensError('io', `${req.input.path} streams in C order; its target is in Fortran order — save both the same way (np.ascontiguousarray)`);
      }
      return { input, target: t };
    } catch (e) {
      closeNpy(input);
      throw e;
    }
  }

  private async runGeneralStreamed(req: EngineRequest, options: LossOptions, ctl: ComputeControls, st: GeneralStream): Promise<EngineResult> {
    const h = st.input.header;
    const tm = meta(st.target);
    const weight = req.weight ? loadWhole(req.weight, 'weight') : null;
    const posWeight = req.posWeight ? loadWhole(req.posWeight, 'weight') : null;
    const inShape = h.shape;
    const headerInput = shapeOnly({ dtype: h.dtype, shape: inShape });
    const headerTarget = shapeOnly(tm);
    // Shape, dtype and option checks on headers: the same messages as a whole input.
    const problem = buildProblem({ input: headerInput, target: headerTarget, weight, posWeight }, options);
    const N = splittableSamples({ input: headerInput, target: headerTarget, weight, posWeight, options });
    if (N <= 1) {
      throw new LensError('io', `${st.input.path}: ${(numel(inShape) * h.itemSize / 2 ** 30).toFixed(1)} GiB streams only when it splits over its first axis (batch first, classes elsewhere), which this problem does not`);
    }
    const perIn = numel(inShape.slice(1));
    const perT = numel(tm.shape.slice(1));
    const perLoss = numel(problem.lossShape.slice(1));
    const blockSamples = Math.max(1, Math.floor((this.opts.blockBytes ?? GENERAL_BLOCK_BYTES) / (Math.max(1, perIn) * 8)));
    const samplesPerJob = Math.max(1, Math.floor(GENERAL_JOB_ELEMENTS / Math.max(1, perIn)));
    const topK = req.topK ?? 10;
    const pool = this.getPool();
    const shared = { weight: weight ? share(weight) : null, posWeight: posWeight ? share(posWeight) : null };
    const C = problem.C;
    const merged = emptyPartial(C, problem.loss !== 'bce');
    const out = req.outFile ? new NpyStreamWriter(req.outFile, problem.lossShape) : null;
    const progress = new Progress(ctl.onProgress, N);
    const checkRange = problem.loss === 'ce' && problem.targetKind === 'index';
    try {
      for (let b0 = 0; b0 < N; b0 += blockSamples) {
        if (ctl.signal?.aborted) throw cancelled();
        const nb = Math.min(blockSamples, N - b0);
        const x = decodeRawData(await readRaw(st.input, b0 * perIn, nb * perIn), { ...h, shape: [nb, ...inShape.slice(1)], fortranOrder: false });
        let y: Tensor;
        if (st.target.kind === 'file') {
          const th = st.target.file.header;
          y = decodeRawData(await readRaw(st.target.file, b0 * perT, nb * perT), { ...th, shape: [nb, ...tm.shape.slice(1)], fortranOrder: false });
        } else {
          const tt = st.target.tensor;
          y = { dtype: tt.dtype, shape: [nb, ...tt.shape.slice(1)], data: tt.data.subarray(b0 * perT, (b0 + nb) * perT) as TensorData };
        }
        // Class indices are checked here, with their index in the whole target: a block's own check would
        // name an index within the block.
        if (checkRange) {
          const d = y.data;
          for (let i = 0; i < d.length; i++) {
            const v = Number(d[i]);
            if (v !== options.ignoreIndex && (v < 0 || v >= C)) throw targetRangeError(v, b0 * perT + i, tm.shape, C, options.ignoreIndex);
          }
        }
        const lossShape = [nb, ...problem.lossShape.slice(1)];
        const outs = generalOutputs(lossShape);
        // bce weights that vary along axis 0 go with their block of samples.
        const cut = (w: Tensor | null, whole: SharedTensorRef | null): SharedTensorRef | null =>
          problem.loss === 'bce' && weightPerSample(w, inShape.length) ? share(sliceAxis0(w, b0, b0 + nb)) : whole;
        const job: GeneralJobBase = { input: share(x), target: share(y), weight: cut(weight, shared.weight), posWeight: cut(posWeight, shared.posWeight), options, topK, ...outs };
        const { jobs, sizes } = generalJobs(job, nb, samplesPerJob);
        const partials = await runJobs(pool, jobs, undefined, ctl.signal, (i) => progress.add(sizes[i]), () => null, true);
        for (const p of partials) {
          // Worst elements were found within the block: place them in the whole loss map.
          p.worst = p.worst.map((w) => ({ ...w, flat: w.flat + b0 * perLoss }));
          mergeInto(merged, p, topK);
        }
        out?.append(Float32Array.from(viewOf(outs.outLoss).data as Float64Array));
      }
      out?.finish();
    } catch (e) {
      out?.abort();
      throw e;
    } finally {
      progress.stop();
    }
    const stats = finalizeStats(merged, problem.lossShape, problem.loss === 'ce' ? problem.w : null, numel(problem.lossShape));
    return {
      options, value: reducedValue(options, C, problem.targetKind, merged), lossShape: problem.lossShape,
      numerator: merged.numerator, denominator: merged.denominator, targetKind: problem.targetKind, stats, maps: null,
      input: { shape: inShape, dtype: h.dtype }, target: { shape: tm.shape, dtype: tm.dtype },
      engine: 'typescript', workers: Math.min(this.maxWorkers, pool.started), streamed: true, reusedInput: false,
    };
  }

  // ---------------------------------------------------------------------------------------------------
  // General path

  private async runGeneral(req: EngineRequest, options: LossOptions, ctl: ComputeControls): Promise<EngineResult> {
    const stream = this.planGeneralStream(req);
    if (stream) {
      try {
        return await this.runGeneralStreamed(req, options, ctl, stream);
      } finally {
        closeNpy(stream.input);
        if (stream.target.kind === 'file') closeNpy(stream.target.file);
      }
    }
    const input = loadWhole(req.input, 'input');
    const target = loadWhole(req.target, 'target');
    const weight = req.weight ? loadWhole(req.weight, 'weight') : null;
    const posWeight = req.posWeight ? loadWhole(req.posWeight, 'weight') : null;
    if (ctl.signal?.aborted) throw cancelled();
    const pool = this.getPool();
    const topK = req.topK ?? 10;
    const base = {
      input: share(input), target: share(target), weight: weight ? share(weight) : null, posWeight: posWeight ? share(posWeight) : null, options, topK,
    };
    // Shapes come from a header-only problem build; the full checks run in a worker.
    const problem = buildProblem({ input: shapeOnly(input), target: shapeOnly(target), weight, posWeight }, options);
    const M = numel(problem.lossShape);
    const outs = generalOutputs(problem.lossShape);
    const job: GeneralJobBase = { ...base, ...outs };
    await runJobs(pool, [() => ({ kind: 'validate', id: 0, job })], undefined, ctl.signal, () => undefined, () => null, true);

    const N = splittableSamples({ input, target, weight, posWeight, options });
    const perSample = N > 1 ? numel(input.shape) / N : numel(input.shape);
    const samplesPerJob = N > 1 ? Math.max(1, Math.floor(GENERAL_JOB_ELEMENTS / Math.max(1, perSample))) : 1;
    const { jobs, sizes } = generalJobs(job, N, samplesPerJob);
    const progress = new Progress(ctl.onProgress, N);
    let partials: StatsPartial[];
    try {
      partials = await runJobs(pool, jobs, undefined, ctl.signal, (i) => progress.add(sizes[i]), () => null, true);
    } finally {
      progress.stop();
    }
    const C = problem.C;
    const merged = emptyPartial(C, problem.loss !== 'bce');
    for (const p of partials) mergeInto(merged, p, topK);
    const stats = finalizeStats(merged, problem.lossShape, problem.loss === 'ce' ? problem.w : null, M);
    const value = reducedValue(options, C, problem.targetKind, merged);
    const maps = {
      loss: viewOf(outs.outLoss).data as Float64Array,
      predicted: viewOf(outs.outPred).data as Int32Array,
      targetClass: viewOf(outs.outTargetClass).data as Int32Array,
      ignored: viewOf(outs.outIgnored).data as Uint8Array,
    };
    if (req.outFile) {
      const w = new NpyStreamWriter(req.outFile, problem.lossShape);
      try {
        w.append(Float32Array.from(maps.loss));
        w.finish();
      } catch (e) {
        w.abort();
        throw e;
      }
    }
    return {
      options, value, lossShape: problem.lossShape, numerator: merged.numerator, denominator: merged.denominator,
      targetKind: problem.targetKind, stats, maps,
      input: { shape: input.shape, dtype: input.dtype }, target: { shape: target.shape, dtype: target.dtype },
      engine: 'typescript', workers: Math.min(this.maxWorkers, pool.started), streamed: false, reusedInput: false,
    };
  }
}

// -----------------------------------------------------------------------------------------------------
// General path: shared pieces of the whole and the streamed run

type GeneralJobBase = Omit<GeneralJob, 'kind' | 'id' | 'n0' | 'n1'>;

/** Shared output maps for a loss map of this shape (each job writes its own samples). */
function generalOutputs(lossShape: readonly number[]): Pick<GeneralJob, 'outLoss' | 'outPred' | 'outTargetClass' | 'outIgnored'> {
  return {
    outLoss: allocShared('float64', lossShape, 'f64'),
    outPred: allocShared('int32', lossShape, 'i32'),
    outTargetClass: allocShared('int32', lossShape, 'i32'),
    outIgnored: allocShared('uint8', lossShape, 'u8'),
  };
}

/** Jobs over samples [0, N), `samplesPerJob` each, and each job's sample count (for progress). */
function generalJobs(job: GeneralJobBase, N: number, samplesPerJob: number): { jobs: Array<() => WorkerRequest>; sizes: number[] } {
  const jobs: Array<() => WorkerRequest> = [];
  const sizes: number[] = [];
  for (let n0 = 0, id = 0; n0 < N; n0 += samplesPerJob, id++) {
    const n1 = Math.min(N, n0 + samplesPerJob);
    jobs.push(() => ({ kind: 'general', id, ...job, n0, n1 }));
    sizes.push(n1 - n0);
  }
  return { jobs, sizes };
}

// -----------------------------------------------------------------------------------------------------
// General path, streamed

interface GeneralStream {
  readonly input: NpyFile;
  readonly target: Loadable;
}

/** Samples of the general path read per block (the decoded block is at most about this many bytes). */
const GENERAL_BLOCK_BYTES = 64 << 20;

// -----------------------------------------------------------------------------------------------------
// Planning and loading

type Loadable = { readonly kind: 'file'; readonly file: NpyFile } | { readonly kind: 'tensor'; readonly tensor: Tensor };

interface FastPlan {
  readonly N: number;
  readonly C: number;
  readonly S: number;
  readonly input: Loadable;
  readonly target: Loadable;
  readonly weight: Tensor | null;
  readonly inputShape: readonly number[];
  readonly inputDtype: string;
  readonly lossShape: readonly number[];
  readonly targetDtype: string;
  readonly inputItemSize: number;
  readonly targetItemSize: number;
  /**
   * Fortran-order files: N and S above describe the file's own order, one "sample" per spatial position
   * holding (C, batch) logits, so the stream reads contiguous ranges. `toC[f]` is the C-order flat index
   * of the loss element that comes f-th in that order.
   */
  readonly fortran: { readonly toC: (f: number) => number } | null;
}


/**
 * The order of a Fortran-order (batch, C, d1..dk) file read as contiguous (C, batch) slabs, one per
 * spatial position (d1 fastest), and the C-order flat index of each loss element in that order.
 */
function fortranOrder(batch: number, spatial: readonly number[]): { readonly positions: number; readonly toC: (f: number) => number } {
  const positions = numel(spatial);
  // C-order strides of the loss map (batch first), per spatial axis.
  const cStride = spatial.map((_, d) => numel(spatial.slice(d + 1)));
  return {
    positions,
    toC: (f: number): number => {
      const n = f % batch;
      let p = Math.floor(f / batch);
      let c = 0;
      for (let d = 0; d < spatial.length; d++) {
        c += (p % spatial[d]) * cStride[d];
        p = Math.floor(p / spatial[d]);
      }
      return n * positions + c;
    },
  };
}

/** Identifies a file's contents for the resident-input check: path, inode, size and change times. */
function fileStamp(f: NpyFile): readonly (string | number)[] {
  const st = fs.fstatSync(f.fd);
  return [f.path, st.ino, st.size, st.mtimeMs, st.ctimeMs];
}

function toCOrder<T extends Float32Array | Int32Array | Uint8Array>(a: T, toC: (f: number) => number): T {
  const out = new (a.constructor as new (n: number) => T)(a.length);
  for (let f = 0; f < a.length; f++) out[toC(f)] = a[f];
  return out;
}

function describe(src: TensorSource): Loadable | { readonly kind: 'header-free' } {
  if (src.kind === 'tensor') return { kind: 'tensor', tensor: src.tensor };
  if (!isNpyPath(src.path)) return { kind: 'header-free' };
  return { kind: 'file', file: openNpy(src.path) };
}

function meta(l: Loadable): { dtype: Tensor['dtype']; shape: readonly number[]; fortran: boolean } {
  return l.kind === 'file'
    ? { dtype: l.file.header.dtype, shape: l.file.header.shape, fortran: l.file.header.fortranOrder && l.file.header.shape.length > 1 }
    : { dtype: l.tensor.dtype, shape: l.tensor.shape, fortran: false };
}

function closeFiles(plan: FastPlan): void {
  if (plan.input.kind === 'file') closeNpy(plan.input.file);
  if (plan.target.kind === 'file') closeNpy(plan.target.file);
}

/** The fast path applies to float32/float16 logits (class axis 1) with integer class-index targets. */
function planFast(req: EngineRequest, options: LossOptions, wasm: WebAssembly.Module | null): FastPlan | null {
  if (!wasm || options.loss !== 'ce' || options.inputKind !== 'logits') return null;
  const inDesc = describe(req.input);
  if (inDesc.kind === 'header-free') return null;
  const close = (): void => {
    if (inDesc.kind === 'file') closeNpy(inDesc.file);
  };
  const im = meta(inDesc);
  const nd = im.shape.length;
  const floatOk = im.dtype === 'float32' || im.dtype === 'float16';
  const tensorOk = inDesc.kind === 'file' || inDesc.tensor.data instanceof Float32Array;
  // Fortran order streams too, from files (an in-memory tensor is always C order here).
  if (nd < 2 || normalizeAxis(options.classDim, nd) !== 1 || !floatOk || !tensorOk || (im.fortran && inDesc.kind !== 'file')) {
    close();
    return null;
  }
  let tDesc: Loadable | { kind: 'header-free' };
  try {
    tDesc = describe(req.target);
  } catch (e) {
    close();
    throw e;
  }
  const closeBoth = (): void => {
    close();
    if (tDesc.kind === 'file') closeNpy(tDesc.file);
  };
  if (tDesc.kind === 'header-free') {
    close();
    return null;
  }
  const tm = meta(tDesc);
  // Both in the same order (a 1-D target is both); mixed orders take the general path.
  const targetFortran = tm.fortran || (im.fortran && tm.shape.length <= 1);
  if (!isIntegerDType(tm.dtype) || targetFortran !== im.fortran) {
    closeBoth();
    return null;
  }
  try {
    const weight = req.weight ? loadWhole(req.weight, 'weight') : null;
    // The kernel's own shape checks, on headers only: the same messages as the reference path.
    const p = buildProblem({ input: shapeOnly(im), target: shapeOnly(tm), weight }, options);
    // An input without classes (all targets ignored, or PyTorch's error above) takes the reference kernel:
    // the SIMD kernel takes its max over at least one class.
    if (p.loss !== 'ce' || p.targetKind !== 'index' || p.C === 0) {
      closeBoth();
      return null;
    }
    const wf = weight ? Float32Array.from(weight.data as ArrayLike<number>) : null;
    const order = im.fortran ? fortranOrder(p.N, p.lossShape.slice(1)) : null;
    return {
      N: order ? order.positions : p.N, C: p.C, S: order ? p.N : p.S, input: inDesc, target: tDesc,
      fortran: order,
      weight: wf ? { dtype: 'float32', shape: [p.C], data: wf } : null,
      inputShape: im.shape, inputDtype: im.dtype, lossShape: p.lossShape, targetDtype: tm.dtype,
      inputItemSize: inDesc.kind === 'file' ? inDesc.file.header.itemSize : 4,
      targetItemSize: tDesc.kind === 'file' ? tDesc.file.header.itemSize : 4,
    };
  } catch (e) {
    closeBoth();
    throw e;
  }
}

async function loadInput(l: Loadable, start: number, count: number, dest: Float32Array, onBytes: (n: number) => void): Promise<void> {
  if (l.kind === 'file') return readF32(l.file, start, count, dest, 0, onBytes);
  dest.set((l.tensor.data as Float32Array).subarray(start, start + count));
  onBytes(count * 4);
}

async function loadTarget(l: Loadable, start: number, count: number, dest: Int32Array, onBytes: (n: number) => void): Promise<void> {
  if (l.kind === 'file') return readI32(l.file, start, count, dest, 0, onBytes);
  const d = l.tensor.data;
  for (let i = 0; i < count; i++) dest[i] = d[start + i];
  onBytes(count * 4);
}

/** Rows [r0, r0 + count) of an (N, C) input, written transposed: dest[c * count + i] = x[r0 + i, c]. */
async function loadRowsTransposed(l: Loadable, r0: number, count: number, C: number, dest: Float32Array, onBytes: (n: number) => void): Promise<void> {
  const scatter = (src: Float32Array, from: number, rowsHere: number, srcRow0: number): void => {
    for (let i = 0; i < rowsHere; i++) {
      const o = (srcRow0 + i) * C;
      for (let c = 0; c < C; c++) dest[c * count + from + i] = src[o + c];
    }
  };
  if (l.kind === 'tensor') {
    scatter(l.tensor.data as Float32Array, 0, count, r0);
    onBytes(count * C * 4);
    return;
  }
  // From a file through a bounded buffer of whole rows.
  const per = Math.max(1, Math.floor((4 << 20) / C));
  const tmp = new Float32Array(Math.min(count, per) * C);
  for (let i = 0; i < count; i += per) {
    const n = Math.min(per, count - i);
    await readF32(l.file, (r0 + i) * C, n * C, tmp, 0, onBytes);
    scatter(tmp, i, n, 0);
  }
}

function loadWhole(src: TensorSource, role: 'input' | 'target' | 'weight'): Tensor {
  return src.kind === 'tensor' ? src.tensor : readTensorFile(src.path, role);
}

/** A fast job's report of a class index outside [0, C) (flat in the block's memory order), before it is named. */
class BadTargetFound extends Error {
  constructor(
    readonly flat: number,
    readonly value: number,
  ) {
    super(`target value ${value} out of range`);
  }
}

/**
 * The error naming the first out-of-range class index of block [b0, b0 + nb): in C order, earlier blocks were
 * clean (in a Fortran-order file, the first in the file's order among blocks, the first in C order within
 * one). The block's targets are read again from their source: when a job finds a bad one, later pieces of
 * the block may not have arrived yet, and the working memory there still holds another request's targets.
 */
async function firstBadTarget(plan: FastPlan, ignoreIndex: number, b0: number, nb: number, found: BadTargetFound): Promise<LensError> {
  const { C, S } = plan;
  const t = new Int32Array(nb * S);
  await loadTarget(plan.target, b0 * S, nb * S, t, () => undefined);
  let first = -1;
  let value = 0;
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    if (v === ignoreIndex || (v >= 0 && v < C)) continue;
    const flat = plan.fortran ? plan.fortran.toC(b0 * S + i) : b0 * S + i;
    if (first < 0 || flat < first) {
      first = flat;
      value = v;
    }
    if (!plan.fortran) break;
  }
  // The file no longer holds it (rewritten meanwhile): name what the job saw.
  if (first < 0) return targetRangeError(found.value, plan.fortran ? plan.fortran.toC(found.flat) : found.flat, plan.lossShape, C, ignoreIndex);
  return targetRangeError(value, first, plan.lossShape, C, ignoreIndex);
}

// -----------------------------------------------------------------------------------------------------
// Scheduling

/**
 * Runs jobs on the pool, at most one in flight per worker, collecting each job's partial by index.
 * Stops dispatching on abort (in-flight fast jobs are a few milliseconds; general jobs are long, so their
 * workers are terminated when `terminateOnAbort`).
 */
/** A job, optionally waiting for its data: the lane that takes it dispatches it once `ready` settles. */
interface FastJob {
  readonly ready?: Promise<unknown>;
  readonly make: (worker: number) => WorkerRequest;
  /** Settled with the job: resolved when it is done, rejected when it fails or is never sent. */
  readonly settles?: Deferred;
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Observed here so that a rejection nobody waits for is not reported as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Part of one block's input read at once: samples [n0, n1) of the block, class rows [c0, c1) of each. */
interface Piece {
  readonly n0: number;
  readonly n1: number;
  readonly c0: number;
  readonly c1: number;
}

/**
 * One block loading in order: `pieces[i]` settles when piece i is in memory, `samples[n]` when all of
 * sample n is.
 */
interface BlockLoad {
  readonly samples: ReadonlyArray<Promise<void>>;
  readonly pieces: ReadonlyArray<Promise<void>>;
  readonly all: Promise<void>;
}

/** Loads the pieces of a block of `count` samples (of C classes) one after another, in order. */
function loadPieces(count: number, pieces: readonly Piece[], C: number, loadPiece: (p: Piece, i: number) => Promise<void>): BlockLoad {
  const samples = Array.from({ length: count }, deferred);
  const loaded = pieces.map(deferred);
  const all = (async () => {
    let n = 0;
    let i = 0;
    try {
      for (; i < pieces.length; i++) {
        await loadPiece(pieces[i], i);
        loaded[i].resolve();
        if (pieces[i].c1 === C) for (; n < pieces[i].n1; n++) samples[n].resolve();
        // Let the lanes dispatch what was just loaded before copying the next piece (in-memory copies are
        // synchronous and would otherwise hold the thread for the whole block).
        await new Promise<void>((r) => setImmediate(r));
      }
    } catch (e) {
      for (; i < pieces.length; i++) loaded[i].reject(e);
      for (; n < count; n++) samples[n].reject(e);
      throw e;
    }
  })();
  // A failed read reaches the caller through the lanes waiting on its pieces; nothing else may wait on
  // `all` before the jobs end, so it is observed here.
  all.catch(() => undefined);
  return { samples: samples.map((d) => d.promise), pieces: loaded.map((d) => d.promise), all };
}

async function runJobs(
  pool: WorkerPool,
  jobs: ReadonlyArray<((worker: number) => WorkerRequest) | FastJob>,
  init: WasmInit | undefined,
  signal: AbortSignal | undefined,
  onDone: (index: number) => void,
  onOther: (r: WorkerResponse) => Error | null,
  terminateOnAbort = false,
  drain?: (settled: Promise<unknown>) => void,
): Promise<StatsPartial[]> {
  const results = new Array<StatsPartial>(jobs.length);
  const finished: Array<Promise<void>> = [];
  let next = 0;
  let failure: Error | null = null;
  let aborted = false;
  // Cancellation answers at once; jobs already on a worker finish in the background (a few ms each) and
  // `drain` lets the caller wait for them before reusing the memory they write.
  let wakeOnAbort: () => void = () => undefined;
  const abortedNow = new Promise<void>((resolve) => (wakeOnAbort = resolve));
  const onAbort = (): void => {
    aborted = true;
    if (terminateOnAbort) void pool.terminateBusy();
    wakeOnAbort();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) {
    aborted = true;
    wakeOnAbort();
  }
  const lane = async (): Promise<void> => {
    while (next < jobs.length && !failure && !aborted) {
      const i = next++;
      const job = jobs[i];
      let r: WorkerResponse;
      // A job taken but never sent settles too: lanes and reads may be waiting on it.
      const drop = (e: unknown): void => {
        if (typeof job !== 'function') job.settles?.reject(e);
      };
      try {
        if (typeof job === 'function') r = await pool.run(job, init);
        else {
          if (job.ready) await job.ready;
          if (aborted || failure) {
            drop(failure ?? cancelled());
            return;
          }
          r = await pool.run(job.make, init);
        }
      } catch (e) {
        failure ??= e as Error;
        drop(e);
        return;
      }
      if (typeof job !== 'function') {
        if (r.kind === 'done') job.settles?.resolve();
        else job.settles?.reject(new Error(`job ${i} failed`));
      }
      if (r.kind === 'done') {
        results[i] = r.stats;
        // After this lane has sent its next job: the worker computes while the host copies maps out.
        finished.push(new Promise<void>((resolve) => setImmediate(() => {
          try {
            onDone(i);
          } catch (e) {
            failure ??= e as Error;
          }
          resolve();
        })));
      } else if (r.kind === 'error') {
        failure ??= r.lensKind ? new LensError(r.lensKind as LensError['kind'], r.message) : new LensError('io', `internal error in a compute worker: ${r.message}`);
      } else {
        failure ??= onOther(r) ?? new LensError('io', `unexpected worker reply ${r.kind}`);
      }
    }
  };
  const all = Promise.all(Array.from({ length: Math.min(pool.size, jobs.length) }, lane));
  try {
    await Promise.race([all, abortedNow]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (aborted) drain?.(all.catch(() => undefined));
  if (aborted) throw cancelled();
  await Promise.all(finished);
  if (failure) throw failure;
  return results;
}

/**
 * Progress as a fraction of work units, reported at most every PROGRESS_EVERY_MS as units complete, and
 * at least every 2 * PROGRESS_EVERY_MS while work is under way (a slow disk read still shows life).
 */
class Progress {
  private done = 0;
  private last = 0;
  private readonly timer: ReturnType<typeof setInterval> | null;
  constructor(
    private readonly report: ((f: number) => void) | undefined,
    private readonly total: number,
  ) {
    this.timer = report ? setInterval(() => this.emitIfStale(), PROGRESS_EVERY_MS) : null;
    this.timer?.unref();
    this.emit();
  }
  private emit(): void {
    this.last = Date.now();
    // Nothing to do (an empty input) is all done.
    this.report?.(this.total > 0 ? Math.min(1, this.done / this.total) : 1);
  }
  private emitIfStale(): void {
    if (Date.now() - this.last >= PROGRESS_EVERY_MS) this.emit();
  }
  add(units: number): void {
    this.done += units;
    if (Date.now() - this.last >= PROGRESS_EVERY_MS || this.done >= this.total) this.emit();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** Writes a float32 .npy in pieces (header first), to a temporary name renamed into place at the end. */
class NpyStreamWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private written = 0;
  private readonly total: number;
  constructor(
    private readonly file: string,
    shape: readonly number[],
    fortranOrder = false,
  ) {
    this.total = numel(shape);
    this.tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    const header = encodeNpyHeader('float32', shape, { fortranOrder });
    try {
      this.fd = fs.openSync(this.tmp, 'w');
      fs.writeSync(this.fd, header);
    } catch (e) {
      throw new LensError('io', `${file}: cannot write the loss map: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  append(data: Float32Array): void {
    fs.writeSync(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.written += data.length;
  }
  finish(): void {
    fs.closeSync(this.fd);
    if (this.written !== this.total) throw new LensError('io', `${this.file}: wrote ${this.written} of ${this.total} values`);
    fs.renameSync(this.tmp, this.file);
  }
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

