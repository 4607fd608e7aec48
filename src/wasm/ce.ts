// WebAssembly SIMD cross-entropy kernel (AssemblyScript) for float32 logits (C, S) and int32 class-index
// targets: per-element loss, argmax and the UI's statistics in one streaming pass over the logits.
//
// Memory: the module imports env.memory (shared between worker threads) and owns none of it: no data
// segments, no allocator use, no shadow stack. reservedBytes() is the prefix the engine keeps free anyway.
// Per-call state lives in locals and globals; each worker has its own instance, so globals are private.
//
// Numerics (test/unit/wasm checks them against the float64 reference):
// - One pass over C per 16 pixels (4 x f32x4, one 64-byte line per class row), online softmax: a running
//   max m and a sum rescaled when the max moves. Both cases need exp(-|x - m|) only: one exp per logit.
// - exp: 2^y = 2^n * p(y - n), p of degree 5 with p(0) = 1 (relative error 1.9e-7 in f32).
// - log(sum) per pixel: exponent in f64, mantissa term in f32 (atanh series).
// - Loss and everything after it in f64 (m - x[t] exact), stored as f32.
// - Every lane runs the same operations whatever the lane and group, so a pixel's results (loss bits,
//   argmax) do not depend on how a range is split between calls.
// - Rows with NaN or +Inf, or only values <= -FLT_MAX, fail the fast path's check (sum NaN, or m outside
//   (-FLT_MAX, +Inf)); they are marked in outLoss and redone at the end by an exact float64 port of the
//   reference loops (src/kernel/crossEntropy.ts) using the host's Math.exp/Math.log, so NaN and Inf land
//   exactly where PyTorch puts them. -Inf logits stay on the fast path (exp gives ~2^-125 there).

@external('env', 'exp') declare function jsExp(x: f64): f64;
@external('env', 'log') declare function jsLog(x: f64): f64;

const RESERVED: i32 = 65536;
// A logit this far above its lane's reference moves the reference (and rescales the sum); the sum stays
// below C * e^JUMP, and rescaling (whose rounding would compound) happens about once per JUMP of range.
const JUMP: f32 = 16;
// Vectors of 4 pixels per group on the fast path (4: one 64-byte line per class row; 2 or 4).
const TILE: i32 = 4;
const EXP_DEG5: bool = true;
const CV_SPLAT: bool = false;
const LN2: f64 = 0.6931471805599453;
// A signalling-NaN pattern: arithmetic never produces it, so it can mark pixels awaiting the exact path.
const MARK: i32 = 0x7fbadbad;

/** Bytes at the start of memory the engine must leave unused (this module keeps nothing there today). */
export function reservedBytes(): i32 {
  const hb = <i32>__heap_base;
  return hb > RESERVED ? (hb + 65535) & ~65535 : RESERVED;
}

// Fast-path accumulators, f64x2 sums and i32x4 counts, folded into acc at the end of a call.
let aNum: v128 = f64x2.splat(0);
let aDen: v128 = f64x2.splat(0);
let aNll: v128 = f64x2.splat(0);
let aSm: v128 = f64x2.splat(0);
let aCnt: v128 = i32x4.splat(0);
let aIgn: v128 = i32x4.splat(0);
let aNan: v128 = i32x4.splat(0);
let aInf: v128 = i32x4.splat(0);
let aCorrect: v128 = i32x4.splat(0);
// Pixels marked for the exact path lie in [slowFirst, slowLast].
let slowFirst: i32 = 0;
let slowLast: i32 = 0;
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
  return body(x, t, w, C, S, s0, s1, ignoreIndex, 0, outLoss, outPred, acc, confusion, false);
}

