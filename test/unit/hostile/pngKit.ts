// PNG files built byte by byte for the hostile and fuzz suites: any chunk in any order, with right or wrong
// lengths and CRCs, and deflate bombs that are made in milliseconds. A bomb is one small sync-flushed deflate
// segment of zeros repeated (each segment refers only to zeros it wrote itself, so the copies chain into one
// valid stream), closed by an empty final block and the Adler-32 of the zeros, which is known in closed form.
import * as zlib from 'node:zlib';
import { crc32 } from '../../../src/tensor/binary/crc32';

export const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface Chunk {
  readonly type: string;
  readonly data: Uint8Array;
  /** Written instead of data.length (a lying length field). */
  readonly length?: number;
  /** Written instead of the right CRC. */
  readonly crc?: number;
}

const u32be = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function chunkBytes(c: Chunk): Uint8Array {
  const typeAndData = concat([ascii(c.type), c.data]);
  return concat([u32be(c.length ?? c.data.length), typeAndData, u32be(c.crc ?? crc32(typeAndData))]);
}

export function pngFile(chunks: readonly Chunk[]): Uint8Array {
  return concat([SIGNATURE, ...chunks.map(chunkBytes)]);
}

export interface Ihdr {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlace?: number;
}

export function ihdr(h: Ihdr): Chunk {
  return { type: 'IHDR', data: concat([u32be(h.width), u32be(h.height), Uint8Array.of(h.bitDepth, h.colorType, 0, 0, h.interlace ?? 0)]) };
}

export const IEND: Chunk = { type: 'IEND', data: new Uint8Array(0) };

/** Filter-0 rows of an 8-bit, one-channel image (gray or palette index). */
export function rows8(values: readonly number[], width: number): Uint8Array {
  const height = values.length / width;
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(values.slice(y * width, (y + 1) * width), y * (width + 1) + 1);
  return raw;
}

/** An 8-bit gray (or palette, with a PLTE) mask of `values`, with `extra` chunks after IHDR. */
export function grayMask(values: readonly number[], width: number, extra: readonly Chunk[] = [], colorType: 0 | 3 = 0): Uint8Array {
  const plte: Chunk[] = colorType === 3 ? [{ type: 'PLTE', data: new Uint8Array(256 * 3).map((_, i) => (i * 37) & 0xff) }] : [];
  return pngFile([ihdr({ width, height: values.length / width, bitDepth: 8, colorType }), ...extra, ...plte, { type: 'IDAT', data: zlib.deflateSync(rows8(values, width)) }, IEND]);
}

/** Raw deflate blocks (not final) that inflate to `segment` zero bytes, repeated `times`, then a final empty block. */
function zeroDeflate(total: number, segment = 1 << 20): Uint8Array {
  const full = Math.floor(total / segment);
  const rest = total - full * segment;
  const flush = { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const seg = zlib.deflateRawSync(Buffer.alloc(segment), flush);
  const parts: Uint8Array[] = new Array<Uint8Array>(full).fill(seg);
  if (rest > 0) parts.push(zlib.deflateRawSync(Buffer.alloc(rest), flush));
  parts.push(zlib.deflateRawSync(Buffer.alloc(0))); // the final block: empty
  return concat(parts);
}

/** A zlib stream (header, deflate, Adler-32) that inflates to `total` zero bytes, about total/1000 bytes long. */
export function zlibZeros(total: number): Uint8Array {
  // Adler-32 of n zeros: a stays 1, b adds a (1) per byte.
  const adler = ((total % 65521) << 16) | 1;
  return concat([Uint8Array.of(0x78, 0xda), zeroDeflate(total), u32be(adler >>> 0)]);
}

/** iCCP: a profile name, compression method 0, and the zlib stream. */
export function iccp(stream: Uint8Array): Chunk {
  return { type: 'iCCP', data: concat([ascii('bomb'), Uint8Array.of(0, 0), stream]) };
}

/** zTXt: keyword, compression method 0, compressed text. */
export function ztxt(stream: Uint8Array): Chunk {
  return { type: 'zTXt', data: concat([ascii('Comment'), Uint8Array.of(0, 0), stream]) };
}

/** iTXt with the compression flag set: keyword, flag 1, method 0, empty language and translated keyword. */
export function itxt(stream: Uint8Array): Chunk {
  return { type: 'iTXt', data: concat([ascii('Comment'), Uint8Array.of(0, 1, 0, 0, 0), stream]) };
}

// ---------------------------------------------------------------------------------------------------------
// An independent encoder for round trips: any mask colour type and depth, Adam7, and a chosen filter per row
// (the forward filters of the PNG specification, 9.2), so the decoder's unfiltering is checked on all five.

export interface MaskSpec {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  /** 0 gray, 3 palette, 4 gray+alpha (opaque). */
  readonly colorType: 0 | 3 | 4;
  readonly interlace: boolean;
  /** One value per pixel, below 2^bitDepth. */
  readonly values: readonly number[];
  /** Filter type of row k (cycled). */
  readonly filters: readonly number[];
}

const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The zlib-less image data: filtered rows of every pass. */
export function maskRawData(s: MaskSpec): Uint8Array {
  const channels = s.colorType === 4 ? 2 : 1;
  const bits = s.bitDepth * channels;
  const bpp = Math.max(1, bits >> 3);
  const max = 2 ** s.bitDepth - 1;
  const out: number[] = [];
  let k = 0;
  for (const [x0, y0, dx, dy] of s.interlace ? ADAM7 : [[0, 0, 1, 1] as const]) {
    const w = Math.ceil((s.width - x0) / dx);
    const h = Math.ceil((s.height - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    const stride = Math.ceil((w * bits) / 8);
    let prev = new Uint8Array(stride);
    for (let r = 0; r < h; r++) {
      const row = new Uint8Array(stride);
      for (let i = 0; i < w; i++) {
        const v = s.values[(y0 + r * dy) * s.width + x0 + i * dx];
        const samples = channels === 2 ? [v, max] : [v];
        samples.forEach((sv, c) => {
          const j = i * channels + c;
          if (s.bitDepth === 16) row.set([sv >> 8, sv & 0xff], 2 * j);
          else if (s.bitDepth === 8) row[j] = sv;
          else row[Math.floor((j * s.bitDepth) / 8)] |= sv << (8 - s.bitDepth - ((j * s.bitDepth) % 8));
        });
      }
      const f = s.filters[k++ % s.filters.length];
      out.push(f);
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? row[i - bpp] : 0;
        const b = prev[i];
        const c = i >= bpp ? prev[i - bpp] : 0;
        const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c);
        out.push((row[i] - pred) & 0xff);
      }
      prev = row;
    }
  }
  return Uint8Array.from(out);
}

/** The chunks of a mask PNG (IHDR, PLTE for palettes, IDAT split in `pieces`, IEND). */
export function maskChunks(s: MaskSpec, pieces = 1): Chunk[] {
  const z = zlib.deflateSync(maskRawData(s));
  const idat: Chunk[] = [];
  const step = Math.max(1, Math.ceil(z.length / pieces));
  for (let o = 0; o < z.length; o += step) idat.push({ type: 'IDAT', data: z.subarray(o, o + step) });
  const plte: Chunk[] = s.colorType === 3 ? [{ type: 'PLTE', data: new Uint8Array(3 * 2 ** Math.min(8, s.bitDepth)) }] : [];
  return [ihdr({ width: s.width, height: s.height, bitDepth: s.bitDepth, colorType: s.colorType, interlace: s.interlace ? 1 : 0 }), ...plte, ...idat, IEND];
}
