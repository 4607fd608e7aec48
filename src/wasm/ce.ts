// WebAssembly SIMD cross-entropy kernel (AssemblyScript) for float32 logits (C, S) and int32 class-index
// targets: per-element loss, argmax and the UI's statistics in one streaming pass over the logits. The row
// kernels (ceRowsF32 / ceRowsF16 / ceRowsBF16, "Rows" below) do the same for logits [rows, C] whose
// classes are contiguous.
//
// Memory: the module imports env.memory (shared between worker threads) and owns none of it: no data
// segments, no allocator use, no shadow stack. reservedBytes() is the prefix the engine keeps free anyway.
// Per-call state lives in locals and globals; each worker has its own instance, so globals are private.
//
// Numerics (test/unit/wasm checks them against the float64 reference):
// - One pass over C per 16 pixels (4 x f32x4: one 64-byte line of every class row, which matters when
//   rows are a power-of-two apart and alias in the caches). Per pixel a max m and argmax (first max), and
//   sum_c exp(x[c] - r) against a reference r = x[class 0]: one exp per logit, no rescaling, no branch.
//   Only if some logit exceeds r by more than JUMP (or r is -Inf) is the group redone with references
//   that move up when passed by more than JUMP, rescaling the sum then. Rescaling at every new max (the
//   usual online softmax) would compound the exp error over a rising row; here it happens at most once
//   per JUMP of range, and lanes that never jump get bitwise the same sums either way.
// - exp: 2^y = 2^n * p(y - n), p(0) = 1. Unweighted, p has degree 4 (relative error 2.9e-6 evaluated in
//   f32: a loss error below 3.5e-6, inside the 1e-5 the kernel promises, and ~10% faster than degree 5);
//   with class weights, whose factor scales the error, degree 5 (1.9e-7). The sum is accumulated in f32,
//   like PyTorch's float32 kernel.
// - log(sum) per pixel: exponent term in f64, mantissa term in f32 (atanh series).
// - Loss = (r - x[t]) + log(sum) and everything after it in f64, stored as f32.
// - Small losses (refine4): with r below the max m, a confident pixel's loss is two numbers of the size of
//   m - r minus each other, and the sum's error (the polynomial's 2.9e-6 on exp(m - r), the f32 roundings
//   of x - r and of its product with log2 e, ~1.2e-7 per unit of m - r, and the f32 sum's roundings next to
//   its 1) stays in the loss as an absolute error of up to ~1e-5: 44% of a loss of 8.5e-6. So a lane whose
//   loss is below REFINE_BASE + REFINE_SLOPE (m - r) = 2 + 0.075 (m - r), where that error could exceed
//   2e-6 of the loss, is redone after the pass, 4 lanes at a time, over the same C logits (in cache): the
//   sum e = sum_{c != argmax} exp(x[c] - m) (degree-5 exp, every argument <= 0, the max's exact 1 left out
//   so a small e keeps its relative accuracy in f32), then loss = (m - x[t]) + log1p(e), log1p in f64
//   (log1p2). Measured: every element within 2e-6 |loss| + 2e-7 of float64 on confident and adversarial
//   pixels (test/unit/wasm/ceKernel.test.ts). The choice depends only on the lane's own values.
// - Every lane runs the same operations whatever its group, so a pixel's results (loss bits, argmax) do
//   not depend on how a range is split between calls.
// - Rows with NaN or +Inf, or all -Inf, fail the fast path's check (sum NaN or r not finite; with label
//   smoothing also a non-finite shifted sum); they are marked in outLoss and redone at the end by an exact
//   float64 port of the reference loops (src/kernel/crossEntropy.ts) using the host's Math.exp/Math.log,
//   so NaN and Inf land exactly where PyTorch puts them. A -Inf logit elsewhere stays on the fast path
//   (exp gives ~2^-125, nothing next to the sum's 1).
//
// Rows (logits [rows, C], row i's classes contiguous: classification [N, C], class-last [B, T, V] seen as
// [B*T, V]; float32, or float16 / bfloat16 widened exactly while loaded). SIMD across the classes of one
// row, one pass over the row's memory, O(C) per row whatever C (1 to 262144 tested):
// - The row is read in blocks of RB = 256 logits, 16 per step (4 x f32x4). One reference r per row (all
//   lanes), first the max of the row's first 64 logits. Per block: the lanes' sums of exp(x - r) in f32
//   (the exp2c polynomial: degree 4, with class weights degree 5), the block's max (pmax) and, with label
//   smoothing, sum_c w[c] (x[c] - shift) (shift = the first r; two f32 additions per term, then f64).
// - At the end of a block: if its max exceeds r by more than RJUMP = 8, the block is redone against
//   r' = that max (from L1: the block was just read) and the sums so far are scaled by exp(r - r') in f64.
//   So every kept exp argument is at most 8 (the f32 rounding of x - r and of its product with log2 e
//   stays near 1e-6 relative there), and a rescale, by at most e^-8, happens once per block at most and
//   in f64: nothing compounds over a long rising row.
//   The block's f32 sums are then added to f64 totals: an f32 sum spans 16 terms per lane, whatever C.
// - log of the f64 total by logPos (float64, no tables); loss = w[t] ((r - x[t]) + log sum) in f64,
//   stored as f32. As in the pixel kernel, a loss below 2 + 0.075 (max - r) (r up to 8 below the max: the
//   sum's error, up to ~4e-6 absolute, could exceed 2e-6 of it) is redone against the max by a second pass
//   over the row (refineRow; from L2 for large rows): e = sum_{c != argmax} exp(x[c] - max), degree 5,
//   loss = w[t] ((max - x[t]) + log(1 + e)) in f64 (every row within 2e-6 |loss| + 2e-7 of float64 on
//   confident and adversarial rows, test/unit/wasm/ceRows.test.ts). Measured worst |loss - float64 reference| / max(1, |reference|) on adversarial rows
//   (rising by 1e-5 to 100 per logit, staircases of 7.99 and 8.01 per block, one dominant logit among
//   262143, offsets of 1e4, the polynomial's worst arguments), C up to 262144: 1.3e-6 unweighted; random
//   rows ~1e-7 weighted (test/unit/wasm/ceRows.test.ts asserts 4e-6).
// - Argmax: the first block whose max beats all earlier blocks holds the first max; it is found by
//   scanning that block for the first logit equal to the max (ties keep the earlier class; -0 == +0).
// - A row whose max is not finite (NaN is ignored by pmax but makes the sum NaN; +Inf; all -Inf), whose sum
//   is NaN, or with label smoothing a non-finite shifted sum (a -Inf logit), is redone at once by the
//   reference's float64 loops (slowRow: host Math.exp / Math.log, the reference's order), so it gets the
//   reference's bits, as the (C, S) kernel's marked pixels do.
// - Ignored rows: loss 0 and counted; their logits are read only for the argmax (pmax and a plain sum,
//   whose NaN sends the row to the exact loops), and not at all when outPred is 0.
// - A row's results depend on nothing but the row: any split of [r0, r1) gives the same bits.

@external('env', 'exp') declare function jsExp(x: f64): f64;
@external('env', 'log') declare function jsLog(x: f64): f64;

const RESERVED: i32 = 65536;
// A logit this far above its lane's reference moves the reference: the sum stays below C * e^JUMP (far
// from f32 overflow) and 2^(JUMP log2 e) is within exp2c's range.
const JUMP: f32 = 64;
const LN2: f64 = 0.6931471805599453;
// A loss below REFINE_BASE + REFINE_SLOPE * (max - reference) is recomputed against the max (refine4,
// refineRow): the one-pass error (exp polynomial ~2.9e-6 of the sum, f32 sum roundings, and the f32
// roundings of x - r and of its product with log2 e, ~1.2e-7 per unit of max - r) could exceed 2e-6 of it.
const REFINE_BASE: f32 = 2;
const REFINE_SLOPE: f32 = 0.075;
// A signalling-NaN pattern: arithmetic never produces it, so it can mark pixels awaiting the exact path.
const MARK: i32 = 0x7fbadbad;

/** Bytes at the start of memory the engine must leave unused (this module keeps nothing there today). */
export function reservedBytes(): i32 {
  const hb = <i32>__heap_base;
  return hb > RESERVED ? (hb + 65535) & ~65535 : RESERVED;
}

/**
 * The first i in [i0, end) whose target is not ignoreIndex and whose loss is not below floor (a NaN loss
 * always qualifies), or end. The worst-elements list asks this repeatedly with a rising floor, so only the
 * few candidates that can enter it reach JavaScript.
 */
export function nextCandidate(loss: usize, t: usize, i0: i32, end: i32, ignoreIndex: i32, floor: f32): i32 {
  const fv = f32x4.splat(floor);
  const iv = i32x4.splat(ignoreIndex);
  let i = i0;
  // Four vectors per step: one test for 16 elements.
  while (end - i >= 16) {
    const lp = loss + (<usize>i << 2);
    const tp = t + (<usize>i << 2);
    const c0 = v128.andnot(v128.not(f32x4.lt(v128.load(lp), fv)), i32x4.eq(v128.load(tp), iv));
    const c1 = v128.andnot(v128.not(f32x4.lt(v128.load(lp, 16), fv)), i32x4.eq(v128.load(tp, 16), iv));
    const c2 = v128.andnot(v128.not(f32x4.lt(v128.load(lp, 32), fv)), i32x4.eq(v128.load(tp, 32), iv));
    const c3 = v128.andnot(v128.not(f32x4.lt(v128.load(lp, 48), fv)), i32x4.eq(v128.load(tp, 48), iv));
    if (v128.any_true(v128.or(v128.or(c0, c1), v128.or(c2, c3)))) break;
    i += 16;
  }
  for (; i < end; i++) {
    const l = load<f32>(loss + (<usize>i << 2));
    if (load<i32>(t + (<usize>i << 2)) != ignoreIndex && !(l < floor)) return i;
  }
  return end;
}

// Results of slowPixel.
let gMax: f64 = 0;
let gLogSum: f64 = 0;
let gArg: i32 = 0;
let gSmooth: f64 = 0;

/**
 * Cross-entropy of one pixel range [s0, s1) of one sample. x: f32 (C, S); t: i32 (S); w: f32 (C) or 0;
 * outLoss: f32 (S); outPred: i32 (S) or 0; acc: f64 [numerator, denominator, nllSum, smoothSum, ignored,
 * nan, inf, correct, lossSum[C], count[C], predicted[C], ignoredPerClass[C]], added to; confusion: f64
 * (C, C) [target * C + predicted] or 0, added to. smoothSum is only accumulated when labelSmoothing > 0.
 * Returns -1, or the first pixel whose target is neither in [0, C) nor ignoreIndex.
 */
export function ceIndexF32(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, labelSmoothing: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  gBlocked = false;
  return ceIndex(x, t, w, C, S, s0, s1, ignoreIndex, labelSmoothing, outLoss, outPred, acc, confusion);
}

/**
 * ceIndexF32 on logits in 16-pixel blocks (toBlocks' layout): logit (c, s) at element
 * ((s >> 4) * C + c) * 16 + (s & 15). Each block's C lines are contiguous, so the pass over them reads
 * memory in order instead of in C streams a row apart (which, for large rows, the caches and prefetchers
 * serve far worse: ~1.6 against ~2.5 ns per logit here). Same results, bit for bit.
 */
