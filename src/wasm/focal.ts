// WebAssembly SIMD kernel (AssemblyScript) for torchvision's sigmoid_focal_loss on float32 logits and
// float32 targets, elementwise: a module of its own (dist/focal.wasm), so the cross-entropy kernel's code
// and layout stay as they are. It imports the same env.memory as ce.wasm and, like it, keeps nothing in
// it: no data segments, no allocator, no shadow stack.
//
// Per element (16 lanes at a time, as 4 interleaved vectors: see lossGroup), f32:
//   e = exp(-|x|) (Cody-Waite reduction, degree-6 polynomial), p and q = 1 - p as 1 / (1 + e) and
//   e / (1 + e) (whichever fits the sign of x), so both keep their relative accuracy;
//   bce = (x >= 0 ? x (1 - t) : -x t) + log1p(e) (log1p by 2 atanh(e / (2 + e)): no cancellation);
//   1 - p_t = p (1 - t) + q t (exact in form for 0/1 targets, no 1 - p_t cancellation);
//   loss = bce (1 - p_t)^gamma, times alpha t + (1 - alpha)(1 - t) when alpha >= 0.
//   Integer gamma up to 8 multiplies; any other gamma takes the host's Math.pow per lane (slower).
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
// and leaves that integer in the low mantissa bits, ready for the exponent field.
const ROUND: f32 = 12582912;
const ROUND_BITS: i32 = 0x4b400000;
// exp(r) = 1 + r + r^2 (E1 + E2 r + ... + E6 r^5) on [-ln2/2, ln2/2] (Cephes expf).
const E1: f32 = 5.0000001201e-1;
const E2: f32 = 1.6666665459e-1;
const E3: f32 = 4.1665795894e-2;
const E4: f32 = 8.3334519073e-3;
const E5: f32 = 1.3981999507e-3;
const E6: f32 = 1.9875691500e-4;
// log1p(e) = 2 atanh(s) = 2 s (1 + z (L3 + L5 z + ... + L15 z^6)), z = s^2.
const L3: f32 = 1.0 / 3;
const L5: f32 = 1.0 / 5;
const L7: f32 = 1.0 / 7;
const L9: f32 = 1.0 / 9;
const L11: f32 = 1.0 / 11;
const L13: f32 = 1.0 / 13;
const L15: f32 = 1.0 / 15;

// The losses of the last lossGroup call, lane group by lane group.
let gL0: v128 = f32x4.splat(0);
let gL1: v128 = f32x4.splat(0);
let gL2: v128 = f32x4.splat(0);
let gL3: v128 = f32x4.splat(0);

/**
 * The losses of 16 lanes (4 vectors; finite x and t) into gL0..gL3. Each step is written for the four
 * vectors in turn: their long dependency chains (exp, a division, log1p, another division) then overlap
 * in the CPU, which a loop over one vector at a time left mostly idle (6.6 ns per element, 3.6 ns this
 * way, on the development machine). The polynomials go by Estrin's scheme (shorter chains than Horner's).
 */
