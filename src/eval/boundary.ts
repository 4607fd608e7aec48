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
 * Both sliding extremes along one strided line: dMin[i] = min of sMin, dMax[i] = max of sMax over
 * [i - w, i + w] clipped to [0, n). One loop does both (the minimum's and the maximum's inputs differ only
 * at ignored pixels). gm, hm, gx, hx are scratch of length >= n: prefix and suffix extremes within blocks
 * of k = 2w + 1.
 */
function slideLines(
  sMin: Int32Array, sMax: Int32Array, dMin: Int32Array, dMax: Int32Array, base: number, stride: number, n: number, w: number,
  gm: Int32Array, hm: Int32Array, gx: Int32Array, hx: Int32Array,
): void {
  const k = 2 * w + 1;
  for (let start = 0; start < n; start += k) {
    const end = Math.min(start + k, n) - 1;
    let am = sMin[base + start * stride];
    let ax = sMax[base + start * stride];
    gm[start] = am;
    gx[start] = ax;
    for (let i = start + 1; i <= end; i++) {
      const at = base + i * stride;
      const vm = sMin[at];
      const vx = sMax[at];
      am = vm < am ? vm : am;
      ax = vx > ax ? vx : ax;
      gm[i] = am;
      gx[i] = ax;
    }
    am = sMin[base + end * stride];
    ax = sMax[base + end * stride];
    hm[end] = am;
    hx[end] = ax;
    for (let i = end - 1; i >= start; i--) {
      const at = base + i * stride;
      const vm = sMin[at];
      const vx = sMax[at];
      am = vm < am ? vm : am;
      ax = vx > ax ? vx : ax;
      hm[i] = am;
      hx[i] = ax;
    }
  }
  for (let i = 0; i < n; i++) {
    const l = i - w < 0 ? 0 : i - w;
    const r = i + w >= n ? n - 1 : i + w;
    const at = base + i * stride;
    if (Math.floor(l / k) !== Math.floor(r / k)) {
      const a = hm[l];
      const b = gm[r];
      dMin[at] = a < b ? a : b;
      const c = hx[l];
      const d = gx[r];
      dMax[at] = c > d ? c : d;
    } else if (l % k === 0) {
      // Within one block the window starts at the block's start (use the prefix up to r) or ends at its
      // end or the line's end (use the suffix from l).
      dMin[at] = gm[r];
      dMax[at] = gx[r];
    } else {
      dMin[at] = hm[l];
      dMax[at] = hx[l];
    }
  }
}

// Scratch of the last image size, reused: a folder's images are mostly one size, and six fresh
// H x W arrays per image cost more in page faults than the passes over them.
let scratch: { S: number; n: number; a: Int32Array[]; line: Int32Array[] } | null = null;

/**
 * The band as a 0/1 map over [H, W] (row-major). `target` holds labels; pixels equal to ignoreIndex take no
 * part. w = 0 gives an empty band (a 1 x 1 window holds one label at most).
 */
export function boundaryBand(target: Int32Array, H: number, W: number, w: number, ignoreIndex: number): Uint8Array {
  const S = H * W;
  const band = new Uint8Array(S);
  if (w <= 0 || S === 0) return band;
  const n = Math.max(H, W);
  if (scratch === null || scratch.S !== S || scratch.n !== n) {
    scratch = { S, n, a: Array.from({ length: 4 }, () => new Int32Array(S)), line: Array.from({ length: 4 }, () => new Int32Array(n)) };
  }
  const [forMin, forMax, tMin, tMax] = scratch.a;
  const [gm, hm, gx, hx] = scratch.line;
  for (let i = 0; i < S; i++) {
    const t = target[i];
    const ignored = t === ignoreIndex;
    forMin[i] = ignored ? POS : t;
    forMax[i] = ignored ? NEG : t;
  }
  // Rows into tMin / tMax, then columns back into forMin / forMax (each column pass reads only its column).
  for (let y = 0; y < H; y++) slideLines(forMin, forMax, tMin, tMax, y * W, 1, W, w, gm, hm, gx, hx);
  for (let x = 0; x < W; x++) slideLines(tMin, tMax, forMin, forMax, x, W, H, w, gm, hm, gx, hx);
  for (let i = 0; i < S; i++) band[i] = forMin[i] < forMax[i] ? 1 : 0;
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
