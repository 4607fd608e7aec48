// Colour tables for RGB label masks: which colour stands for which class. An RGB mask's colours are not
// class indices; with a table (classes.json "colors", or the VOC palette by name) each colour maps to its
// class, and a colour the table does not hold is an error that names the first pixel holding it.
import { LensError } from '../../errors';

export type Rgb = readonly [number, number, number];

export interface ColorTable {
  /** What to call the table in messages: "the VOC palette", "classes.json". */
  readonly name: string;
  /** The colour of each class, by class index (null: that class has no colour). */
  readonly colors: readonly (Rgb | null)[];
  /** Colours that mark pixels to skip, and the value they map to (e.g. 255 with --ignore-index 255). */
  readonly ignore?: { readonly colors: readonly Rgb[]; readonly value: number };
}

/**
 * The PASCAL VOC colour map of the VOC devkit (labelcolormap.m): the bits of the class index spread over
 * the colour channels, high bits first. Index 255, VOC's boundary/"void" label, is (224, 224, 192).
 */
export function vocPalette(n = 256): Rgb[] {
  const out: Rgb[] = [];
  for (let i = 0; i < n; i++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = i;
    for (let j = 0; j < 8; j++) {
      r |= (c & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    out.push([r, g, b]);
  }
  return out;
}

/** The VOC palette as a table: colour k is class k for all 256 indices (255, the boundary, included). */
export function vocColorTable(): ColorTable {
  return { name: 'the VOC palette', colors: vocPalette(256) };
}

/** A palette named on a command line or in classes.json ("VOC"); undefined for unknown names. */
export function namedColorTable(name: string): ColorTable | undefined {
  return /^(pascal[-_ ]?)?voc$/i.test(name.trim()) ? vocColorTable() : undefined;
}

function rgbOf(v: unknown, where: string, name: string): Rgb {
  if (Array.isArray(v) && v.length === 3 && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) return [v[0], v[1], v[2]] as const;
  if (typeof v === 'string' && /^#[0-9a-f]{6}$/i.test(v)) {
    const n = parseInt(v.slice(1), 16);
    return [n >> 16, (n >> 8) & 255, n & 255];
  }
  throw new LensError('format', `${name}: ${where} is not a colour — write [r, g, b] with integers 0..255 or "#rrggbb"`);
}

/**
 * The colour table of a parsed classes.json: an object with "colors" (a list of [r, g, b] or "#rrggbb" by
 * class index, null for a class without colour, or the palette name "VOC"), or "palette": "VOC"; optionally
 * "ignoreColors" (colours of pixels to skip) and "ignoreValue" (their value, default 255). Undefined when
 * the file holds no colours (a plain list of names).
 */
export function parseColorTable(json: unknown, name = 'classes.json'): ColorTable | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const spec = o.colors ?? o.palette;
  if (spec === undefined) return undefined;
  let table: ColorTable;
  if (typeof spec === 'string') {
    const named = namedColorTable(spec);
    if (named === undefined) throw new LensError('format', `${name}: unknown palette "${spec.slice(0, 40)}" — use "VOC" or list the colours as [[r, g, b], ...]`);
    table = named;
  } else if (Array.isArray(spec)) {
    table = { name, colors: spec.map((c, i) => (c === null ? null : rgbOf(c, `colors[${i}]`, name))) };
  } else {
    throw new LensError('format', `${name}: "colors" must be a list of [r, g, b] by class index, or "VOC"`);
  }
  if (o.ignoreColors !== undefined) {
    if (!Array.isArray(o.ignoreColors)) throw new LensError('format', `${name}: "ignoreColors" must be a list of [r, g, b]`);
    const value = o.ignoreValue ?? 255;
    if (!Number.isSafeInteger(value)) throw new LensError('format', `${name}: "ignoreValue" must be an integer (the ignore index, e.g. 255)`);
    table = { ...table, ignore: { colors: o.ignoreColors.map((c, i) => rgbOf(c, `ignoreColors[${i}]`, name)), value: value as number } };
  }
  return table;
}

const key = (r: number, g: number, b: number): number => (r << 16) | (g << 8) | b;
const fmtRgb = (k: number): string => `(${k >> 16}, ${(k >> 8) & 255}, ${k & 255})`;

/**
 * Maps the colours of 8-bit RGB or RGBA pixels (`channels` values per pixel, row by row, `width` per row)
 * to class indices by `table`. RGBA pixels must be opaque. Uint8Array when every class fits, else Int32Array.
 */
export function mapColorsToClasses(data: ArrayLike<number>, channels: 3 | 4, width: number, table: ColorTable): Uint8Array | Int32Array {
  const lookup = new Map<number, number>();
  const add = (c: Rgb, cls: number): void => {
    const k = key(c[0], c[1], c[2]);
    const prev = lookup.get(k);
    if (prev !== undefined && prev !== cls) {
      throw new LensError('format', `${table.name} gives colour ${fmtRgb(k)} to both ${prev} and ${cls} — each colour must stand for one class`);
    }
    lookup.set(k, cls);
  };
  table.colors.forEach((c, i) => {
    if (c !== null) add(c, i);
  });
  for (const c of table.ignore?.colors ?? []) add(c, table.ignore!.value);
  let max = 0;
  let min = 0;
  for (const v of lookup.values()) {
    max = Math.max(max, v);
    min = Math.min(min, v);
  }
  const n = Math.floor(data.length / channels);
  const out = max <= 255 && min >= 0 ? new Uint8Array(n) : new Int32Array(n);
  let lastKey = -1;
  let lastCls = 0;
  for (let i = 0, o = 0; i < n; i++, o += channels) {
    if (channels === 4 && data[o + 3] !== 255) {
      throw new LensError('format', `pixel [${Math.floor(i / width)}, ${i % width}] is transparent (alpha ${data[o + 3]}) — a label mask holds opaque colours`);
    }
    const k = key(data[o], data[o + 1], data[o + 2]);
    if (k !== lastKey) {
      const cls = lookup.get(k);
      if (cls === undefined) {
        throw new LensError(
          'value',
          `colour ${fmtRgb(k)} at pixel [${Math.floor(i / width)}, ${i % width}] is not in ${table.name} (${lookup.size} colours) — add it to "colors" (or "ignoreColors") in classes.json`,
        );
      }
      lastKey = k;
      lastCls = cls;
    }
    out[i] = lastCls;
  }
  return out;
}
