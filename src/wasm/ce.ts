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
// - Two passes over C per 16 pixels (4 x f32x4: one 64-byte line of every class row, which matters when
//   rows are a power-of-two apart and alias in the caches). Pass 1 finds each pixel's max m and argmax
//   (first max). Pass 2, over the same C lines (from L1 in the block layout), sums
//   e = sum_{c != argmax} exp(x[c] - m): every argument is <= 0, so nothing overflows, no reference moves
//   and nothing is rescaled; the max's exact 1 is left out, so a small e keeps its relative accuracy.
//   Then loss = (m - x[t]) + log1p(e): m - x[t] >= 0 exactly in f64, and log1p(e) <= loss, so a relative
//   error of e's becomes at most that relative error of the loss, confident pixels (losses of 1e-6 and
//   less) included. There is no second look at any pixel. (The single pass this replaced summed against
//   x[class 0] and had to redo every loss below ~2 against the max: half of the vectors of a 21-class
//   batch, and all of a confident model's.)
// - exp: 2^y = 2^n * p(y - n), p(0) = 1, p of degree 5 (relative error 1.9e-7 evaluated in f32; degree 4's
//   2.9e-6 would pass straight into a confident pixel's loss). The sum is accumulated in f32 in class
//   order over chunks of ECHUNK = 32 classes, the chunks' sums in f64: one f32 sum over 50,257 classes
//   (logits [B, V, T]) lost its small terms next to a large partial sum, up to 39 times the bound. The f32 roundings of x - m and of its product with log2 e cost
//   ~1.2e-7 per unit of m - x relative to a term of size e^(x - m), which stays below 5e-8 absolute.
// - log1p(e) in f32 (log1p4: exponent, atanh series of the mantissa, and the part of e that rounding 1 + e
//   lost, divided by 1 + e), within ~2e-7 of itself; the loss and everything after it in f64, stored as
//   f32. Measured: every element within 2e-6 |loss| + 2e-7 of float64 (worst ~0.16 of that bound) on
//   random, confident and adversarial pixels (test/unit/wasm/ceKernel.test.ts).
// - Every lane runs the same operations whatever its group, so a pixel's results (loss bits, argmax) do
//   not depend on how a range is split between calls.
// - Label smoothing: sum_c w[c] (x[c] - m) in f64 in pass 2 (see smoothTerm): unweighted every term is
//   <= 0, so the smoothed loss W log1p(e) + sum_c (m - x[c]) adds terms of one sign; weighted (weights of
//   either sign) each x[c] - m is exact in f64, so only f64 roundings meet the cancellation.
// - Pixels with NaN or +Inf, or all -Inf, fail the fast path's check (e NaN or m not finite; with label
//   smoothing also a non-finite smoothing sum); they are marked in outLoss and redone at the end by an exact
//   float64 port of the reference loops (src/kernel/losses/crossEntropy.ts) using the host's Math.exp/Math.log,
//   so NaN and Inf land exactly where PyTorch puts them. A -Inf logit elsewhere stays on the fast path
//   (exp's argument is clamped to 2^-125: nothing next to the loss's bound).
//
// Rows (logits [rows, C], row i's classes contiguous: classification [N, C], class-last [B, T, V] seen as
// [B*T, V]; float32, or float16 / bfloat16 widened exactly while loaded). SIMD across the classes of one
// row, one pass over the row's memory, O(C) per row whatever C (1 to 262144 tested):
// - The row is read in blocks of RB = 256 logits, 16 per step (4 x f32x4). One reference r per row (all
//   lanes), first the max of the row's first 64 logits. Per block: the lanes' sums of exp(x - r) in f32
//   (the exp2c polynomial: degree 4, with class weights degree 5), the block's max (pmax) and, with label
//   smoothing, U = sum_c w[c] (x[c] - r) in f64, each x[c] - r exact (f32 operands), so U has no error
//   worth the name; when r moves to r', U becomes U - W_before (r' - r) and the block's part is redone.
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
//   confident and adversarial rows, test/unit/wasm/ceRows.test.ts). With label smoothing the loss is
//   (1 - eps) w[t] ((r - x[t]) + log sum) + eps / C (W log sum - U): the sum's error enters it times
//   (1 - eps) w[t] + eps W / C, so that factor times the same bound decides the second pass (a weight
//   only on the max class leaves a tiny loss whatever the target's). Measured worst |loss - float64 reference| / max(1, |reference|) on adversarial rows
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