function runSmooth(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, eps: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): i32 {
  return body(x, t, w, C, S, s0, s1, ignoreIndex, eps, outLoss, outPred, acc, confusion, true);
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
 * 2^y for 4 lanes, y <= 23 (smaller y clamped to -125, where 2^y is negligible next to the sum's 1):
 * 2^n * p(y - n), n = round(y). A NaN y gives NaN (2^n is multiplied in, not added to the bits).
 */
@inline function exp2c(y0: v128): v128 {
  const one = f32x4.splat(1.0);
  const y = f32x4.pmax(y0, f32x4.splat(-125.0));
  // Adding 1.5 * 2^23 rounds y to an integer n (ties to even) and leaves n in the low mantissa bits.
  const r = f32x4.add(y, f32x4.splat(12582912.0));
  const f = f32x4.sub(y, f32x4.sub(r, f32x4.splat(12582912.0)));
  let q: v128;
  if (EXP_DEG5) {
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
@inline function rescale(sum: v128, d: v128, b: v128): v128 {
  const one = f32x4.splat(1.0);
  const e = exp2c(f32x4.mul(v128.xor(d, v128.and(b, f32x4.splat(-0.0))), f32x4.splat(1.4426950408889634)));
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
  let q = f32x4.add(f32x4.mul(z2, f32x4.splat(0.2222222222222222)), f32x4.splat(0.2857142857142857));
  q = f32x4.add(f32x4.mul(q, z2), f32x4.splat(0.4));
  q = f32x4.add(f32x4.mul(q, z2), f32x4.splat(0.6666666666666666));
  q = f32x4.add(f32x4.mul(q, z2), f32x4.splat(2.0));
  return f32x4.mul(z, q);
}

@inline function logExp(v: v128): v128 {
  return i32x4.shr_s(i32x4.sub(v, i32x4.splat(0x3f3504f3)), 23);
}

/** The per-class statistics of one pixel the fast path counted (skip == 0) or an ignored one. */
@inline function scatter(
  tk: i32, pk: i32, lk: f64, skipK: i32, ignK: i32, C: i32, lossSumP: usize, confusion: usize,
): void {
  const C8: usize = <usize>C << 3;
  if (skipK == 0) {
    addF64(lossSumP + (<usize>tk << 3), lk);
    addF64(lossSumP + C8 + (<usize>tk << 3), 1);
    addF64(lossSumP + 2 * C8 + (<usize>pk << 3), 1);
    if (confusion) addF64(confusion + ((<usize>tk * <usize>C + <usize>pk) << 3), 1);
  } else if (ignK != 0 && <u32>tk < <u32>C) {
    addF64(lossSumP + 3 * C8 + (<usize>tk << 3), 1);
  }
}

/**
 * Loss, argmax output and statistics of the 4 pixels [s, s + 4) (the first n when PARTIAL) from their
 * row results: r (reference), z (sum of exp(x - r)), iv (argmax), x0 (class 0 logits) and sl/sh
 * (smoothing: sum_c w[c] (x[c] - x0) of lanes 0-1 and 2-3). Returns -1 or the first pixel with an
 * out-of-range target.
 */
@inline function finish(
  x: usize, t: usize, w: usize, C: i32, S: i32, s: i32, ignoreIndex: i32, eps: f64, epsC: f64, W: f64,
  outLoss: usize, outPred: usize, lossSumP: usize, confusion: usize,
  r: v128, z: v128, iv: v128, sl: v128, sh: v128, x0: v128, n: i32, PARTIAL: bool, SMOOTH: bool,
): i32 {
  const lanes = i32x4(0, 1, 2, 3);
  const valid = PARTIAL ? i32x4.lt_s(lanes, i32x4.splat(n)) : i32x4.splat(-1);
  const tp = t + (<usize>s << 2);
  const tv = PARTIAL ? loadPartial(tp, n) : v128.load(tp);
  const ign = v128.and(i32x4.eq(tv, i32x4.splat(ignoreIndex)), valid);
  const oob = v128.and(v128.andnot(i32x4.ge_u(tv, i32x4.splat(C)), ign), valid);
  if (v128.any_true(oob)) return s + ctz(i32x4.bitmask(oob));

  // A finite reference and sum: no NaN, no +Inf, not all -Inf in the row.
  let ok = v128.and(
    v128.and(f32x4.gt(r, f32x4.splat(-Infinity)), f32x4.lt(r, f32x4.splat(Infinity))),
    f32x4.eq(z, z),
  );
  if (SMOOTH) {
    // An infinite or NaN shifted sum (a -Inf logit, x[0] infinite, 0 * Inf) takes the exact path.
    const zd = f64x2.splat(0);
    ok = v128.and(ok, i32x4.shuffle(f64x2.eq(f64x2.sub(sl, sl), zd), f64x2.eq(f64x2.sub(sh, sh), zd), 0, 2, 4, 6));
  }
  const bad = v128.andnot(valid, ok);
  if (v128.any_true(bad)) {
    slowFirst = min(slowFirst, s);
    slowLast = max(slowLast, s + 3);
  }
  // Lanes the fast path leaves out of the sums: ignored, marked for the exact path, or past n.
  const skip = v128.or(v128.or(ign, bad), v128.not(valid));
  if (outPred) {
    if (PARTIAL) storePartial(outPred + (<usize>s << 2), iv, n);
    else v128.store(outPred + (<usize>s << 2), iv);
  }

  // Gather x[t] (and w[t]); skipped lanes read class 0 of a valid pixel, so every address is in bounds.
  const ts = v128.andnot(tv, skip);
  const ln = PARTIAL ? i32x4.min_s(lanes, i32x4.splat(n - 1)) : lanes;
  const off = i32x4.shl(i32x4.add(i32x4.mul(ts, i32x4.splat(S)), i32x4.add(i32x4.splat(s), ln)), 2);
  let xt = v128.load32_zero(x + <usize>i32x4.extract_lane(off, 0));
  xt = v128.load32_lane(x + <usize>i32x4.extract_lane(off, 1), xt, 1);
  xt = v128.load32_lane(x + <usize>i32x4.extract_lane(off, 2), xt, 2);
  xt = v128.load32_lane(x + <usize>i32x4.extract_lane(off, 3), xt, 3);

  const lm = logMant(z);
  const ke = logExp(z);
  const ln2 = f64x2.splat(LN2);
  const rLo = f64x2.promote_low_f32x4(r);
  const rHi = f64x2.promote_low_f32x4(f32x4.shuffle(r, r, 2, 3, 2, 3));
  const LLo = f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(ke), ln2), f64x2.promote_low_f32x4(lm));
  const LHi = f64x2.add(
    f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(ke, ke, 2, 3, 2, 3)), ln2),
    f64x2.promote_low_f32x4(f32x4.shuffle(lm, lm, 2, 3, 2, 3)),
  );
  // -log p[t] = (r - x[t]) + log(sum)
  let nLo = f64x2.add(f64x2.sub(rLo, f64x2.promote_low_f32x4(xt)), LLo);
  let nHi = f64x2.add(f64x2.sub(rHi, f64x2.promote_low_f32x4(f32x4.shuffle(xt, xt, 2, 3, 2, 3))), LHi);
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
    const x0Lo = f64x2.promote_low_f32x4(x0);
    const x0Hi = f64x2.promote_low_f32x4(f32x4.shuffle(x0, x0, 2, 3, 2, 3));
    const srLo = f64x2.sub(f64x2.mul(Wv, f64x2.add(f64x2.sub(rLo, x0Lo), LLo)), sl);
    const srHi = f64x2.sub(f64x2.mul(Wv, f64x2.add(f64x2.sub(rHi, x0Hi), LHi)), sh);
    const keep = f64x2.splat(1 - eps);
    const mix = f64x2.splat(epsC);
    lossLo = f64x2.add(f64x2.mul(keep, nLo), f64x2.mul(srLo, mix));
    lossHi = f64x2.add(f64x2.mul(keep, nHi), f64x2.mul(srHi, mix));
    aNll = f64x2.add(aNll, f64x2.add(v128.andnot(nLo, skipLo), v128.andnot(nHi, skipHi)));
    aSm = f64x2.add(aSm, f64x2.add(v128.andnot(srLo, skipLo), v128.andnot(srHi, skipHi)));
  }
  lossLo = v128.andnot(lossLo, skipLo);
  lossHi = v128.andnot(lossHi, skipHi);
  aNum = f64x2.add(aNum, f64x2.add(lossLo, lossHi));
  aCnt = i32x4.sub(aCnt, v128.not(skip));
  aIgn = i32x4.sub(aIgn, ign);
  aNan = i32x4.sub(aNan, i32x4.shuffle(f64x2.ne(lossLo, lossLo), f64x2.ne(lossHi, lossHi), 0, 2, 4, 6));
  const inf = f64x2.splat(Infinity);
  aInf = i32x4.sub(aInf, i32x4.shuffle(f64x2.eq(f64x2.abs(lossLo), inf), f64x2.eq(f64x2.abs(lossHi), inf), 0, 2, 4, 6));
  aCorrect = i32x4.sub(aCorrect, v128.andnot(i32x4.eq(iv, tv), skip));

  let out = f32x4.shuffle(f32x4.demote_f64x2_zero(lossLo), f32x4.demote_f64x2_zero(lossHi), 0, 1, 4, 5);
  out = v128.bitselect(i32x4.splat(MARK), out, bad);
  if (PARTIAL) storePartial(outLoss + (<usize>s << 2), out, n);
  else v128.store(outLoss + (<usize>s << 2), out);

  scatter(i32x4.extract_lane(tv, 0), i32x4.extract_lane(iv, 0), f64x2.extract_lane(lossLo, 0),
    i32x4.extract_lane(skip, 0), i32x4.extract_lane(ign, 0), C, lossSumP, confusion);
  if (!PARTIAL || n > 1) {
    scatter(i32x4.extract_lane(tv, 1), i32x4.extract_lane(iv, 1), f64x2.extract_lane(lossLo, 1),
      i32x4.extract_lane(skip, 1), i32x4.extract_lane(ign, 1), C, lossSumP, confusion);
  }
  if (!PARTIAL || n > 2) {
    scatter(i32x4.extract_lane(tv, 2), i32x4.extract_lane(iv, 2), f64x2.extract_lane(lossHi, 0),
      i32x4.extract_lane(skip, 2), i32x4.extract_lane(ign, 2), C, lossSumP, confusion);
  }
  if (!PARTIAL || n > 3) {
    scatter(i32x4.extract_lane(tv, 3), i32x4.extract_lane(iv, 3), f64x2.extract_lane(lossHi, 1),
      i32x4.extract_lane(skip, 3), i32x4.extract_lane(ign, 3), C, lossSumP, confusion);
  }
  return -1;
}