export function ceIndexF32Blocked(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, labelSmoothing: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  gBlocked = true;
  return ceIndex(x, t, w, C, S, s0, s1, ignoreIndex, labelSmoothing, outLoss, outPred, acc, confusion);
}

/**
 * ceIndexF32 without class weights that also writes outTop: f32 (S), each pixel's -log max_c softmax(x)_c,
 * the loss its argmax would have as target. Folder evaluation needs it for calibration; a second call with
 * the argmax as target (no weight, no smoothing) would read every logit again, and its results are
 * exactly these bits: the same reference, sum, refinement and exact fallback, taken from this pass (the
 * argmax's logit is the max, bit for bit). Ignored pixels get 0. `blocked` selects ceIndexF32Blocked's layout.
 */
export function ceIndexF32Top(
  x: usize, t: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, labelSmoothing: f64,
  outLoss: usize, outPred: usize, outTop: usize, acc: usize, blocked: bool,
): i32 {
  gBlocked = blocked;
  gOutTop = outTop;
  const r = ceIndex(x, t, 0, C, S, s0, s1, ignoreIndex, labelSmoothing, outLoss, outPred, acc, 0);
  gOutTop = 0;
  return r;
}

/**
 * Class rows [c0, c1) of one sample of S pixels, stored at src as float32 (dtype 0), float16 (1) or bfloat16
 * (2) rows `row` bytes apart, into the 16-pixel block layout at dst as float32 (toBlocks' layout; 2-byte
 * types widened exactly, as widenToF32 does). With row = S * element size the rows are a few class rows
 * of a file staged alone; with a longer row, pixels [s0, s0 + S) of a whole image (src at pixel s0), a
 * tile the kernel then reads while it is still in the caches. Lanes of a last, partial block past S are
 * left as they were.
 */
export function rowsToBlocks(src: usize, row: usize, dst: usize, C: i32, S: i32, c0: i32, c1: i32, dtype: i32): void {
  if (dtype == DT_F16) blockRows(src, row, dst, C, S, c0, c1, DT_F16);
  else if (dtype == DT_BF16) blockRows(src, row, dst, C, S, c0, c1, DT_BF16);
  else blockRows(src, row, dst, C, S, c0, c1, DT_F32);
}

@inline function blockRows(src: usize, row: usize, dst: usize, C: i32, S: i32, c0: i32, c1: i32, DT: i32): void {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const full = S >> 4;
  // Block by block, the rows' lines of a block side by side: the writes are (c1 - c0) * 64 contiguous
  // bytes, the reads c1 - c0 streams through a staging area that fits in the caches.
  for (let g = 0; g < full; g++) {
    let p = src + (<usize>g << 4) * ES;
    let q = dst + ((<usize>g * <usize>C + <usize>c0) << 6);
    for (let c = c0; c < c1; c++) {
      v128.store(q, loadK(p, 0, DT));
      v128.store(q, loadK(p, 1, DT), 16);
      v128.store(q, loadK(p, 2, DT), 32);
      v128.store(q, loadK(p, 3, DT), 48);
      p += row;
      q += 64;
    }
  }
  for (let c = c0; c < c1; c++) {
    for (let s = full << 4; s < S; s++) {
      store<f32>(dst + ((<usize>full * <usize>C + <usize>c) << 6) + (<usize>(s & 15) << 2), elemAt(src + <usize>(c - c0) * row, s, DT));
    }
  }
}

/**
 * Copies class rows [c0, c1) of `samples` consecutive samples into the block layout at dst: src holds, per
 * sample, those rows of S floats one after another; dst holds whole samples of ceil(S / 16) * C * 16
 * floats. Lanes of a last, partial block past S are left as they were.
 */
export function toBlocks(src: usize, dst: usize, C: i32, S: i32, samples: i32, c0: i32, c1: i32): void {
  const G = (S + 15) >> 4;
  const full = S >> 4;
  const row: usize = <usize>S << 2;
  const sampleIn: usize = <usize>(c1 - c0) * row;
  const sampleOut: usize = <usize>G * <usize>C << 6;
  const step: usize = <usize>C << 6;
  // Tiles of blocks: each class row is read in order for the tile's length while the writes stay within
  // about 256 KiB of the output (tile * C * 64 bytes).
  const tile = max(1, 4096 / C);
  for (let n = 0; n < samples; n++) {
    const si = src + <usize>n * sampleIn;
    const so = dst + <usize>n * sampleOut;
    for (let g0 = 0; g0 < full; g0 += tile) {
      const g1 = min(full, g0 + tile);
      for (let c = c0; c < c1; c++) {
        let p = si + <usize>(c - c0) * row + (<usize>g0 << 6);
        let q = so + ((<usize>g0 * <usize>C + <usize>c) << 6);
        for (let g = g0; g < g1; g++) {
          v128.store(q, v128.load(p));
          v128.store(q, v128.load(p, 16), 16);
          v128.store(q, v128.load(p, 32), 32);
          v128.store(q, v128.load(p, 48), 48);
          p += 64;
          q += step;
        }
      }
    }
    for (let c = c0; c < c1; c++) {
      for (let s = full << 4; s < S; s++) {
        store<f32>(so + ((<usize>full * <usize>C + <usize>c) << 6) + (<usize>(s & 15) << 2), load<f32>(si + <usize>(c - c0) * row + (<usize>s << 2)));
      }
    }
  }
}

// Layout of the current call's logits: rows of S floats, or 16-pixel blocks (ceIndexF32Blocked).
let gBlocked: bool = false;
// Where ceIndexF32Top writes each pixel's top-class loss; 0 in every other call.
let gOutTop: usize = 0;

/** Element offset of logit (c, s) in the current layout. */
@inline function elem(c: usize, s: i32, C: i32, S: i32): usize {
  return gBlocked ? (((<usize>(s >> 4) * <usize>C + c) << 4) + <usize>(s & 15)) : c * <usize>S + <usize>s;
}

function ceIndex(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, labelSmoothing: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  if (s1 <= s0) return -1;
  if (C < 1) return noClasses(t, s0, s1, ignoreIndex, outLoss, outPred, acc);
  return labelSmoothing > 0
    ? runSmooth(x, t, w, C, S, s0, s1, ignoreIndex, labelSmoothing, outLoss, outPred, acc, confusion)
    : runPlain(x, t, w, C, S, s0, s1, ignoreIndex, outLoss, outPred, acc, confusion);
}

function runPlain(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  return w
    ? body(x, t, w, C, S, s0, s1, ignoreIndex, 0, outLoss, outPred, acc, confusion, false, false, true)
    : body(x, t, w, C, S, s0, s1, ignoreIndex, 0, outLoss, outPred, acc, confusion, false, false, false);
}

function runSmooth(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, eps: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  return w
    ? body(x, t, w, C, S, s0, s1, ignoreIndex, eps, outLoss, outPred, acc, confusion, true, true, true)
    : body(x, t, w, C, S, s0, s1, ignoreIndex, eps, outLoss, outPred, acc, confusion, true, false, false);
}

/** C == 0: nothing to read; every element must be ignored. */
function noClasses(t: usize, s0: i32, s1: i32, ignoreIndex: i32, outLoss: usize, outPred: usize, acc: usize): i32 {
  for (let s = s0; s < s1; s++) {
    if (load<i32>(t + (<usize>s << 2)) != ignoreIndex) return s;
  }
  for (let s = s0; s < s1; s++) {
    store<f32>(outLoss + (<usize>s << 2), 0);
    if (outPred) store<i32>(outPred + (<usize>s << 2), 0);
  }
  addF64(acc + 32, <f64>(s1 - s0));
  return -1;
}

@inline function addF64(p: usize, v: f64): void {
  store<f64>(p, load<f64>(p) + v);
}

@inline function sumI32x4(v: v128): f64 {
  return <f64>(i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3));
}

/** Lanes [0, n) (n in 1..4) of the 4 values at p, zero elsewhere, reading nothing past them. */
@inline function loadPartial(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = v128.load32_zero(p);
  if (n > 1) v = v128.load32_lane(p, v, 1, 4);
  if (n > 2) v = v128.load32_lane(p, v, 2, 8);
  return v;
}

/** Lanes [0, n) of v to the 4 slots at p. */
@inline function storePartial(p: usize, v: v128, n: i32): void {
  v128.store32_lane(p, v, 0);
  if (n > 1) v128.store32_lane(p, v, 1, 4);
  if (n > 2) v128.store32_lane(p, v, 2, 8);
  if (n > 3) v128.store32_lane(p, v, 3, 12);
}

/**
 * 2^y for 4 lanes, y <= 127 (smaller y clamped to -125, where 2^y is negligible next to the sum's 1):
 * 2^n * p(y - n), n = round(y). A NaN y gives NaN (2^n is multiplied in, not added to the bits).
 */
@inline function exp2c(y0: v128, DEG5: bool): v128 {
  const one = f32x4.splat(1.0);
  const y = f32x4.pmax(y0, f32x4.splat(-125.0));
  // Adding 1.5 * 2^23 rounds y to an integer n (ties to even) and leaves n in the low mantissa bits.
  const r = f32x4.add(y, f32x4.splat(12582912.0));
  const f = f32x4.sub(y, f32x4.sub(r, f32x4.splat(12582912.0)));
  let q: v128;
  if (DEG5) {
    q = f32x4.add(f32x4.mul(f32x4.splat(0.0013264715671539307), f), f32x4.splat(0.009671512991189957));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.05550733953714371));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.24022242426872253));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.6931470036506653));
  } else {
    q = f32x4.add(f32x4.mul(f32x4.splat(0.009582878090441227), f), f32x4.splat(0.05590643733739853));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.24024097621440887));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.6931241750717163));
  }
  q = f32x4.add(f32x4.mul(q, f), one);
  return f32x4.mul(q, i32x4.add(i32x4.shl(r, 23), one));
}

/**
 * The sum after one class when some lane jumped: d = v - ref, b = d > JUMP. Lanes in b move their
 * reference to v: sum * exp(-d) + 1; the others add exp(d). pmax with 1 selects between sum and 1 without
 * a blend (sum >= 1 always) and keeps a NaN sum NaN.
 */
@inline function rescale(sum: v128, d: v128, b: v128, DEG5: bool): v128 {
  const one = f32x4.splat(1.0);
  const e = exp2c(f32x4.mul(v128.xor(d, v128.and(b, f32x4.splat(-0.0))), f32x4.splat(1.4426950408889634)), DEG5);
  const a = f32x4.pmax(v128.and(b, sum), one);
  const c = f32x4.pmax(v128.andnot(sum, b), one);
  return f32x4.add(f32x4.mul(a, e), c);
}

/** log of the mantissa of v (v >= 1) scaled into [sqrt(1/2), sqrt(2)); the exponent comes from logExp. */
@inline function logMant(v: v128): v128 {
  const ix = i32x4.sub(v, i32x4.splat(0x3f3504f3));
  const mb = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const f = f32x4.sub(mb, f32x4.splat(1.0));
  const z = f32x4.div(f, f32x4.add(f, f32x4.splat(2.0)));
  const z2 = f32x4.mul(z, z);
  // 2 atanh(z) to z^7: error 9e-8 on [sqrt(1/2), sqrt(2)), at f32 resolution.
  let q = f32x4.add(f32x4.mul(z2, f32x4.splat(0.2857142857142857)), f32x4.splat(0.4));
  q = f32x4.add(f32x4.mul(q, z2), f32x4.splat(0.6666666666666666));
  q = f32x4.add(f32x4.mul(q, z2), f32x4.splat(2.0));
  return f32x4.mul(z, q);
}

