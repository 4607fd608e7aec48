// The bench's arithmetic anchor (issue #24): one SIMD pass computing 2^(x log2 e) of every logit with the
// cross-entropy kernel's own exp polynomial (exp2c in ce.ts, copied: test/unit/wasm/anchor.test.ts checks
// the coefficients are ce.ts's) and nothing else, so the kernel can be judged against what the machine can
// do per logit, not only against PyTorch. Its own module, built only by the bench and the test: adding an
// export to ce.ts once changed how the row kernel compiled.

@inline function exp2c(y0: v128, DEG5: bool): v128 {
  const one = f32x4.splat(1.0);
  const y = f32x4.pmax(y0, f32x4.splat(-125.0));
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

const LOG2E: f32 = 1.4426950408889634;

@inline function sumOf(p: usize, n: i32, DEG5: bool): f32 {
  const l = f32x4.splat(LOG2E);
  // Four independent sums: the pass is bound by the polynomial, not by one chain of adds.
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const m = n & ~15;
  for (let i = 0; i < m; i += 16) {
    const q = p + (<usize>i << 2);
    s0 = f32x4.add(s0, exp2c(f32x4.mul(v128.load(q), l), DEG5));
    s1 = f32x4.add(s1, exp2c(f32x4.mul(v128.load(q, 16), l), DEG5));
    s2 = f32x4.add(s2, exp2c(f32x4.mul(v128.load(q, 32), l), DEG5));
    s3 = f32x4.add(s3, exp2c(f32x4.mul(v128.load(q, 48), l), DEG5));
  }
  const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** The sum of exp(x) over the first n - n % 16 float32 values at p (degree 5 when deg5 != 0, else 4). */
export function expSum(p: usize, n: i32, deg5: i32): f32 {
  return deg5 != 0 ? sumOf(p, n, true) : sumOf(p, n, false);
}

/** exp(x) of n float32 values (n a multiple of 4) from src into dst, for the test. */
export function expEach(src: usize, dst: usize, n: i32, deg5: i32): void {
  const l = f32x4.splat(LOG2E);
  for (let i = 0; i < n; i += 4) {
    const x = f32x4.mul(v128.load(src + (<usize>i << 2)), l);
    v128.store(dst + (<usize>i << 2), deg5 != 0 ? exp2c(x, true) : exp2c(x, false));
  }
}