@inline function body(
  x: usize, t: usize, w: usize, C: i32, S: i32, s0: i32, s1: i32, ignoreIndex: i32, eps: f64,
  outLoss: usize, outPred: usize, acc: usize, confusion: usize, SMOOTH: bool,
): i32 {
  const row: usize = <usize>S << 2;
  const lossSumP: usize = acc + 64;
  const epsC: f64 = eps / <f64>C;
  let W: f64 = 0;
  if (SMOOTH) {
    if (w) {
      for (let c = 0; c < C; c++) W += <f64>load<f32>(w + (<usize>c << 2));
    } else {
      W = <f64>C;
    }
  }
  aNum = f64x2.splat(0);
  aDen = f64x2.splat(0);
  aNll = f64x2.splat(0);
  aSm = f64x2.splat(0);
  aCnt = i32x4.splat(0);
  aIgn = i32x4.splat(0);
  aNan = i32x4.splat(0);
  aInf = i32x4.splat(0);
  aCorrect = i32x4.splat(0);
  slowFirst = s1;
  slowLast = -1;

  const zero = f32x4.splat(0);
  const one = f32x4.splat(1.0);
  const oneI = i32x4.splat(1);
  const jump = f32x4.splat(JUMP);
  const log2e = f32x4.splat(1.4426950408889634);

  let s = s0;
  while (s < s1) {
    let p: usize = x + (<usize>s << 2);
    // Class 0 seeds the reference r, the max m (argmax 0) and the sum (exp(x0 - r) = 1).
    let i0 = zero, l0 = zero, h0 = zero;
    let z0 = one;
    let cv = oneI;
    // Whole groups of 4 * TILE pixels at multiples of 4 * TILE (with TILE 4, whole 64-byte lines when rows
    // are aligned); the rest goes 1 to 4 lanes at a time through the same per-lane arithmetic.
    if ((s & (TILE * 4 - 1)) == 0 && s1 - s >= TILE * 4) {
      const x00 = v128.load(p);
      const x01 = v128.load(p, 16);
      const x02 = TILE > 2 ? v128.load(p, 32) : zero;
      const x03 = TILE > 2 ? v128.load(p, 48) : zero;
      let r0 = x00, r1 = x01, r2 = x02, r3 = x03;
      let m0 = x00, m1 = x01, m2 = x02, m3 = x03;
      let z1 = one, z2 = one, z3 = one;
      let i1 = zero, i2 = zero, i3 = zero;
      let l1 = zero, l2 = zero, l3 = zero;
      let h1 = zero, h2 = zero, h3 = zero;
      p += row;
      for (let c = 1; c < C; c++) {
        const v0 = v128.load(p);
        const v1 = v128.load(p, 16);
        const v2 = TILE > 2 ? v128.load(p, 32) : zero;
        const v3 = TILE > 2 ? v128.load(p, 48) : zero;
        i0 = i32x4.max_s(i0, v128.and(f32x4.gt(v0, m0), cv));
        i1 = i32x4.max_s(i1, v128.and(f32x4.gt(v1, m1), cv));
        m0 = f32x4.pmax(m0, v0);
        m1 = f32x4.pmax(m1, v1);
        const d0 = f32x4.sub(v0, r0);
        const d1 = f32x4.sub(v1, r1);
        const b0 = f32x4.gt(d0, jump);
        const b1 = f32x4.gt(d1, jump);
        let d2 = zero, d3 = zero, b2 = zero, b3 = zero;
        if (TILE > 2) {
          i2 = i32x4.max_s(i2, v128.and(f32x4.gt(v2, m2), cv));
          i3 = i32x4.max_s(i3, v128.and(f32x4.gt(v3, m3), cv));
          m2 = f32x4.pmax(m2, v2);
          m3 = f32x4.pmax(m3, v3);
          d2 = f32x4.sub(v2, r2);
          d3 = f32x4.sub(v3, r3);
          b2 = f32x4.gt(d2, jump);
          b3 = f32x4.gt(d3, jump);
        }
        // Rare after the first classes: a logit more than JUMP above its lane's reference.
        if (v128.any_true(v128.or(v128.or(b0, b1), v128.or(b2, b3)))) {
          z0 = rescale(z0, d0, b0);
          z1 = rescale(z1, d1, b1);
          r0 = v128.bitselect(v0, r0, b0);
          r1 = v128.bitselect(v1, r1, b1);
          if (TILE > 2) {
            z2 = rescale(z2, d2, b2);
            z3 = rescale(z3, d3, b3);
            r2 = v128.bitselect(v2, r2, b2);
            r3 = v128.bitselect(v3, r3, b3);
          }
        } else {
          z0 = f32x4.add(z0, exp2c(f32x4.mul(d0, log2e)));
          z1 = f32x4.add(z1, exp2c(f32x4.mul(d1, log2e)));
          if (TILE > 2) {
            z2 = f32x4.add(z2, exp2c(f32x4.mul(d2, log2e)));
            z3 = f32x4.add(z3, exp2c(f32x4.mul(d3, log2e)));
          }
        }
        if (SMOOTH) {
          const wc = f64x2.splat(w ? <f64>load<f32>(w + (<usize>c << 2)) : 1.0);
          const u0 = f32x4.sub(v0, x00);
          l0 = f64x2.add(l0, f64x2.mul(f64x2.promote_low_f32x4(u0), wc));
          h0 = f64x2.add(h0, f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(u0, u0, 2, 3, 2, 3)), wc));
          const u1 = f32x4.sub(v1, x01);
          l1 = f64x2.add(l1, f64x2.mul(f64x2.promote_low_f32x4(u1), wc));
          h1 = f64x2.add(h1, f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(u1, u1, 2, 3, 2, 3)), wc));
          if (TILE > 2) {
            const u2 = f32x4.sub(v2, x02);
            l2 = f64x2.add(l2, f64x2.mul(f64x2.promote_low_f32x4(u2), wc));
            h2 = f64x2.add(h2, f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(u2, u2, 2, 3, 2, 3)), wc));
            const u3 = f32x4.sub(v3, x03);
            l3 = f64x2.add(l3, f64x2.mul(f64x2.promote_low_f32x4(u3), wc));
            h3 = f64x2.add(h3, f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(u3, u3, 2, 3, 2, 3)), wc));
          }
        }
        cv = CV_SPLAT ? i32x4.splat(c + 1) : i32x4.add(cv, oneI);
        p += row;
      }
      let r = finish(x, t, w, C, S, s, ignoreIndex, eps, epsC, W, outLoss, outPred, lossSumP, confusion,
        r0, z0, i0, l0, h0, x00, 4, false, SMOOTH);
      if (r >= 0) return r;
      r = finish(x, t, w, C, S, s + 4, ignoreIndex, eps, epsC, W, outLoss, outPred, lossSumP, confusion,
        r1, z1, i1, l1, h1, x01, 4, false, SMOOTH);
      if (r >= 0) return r;
      if (TILE > 2) {
        r = finish(x, t, w, C, S, s + 8, ignoreIndex, eps, epsC, W, outLoss, outPred, lossSumP, confusion,
          r2, z2, i2, l2, h2, x02, 4, false, SMOOTH);
        if (r >= 0) return r;
        r = finish(x, t, w, C, S, s + 12, ignoreIndex, eps, epsC, W, outLoss, outPred, lossSumP, confusion,
          r3, z3, i3, l3, h3, x03, 4, false, SMOOTH);
        if (r >= 0) return r;
      }
      s += TILE * 4;
    } else {
      const n = min(s1 - s, 4 - (s & 3));
      const x00 = loadPartial(p, n);
      let r0 = x00, m0 = x00;
      p += row;
      for (let c = 1; c < C; c++) {
        const v0 = loadPartial(p, n);
        i0 = i32x4.max_s(i0, v128.and(f32x4.gt(v0, m0), cv));
        m0 = f32x4.pmax(m0, v0);
        const d0 = f32x4.sub(v0, r0);
        const b0 = f32x4.gt(d0, jump);
        if (v128.any_true(b0)) {
          z0 = rescale(z0, d0, b0);
          r0 = v128.bitselect(v0, r0, b0);
        } else {
          z0 = f32x4.add(z0, exp2c(f32x4.mul(d0, log2e)));
        }
        if (SMOOTH) {
          const wc = f64x2.splat(w ? <f64>load<f32>(w + (<usize>c << 2)) : 1.0);
          const u0 = f32x4.sub(v0, x00);
          l0 = f64x2.add(l0, f64x2.mul(f64x2.promote_low_f32x4(u0), wc));
          h0 = f64x2.add(h0, f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(u0, u0, 2, 3, 2, 3)), wc));
        }
        cv = CV_SPLAT ? i32x4.splat(c + 1) : i32x4.add(cv, oneI);
        p += row;
      }
      const r = finish(x, t, w, C, S, s, ignoreIndex, eps, epsC, W, outLoss, outPred, lossSumP, confusion,
        r0, z0, i0, l0, h0, x00, n, true, SMOOTH);
      if (r >= 0) return r;
      s += n;
    }
  }

  const num = f64x2.extract_lane(aNum, 0) + f64x2.extract_lane(aNum, 1);
  addF64(acc, num);
  addF64(acc + 8, w ? f64x2.extract_lane(aDen, 0) + f64x2.extract_lane(aDen, 1) : sumI32x4(aCnt));
  if (SMOOTH) {
    addF64(acc + 16, f64x2.extract_lane(aNll, 0) + f64x2.extract_lane(aNll, 1));
    addF64(acc + 24, f64x2.extract_lane(aSm, 0) + f64x2.extract_lane(aSm, 1));
  } else {
    addF64(acc + 16, num);
  }
  addF64(acc + 32, sumI32x4(aIgn));
  addF64(acc + 40, sumI32x4(aNan));
  addF64(acc + 48, sumI32x4(aInf));
  addF64(acc + 56, sumI32x4(aCorrect));
  if (slowFirst <= slowLast) {
    slowPass(x, t, w, C, S, max(slowFirst, s0), min(slowLast + 1, s1), ignoreIndex, eps, outLoss, outPred, acc, confusion);
  }
  return -1;
}