/** Fast-path results hold where the reference and the sum are finite: no NaN, no +Inf, not all -Inf. */
@inline function finite(r: v128, z: v128): v128 {
  return v128.and(
    v128.and(f32x4.gt(r, f32x4.splat(-Infinity)), f32x4.lt(r, f32x4.splat(Infinity))),
    f32x4.eq(z, z),
  );
}

/**
 * Adds w[c] (x[c] - x0) of two lanes (u: x[c] - x0 in lanes 0-1) to their f64 sums. The shift by x0 keeps
 * W (r + log sum) - sum w x from cancelling; f64 keeps C roundings small next to one f32 ulp.
 */
@inline function smoothTerm(a: v128, u: v128, wc: v128, WEIGHTED: bool): v128 {
  const u64 = f64x2.promote_low_f32x4(u);
  return f64x2.add(a, WEIGHTED ? f64x2.mul(u64, wc) : u64);
}

/**
 * sum_{c != am} exp(x[c] - m) for the n (1-4) lanes at p (class stride row): m the lanes' max, am their
 * first argmax. Every argument is <= 0 and the max's own 1 is left out, so a small sum keeps its relative
 * accuracy (degree-5 exp, f32 sum); log1p2 turns it into log sum_c exp(x[c] - m).
 */
function refine4(p: usize, row: usize, C: i32, n: i32, m: v128, am: v128): v128 {
  const log2e = f32x4.splat(1.4426950408889634);
  const two = i32x4.splat(2);
  // Two classes per step, two sums (even and odd classes) added at the end: the order depends on C only.
  let e0 = f32x4.splat(0), e1 = e0;
  let cv0 = i32x4.splat(0), cv1 = i32x4.splat(1);
  let c = 0;
  if (n >= 4) {
    for (; c + 2 <= C; c += 2) {
      const t0 = exp2c(f32x4.mul(f32x4.sub(v128.load(p), m), log2e), true);
      const t1 = exp2c(f32x4.mul(f32x4.sub(v128.load(p + row), m), log2e), true);
      e0 = f32x4.add(e0, v128.andnot(t0, i32x4.eq(cv0, am)));
      e1 = f32x4.add(e1, v128.andnot(t1, i32x4.eq(cv1, am)));
      cv0 = i32x4.add(cv0, two);
      cv1 = i32x4.add(cv1, two);
      p += row << 1;
    }
  } else {
    for (; c + 2 <= C; c += 2) {
      const t0 = exp2c(f32x4.mul(f32x4.sub(loadPartial(p, n), m), log2e), true);
      const t1 = exp2c(f32x4.mul(f32x4.sub(loadPartial(p + row, n), m), log2e), true);
      e0 = f32x4.add(e0, v128.andnot(t0, i32x4.eq(cv0, am)));
      e1 = f32x4.add(e1, v128.andnot(t1, i32x4.eq(cv1, am)));
      cv0 = i32x4.add(cv0, two);
      cv1 = i32x4.add(cv1, two);
      p += row << 1;
    }
  }
  if (c < C) {
    const t0 = exp2c(f32x4.mul(f32x4.sub(n >= 4 ? v128.load(p) : loadPartial(p, n), m), log2e), true);
    e0 = f32x4.add(e0, v128.andnot(t0, i32x4.eq(cv0, am)));
  }
  return f32x4.add(e0, e1);
}

/** log(1 + e) for 2 lanes, e >= 0 finite (f64): logPos on f64x2. 1 + e is exact for e's bits down to 2^-52. */
@inline function log1p2(e: v128): v128 {
  const u = f64x2.add(e, f64x2.splat(1.0));
  const k = i64x2.shr_s(i64x2.sub(u, i64x2.splat(0x3fe6a09e667f3bcd)), 52);
  const m = i64x2.sub(u, i64x2.shl(k, 52));
  const s = f64x2.div(f64x2.sub(m, f64x2.splat(1.0)), f64x2.add(m, f64x2.splat(1.0)));
  const s2 = f64x2.mul(s, s);
  let q = f64x2.splat(1.0 / 19);
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 17));
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 15));
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 13));
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 11));
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 9));
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 7));
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 5));
  q = f64x2.add(f64x2.mul(q, s2), f64x2.splat(1.0 / 3));
  const kf = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
  const t = f64x2.mul(f64x2.mul(f64x2.splat(2.0), s), f64x2.add(f64x2.splat(1.0), f64x2.mul(q, s2)));
  return f64x2.add(f64x2.mul(kf, f64x2.splat(6.93147180369123816490e-01)),
    f64x2.add(f64x2.mul(kf, f64x2.splat(1.90821492927058770002e-10)), t));
}

@inline function logExp(v: v128): v128 {
  return i32x4.shr_s(i32x4.sub(v, i32x4.splat(0x3f3504f3)), 23);
}

