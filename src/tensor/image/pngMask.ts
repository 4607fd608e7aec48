// PNG label masks, as a target only: one sample [H, W] of class indices, the way segmentation datasets store
// them. 8-bit gray holds the class; a palette PNG (VOC, ADE20K) holds the class as its palette index, never
// the colour; 16-bit gray holds exact values up to 65535. Gray + alpha reads the gray channel while every
// pixel is opaque. RGB masks hold colours, not classes: they need a colour table (src/tensor/image/colorTable.ts).
// The header (IHDR, the first 33 bytes) is read on its own, so pickers and hovers learn size and bit depth
// without decoding. Decoding is ours, not a general PNG library's: a mask needs IHDR, IDAT and IEND (PLTE and
// tRNS are checked for their place), every other chunk is skipped without being inflated, the image data's
// exact inflated size is known from IHDR and checked against the limits before anything is inflated, and
// inflation stops at the first byte beyond it. A general decoder inflates an ICC profile or compressed text
// too, and a 1.4 MB iCCP chunk can inflate to 1.5 GB.
import { Unzlib } from 'fflate';
import { fmtShape, LensError } from '../../errors';
import { mapColorsToClasses, type ColorTable } from './colorTable';
import { crc32 } from '../binary/crc32';
import type { DType, Tensor } from '../tensor';

/** Largest mask decoded: 2^28 pixels (16384 x 16384). A header above it is a PNG bomb or not a mask. */
export const MAX_MASK_PIXELS = 2 ** 28;
/**
 * Largest image data a mask may inflate to (a filter byte and the packed samples of each row): that of a
 * 16384 x 16384 8-bit gray mask. So the pixel limit holds for the bytes too, whatever the colour type and
 * bit depth: a 16-bit or RGBA mask may have fewer pixels, never more bytes to inflate.
 */
export const MAX_MASK_RAW_BYTES = 16384 * (1 + 16384);

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Bytes from the start of the file through the IHDR chunk's CRC. */
export const PNG_HEADER_BYTES = 33;

export type PngColorType = 0 | 2 | 3 | 4 | 6;

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: PngColorType;
  readonly interlaced: boolean;
}

const COLOR_TYPES: Record<PngColorType, { readonly name: string; readonly channels: number; readonly depths: readonly number[] }> = {
  0: { name: 'gray', channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', channels: 3, depths: [8, 16] },
  3: { name: 'palette', channels: 1, depths: [1, 2, 4, 8] },
  4: { name: 'gray+alpha', channels: 2, depths: [8, 16] },
  6: { name: 'RGBA', channels: 4, depths: [8, 16] },
};

const RGB_ADVICE = 'save the mask as 8-bit gray or palette PNG, or give a colour table (classes.json with "colors", or palette VOC)';

export function isPngPath(path: string): boolean {
  return /\.png$/i.test(path);
}

export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= SIGNATURE.length && SIGNATURE.every((x, i) => bytes[i] === x);
}

const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];

/** The IHDR fields from the first 33 bytes (more may be passed). Errors are one-line LensErrors without the file name. */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (!hasPngSignature(bytes)) throw new LensError('format', 'not a PNG file (no PNG signature)');
  if (bytes.length < PNG_HEADER_BYTES) throw new LensError('format', `the PNG ends after ${bytes.length} bytes, inside its header — truncated?`);
  const type = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (type !== 'IHDR' || u32(bytes, 8) !== 13) throw new LensError('format', 'a PNG whose first chunk is not a 13-byte IHDR — the file is corrupt');
  const width = u32(bytes, 16);
  const height = u32(bytes, 20);
  const bitDepth = bytes[24];
  const colorType = bytes[25] as PngColorType;
  const ct = COLOR_TYPES[colorType];
  if (ct === undefined) throw new LensError('format', `a PNG with unknown colour type ${bytes[25]} — the file is corrupt`);
  if (!ct.depths.includes(bitDepth)) throw new LensError('format', `a ${ct.name} PNG with bit depth ${bitDepth} (PNG allows ${ct.depths.join(', ')}) — the file is corrupt`);
  if (width === 0 || height === 0) throw new LensError('format', `a PNG of ${width} x ${height} pixels — PNG images are at least 1 x 1`);
  if (bytes[28] > 1) throw new LensError('format', `a PNG with unknown interlace method ${bytes[28]} — the file is corrupt`);
  return { width, height, bitDepth, colorType, interlaced: bytes[28] === 1 };
}