/** The reference loops for one pixel, float64, NaN-first argmax (src/kernel/crossEntropy.ts rowStats). */
function slowPixel(x: usize, w: usize, C: i32, S: i32, s: i32, smooth: bool): void {
  const row: usize = <usize>S << 2;
  const p: usize = x + (<usize>s << 2);
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
  outLoss: usize, outPred: usize, acc: usize, confusion: usize,
): void {
  const C8: usize = <usize>C << 3;
  const lossSumP: usize = acc + 64;
  for (let s = a; s < b; s++) {
    const lp: usize = outLoss + (<usize>s << 2);
    if (load<i32>(lp) != MARK) continue;
    slowPixel(x, w, C, S, s, eps > 0);
    const pk = gArg;
    if (outPred) store<i32>(outPred + (<usize>s << 2), pk);
    const tc = load<i32>(t + (<usize>s << 2));
    if (tc == ignoreIndex) {
      store<f32>(lp, 0); // counted as ignored by the fast path already
      continue;
    }
    const wt: f64 = w ? <f64>load<f32>(w + (<usize>tc << 2)) : 1.0;
    const nll = -wt * (<f64>load<f32>(x + ((<usize>tc * <usize>S + <usize>s) << 2)) - gMax - gLogSum);
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
    addF64(acc + 56, <f64>(pk == tc));
    addF64(lossSumP + (<usize>tc << 3), loss);
    addF64(lossSumP + C8 + (<usize>tc << 3), 1);
    addF64(lossSumP + 2 * C8 + (<usize>pk << 3), 1);
    if (confusion) addF64(confusion + ((<usize>tc * <usize>C + <usize>pk) << 3), 1);
  }
}