@inline function body(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, eps: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize, SMOOTH: bool, WEIGHTED: bool, DEG5: bool,
): i32 {
  const blocked = gBlocked;
  // Bytes from one class to the next at the same pixel.
  const row: usize = blocked ? 64 : <usize>S << 2;
  const C8: usize = <usize>C << 3;
  const lossSumP: usize = acc + 64;
  const countP: usize = lossSumP + C8;
  const predP: usize = countP + C8;
  const ignP: usize = predP + C8;
  let W: f64 = 0;
  if (SMOOTH) {
    if (w) {
      for (let c = 0; c < C; c++) W += <f64>load<f32>(w + (<usize>c << 2));
    } else {
      W = <f64>C;
    }
  }
  // With a confusion matrix, and the range long enough to repay 4 C^2 reads, counts per target, per
  // prediction and correct come from the change of its row sums, column sums and trace.
  const fromConf = confusion != 0 && 4 * <f64>C * <f64>C <= <f64>(s1 - s0);
  if (fromConf) confMarginals(acc, confusion, C, -1);
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1.0);
  const oneI = i32x4.splat(1);
  const jump = f32x4.splat(JUMP);
  const log2e = f32x4.splat(1.4426950408889634);
  const lanes = i32x4(0, 1, 2, 3);
  const ignoreV = i32x4.splat(ignoreIndex);
  const cV = i32x4.splat(C);
  const sV = i32x4.splat(blocked ? 16 : S);

  // Sums (f64x2) and counts (i32x4 per lane) of the fast path; the exact path adds to acc itself.
  let aNum = zero, aDen = zero, aNll = zero, aSm = zero;
  let aIgn = zero, aCorrect = zero;
  let nBad = 0, nNan = 0, nInf = 0;
  // Pixels marked for the exact path lie in [slowFirst, slowLast].
  let slowFirst = s1, slowLast = -1;

  let s = s0;
  while (s < s1) {
    let p: usize = x + (elem(0, s, C, S) << 2);
    // Class 0 seeds the reference r, the max m (argmax 0) and the sum (exp(x0 - r) = 1).
    let r0 = zero, r1 = zero, r2 = zero, r3 = zero;
    let z0 = one, z1 = one, z2 = one, z3 = one;
    let i0 = zero, i1 = zero, i2 = zero, i3 = zero;
    let l0 = zero, l1 = zero, l2 = zero, l3 = zero;
    let h0 = zero, h1 = zero, h2 = zero, h3 = zero;
    let x00 = zero, x01 = zero, x02 = zero, x03 = zero;
    // Per-lane max (for the refinement of small losses).
    let mx0 = zero, mx1 = zero, mx2 = zero, mx3 = zero;
    let cv = oneI;
    let nVec = 1;
    let n = 4;
    // Whole groups of 16 pixels at multiples of 16 (whole 64-byte lines when rows are aligned); the rest
    // goes 1 to 4 lanes at a time through the same per-lane arithmetic.
    if ((s & 15) == 0 && s1 - s >= 16) {
      nVec = 4;
      const p0 = p;
      x00 = v128.load(p);
      x01 = v128.load(p, 16);
      x02 = v128.load(p, 32);
      x03 = v128.load(p, 48);
      let m0 = x00, m1 = x01, m2 = x02, m3 = x03;
      p += row;
      // Optimistic pass: the reference stays at class 0's logits (r = x0), no branch in the loop.
      for (let c = 1; c < C; c++) {
        const v0 = v128.load(p);
        const v1 = v128.load(p, 16);
        const v2 = v128.load(p, 32);
        const v3 = v128.load(p, 48);
        // Argmax: the first class above the running max wins (ties keep the earlier class).
        i0 = i32x4.max_s(i0, v128.and(f32x4.gt(v0, m0), cv));
        i1 = i32x4.max_s(i1, v128.and(f32x4.gt(v1, m1), cv));
        i2 = i32x4.max_s(i2, v128.and(f32x4.gt(v2, m2), cv));
        i3 = i32x4.max_s(i3, v128.and(f32x4.gt(v3, m3), cv));
        m0 = f32x4.pmax(m0, v0);
        m1 = f32x4.pmax(m1, v1);
        m2 = f32x4.pmax(m2, v2);
        m3 = f32x4.pmax(m3, v3);
        z0 = f32x4.add(z0, exp2c(f32x4.mul(f32x4.sub(v0, x00), log2e), DEG5));
        z1 = f32x4.add(z1, exp2c(f32x4.mul(f32x4.sub(v1, x01), log2e), DEG5));
        z2 = f32x4.add(z2, exp2c(f32x4.mul(f32x4.sub(v2, x02), log2e), DEG5));
        z3 = f32x4.add(z3, exp2c(f32x4.mul(f32x4.sub(v3, x03), log2e), DEG5));
        if (SMOOTH) {
          // Label smoothing: sum_c w[c] (x[c] - x0) per lane in f64 (lanes 0-1 in l, 2-3 in h).
          const wc = WEIGHTED ? f64x2.splat(<f64>load<f32>(w + (<usize>c << 2))) : zero;
          const u0 = f32x4.sub(v0, x00);
          const u1 = f32x4.sub(v1, x01);
          const u2 = f32x4.sub(v2, x02);
          const u3 = f32x4.sub(v3, x03);
          l0 = smoothTerm(l0, u0, wc, WEIGHTED);
          h0 = smoothTerm(h0, f32x4.shuffle(u0, u0, 2, 3, 2, 3), wc, WEIGHTED);
          l1 = smoothTerm(l1, u1, wc, WEIGHTED);
          h1 = smoothTerm(h1, f32x4.shuffle(u1, u1, 2, 3, 2, 3), wc, WEIGHTED);
          l2 = smoothTerm(l2, u2, wc, WEIGHTED);
          h2 = smoothTerm(h2, f32x4.shuffle(u2, u2, 2, 3, 2, 3), wc, WEIGHTED);
          l3 = smoothTerm(l3, u3, wc, WEIGHTED);
          h3 = smoothTerm(h3, f32x4.shuffle(u3, u3, 2, 3, 2, 3), wc, WEIGHTED);
        }
        cv = i32x4.add(cv, oneI);
        p += row;
      }
      r0 = x00; r1 = x01; r2 = x02; r3 = x03;
      mx0 = m0; mx1 = m1; mx2 = m2; mx3 = m3;
      // Some logit more than JUMP above class 0's (or class 0 at -Inf): redo the sums with references
      // that move. Lanes that never jump get bitwise the same sums as in the optimistic pass.
      const far = v128.or(
        v128.or(f32x4.gt(f32x4.sub(m0, x00), jump), f32x4.gt(f32x4.sub(m1, x01), jump)),
        v128.or(f32x4.gt(f32x4.sub(m2, x02), jump), f32x4.gt(f32x4.sub(m3, x03), jump)),
      );
      if (v128.any_true(far)) {
        z0 = one; z1 = one; z2 = one; z3 = one;
        p = p0 + row;
        for (let c = 1; c < C; c++) {
          const v0 = v128.load(p);
          const v1 = v128.load(p, 16);
          const v2 = v128.load(p, 32);
          const v3 = v128.load(p, 48);
          const d0 = f32x4.sub(v0, r0);
          const d1 = f32x4.sub(v1, r1);
          const d2 = f32x4.sub(v2, r2);
          const d3 = f32x4.sub(v3, r3);
          const b0 = f32x4.gt(d0, jump);
          const b1 = f32x4.gt(d1, jump);
          const b2 = f32x4.gt(d2, jump);
          const b3 = f32x4.gt(d3, jump);
          z0 = rescale(z0, d0, b0, DEG5);
          z1 = rescale(z1, d1, b1, DEG5);
          z2 = rescale(z2, d2, b2, DEG5);
          z3 = rescale(z3, d3, b3, DEG5);
          r0 = v128.bitselect(v0, r0, b0);
          r1 = v128.bitselect(v1, r1, b1);
          r2 = v128.bitselect(v2, r2, b2);
          r3 = v128.bitselect(v3, r3, b3);
          p += row;
        }
      }
    } else {
      n = min(s1 - s, 4 - (s & 3));
      x00 = loadPartial(p, n);
      r0 = x00;
      let m0 = x00;
      p += row;
      for (let c = 1; c < C; c++) {
        const v0 = loadPartial(p, n);
        i0 = i32x4.max_s(i0, v128.and(f32x4.gt(v0, m0), cv));
        m0 = f32x4.pmax(m0, v0);
        const d0 = f32x4.sub(v0, r0);
        const b0 = f32x4.gt(d0, jump);
        if (v128.any_true(b0)) {
          z0 = rescale(z0, d0, b0, DEG5);
          r0 = v128.bitselect(v0, r0, b0);
        } else {
          z0 = f32x4.add(z0, exp2c(f32x4.mul(d0, log2e), DEG5));
        }
        if (SMOOTH) {
          const wc = WEIGHTED ? f64x2.splat(<f64>load<f32>(w + (<usize>c << 2))) : zero;
          const u0 = f32x4.sub(v0, x00);
          l0 = smoothTerm(l0, u0, wc, WEIGHTED);
          h0 = smoothTerm(h0, f32x4.shuffle(u0, u0, 2, 3, 2, 3), wc, WEIGHTED);
        }
        cv = i32x4.add(cv, oneI);
        p += row;
      }
      mx0 = m0;
    }

    // log(sum) = k ln2 + log(mantissa) and the fast-path check, for all vectors at once (straight-line
    // code shares the constants).
    let lm0 = logMant(z0), lm1 = logMant(z1), lm2 = logMant(z2), lm3 = logMant(z3);
    let ke0 = logExp(z0), ke1 = logExp(z1), ke2 = logExp(z2), ke3 = logExp(z3);
    let ok0 = finite(r0, z0), ok1 = finite(r1, z1), ok2 = finite(r2, z2), ok3 = finite(r3, z3);

    // Per vector of 4 pixels (vector 0 each time; the others move down): loss, argmax out, statistics.
    for (let j = 0; j < nVec; j++) {
      const valid = i32x4.lt_s(lanes, i32x4.splat(n));
      const tp = t + (<usize>s << 2);
      const tv = n == 4 ? v128.load(tp) : loadPartial(tp, n);
      const ign = v128.and(i32x4.eq(tv, ignoreV), valid);
      const oob = v128.and(v128.andnot(i32x4.ge_u(tv, cV), ign), valid);
      if (v128.any_true(oob)) return s + ctz(i32x4.bitmask(oob));

      const okPlain = ok0;
      let ok = ok0;
      if (SMOOTH) {
        // An infinite or NaN shifted sum (a -Inf logit, x0 infinite, 0 * Inf) takes the exact path.
        ok = v128.and(ok, i32x4.shuffle(
          f64x2.eq(f64x2.sub(l0, l0), zero), f64x2.eq(f64x2.sub(h0, h0), zero), 0, 2, 4, 6));
      }
      const bad = v128.andnot(valid, ok);
      const anyBad = v128.any_true(bad);
      // Lanes left out of the fast path's sums: ignored, marked for the exact path, or past n.
      const skip = v128.or(v128.or(ign, bad), v128.not(valid));
      if (outPred) {
        if (n == 4) v128.store(outPred + (<usize>s << 2), i0);
        else storePartial(outPred + (<usize>s << 2), i0, n);
      }

      // Gather x[t] (and w[t]); skipped lanes read class 0 of a valid pixel, so every address is in bounds.
      const ts = v128.andnot(tv, skip);
      // The lanes of one vector lie in one block (vectors start at multiples of 4 or stop at the next).
      const off = i32x4.shl(i32x4.add(i32x4.mul(ts, sV), i32x4.add(i32x4.splat(<i32>elem(0, s, C, S)), i32x4.min_s(lanes, i32x4.splat(n - 1)))), 2);
      let xt = v128.load32_zero(x + <usize>i32x4.extract_lane(off, 0));
      xt = v128.load32_lane(x + <usize>i32x4.extract_lane(off, 1), xt, 1);
      xt = v128.load32_lane(x + <usize>i32x4.extract_lane(off, 2), xt, 2);
      xt = v128.load32_lane(x + <usize>i32x4.extract_lane(off, 3), xt, 3);

      const ln2 = f64x2.splat(LN2);
      let LLo = f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(ke0), ln2), f64x2.promote_low_f32x4(lm0));
      let LHi = f64x2.add(
        f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(ke0, ke0, 2, 3, 2, 3)), ln2),
        f64x2.promote_low_f32x4(f32x4.shuffle(lm0, lm0, 2, 3, 2, 3)),
      );
      const r0Lo = f64x2.promote_low_f32x4(r0);
      const r0Hi = f64x2.promote_low_f32x4(f32x4.shuffle(r0, r0, 2, 3, 2, 3));
      const L0Lo = LLo;
      const L0Hi = LHi;
      let rLo = r0Lo;
      let rHi = r0Hi;
      const xtLo = f64x2.promote_low_f32x4(xt);
      const xtHi = f64x2.promote_low_f32x4(f32x4.shuffle(xt, xt, 2, 3, 2, 3));
      // -log p[t] = (r - x[t]) + log(sum)
      let nLo = f64x2.add(f64x2.sub(rLo, xtLo), LLo);
      let nHi = f64x2.add(f64x2.sub(rHi, xtHi), LHi);
      // Small losses whose error bound (polynomial, f32 sum and argument roundings, which grow with the
      // distance from the reference to the max) exceeds 2e-6 relative: redo the sum against the max.
      const lim = f32x4.add(f32x4.splat(REFINE_BASE), f32x4.mul(f32x4.sub(mx0, r0), f32x4.splat(REFINE_SLOPE)));
      const nF = f32x4.shuffle(f32x4.demote_f64x2_zero(nLo), f32x4.demote_f64x2_zero(nHi), 0, 1, 4, 5);
      const fix = v128.andnot(f32x4.lt(nF, lim), skip);
      // ceIndexF32Top: the top-class loss (r - m) + log(sum), refined as the loss is, needs the sum against
      // the max where the loss does not.
      const outTop = gOutTop;
      let topLo = zero, topHi = zero, fixT = zero, skipT = zero, badT = zero;
      if (outTop) {
        badT = v128.andnot(v128.andnot(valid, okPlain), ign);
        skipT = v128.or(v128.or(ign, badT), v128.not(valid));
        const mLo = f64x2.promote_low_f32x4(mx0);
        const mHi = f64x2.promote_low_f32x4(f32x4.shuffle(mx0, mx0, 2, 3, 2, 3));
        topLo = f64x2.add(f64x2.sub(r0Lo, mLo), L0Lo);
        topHi = f64x2.add(f64x2.sub(r0Hi, mHi), L0Hi);
        const tF = f32x4.shuffle(f32x4.demote_f64x2_zero(topLo), f32x4.demote_f64x2_zero(topHi), 0, 1, 4, 5);
        fixT = v128.andnot(f32x4.lt(tF, lim), skipT);
      }
      let e = zero;
      if (v128.any_true(v128.or(fix, fixT))) e = refine4(x + (elem(0, s, C, S) << 2), row, C, n, mx0, i0);
      if (outTop) {
        if (v128.any_true(fixT)) {
          // (m - m) + log(1 + e): what a call with the argmax as target computes there.
          const mLo = f64x2.promote_low_f32x4(mx0);
          const mHi = f64x2.promote_low_f32x4(f32x4.shuffle(mx0, mx0, 2, 3, 2, 3));
          const tLo = f64x2.add(f64x2.sub(mLo, mLo), log1p2(f64x2.promote_low_f32x4(e)));
          const tHi = f64x2.add(f64x2.sub(mHi, mHi), log1p2(f64x2.promote_low_f32x4(f32x4.shuffle(e, e, 2, 3, 2, 3))));
          topLo = v128.bitselect(tLo, topLo, i64x2.extend_low_i32x4_s(fixT));
          topHi = v128.bitselect(tHi, topHi, i64x2.extend_high_i32x4_s(fixT));
        }
        topLo = v128.andnot(topLo, i64x2.extend_low_i32x4_s(skipT));
        topHi = v128.andnot(topHi, i64x2.extend_high_i32x4_s(skipT));
        let tOut = f32x4.shuffle(f32x4.demote_f64x2_zero(topLo), f32x4.demote_f64x2_zero(topHi), 0, 1, 4, 5);
        // Lanes the plain pass could not take (NaN, +Inf, all -Inf) wait for slowPass, as their loss does.
        tOut = v128.bitselect(i32x4.splat(MARK), tOut, badT);
        if (n == 4) v128.store(outTop + (<usize>s << 2), tOut);
        else storePartial(outTop + (<usize>s << 2), tOut, n);
      }
      if (v128.any_true(fix)) {
        const fixLo = i64x2.extend_low_i32x4_s(fix);
        const fixHi = i64x2.extend_high_i32x4_s(fix);
        rLo = v128.bitselect(f64x2.promote_low_f32x4(mx0), rLo, fixLo);
        rHi = v128.bitselect(f64x2.promote_low_f32x4(f32x4.shuffle(mx0, mx0, 2, 3, 2, 3)), rHi, fixHi);
        LLo = v128.bitselect(log1p2(f64x2.promote_low_f32x4(e)), LLo, fixLo);
        LHi = v128.bitselect(log1p2(f64x2.promote_low_f32x4(f32x4.shuffle(e, e, 2, 3, 2, 3))), LHi, fixHi);
        nLo = f64x2.add(f64x2.sub(rLo, xtLo), LLo);
        nHi = f64x2.add(f64x2.sub(rHi, xtHi), LHi);
      }
      const skipLo = i64x2.extend_low_i32x4_s(skip);
      const skipHi = i64x2.extend_high_i32x4_s(skip);
      if (w) {
        const tw = i32x4.shl(ts, 2);
        let wt = v128.load32_zero(w + <usize>i32x4.extract_lane(tw, 0));
        wt = v128.load32_lane(w + <usize>i32x4.extract_lane(tw, 1), wt, 1);
        wt = v128.load32_lane(w + <usize>i32x4.extract_lane(tw, 2), wt, 2);
        wt = v128.load32_lane(w + <usize>i32x4.extract_lane(tw, 3), wt, 3);
        const wLo = f64x2.promote_low_f32x4(wt);
        const wHi = f64x2.promote_low_f32x4(f32x4.shuffle(wt, wt, 2, 3, 2, 3));
        nLo = f64x2.mul(nLo, wLo);
        nHi = f64x2.mul(nHi, wHi);
        aDen = f64x2.add(aDen, f64x2.add(v128.andnot(wLo, skipLo), v128.andnot(wHi, skipHi)));
      }
      let lossLo = nLo;
      let lossHi = nHi;
      if (SMOOTH) {
        // -sum_c w[c] log p[c] = W (r - x0 + log(sum)) - sum_c w[c] (x[c] - x0)
        const Wv = f64x2.splat(W);
        const x0Lo = f64x2.promote_low_f32x4(x00);
        const x0Hi = f64x2.promote_low_f32x4(f32x4.shuffle(x00, x00, 2, 3, 2, 3));
        const smLo = f64x2.sub(f64x2.mul(Wv, f64x2.add(f64x2.sub(rLo, x0Lo), LLo)), l0);
        const smHi = f64x2.sub(f64x2.mul(Wv, f64x2.add(f64x2.sub(rHi, x0Hi), LHi)), h0);
        const keep = f64x2.splat(1 - eps);
        const mix = f64x2.splat(eps / <f64>C);
        lossLo = f64x2.add(f64x2.mul(keep, nLo), f64x2.mul(smLo, mix));
        lossHi = f64x2.add(f64x2.mul(keep, nHi), f64x2.mul(smHi, mix));
        aNll = f64x2.add(aNll, f64x2.add(v128.andnot(nLo, skipLo), v128.andnot(nHi, skipHi)));
        aSm = f64x2.add(aSm, f64x2.add(v128.andnot(smLo, skipLo), v128.andnot(smHi, skipHi)));
      }
      lossLo = v128.andnot(lossLo, skipLo);
      lossHi = v128.andnot(lossHi, skipHi);
      aNum = f64x2.add(aNum, f64x2.add(lossLo, lossHi));
      aIgn = i32x4.sub(aIgn, ign);
      aCorrect = i32x4.sub(aCorrect, v128.andnot(i32x4.eq(i0, tv), skip));

      let out = f32x4.shuffle(f32x4.demote_f64x2_zero(lossLo), f32x4.demote_f64x2_zero(lossHi), 0, 1, 4, 5);
      if (anyBad) {
        out = v128.bitselect(i32x4.splat(MARK), out, bad);
        nBad += popcnt(i32x4.bitmask(v128.andnot(bad, ign)));
        slowFirst = min(slowFirst, s);
        slowLast = max(slowLast, s + n - 1);
      }
      if (n == 4) v128.store(outLoss + (<usize>s << 2), out);
      else storePartial(outLoss + (<usize>s << 2), out, n);
      // NaN and Inf losses (a -Inf logit at the target, 0 * Inf) are rare: count them off the main path.
      const fin = v128.and(f64x2.eq(f64x2.sub(lossLo, lossLo), zero), f64x2.eq(f64x2.sub(lossHi, lossHi), zero));
      if (!i64x2.all_true(fin)) {
        const a0 = f64x2.extract_lane(lossLo, 0);
        const a1 = f64x2.extract_lane(lossLo, 1);
        const a2 = f64x2.extract_lane(lossHi, 0);
        const a3 = f64x2.extract_lane(lossHi, 1);
        nNan += <i32>(a0 != a0) + <i32>(a1 != a1) + <i32>(a2 != a2) + <i32>(a3 != a3);
        nInf += <i32>(abs(a0) == Infinity) + <i32>(abs(a1) == Infinity) + <i32>(abs(a2) == Infinity) + <i32>(abs(a3) == Infinity);
      }

      // Per-class sums and counts. Four kept lanes with one target and one prediction (the usual case
      // inside a segment) make one update each, so runs of a class do not queue on one memory slot.
      const keepBits = ~i32x4.bitmask(skip) & 15;
      const same = v128.and(i32x4.eq(tv, i32x4.shuffle(tv, tv, 1, 2, 3, 0)), i32x4.eq(i0, i32x4.shuffle(i0, i0, 1, 2, 3, 0)));
      if (keepBits == 15 && i32x4.all_true(same)) {
        const tk = <usize>i32x4.extract_lane(tv, 0);
        const pk = <usize>i32x4.extract_lane(i0, 0);
        const sum4 = f64x2.add(lossLo, lossHi);
        addF64(lossSumP + (tk << 3), f64x2.extract_lane(sum4, 0) + f64x2.extract_lane(sum4, 1));
        if (confusion) addF64(confusion + ((tk * <usize>C + pk) << 3), 4);
        if (!fromConf) {
          addF64(countP + (tk << 3), 4);
          addF64(predP + (pk << 3), 4);
        }
      } else {
        if (keepBits & 1) {
          const tk = <usize>i32x4.extract_lane(tv, 0);
          const pk = <usize>i32x4.extract_lane(i0, 0);
          addF64(lossSumP + (tk << 3), f64x2.extract_lane(lossLo, 0));
          if (confusion) addF64(confusion + ((tk * <usize>C + pk) << 3), 1);
          if (!fromConf) {
            addF64(countP + (tk << 3), 1);
            addF64(predP + (pk << 3), 1);
          }
        }
        if (keepBits & 2) {
          const tk = <usize>i32x4.extract_lane(tv, 1);
          const pk = <usize>i32x4.extract_lane(i0, 1);
          addF64(lossSumP + (tk << 3), f64x2.extract_lane(lossLo, 1));
          if (confusion) addF64(confusion + ((tk * <usize>C + pk) << 3), 1);
          if (!fromConf) {
            addF64(countP + (tk << 3), 1);
            addF64(predP + (pk << 3), 1);
          }
        }
        if (keepBits & 4) {
          const tk = <usize>i32x4.extract_lane(tv, 2);
          const pk = <usize>i32x4.extract_lane(i0, 2);
          addF64(lossSumP + (tk << 3), f64x2.extract_lane(lossHi, 0));
          if (confusion) addF64(confusion + ((tk * <usize>C + pk) << 3), 1);
          if (!fromConf) {
            addF64(countP + (tk << 3), 1);
            addF64(predP + (pk << 3), 1);
          }
        }
        if (keepBits & 8) {
          const tk = <usize>i32x4.extract_lane(tv, 3);
          const pk = <usize>i32x4.extract_lane(i0, 3);
          addF64(lossSumP + (tk << 3), f64x2.extract_lane(lossHi, 1));
          if (confusion) addF64(confusion + ((tk * <usize>C + pk) << 3), 1);
          if (!fromConf) {
            addF64(countP + (tk << 3), 1);
            addF64(predP + (pk << 3), 1);
          }
        }
      }
      // Ignored elements whose target is a class (ignore_index inside [0, C)).
      if (<u32>ignoreIndex < <u32>C && v128.any_true(ign)) {
        addF64(ignP + (<usize>ignoreIndex << 3), <f64>popcnt(i32x4.bitmask(ign)));
      }

      s += n;
      r0 = r1; r1 = r2; r2 = r3;
      z0 = z1; z1 = z2; z2 = z3;
      i0 = i1; i1 = i2; i2 = i3;
      l0 = l1; l1 = l2; l2 = l3;
      h0 = h1; h1 = h2; h2 = h3;
      x00 = x01; x01 = x02; x02 = x03;
      mx0 = mx1; mx1 = mx2; mx2 = mx3;
      lm0 = lm1; lm1 = lm2; lm2 = lm3;
      ke0 = ke1; ke1 = ke2; ke2 = ke3;
      ok0 = ok1; ok1 = ok2; ok2 = ok3;
    }
  }

  const num = f64x2.extract_lane(aNum, 0) + f64x2.extract_lane(aNum, 1);
  const nIgn = sumI32x4(aIgn);
  addF64(acc, num);
  // Without weights the denominator counts the fast path's elements: all but ignored and marked ones.
  addF64(acc + 8, w ? f64x2.extract_lane(aDen, 0) + f64x2.extract_lane(aDen, 1) : <f64>(s1 - s0) - nIgn - <f64>nBad);
  if (SMOOTH) {
    addF64(acc + 16, f64x2.extract_lane(aNll, 0) + f64x2.extract_lane(aNll, 1));
    addF64(acc + 24, f64x2.extract_lane(aSm, 0) + f64x2.extract_lane(aSm, 1));
  } else {
    addF64(acc + 16, num);
  }
  addF64(acc + 32, nIgn);
  addF64(acc + 40, <f64>nNan);
  addF64(acc + 48, <f64>nInf);
  if (!fromConf) addF64(acc + 56, sumI32x4(aCorrect));
  if (slowFirst <= slowLast) {
    slowPass(x, t, w, C, S, slowFirst, slowLast + 1, ignoreIndex, eps, outLoss, outPred, acc, confusion, fromConf);
  }
  if (fromConf) confMarginals(acc, confusion, C, 1);
  return -1;
}

