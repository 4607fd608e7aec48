// The fast path's shared-memory layout: how a problem is cut into blocks (streamed inputs), pieces (reads)
// and jobs, and where each block's logits, targets, outputs and accumulators sit in the wasm memory. A pure
// function of the plan and the engine's settings.
import { LensError, fmtShape } from '../../errors';
import { keepsMatrix } from '../../kernel/confusion';
import { blockedLength, ceAccLength } from '../../kernel/wasm/wasmKernel';
import type { FastPlan } from './fastPlan';

/** Logits per fast job: small enough for prompt cancellation and progress, large enough to amortize. */
export const FAST_JOB_LOGITS = 1 << 22;
/** Samples smaller than this are read (or copied) several at a time. */
const LOAD_UNIT_BYTES = 8 << 20;
/** Logits per streamed block unless the engine's options say otherwise. */
export const DEFAULT_BLOCK_BYTES = 64 << 20;
/**
 * Samples of at least this many pixels from files are kept in the kernel's 16-pixel block layout: the
 * kernel then reads memory in order (~1.6 instead of ~2.5 ns per logit on large images). Smaller ones stay
 * in rows (the padding of a last partial block would cost more than the layout saves).
 */
const BLOCKED_MIN_PIXELS = 64;
/**
 * Rows (S = 1) of at least this many classes take the row kernel (SIMD across a row's classes, one pass,
 * no transpose); narrower rows are transposed per block so the pixel kernel's lanes stay full (the row
 * kernel's per-row overhead, ~65 ns, would dominate there).
 */
export const ROW_KERNEL_MIN_CLASSES = 64;

/** Part of one block's input read at once: samples [n0, n1) of the block, class rows [c0, c1) of each. */
export interface Piece {
  readonly n0: number;
  readonly n1: number;
  readonly c0: number;
  readonly c1: number;
}

/** Byte offsets of one staging region: a block's logits, targets, loss and predictions, job accumulators. */
export interface Region {
  readonly x: number;
  readonly t: number;
  readonly loss: number;
  readonly pred: number;
  readonly acc: number;
}

/**
 * A compute job covers at least this many pixels (rows): each job has accumulators of its own, O(C) (four
 * float64 per class, five with pair counts), zeroed, filled and merged once per job. At 256 rows they are
 * a few percent of the job's bytes of logits; at C = 50257, 21-row jobs (16 per 64 MiB block) moved about
 * as many bytes of accumulators as of logits.
 */
export const MIN_JOB_PIXELS = 256;

/**
 * Samples per compute job when a whole sample is smaller than a job (classification rows are one pixel
 * each): at least 16 jobs per block keep every worker busy, unless that would make a job smaller than
 * MIN_JOB_PIXELS. Depends on the problem's size only, never on the worker count, so the statistics are
 * the same for any number of workers.
 */
export function sampleGroup(C: number, S: number, nb: number, jobsPerSample: number): number {
  if (jobsPerSample !== 1) return 1;
  const spread = Math.min(Math.floor(FAST_JOB_LOGITS / (C * S)), Math.ceil(nb / 16));
  const group = Math.max(1, Math.min(nb, Math.max(spread, Math.ceil(MIN_JOB_PIXELS / S))));
  // The same number of jobs, evened out: 167 + 166 rows, not 256 + 77, so that two workers finish together.
  return Math.ceil(nb / Math.ceil(nb / group));
}

/**
 * Float64 elements of one compute job's accumulators: the kernel's (scalars, then loss sum, count,
 * predicted and ignored per class), then, when the jobs count (target, predicted) pairs instead of a
 * C x C matrix, the job's true positives per class; then, for softmax focal, FOCAL_SCALARS for the focal
 * pass's sums (focalScalarsAt). Read by the host in job order (fastRun.ts), so no O(C) arrays travel back
 * with each job.
 */
export function jobAccLength(C: number, pairs: boolean, focal = false): number {
  return ceAccLength(C) + (pairs ? C : 0) + (focal ? FOCAL_SCALARS : 0);
}

/** Float64 sums the focal pass adds to (src/wasm/ce.ts focalInPlace: 5 used). */
export const FOCAL_SCALARS = 8;

/** Byte offset of a focal job's FOCAL_SCALARS, from its accumulators' offset. */
export function focalScalarsAt(acc: number, C: number, pairs: boolean): number {
  return acc + jobAccLength(C, pairs) * 8;
}

/** Pixels per job of a transposed block of nb narrow rows (a multiple of 16, about a job's size). */
export function transposedSpan(nb: number, C: number): number {
  const parts = Math.max(Math.ceil((nb * C) / FAST_JOB_LOGITS), Math.min(16, Math.floor(nb / 1024)), 1);
  return Math.min(nb, Math.ceil(nb / parts / 16) * 16);
}

