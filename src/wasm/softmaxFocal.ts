// Softmax focal loss's pass over the cross-entropy kernel's output, part of dist/ce.wasm (exported by
// ce.ts): the kernel writes -log p_t per element with class weights all ones, and focalInPlace turns each
// into alpha[t] (1 - p_t)^gamma (-log p_t) in float64, as the reference (src/kernel/losses/focal.ts) computes it.
// Two lanes of float64 at a time, without branches on the data.

@external('env', 'pow') declare function jsPow(x: f64, y: f64): f64;

import { loadLanes } from './lanes';

// 1 - exp(-nll) for focalInPlace, branch free (expm1's branches, taken at random by a batch's losses, cost
// more than its arithmetic): k = round(x / ln 2), r = x - k ln 2 (fdlibm's split: k ln2_hi is exact),
// expm1(r) by its Taylor series to r^12 (|r| <= ln2 / 2: truncation under 6e-16 of the value), then
// expm1(x) = 2^k expm1(r) + (2^k - 1), two lanes at a time. For k = 0 that is expm1(r) itself, so a small
// nll keeps its relative accuracy; for k < 0 the result is at least 0.29 in size and both terms are at most
// 1. nll is clamped to [-64, 64] by pmin / pmax, which keep a NaN nll (1 - exp(-64) is 1 in float64), and
// x = +-0 returns -x as expm1 does.
const FX_INVLN2: f64 = 1.44269504088896338700;
const FX_LN2_HI: f64 = 6.93147180369123816490e-01;
const FX_LN2_LO: f64 = 1.90821492927058770002e-10;
const FX_ROUND: f64 = 6755399441055744;
const FX2: f64 = 1.0 / 2;
const FX3: f64 = 1.0 / 6;
const FX4: f64 = 1.0 / 24;
const FX5: f64 = 1.0 / 120;
const FX6: f64 = 1.0 / 720;
const FX7: f64 = 1.0 / 5040;
const FX8: f64 = 1.0 / 40320;
const FX9: f64 = 1.0 / 362880;
const FX10: f64 = 1.0 / 3628800;
const FX11: f64 = 1.0 / 39916800;
const FX12: f64 = 1.0 / 479001600;

// 2^k of the last expm1Parts call (an inline function returns one value).
let gTwoK: v128 = f64x2.splat(1);

/** expm1(r) for x = k ln 2 + r, |r| <= ln 2 / 2, and 2^k into gTwoK; x in [-1000, 1000]. */
// @ts-ignore: decorator
@inline function expm1Parts(x: v128): v128 {
  // Adding 1.5 * 2^52 rounds to an integer (ties to even) and leaves it in the low mantissa bits.
  const kr = f64x2.add(f64x2.mul(x, f64x2.splat(FX_INVLN2)), f64x2.splat(FX_ROUND));
  const kf = f64x2.sub(kr, f64x2.splat(FX_ROUND));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(kf, f64x2.splat(FX_LN2_HI))), f64x2.mul(kf, f64x2.splat(FX_LN2_LO)));
  const r2 = f64x2.mul(r, r);
  const r4 = f64x2.mul(r2, r2);
  const q0 = f64x2.add(f64x2.add(f64x2.splat(FX2), f64x2.mul(f64x2.splat(FX3), r)), f64x2.mul(f64x2.add(f64x2.splat(FX4), f64x2.mul(f64x2.splat(FX5), r)), r2));
  const q1 = f64x2.add(f64x2.add(f64x2.splat(FX6), f64x2.mul(f64x2.splat(FX7), r)), f64x2.mul(f64x2.add(f64x2.splat(FX8), f64x2.mul(f64x2.splat(FX9), r)), r2));
  const q2 = f64x2.add(f64x2.add(f64x2.splat(FX10), f64x2.mul(f64x2.splat(FX11), r)), f64x2.mul(f64x2.splat(FX12), r2));
  // 2^k from k's bits in kr: (k + 1023) << 52.
  gTwoK = i64x2.shl(i64x2.add(i64x2.sub(kr, f64x2.splat(FX_ROUND)), i64x2.splat(1023)), 52);
  return f64x2.add(r, f64x2.mul(r2, f64x2.add(q0, f64x2.mul(f64x2.add(q1, f64x2.mul(q2, r4)), r4))));
}

