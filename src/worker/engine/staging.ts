// Staging: files and tensors into the shared memory. A block of samples loads piece by piece, in order;
// each piece's promise settles when it is in memory, so a sample's jobs start as soon as it is there and
// reading (or copying an in-memory tensor) overlaps the kernel instead of preceding it.
import type { EngineOptions } from './engineTypes';
import type { FastPlan } from '../fast/fastPlan';
import type { FastLayout, Piece } from '../fast/memoryLayout';
import { readF32, readI32, readLittleEndianInto } from '../files/npyFile';
import { cancelled, deferred, type Deferred } from './schedule';
import type { Loadable } from './sources';

/**
 * Elements copied from an in-memory tensor between turns of the event loop. The copy runs on the caller's
 * thread (the extension host's): a sample of a [8, 21, 512, 512] batch is 22 MB, and its first copy into
 * fresh working memory held the loop 80-110 ms in one piece.
 */
const COPY_SLICE = 1 << 20;

const nextTurn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

export async function loadInput(l: Loadable, start: number, count: number, dest: Float32Array, onBytes: (n: number) => void): Promise<void> {
  if (l.kind === 'file') return readF32(l.file, start, count, dest, 0, onBytes);
  const d = l.tensor.data as Float32Array;
  for (let i = 0; i < count; i += COPY_SLICE) {
    if (i > 0) await nextTurn();
    const n = Math.min(COPY_SLICE, count - i);
    dest.set(d.subarray(start + i, start + i + n), i);
    onBytes(n * 4);
  }
}

export async function loadTarget(l: Loadable, start: number, count: number, dest: Int32Array, onBytes: (n: number) => void): Promise<void> {
  if (l.kind === 'file') return readI32(l.file, start, count, dest, 0, onBytes);
  const d = l.tensor.data;
  for (let i = 0; i < count; i += COPY_SLICE) {
    if (i > 0) await nextTurn();
    const end = Math.min(count, i + COPY_SLICE);
    for (let j = i; j < end; j++) dest[j] = d[start + j];
    onBytes((end - i) * 4);
  }
}

/** Rows [r0, r0 + count) of an (N, C) input, written transposed: dest[c * count + i] = x[r0 + i, c]. */
export async function loadRowsTransposed(l: Loadable, r0: number, count: number, C: number, dest: Float32Array, onBytes: (n: number) => void): Promise<void> {
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

/**
 * One block loading in order: `pieces[i]` settles when piece i is in memory, `samples[n]` when all of
 * sample n is.
 */
export interface BlockLoad {
  readonly samples: ReadonlyArray<Promise<void>>;
  readonly pieces: ReadonlyArray<Promise<void>>;
  readonly all: Promise<void>;
}

/** Loads the pieces of a block of `count` samples (of C classes) one after another, in order. */
export function loadPieces(count: number, pieces: readonly Piece[], C: number, loadPiece: (p: Piece, i: number) => Promise<void>): BlockLoad {
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

/** What reading a block of a fast request needs. */
export interface BlockStaging {
  readonly plan: FastPlan;
  readonly layout: FastLayout;
  readonly buf: SharedArrayBuffer;
  /** The input is still in the working memory from the previous request: nothing to read. */
  readonly reuse: boolean;
  /** Settles when piece u is in the block layout (see runFast). */
  readonly relaid: readonly Deferred[];
  readonly onBytes: (n: number) => void;
  readonly signal: AbortSignal | undefined;
  readonly opts: EngineOptions;
}

/** Starts loading block k into its staging region. */
export function stageBlock(st: BlockStaging, k: number): BlockLoad {
  const { plan, layout, buf, onBytes, relaid } = st;
  const { C, S } = plan;
  const { blocked, xSample, stage, pieceBase } = layout;
  const [b0, b1] = layout.blocks[k];
  const r = layout.regions[k % layout.regions.length];
  if (st.reuse) {
    const ready = Promise.resolve();
    return { samples: new Array<Promise<void>>(b1 - b0).fill(ready), pieces: [], all: ready };
  }
  if (layout.rows) {
    return loadPieces(1, [{ n0: 0, n1: 1, c0: 0, c1: C }], C, async () => {
      await loadRowsTransposed(plan.input, b0, b1 - b0, C, new Float32Array(buf, r.x, (b1 - b0) * C), onBytes);
      await loadTarget(plan.target, b0, b1 - b0, new Int32Array(buf, r.t, b1 - b0), onBytes);
      if (st.signal?.aborted) throw cancelled();
    });
  }
  // Small samples load several at a time: one read per sample would cost more than the kernel.
  return loadPieces(b1 - b0, layout.blockPieces[k], C, async ({ n0, n1, c0, c1 }, i) => {
    await st.opts.beforePieceRead?.(k, i);
    const m = n1 - n0;
    let dest = r.x + n0 * xSample;
    if (blocked) {
      const u = pieceBase[k] + i;
      if (u >= 2) await relaid[u - 2].promise;
      dest = stage[u % 2];
    }
    // Rows [c0, c1) of samples [n0, n1): contiguous in the file (whole samples, or rows of one).
    const from = ((b0 + n0) * C + c0) * S;
    const count = m * (c1 - c0) * S;
    if (layout.xDtype === 'float16' && plan.input.kind === 'file') await readLittleEndianInto(plan.input.file, from, count, new Uint8Array(buf, dest, count * 2), onBytes);
    else await loadInput(plan.input, from, count, new Float32Array(buf, dest, count), onBytes);
    if (c0 === 0) await loadTarget(plan.target, (b0 + n0) * S, m * S, new Int32Array(buf, r.t + n0 * S * 4, m * S), onBytes);
    if (st.signal?.aborted) throw cancelled();
  });
}
