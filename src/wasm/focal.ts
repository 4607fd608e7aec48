// WebAssembly SIMD kernel (AssemblyScript) for torchvision's sigmoid_focal_loss on float32 logits and
// float32 targets, elementwise: a module of its own (dist/focal.wasm), so the cross-entropy kernel's code
// and layout stay as they are. It imports the same env.memory as ce.wasm and, like it, keeps nothing in
// it: no data segments, no allocator, no shadow stack.
//
// Per element (16 lanes at a time, 4 vectors: see lossVec), f32:
//   e = exp(-|x|) (Cody-Waite reduction, degree-5 polynomial), p and q = 1 - p as 1 / (1 + e) and
//   e / (1 + e) (whichever fits the sign of x), so both keep their relative accuracy;
//   bce = (x >= 0 ? x (1 - t) : -x t) + log1p(e) (log1p by 2 atanh(e / (2 + e)): no cancellation);
//   1 - p_t = p (1 - t) + q t (exact in form for 0/1 targets, no 1 - p_t cancellation);
//   loss = bce (1 - p_t)^gamma, times alpha t + (1 - alpha)(1 - t) when alpha >= 0.
//   Integer gamma up to 8 multiplies (gamma 2, the default, has its own copy of the loop); any other gamma
//   takes the host's Math.pow per lane (slower).
// The statistics are tallied in the same pass, per group of 16 (one finiteness test, the class counts in
// byte lanes). On the development VM (one thread, cache-resident data) an element took 3.3 ns with 4-way
// interleaved vectors and a second pass over each group for the tallies, 3.0 ns this way: out-of-order
// execution overlaps the vectors' chains by itself, and the interleaving made V8 spill registers.
// Lanes whose logit or target is not finite are redone by a float64 port of the reference
// (src/kernel/losses/bce.ts and src/kernel/losses/focal.ts) with the host's Math.exp / Math.log / Math.pow, so NaN and
// Inf land where PyTorch puts them. A lane's results do not depend on the other lanes or on how a range
// is split (a last partial group is padded and computed the same way): maps computed again for any range
// are the computation's, bit for bit.

@external('env', 'exp') declare function jsExp(x: f64): f64;
@external('env', 'log') declare function jsLog(x: f64): f64;
@external('env', 'pow') declare function jsPow(x: f64, y: f64): f64;

import { loadLanes } from './lanes';

/** f64 accumulators per call of sigmoidFocalF32 (see ACC_* below), then 6 per class. */
const ACC_SCALARS: i32 = 4;
// [0] loss sum, [1] NaN losses, [2] infinite losses, [3] unused; per class c at ACC_SCALARS + 6 c:
// loss sum, count, predicted positive (x > 0), positive target (t >= 0.5), correct, true positive.

// Settings of the current call.
let gGammaF64: f64 = 2;
let gIntGamma: i32 = 2;
let gAlpha: f32 = 0.25;
let gAlphaF64: f64 = 0.25;

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// Adding 1.5 * 2^23 rounds a float in (-2^22, 2^22) to the nearest integer (ties to even, as f32x4.nearest)
// and leaves that integer in the low mantissa bits: shifted left by 23 it is the integer in the exponent
// field (the high bits of 1.5 * 2^23 shift out), ready to add to a float's bits.
const ROUND: f32 = 12582912;
// -|x| is clamped here: 2^n then stays a normal float's exponent (n >= -125), so adding n to the
// exponent bits is the exact product by 2^n. exp(-86) is 4e-38: every term it feeds is below the bound's
// 2e-7 floor, as exp(-|x|) of a larger |x| is.
const MIN_Y: f32 = -86;
// exp(r) = 1 + r + r^2 (E2 + E3 r + E4 r^2 + E5 r^3) on [-ln2/2, ln2/2]: a relative-error fit, 1.7e-7
// evaluated in float32 (the bound leaves 2e-6; the loss carries exp's error at most 1 + gamma times).
const E2: f32 = 0.499992311000824;
const E3: f32 = 0.16667114198207855;
const E4: f32 = 0.04189012199640274;
const E5: f32 = 0.008312530815601349;
// log1p(e) = 2 atanh(s) = 2 s + 2 s z (L0 + L1 z + L2 z^2 + L3 z^3), s = e / (2 + e) in [0, 1/3], z = s^2:
// a relative-error fit within 5e-9; in float32 the rounding of s dominates (1.7e-7).
const L0: f32 = 0.3333320915699005;
const L1: f32 = 0.20010754466056824;
const L2: f32 = 0.1400105357170105;
const L3: f32 = 0.14005208015441895;