/**
 * Adds sign * (row sums, column sums, trace) of the confusion matrix to count[], predicted[] and
 * correct: subtracted before a call and added after it, they leave what the call added (integers in f64,
 * exact).
 */
function confMarginals(acc: usize, confusion: usize, C: i32, sign: f64): void {
  const C8: usize = <usize>C << 3;
  const countP: usize = acc + 64 + C8;
  const predP: usize = countP + C8;
  let trace: f64 = 0;
  for (let t = 0; t < C; t++) {
    const rowP: usize = confusion + <usize>t * C8;
    let sum: f64 = 0;
    for (let p = 0; p < C; p++) {
      const v = load<f64>(rowP + (<usize>p << 3));
      sum += v;
      addF64(predP + (<usize>p << 3), sign * v);
    }
    addF64(countP + (<usize>t << 3), sign * sum);
    trace += load<f64>(rowP + (<usize>t << 3));
  }
  addF64(acc + 56, sign * trace);
}

/** The reference loops for one pixel, float64, NaN-first argmax (src/kernel/crossEntropy.ts rowStats). */
function slowPixel(x: usize, w: usize, C: i32, S: i32, s: i32, smooth: bool): void {
  const row: usize = gBlocked ? 64 : <usize>S << 2;
  const p: usize = x + (elem(0, s, C, S) << 2);
  let mx: f64 = <f64>load<f32>(p);
  let am: i32 = 0;
  for (let c = 1; c < C; c++) {
    const v: f64 = <f64>load<f32>(p + <usize>c * row);
    if (mx == mx && (v > mx || v != v)) {
      mx = v;
      am = c;
    }
  }
  let ls: f64 = 0;
  for (let c = 0; c < C; c++) ls += jsExp(<f64>load<f32>(p + <usize>c * row) - mx);
  ls = jsLog(ls);
  let sm: f64 = 0;
  if (smooth) {
    for (let c = 0; c < C; c++) {
      const lp = <f64>load<f32>(p + <usize>c * row) - mx - ls;
      sm += w ? lp * <f64>load<f32>(w + (<usize>c << 2)) : lp;
    }
  }
  gMax = mx;
  gLogSum = ls;
  gArg = am;
  gSmooth = sm;
}

