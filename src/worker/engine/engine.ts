// The compute engine: every loss the product shows is computed here, in worker threads, never on the
// caller's thread. Two paths:
// - fast: float32/float16 logits with class-index targets go through the WebAssembly SIMD kernel in one
//   shared wasm memory that all workers import; files larger than the in-memory budget stream in blocks
//   of samples read straight from disk. Logits from files are laid out in 16-pixel blocks, which the
//   kernel reads in order, and stay in the memory for recomputing with other options.
//   Softmax focal takes it too (the kernel's cross-entropy, turned into focal per job); torchvision's
//   sigmoid focal loss on float32 logits and targets takes its own SIMD kernel (sigmoidFocalRun.ts), and
//   its result keeps no maps (as large as its input): they are computed again when asked (mapsOnDemand).
// - general: everything else (probability targets, float64, probs/log-probs, channels-last, bce) runs the
//   pure-TS reference kernel on slices of samples over SharedArrayBuffers.
// Work is cut into jobs by the problem's size, never by the worker count, and partial statistics merge in
// job order, so results are identical for any number of workers.
//
// This file holds the Engine: its public API, the choice of path, and what lives between requests (the
// worker pool, the wasm module, the working memory). The concerns of a computation each have a module:
// - planning: fastPlan.ts (which path; dimensions), memoryLayout.ts (blocks, pieces, offsets, pages),
//   fastJobs.ts (which jobs per block); sources.ts (opening what a request names)
// - staging: staging.ts (files and tensors into the shared memory)
// - scheduling: schedule.ts (lanes, cancellation, progress)
// - running: fastRun.ts and generalRun.ts (each path's steps, in order)
// - assembling: assemble.ts (maps, confusion counts, statistics, the result), badTarget.ts (naming a bad
//   class index), npyStreamWriter.ts (the loss file)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { normalizeAxis, resolveOptions } from '../../kernel/options';
import { instantiateCeKernel, simdSupported } from '../../kernel/wasm/wasmKernel';
import type { HoverLookupQuery, LabelIssuesJob, LoadTensorItem, SharedText, WorkerRequest, WorkerResponse } from '../../protocol';
import type { PairIssues } from '../../labels/pairIssues';
import type { FileSummary, SamplingPolicy } from '../../hover/files';
import type { HoverReport, LiteralText, ReportRequest } from '../../hover/report';
import type { DocumentSyntax, HoverTarget, LiteralIndex, LiteralSpan, WarmLiteral } from '../../hover/scan';
import type { TensorLiteral } from '../../tensor/text/printed';
import type { Tensor } from '../../tensor/tensor';
import type { ComputeControls, EngineOptions, EngineRequest, EngineResult, MapsOnDemand, TensorSource } from './engineTypes';
import { closeFiles, planFast } from '../fast/fastPlan';
import { runFast, type FastState } from '../fast/fastRun';
import { runGeneral } from './generalRun';
import { closeSigmoidFocal, planSigmoidFocal, runSigmoidFocal, sigmoidFocalMaps, type SigmoidFocalEngine, type SigmoidFocalSpec } from '../fast/sigmoidFocalRun';
import { pairMaskTarget } from '../files/maskTarget';
import { isNpyPath } from '../files/npyFile';
import { ARCHIVE_TENSOR_FILE, splitMemberSpec } from '../../tensor/load';
import { streamedWorkingBytes } from '../fast/memoryLayout';
import { WorkerPool, type WasmInit } from './pool';
import { allocShared, share, viewOf } from './shared';
import { cancelled, runOne, unexpected } from './schedule';
import type { ListingFormat, TensorListing } from '../jobs/tensorListing';

export type { ComputeControls, ElementMaps, EngineOptions, EngineRequest, EngineResult, MapsOnDemand, TensorSource } from './engineTypes';

/** Working memory kept between requests (larger ones are released after use). */
const KEEP_MEMORY_BYTES = 512 << 20;

export class Engine {
  private pool: WorkerPool | null = null;
  private wasmModule: WebAssembly.Module | null | undefined;
  private wasmReserved = 65536;
  private memory: { memory: WebAssembly.Memory; generation: number } | null = null;
  /**
   * What the working memory holds from the last complete fast request read from files, and the reads and
   * jobs of a stopped one still writing there (see fastRun.ts).
   */
  private readonly fast: FastState = { resident: null, draining: Promise.resolve() };
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

  /**
   * The pool and kernel file for work scheduled outside the engine: folder evaluation
   * (src/eval/runEval.ts) runs its own per-image jobs on the same workers.
   */
  evalResources(): { readonly pool: WorkerPool; readonly wasmPath: string | null } {
    return { pool: this.getPool(), wasmPath: this.wasm() !== null ? path.join(this.distDir, 'ce.wasm') : null };
  }

