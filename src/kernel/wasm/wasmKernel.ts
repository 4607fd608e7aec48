// Loader for the WebAssembly SIMD cross-entropy kernel (src/wasm/ce.ts, built to dist/ce.wasm and
// dist/ce.unshared.wasm by scripts/build-wasm.mjs). Pure: no Node or VS Code imports, so a worker thread, the
// CLI and a webview can all use it. The caller compiles the module (from bytes it reads its own way) and
// owns the memory; the kernel works on byte offsets into that memory.

/** Offsets (in f64 elements) of the accumulators ceIndexF32 adds to; per-class arrays follow at 8. */
export const CE_ACC = {
  numerator: 0,
  denominator: 1,
  /** sum of -w[t] log p[t]; equals numerator when labelSmoothing is 0. */
  nllSum: 2,
  /** sum of -sum_c w[c] log p[c]; only accumulated when labelSmoothing > 0. */
  smoothSum: 3,
  ignored: 4,
  nan: 5,
  inf: 6,
  correct: 7,
  /** lossSum[C] at 8, count[C] at 8 + C, predicted[C] at 8 + 2C, ignoredPerClass[C] at 8 + 3C. */
  perClass: 8,
} as const;

/** Floats one (C, S) sample takes in the 16-pixel block layout of ceIndexF32Blocked. */
export function blockedLength(C: number, S: number): number {
  return Math.ceil(S / 16) * 16 * C;
}

/** Number of f64 accumulators for C classes. */
export function ceAccLength(C: number): number {
  return 8 + 4 * C;
}