// @ts-ignore: decorator
@inline function oneMinusExpNeg(nll: v128): v128 {
  const x = f64x2.neg(f64x2.pmin(f64x2.pmax(nll, f64x2.splat(-64)), f64x2.splat(64)));
  const em = expm1Parts(x);
  const twok = gTwoK;
  const e = f64x2.add(f64x2.mul(twok, em), f64x2.sub(twok, f64x2.splat(1)));
  return f64x2.neg(v128.bitselect(x, e, f64x2.eq(x, f64x2.splat(0))));
}

// b^gamma for b in (0, 1] and a gamma that is not a small integer, as exp(gamma ln b): ln b = k ln 2 + ln m
// with m = b / 2^k in [sqrt(1/2), sqrt(2)) taken from b's bits, ln m = 2 atanh(s), s = (m - 1) / (m + 1)
// (m - 1 exact), by its series to s^19 (|s| <= 0.172: truncation under 1e-15 of the value); then exp of
// y = gamma ln b <= 0 from expm1Parts, 2^k (1 + expm1(r)). Relative error a few ulps of float64 times
// max(1, |y|). y below -700 gives 0 (the reference's value is under 1e-304 there). Lanes with b <= 0 or NaN
// are the caller's.
const LN_SQRTH_BITS: i64 = 0x3fe6a09e667f3bcd;
const LS3: f64 = 1.0 / 3;
const LS5: f64 = 1.0 / 5;
const LS7: f64 = 1.0 / 7;
const LS9: f64 = 1.0 / 9;
const LS11: f64 = 1.0 / 11;
const LS13: f64 = 1.0 / 13;
const LS15: f64 = 1.0 / 15;
const LS17: f64 = 1.0 / 17;
const LS19: f64 = 1.0 / 19;

// @ts-ignore: decorator
@inline function powPos(b: v128, gamma: v128): v128 {
  const kI = i64x2.shr_s(i64x2.sub(b, i64x2.splat(LN_SQRTH_BITS)), 52);
  const m = i64x2.sub(b, i64x2.shl(kI, 52));
  // k as a double: its bits added to 1.5 * 2^52's, less 1.5 * 2^52.
  const kf = f64x2.sub(i64x2.add(kI, f64x2.splat(FX_ROUND)), f64x2.splat(FX_ROUND));
  const one = f64x2.splat(1);
  const s = f64x2.div(f64x2.sub(m, one), f64x2.add(m, one));
  const z = f64x2.mul(s, s);
  const z2 = f64x2.mul(z, z);
  const z4 = f64x2.mul(z2, z2);
  const a0 = f64x2.add(f64x2.splat(LS3), f64x2.mul(f64x2.splat(LS5), z));
  const a1 = f64x2.add(f64x2.splat(LS7), f64x2.mul(f64x2.splat(LS9), z));
  const a2 = f64x2.add(f64x2.splat(LS11), f64x2.mul(f64x2.splat(LS13), z));
  const a3 = f64x2.add(f64x2.splat(LS15), f64x2.mul(f64x2.splat(LS17), z));
  const p = f64x2.add(f64x2.add(a0, f64x2.mul(a1, z2)), f64x2.mul(f64x2.add(f64x2.add(a2, f64x2.mul(a3, z2)), f64x2.mul(f64x2.splat(LS19), z4)), z4));
  const s2 = f64x2.add(s, s);
  const lnm = f64x2.add(s2, f64x2.mul(s2, f64x2.mul(z, p)));
  const lnb = f64x2.add(f64x2.mul(kf, f64x2.splat(FX_LN2_HI)), f64x2.add(lnm, f64x2.mul(kf, f64x2.splat(FX_LN2_LO))));
  const y = f64x2.mul(gamma, lnb);
  const em = expm1Parts(f64x2.pmax(y, f64x2.splat(-700)));
  const twok = gTwoK;
  const e = f64x2.add(twok, f64x2.mul(twok, em));
  return v128.andnot(e, f64x2.lt(y, f64x2.splat(-700)));
}