// @ts-ignore: decorator
@inline function lossGroup(x0: v128, t0: v128, x1: v128, t1: v128, x2: v128, t2: v128, x3: v128, t3: v128): void {
  const ax0 = f32x4.abs(x0);
  const ax1 = f32x4.abs(x1);
  const ax2 = f32x4.abs(x2);
  const ax3 = f32x4.abs(x3);
  const y0 = f32x4.neg(f32x4.pmin(ax0, f32x4.splat(87)));
  const y1 = f32x4.neg(f32x4.pmin(ax1, f32x4.splat(87)));
  const y2 = f32x4.neg(f32x4.pmin(ax2, f32x4.splat(87)));
  const y3 = f32x4.neg(f32x4.pmin(ax3, f32x4.splat(87)));
  const k0 = f32x4.add(f32x4.mul(y0, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const k1 = f32x4.add(f32x4.mul(y1, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const k2 = f32x4.add(f32x4.mul(y2, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const k3 = f32x4.add(f32x4.mul(y3, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const n0 = f32x4.sub(k0, f32x4.splat(ROUND));
  const n1 = f32x4.sub(k1, f32x4.splat(ROUND));
  const n2 = f32x4.sub(k2, f32x4.splat(ROUND));
  const n3 = f32x4.sub(k3, f32x4.splat(ROUND));
  const r0 = f32x4.sub(f32x4.sub(y0, f32x4.mul(n0, f32x4.splat(LN2_HI))), f32x4.mul(n0, f32x4.splat(LN2_LO)));
  const r1 = f32x4.sub(f32x4.sub(y1, f32x4.mul(n1, f32x4.splat(LN2_HI))), f32x4.mul(n1, f32x4.splat(LN2_LO)));
  const r2 = f32x4.sub(f32x4.sub(y2, f32x4.mul(n2, f32x4.splat(LN2_HI))), f32x4.mul(n2, f32x4.splat(LN2_LO)));
  const r3 = f32x4.sub(f32x4.sub(y3, f32x4.mul(n3, f32x4.splat(LN2_HI))), f32x4.mul(n3, f32x4.splat(LN2_LO)));
  const rr0 = f32x4.mul(r0, r0);
  const rr1 = f32x4.mul(r1, r1);
  const rr2 = f32x4.mul(r2, r2);
  const rr3 = f32x4.mul(r3, r3);
  const pa0 = f32x4.add(f32x4.mul(f32x4.splat(E6), r0), f32x4.splat(E5));
  const pa1 = f32x4.add(f32x4.mul(f32x4.splat(E6), r1), f32x4.splat(E5));
  const pa2 = f32x4.add(f32x4.mul(f32x4.splat(E6), r2), f32x4.splat(E5));
  const pa3 = f32x4.add(f32x4.mul(f32x4.splat(E6), r3), f32x4.splat(E5));
  const pb0 = f32x4.add(f32x4.mul(f32x4.splat(E4), r0), f32x4.splat(E3));
  const pb1 = f32x4.add(f32x4.mul(f32x4.splat(E4), r1), f32x4.splat(E3));
  const pb2 = f32x4.add(f32x4.mul(f32x4.splat(E4), r2), f32x4.splat(E3));
  const pb3 = f32x4.add(f32x4.mul(f32x4.splat(E4), r3), f32x4.splat(E3));
  const pc0 = f32x4.add(f32x4.mul(f32x4.splat(E2), r0), f32x4.splat(E1));
  const pc1 = f32x4.add(f32x4.mul(f32x4.splat(E2), r1), f32x4.splat(E1));
  const pc2 = f32x4.add(f32x4.mul(f32x4.splat(E2), r2), f32x4.splat(E1));
  const pc3 = f32x4.add(f32x4.mul(f32x4.splat(E2), r3), f32x4.splat(E1));
  const pp0 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(pa0, rr0), pb0), rr0), pc0);
  const pp1 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(pa1, rr1), pb1), rr1), pc1);
  const pp2 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(pa2, rr2), pb2), rr2), pc2);
  const pp3 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(pa3, rr3), pb3), rr3), pc3);
  const ep0 = f32x4.add(f32x4.add(f32x4.mul(pp0, rr0), r0), f32x4.splat(1));
  const ep1 = f32x4.add(f32x4.add(f32x4.mul(pp1, rr1), r1), f32x4.splat(1));
  const ep2 = f32x4.add(f32x4.add(f32x4.mul(pp2, rr2), r2), f32x4.splat(1));
  const ep3 = f32x4.add(f32x4.add(f32x4.mul(pp3, rr3), r3), f32x4.splat(1));
  const e0 = f32x4.mul(ep0, i32x4.shl(i32x4.sub(k0, i32x4.splat(ROUND_BITS - 127)), 23));
  const e1 = f32x4.mul(ep1, i32x4.shl(i32x4.sub(k1, i32x4.splat(ROUND_BITS - 127)), 23));
  const e2 = f32x4.mul(ep2, i32x4.shl(i32x4.sub(k2, i32x4.splat(ROUND_BITS - 127)), 23));
  const e3 = f32x4.mul(ep3, i32x4.shl(i32x4.sub(k3, i32x4.splat(ROUND_BITS - 127)), 23));
  const big0 = f32x4.div(f32x4.splat(1), f32x4.add(e0, f32x4.splat(1)));
  const big1 = f32x4.div(f32x4.splat(1), f32x4.add(e1, f32x4.splat(1)));
  const big2 = f32x4.div(f32x4.splat(1), f32x4.add(e2, f32x4.splat(1)));
  const big3 = f32x4.div(f32x4.splat(1), f32x4.add(e3, f32x4.splat(1)));
  const small0 = f32x4.mul(e0, big0);
  const small1 = f32x4.mul(e1, big1);
  const small2 = f32x4.mul(e2, big2);
  const small3 = f32x4.mul(e3, big3);
  const pos0 = f32x4.ge(x0, f32x4.splat(0));
  const pos1 = f32x4.ge(x1, f32x4.splat(0));
  const pos2 = f32x4.ge(x2, f32x4.splat(0));
  const pos3 = f32x4.ge(x3, f32x4.splat(0));
  const omt0 = f32x4.sub(f32x4.splat(1), t0);
  const omt1 = f32x4.sub(f32x4.splat(1), t1);
  const omt2 = f32x4.sub(f32x4.splat(1), t2);
  const omt3 = f32x4.sub(f32x4.splat(1), t3);
  const lin0 = v128.bitselect(f32x4.mul(x0, omt0), f32x4.mul(f32x4.neg(x0), t0), pos0);
  const lin1 = v128.bitselect(f32x4.mul(x1, omt1), f32x4.mul(f32x4.neg(x1), t1), pos1);
  const lin2 = v128.bitselect(f32x4.mul(x2, omt2), f32x4.mul(f32x4.neg(x2), t2), pos2);
  const lin3 = v128.bitselect(f32x4.mul(x3, omt3), f32x4.mul(f32x4.neg(x3), t3), pos3);
  const m0 = f32x4.add(f32x4.mul(v128.bitselect(big0, small0, pos0), omt0), f32x4.mul(v128.bitselect(small0, big0, pos0), t0));
  const m1 = f32x4.add(f32x4.mul(v128.bitselect(big1, small1, pos1), omt1), f32x4.mul(v128.bitselect(small1, big1, pos1), t1));
  const m2 = f32x4.add(f32x4.mul(v128.bitselect(big2, small2, pos2), omt2), f32x4.mul(v128.bitselect(small2, big2, pos2), t2));
  const m3 = f32x4.add(f32x4.mul(v128.bitselect(big3, small3, pos3), omt3), f32x4.mul(v128.bitselect(small3, big3, pos3), t3));
  const s0 = f32x4.div(e0, f32x4.add(e0, f32x4.splat(2)));
  const s1 = f32x4.div(e1, f32x4.add(e1, f32x4.splat(2)));
  const s2 = f32x4.div(e2, f32x4.add(e2, f32x4.splat(2)));
  const s3 = f32x4.div(e3, f32x4.add(e3, f32x4.splat(2)));
  const z0 = f32x4.mul(s0, s0);
  const z1 = f32x4.mul(s1, s1);
  const z2 = f32x4.mul(s2, s2);
  const z3 = f32x4.mul(s3, s3);
  const zz0 = f32x4.mul(z0, z0);
  const zz1 = f32x4.mul(z1, z1);
  const zz2 = f32x4.mul(z2, z2);
  const zz3 = f32x4.mul(z3, z3);
  const qa0 = f32x4.add(f32x4.mul(f32x4.splat(L13), z0), f32x4.splat(L11));
  const qa1 = f32x4.add(f32x4.mul(f32x4.splat(L13), z1), f32x4.splat(L11));
  const qa2 = f32x4.add(f32x4.mul(f32x4.splat(L13), z2), f32x4.splat(L11));
  const qa3 = f32x4.add(f32x4.mul(f32x4.splat(L13), z3), f32x4.splat(L11));
  const qb0 = f32x4.add(f32x4.mul(f32x4.splat(L9), z0), f32x4.splat(L7));
  const qb1 = f32x4.add(f32x4.mul(f32x4.splat(L9), z1), f32x4.splat(L7));
  const qb2 = f32x4.add(f32x4.mul(f32x4.splat(L9), z2), f32x4.splat(L7));
  const qb3 = f32x4.add(f32x4.mul(f32x4.splat(L9), z3), f32x4.splat(L7));
  const qc0 = f32x4.add(f32x4.mul(f32x4.splat(L5), z0), f32x4.splat(L3));
  const qc1 = f32x4.add(f32x4.mul(f32x4.splat(L5), z1), f32x4.splat(L3));
  const qc2 = f32x4.add(f32x4.mul(f32x4.splat(L5), z2), f32x4.splat(L3));
  const qc3 = f32x4.add(f32x4.mul(f32x4.splat(L5), z3), f32x4.splat(L3));
  const qd0 = f32x4.add(f32x4.mul(f32x4.splat(L15), zz0), qa0);
  const qd1 = f32x4.add(f32x4.mul(f32x4.splat(L15), zz1), qa1);
  const qd2 = f32x4.add(f32x4.mul(f32x4.splat(L15), zz2), qa2);
  const qd3 = f32x4.add(f32x4.mul(f32x4.splat(L15), zz3), qa3);
  const q0 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(qd0, zz0), qb0), zz0), qc0);
  const q1 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(qd1, zz1), qb1), zz1), qc1);
  const q2 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(qd2, zz2), qb2), zz2), qc2);
  const q3 = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(qd3, zz3), qb3), zz3), qc3);
  const s20 = f32x4.add(s0, s0);
  const s21 = f32x4.add(s1, s1);
  const s22 = f32x4.add(s2, s2);
  const s23 = f32x4.add(s3, s3);
  let f0 = f32x4.add(lin0, f32x4.add(s20, f32x4.mul(f32x4.mul(s20, z0), q0)));
  let f1 = f32x4.add(lin1, f32x4.add(s21, f32x4.mul(f32x4.mul(s21, z1), q1)));
  let f2 = f32x4.add(lin2, f32x4.add(s22, f32x4.mul(f32x4.mul(s22, z2), q2)));
  let f3 = f32x4.add(lin3, f32x4.add(s23, f32x4.mul(f32x4.mul(s23, z3), q3)));
  const g = gIntGamma;
  if (g >= 0) {
    for (let i = 0; i < g; i++) {
      f0 = f32x4.mul(f0, m0);
      f1 = f32x4.mul(f1, m1);
      f2 = f32x4.mul(f2, m2);
      f3 = f32x4.mul(f3, m3);
    }
  } else {
    f0 = f32x4.mul(f0, powLanes(m0));
    f1 = f32x4.mul(f1, powLanes(m1));
    f2 = f32x4.mul(f2, powLanes(m2));
    f3 = f32x4.mul(f3, powLanes(m3));
  }
  if (gAlpha >= 0) {
    const a = f32x4.splat(gAlpha);
    const b = f32x4.splat(1 - gAlpha);
    f0 = f32x4.mul(f32x4.add(f32x4.mul(a, t0), f32x4.mul(b, omt0)), f0);
    f1 = f32x4.mul(f32x4.add(f32x4.mul(a, t1), f32x4.mul(b, omt1)), f1);
    f2 = f32x4.mul(f32x4.add(f32x4.mul(a, t2), f32x4.mul(b, omt2)), f2);
    f3 = f32x4.mul(f32x4.add(f32x4.mul(a, t3), f32x4.mul(b, omt3)), f3);
  }
  gL0 = f0;
  gL1 = f1;
  gL2 = f2;
  gL3 = f3;
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