/**
 * The losses of 4 lanes with finite x and t. Written for what V8 emits: -|x| as an or with the sign bit,
 * p and q = 1 - p swapped by two xors (a bitselect is three instructions there), the linear term by
 * pmax/pmin (no negation, whose constant V8 builds each time), polynomials by Estrin's scheme (shorter
 * chains than Horner's). Each lane's result depends on that lane only.
 */
// @ts-ignore: decorator
@inline function lossVec(x: v128, t: v128, G: i32, ALPHA: bool, av: v128, bv: v128): v128 {
  const y = f32x4.pmax(v128.or(x, i32x4.splat(0x80000000)), f32x4.splat(MIN_Y));
  const k = f32x4.add(f32x4.mul(y, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const n = f32x4.sub(k, f32x4.splat(ROUND));
  const r = f32x4.sub(f32x4.sub(y, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  const rr = f32x4.mul(r, r);
  const pa = f32x4.add(f32x4.mul(f32x4.splat(E3), r), f32x4.splat(E2));
  const pb = f32x4.add(f32x4.mul(f32x4.splat(E5), r), f32x4.splat(E4));
  const ep = f32x4.add(f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(pb, rr), pa), rr), r), f32x4.splat(1));
  // e = exp(-|x|) = ep 2^n, exactly: n added to ep's exponent.
  const e = i32x4.add(ep, i32x4.shl(k, 23));
  const big = f32x4.div(f32x4.splat(1), f32x4.add(e, f32x4.splat(1)));
  const small = f32x4.mul(e, big);
  // p = sigmoid(x) is big where x >= 0, small elsewhere; q = 1 - p the other one.
  const swap = v128.and(v128.xor(big, small), f32x4.ge(x, f32x4.splat(0)));
  const p = v128.xor(small, swap);
  const q = v128.xor(big, swap);
  const omt = f32x4.sub(f32x4.splat(1), t);
  // 1 - p_t = p (1 - t) + q t, exact in form for 0/1 targets (no 1 - p_t cancellation).
  const m = f32x4.add(f32x4.mul(p, omt), f32x4.mul(q, t));
  // (x >= 0 ? x (1 - t) : -x t): one of the two products is of a zero.
  const lin = f32x4.sub(f32x4.mul(f32x4.pmax(x, f32x4.splat(0)), omt), f32x4.mul(f32x4.pmin(x, f32x4.splat(0)), t));
  const s = f32x4.div(e, f32x4.add(e, f32x4.splat(2)));
  const z = f32x4.mul(s, s);
  const zz = f32x4.mul(z, z);
  const qa = f32x4.add(f32x4.mul(f32x4.splat(L1), z), f32x4.splat(L0));
  const qb = f32x4.add(f32x4.mul(f32x4.splat(L3), z), f32x4.splat(L2));
  const s2 = f32x4.add(s, s);
  let f = f32x4.add(lin, f32x4.add(s2, f32x4.mul(f32x4.mul(s2, z), f32x4.add(f32x4.mul(qb, zz), qa))));
  if (G == 2) {
    f = f32x4.mul(f32x4.mul(f, m), m);
  } else {
    const g = gIntGamma;
    if (g >= 0) {
      for (let i = 0; i < g; i++) f = f32x4.mul(f, m);
    } else {
      f = f32x4.mul(f, powLanes(m));
    }
  }
  if (ALPHA) f = f32x4.mul(f32x4.add(f32x4.mul(av, t), f32x4.mul(bv, omt)), f);
  return f;
}

/**
 * m^gamma per lane by the host's Math.pow in f64, for a gamma that is not an integer up to 8 (a rarer
 * setting, and slower): 2^(gamma log2 m) in f32 loses ~6e-8 |gamma log2 m| relative, more than the bound
 * allows where a soft target leaves m small under a huge bce.
 */
function powLanes(m: v128): v128 {
  const m0 = <f32>jsPow(<f64>f32x4.extract_lane(m, 0), gGammaF64);
  const m1 = <f32>jsPow(<f64>f32x4.extract_lane(m, 1), gGammaF64);
  const m2 = <f32>jsPow(<f64>f32x4.extract_lane(m, 2), gGammaF64);
  const m3 = <f32>jsPow(<f64>f32x4.extract_lane(m, 3), gGammaF64);
  return f32x4(m0, m1, m2, m3);
}

/** The float64 reference for one element (non-finite logit or target), in its order of operations. */
function refLoss(x: f64, t: f64): f64 {
  let maxVal = -x > 0 ? -x : 0.0;
  if (-x != -x) maxVal = -x;
  const logTerm = jsLog(jsExp(-maxVal) + jsExp(-x - maxVal));
  let loss = (1 - t) * x + maxVal + logTerm;
  if (x != x) loss = NaN;
  const prob = 1 / (1 + jsExp(-x));
  const pt = prob * t + (1 - prob) * (1 - t);
  loss = loss * jsPow(1 - pt, gGammaF64);
  if (gAlphaF64 >= 0) loss = (gAlphaF64 * t + (1 - gAlphaF64) * (1 - t)) * loss;
  return loss;
}

// @ts-ignore: decorator
@inline function finiteMask(v: v128): v128 {
  // v - v is 0 for finite lanes, NaN otherwise.
  return f32x4.eq(f32x4.sub(v, v), f32x4.splat(0));
}

/** Sets the call's gamma and alpha (alpha < 0: no alpha weighting). */
export function setSigmoidFocal(gamma: f64, alpha: f64): void {
  gGammaF64 = gamma;
  gAlphaF64 = alpha;
  gAlpha = alpha < 0 ? -1 : <f32>alpha;
  gIntGamma = gamma == Math.floor(gamma) && gamma <= 8 ? <i32>gamma : -1;
}

/** lv with its lanes whose logit or target is not finite redone by the float64 reference. */
// @ts-ignore: decorator
@inline function fixNonFinite(xv: v128, tv: v128, lv: v128): v128 {
  const fin = v128.and(finiteMask(xv), finiteMask(tv));
  if (i32x4.all_true(fin)) return lv;
  const l0 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 0), <f64>f32x4.extract_lane(tv, 0));
  const l1 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 1), <f64>f32x4.extract_lane(tv, 1));
  const l2 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 2), <f64>f32x4.extract_lane(tv, 2));
  const l3 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 3), <f64>f32x4.extract_lane(tv, 3));
  return v128.bitselect(lv, f32x4(l0, l1, l2, l3), fin);
}

