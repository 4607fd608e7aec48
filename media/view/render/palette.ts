// Categorical colours for classes (pure; no DOM): matplotlib's tab20, dark shades first, cycling.
import { TAB20 } from './colormapData';

export type RGB = readonly [number, number, number];

export function hexToRgb(hex: string): RGB {
  const v = parseInt(hex.replace('#', ''), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

export const PALETTE: readonly RGB[] = TAB20.map(hexToRgb);

/** Colour for a negative or otherwise invalid class index. */
export const INVALID_CLASS_RGB: RGB = [0, 0, 0];

/** The colour of class c; classes past the palette's length reuse it cyclically. */
export function classColor(c: number): RGB {
  if (!Number.isInteger(c) || c < 0) return INVALID_CLASS_RGB;
  return PALETTE[c % PALETTE.length];
}

/** Flat RGB table of the palette (for the rasterizer's inner loop). */
export const PALETTE_FLAT: Uint8Array = (() => {
  const out = new Uint8Array(PALETTE.length * 3);
  PALETTE.forEach((c, i) => out.set(c, i * 3));
  return out;
})();

/** CIE76 colour difference of two sRGB colours (for tests and for choosing readable text). */
export function deltaE(a: RGB, b: RGB): number {
  const la = toLab(a);
  const lb = toLab(b);
  return Math.hypot(la[0] - lb[0], la[1] - lb[1], la[2] - lb[2]);
}

function toLab(rgb: RGB): [number, number, number] {
  const lin = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047;
  const y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  const z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}
