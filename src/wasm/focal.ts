// WebAssembly SIMD kernel (AssemblyScript) for torchvision's sigmoid_focal_loss on float32 logits and
// float32 targets, elementwise: a module of its own (dist/focal.wasm), so the cross-entropy kernel's code
// and layout stay as they are. It imports the same env.memory as ce.wasm and, like it, keeps nothing in
// it: no data segments, no allocator, no shadow stack.
//
// Per element (4 lanes at a time, f32):
//   e = exp(-|x|) (Cody-Waite reduction, degree-6 polynomial), p and q = 1 - p as 1 / (1 + e) and
//   e / (1 + e) (whichever fits the sign of x), so both keep their relative accuracy;
//   bce = (x >= 0 ? x (1 - t) : -x t) + log1p(e) (log1p by 2 atanh(e / (2 + e)): no cancellation);
//   1 - p_t = p (1 - t) + q t (exact in form for 0/1 targets, no 1 - p_t cancellation);
//   loss = bce (1 - p_t)^gamma, times alpha t + (1 - alpha)(1 - t) when alpha >= 0.
//   Integer gamma up to 8 multiplies; any other gamma takes the host's Math.pow per lane (slower).
// Lanes whose logit or target is not finite are redone by a float64 port of the reference
// (src/kernel/bce.ts and src/kernel/focal.ts) with the host's Math.exp / Math.log / Math.pow, so NaN and
// Inf land where PyTorch puts them. A lane's results do not depend on the other lanes or on how a range
// is split (a last partial vector is padded and computed the same way).

@external('env', 'exp') declare function jsExp(x: f64): f64;
@external('env', 'log') declare function jsLog(x: f64): f64;
@external('env', 'pow') declare function jsPow(x: f64, y: f64): f64;

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

/** exp(y) for y in [-87, 0] (callers clamp), 4 lanes. */
// @ts-ignore: decorator
@inline function expNeg(y: v128): v128 {
  const n = f32x4.nearest(f32x4.mul(y, f32x4.splat(LOG2E)));
  let r = f32x4.sub(y, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n for n in [-126, 0]: the exponent field.
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** log1p(e) for e in [0, 1], 4 lanes: 2 atanh(s), s = e / (2 + e) in [0, 1/3]. */
// @ts-ignore: decorator
@inline function log1pUnit(e: v128): v128 {
  const s = f32x4.div(e, f32x4.add(e, f32x4.splat(2)));
  const z = f32x4.mul(s, s);
  let q = f32x4.splat(1.0 / 15);
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(1.0 / 13));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(1.0 / 11));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(1.0 / 9));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(1.0 / 7));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(1.0 / 5));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(1.0 / 3));
  const s2 = f32x4.add(s, s);
  return f32x4.add(s2, f32x4.mul(f32x4.mul(s2, z), q));
}