/** Pixels in [a, b) marked by the fast path: argmax, loss and statistics exactly as the reference. */
function slowPass(
  x: usize, t: usize, w: usize, C: i32, S: i32, a: i32, b: i32, ignoreIndex: i32, eps: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize, fromConf: bool,
): void {
  const C8: usize = <usize>C << 3;
  const lossSumP: usize = acc + 64;
  for (let s = a; s < b; s++) {
    const lp: usize = outLoss + (<usize>s << 2);
    if (load<i32>(lp) != MARK) continue;
    slowPixel(x, w, C, S, s, eps > 0);
    const pk = gArg;
    if (outPred) store<i32>(outPred + (<usize>s << 2), pk);
    if (gOutTop) {
      // The argmax as an unweighted target, as slowPass computes a marked pixel's loss (weight 1.0).
      const tp: usize = gOutTop + (<usize>s << 2);
      if (load<i32>(tp) == MARK) store<f32>(tp, <f32>(-1.0 * (<f64>load<f32>(x + (elem(<usize>pk, s, C, S) << 2)) - gMax - gLogSum)));
    }
    const tc = load<i32>(t + (<usize>s << 2));
    if (tc == ignoreIndex) {
      store<f32>(lp, 0); // counted as ignored by the fast path already
      continue;
    }
    const wt: f64 = w ? <f64>load<f32>(w + (<usize>tc << 2)) : 1.0;
    const nll = -wt * (<f64>load<f32>(x + (elem(<usize>tc, s, C, S) << 2)) - gMax - gLogSum);
    let loss = nll;
    if (eps > 0) {
      loss = (1 - eps) * nll + -gSmooth * (eps / <f64>C);
      addF64(acc + 24, -gSmooth);
    }
    store<f32>(lp, <f32>loss);
    addF64(acc, loss);
    addF64(acc + 8, wt);
    addF64(acc + 16, nll);
    addF64(acc + 40, <f64>(loss != loss));
    addF64(acc + 48, <f64>(abs(loss) == Infinity));
    addF64(lossSumP + (<usize>tc << 3), loss);
    if (confusion) addF64(confusion + ((<usize>tc * <usize>C + <usize>pk) << 3), 1);
    if (!fromConf) {
      addF64(acc + 56, <f64>(pk == tc));
      addF64(lossSumP + C8 + (<usize>tc << 3), 1);
      addF64(lossSumP + 2 * C8 + (<usize>pk << 3), 1);
    }
  }
}

// ====================================================================================================
// Rows: logits [rows, C] with each row's C classes contiguous (classification [N, C]; class-last
// [B, T, V] seen as [B*T, V]), as float32, float16 or bfloat16. See "Rows" in the header comment.

// Element types of row logits (the dtype parameter of the row functions).
const DT_F32: i32 = 0;
const DT_F16: i32 = 1;
const DT_BF16: i32 = 2;
// Logits per block (a multiple of 16): the unit of the reference check, of the f64 flush of the sums and
// of the argmax bookkeeping.
const RB: i32 = 256;
// A block whose max lies more than this above the row's reference moves the reference up to that max.
const RJUMP: f64 = 8;
// The max of a row's first SEED logits is its first reference.
const SEED: i32 = 64;
const FLT_MAX: f32 = 3.4028234663852886e38;

// Results of rowPass: the reference r, sum_c exp(x[c] - r) in f64, the max (NaN ignored), the start of
// the first block holding it, and with label smoothing sum_c w[c] (x[c] - shift) and the shift.
let gRowR: f32 = 0;
let gRowZ: f64 = 0;
let gRowMax: f32 = 0;
let gRowBlk: i32 = 0;
let gRowU: f64 = 0;
let gRowSh: f32 = 0;

/**
 * float16 bit patterns, sign-extended into i32 lanes, to float32, exactly (subnormals, infinities, NaN):
 * the exponent and mantissa shifted into float32 position and scaled by 2^112 rebias the exponent (a half
 * subnormal is a float32 subnormal there, and the product the normal it stands for).
 */
@inline function f16x4(h: v128): v128 {
  const f = f32x4.mul(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), f32x4.splat(reinterpret<f32>(0x77800000)));
  // Exponent 31 (infinity, NaN) lands at 2^16 and above: all exponent bits set, the mantissa kept.
  const special = v128.and(f32x4.ge(f, f32x4.splat(65536.0)), i32x4.splat(0x7f800000));
  return v128.or(v128.or(f, special), v128.and(h, i32x4.splat(i32.MIN_VALUE)));
}

/** One float16 bit pattern to float32, the same way. */
@inline function f16x1(h: u32): f32 {
  let b = reinterpret<u32>(reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000));
  if (b >= 0x47800000) b |= 0x7f800000;
  return reinterpret<f32>(b | ((h & 0x8000) << 16));
}

/** bfloat16 halves 0-3 (lo) or 4-7 (hi) of v as float32: the bits in the upper half of each lane. */
@inline function bfLo(v: v128): v128 {
  return i16x8.shuffle(i32x4.splat(0), v, 0, 8, 1, 9, 2, 10, 3, 11);
}
@inline function bfHi(v: v128): v128 {
  return i16x8.shuffle(i32x4.splat(0), v, 4, 12, 5, 13, 6, 14, 7, 15);
}

/**
 * Natural log of a positive normal z in float64 (AssemblyScript's Math.log would add lookup tables to
 * the module's memory, which must stay empty): z = 2^k m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, the series to s^19 (remainder below 1e-16).
 */
function logPos(z: f64): f64 {
  const bits = reinterpret<u64>(z);
  const k = <i64>(bits - 0x3fe6a09e667f3bcd) >> 52;
  const m = reinterpret<f64>(bits - (<u64>k << 52));
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let q: f64 = 1.0 / 19;
  q = q * s2 + 1.0 / 17;
  q = q * s2 + 1.0 / 15;
  q = q * s2 + 1.0 / 13;
  q = q * s2 + 1.0 / 11;
  q = q * s2 + 1.0 / 9;
  q = q * s2 + 1.0 / 7;
  q = q * s2 + 1.0 / 5;
  q = q * s2 + 1.0 / 3;
  // ln 2 split in two so that k ln 2 is exact to double precision (hi has 32 significant bits).
  const kf = <f64>k;
  return kf * 6.93147180369123816490e-01 + (kf * 1.90821492927058770002e-10 + 2 * s * (1 + q * s2));
}

/** Logit c of the row at p as float32. */
@inline function elemAt(p: usize, c: i32, DT: i32): f32 {
  if (DT == DT_F32) return load<f32>(p + (<usize>c << 2));
  const h = <u32>load<u16>(p + (<usize>c << 1));
  return DT == DT_BF16 ? reinterpret<f32>(h << 16) : f16x1(h);
}

/** The 4 logits at q. */
@inline function load4(q: usize, DT: i32): v128 {
  if (DT == DT_F32) return v128.load(q);
  const v = v128.load64_zero(q);
  return DT == DT_BF16 ? bfLo(v) : f16x4(i32x4.extend_low_i16x8_s(v));
}

/** Vector k (0-3, a constant) of the 16 logits at q. */
@inline function loadK(q: usize, k: i32, DT: i32): v128 {
  if (DT == DT_F32) return v128.load(q + (<usize>k << 4));
  const a = v128.load(q + (<usize>(k >> 1) << 4));
  if (DT == DT_BF16) return k & 1 ? bfHi(a) : bfLo(a);
  return f16x4(k & 1 ? i32x4.extend_high_i16x8_s(a) : i32x4.extend_low_i16x8_s(a));
}

/** Lanes [0, n) (n in 1..4) of the logits at q, -Inf in the others; reads nothing past them. */
@inline function loadTail(q: usize, n: i32, DT: i32): v128 {
  if (n >= 4) return load4(q, DT);
  let v = f32x4.splat(-Infinity);
  v = f32x4.replace_lane(v, 0, elemAt(q, 0, DT));
  if (n > 1) v = f32x4.replace_lane(v, 1, elemAt(q, 1, DT));
  if (n > 2) v = f32x4.replace_lane(v, 2, elemAt(q, 2, DT));
  return v;
}

@inline function hmax(v: v128): f32 {
  const a = f32x4.pmax(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(a, f32x4.shuffle(a, a, 1, 0, 3, 2)), 0);
}

/**
 * exp2c for the row kernel: rounding with 1.5 * 2^23 + 127 leaves n + 127 in the low bits, which shifted
 * into the exponent field are 2^n (one integer addition less per vector).
 */
@inline function exp2r(y0: v128, DEG5: bool): v128 {
  const y = f32x4.pmax(y0, f32x4.splat(-125.0));
  const r = f32x4.add(y, f32x4.splat(12583039.0));
  const f = f32x4.sub(y, f32x4.sub(r, f32x4.splat(12583039.0)));
  let q: v128;
  if (DEG5) {
    q = f32x4.add(f32x4.mul(f32x4.splat(0.0013264715671539307), f), f32x4.splat(0.009671512991189957));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.05550733953714371));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.24022242426872253));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.6931470036506653));
  } else {
    q = f32x4.add(f32x4.mul(f32x4.splat(0.009582878090441227), f), f32x4.splat(0.05590643733739853));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.24024097621440887));
    q = f32x4.add(f32x4.mul(q, f), f32x4.splat(0.6931241750717163));
  }
  q = f32x4.add(f32x4.mul(q, f), f32x4.splat(1.0));
  return f32x4.mul(q, i32x4.shl(r, 23));
}

/** exp(v - r) for 4 logits (log2e: the splat of log2(e)). */
@inline function expRel(v: v128, rv: v128, DEG5: bool): v128 {
  return exp2r(f32x4.mul(f32x4.sub(v, rv), f32x4.splat(1.4426950408889634)), DEG5);
}

/** Max of the first n logits of the row at p (NaN ignored; -Inf when none). */
@inline function seedMax(p: usize, n: i32, DT: i32): f32 {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  let m0 = f32x4.splat(-Infinity), m1 = m0;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const q = p + <usize>c * ES;
    m0 = f32x4.pmax(m0, loadK(q, 0, DT));
    m1 = f32x4.pmax(m1, loadK(q, 1, DT));
  }
  for (; c < n; c += 4) m0 = f32x4.pmax(m0, loadTail(p + <usize>c * ES, min(4, n - c), DT));
  return hmax(f32x4.pmax(m0, m1));
}

/** sum_c exp(x[c] - r) of the len logits at q, per lane (a block redone with a new reference). */
function blockExpSum(q: usize, len: i32, r: f32, DT: i32, deg5: bool): v128 {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const rv = f32x4.splat(r);
  const lanes = i32x4(0, 1, 2, 3);
  let z = f32x4.splat(0);
  let c = 0;
  for (; c + 16 <= len; c += 16) {
    const p = q + <usize>c * ES;
    const e0 = expRel(loadK(p, 0, DT), rv, deg5);
    const e1 = expRel(loadK(p, 1, DT), rv, deg5);
    const e2 = expRel(loadK(p, 2, DT), rv, deg5);
    const e3 = expRel(loadK(p, 3, DT), rv, deg5);
    z = f32x4.add(z, f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3)));
  }
  for (; c < len; c += 4) {
    const n = min(4, len - c);
    const e = expRel(loadTail(q + <usize>c * ES, n, DT), rv, deg5);
    z = f32x4.add(z, v128.and(e, i32x4.lt_s(lanes, i32x4.splat(n))));
  }
  return z;
}

/**
 * sum_{c != am} exp(x[c] - m) of the row at p in f64 (m: its max, am: its first argmax), f32 sums of 16
 * terms per lane and block as in rowPass; degree-5 exp; every argument <= 0 and the max's 1 left out, so
 * a small sum keeps its relative accuracy.
 */
