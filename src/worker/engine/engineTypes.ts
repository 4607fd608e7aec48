// The engine's request, result and option types, apart from the Engine class so that the modules that
// plan, stage, schedule and assemble a computation can name them (src/worker/engine/engine.ts re-exports them).
import type { LossOptions, LossResult, LossStats } from '../../kernel/types';
import type { IndexArray } from '../../protocol';
import type { Tensor } from '../../tensor/tensor';
import type { TensorRange } from '../files/locateTensor';
import type { FileIdentity } from '../files/regularFile';

/**
 * A file (with `pin`: only the very file a check looked at, e.g. a notebook reference whose size and sha256
 * were checked; any other is refused when opened) or an in-memory tensor.
 */
export type TensorSource =
  | { readonly kind: 'file'; readonly path: string; readonly pin?: FileIdentity; readonly range?: TensorRange }
  | { readonly kind: 'tensor'; readonly tensor: Tensor; readonly label?: string };

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
  /**
   * Sample 0's maps as soon as they are final, while the rest of the batch computes (a view paints them
   * first). Called at most once, only by the fast path for batches of several spatial samples whose maps it
   * keeps; the arrays are copies, the same values as the result's maps for sample 0.
   */
  readonly onFirstSample?: (maps: FirstSampleMaps) => void;
}

/** One sample's maps in C order: shape is the loss shape without the batch axis. */
export interface FirstSampleMaps {
  readonly shape: readonly number[];
  readonly loss: Float32Array;
  readonly target: Int32Array;
  readonly predicted: Int32Array;
  readonly ignored: Uint8Array;
}

export interface EngineResult {
  readonly options: LossOptions;
  readonly value: number | null;
  readonly lossShape: readonly number[];
  readonly numerator: number;
  readonly denominator: number;
  readonly targetKind: LossResult['targetKind'];
  readonly stats: LossStats;
  /**
   * The unreduced loss, predictions and targets; null when the input streamed (too large to keep), or when
   * mapsOnDemand computes them on request. Class indices are Int32Array, except for the elementwise losses
   * (bce, sigmoid focal), whose 0/1 maps are Uint8Array: a quarter of the pages to fault in on maps as large
   * as the input.
   */
  readonly maps: ResultMaps | null;
  /**
   * Set where `maps` is null because the maps are computed when asked, not kept: torchvision's sigmoid
   * focal loss on the SIMD path (src/worker/fast/sigmoidFocalRun.ts), whose maps are as large as its input.
   */
  readonly mapsOnDemand?: MapsOnDemand;
  readonly input: { readonly shape: readonly number[]; readonly dtype: string };
  readonly target: { readonly shape: readonly number[]; readonly dtype: string };
  readonly engine: 'wasm-simd' | 'typescript';
  readonly workers: number;
  readonly streamed: boolean;
  /** The input files were still in the working memory from the previous request and were not read again. */
  readonly reusedInput: boolean;
  /** focal only: F.cross_entropy with the same weight, ignore_index and reduction (null for 'none'). */
  readonly ceValue?: number | null;
}

export interface ResultMaps {
  readonly loss: Float32Array | Float64Array;
  readonly predicted: IndexArray;
  readonly targetClass: IndexArray;
  readonly ignored: Uint8Array;
}

/** Maps of an elementwise loss over a range of its elements: 0/1 predictions and targets, a byte each. */
export interface ElementMaps extends ResultMaps {
  readonly loss: Float32Array;
  readonly predicted: Uint8Array;
  readonly targetClass: Uint8Array;
}

/**
 * A result's maps, computed again on request by the same kernel over the same elements: the values the
 * computation had, bit for bit. Its inputs are the request's tensors as they are (the caller keeps them
 * unchanged), or its .npy files as they were (a file changed since is refused with a LensError). Each call
 * takes its turn in the engine's queue of SIMD requests; the engine must not be disposed meanwhile.
 */
export interface MapsOnDemand {
  /** Elements [start, start + count) of the maps, in C order over lossShape. */
  range(start: number, count: number, signal?: AbortSignal): Promise<ElementMaps>;
}

export interface EngineOptions {
  /** Largest number of worker threads (default: available cores). */
  readonly maxWorkers?: number;
  /** dist/ folder holding worker.js and ce.wasm (default: this bundle's folder). */
  readonly distDir?: string;
  /** Logits larger than this stream from disk in blocks (default 1 GiB). */
  readonly inMemoryBytes?: number;
  /**
   * Fast path only: .npy input files whose logits exceed this stream in blocks even under inMemoryBytes
   * (the CLI, which computes once: a resident file buys it nothing, and fresh pages cost more than reads
   * into reused ones). Default: no such limit.
   */
  readonly streamFilesOverBytes?: number;
  /**
   * Working memory kept between requests (default 512 MiB; a larger one is released after its request, so
   * its files are read again next time). The benchmarks raise it to time resident inputs of any size.
   */
  readonly keepMemoryBytes?: number;
  /** Logits per streamed block (default 64 MiB). */
  readonly blockBytes?: number;
  /**
   * A streamed request still keeps its maps (loss, prediction, target, ignored: 13 bytes per element) while
   * they take at most this many bytes (default 0: none, as the CLI wants). The panel streams large files
   * through reused blocks (no fresh pages to fault in) and still draws every sample.
   */
  readonly keepStreamedMapsBytes?: number;
  /** Force the pure-TypeScript path (tests, benchmarks). */
  readonly disableWasm?: boolean;
  /** Heap limit per worker in MiB (tests use a small one to provoke out-of-memory). */
  readonly workerHeapMb?: number;
  /**
   * Test hook: awaited before each piece of a fast request's block is read (to hold reads back); the sigmoid
   * focal path calls it with piece 0 before each block.
   */
  readonly beforePieceRead?: (block: number, piece: number) => Promise<void> | undefined;
}