export function colorTypeName(t: PngColorType): string {
  return COLOR_TYPES[t].name;
}

/** Whether the header is an RGB(A) image, which needs a colour table to be a mask. */
export function isColorPng(h: PngHeader): boolean {
  return h.colorType === 2 || h.colorType === 6;
}

/** The dtype a mask decodes to: uint16 for 16-bit gray (and gray+alpha), uint8 otherwise. */
export function pngMaskDType(h: PngHeader): DType {
  return h.bitDepth === 16 && !isColorPng(h) ? 'uint16' : 'uint8';
}

/** The mask's shape [H, W]. */
export function pngMaskShape(h: PngHeader): [number, number] {
  return [h.height, h.width];
}

/** What the header says, for a Quick Pick description or a hover: "8-bit palette PNG mask". */
export function describePngHeader(h: PngHeader): string {
  return `${h.bitDepth}-bit ${colorTypeName(h.colorType)} PNG${h.interlaced ? ' (interlaced)' : ''}`;
}

function checkSize(h: PngHeader): void {
  const pixels = h.width * h.height;
  if (pixels > MAX_MASK_PIXELS) {
    throw new LensError(
      'format',
      `the PNG header declares ${h.width} x ${h.height} = ${pixels} pixels, above the ${MAX_MASK_PIXELS} pixels a mask may have (a corrupt file or a PNG bomb) — it is not decoded`,
    );
  }
  const raw = rawByteCount(h);
  if (raw > MAX_MASK_RAW_BYTES) {
    throw new LensError(
      'format',
      `the PNG header declares ${h.width} x ${h.height} ${h.bitDepth}-bit ${colorTypeName(h.colorType)} pixels, ${raw} bytes of image data, above the ${MAX_MASK_RAW_BYTES} of a mask at the limit of ${MAX_MASK_PIXELS} pixels (16384 x 16384 8-bit gray; a corrupt file or a PNG bomb) — it is not decoded`,
    );
  }
}

/** One pass over the image: the whole image, or one of Adam7's seven, as the rows the zlib stream holds. */
interface Pass {
  readonly x0: number;
  readonly y0: number;
  readonly dx: number;
  readonly dy: number;
  /** Pixels per row and rows of this pass. */
  readonly width: number;
  readonly height: number;
  /** Bytes of one row without its filter byte. */
  readonly stride: number;
}

const ADAM7: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

function bitsPerPixel(h: PngHeader): number {
  return h.bitDepth * COLOR_TYPES[h.colorType].channels;
}

/** The passes that hold pixels (an Adam7 pass of a small image may be empty and then has no bytes at all). */
function passesOf(h: PngHeader): Pass[] {
  const bits = bitsPerPixel(h);
  const grid: ReadonlyArray<readonly [number, number, number, number]> = h.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  const out: Pass[] = [];
  for (const [x0, y0, dx, dy] of grid) {
    const width = Math.ceil((h.width - x0) / dx);
    const height = Math.ceil((h.height - y0) / dy);
    if (width > 0 && height > 0) out.push({ x0, y0, dx, dy, width, height, stride: Math.ceil((width * bits) / 8) });
  }
  return out;
}

/** Bytes the image data inflates to, exactly: a filter byte and the packed samples of every row of every pass. */
function rawByteCount(h: PngHeader): number {
  return passesOf(h).reduce((a, p) => a + p.height * (1 + p.stride), 0);
}

/**
 * The chunks decoding uses: IDAT's pieces, after checking every chunk's length, CRC and place. Ancillary
 * chunks are skipped unread, compressed ones (iCCP, zTXt, iTXt) included: a mask needs none of them, and a
 * profile of a few KB can inflate to gigabytes. PLTE and tRNS are checked for their place only: a palette
 * mask holds the index, never the colour.
 */