/**
 * sigmoid_focal_loss of n elements: x, t f32 at byte offsets; writes loss (f32), pred (u8: x > 0) and
 * tc (u8: t >= 0.5) there (bytes: they only hold 0 or 1). Element i is flat element e0 + i of the whole
 * input, whose class axis has C entries and `inner` elements after it: its class is ((e0 + i) / inner) % C.
 * Adds to acc (f64, see ACC_SCALARS). gamma and alpha come from setSigmoidFocal.
 */
export function sigmoidFocalF32(x: usize, t: usize, loss: usize, pred: usize, tc: usize, n: i32, e0: f64, inner: i32, C: i32, acc: usize): void {
  // One copy of the loop per common setting, its gamma and alpha folded in; G -1 reads gIntGamma.
  if (gAlpha >= 0) {
    if (gIntGamma == 2) focalRange(x, t, loss, pred, tc, n, e0, inner, C, acc, 2, true);
    else focalRange(x, t, loss, pred, tc, n, e0, inner, C, acc, -1, true);
  } else {
    if (gIntGamma == 2) focalRange(x, t, loss, pred, tc, n, e0, inner, C, acc, 2, false);
    else focalRange(x, t, loss, pred, tc, n, e0, inner, C, acc, -1, false);
  }
}

// @ts-ignore: decorator
@inline function focalRange(x: usize, t: usize, loss: usize, pred: usize, tc: usize, n: i32, e0: f64, inner: i32, C: i32, acc: usize, G: i32, ALPHA: bool): void {
  const av = f32x4.splat(gAlpha);
  const bv = f32x4.splat(1 - gAlpha);
  let i = 0;
  let lossSum: f64 = 0;
  let nan: f64 = 0;
  let inf: f64 = 0;
  const half = f32x4.splat(0.5);
  const zero = f32x4.splat(0);
  const one = i8x16.splat(1);
  while (i < n) {
    // The run of elements [i, end) of one class.
    const flat = e0 + <f64>i;
    const block = Math.floor(flat / <f64>inner);
    const c = <i32>(block - Math.floor(block / <f64>C) * <f64>C);
    const end = <i32>min<f64>(<f64>n, (block + 1) * <f64>inner - e0);
    const count = end - i;
    let sum2 = f64x2.splat(0);
    let np = 0;
    let npos = 0;
    let ntp = 0;
    let nnan = i32x4.splat(0);
    let ninf = i32x4.splat(0);
    // Whole groups of 16, in batches of up to 255: the counts go in byte lanes (each group adds 0 or 1)
    // and are widened once a batch.
    while (end - i >= 16) {
      const groups = min<i32>((end - i) >> 4, 255);
      let np8 = i8x16.splat(0);
      let npos8 = i8x16.splat(0);
      let ntp8 = i8x16.splat(0);
      for (let g = 0; g < groups; g++, i += 16) {
        const o: usize = <usize>i << 2;
        const x0 = v128.load(x + o);
        const x1 = v128.load(x + o, 16);
        const x2 = v128.load(x + o, 32);
        const x3 = v128.load(x + o, 48);
        const t0 = v128.load(t + o);
        const t1 = v128.load(t + o, 16);
        const t2 = v128.load(t + o, 32);
        const t3 = v128.load(t + o, 48);
        let l0 = lossVec(x0, t0, G, ALPHA, av, bv);
        let l1 = lossVec(x1, t1, G, ALPHA, av, bv);
        let l2 = lossVec(x2, t2, G, ALPHA, av, bv);
        let l3 = lossVec(x3, t3, G, ALPHA, av, bv);
        // v - v is 0 for finite lanes, NaN otherwise: one test for all inputs and losses of the group.
        const d = f32x4.add(
          f32x4.add(f32x4.add(f32x4.sub(x0, x0), f32x4.sub(x1, x1)), f32x4.add(f32x4.sub(x2, x2), f32x4.sub(x3, x3))),
          f32x4.add(
            f32x4.add(f32x4.add(f32x4.sub(t0, t0), f32x4.sub(t1, t1)), f32x4.add(f32x4.sub(t2, t2), f32x4.sub(t3, t3))),
            f32x4.add(f32x4.add(f32x4.sub(l0, l0), f32x4.sub(l1, l1)), f32x4.add(f32x4.sub(l2, l2), f32x4.sub(l3, l3))),
          ),
        );
        if (!i32x4.all_true(f32x4.eq(d, zero))) {
          // Rare: redo the lanes with a non-finite input, count NaN and infinite losses.
          l0 = fixNonFinite(x0, t0, l0);
          l1 = fixNonFinite(x1, t1, l1);
          l2 = fixNonFinite(x2, t2, l2);
          l3 = fixNonFinite(x3, t3, l3);
          nnan = i32x4.sub(nnan, f32x4.ne(l0, l0));
          nnan = i32x4.sub(nnan, f32x4.ne(l1, l1));
          nnan = i32x4.sub(nnan, f32x4.ne(l2, l2));
          nnan = i32x4.sub(nnan, f32x4.ne(l3, l3));
          const infv = f32x4.splat(Infinity);
          ninf = i32x4.sub(ninf, f32x4.eq(f32x4.abs(l0), infv));
          ninf = i32x4.sub(ninf, f32x4.eq(f32x4.abs(l1), infv));
          ninf = i32x4.sub(ninf, f32x4.eq(f32x4.abs(l2), infv));
          ninf = i32x4.sub(ninf, f32x4.eq(f32x4.abs(l3), infv));
        }
        v128.store(loss + o, l0);
        v128.store(loss + o, l1, 16);
        v128.store(loss + o, l2, 32);
        v128.store(loss + o, l3, 48);
        sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(l0), f64x2.promote_low_f32x4(i32x4.shuffle(l0, l0, 2, 3, 0, 1))));
        sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(l1), f64x2.promote_low_f32x4(i32x4.shuffle(l1, l1, 2, 3, 0, 1))));
        sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(l2), f64x2.promote_low_f32x4(i32x4.shuffle(l2, l2, 2, 3, 0, 1))));
        sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(l3), f64x2.promote_low_f32x4(i32x4.shuffle(l3, l3, 2, 3, 0, 1))));
        // The 16 masks (all-ones or zero lanes) narrowed to bytes in element order: -1 or 0.
        const pm = i8x16.narrow_i16x8_s(
          i16x8.narrow_i32x4_s(f32x4.gt(x0, zero), f32x4.gt(x1, zero)),
          i16x8.narrow_i32x4_s(f32x4.gt(x2, zero), f32x4.gt(x3, zero)),
        );
        const tm = i8x16.narrow_i16x8_s(
          i16x8.narrow_i32x4_s(f32x4.ge(t0, half), f32x4.ge(t1, half)),
          i16x8.narrow_i32x4_s(f32x4.ge(t2, half), f32x4.ge(t3, half)),
        );
        v128.store(pred + <usize>i, v128.and(pm, one));
        v128.store(tc + <usize>i, v128.and(tm, one));
        np8 = i8x16.sub(np8, pm);
        npos8 = i8x16.sub(npos8, tm);
        ntp8 = i8x16.sub(ntp8, v128.and(pm, tm));
      }
      np += byteSum(np8);
      npos += byteSum(npos8);
      ntp += byteSum(ntp8);
    }
    // The last 1 to 15 elements of the run: padded with 0 to whole vectors, computed the same way (a
    // lane's loss depends on that lane only), only the live lanes stored and counted.
    const left = end - i;
    if (left > 0) {
      const o: usize = <usize>i << 2;
      let pv = i32x4.splat(0);
      let qv = i32x4.splat(0);
      let tpv = i32x4.splat(0);
      for (let h = 0; h < 4 && h << 2 < left; h++) {
        const lanes = left - (h << 2);
        const oh: usize = o + (<usize>h << 4);
        const b: usize = <usize>(i + (h << 2));
        const xv = loadLanes(x + oh, lanes);
        const tv = loadLanes(t + oh, lanes);
        const lv = fixNonFinite(xv, tv, lossVec(xv, tv, G, ALPHA, av, bv));
        const live = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(lanes));
        const pm = v128.and(f32x4.gt(xv, zero), live);
        const tm = v128.and(f32x4.ge(tv, half), live);
        const bytes = v128.and(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(pm, tm), zero), one);
        if (lanes >= 4) {
          v128.store(loss + oh, lv);
          v128.store32_lane(pred + b, bytes, 0);
          v128.store32_lane(tc + b, bytes, 1);
        } else {
          store<f32>(loss + oh, f32x4.extract_lane(lv, 0));
          store<u8>(pred + b, i8x16.extract_lane_u(bytes, 0));
          store<u8>(tc + b, i8x16.extract_lane_u(bytes, 4));
          if (lanes > 1) {
            store<f32>(loss + oh, f32x4.extract_lane(lv, 1), 4);
            store<u8>(pred + b, i8x16.extract_lane_u(bytes, 1), 1);
            store<u8>(tc + b, i8x16.extract_lane_u(bytes, 5), 1);
          }
          if (lanes > 2) {
            store<f32>(loss + oh, f32x4.extract_lane(lv, 2), 8);
            store<u8>(pred + b, i8x16.extract_lane_u(bytes, 2), 2);
            store<u8>(tc + b, i8x16.extract_lane_u(bytes, 6), 2);
          }
        }
        const lz = v128.and(lv, live);
        sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(lz), f64x2.promote_low_f32x4(i32x4.shuffle(lz, lz, 2, 3, 0, 1))));
        pv = i32x4.sub(pv, pm);
        qv = i32x4.sub(qv, tm);
        tpv = i32x4.sub(tpv, v128.and(pm, tm));
        nnan = i32x4.sub(nnan, v128.and(f32x4.ne(lz, lz), live));
        ninf = i32x4.sub(ninf, v128.and(f32x4.eq(f32x4.abs(lz), f32x4.splat(Infinity)), live));
      }
      np += hsum(pv);
      npos += hsum(qv);
      ntp += hsum(tpv);
    }
    i = end;
    const s = f64x2.extract_lane(sum2, 0) + f64x2.extract_lane(sum2, 1);
    lossSum += s;
    nan += <f64>hsum(nnan);
    inf += <f64>hsum(ninf);
    const a = acc + ((<usize>ACC_SCALARS + <usize>c * 6) << 3);
    store<f64>(a, load<f64>(a) + s);
    store<f64>(a, load<f64>(a, 8) + <f64>count, 8);
    store<f64>(a, load<f64>(a, 16) + <f64>np, 16);
    store<f64>(a, load<f64>(a, 24) + <f64>npos, 24);
    // Correct: both positive or both not, count - p - q + 2 tp.
    store<f64>(a, load<f64>(a, 32) + <f64>(count - np - npos + 2 * ntp), 32);
    store<f64>(a, load<f64>(a, 40) + <f64>ntp, 40);
  }
  store<f64>(acc, load<f64>(acc) + lossSum);
  store<f64>(acc, load<f64>(acc, 8) + nan, 8);
  store<f64>(acc, load<f64>(acc, 16) + inf, 16);
}

/** The sum of the 16 unsigned byte lanes. */
// @ts-ignore: decorator
@inline function byteSum(v: v128): i32 {
  return hsum(i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v)));
}

// @ts-ignore: decorator
@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** The first i in [i0, end) whose f32 loss is not below floor (NaN qualifies), or end. */
export function nextWorst(loss: usize, i0: i32, end: i32, floor: f32): i32 {
  const fv = f32x4.splat(floor);
  let i = i0;
  while (end - i >= 16) {
    const lp = loss + (<usize>i << 2);
    const c0 = v128.not(f32x4.lt(v128.load(lp), fv));
    const c1 = v128.not(f32x4.lt(v128.load(lp, 16), fv));
    const c2 = v128.not(f32x4.lt(v128.load(lp, 32), fv));
    const c3 = v128.not(f32x4.lt(v128.load(lp, 48), fv));
    if (v128.any_true(v128.or(v128.or(c0, c1), v128.or(c2, c3)))) break;
    i += 16;
  }
  for (; i < end; i++) {
    if (!(load<f32>(loss + (<usize>i << 2)) < floor)) return i;
  }
  return end;
}
