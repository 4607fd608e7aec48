// Messages between the engine (host side) and its worker threads. The panel and notebook renderer
// messages join this module with their issues, so every side shares one typed vocabulary.
import type { StatsPartial } from './kernel/stats';
import type { LossOptions } from './kernel/types';
import type { DType } from './tensor/tensor';

/** A tensor living in shared memory: `data` is a view over a SharedArrayBuffer (or shared wasm memory). */
export interface SharedTensorRef {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of element 0 in `buffer`. */
  readonly byteOffset: number;
  /** The typed array kind stored there (after decoding). */
  readonly storage: 'f32' | 'f64' | 'i32' | 'i16' | 'i8' | 'u32' | 'u16' | 'u8';
}

/** Fast path: float32 logits and int32 targets in one shared wasm memory; one job = pixels [s0, s1) of sample n. */
export interface FastChunkJob {
  readonly kind: 'fast-chunk';
  readonly id: number;
  /** Byte offsets into the shared memory (see engine.ts for the layout). */
  readonly x: number;
  readonly t: number;
  readonly w: number;
  readonly C: number;
  readonly S: number;
  readonly s0: number;
  readonly s1: number;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly outLoss: number;
  readonly outPred: number;
  readonly acc: number;
  readonly confusion: number;
  readonly topK: number;
  /** Flat offset of this sample's first element in the whole loss map (for worst-element offsets). */
  readonly flatBase: number;
}

/** General path: the pure-TS kernel on samples [n0, n1) of shared tensors, maps written to shared outputs. */
export interface GeneralJob {
  readonly kind: 'general';
  readonly id: number;
  readonly input: SharedTensorRef;
  readonly target: SharedTensorRef;
  readonly weight: SharedTensorRef | null;
  readonly posWeight: SharedTensorRef | null;
  readonly options: LossOptions;
  readonly n0: number;
  readonly n1: number;
  readonly topK: number;
  /** Shared outputs for the whole loss map (the job writes its own range). */
  readonly outLoss: SharedTensorRef;
  readonly outPred: SharedTensorRef;
  readonly outTargetClass: SharedTensorRef;
  readonly outIgnored: SharedTensorRef;
}

export type WorkerRequest =
  | { readonly kind: 'init-wasm'; readonly module: WebAssembly.Module; readonly memory: WebAssembly.Memory; readonly generation: number }
  | (FastChunkJob & { readonly generation: number })
  | GeneralJob
  /** Full validation of a general request (shape, dtype and range checks) before it is split. */
  | { readonly kind: 'validate'; readonly id: number; readonly job: Omit<GeneralJob, 'kind' | 'id' | 'n0' | 'n1'> }
  /** Test hook: make the worker fail in a chosen way, to prove the pool recovers. */
  | { readonly kind: 'crash'; readonly id: number; readonly how: 'throw' | 'exit' | 'oom' };

export type WorkerResponse =
  | { readonly kind: 'ready'; readonly generation: number }
  /** Partial statistics of the job, merged by the engine in job order (deterministic for any worker count). */
  | { readonly kind: 'done'; readonly id: number; readonly stats: StatsPartial }
  /** A class-index target out of range: the engine raises the kernel's error for it. */
  | { readonly kind: 'bad-target'; readonly id: number; readonly flat: number; readonly value: number }
  | { readonly kind: 'error'; readonly id: number; readonly message: string; readonly lensKind: string | null };
