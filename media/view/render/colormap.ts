// Colormaps as 256-entry RGBA lookup tables (pure; no DOM). viridis, magma and turbo are the published
// tables (see colormapData.ts, generated from matplotlib); gray is the identity ramp.
import { MAGMA, TURBO, VIRIDIS } from './colormapData';

export type ColormapName = 'viridis' | 'magma' | 'turbo' | 'gray';
export const COLORMAPS: readonly ColormapName[] = ['viridis', 'magma', 'turbo', 'gray'];

/** NaN is drawn in magenta: a colour none of the colormaps contains. */
export const NAN_RGBA: readonly [number, number, number, number] = [255, 0, 255, 255];

const cache = new Map<ColormapName, Uint8ClampedArray>();

export function isColormap(v: unknown): v is ColormapName {
  return typeof v === 'string' && (COLORMAPS as readonly string[]).includes(v);
}

/** The published float table (256 x RGB in [0, 1]); gray is i / 255. */
export function colormapFloats(name: ColormapName): readonly number[] {
  switch (name) {
    case 'viridis': return VIRIDIS;
    case 'magma': return MAGMA;
    case 'turbo': return TURBO;
    case 'gray': {
      const out: number[] = [];
      for (let i = 0; i < 256; i++) out.push(i / 255, i / 255, i / 255);
      return out;
    }
  }
}

/** 256 x RGBA bytes; each channel is round(255 * value), which gives the usual hex values (#440154 … #fde725). */
export function colormapLUT(name: ColormapName): Uint8ClampedArray {
  let lut = cache.get(name);
  if (!lut) {
    const f = colormapFloats(name);
    lut = new Uint8ClampedArray(256 * 4);
    for (let i = 0; i < 256; i++) {
      lut[i * 4] = Math.round(f[i * 3] * 255);
      lut[i * 4 + 1] = Math.round(f[i * 3 + 1] * 255);
      lut[i * 4 + 2] = Math.round(f[i * 3 + 2] * 255);
      lut[i * 4 + 3] = 255;
    }
    cache.set(name, lut);
  }
  return lut;
}

export function lutColor(name: ColormapName, i: number): [number, number, number] {
  const lut = colormapLUT(name);
  const k = Math.max(0, Math.min(255, Math.round(i))) * 4;
  return [lut[k], lut[k + 1], lut[k + 2]];
}

export function rgbCss(rgb: readonly number[]): string {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/** A CSS linear-gradient through `stops` evenly spaced entries of the table (for legends). */
export function gradientCss(name: ColormapName, stops = 17, direction = 'to right'): string {
  const parts: string[] = [];
  for (let k = 0; k < stops; k++) {
    const i = Math.round((k * 255) / (stops - 1));
    parts.push(`${rgbCss(lutColor(name, i))} ${((k * 100) / (stops - 1)).toFixed(2)}%`);
  }
  return `linear-gradient(${direction}, ${parts.join(', ')})`;
}