  get wasmAvailable(): boolean {
    return this.wasm() !== null;
  }

  /**
   * Starts the workers and their kernels with a tiny computation, so that the first real one does not wait
   * for them (the pickers call this while the user chooses files: about 0.3 s on 2 cores), then faults in
   * the working memory a streamed request uses (see prefault). Never fails.
   */
  async prepare(): Promise<void> {
    if (this.prepared) return this.prepared;
    let pool: WorkerPool;
    let module: WebAssembly.Module | null;
    try {
      module = this.wasm(); // compiles the kernel module once
      pool = this.getPool();
    } catch {
      this.prepared = Promise.resolve();
      return this.prepared;
    }
    // One small job per worker, all at once, so the pool starts every worker (it starts them on demand).
    const tiny = (): WorkerRequest => ({
      kind: 'probs', id: 0, x: share({ dtype: 'float32', shape: [2], data: Float32Array.of(0, 1) }), C: 2, S: 1, inputKind: 'logits', loss: 'ce',
      out: allocShared('float32', [2], 'f32'),
    });
    const started = Promise.all(Array.from({ length: this.maxWorkers }, () => pool.run(tiny)));
    // The prefault writes into the working memory, so it takes its turn in the fast requests' queue: it
    // waits for one already running, and a request made meanwhile waits for it (it would fault the same
    // pages itself otherwise).
    const faulted = Promise.all([this.fastQueue, started]).then(() => (module ? this.prefault(pool, module) : undefined));
    const done = faulted.then(() => undefined, () => undefined);
    this.fastQueue = done;
    this.prepared = done;
    return done;
  }

  private prepared: Promise<void> | null = null;

  /**
   * Grows the working memory to what a streamed request uses with this engine's block size (at most what
   * is kept between requests) and has the workers write one byte per OS page of it, each a share of the
   * range: a fresh page costs a page fault on its first write (~20 us on a small VM, so ~0.3 s for 64 MiB),
   * which the first computation would otherwise pay on the caller's time.
   */
  private async prefault(pool: WorkerPool, module: WebAssembly.Module): Promise<void> {
    // Disposed while the workers started: allocate nothing.
    if (this.pool !== pool) return;
    const want = Math.ceil(streamedWorkingBytes(this.wasmReserved, this.opts.blockBytes) / 65536);
    const pages = Math.min(want, Math.floor((this.opts.keepMemoryBytes ?? KEEP_MEMORY_BYTES) / 65536));
    if (pages <= 0) return;
    const { memory, generation } = this.workingMemory(pages);
    const end = pages * 65536;
    const W = this.maxWorkers;
    const span = Math.ceil(pages / W) * 65536;
    const init: WasmInit = { module, memory, generation };
    const replies = await Promise.all(Array.from({ length: W }, (_, i) => pool.run(() => ({ kind: 'prefault', id: i, generation, start: i * span, end: Math.min(end, (i + 1) * span) }), init)));
    for (const r of replies) if (r.kind !== 'prefault-done') throw unexpected(r);
  }

  /** Bytes of the working memory now (0 before the first fast request or prepare()); for tests. */
  get workingMemoryBytes(): number {
    return this.memory?.memory.buffer.byteLength ?? 0;
  }