export interface FastLayout {
  /** The input is larger than the in-memory budget and is read block by block. */
  readonly streamed: boolean;
  readonly blockSamples: number;
  /** Pixels per job within a sample (a multiple of 16), jobs per sample and at most per block. */
  readonly jobPixels: number;
  readonly jobsPerSample: number;
  readonly jobsPerBlock: number;
  /** Float64 elements per job accumulator and per worker's confusion counts (padded to 128 bytes). */
  readonly accLen: number;
  readonly confLen: number;
  /** Byte offsets of the class weights and of the workers' confusion counts. */
  readonly wOff: number;
  /** Byte offset of softmax focal's alpha (float64 per class), or 0 when there is none. */
  readonly alphaOff: number;
  readonly confOff: number;
  /** Narrow classification rows (S = 1), stored transposed per block. */
  readonly rows: boolean;
  /** Wide rows (S = 1, C >= ROW_KERNEL_MIN_CLASSES) kept as they are, for the row kernel. */
  readonly rowKernel: boolean;
  /** How the row kernel reads the logits: float16 files stay 2 bytes a logit in memory. */
  readonly xDtype: 'float32' | 'float16';
  /** Logits kept in the kernel's 16-pixel block layout (through the staging areas `stage`). */
  readonly blocked: boolean;
  /** Bytes of one sample's logits in the memory. */
  readonly xSample: number;
  readonly regions: readonly Region[];
  /** Two staging areas for rows read from disk before their relayout into blocks (blocked only). */
  readonly stage: readonly number[];
  /** Bytes and wasm pages the layout needs. */
  readonly top: number;
  readonly pages: number;
  /** Blocks of samples [b0, b1), the pieces each is read in, and the number of the first piece of each. */
  readonly blocks: ReadonlyArray<readonly [number, number]>;
  readonly blockPieces: ReadonlyArray<readonly Piece[]>;
  readonly pieceBase: readonly number[];
}

export interface LayoutSettings {
  /** Workers (each gets its own confusion counts). */
  readonly workers: number;
  /** Bytes at the start of the memory that hold the kernel's static data. */
  readonly reservedBytes: number;
  readonly inMemoryBytes?: number;
  /**
   * Input files whose logits exceed this stream even under inMemoryBytes (the CLI, which computes once:
   * keeping a file resident for recomputing buys it nothing, and streaming bounds its memory).
   */
  readonly streamFilesOverBytes?: number;
  readonly blockBytes?: number;
}