/** b^gamma lane by lane: powPos where b > 0, the host's Math.pow (the reference's) elsewhere (rare). */
// @ts-ignore: decorator
@inline function powAny(b: v128, gamma: f64): v128 {
  const pos = f64x2.gt(b, f64x2.splat(0));
  let p = powPos(v128.bitselect(b, f64x2.splat(1), pos), f64x2.splat(gamma));
  if (!i64x2.all_true(pos)) {
    if (!i64x2.extract_lane(pos, 0)) p = f64x2.replace_lane(p, 0, jsPow(f64x2.extract_lane(b, 0), gamma));
    if (!i64x2.extract_lane(pos, 1)) p = f64x2.replace_lane(p, 1, jsPow(f64x2.extract_lane(b, 1), gamma));
  }
  return p;
}

/** How many of a 2 x 64-bit mask's lanes are set (a set lane is -1). */
// @ts-ignore: decorator
@inline function lanesSet(m: v128): f64 {
  return -<f64>(i64x2.extract_lane(m, 0) + i64x2.extract_lane(m, 1));
}

/**
 * Softmax focal loss in place over n elements: loss[i] (f32 -log p_t, written by the kernel with class
 * weights all ones) becomes alpha[t] (1 - p_t)^gamma (-log p_t), in float64 by the reference's expression
 * (src/kernel/losses/focal.ts: 1 - p_t = -expm1(-nll), exact where p_t is near 1), rounded to f32. Elements whose
 * target is ignoreIndex keep their loss. alpha: f64 per class, or 0 for ones. sums: f64 per class, each
 * element's focal loss added to its target's, in element order. out: 5 f64 added to: focal sum,
 * alpha-weighted -log p_t sum, alpha sum, NaN count, infinite count. Four elements a step, as two f64x2;
 * 1 - p_t comes from oneMinusExpNeg (within a few float64 ulps of the reference's -Math.expm1); an integer
 * gamma up to 8 multiplies (pow(b, 2) is b * b, bit for bit), any other gamma goes by powAny (within a few
 * float64 ulps of Math.pow times max(1, |gamma ln(1 - p_t)|)). An element's result does not depend on its
 * neighbours or on n.
 */