/** The loss of 4 lanes (finite x and t). */
// @ts-ignore: decorator
@inline function lossVec(x: v128, t: v128): v128 {
  const ax = f32x4.abs(x);
  const e = expNeg(f32x4.neg(f32x4.min(ax, f32x4.splat(87))));
  const d = f32x4.add(e, f32x4.splat(1));
  const big = f32x4.div(f32x4.splat(1), d);
  const small = f32x4.mul(e, big);
  const pos = f32x4.ge(x, f32x4.splat(0));
  const p = v128.bitselect(big, small, pos);
  const q = v128.bitselect(small, big, pos);
  const omt = f32x4.sub(f32x4.splat(1), t);
  const lin = v128.bitselect(f32x4.mul(x, omt), f32x4.mul(f32x4.neg(x), t), pos);
  const bce = f32x4.add(lin, log1pUnit(e));
  const m = f32x4.add(f32x4.mul(p, omt), f32x4.mul(q, t));
  let f: v128;
  const g = gIntGamma;
  if (g >= 0) {
    f = bce;
    for (let i = 0; i < g; i++) f = f32x4.mul(f, m);
  } else {
    // Any other gamma: m^gamma by the host's Math.pow in f64 per lane (a rarer setting, and slower):
    // 2^(gamma log2 m) in f32 loses ~6e-8 |gamma log2 m| relative, more than the bound allows where a
    // soft target leaves m small under a huge bce.
    const m0 = <f32>jsPow(<f64>f32x4.extract_lane(m, 0), gGammaF64);
    const m1 = <f32>jsPow(<f64>f32x4.extract_lane(m, 1), gGammaF64);
    const m2 = <f32>jsPow(<f64>f32x4.extract_lane(m, 2), gGammaF64);
    const m3 = <f32>jsPow(<f64>f32x4.extract_lane(m, 3), gGammaF64);
    f = f32x4.mul(bce, f32x4(m0, m1, m2, m3));
  }
  if (gAlpha >= 0) {
    const a = f32x4.add(f32x4.mul(f32x4.splat(gAlpha), t), f32x4.mul(f32x4.splat(1 - gAlpha), omt));
    f = f32x4.mul(a, f);
  }
  return f;
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

/**
 * sigmoid_focal_loss of n elements: x, t f32 at byte offsets; writes loss (f32), pred (u8: x > 0) and
 * tc (u8: t >= 0.5) there (bytes: they only hold 0 or 1, and the result's maps are as large as the input). Element i is flat element e0 + i of the whole input, whose class axis has C
 * entries and `inner` elements after it: its class is ((e0 + i) / inner) % C. Adds to acc (f64, see
 * ACC_SCALARS). gamma and alpha come from setSigmoidFocal.
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
    let sum2 = f64x2.splat(0);
    let cnt = i32x4.splat(0);
    let np = i32x4.splat(0);
    let npos = i32x4.splat(0);
    let ncorrect = i32x4.splat(0);
    let ntp = i32x4.splat(0);
    let nnan = i32x4.splat(0);
    let ninf = i32x4.splat(0);
    for (; i < end; i += 4) {
      const o: usize = <usize>i << 2;
      const left = end - i;
      let xv: v128;
      let tv: v128;
      let live = i32x4.splat(-1);
      if (left >= 4) {
        xv = v128.load(x + o);
        tv = v128.load(t + o);
      } else {
        // A last partial vector: padded with 0, computed the same way, only its live lanes stored.
        xv = f32x4.splat(0);
        tv = f32x4.splat(0);
        xv = f32x4.replace_lane(xv, 0, load<f32>(x + o));
        tv = f32x4.replace_lane(tv, 0, load<f32>(t + o));
        if (left > 1) {
          xv = f32x4.replace_lane(xv, 1, load<f32>(x + o + 4));
          tv = f32x4.replace_lane(tv, 1, load<f32>(t + o + 4));
        }
        if (left > 2) {
          xv = f32x4.replace_lane(xv, 2, load<f32>(x + o + 8));
          tv = f32x4.replace_lane(tv, 2, load<f32>(t + o + 8));
        }
        live = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(left));
      }
      let lv = lossVec(xv, tv);
      if (!i32x4.all_true(v128.and(finiteMask(xv), finiteMask(tv)))) {
        const l0 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 0), <f64>f32x4.extract_lane(tv, 0));
        const l1 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 1), <f64>f32x4.extract_lane(tv, 1));
        const l2 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 2), <f64>f32x4.extract_lane(tv, 2));
        const l3 = <f32>refLoss(<f64>f32x4.extract_lane(xv, 3), <f64>f32x4.extract_lane(tv, 3));
        const fin = v128.and(finiteMask(xv), finiteMask(tv));
        lv = v128.bitselect(lv, f32x4(l0, l1, l2, l3), fin);
      }
      const pm = v128.and(f32x4.gt(xv, zero), live);
      const tm = v128.and(f32x4.ge(tv, half), live);
      // Both masks (all-ones or zero lanes) narrowed to bytes, 0/1: pred's 4 in the low word, tc's next.
      const bytes = v128.and(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(pm, tm), zero), one);
      const b: usize = <usize>i;
      if (left >= 4) {
        v128.store(loss + o, lv);
        v128.store32_lane(pred + b, bytes, 0);
        v128.store32_lane(tc + b, bytes, 1);
      } else {
        store<f32>(loss + o, f32x4.extract_lane(lv, 0));
        store<u8>(pred + b, i8x16.extract_lane_u(bytes, 0));
        store<u8>(tc + b, i8x16.extract_lane_u(bytes, 4));
        if (left > 1) {
          store<f32>(loss + o, f32x4.extract_lane(lv, 1), 4);
          store<u8>(pred + b, i8x16.extract_lane_u(bytes, 1), 1);
          store<u8>(tc + b, i8x16.extract_lane_u(bytes, 5), 1);
        }
        if (left > 2) {
          store<f32>(loss + o, f32x4.extract_lane(lv, 2), 8);
          store<u8>(pred + b, i8x16.extract_lane_u(bytes, 2), 2);
          store<u8>(tc + b, i8x16.extract_lane_u(bytes, 6), 2);
        }
      }
      const lz = v128.and(lv, live);
      sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(lz), f64x2.promote_low_f32x4(i32x4.shuffle(lz, lz, 2, 3, 0, 1))));
      cnt = i32x4.sub(cnt, live);
      np = i32x4.sub(np, pm);
      npos = i32x4.sub(npos, tm);
      ncorrect = i32x4.sub(ncorrect, v128.and(v128.not(v128.xor(pm, tm)), live));
      ntp = i32x4.sub(ntp, v128.and(pm, tm));
      nnan = i32x4.sub(nnan, v128.and(f32x4.ne(lz, lz), live));
      ninf = i32x4.sub(ninf, v128.and(f32x4.eq(f32x4.abs(lz), f32x4.splat(Infinity)), live));
    }
    i = end;
    const s = f64x2.extract_lane(sum2, 0) + f64x2.extract_lane(sum2, 1);
    lossSum += s;
    nan += <f64>hsum(nnan);
    inf += <f64>hsum(ninf);
    const a = acc + ((<usize>ACC_SCALARS + <usize>c * 6) << 3);
    store<f64>(a, load<f64>(a) + s);
    store<f64>(a, load<f64>(a, 8) + <f64>hsum(cnt), 8);
    store<f64>(a, load<f64>(a, 16) + <f64>hsum(np), 16);
    store<f64>(a, load<f64>(a, 24) + <f64>hsum(npos), 24);
    store<f64>(a, load<f64>(a, 32) + <f64>hsum(ncorrect), 32);
    store<f64>(a, load<f64>(a, 40) + <f64>hsum(ntp), 40);
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