export interface CeWasmKernel {
  /** Bytes at the start of the memory the engine must keep free (a multiple of 64 KiB, at least 64 KiB). */
  readonly reservedBytes: number;
  /**
   * Cross-entropy of pixels [s0, s1) of one sample; all pointers are byte offsets into the memory.
   * x: f32 logits (C, S); t: i32 targets (S); w: f32 weight (C) or 0; outLoss: f32 (S); outPred: i32 (S)
   * or 0; acc: f64 accumulators (ceAccLength(C), see CE_ACC), added to; confusion: f64 (C, C) indexed
   * [target * C + predicted], added to, or 0. Returns -1, or the first s in [s0, s1) whose target is
   * neither in [0, C) nor ignoreIndex (outputs are then unspecified).
   * Calls on disjoint [s0, s1) with disjoint outputs, acc and confusion may run concurrently; nothing
   * else may write acc or confusion during a call (the kernel reads confusion's row and column sums before
   * and after to derive the counts). labelSmoothing is a float64, as the reference uses it. Pixels are
   * processed in groups of 16 starting at multiples of 16: ranges starting there, with 64-byte aligned
   * rows, read whole cache lines. A pixel's loss bits and argmax do not depend on how ranges are split.
   */
  ceIndexF32(
    x: number, t: number, w: number, C: number, S: number, s0: number, s1: number, ignoreIndex: number,
    labelSmoothing: number, outLoss: number, outPred: number, acc: number, confusion: number,
  ): number;
  /**
   * ceIndexF32 on logits in 16-pixel blocks (see toBlocks): logit (c, s) at float
   * ((s >> 4) * C + c) * 16 + (s & 15) from x. Bitwise the same results; reads memory in order, which for
   * large S is much faster than C rows far apart.
   */
  ceIndexF32Blocked: CeWasmKernel['ceIndexF32'];
  /**
   * Copies class rows [c0, c1) of `samples` consecutive samples into the block layout at dst: src holds,
   * per sample, those rows of S float32 one after another; dst holds whole samples of blockedLength(C, S)
   * floats (lanes of a last partial block past S are left as they were).
   */
  toBlocks(src: number, dst: number, C: number, S: number, samples: number, c0: number, c1: number): void;
  /**
   * ceIndexF32 (or, with `blocked`, ceIndexF32Blocked) without class weights or a confusion matrix, that
   * also writes outTop: f32 (S), each pixel's -log max_c softmax(x)_c (0 where ignored). Bitwise what a
   * second call with each pixel's argmax as target (no weight, no label smoothing) writes as its loss,
   * without reading the logits a second time.
   */
  ceIndexF32Top(
    x: number, t: number, C: number, S: number, s0: number, s1: number, ignoreIndex: number, labelSmoothing: number,
    outLoss: number, outPred: number, outTop: number, acc: number, blocked: boolean,
  ): number;
  /**
   * Class rows [c0, c1) of one sample of S pixels, at src as rows of `dtype` values `row` bytes apart,
   * into the block layout at dst as float32 (16-bit types widened exactly, as widenToF32 does). row = S
   * times the element size: a few class rows staged alone; a longer row: pixels [s0, s0 + S) of a larger
   * image (src at its pixel s0), a tile. Lanes of a last partial block past S are left as they were.
   */
  rowsToBlocks(src: number, row: number, dst: number, C: number, S: number, c0: number, c1: number, dtype: CeRowDtype): void;
  /**
   * The first i in [i0, end) with t[i] != ignoreIndex and !(loss[i] < floor) (NaN losses qualify), or
   * end. loss: f32, t: i32, both byte offsets. floor is rounded to float32 (pass a float32 value).
   */
  nextCandidate(loss: number, t: number, i0: number, end: number, ignoreIndex: number, floor: number): number;
  /**
   * Cross-entropy of rows [r0, r1) of float32 logits x [rows, C], row-major: logit (i, c) at byte
   * x + 4 (i C + c) (classification [N, C]; class-last [B, T, V] as [B*T, V]). Same semantics, outputs
   * and accumulators as ceIndexF32 with one element per row: t: i32 (rows); w: f32 (C) or 0; outLoss: f32
   * (rows); outPred: i32 (rows) or 0; acc: f64 (ceAccLength(C)), added to; confusion: f64 (C, C) or 0,
   * added to (C * C * 8 bytes: pass 0 for large C). `rows` is not read (it keeps ceIndexF32's signature).
   * Returns -1, or the first row in [r0, r1) whose target is neither in [0, C) nor ignoreIndex; nothing
   * is written then. One pass over each row's memory, SIMD across classes; any C >= 0. A row's loss bits
   * and argmax do not depend on how [r0, r1) is split; calls on disjoint rows with their own acc and
   * confusion may run concurrently. Logits may sit at any byte offset (4-byte aligned is faster).
   * Ignored rows are read only for the argmax, and not at all when outPred is 0.
   */
  ceRowsF32(
    x: number, t: number, w: number, C: number, rows: number, r0: number, r1: number, ignoreIndex: number,
    labelSmoothing: number, outLoss: number, outPred: number, acc: number, confusion: number,
  ): number;
  /** ceRowsF32 on float16 logits (IEEE binary16 bit patterns; logit (i, c) at byte x + 2 (i C + c)), widened exactly while read. */
  ceRowsF16: CeWasmKernel['ceRowsF32'];
  /** ceRowsF32 on bfloat16 logits (the upper half of a float32; logit (i, c) at byte x + 2 (i C + c)). */
  ceRowsBF16: CeWasmKernel['ceRowsF32'];
  /**
   * Widens n float16 or bfloat16 values at byte src (2 bytes each) to float32 at byte dst (4-byte aligned),
   * exactly as the row kernels read them: float16 subnormals, infinities and NaN included (NaN payloads
   * kept). The ranges must not overlap.
   */
  widenToF32(src: number, dst: number, n: number, dtype: 'float16' | 'bfloat16'): void;
  /**
   * Softmax focal in place over n elements: loss (f32, -log p_t from a kernel with weights all ones)
   * becomes alpha[t] (1 - p_t)^gamma (-log p_t), float64 by the reference's expression, except where the
   * i32 target t is ignoreIndex. alpha: f64 per class, or 0 for ones. Adds each element's focal loss to
   * sums[t] (f64 per class, element order) and, to the 5 f64 at out: the focal sum, sum of alpha[t] (-log
   * p_t), sum of alpha[t], NaN and infinite focal losses. Any n >= 0; an element's bits depend on it alone.
   */
  focalInPlace(loss: number, t: number, n: number, ignoreIndex: number, alpha: number, gamma: number, sums: number, out: number): void;
}

/** Element types of the row kernels' logits. */
export type CeRowDtype = 'float32' | 'float16' | 'bfloat16';

/** Bytes per logit of a row kernel's input. */
export function rowElementBytes(dtype: CeRowDtype): number {
  return dtype === 'float32' ? 4 : 2;
}

