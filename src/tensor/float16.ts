// IEEE 754 binary16 <-> number. Decoding is exact (every half is a float32); encoding rounds to nearest,
// ties to even, straight from the double, which is what NumPy's astype(np.float16) does.

let table: Float32Array | undefined;

/** A half's bit pattern (0..65535) as a number; exact, subnormals, infinities and NaN included. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Widens a run of halves through a 64K table: a branch-free lookup beats the arithmetic per element. */
export function halvesToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  if (table === undefined) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfToFloat(h);
  }
  const t = table;
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
  return dst;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** A number's nearest half (ties to even) as a bit pattern. */
export function floatToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  // 65520 is the midpoint between the largest half (65504) and 2^16; the tie goes to the even side, infinity.
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal range: a multiple of 2^-24. Scaling by a power of two is exact, so one rounding happens here;
    // a result of 1024 is the smallest normal, whose bit pattern is the same number.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let e = Math.floor(Math.log2(a));
  // log2 may be off by one next to powers of two.
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** Rounds a number to the nearest half and back: the value a float16 tensor holds. */
export function roundToHalf(v: number): number {
  return halfToFloat(floatToHalf(v));
}