export function fastLayout(plan: FastPlan, settings: LayoutSettings): FastLayout {
  const { N, C, S } = plan;
  const rowKernel = S === 1 && C >= ROW_KERNEL_MIN_CLASSES;
  // float16 files are widened by the row kernel as it reads, so they take half the memory (and stream
  // half as often); elsewhere the staging widens them to float32.
  const xDtype = rowKernel && plan.input.kind === 'file' && plan.inputDtype === 'float16' ? 'float16' : 'float32';
  const xElem = xDtype === 'float16' ? 2 : 4;
  const logitBytes = N * C * S * xElem;
  const budget = Math.min(settings.inMemoryBytes ?? 1 << 30, plan.input.kind === 'file' ? settings.streamFilesOverBytes ?? Infinity : Infinity);
  const streamed = logitBytes > budget;
  if (streamed && plan.input.kind !== 'file') {
    throw new LensError('io', `input of ${(logitBytes / 2 ** 30).toFixed(1)} GiB is too large to compute in memory`);
  }
  const perSample = C * S * xElem;
  const blockSamples = streamed ? Math.max(1, Math.floor((settings.blockBytes ?? DEFAULT_BLOCK_BYTES) / perSample)) : N;
  if (streamed && perSample > 1.5 * 2 ** 30) {
    throw new LensError('io', `one sample of ${fmtShape(plan.inputShape)} is ${(perSample / 2 ** 30).toFixed(1)} GiB; the stream reads whole samples — split the file along a spatial axis`);
  }
  const W = settings.workers;
  // Equal pixel ranges per sample (multiples of 16, the kernel's vector width) so workers finish together.
  const perSampleJobs = Math.max(1, Math.ceil((S * C) / FAST_JOB_LOGITS));
  const jobPixels = Math.min(S, Math.ceil(S / perSampleJobs / 16) * 16);
  const jobsPerSample = Math.ceil(S / jobPixels);
  // Compute jobs of the largest block: each has accumulators of its own (O(C) each), so this counts the
  // jobs as fastJobs.ts makes them, never one per sample (N x C accumulators for classification rows).
  // Every block but the last holds blockSamples; the job count is not monotone in the block's size, so
  // both sizes are counted.
  const rowsTransposed = S === 1 && !rowKernel;
  const jobsOf = (nb: number): number => (rowsTransposed
    ? Math.ceil(nb / transposedSpan(nb, C))
    : Math.ceil(nb / sampleGroup(C, S, nb, jobsPerSample)) * jobsPerSample);
  const jobsPerBlock = Math.max(jobsOf(blockSamples), jobsOf(N - Math.floor((N - 1) / blockSamples) * blockSamples));
  // Each job's accumulators and each worker's confusion counts on cache lines of their own (128 bytes,
  // two lines, for the adjacent-line prefetcher): workers writing neighbouring bytes would otherwise pass
  // the shared line back and forth on every update.
  // No C x C counts above CONFUSION_MATRIX_MAX_CLASSES: the jobs count (target, predicted) pairs instead,
  // and their true positives per class in their accumulators.
  const confLen = keepsMatrix(C) ? Math.ceil((C * C) / 16) * 16 : 0;
  const accLen = Math.ceil(jobAccLength(C, confLen === 0, plan.focal !== null) / 16) * 16;

  // Layout of the shared memory (byte offsets, 128-byte aligned). A streamed input gets two staging
  // regions, so the next block reads from disk while the workers compute the current one.
  const regionsCount = streamed && N > blockSamples ? 2 : 1;
  let top = 0;
  const take = (bytes: number): number => {
    const at = top;
    top = Math.ceil((top + bytes) / 128) * 128;
    return at;
  };
  take(settings.reservedBytes); // the kernel's own static data
  const wOff = plan.weight ? take(C * 4) : 0;
  const alphaOff = plan.focal?.alpha ? take(C * 8) : 0;
  const confOff = take(W * confLen * 8);
  // Logits from a file are kept in 16-pixel blocks: read from disk into a staging area in rows, a piece at
  // a time, and put into blocks by the workers (relayout jobs) while the next piece reads. The relayout
  // costs about what it saves the kernel once, and files stay in the working memory for recomputing
  // (resident inputs), which then runs at the block layout's speed. In-memory tensors are never kept, so
  // they are copied straight into rows.
  const rows = S === 1 && !rowKernel;
  const blocked = S > 1 && S >= BLOCKED_MIN_PIXELS && plan.input.kind === 'file';
  const xSample = blocked ? blockedLength(C, S) * 4 : C * S * xElem;
  // Samples up to a load unit go several to a piece; larger ones (blocked) a few class rows at a time.
  const unit = Math.max(1, Math.floor(LOAD_UNIT_BYTES / (C * S * xElem)));
  const rowsPerPiece = blocked && C * S * 4 > LOAD_UNIT_BYTES ? Math.max(1, Math.floor(LOAD_UNIT_BYTES / (S * 4))) : C;
  const piecesOf = (nb: number): Piece[] => {
    const out: Piece[] = [];
    if (rowsPerPiece === C) for (let n0 = 0; n0 < nb; n0 += unit) out.push({ n0, n1: Math.min(nb, n0 + unit), c0: 0, c1: C });
    else for (let n = 0; n < nb; n++) for (let c0 = 0; c0 < C; c0 += rowsPerPiece) out.push({ n0: n, n1: n + 1, c0, c1: Math.min(C, c0 + rowsPerPiece) });
    return out;
  };
  const stageBytes = rowsPerPiece === C ? Math.min(unit, blockSamples) * C * S * xElem : rowsPerPiece * S * 4;
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

  const blocks: Array<[number, number]> = [];
  for (let b0 = 0; b0 < N; b0 += blockSamples) blocks.push([b0, Math.min(N, b0 + blockSamples)]);
  // Pieces are numbered across blocks: piece u stages in stage[u % 2], free again once the relayout of
  // piece u - 2 is done.
  const blockPieces = blocks.map(([b0, b1]) => piecesOf(b1 - b0));
  const pieceBase = blockPieces.map((_, k) => blockPieces.slice(0, k).reduce((a, ps) => a + ps.length, 0));
  return {
    streamed, blockSamples, jobPixels, jobsPerSample, jobsPerBlock, accLen, confLen, wOff, alphaOff, confOff,
    rows, rowKernel, xDtype, blocked, xSample, regions, stage, top, pages, blocks, blockPieces, pieceBase,
  };
}

/**
 * About the bytes of working memory a streamed file request touches with blocks of `blockBytes` logits, as
 * fastLayout lays it out: the kernel's static data, two staging regions of one block's logits each (the
 * next block reads while the current one computes) and the two areas that rows read from disk pass through
 * on their way to the 16-pixel block layout (a load unit each, or a block when that is smaller).
 * Engine.prepare() faults these pages in before the first request. Left out: a block's targets, loss and
 * predictions (12 bytes a pixel, 3 / C of its float32 logits) and the O(C) accumulators, which depend on
 * the file; and a block holds whole samples, so samples larger than blockBytes take more. The request
 * grows the memory for those itself.
 */
export function streamedWorkingBytes(reservedBytes: number, blockBytes = DEFAULT_BLOCK_BYTES): number {
  return reservedBytes + 2 * blockBytes + 2 * Math.min(LOAD_UNIT_BYTES, blockBytes);
}

/** Pieces over all blocks (one relayout each when blocked). */
export function pieceCount(layout: FastLayout): number {
  const last = layout.blocks.length - 1;
  return layout.pieceBase[last] + layout.blockPieces[last].length;
}
