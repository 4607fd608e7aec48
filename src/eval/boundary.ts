// The boundary band of a label map (DESIGN.md, eval --boundary W): a pixel is in the band when the
// (2w+1) x (2w+1) window around it, clipped at the image edge, holds more than one distinct non-ignored
// label.
//
// "More than one distinct label" is "the smallest label < the largest label" over the window's non-ignored
// pixels, provided the ignored ones take no part. Taking min and max of the raw labels is wrong when
// pixels are ignored: an ignore value of 255 would count as a label, putting every pixel near a void region
// in the band. So each extreme gets its own neutral value: ignored pixels read as +inf for the minimum and
// -inf for the maximum. A window with no non-ignored pixel then has min = +inf > max = -inf (not in the
// band), and one with a single distinct label has min = max (not in the band), exactly as the definition
// says.
//
// Minimum and maximum over a rectangle are separable (rows, then columns), and each 1-D sliding extreme
// uses van Herk / Gil-Werman block prefix and suffix extremes: O(H * W) in all, whatever w is.
// Pure: no Node or VS Code imports.

const POS = 0x7fffffff;
const NEG = -0x80000000;

/**
 * dst[i] = extreme of src over [i - w, i + w] clipped to [0, n), along one strided line.
 * g and h are scratch of length >= n: prefix and suffix extremes within blocks of k = 2w + 1.
 */
function slideLine(
  src: Int32Array, dst: Int32Array, base: number, stride: number, n: number, w: number, isMin: boolean,
  g: Int32Array, h: Int32Array,
): void {
  const k = 2 * w + 1;
  for (let start = 0; start < n; start += k) {
    const end = Math.min(start + k, n) - 1;
    let acc = src[base + start * stride];
    g[start] = acc;
    for (let i = start + 1; i <= end; i++) {
      const v = src[base + i * stride];
      acc = isMin ? (v < acc ? v : acc) : (v > acc ? v : acc);
      g[i] = acc;
    }
    acc = src[base + end * stride];
    h[end] = acc;
    for (let i = end - 1; i >= start; i--) {
      const v = src[base + i * stride];
      acc = isMin ? (v < acc ? v : acc) : (v > acc ? v : acc);
      h[i] = acc;
    }
  }
  for (let i = 0; i < n; i++) {
    const l = i - w < 0 ? 0 : i - w;
    const r = i + w >= n ? n - 1 : i + w;
    let v: number;
    if (Math.floor(l / k) !== Math.floor(r / k)) {
      const a = h[l];
      const b = g[r];
      v = isMin ? (a < b ? a : b) : (a > b ? a : b);
    } else {
      // Within one block the window starts at the block's start (use the prefix up to r) or ends at its
      // end or the line's end (use the suffix from l).
      v = l % k === 0 ? g[r] : h[l];
    }
    dst[base + i * stride] = v;
  }
}

function extreme2d(src: Int32Array, H: number, W: number, w: number, isMin: boolean): Int32Array {
  const tmp = new Int32Array(H * W);
  const out = new Int32Array(H * W);
  const n = Math.max(H, W);
  const g = new Int32Array(n);
  const h = new Int32Array(n);
  for (let y = 0; y < H; y++) slideLine(src, tmp, y * W, 1, W, w, isMin, g, h);
  for (let x = 0; x < W; x++) slideLine(tmp, out, x, W, H, w, isMin, g, h);
  return out;
}

/**
 * The band as a 0/1 map over [H, W] (row-major). `target` holds labels; pixels equal to ignoreIndex take no
 * part. w = 0 gives an empty band (a 1 x 1 window holds one label at most).
 */
export function boundaryBand(target: Int32Array, H: number, W: number, w: number, ignoreIndex: number): Uint8Array {
  const S = H * W;
  const band = new Uint8Array(S);
  if (w <= 0 || S === 0) return band;
  const forMin = new Int32Array(S);
  const forMax = new Int32Array(S);
  for (let i = 0; i < S; i++) {
    const t = target[i];
    const ignored = t === ignoreIndex;
    forMin[i] = ignored ? POS : t;
    forMax[i] = ignored ? NEG : t;
  }
  const mn = extreme2d(forMin, H, W, w, true);
  const mx = extreme2d(forMax, H, W, w, false);
  for (let i = 0; i < S; i++) band[i] = mn[i] < mx[i] ? 1 : 0;
  return band;
}

/** The definition applied literally, O(H * W * w^2): the reference the tests hold boundaryBand to. */
export function boundaryBandNaive(target: Int32Array, H: number, W: number, w: number, ignoreIndex: number): Uint8Array {
  const band = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const seen = new Set<number>();
      for (let yy = Math.max(0, y - w); yy <= Math.min(H - 1, y + w); yy++) {
        for (let xx = Math.max(0, x - w); xx <= Math.min(W - 1, x + w); xx++) {
          const t = target[yy * W + xx];
          if (t !== ignoreIndex) seen.add(t);
        }
      }
      band[y * W + x] = seen.size > 1 ? 1 : 0;
    }
  }
  return band;
}
