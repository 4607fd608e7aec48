// PNG label masks, as a target only: one sample [H, W] of class indices, the way segmentation datasets store
// them. 8-bit gray holds the class; a palette PNG (VOC, ADE20K) holds the class as its palette index, never
// the colour; 16-bit gray holds exact values up to 65535. Gray + alpha reads the gray channel while every
// pixel is opaque. RGB masks hold colours, not classes: they need a colour table (src/tensor/colorTable.ts).
// Pixels are decoded by fast-png; the header (IHDR, the first 33 bytes) is read here, so pickers and hovers
// learn size and bit depth without decoding, and a header that declares an absurd size is refused before any
// pixel is inflated.
import { decode } from 'fast-png';
import { Unzlib } from 'fflate';
import { fmtShape, LensError } from '../errors';
import { mapColorsToClasses, type ColorTable } from './colorTable';
import type { DType, Tensor } from './tensor';

/** Largest mask decoded: 2^28 pixels (16384 x 16384). A header above it is a PNG bomb or not a mask. */
export const MAX_MASK_PIXELS = 2 ** 28;

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
}

/** Bytes the zlib stream of an image with this header inflates to (both interlace methods, with slack). */
function rawBytesBound(h: PngHeader): number {
  const bitsPerPixel = h.bitDepth * COLOR_TYPES[h.colorType].channels;
  const rowBytes = Math.ceil((h.width * bitsPerPixel) / 8);
  // Adam7 adds at most one filter byte and one partial byte per row of each of its 7 passes.
  return h.height * (1 + rowBytes) + (h.interlaced ? 14 * h.height + 64 : 0);
}

/**
 * Inflates the IDAT stream once, counting, and refuses data that inflates beyond what the header declares
 * (a zlib bomb in a small image) before the decoder gathers it all in memory.
 */
function checkInflatedSize(bytes: Uint8Array, h: PngHeader): void {
  const bound = rawBytesBound(h);
  let produced = 0;
  const tooLarge = new LensError('format', `the image data inflates beyond the ${bound} bytes its header (${h.width} x ${h.height}) allows — a corrupt file or a PNG bomb`);
  const z = new Unzlib((chunk) => {
    produced += chunk.length;
    if (produced > bound) throw tooLarge;
  });
  const SLICE = 1024;
  for (let o = 8; o + 8 <= bytes.length;) {
    const len = u32(bytes, o);
    const type = String.fromCharCode(bytes[o + 4], bytes[o + 5], bytes[o + 6], bytes[o + 7]);
    const start = o + 8;
    if (start + len + 4 > bytes.length) return; // truncated: the decoder says so
    if (type === 'IDAT') {
      // Small slices: one push of a highly compressed slice can inflate to at most about 1000x its size.
      for (let s = start; s < start + len; s += SLICE) {
        try {
          z.push(bytes.subarray(s, Math.min(start + len, s + SLICE)));
        } catch (e) {
          if (e === tooLarge) throw e;
          return; // a corrupt stream: the decoder names it
        }
      }
    }
    if (type === 'IEND') return;
    o = start + len + 4;
  }
}

/** Unpacks 1-, 2- or 4-bit samples (rows padded to whole bytes) into one byte per pixel. */
function unpackBits(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const rowBytes = Math.ceil((width * depth) / 8);
  const out = new Uint8Array(width * height);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    const row = y * rowBytes;
    for (let x = 0; x < width; x++) {
      const byte = packed[row + Math.floor(x / perByte)];
      out[y * width + x] = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
    }
  }
  return out;
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
  checkInflatedSize(bytes, h);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes, { checkCrc: true });
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new LensError('format', `cannot decode the PNG (${why.slice(0, 120)}) — is it truncated or corrupt?`);
  }
  const n = h.width * h.height;
  if (png.width !== h.width || png.height !== h.height) throw new LensError('format', 'the PNG decoder disagrees with the header — the file is corrupt');
  const data = png.data;
  if (h.colorType === 2 || h.colorType === 6) {
    const classes = mapColorsToClasses(data, h.colorType === 2 ? 3 : 4, h.width, opts.colorTable!);
    return { dtype: classes instanceof Uint8Array ? 'uint8' : 'int32', shape, data: classes };
  }
  if (h.colorType === 4) {
    const max = h.bitDepth === 16 ? 65535 : 255;
    const gray = h.bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const a = data[2 * i + 1];
      if (a !== max) {
        throw new LensError(
          'format',
          `a gray+alpha mask with transparent pixels (first at pixel [${Math.floor(i / h.width)}, ${i % h.width}], alpha ${a}) — save the mask without alpha (PIL mode L or P)`,
        );
      }
      gray[i] = data[2 * i];
    }
    return { dtype: pngMaskDType(h), shape, data: gray };
  }
  // Gray or palette: the stored value (for a palette, its index) is the class.
  if (h.bitDepth === 16) {
    const v = data instanceof Uint16Array ? data : Uint16Array.from(data);
    if (v.length < n) throw new LensError('format', 'the PNG holds fewer pixels than its header declares — truncated?');
    return { dtype: 'uint16', shape, data: v.length === n ? v : v.slice(0, n) };
  }
  const bytesOut = data instanceof Uint8Array ? data : Uint8Array.from(data);
  const values = h.bitDepth < 8 ? unpackBits(bytesOut, h.width, h.height, h.bitDepth) : bytesOut;
  if (values.length < n) throw new LensError('format', 'the PNG holds fewer pixels than its header declares — truncated?');
  return { dtype: 'uint8', shape, data: values.length === n ? values : values.slice(0, n) };
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