// @ts-ignore: decorator
@inline function groupLoss(v: i32): v128 {
  return v == 0 ? gL0 : v == 1 ? gL1 : v == 2 ? gL2 : gL3;
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
    let np = i32x4.splat(0);
    let npos = i32x4.splat(0);
    let ntp = i32x4.splat(0);
    let nnan = i32x4.splat(0);
    let ninf = i32x4.splat(0);
    // Whole groups of 16: computed and stored, then tallied a vector at a time.
    for (; end - i >= 16; i += 16) {
      const o: usize = <usize>i << 2;
      lossGroup(v128.load(x + o), v128.load(t + o), v128.load(x + o, 16), v128.load(t + o, 16), v128.load(x + o, 32), v128.load(t + o, 32), v128.load(x + o, 48), v128.load(t + o, 48));
      v128.store(loss + o, gL0);
      v128.store(loss + o, gL1, 16);
      v128.store(loss + o, gL2, 32);
      v128.store(loss + o, gL3, 48);
      for (let h = 0; h < 4; h++) {
        const oh: usize = o + (<usize>h << 4);
        const xv = v128.load(x + oh);
        const tv = v128.load(t + oh);
        let lv = v128.load(loss + oh);
        if (!i32x4.all_true(v128.and(finiteMask(xv), finiteMask(tv)))) {
          lv = fixNonFinite(xv, tv, lv);
          v128.store(loss + oh, lv);
        }
        const pm = f32x4.gt(xv, zero);
        const tm = f32x4.ge(tv, half);
        // Both masks (all-ones or zero lanes) narrowed to bytes, 0/1: pred's 4 in the low word, tc's next.
        const bytes = v128.and(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(pm, tm), zero), one);
        const b: usize = <usize>(i + (h << 2));
        v128.store32_lane(pred + b, bytes, 0);
        v128.store32_lane(tc + b, bytes, 1);
        sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(lv), f64x2.promote_low_f32x4(i32x4.shuffle(lv, lv, 2, 3, 0, 1))));
        np = i32x4.sub(np, pm);
        npos = i32x4.sub(npos, tm);
        ntp = i32x4.sub(ntp, v128.and(pm, tm));
        // NaN and infinite losses are rare: counted only where some lane is one.
        if (!i32x4.all_true(f32x4.eq(f32x4.sub(lv, lv), zero))) {
          nnan = i32x4.sub(nnan, f32x4.ne(lv, lv));
          ninf = i32x4.sub(ninf, f32x4.eq(f32x4.abs(lv), f32x4.splat(Infinity)));
        }
      }
    }
    // The last 1 to 15 elements of the run: padded with 0 to a group, computed the same way (a lane's loss
    // does not depend on its group), only the live lanes stored and counted.
    const left = end - i;
    if (left > 0) {
      const o: usize = <usize>i << 2;
      lossGroup(
        loadLanes(x + o, left), loadLanes(t + o, left), loadLanes(x + o + 16, left - 4), loadLanes(t + o + 16, left - 4),
        loadLanes(x + o + 32, left - 8), loadLanes(t + o + 32, left - 8), loadLanes(x + o + 48, left - 12), loadLanes(t + o + 48, left - 12),
      );
      for (let h = 0; h < 4 && h << 2 < left; h++) {
        const lanes = left - (h << 2);
        const oh: usize = o + (<usize>h << 4);
        const b: usize = <usize>(i + (h << 2));
        const xv = loadLanes(x + oh, lanes);
        const tv = loadLanes(t + oh, lanes);
        const lv = fixNonFinite(xv, tv, groupLoss(h));
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
        np = i32x4.sub(np, pm);
        npos = i32x4.sub(npos, tm);
        ntp = i32x4.sub(ntp, v128.and(pm, tm));
        nnan = i32x4.sub(nnan, v128.and(f32x4.ne(lz, lz), live));
        ninf = i32x4.sub(ninf, v128.and(f32x4.eq(f32x4.abs(lz), f32x4.splat(Infinity)), live));
      }
    }
    i = end;
    const s = f64x2.extract_lane(sum2, 0) + f64x2.extract_lane(sum2, 1);
    lossSum += s;
    nan += <f64>hsum(nnan);
    inf += <f64>hsum(ninf);
    const p = hsum(np);
    const q = hsum(npos);
    const tp = hsum(ntp);
    const a = acc + ((<usize>ACC_SCALARS + <usize>c * 6) << 3);
    store<f64>(a, load<f64>(a) + s);
    store<f64>(a, load<f64>(a, 8) + <f64>count, 8);
    store<f64>(a, load<f64>(a, 16) + <f64>p, 16);
    store<f64>(a, load<f64>(a, 24) + <f64>q, 24);
    // Correct: both positive or both not, count - p - q + 2 tp.
    store<f64>(a, load<f64>(a, 32) + <f64>(count - p - q + 2 * tp), 32);
    store<f64>(a, load<f64>(a, 40) + <f64>tp, 40);
  }
  store<f64>(acc, load<f64>(acc) + lossSum);
  store<f64>(acc, load<f64>(acc, 8) + nan, 8);
  store<f64>(acc, load<f64>(acc, 16) + inf, 16);
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