function imageData(bytes: Uint8Array): Uint8Array[] {
  if (u32(bytes, 29) !== crc32(bytes.subarray(12, 29))) throw new LensError('format', 'the IHDR chunk fails its CRC check — the file is corrupt');
  const idat: Uint8Array[] = [];
  let idatEnded = false;
  let plte = false;
  for (let o = PNG_HEADER_BYTES; ;) {
    if (o + 8 > bytes.length) throw new LensError('format', `the PNG ends after ${bytes.length} bytes, before its IEND chunk — truncated?`);
    const len = u32(bytes, o);
    const codes = bytes.subarray(o + 4, o + 8);
    if (!codes.every((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) {
      throw new LensError('format', `the chunk at byte ${o} has no valid type (${Array.from(codes, (c) => c.toString(16).padStart(2, '0')).join(' ')}) — the file is corrupt`);
    }
    const type = String.fromCharCode(...codes);
    if (len > 0x7fffffff) throw new LensError('format', `the ${type} chunk at byte ${o} declares ${len} bytes, more than PNG allows — the file is corrupt`);
    const end = o + 8 + len;
    if (end + 4 > bytes.length) throw new LensError('format', `the PNG ends inside its ${type} chunk (byte ${o}, ${len} bytes declared) — truncated?`);
    if (u32(bytes, end) !== crc32(bytes.subarray(o + 4, end))) throw new LensError('format', `the ${type} chunk at byte ${o} fails its CRC check — the file is corrupt`);
    const data = bytes.subarray(o + 8, end);
    if (type === 'IEND') break;
    if (type === 'IDAT') {
      if (idatEnded) throw new LensError('format', `an IDAT chunk at byte ${o} after other chunks followed the image data — the file is corrupt`);
      idat.push(data);
    } else {
      if (idat.length > 0) idatEnded = true;
      if (type === 'IHDR') throw new LensError('format', `a second IHDR chunk at byte ${o} — the file is corrupt`);
      if (type === 'PLTE') {
        if (idat.length > 0) throw new LensError('format', 'the PLTE chunk comes after the image data — the file is corrupt');
        if (plte) throw new LensError('format', 'a second PLTE chunk — the file is corrupt');
        if (len === 0 || len % 3 !== 0 || len > 768) throw new LensError('format', `a PLTE chunk of ${len} bytes (PNG allows 1 to 256 colours of 3 bytes) — the file is corrupt`);
        plte = true;
      } else if (type !== 'tRNS' && (codes[0] & 0x20) === 0) {
        // An upper-case first letter: a critical chunk, which a decoder that does not know it may not skip.
        throw new LensError('format', `an unknown critical chunk ${type} — not a PNG this decoder can read safely`);
      }
    }
    o = end + 4;
  }
  if (idat.length === 0) throw new LensError('format', 'a PNG without image data (no IDAT chunk) — the file is corrupt');
  return idat;
}

/** Deflate writes at most 258 bytes per 2 bits (about 1032:1); a header asking for more cannot be this file. */
const MAX_DEFLATE_RATIO = 1032;
/** Compressed bytes given to the inflater at a time: one slice inflates to at most about 4 MB. */
const SLICE = 4096;

/** Paeth predictor (PNG specification, 9.4). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Reverses a row's filter in place, against the pass's previous row (zeros for its first). */
function unfilter(filter: number, row: Uint8Array, prev: Uint8Array, bpp: number, y: number): void {
  const n = row.length;
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) row[i] = (row[i] + row[i - bpp]) & 0xff;
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] = (row[i] + prev[i]) & 0xff;
      return;
    case 3:
      for (let i = 0; i < n; i++) row[i] = (row[i] + (((i >= bpp ? row[i - bpp] : 0) + prev[i]) >> 1)) & 0xff;
      return;
    case 4:
      for (let i = 0; i < n; i++) row[i] = (row[i] + paeth(i >= bpp ? row[i - bpp] : 0, prev[i], i >= bpp ? prev[i - bpp] : 0)) & 0xff;
      return;
    default:
      throw new LensError('format', `row ${y} of the image data has unknown filter type ${filter} — the file is corrupt`);
  }
}

/** Decoded samples: one value per pixel (gray, palette index, the gray of gray+alpha) or 3/4 bytes (RGB(A)). */
interface Samples {
  readonly values: Uint8Array | Uint16Array;
  /** First pixel (raster order) of a gray+alpha mask that is not fully opaque, and its alpha. */
  readonly transparent: { readonly index: number; readonly alpha: number } | null;
}

/**
 * Inflates the image data straight into the pixels, a row at a time: the inflater is fed small slices and
 * stops the moment the stream yields one byte more than the header's rows hold (a zlib bomb is refused, never
 * inflated in full), and nothing but the output and two rows is allocated.
 */