export function focalInPlace(loss: usize, t: usize, n: i32, ignoreIndex: i32, alpha: usize, gamma: f64, sums: usize, out: usize): void {
  const intGamma = gamma >= 0 && gamma <= 8 && Math.floor(gamma) == gamma;
  const g = intGamma ? <i32>gamma : 0;
  const iv = i32x4.splat(ignoreIndex);
  let num = f64x2.splat(0);
  let ceNum = f64x2.splat(0);
  let ceDen = f64x2.splat(0);
  let nan: f64 = 0;
  let inf: f64 = 0;
  for (let i = 0; i < n; i += 4) {
    const at = <usize>i << 2;
    const left = n - i;
    // A last partial step: missing lanes are ignored elements of loss 0.
    const lv = loadLanes(loss + at, left);
    const tv = left >= 4 ? v128.load(t + at) : v128.bitselect(loadLanes(t + at, left), iv, i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(left)));
    const keep = v128.not(i32x4.eq(tv, iv));
    // Ignored lanes read class 0's alpha and add +0 to class 0's sum (which starts at +0): no branches.
    const tc = v128.and(tv, keep);
    const c0 = i32x4.extract_lane(tc, 0);
    const c1 = i32x4.extract_lane(tc, 1);
    const c2 = i32x4.extract_lane(tc, 2);
    const c3 = i32x4.extract_lane(tc, 3);
    let aLo = f64x2.splat(1);
    let aHi = f64x2.splat(1);
    if (alpha) {
      aLo = f64x2.replace_lane(f64x2.splat(load<f64>(alpha + (<usize>c0 << 3))), 1, load<f64>(alpha + (<usize>c1 << 3)));
      aHi = f64x2.replace_lane(f64x2.splat(load<f64>(alpha + (<usize>c2 << 3))), 1, load<f64>(alpha + (<usize>c3 << 3)));
    }
    const nLo = f64x2.promote_low_f32x4(lv);
    const nHi = f64x2.promote_low_f32x4(i32x4.shuffle(lv, lv, 2, 3, 0, 1));
    const bLo = oneMinusExpNeg(nLo);
    const bHi = oneMinusExpNeg(nHi);
    // pow(x, 0) is 1 for every x, NaN included, as torch.pow: so gamma 0 is cross-entropy bit for bit.
    let pLo = f64x2.splat(1);
    let pHi = f64x2.splat(1);
    if (intGamma) {
      for (let k = 0; k < g; k++) {
        pLo = f64x2.mul(pLo, bLo);
        pHi = f64x2.mul(pHi, bHi);
      }
    } else {
      pLo = powAny(bLo, gamma);
      pHi = powAny(bHi, gamma);
    }
    const kLo = i64x2.extend_low_i32x4_s(keep);
    const kHi = i64x2.extend_high_i32x4_s(keep);
    const fLo = v128.and(f64x2.mul(f64x2.mul(aLo, pLo), nLo), kLo);
    const fHi = v128.and(f64x2.mul(f64x2.mul(aHi, pHi), nHi), kHi);
    const f32s = v128.bitselect(i32x4.shuffle(f32x4.demote_f64x2_zero(fLo), f32x4.demote_f64x2_zero(fHi), 0, 1, 4, 5), lv, keep);
    if (left >= 4) {
      v128.store(loss + at, f32s);
    } else {
      store<f32>(loss + at, f32x4.extract_lane(f32s, 0));
      if (left > 1) store<f32>(loss + at, f32x4.extract_lane(f32s, 1), 4);
      if (left > 2) store<f32>(loss + at, f32x4.extract_lane(f32s, 2), 8);
    }
    num = f64x2.add(num, f64x2.add(fLo, fHi));
    ceNum = f64x2.add(ceNum, f64x2.add(v128.and(f64x2.mul(aLo, nLo), kLo), v128.and(f64x2.mul(aHi, nHi), kHi)));
    ceDen = f64x2.add(ceDen, f64x2.add(v128.and(aLo, kLo), v128.and(aHi, kHi)));
    const s0 = sums + (<usize>c0 << 3);
    store<f64>(s0, load<f64>(s0) + f64x2.extract_lane(fLo, 0));
    const s1 = sums + (<usize>c1 << 3);
    store<f64>(s1, load<f64>(s1) + f64x2.extract_lane(fLo, 1));
    const s2 = sums + (<usize>c2 << 3);
    store<f64>(s2, load<f64>(s2) + f64x2.extract_lane(fHi, 0));
    const s3 = sums + (<usize>c3 << 3);
    store<f64>(s3, load<f64>(s3) + f64x2.extract_lane(fHi, 1));
    // NaN or infinite losses are rare: counted only when a step has one.
    const inf2 = f64x2.splat(Infinity);
    const nanLo = f64x2.ne(fLo, fLo);
    const nanHi = f64x2.ne(fHi, fHi);
    const infLo = f64x2.eq(f64x2.abs(fLo), inf2);
    const infHi = f64x2.eq(f64x2.abs(fHi), inf2);
    if (v128.any_true(v128.or(v128.or(nanLo, nanHi), v128.or(infLo, infHi)))) {
      nan += lanesSet(nanLo) + lanesSet(nanHi);
      inf += lanesSet(infLo) + lanesSet(infHi);
    }
  }
  store<f64>(out, load<f64>(out) + (f64x2.extract_lane(num, 0) + f64x2.extract_lane(num, 1)));
  store<f64>(out, load<f64>(out, 8) + (f64x2.extract_lane(ceNum, 0) + f64x2.extract_lane(ceNum, 1)), 8);
  store<f64>(out, load<f64>(out, 16) + (f64x2.extract_lane(ceDen, 0) + f64x2.extract_lane(ceDen, 1)), 16);
  store<f64>(out, load<f64>(out, 24) + nan, 24);
  store<f64>(out, load<f64>(out, 32) + inf, 32);
}