// Softmax focal's pass over the losses this kernel writes (its own file; one module, one memory).
export { focalInPlace } from './softmaxFocal';

const RESERVED: i32 = 65536;
const LN2: f64 = 0.6931471805599453;
// A row's loss below REFINE_BASE + REFINE_SLOPE * (max - reference) is recomputed against the max
// (refineRow): the one-pass error (exp polynomial ~2.9e-6 of the sum, f32 sum roundings, and the f32
// roundings of x - r and of its product with log2 e, ~1.2e-7 per unit of max - r) could exceed 2e-6 of it.
// Classes per f32 partial sum in the (C, S) kernel's pass 2; the sums of ECHUNK terms are added in f64.
const ECHUNK: i32 = 32;
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
 * exactly these bits: (m - m) + log1p(e) from this pass, and the same exact fallback (the argmax's logit
 * is the max, bit for bit). Ignored pixels get 0. `blocked` selects ceIndexF32Blocked's layout.
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
 * Adds w[c] (x[c] - m) of two lanes (lanes 0-1 of x, and of u = x[c] - m in f32; m64: the lanes' max in
 * f64) to their f64 sums. Each term is its class's own share of the smoothed loss,
 * W log(sum) + sum_c w[c] (m - x[c]). Unweighted every term is <= 0: the f32 rounding of x[c] - m is
 * relative to its share and nothing cancels. Weights may have either sign (PyTorch allows it), and then the
 * shares cancel, so a weighted term takes x[c] - m exactly, in f64 (f32 operands). (A sum shifted by
 * x[class 0], as before, cancelled even with weights >= 0: with x0 = -1e30, or 3000 below the max, and the
 * weight on the max class, the loss came out 0 or negative where PyTorch's is small and positive.)
 */
@inline function smoothTerm(a: v128, x: v128, u: v128, m64: v128, wc: v128, WEIGHTED: bool): v128 {
  if (WEIGHTED) return f64x2.add(a, f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(x), m64), wc));
  return f64x2.add(a, f64x2.promote_low_f32x4(u));
}

/** The max m of lanes 0-1 (hi: 2-3) in f64, for weighted smoothing terms; not needed (zero) otherwise. */
@inline function maxLo(m: v128, SMOOTH: bool, WEIGHTED: bool): v128 {
  return SMOOTH && WEIGHTED ? f64x2.promote_low_f32x4(m) : f32x4.splat(0);
}
@inline function maxHi(m: v128, SMOOTH: bool, WEIGHTED: bool): v128 {
  return SMOOTH && WEIGHTED ? f64x2.promote_low_f32x4(f32x4.shuffle(m, m, 2, 3, 2, 3)) : f32x4.splat(0);
}

/**
 * sum_{c != am} exp(x[c] - m) for the n (1-4) lanes at p (class stride row): m the lanes' max, am their
 * first argmax. Every argument is <= 0 and the max's own 1 is left out, so a small sum keeps its relative
 * accuracy (degree-5 exp, f32 sum); log1p4 turns it into log sum_c exp(x[c] - m).
 */
function sumBelowMax(p: usize, row: usize, C: i32, n: i32, m: v128, am: v128): v128 {
  const log2e = f32x4.splat(1.4426950408889634);
  const oneI = i32x4.splat(1);
  const zero = f32x4.splat(0);
  // The sums in class order and chunks, as body's 16-lane pass adds them: a pixel's bits do not depend
  // on its path.
  let eLo = zero, eHi = zero;
  let cv = i32x4.splat(0);
  for (let c0 = 0; c0 < C; c0 += ECHUNK) {
    const c1 = min(C, c0 + ECHUNK);
    let e = zero;
    for (let c = c0; c < c1; c++) {
      const t = exp2c(f32x4.mul(f32x4.sub(loadPartial(p, n), m), log2e), true);
      e = f32x4.add(e, v128.andnot(t, i32x4.eq(cv, am)));
      cv = i32x4.add(cv, oneI);
      p += row;
    }
    eLo = f64x2.add(eLo, f64x2.promote_low_f32x4(e));
    eHi = f64x2.add(eHi, f64x2.promote_low_f32x4(f32x4.shuffle(e, e, 2, 3, 2, 3)));
  }
  return demote4(eLo, eHi);
}