function decodePixels(h: PngHeader, idat: readonly Uint8Array[]): Samples {
  const expected = rawByteCount(h);
  const compressed = idat.reduce((a, d) => a + d.length, 0);
  if (expected > compressed * MAX_DEFLATE_RATIO + 1024) {
    throw new LensError('format', `${compressed} bytes of image data cannot inflate to the ${expected} bytes its header (${h.width} x ${h.height}) declares — truncated or corrupt`);
  }
  const channels = COLOR_TYPES[h.colorType].channels;
  const wide = h.bitDepth === 16;
  const colour = isColorPng(h);
  const n = h.width * h.height;
  const values = colour ? new Uint8Array(n * channels) : wide ? new Uint16Array(n) : new Uint8Array(n);
  const alphaMax = wide ? 65535 : 255;
  let transparent: Samples['transparent'] = null;
  const bpp = Math.max(1, bitsPerPixel(h) >> 3);
  const passes = passesOf(h);
  let p = 0;
  let y = 0;
  let fill = 0;
  let row = new Uint8Array(1 + passes[0].stride);
  let prev = new Uint8Array(1 + passes[0].stride);
  let produced = 0;
  let done = false;
  const tooLarge = (): LensError =>
    new LensError('format', `the image data inflates beyond the ${expected} bytes its header (${h.width} x ${h.height}, ${h.bitDepth}-bit ${colorTypeName(h.colorType)}) allows — a corrupt file or a PNG bomb; it is not inflated further`);

  const emit = (pass: Pass, r: number, s: Uint8Array): void => {
    const yy = pass.y0 + r * pass.dy;
    const base = yy * h.width + pass.x0;
    if (h.bitDepth < 8) {
      const depth = h.bitDepth;
      const mask = (1 << depth) - 1;
      // Samples are packed from the high bits down; a row ends on a whole byte.
      for (let b = 0, i = 0; i < pass.width; b++) {
        const v = s[b];
        for (let shift = 8 - depth; shift >= 0 && i < pass.width; shift -= depth, i++) values[base + i * pass.dx] = (v >> shift) & mask;
      }
    } else if (colour) {
      for (let i = 0; i < pass.width; i++) {
        const at = (base + i * pass.dx) * channels;
        for (let k = 0; k < channels; k++) values[at + k] = s[i * channels + k];
      }
    } else if (channels === 1 && !wide && pass.dx === 1) {
      values.set(s, base);
    } else {
      const step = channels * (wide ? 2 : 1);
      for (let i = 0; i < pass.width; i++) {
        const at = i * step;
        values[base + i * pass.dx] = wide ? (s[at] << 8) | s[at + 1] : s[at];
        if (channels === 2) {
          const a = wide ? (s[at + 2] << 8) | s[at + 3] : s[at + 1];
          const index = base + i * pass.dx;
          if (a !== alphaMax && (transparent === null || index < transparent.index)) transparent = { index, alpha: a };
        }
      }
    }
  };

  const onData = (chunk: Uint8Array): void => {
    produced += chunk.length;
    if (produced > expected) throw tooLarge();
    for (let i = 0; i < chunk.length;) {
      const take = Math.min(row.length - fill, chunk.length - i);
      row.set(chunk.subarray(i, i + take), fill);
      fill += take;
      i += take;
      if (fill < row.length) break;
      const pass = passes[p];
      const samples = row.subarray(1);
      unfilter(row[0], samples, prev.subarray(1), bpp, pass.y0 + y * pass.dy);
      emit(pass, y, samples);
      [row, prev] = [prev, row];
      fill = 0;
      if (++y === pass.height) {
        y = 0;
        if (++p === passes.length) {
          done = true;
        } else {
          row = new Uint8Array(1 + passes[p].stride);
          prev = new Uint8Array(1 + passes[p].stride);
        }
      }
    }
  };

  const z = new Unzlib((chunk) => onData(chunk));
  const push = (data: Uint8Array, final: boolean): void => {
    try {
      z.push(data, final);
    } catch (e) {
      if (e instanceof LensError) throw e;
      throw new LensError('format', `the image data does not inflate (${e instanceof Error ? e.message : String(e)}) — is the PNG truncated or corrupt?`);
    }
  };
  for (const d of idat) for (let s = 0; s < d.length; s += SLICE) push(d.subarray(s, Math.min(d.length, s + SLICE)), false);
  push(new Uint8Array(0), true);
  if (!done) throw new LensError('format', `the image data inflates to ${produced} of the ${expected} bytes its header declares: the PNG holds fewer pixels than its header declares — truncated?`);
  return { values, transparent };
}