function refineRow(p: usize, C: i32, m: f32, am: i32, DT: i32): f64 {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const mv = f32x4.splat(m);
  const lanes = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  const zi = i32x4.splat(0);
  let zLo = f64x2.splat(0), zHi = zLo;
  for (let c0 = 0; c0 < C; c0 += RB) {
    const c1 = min(C, c0 + RB);
    let z = f32x4.splat(0);
    // Lane indices relative to the argmax: the lane at 0 is left out.
    let iv = i32x4.add(lanes, i32x4.splat(c0 - am));
    let q = p + <usize>c0 * ES;
    let c = c0;
    const e16 = c0 + ((c1 - c0) & ~15);
    for (; c < e16; c += 16) {
      const e0 = v128.andnot(expRel(loadK(q, 0, DT), mv, true), i32x4.eq(iv, zi));
      iv = i32x4.add(iv, four);
      const e1 = v128.andnot(expRel(loadK(q, 1, DT), mv, true), i32x4.eq(iv, zi));
      iv = i32x4.add(iv, four);
      const e2 = v128.andnot(expRel(loadK(q, 2, DT), mv, true), i32x4.eq(iv, zi));
      iv = i32x4.add(iv, four);
      const e3 = v128.andnot(expRel(loadK(q, 3, DT), mv, true), i32x4.eq(iv, zi));
      iv = i32x4.add(iv, four);
      z = f32x4.add(z, f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3)));
      q += ES << 4;
    }
    for (; c < c1; c += 4) {
      const n = min(4, c1 - c);
      const keep = v128.andnot(i32x4.lt_s(lanes, i32x4.splat(n)), i32x4.eq(iv, zi));
      z = f32x4.add(z, v128.and(expRel(loadTail(q, n, DT), mv, true), keep));
      iv = i32x4.add(iv, four);
      q += ES << 2;
    }
    zLo = f64x2.add(zLo, f64x2.promote_low_f32x4(z));
    zHi = f64x2.add(zHi, f64x2.promote_low_f32x4(f32x4.shuffle(z, z, 2, 3, 2, 3)));
  }
  const zz = f64x2.add(zLo, zHi);
  return f64x2.extract_lane(zz, 0) + f64x2.extract_lane(zz, 1);
}

/** log(1 + e), e >= 0 finite: logPos(1 + e), exact to double precision in absolute terms. */
@inline function log1pPos(e: f64): f64 {
  return logPos(1 + e);
}

/** The first c in [c0, c1) whose logit equals m (c0 if none). */
@inline function firstEqual(p: usize, c0: i32, c1: i32, m: f32, DT: i32): i32 {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const mv = f32x4.splat(m);
  let c = c0;
  for (; c + 16 <= c1; c += 16) {
    const q = p + <usize>c * ES;
    const e0 = f32x4.eq(loadK(q, 0, DT), mv);
    const e1 = f32x4.eq(loadK(q, 1, DT), mv);
    const e2 = f32x4.eq(loadK(q, 2, DT), mv);
    const e3 = f32x4.eq(loadK(q, 3, DT), mv);
    if (v128.any_true(v128.or(v128.or(e0, e1), v128.or(e2, e3)))) {
      return c + ctz(i32x4.bitmask(e0) | (i32x4.bitmask(e1) << 4) | (i32x4.bitmask(e2) << 8) | (i32x4.bitmask(e3) << 12));
    }
  }
  for (; c < c1; c++) {
    if (elemAt(p, c, DT) == m) return c;
  }
  return c0;
}

/**
 * The reference loops for one row, float64 (src/kernel/crossEntropy.ts rowStats): max and NaN-first
 * argmax into gMax and gArg; with exps also log(sum exp(x - max)) into gLogSum and, with smooth,
 * sum_c w[c] log p[c] into gSmooth.
 */
function slowRow(p: usize, w: usize, C: i32, DT: i32, exps: bool, smooth: bool): void {
  let mx: f64 = <f64>elemAt(p, 0, DT);
  let am: i32 = 0;
  for (let c = 1; c < C; c++) {
    const v: f64 = <f64>elemAt(p, c, DT);
    if (mx == mx && (v > mx || v != v)) {
      mx = v;
      am = c;
    }
  }
  gMax = mx;
  gArg = am;
  if (!exps) return;
  let ls: f64 = 0;
  for (let c = 0; c < C; c++) ls += jsExp(<f64>elemAt(p, c, DT) - mx);
  ls = jsLog(ls);
  let sm: f64 = 0;
  if (smooth) {
    for (let c = 0; c < C; c++) {
      const lp = <f64>elemAt(p, c, DT) - mx - ls;
      sm += w ? lp * <f64>load<f32>(w + (<usize>c << 2)) : lp;
    }
  }
  gLogSum = ls;
  gSmooth = sm;
}

/**
 * One row's pass over its logits (see "Rows" in the header): fills gRowR, gRowZ, gRowMax, gRowBlk and,
 * with SMOOTH, gRowU and gRowSh. Results hold when gRowMax is finite and gRowZ (and gRowU) are.
 */
@inline function rowPass(p: usize, C: i32, w: usize, DT: i32, SMOOTH: bool, WEIGHTED: bool, DEG5: bool): void {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const zero = f32x4.splat(0);
  const ninf = f32x4.splat(-Infinity);
  const lanes = i32x4(0, 1, 2, 3);
  let r = seedMax(p, min(C, SEED), DT);
  // Seeds all -Inf (or NaN): a finite reference keeps x - r clear of -Inf - -Inf.
  if (!(r >= -FLT_MAX)) r = -FLT_MAX;
  const sh = f32x4.splat(r);
  let rv = sh;
  let zLo = zero, zHi = zero, uLo = zero, uHi = zero;
  let gmax: f32 = -Infinity;
  let gblk = 0;
  for (let c0 = 0; c0 < C; c0 += RB) {
    const c1 = min(C, c0 + RB);
    // One accumulator each (fewer registers than one per vector: V8 has 16 for SIMD).
    let z = zero;
    let b = ninf;
    let q = p + <usize>c0 * ES;
    let c = c0;
    const e16 = c0 + ((c1 - c0) & ~15);
    for (; c < e16; c += 16) {
      const v0 = loadK(q, 0, DT);
      const v1 = loadK(q, 1, DT);
      const v2 = loadK(q, 2, DT);
      const v3 = loadK(q, 3, DT);
      b = f32x4.pmax(b, f32x4.pmax(f32x4.pmax(v0, v1), f32x4.pmax(v2, v3)));
      const e0 = expRel(v0, rv, DEG5);
      const e1 = expRel(v1, rv, DEG5);
      const e2 = expRel(v2, rv, DEG5);
      const e3 = expRel(v3, rv, DEG5);
      z = f32x4.add(z, f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3)));
      if (SMOOTH) {
        let u0 = f32x4.sub(v0, sh);
        let u1 = f32x4.sub(v1, sh);
        let u2 = f32x4.sub(v2, sh);
        let u3 = f32x4.sub(v3, sh);
        if (WEIGHTED) {
          const wq = w + (<usize>c << 2);
          u0 = f32x4.mul(u0, v128.load(wq));
          u1 = f32x4.mul(u1, v128.load(wq, 16));
          u2 = f32x4.mul(u2, v128.load(wq, 32));
          u3 = f32x4.mul(u3, v128.load(wq, 48));
        }
        // Two f32 additions per term, then f64.
        const a01 = f32x4.add(u0, u1);
        const a23 = f32x4.add(u2, u3);
        uLo = f64x2.add(uLo, f64x2.add(f64x2.promote_low_f32x4(a01), f64x2.promote_low_f32x4(a23)));
        uHi = f64x2.add(uHi, f64x2.add(
          f64x2.promote_low_f32x4(f32x4.shuffle(a01, a01, 2, 3, 2, 3)), f64x2.promote_low_f32x4(f32x4.shuffle(a23, a23, 2, 3, 2, 3))));
      }
      q += ES << 4;
    }
    // The row's last 1-15 logits, 4 at a time; lanes past the row count for nothing.
    for (; c < c1; c += 4) {
      const n = min(4, c1 - c);
      const v = loadTail(q, n, DT);
      const valid = i32x4.lt_s(lanes, i32x4.splat(n));
      b = f32x4.pmax(b, v);
      z = f32x4.add(z, v128.and(expRel(v, rv, DEG5), valid));
      if (SMOOTH) {
        let u = f32x4.sub(v, sh);
        if (WEIGHTED) u = f32x4.mul(u, loadPartial(w + (<usize>c << 2), n));
        u = v128.and(u, valid);
        uLo = f64x2.add(uLo, f64x2.promote_low_f32x4(u));
        uHi = f64x2.add(uHi, f64x2.promote_low_f32x4(f32x4.shuffle(u, u, 2, 3, 2, 3)));
      }
      q += ES << 2;
    }
    const bmax = hmax(b);
    if (<f64>bmax > <f64>r + RJUMP) {
      // The block's sums (possibly overflowed) are redone against its max; the sums so far rescaled in f64.
      const f = f64x2.splat(jsExp(<f64>r - <f64>bmax));
      zLo = f64x2.mul(zLo, f);
      zHi = f64x2.mul(zHi, f);
      r = bmax;
      rv = f32x4.splat(r);
      z = blockExpSum(p + <usize>c0 * ES, c1 - c0, r, DT, DEG5);
    }
    if (bmax > gmax) {
      gmax = bmax;
      gblk = c0;
    }
    zLo = f64x2.add(zLo, f64x2.promote_low_f32x4(z));
    zHi = f64x2.add(zHi, f64x2.promote_low_f32x4(f32x4.shuffle(z, z, 2, 3, 2, 3)));
  }
  const zz = f64x2.add(zLo, zHi);
  gRowZ = f64x2.extract_lane(zz, 0) + f64x2.extract_lane(zz, 1);
  gRowR = r;
  gRowMax = gmax;
  gRowBlk = gblk;
  if (SMOOTH) {
    const uu = f64x2.add(uLo, uHi);
    gRowU = f64x2.extract_lane(uu, 0) + f64x2.extract_lane(uu, 1);
    gRowSh = f32x4.extract_lane(sh, 0);
  }
}

/** The argmax alone (first max; the first NaN if any, by the exact loops). */
@inline function rowArgmax(p: usize, C: i32, w: usize, DT: i32): i32 {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const ninf = f32x4.splat(-Infinity);
  const lanes = i32x4(0, 1, 2, 3);
  // A plain sum of the logits: NaN when one is NaN (or +Inf meets -Inf: the exact loops then decide).
  let z = f32x4.splat(0);
  let gmax: f32 = -Infinity;
  let gblk = 0;
  for (let c0 = 0; c0 < C; c0 += RB) {
    const c1 = min(C, c0 + RB);
    let b = ninf;
    let q = p + <usize>c0 * ES;
    let c = c0;
    const e16 = c0 + ((c1 - c0) & ~15);
    for (; c < e16; c += 16) {
      const v0 = loadK(q, 0, DT);
      const v1 = loadK(q, 1, DT);
      const v2 = loadK(q, 2, DT);
      const v3 = loadK(q, 3, DT);
      b = f32x4.pmax(b, f32x4.pmax(f32x4.pmax(v0, v1), f32x4.pmax(v2, v3)));
      z = f32x4.add(z, f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3)));
      q += ES << 4;
    }
    for (; c < c1; c += 4) {
      const n = min(4, c1 - c);
      const v = loadTail(q, n, DT);
      b = f32x4.pmax(b, v);
      z = f32x4.add(z, v128.and(v, i32x4.lt_s(lanes, i32x4.splat(n))));
      q += ES << 2;
    }
    const bmax = hmax(b);
    if (bmax > gmax) {
      gmax = bmax;
      gblk = c0;
    }
  }
  if (v128.any_true(f32x4.ne(z, z))) {
    slowRow(p, w, C, DT, false, false);
    return gArg;
  }
  return firstEqual(p, gblk, min(C, gblk + RB), gmax, DT);
}