/** Lanes 0-1 from lo and 2-3 from hi, rounded to f32. */
@inline function demote4(lo: v128, hi: v128): v128 {
  return f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/**
 * log(1 + e) for 4 lanes, e >= 0 finite, in f32: log of u = fl(1 + e) (exponent and logMant), plus what
 * rounding 1 + e lost, (e - (u - 1)) / u (both subtractions exact), so a tiny e keeps its relative
 * accuracy. Within ~2e-7 of log1p(e) relative: a tenth of the per-element bound.
 */
@inline function log1p4(e: v128): v128 {
  const one = f32x4.splat(1.0);
  const u = f32x4.add(e, one);
  const lu = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(logExp(u)), f32x4.splat(<f32>LN2)), logMant(u));
  return f32x4.add(lu, f32x4.div(f32x4.sub(e, f32x4.sub(u, one)), u));
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
  const oneI = i32x4.splat(1);
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
    const p0 = p;
    // Pass 1 finds each lane's max m and first argmax; pass 2 sums e = sum_{c != argmax} exp(x[c] - m).
    let e0 = zero, e1 = zero, e2 = zero, e3 = zero;
    let i0 = zero, i1 = zero, i2 = zero, i3 = zero;
    let l0 = zero, l1 = zero, l2 = zero, l3 = zero;
    let h0 = zero, h1 = zero, h2 = zero, h3 = zero;
    let mx0 = zero, mx1 = zero, mx2 = zero, mx3 = zero;
    let cv = oneI;
    let nVec = 1;
    let n = 4;
    // Whole groups of 16 pixels at multiples of 16 (whole 64-byte lines when rows are aligned); the rest
    // goes 1 to 4 lanes at a time through the same per-lane arithmetic.
    if ((s & 15) == 0 && s1 - s >= 16) {
      nVec = 4;
      let m0 = v128.load(p), m1 = v128.load(p, 16), m2 = v128.load(p, 32), m3 = v128.load(p, 48);
      p += row;
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
        cv = i32x4.add(cv, oneI);
        p += row;
      }
      mx0 = m0; mx1 = m1; mx2 = m2; mx3 = m3;
      // Pass 2 over the same C lines (in L1 in the block layout): every argument is <= 0, so nothing
      // overflows and no reference moves; the max's own exact 1 is left out, so a small e keeps its
      // relative accuracy in f32 and log1p4 gives the small losses of confident pixels to 2e-6 of
      // themselves with no second look.
      // Eight pixels at a time: sixteen lanes' maxima, argmaxes and sums beside the polynomial's constants
      // outgrow the 16 vector registers, and the spills cost more (3-4% of the kernel) than reading the
      // block's lines from L1 twice.
      // The f32 sums are flushed to f64 every ECHUNK classes: one f32 sum over thousands of classes
      // (logits [B, V, T]) loses the small terms next to a large partial sum.
      p = p0;
      let cc = i32x4.splat(0);
      let E0l = zero, E0h = zero, E1l = zero, E1h = zero;
      let mLo0 = maxLo(m0, SMOOTH, WEIGHTED), mHi0 = maxHi(m0, SMOOTH, WEIGHTED);
      let mLo1 = maxLo(m1, SMOOTH, WEIGHTED), mHi1 = maxHi(m1, SMOOTH, WEIGHTED);
      for (let ca = 0; ca < C; ca += ECHUNK) {
        const cb = min(C, ca + ECHUNK);
        let s0 = zero, s1 = zero;
        for (let c = ca; c < cb; c++) {
          const v0 = v128.load(p);
          const v1 = v128.load(p, 16);
          const u0 = f32x4.sub(v0, m0);
          const u1 = f32x4.sub(v1, m1);
          const t0 = exp2c(f32x4.mul(u0, log2e), true);
          const t1 = exp2c(f32x4.mul(u1, log2e), true);
          s0 = f32x4.add(s0, v128.andnot(t0, i32x4.eq(cc, i0)));
          s1 = f32x4.add(s1, v128.andnot(t1, i32x4.eq(cc, i1)));
          if (SMOOTH) {
            // Label smoothing: sum_c w[c] (x[c] - m) per lane in f64 (lanes 0-1 in l, 2-3 in h); see smoothTerm.
            const wc = WEIGHTED ? f64x2.splat(<f64>load<f32>(w + (<usize>c << 2))) : zero;
            l0 = smoothTerm(l0, v0, u0, mLo0, wc, WEIGHTED);
            h0 = smoothTerm(h0, f32x4.shuffle(v0, v0, 2, 3, 2, 3), f32x4.shuffle(u0, u0, 2, 3, 2, 3), mHi0, wc, WEIGHTED);
            l1 = smoothTerm(l1, v1, u1, mLo1, wc, WEIGHTED);
            h1 = smoothTerm(h1, f32x4.shuffle(v1, v1, 2, 3, 2, 3), f32x4.shuffle(u1, u1, 2, 3, 2, 3), mHi1, wc, WEIGHTED);
          }
          cc = i32x4.add(cc, oneI);
          p += row;
        }
        if (C <= ECHUNK) {
          // One chunk (most segmentation models): its f32 sums are the results, as f64 would round them.
          E0l = s0;
          E1l = s1;
          break;
        }
        E0l = f64x2.add(E0l, f64x2.promote_low_f32x4(s0));
        E0h = f64x2.add(E0h, f64x2.promote_low_f32x4(f32x4.shuffle(s0, s0, 2, 3, 2, 3)));
        E1l = f64x2.add(E1l, f64x2.promote_low_f32x4(s1));
        E1h = f64x2.add(E1h, f64x2.promote_low_f32x4(f32x4.shuffle(s1, s1, 2, 3, 2, 3)));
      }
      e0 = C <= ECHUNK ? E0l : demote4(E0l, E0h);
      e1 = C <= ECHUNK ? E1l : demote4(E1l, E1h);
      p = p0;
      cc = i32x4.splat(0);
      E0l = zero; E0h = zero; E1l = zero; E1h = zero;
      mLo0 = maxLo(m2, SMOOTH, WEIGHTED); mHi0 = maxHi(m2, SMOOTH, WEIGHTED);
      mLo1 = maxLo(m3, SMOOTH, WEIGHTED); mHi1 = maxHi(m3, SMOOTH, WEIGHTED);
      for (let ca = 0; ca < C; ca += ECHUNK) {
        const cb = min(C, ca + ECHUNK);
        let s2 = zero, s3 = zero;
        for (let c = ca; c < cb; c++) {
          const v2 = v128.load(p, 32);
          const v3 = v128.load(p, 48);
          const u2 = f32x4.sub(v2, m2);
          const u3 = f32x4.sub(v3, m3);
          const t2 = exp2c(f32x4.mul(u2, log2e), true);
          const t3 = exp2c(f32x4.mul(u3, log2e), true);
          s2 = f32x4.add(s2, v128.andnot(t2, i32x4.eq(cc, i2)));
          s3 = f32x4.add(s3, v128.andnot(t3, i32x4.eq(cc, i3)));
          if (SMOOTH) {
            const wc = WEIGHTED ? f64x2.splat(<f64>load<f32>(w + (<usize>c << 2))) : zero;
            l2 = smoothTerm(l2, v2, u2, mLo0, wc, WEIGHTED);
            h2 = smoothTerm(h2, f32x4.shuffle(v2, v2, 2, 3, 2, 3), f32x4.shuffle(u2, u2, 2, 3, 2, 3), mHi0, wc, WEIGHTED);
            l3 = smoothTerm(l3, v3, u3, mLo1, wc, WEIGHTED);
            h3 = smoothTerm(h3, f32x4.shuffle(v3, v3, 2, 3, 2, 3), f32x4.shuffle(u3, u3, 2, 3, 2, 3), mHi1, wc, WEIGHTED);
          }
          cc = i32x4.add(cc, oneI);
          p += row;
        }
        if (C <= ECHUNK) {
          // One chunk (most segmentation models): its f32 sums are the results, as f64 would round them.
          E0l = s2;
          E1l = s3;
          break;
        }
        E0l = f64x2.add(E0l, f64x2.promote_low_f32x4(s2));
        E0h = f64x2.add(E0h, f64x2.promote_low_f32x4(f32x4.shuffle(s2, s2, 2, 3, 2, 3)));
        E1l = f64x2.add(E1l, f64x2.promote_low_f32x4(s3));
        E1h = f64x2.add(E1h, f64x2.promote_low_f32x4(f32x4.shuffle(s3, s3, 2, 3, 2, 3)));
      }
      e2 = C <= ECHUNK ? E0l : demote4(E0l, E0h);
      e3 = C <= ECHUNK ? E1l : demote4(E1l, E1h);
    } else {
      n = min(s1 - s, 4 - (s & 3));
      let m0 = loadPartial(p, n);
      p += row;
      for (let c = 1; c < C; c++) {
        const v0 = loadPartial(p, n);
        i0 = i32x4.max_s(i0, v128.and(f32x4.gt(v0, m0), cv));
        m0 = f32x4.pmax(m0, v0);
        cv = i32x4.add(cv, oneI);
        p += row;
      }
      mx0 = m0;
      e0 = sumBelowMax(p0, row, C, n, m0, i0);
      if (SMOOTH) {
        p = p0;
        const mLo = maxLo(m0, SMOOTH, WEIGHTED), mHi = maxHi(m0, SMOOTH, WEIGHTED);
        for (let c = 0; c < C; c++) {
          const wc = WEIGHTED ? f64x2.splat(<f64>load<f32>(w + (<usize>c << 2))) : zero;
          const v0 = loadPartial(p, n);
          const u0 = f32x4.sub(v0, m0);
          l0 = smoothTerm(l0, v0, u0, mLo, wc, WEIGHTED);
          h0 = smoothTerm(h0, f32x4.shuffle(v0, v0, 2, 3, 2, 3), f32x4.shuffle(u0, u0, 2, 3, 2, 3), mHi, wc, WEIGHTED);
          p += row;
        }
      }
    }

    // Fast-path results hold where the max is finite and the sum is not NaN (a NaN logit).
    let ok0 = finite(mx0, e0), ok1 = finite(mx1, e1), ok2 = finite(mx2, e2), ok3 = finite(mx3, e3);

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
        // An infinite or NaN smoothing sum (a -Inf logit, x - m overflowing, 0 * Inf) takes the exact path.
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

      // -log p[t] = (m - x[t]) + log(1 + e), in f64.
      const L4 = log1p4(e0);
      const LLo = f64x2.promote_low_f32x4(L4);
      const LHi = f64x2.promote_low_f32x4(f32x4.shuffle(L4, L4, 2, 3, 2, 3));
      const rLo = f64x2.promote_low_f32x4(mx0);
      const rHi = f64x2.promote_low_f32x4(f32x4.shuffle(mx0, mx0, 2, 3, 2, 3));
      const xtLo = f64x2.promote_low_f32x4(xt);
      const xtHi = f64x2.promote_low_f32x4(f32x4.shuffle(xt, xt, 2, 3, 2, 3));
      let nLo = f64x2.add(f64x2.sub(rLo, xtLo), LLo);
      let nHi = f64x2.add(f64x2.sub(rHi, xtHi), LHi);
      // ceIndexF32Top: the argmax's own loss, (m - m) + log1p(e), bit for bit what a call with the argmax as
      // target (no weight, no smoothing) computes.
      const outTop = gOutTop;
      if (outTop) {
        const badT = v128.andnot(v128.andnot(valid, okPlain), ign);
        const skipT = v128.or(v128.or(ign, badT), v128.not(valid));
        const topLo = v128.andnot(f64x2.add(f64x2.sub(rLo, rLo), LLo), i64x2.extend_low_i32x4_s(skipT));
        const topHi = v128.andnot(f64x2.add(f64x2.sub(rHi, rHi), LHi), i64x2.extend_high_i32x4_s(skipT));
        let tOut = f32x4.shuffle(f32x4.demote_f64x2_zero(topLo), f32x4.demote_f64x2_zero(topHi), 0, 1, 4, 5);
        // Lanes the plain pass could not take (NaN, +Inf, all -Inf) wait for slowPass, as their loss does.
        tOut = v128.bitselect(i32x4.splat(MARK), tOut, badT);
        if (n == 4) v128.store(outTop + (<usize>s << 2), tOut);
        else storePartial(outTop + (<usize>s << 2), tOut, n);
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
        // -sum_c w[c] log p[c] = W log(sum) + sum_c w[c] (m - x[c]): with weights >= 0 every term is >= 0.
        const Wv = f64x2.splat(W);
        const smLo = f64x2.sub(f64x2.mul(Wv, LLo), l0);
        const smHi = f64x2.sub(f64x2.mul(Wv, LHi), h0);
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
      e0 = e1; e1 = e2; e2 = e3;
      i0 = i1; i1 = i2; i2 = i3;
      l0 = l1; l1 = l2; l2 = l3;
      h0 = h1; h1 = h2; h2 = h3;
      mx0 = mx1; mx1 = mx2; mx2 = mx3;
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

/** The reference loops for one pixel, float64, NaN-first argmax (src/kernel/losses/crossEntropy.ts rowStats). */
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
// the first block holding it, and with label smoothing sum_c w[c] (x[c] - r) in f64.
let gRowR: f32 = 0;
let gRowZ: f64 = 0;
let gRowMax: f32 = 0;
let gRowBlk: i32 = 0;
let gRowU: f64 = 0;

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
 * The reference loops for one row, float64 (src/kernel/losses/crossEntropy.ts rowStats): max and NaN-first
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

/** w[c] (x[c] - r) of lanes 0-1 of v (x) and wv (w), in f64: the difference of two f32 values is exact there. */
@inline function smoothLo(v: v128, wv: v128, r64: v128, WEIGHTED: bool): v128 {
  const d = f64x2.sub(f64x2.promote_low_f32x4(v), r64);
  return WEIGHTED ? f64x2.mul(d, f64x2.promote_low_f32x4(wv)) : d;
}

/** smoothLo of lanes 2-3. */
@inline function smoothHi(v: v128, wv: v128, r64: v128, WEIGHTED: bool): v128 {
  return smoothLo(f32x4.shuffle(v, v, 2, 3, 2, 3), f32x4.shuffle(wv, wv, 2, 3, 2, 3), r64, WEIGHTED);
}

/** sum_{c in [c0, c1)} w[c] (x[c] - r) in f64, for a block whose reference moved (rare: no SIMD). */
function blockSmooth(p: usize, c0: i32, c1: i32, w: usize, r: f32, DT: i32): f64 {
  let u: f64 = 0;
  for (let c = c0; c < c1; c++) {
    const d = <f64>elemAt(p, c, DT) - <f64>r;
    u += w ? d * <f64>load<f32>(w + (<usize>c << 2)) : d;
  }
  return u;
}

/**
 * One row's pass over its logits (see "Rows" in the header): fills gRowR, gRowZ, gRowMax, gRowBlk and,
 * with SMOOTH, gRowU. Results hold when gRowMax is finite and gRowZ (and gRowU) are.
 */
@inline function rowPass(p: usize, C: i32, w: usize, DT: i32, SMOOTH: bool, WEIGHTED: bool, DEG5: bool): void {
  const ES: usize = DT == DT_F32 ? 4 : 2;
  const zero = f32x4.splat(0);
  const ninf = f32x4.splat(-Infinity);
  const lanes = i32x4(0, 1, 2, 3);
  let r = seedMax(p, min(C, SEED), DT);
  // Seeds all -Inf (or NaN): a finite reference keeps x - r clear of -Inf - -Inf.
  if (!(r >= -FLT_MAX)) r = -FLT_MAX;
  let rv = f32x4.splat(r);
  let r64 = f64x2.splat(<f64>r);
  let zLo = zero, zHi = zero;
  // With SMOOTH: U against the current r; the weights of the classes before wDone sum to wSum.
  let u: f64 = 0, wSum: f64 = 0;
  let wDone = 0;
  let gmax: f32 = -Infinity;
  let gblk = 0;
  for (let c0 = 0; c0 < C; c0 += RB) {
    const c1 = min(C, c0 + RB);
    // One accumulator each (fewer registers than one per vector: V8 has 16 for SIMD).
    let z = zero;
    let b = ninf;
    let uLo = zero, uHi = zero;
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
        const wq = w + (<usize>c << 2);
        const w0 = WEIGHTED ? v128.load(wq) : zero;
        const w1 = WEIGHTED ? v128.load(wq, 16) : zero;
        const w2 = WEIGHTED ? v128.load(wq, 32) : zero;
        const w3 = WEIGHTED ? v128.load(wq, 48) : zero;
        uLo = f64x2.add(uLo, f64x2.add(
          f64x2.add(smoothLo(v0, w0, r64, WEIGHTED), smoothLo(v1, w1, r64, WEIGHTED)),
          f64x2.add(smoothLo(v2, w2, r64, WEIGHTED), smoothLo(v3, w3, r64, WEIGHTED))));
        uHi = f64x2.add(uHi, f64x2.add(
          f64x2.add(smoothHi(v0, w0, r64, WEIGHTED), smoothHi(v1, w1, r64, WEIGHTED)),
          f64x2.add(smoothHi(v2, w2, r64, WEIGHTED), smoothHi(v3, w3, r64, WEIGHTED))));
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
        // Lanes past the row read as r: a zero difference.
        const vr = v128.bitselect(v, rv, valid);
        const wv = WEIGHTED ? loadPartial(w + (<usize>c << 2), n) : zero;
        uLo = f64x2.add(uLo, smoothLo(vr, wv, r64, WEIGHTED));
        uHi = f64x2.add(uHi, smoothHi(vr, wv, r64, WEIGHTED));
      }
      q += ES << 2;
    }
    const bmax = hmax(b);
    if (<f64>bmax > <f64>r + RJUMP) {
      // The block's sums (possibly overflowed) are redone against its max; the sums so far rescaled in f64.
      const f = f64x2.splat(jsExp(<f64>r - <f64>bmax));
      zLo = f64x2.mul(zLo, f);
      zHi = f64x2.mul(zHi, f);
      if (SMOOTH) {
        // U of the earlier blocks moves with r (every x there is below r + 8 < bmax, so the loss holds at
        // least W_before (bmax - r - 8) and the f64 subtraction is small next to it); this block's terms,
        // up to bmax - r each, are redone against bmax.
        if (WEIGHTED) {
          for (let c = wDone; c < c0; c++) wSum += <f64>load<f32>(w + (<usize>c << 2));
        } else {
          wSum = <f64>c0;
        }
        wDone = c0;
        u -= wSum * (<f64>bmax - <f64>r);
        const ub = blockSmooth(p, c0, c1, w, bmax, DT);
        uLo = f64x2.replace_lane(zero, 0, ub);
        uHi = zero;
      }
      r = bmax;
      rv = f32x4.splat(r);
      r64 = f64x2.splat(<f64>r);
      z = blockExpSum(p + <usize>c0 * ES, c1 - c0, r, DT, DEG5);
    }
    if (SMOOTH) {
      const uu = f64x2.add(uLo, uHi);
      u += f64x2.extract_lane(uu, 0) + f64x2.extract_lane(uu, 1);
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
  if (SMOOTH) gRowU = u;
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
      // A small loss whose one-pass error could exceed 2e-6 of it: the sum again, against the max. The
      // sum's error, below 2e-6 (REFINE_BASE + REFINE_SLOPE (max - r)), enters the loss times the factor
      // of log sum in it: w[t] alone, or with label smoothing (1 - eps) w[t] + eps W / C.
      const bound = <f64>REFINE_BASE + <f64>REFINE_SLOPE * (<f64>gRowMax - rr);
      const refine = SMOOTH
        ? abs((1 - eps) * wt + mix * W) * bound > abs((1 - eps) * wt * base + mix * (W * ls - gRowU))
        : base < bound;
      if (refine) {
        rr = <f64>gRowMax;
        ls = log1pPos(refineRow(p, C, gRowMax, pk, DT));
        base = (rr - xt) + ls;
      }
      nll = wt * base;
      loss = nll;
      if (SMOOTH) {
        // -sum_c w[c] log p[c] = W (rr - r + log sum) - sum_c w[c] (x[c] - r), rr the sum's reference
        sm = W * ((rr - <f64>gRowR) + ls) - gRowU;
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