export interface PngMaskOptions {
  /** Maps an RGB(A) mask's colours to classes; without it an RGB mask is refused. */
  readonly colorTable?: ColorTable;
}

/**
 * Decodes a PNG label mask to a [H, W] tensor of class indices: uint8 (8-bit or less gray, palette index,
 * colour-table classes up to 255), uint16 (16-bit gray), int32 (a colour table with larger classes).
 * Errors are one-line LensErrors without the file name (decodeTensorFile adds it).
 */
export function decodePngMask(bytes: Uint8Array, opts: PngMaskOptions = {}): Tensor {
  const h = readPngHeader(bytes);
  if (bytes[26] !== 0 || bytes[27] !== 0) {
    throw new LensError('format', `a PNG with unknown ${bytes[26] !== 0 ? `compression method ${bytes[26]}` : `filter method ${bytes[27]}`} — the file is corrupt`);
  }
  checkSize(h);
  const shape = pngMaskShape(h);
  if (isColorPng(h) && opts.colorTable === undefined) {
    throw new LensError('format', `an ${colorTypeName(h.colorType)} mask: colours are not class indices — ${RGB_ADVICE}`);
  }
  if (isColorPng(h) && h.bitDepth === 16) {
    throw new LensError('format', `a 16-bit ${colorTypeName(h.colorType)} mask: colour tables hold 8-bit colours — save the mask as 8-bit RGB, or as gray or palette PNG`);
  }
  if (h.interlaced && h.bitDepth < 8) {
    throw new LensError('format', `an interlaced ${h.bitDepth}-bit PNG is not supported — save it without interlacing (PIL never interlaces)`);
  }
  const { values, transparent } = decodePixels(h, imageData(bytes));
  if (isColorPng(h)) {
    const classes = mapColorsToClasses(values, h.colorType === 2 ? 3 : 4, h.width, opts.colorTable!);
    return { dtype: classes instanceof Uint8Array ? 'uint8' : 'int32', shape, data: classes };
  }
  if (transparent !== null) {
    throw new LensError(
      'format',
      `a gray+alpha mask with transparent pixels (first at pixel [${Math.floor(transparent.index / h.width)}, ${transparent.index % h.width}], alpha ${transparent.alpha}) — save the mask without alpha (PIL mode L or P)`,
    );
  }
  // Gray or palette: the stored value (for a palette, its index) is the class.
  return { dtype: pngMaskDType(h), shape, data: values };
}

/**
 * How a mask [H, W] (one sample) pairs with an input: [1, C, H, W] takes the target [1, H, W]; one
 * sample's logits [C, H, W] become [1, C, H, W] with the target [1, H, W] (PyTorch reads a 3-D input as
 * (N, C, d1), so [C, H, W] against [H, W] would not compute there). Other inputs are left as they are, for
 * the kernel's own shape messages. An input holding several samples is an error naming the mask.
 */
export function pairMaskShapes(inputShape: readonly number[], maskShape: readonly number[]): { input: readonly number[]; target: readonly number[]; paired: boolean } {
  if (maskShape.length !== 2) return { input: inputShape, target: maskShape, paired: false };
  if (inputShape.length === 4) {
    if (inputShape[0] !== 1) {
      throw new LensError(
        'shape',
        `a PNG mask is one sample ${fmtShape(maskShape)}, but the input ${fmtShape(inputShape)} holds ${inputShape[0]} samples — pass one sample's logits ([1, C, H, W] or [C, H, W]), or save the targets as one .npy [N, H, W]`,
      );
    }
    return { input: inputShape, target: [1, ...maskShape], paired: true };
  }
  if (inputShape.length === 3) return { input: [1, ...inputShape], target: [1, ...maskShape], paired: true };
  return { input: inputShape, target: maskShape, paired: false };
}

/** Distinct values of a small mask with their counts, ascending by value; null when more than `maxDistinct`. */
export function maskValueCounts(t: Tensor, maxDistinct = 64): Array<{ value: number; count: number }> | null {
  const counts = new Map<number, number>();
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    const c = counts.get(v);
    if (c === undefined) {
      if (counts.size >= maxDistinct) return null;
      counts.set(v, 1);
    } else counts.set(v, c + 1);
  }
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([value, count]) => ({ value, count }));
}