/** The row kernel for a dtype. */
export function ceRowsFor(k: CeWasmKernel, dtype: CeRowDtype): CeWasmKernel['ceRowsF32'] {
  return dtype === 'float32' ? k.ceRowsF32 : dtype === 'float16' ? k.ceRowsF16 : k.ceRowsBF16;
}

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)): uses a late SIMD opcode, so engines
// with pre-standard SIMD reject it too.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** Whether this engine runs WebAssembly with fixed-width SIMD (otherwise use the pure-TS kernel). */
export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * Whether a shared WebAssembly.Memory can be created here (Node: yes; a browser page only when
 * cross-origin isolated). Without it, load ce.unshared.wasm with an ordinary memory.
 */
export function sharedMemorySupported(): boolean {
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

function ceImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  // The kernel's exact fallback uses the host's own exp/log, and softmax focal a non-integer gamma's pow:
  // the functions the pure-TS reference uses.
  return { env: { memory, exp: Math.exp, log: Math.log, pow: Math.pow } };
}

type CeFn = CeWasmKernel['ceIndexF32'];

function wrap(instance: WebAssembly.Instance): CeWasmKernel {
  const ex = instance.exports;
  const ce = ex.ceIndexF32;
  const rb = ex.reservedBytes;
  const { nextCandidate, ceIndexF32Blocked, toBlocks, ceIndexF32Top, rowsToBlocks, ceRowsF32, ceRowsF16, ceRowsBF16, widenToF32, focalInPlace } = ex;
  if (typeof ce !== 'function' || typeof rb !== 'function' || typeof nextCandidate !== 'function' || typeof ceIndexF32Blocked !== 'function' || typeof toBlocks !== 'function'
    || typeof ceIndexF32Top !== 'function' || typeof rowsToBlocks !== 'function'
    || typeof ceRowsF32 !== 'function' || typeof ceRowsF16 !== 'function' || typeof ceRowsBF16 !== 'function' || typeof widenToF32 !== 'function'
    || typeof focalInPlace !== 'function') {
    throw new Error('not the cross-entropy kernel module: an export (ceIndexF32, ceIndexF32Blocked, toBlocks, ceIndexF32Top, rowsToBlocks, nextCandidate, ceRowsF32, ceRowsF16, ceRowsBF16, widenToF32, focalInPlace, reservedBytes) is missing');
  }
  const widen = widenToF32 as (src: number, dst: number, n: number, dtype: number) => void;
  const top = ceIndexF32Top as (x: number, t: number, C: number, S: number, s0: number, s1: number, ii: number, eps: number, l: number, p: number, tp: number, acc: number, blocked: number) => number;
  const toRows = rowsToBlocks as (src: number, row: number, dst: number, C: number, S: number, c0: number, c1: number, dtype: number) => void;
  return {
    reservedBytes: (rb as () => number)(),
    ceIndexF32: ce as CeFn,
    ceIndexF32Blocked: ceIndexF32Blocked as CeFn,
    toBlocks: toBlocks as CeWasmKernel['toBlocks'],
    ceIndexF32Top: (x, t, C, S, s0, s1, ii, eps, l, p, tp, acc, blocked) => top(x, t, C, S, s0, s1, ii, eps, l, p, tp, acc, blocked ? 1 : 0),
    rowsToBlocks: (src, row, dst, C, S, c0, c1, dtype) => toRows(src, row, dst, C, S, c0, c1, dtype === 'float32' ? 0 : dtype === 'float16' ? 1 : 2),
    nextCandidate: nextCandidate as CeWasmKernel['nextCandidate'],
    ceRowsF32: ceRowsF32 as CeFn,
    ceRowsF16: ceRowsF16 as CeFn,
    ceRowsBF16: ceRowsBF16 as CeFn,
    // The module's dtype codes: 1 float16, 2 bfloat16.
    widenToF32: (src, dst, n, dtype) => widen(src, dst, n, dtype === 'float16' ? 1 : 2),
    focalInPlace: focalInPlace as CeWasmKernel['focalInPlace'],
  };
}

/**
 * Instantiates synchronously (worker threads, Node). Browsers refuse synchronous instantiation of larger
 * modules on their main thread: use instantiateCeKernelAsync there.
 */
export function instantiateCeKernel(module: WebAssembly.Module, memory: WebAssembly.Memory): CeWasmKernel {
  return wrap(new WebAssembly.Instance(module, ceImports(memory)));
}

/** Bytes warmUpCeKernel writes; the upper half of the reserved prefix holds them (the module keeps nothing there). */
export const WARM_UP_BYTES = 32768;