/** The first row in [r0, r1) whose target is neither in [0, C) nor ignoreIndex, or -1. */
function firstBadRow(t: usize, C: i32, r0: i32, r1: i32, ignoreIndex: i32): i32 {
  for (let i = r0; i < r1; i++) {
    const tc = load<i32>(t + (<usize>i << 2));
    if (tc != ignoreIndex && <u32>tc >= <u32>C) return i;
  }
  return -1;
}

@inline function rowsBody(
  x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ignoreIndex: i32, eps: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize, DT: i32, SMOOTH: bool, WEIGHTED: bool,
): i32 {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const rowBytes: usize = <usize>C * ES;
  const C8: usize = <usize>C << 3;
  const lossSumP: usize = acc + 64;
  const countP: usize = lossSumP + C8;
  const predP: usize = countP + C8;
  const ignP: usize = predP + C8;
  let W: f64 = 0;
  if (SMOOTH) {
    if (WEIGHTED) {
      for (let c = 0; c < C; c++) W += <f64>load<f32>(w + (<usize>c << 2));
    } else {
      W = <f64>C;
    }
  }
  const mix: f64 = eps / <f64>C;
  let num: f64 = 0, den: f64 = 0, nllSum: f64 = 0, smSum: f64 = 0;
  let nIgn = 0, nNan = 0, nInf = 0, nCorrect = 0;
  for (let i = r0; i < r1; i++) {
    const p = x + <usize>i * rowBytes;
    const tc = load<i32>(t + (<usize>i << 2));
    if (tc == ignoreIndex) {
      // PyTorch's loss there is 0 (the smoothing term masked, times eps / C); the logits only matter for
      // the argmax.
      nIgn++;
      store<f32>(outLoss + (<usize>i << 2), 0);
      if (outPred) store<i32>(outPred + (<usize>i << 2), rowArgmax(p, C, w, DT));
      continue;
    }
    const wt: f64 = WEIGHTED ? <f64>load<f32>(w + (<usize>tc << 2)) : 1.0;
    rowPass(p, C, w, DT, SMOOTH, WEIGHTED, WEIGHTED);
    let nll: f64, loss: f64, pk: i32;
    let sm: f64 = 0;
    let ok = gRowMax > -Infinity && gRowMax < Infinity && gRowZ == gRowZ;
    if (SMOOTH) ok = ok && gRowU - gRowU == 0;
    if (ok) {
      pk = firstEqual(p, gRowBlk, min(C, gRowBlk + RB), gRowMax, DT);
      let ls = logPos(gRowZ);
      let rr: f64 = <f64>gRowR;
      const xt: f64 = <f64>elemAt(p, tc, DT);
      // -log p[t] = (r - x[t]) + log sum_c exp(x[c] - r)
      let base = (rr - xt) + ls;
      // A small loss whose one-pass error could exceed 2e-6 of it: the sum again, against the max.
      if (base < <f64>REFINE_BASE + <f64>REFINE_SLOPE * (<f64>gRowMax - rr)) {
        rr = <f64>gRowMax;
        ls = log1pPos(refineRow(p, C, gRowMax, pk, DT));
        base = (rr - xt) + ls;
      }
      nll = wt * base;
      loss = nll;
      if (SMOOTH) {
        // -sum_c w[c] log p[c] = W (r - shift + log sum) - sum_c w[c] (x[c] - shift)
        sm = W * ((rr - <f64>gRowSh) + ls) - gRowU;
        loss = (1 - eps) * nll + sm * mix;
      }
    } else {
      // NaN, +Inf, all -Inf, or with label smoothing a -Inf logit: the reference's loops, in float64.
      slowRow(p, w, C, DT, true, SMOOTH);
      pk = gArg;
      nll = -wt * (<f64>elemAt(p, tc, DT) - gMax - gLogSum);
      loss = nll;
      if (SMOOTH) {
        sm = -gSmooth;
        loss = (1 - eps) * nll + -gSmooth * (eps / <f64>C);
      }
    }
    store<f32>(outLoss + (<usize>i << 2), <f32>loss);
    if (outPred) store<i32>(outPred + (<usize>i << 2), pk);
    num += loss;
    den += wt;
    nllSum += nll;
    smSum += sm;
    nNan += <i32>(loss != loss);
    nInf += <i32>(abs(loss) == Infinity);
    nCorrect += <i32>(pk == tc);
    addF64(lossSumP + (<usize>tc << 3), loss);
    addF64(countP + (<usize>tc << 3), 1);
    addF64(predP + (<usize>pk << 3), 1);
    if (confusion) addF64(confusion + ((<usize>tc * <usize>C + <usize>pk) << 3), 1);
  }
  addF64(acc, num);
  addF64(acc + 8, den);
  addF64(acc + 16, nllSum);
  if (SMOOTH) addF64(acc + 24, smSum);
  addF64(acc + 32, <f64>nIgn);
  addF64(acc + 40, <f64>nNan);
  addF64(acc + 48, <f64>nInf);
  addF64(acc + 56, <f64>nCorrect);
  if (<u32>ignoreIndex < <u32>C && nIgn) addF64(ignP + (<usize>ignoreIndex << 3), <f64>nIgn);
  return -1;
}

// One function per element type and variant, each with its constants folded in.
function rowsF32(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, 0, C, r0, r1, ii, 0, oL, oP, acc, cf, DT_F32, false, false);
}
function rowsF32W(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, w, C, r0, r1, ii, 0, oL, oP, acc, cf, DT_F32, false, true);
}
function rowsF32S(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, 0, C, r0, r1, ii, eps, oL, oP, acc, cf, DT_F32, true, false);
}
function rowsF32SW(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, w, C, r0, r1, ii, eps, oL, oP, acc, cf, DT_F32, true, true);
}
function rowsF16(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, 0, C, r0, r1, ii, 0, oL, oP, acc, cf, DT_F16, false, false);
}
function rowsF16W(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, w, C, r0, r1, ii, 0, oL, oP, acc, cf, DT_F16, false, true);
}
function rowsF16S(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, 0, C, r0, r1, ii, eps, oL, oP, acc, cf, DT_F16, true, false);
}
function rowsF16SW(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, w, C, r0, r1, ii, eps, oL, oP, acc, cf, DT_F16, true, true);
}
function rowsBF16(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, 0, C, r0, r1, ii, 0, oL, oP, acc, cf, DT_BF16, false, false);
}
function rowsBF16W(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, w, C, r0, r1, ii, 0, oL, oP, acc, cf, DT_BF16, false, true);
}
function rowsBF16S(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, 0, C, r0, r1, ii, eps, oL, oP, acc, cf, DT_BF16, true, false);
}
function rowsBF16SW(x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ii: i32, eps: f64, oL: usize, oP: usize, acc: usize, cf: usize): i32 {
  return rowsBody(x, t, w, C, r0, r1, ii, eps, oL, oP, acc, cf, DT_BF16, true, true);
}

function ceRows(
  x: usize, t: usize, w: usize, C: i32, r0: i32, r1: i32, ignoreIndex: i32, eps: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize, DT: i32,
): i32 {
  if (r1 <= r0) return -1;
  if (C < 1) return noClasses(t, r0, r1, ignoreIndex, outLoss, outPred, acc);
  // Targets first: a bad one returns before anything is written.
  const bad = firstBadRow(t, C, r0, r1, ignoreIndex);
  if (bad >= 0) return bad;
  const v = (eps > 0 ? 2 : 0) + (w ? 1 : 0);
  if (DT == DT_F32) {
    if (v == 0) return rowsF32(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
    if (v == 1) return rowsF32W(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
    if (v == 2) return rowsF32S(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
    return rowsF32SW(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
  }
  if (DT == DT_F16) {
    if (v == 0) return rowsF16(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
    if (v == 1) return rowsF16W(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
    if (v == 2) return rowsF16S(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
    return rowsF16SW(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
  }
  if (v == 0) return rowsBF16(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
  if (v == 1) return rowsBF16W(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
  if (v == 2) return rowsBF16S(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
  return rowsBF16SW(x, t, w, C, r0, r1, ignoreIndex, eps, outLoss, outPred, acc, confusion);
}

/**
 * Cross-entropy of rows [r0, r1) of float32 logits x [rows, C] (row i's classes at x + 4 (i C + c)).
 * t: i32 (rows); w: f32 (C) or 0; outLoss: f32 (rows); outPred: i32 (rows) or 0; acc: f64 accumulators
 * as ceIndexF32's (8 + 4C), added to; confusion: f64 (C, C) [target * C + predicted] or 0, added to.
 * rows is not read (the signature matches ceIndexF32's). Returns -1, or the first row in [r0, r1) whose
 * target is neither in [0, C) nor ignoreIndex; nothing is written then.
 */
export function ceRowsF32(
  x: usize, t: usize, w: usize, C: i32, rows: i32, r0: i32, r1: i32, ignoreIndex: i32, labelSmoothing: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  return ceRows(x, t, w, C, r0, r1, ignoreIndex, labelSmoothing, outLoss, outPred, acc, confusion, DT_F32);
}

/** ceRowsF32 on float16 logits (IEEE binary16 bit patterns, 2 bytes each, row i at x + 2 i C). */
export function ceRowsF16(
  x: usize, t: usize, w: usize, C: i32, rows: i32, r0: i32, r1: i32, ignoreIndex: i32, labelSmoothing: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  return ceRows(x, t, w, C, r0, r1, ignoreIndex, labelSmoothing, outLoss, outPred, acc, confusion, DT_F16);
}

/** ceRowsF32 on bfloat16 logits (the upper 16 bits of a float32, 2 bytes each, row i at x + 2 i C). */
export function ceRowsBF16(
  x: usize, t: usize, w: usize, C: i32, rows: i32, r0: i32, r1: i32, ignoreIndex: i32, labelSmoothing: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  return ceRows(x, t, w, C, r0, r1, ignoreIndex, labelSmoothing, outLoss, outPred, acc, confusion, DT_BF16);
}

/**
 * Widens n float16 (dtype 1) or bfloat16 (dtype 2) values at src (2 bytes each) to float32 at dst, exactly
 * as the row kernels read them (float16: subnormals, infinities and NaN included). The ranges must not
 * overlap. Other dtypes: nothing happens.
 */
export function widenToF32(src: usize, dst: usize, n: i32, dtype: i32): void {
  if (dtype == DT_F16) widen(src, dst, n, DT_F16);
  else if (dtype == DT_BF16) widen(src, dst, n, DT_BF16);
}

@inline function widen(src: usize, dst: usize, n: i32, DT: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const q = src + (<usize>i << 1);
    const d = dst + (<usize>i << 2);
    v128.store(d, loadK(q, 0, DT));
    v128.store(d, loadK(q, 1, DT), 16);
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), elemAt(src, i, DT));
}