  async dispose(): Promise<void> {
    this.prepared = null;
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
   * The tensors of a .safetensors or torch.save file for the pickers (see src/worker/jobs/tensorListing.ts):
   * parsed in a worker, so that a hostile header never holds the caller's thread.
   */
  async listTensorFile(path: string, format: ListingFormat, signal?: AbortSignal): Promise<TensorListing> {
    const r = await this.runOne({ kind: 'list-tensor-file', id: 0, path, format }, signal);
    if (r.kind !== 'list-tensor-file-done') throw unexpected(r);
    return r.listing;
  }

  /** Likely label errors of one pair of files (confident learning, src/labels/), computed in a worker. */
  async labelIssues(request: LabelIssuesJob, signal?: AbortSignal): Promise<PairIssues> {
    const r = await this.runOne({ kind: 'label-issues', id: 0, request }, signal);
    if (r.kind !== 'label-issues-done') throw unexpected(r);
    return r.issues;
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

  /** One literal parsed into a tensor in a worker (src/hover/report.ts parseLiteral). */
  async parseLiteral(literal: LiteralText, signal?: AbortSignal): Promise<Tensor> {
    const r = await this.runOne({ kind: 'parse-literal', id: 0, literal }, signal);
    if (r.kind !== 'parse-literal-done') throw unexpected(r);
    return r.tensor;
  }

  /** findTensorLiterals (src/tensor/text/printed.ts) on shared text; errors come back as LensErrors. */
  async findLiterals(text: SharedText, signal?: AbortSignal): Promise<TensorLiteral[]> {
    const r = await this.runOne({ kind: 'find-literals', id: 0, text }, signal);
    if (r.kind !== 'find-literals-done') throw unexpected(r);
    return r.literals.map((f) => ('tensor' in f ? f : { start: f.start, end: f.end, error: new LensError(f.error.kind, f.error.message) }));
  }


  private runOne(msg: WorkerRequest, signal: AbortSignal | undefined): Promise<WorkerResponse> {
    return runOne(() => this.getPool(), msg, signal);
  }

  /**
   * The request with each file that is not a .npy (torch.save, .safetensors, .npz, JSON) decoded by a
   * worker into shared memory and named by its path: on this thread a 176 MB torch.save file held the event
   * loop 2.1 s, and as a file it took the general path (3.9 s in all, against 0.05 s for the same .npy).
   * An archive input that is a plain byte range of its file keeps its path with that range instead (see
   * locate below). .npy files are read in ranges where they are needed; PNG masks are paired by
   * pairMaskTarget.
   */
  async loadSources(req: EngineRequest, signal?: AbortSignal): Promise<EngineRequest> {
    const item = (src: TensorSource & { kind: 'file' }, role: LoadTensorItem['role']): LoadTensorItem => ({ path: src.path, role, ...(src.pin ? { pin: src.pin } : {}) });
    const decodes = (src: TensorSource | null | undefined): src is TensorSource & { kind: 'file' } =>
      !!src && src.kind === 'file' && !src.range && !isNpyPath(src.path) && !/\.png$/i.test(src.path);
    const job = async (items: readonly LoadTensorItem[]): Promise<TensorSource[]> => {
      const r = await this.runOne({ kind: 'load-tensor', id: 0, items }, signal);
      if (r.kind !== 'load-tensor-done') throw unexpected(r);
      return r.tensors.map((t, i) => ({ kind: 'tensor', tensor: viewOf(t), label: items[i].path }));
    };
    // Tensors of one .safetensors file are decoded by one worker, one after the other, so that its header
    // is parsed once (readTensorFile keeps it a moment): two workers each parsed a 66 MB header of a million
    // entries, 0.6 s apiece, competing for the same cores.
    const roles: Array<LoadTensorItem['role']> = ['input', 'target', 'weight', 'weight'];
    const sources = [req.input, req.target, req.weight, req.posWeight];
    const together = new Map<number, Promise<TensorSource>>();
    const byFile = new Map<string, number[]>();
    sources.forEach((src, k) => {
      if (!decodes(src)) return;
      const file = splitMemberSpec(src.path).path;
      if (/\.safetensors$/i.test(file)) byFile.set(file, [...(byFile.get(file) ?? []), k]);
    });
    for (const ks of byFile.values()) {
      if (ks.length < 2) continue;
      const loaded = job(ks.map((k) => item(sources[k] as TensorSource & { kind: 'file' }, roles[k])));
      loaded.catch(() => undefined);
      ks.forEach((k, i) => together.set(k, loaded.then((ts) => ts[i])));
    }
    // Source k of `sources`, in its role.
    const load = async <S extends TensorSource | null | undefined>(src: S, k: number): Promise<S | TensorSource> => {
      if (!decodes(src)) return src;
      return together.get(k) ?? (await job([item(src, roles[k])]))[0];
    };
    // An archive input that is a plain byte range of its file is read like a .npy (locateTensor), where the
    // SIMD path takes the request; else it is decoded like any other file.
    const locate = async (src: TensorSource): Promise<TensorSource> => {
      if (src.kind === 'file' && !src.range && ARCHIVE_TENSOR_FILE.test(splitMemberSpec(src.path).path)) {
        const r = await this.runOne({ kind: 'locate-tensor', id: 0, path: src.path, role: 'input', ...(src.pin ? { pin: src.pin } : {}) }, signal);
        if (r.kind !== 'locate-tensor-done') throw unexpected(r);
        if (r.range !== null) return { ...src, range: r.range };
      }
      return load(src, 0);
    };
    const [located, target, weight, posWeight] = await Promise.all([locate(req.input), load(req.target, 1), load(req.weight, 2), load(req.posWeight, 3)]);
    // A new range is kept where the SIMD path takes the request with the classes on axis 1 (a session reads
    // its samples' blocks of C planes from it; locateTensor has refused inputs of fewer dimensions); else the
    // input is decoded.
    const range = located !== req.input && located.kind === 'file' ? located.range : undefined;
    const keep = range !== undefined && normalizeAxis(resolveOptions(req.options).classDim, range.header.shape.length) === 1 &&
      this.fastTakes({ ...req, input: located, target: target!, weight, posWeight });
    const input = range !== undefined && !keep ? await load(req.input, 0) : located;
    if (input === req.input && target === req.target && weight === req.weight && posWeight === req.posWeight) return req;
    return { ...req, input, target: target!, ...(req.weight !== undefined ? { weight } : {}), ...(req.posWeight !== undefined ? { posWeight } : {}) };
  }

  /** Whether the SIMD cross-entropy path takes a request as it is (its files opened and closed again). */
  private fastTakes(req: EngineRequest): boolean {
    try {
      const plan = planFast(req, resolveOptions(req.options), this.wasm());
      if (plan) closeFiles(plan);
      return plan !== null;
    } catch {
      // What is wrong with it is said by the path that decodes it.
      return false;
    }
  }

  async compute(req: EngineRequest, ctl: ComputeControls = {}): Promise<EngineResult> {
    if (ctl.signal?.aborted) throw cancelled();
    // A PNG mask target [H, W] is one sample: read it and shape it for its input (src/worker/files/maskTarget.ts).
    const mask = pairMaskTarget(req);
    if (mask) return this.compute(mask.req, ctl);
    const loaded = await this.loadSources(req, ctl.signal);
    if (loaded !== req) return this.compute(loaded, ctl);
    const options = resolveOptions(req.options);
    const plan = planFast(req, options, this.wasm());
    if (plan) {
      return this.inFastQueue(() => runFast({
        req, options, plan, ctl, opts: this.opts, module: this.wasm()!, reservedBytes: this.wasmReserved, maxWorkers: this.maxWorkers,
        workingMemory: (pages) => this.workingMemory(pages), getPool: () => this.getPool(), state: this.fast,
      }), () => closeFiles(plan));
    }
    const sigmoid = options.loss === 'sigmoid-focal' && this.wasm() ? planSigmoidFocal(req, options, this.opts) : null;
    if (sigmoid) {
      return this.inFastQueue(() => runSigmoidFocal({
        ...this.sigmoidFocalEngine(), req, options, plan: sigmoid, ctl, maxWorkers: this.maxWorkers, onDemand: (spec) => this.sigmoidFocalOnDemand(spec),
      }), () => closeSigmoidFocal(sigmoid));
    }
    return runGeneral({ req, options, ctl, opts: this.opts, maxWorkers: this.maxWorkers, getPool: () => this.getPool() });
  }

  /**
   * Runs `work` in its turn among the requests that write the working memory: after the one before it and
   * the jobs and reads it left running, and before the next. `close` releases its files: at once when it
   * succeeds, and after those reads when it fails (a cancel leaves block reads in flight on its descriptors,
   * which closed under them would fail, or read whatever file reused the number).
   */
  private async inFastQueue<T>(work: () => Promise<T>, close: () => void = () => undefined): Promise<T> {
    const run = this.fastQueue.then(work);
    const settled = run.catch(() => undefined).then(() => this.fast.draining);
    this.fastQueue = settled;
    let done = false;
    try {
      const r = await run;
      done = true;
      return r;
    } finally {
      if (done) close();
      else void settled.then(close, close);
      this.releaseLargeMemory();
    }
  }

  private sigmoidFocalEngine(): SigmoidFocalEngine {
    return {
      distDir: this.distDir, module: this.wasm()!, reservedBytes: this.wasmReserved,
      workingMemory: (pages) => this.workingMemory(pages), getPool: () => this.getPool(), state: this.fast,
      blockBytes: this.opts.blockBytes, beforePieceRead: this.opts.beforePieceRead,
    };
  }

  /** A sigmoid focal result's maps, computed in the working memory when asked (see MapsOnDemand). */
  private sigmoidFocalOnDemand(spec: SigmoidFocalSpec): MapsOnDemand {
    return {
      range: async (start, count, signal) => {
        if (signal?.aborted) throw cancelled();
        return this.inFastQueue(() => sigmoidFocalMaps(this.sigmoidFocalEngine(), spec, start, count, signal));
      },
    };
  }

  // ---------------------------------------------------------------------------------------------------
  // Fast path: the working memory

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
    if (this.memory && this.memory.memory.buffer.byteLength > (this.opts.keepMemoryBytes ?? KEEP_MEMORY_BYTES)) this.memory = null;
  }

  /** Fast requests share the working memory, so they run one at a time. */
  private fastQueue: Promise<unknown> = Promise.resolve();
}