/**
 * Runs the kernel on a small synthetic problem (plain, label smoothing, weighted label smoothing) so that
 * V8 compiles its optimised tier before real data arrives: a fresh instance starts in the baseline
 * compiler, about 3-5x slower, and the first sample of a file would pay for that. About 3 ms. Overwrites
 * WARM_UP_BYTES at `at` (by default the top of the reserved prefix; workers warming up at once write the
 * same bytes there, which is harmless).
 */
export function warmUpCeKernel(k: CeWasmKernel, memory: WebAssembly.Memory, at = k.reservedBytes - WARM_UP_BYTES): void {
  const C = 21;
  const S = 256;
  const x = at;
  const t = x + C * S * 4;
  const w = t + S * 4;
  const loss = w + 96; // C floats, padded so the f64 arrays below stay 8-byte aligned
  const pred = loss + S * 4;
  const acc = pred + S * 4;
  const conf = acc + ceAccLength(C) * 8;
  if (conf + C * C * 8 > at + WARM_UP_BYTES) throw new Error('warm-up layout exceeds WARM_UP_BYTES');
  const buf = memory.buffer;
  const xs = new Float32Array(buf, x, C * S);
  for (let i = 0; i < xs.length; i++) xs[i] = ((i * 7919) % 1000) / 100 - 5;
  const ts = new Int32Array(buf, t, S);
  for (let s = 0; s < S; s++) ts[s] = s % 20 === 19 ? -100 : (s * 13) % C;
  new Float32Array(buf, w, C).fill(1);
  // Each variant is its own function to V8, tiered up on its own; ten calls each pass the threshold.
  for (const [wp, eps] of [[0, 0], [0, 0.1], [w, 0.1]]) {
    for (let r = 0; r < 10; r++) {
      new Float64Array(buf, acc, ceAccLength(C) + C * C).fill(0);
      k.ceIndexF32(x, t, wp, C, S, 0, S, -100, eps, loss, pred, acc, conf);
    }
  }
}

/**
 * warmUpCeKernel for the row kernels: each variant (plain, weighted, label smoothing, both) of each dtype
 * asked for, ten calls on 16 rows of 200 classes (about 1 ms per dtype), so that a long first call does
 * not run in the baseline tier. Overwrites WARM_UP_BYTES at `at` like warmUpCeKernel.
 */
export function warmUpCeRows(k: CeWasmKernel, memory: WebAssembly.Memory, dtypes: readonly CeRowDtype[] = ['float32'], at = k.reservedBytes - WARM_UP_BYTES): void {
  const C = 200;
  const R = 16;
  const x = at;
  const t = x + R * C * 4;
  const w = t + R * 4;
  const loss = w + C * 4;
  const pred = loss + R * 4;
  const acc = pred + R * 4;
  if (acc + ceAccLength(C) * 8 > at + WARM_UP_BYTES) throw new Error('row warm-up layout exceeds WARM_UP_BYTES');
  const buf = memory.buffer;
  const ts = new Int32Array(buf, t, R);
  for (let i = 0; i < R; i++) ts[i] = i % 8 === 7 ? -100 : (i * 37) % C;
  new Float32Array(buf, w, C).fill(1);
  for (const dtype of dtypes) {
    if (dtype === 'float32') {
      const xs = new Float32Array(buf, x, R * C);
      for (let i = 0; i < xs.length; i++) xs[i] = ((i * 7919) % 1000) / 100 - 5;
    } else {
      // 16-bit patterns of values in [-4, 4) for both float16 (0xc400..0x4400) and bfloat16.
      const hs = new Uint16Array(buf, x, R * C);
      for (let i = 0; i < hs.length; i++) hs[i] = dtype === 'float16' ? ((i * 7919) % 0x4400) | (i & 1 ? 0x8000 : 0) : 0x3f80 + ((i * 7919) % 0x100);
    }
    const fn = ceRowsFor(k, dtype);
    for (const [wp, eps] of [[0, 0], [w, 0], [0, 0.1], [w, 0.1]]) {
      for (let r = 0; r < 10; r++) {
        new Float64Array(buf, acc, ceAccLength(C)).fill(0);
        fn(x, t, wp, C, R, 0, R, -100, eps, loss, pred, acc, 0);
      }
    }
  }
}

export async function instantiateCeKernelAsync(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<CeWasmKernel> {
  return wrap(await WebAssembly.instantiate(module, ceImports(memory)));
}
