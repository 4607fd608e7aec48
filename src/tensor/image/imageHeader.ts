// The size of a display photo (the image drawn under the heatmap) from its header alone: PNG's IHDR, JPEG's
// SOFn segment. A browser's createImageBitmap allocates width x height x 4 bytes for whatever header
// arrives, so a 100-byte file that claims 60000 x 60000 pixels costs 14 GB before any pixel is read: every
// photo is checked here first, by the host and again by the view, and one that is too large or whose header
// cannot be read is a one-line note instead of a decode. Pure code: no VS Code, nothing Node-only (the view
// runs it in the webview).
import { LensError } from '../../errors';

/**
 * Largest photo decoded for display: 64 Mi pixels (8192 x 8192, or a 12000 x 5000 panorama), a 256 MiB
 * RGBA bitmap. Far above a 4K frame (8.3 M) or a 50-megapixel camera; the heatmap is never that large, so a
 * bigger photo would only be scaled down.
 */
export const MAX_PHOTO_PIXELS = 2 ** 26;

export interface PhotoHeader {
  readonly mime: 'image/png' | 'image/jpeg';
  readonly width: number;
  readonly height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];

function pngHeader(b: Uint8Array): PhotoHeader {
  if (b.length < 33) throw new LensError('format', `the PNG ends after ${b.length} bytes, inside its header — truncated?`);
  if (u32(b, 8) !== 13 || String.fromCharCode(b[12], b[13], b[14], b[15]) !== 'IHDR') {
    throw new LensError('format', 'a PNG whose first chunk is not a 13-byte IHDR — the file is corrupt');
  }
  const width = u32(b, 16);
  const height = u32(b, 20);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new LensError('format', `a PNG header declaring ${width} x ${height} pixels — the file is corrupt`);
  }
  return { mime: 'image/png', width, height };
}

/** Start-of-frame markers: every SOFn (baseline, progressive, lossless, arithmetic) but DHT (C4), JPG (C8) and DAC (CC). */
const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * The frame size from the first SOFn segment. Segments before it (APPn with EXIF thumbnails, DQT, DHT...) are
 * skipped by their length, never parsed; the scan data (after SOS) is never reached, so a photo whose frame
 * header is not before its first scan is unreadable.
 */
function jpegHeader(b: Uint8Array): PhotoHeader {
  const truncated = (): LensError => new LensError('format', `the JPEG ends after ${b.length} bytes, before its frame header (SOF) — truncated?`);
  let o = 2;
  for (;;) {
    if (o >= b.length) throw truncated();
    if (b[o] !== 0xff) throw new LensError('format', `no JPEG marker at byte ${o} before the frame header — the file is corrupt`);
    // Any number of 0xFF fill bytes may precede a marker.
    while (o < b.length && b[o] === 0xff) o++;
    if (o >= b.length) throw truncated();
    const marker = b[o++];
    // Markers without a length: TEM, RST0-7, and a repeated SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    if (marker === 0xd9 || marker === 0xda) {
      throw new LensError('format', `the JPEG reaches its ${marker === 0xda ? 'image data (SOS)' : 'end (EOI)'} without a frame header (SOF) — the file is corrupt`);
    }
    if (o + 2 > b.length) throw truncated();
    const length = u16(b, o);
    if (length < 2) throw new LensError('format', `a JPEG segment at byte ${o - 2} of length ${length} — the file is corrupt`);
    if (isSof(marker)) {
      // Length, sample precision, height, width.
      if (o + 7 > b.length) throw truncated();
      if (length < 8) throw new LensError('format', `a JPEG frame header of ${length} bytes — the file is corrupt`);
      const height = u16(b, o + 3);
      const width = u16(b, o + 5);
      // Height 0 means "given by a DNL marker after the first scan": unknown until the data is decoded.
      if (height === 0) throw new LensError('format', 'a JPEG whose height is given only after its image data (DNL) — its size cannot be checked before decoding');
      if (width === 0) throw new LensError('format', 'a JPEG frame header declaring width 0 — the file is corrupt');
      return { mime: 'image/jpeg', width, height };
    }
    o += length;
  }
}

/** The photo's format and size from its header. Throws a one-line LensError for anything else. */
export function readPhotoHeader(bytes: Uint8Array): PhotoHeader {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((x, i) => bytes[i] === x)) return pngHeader(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpegHeader(bytes);
  throw new LensError('format', 'not a PNG or JPEG file');
}

/**
 * Why a photo is not decoded for display, as one line ("8000 x 9000 = 72000000 pixels, above ..."), or null
 * when its header is readable and within MAX_PHOTO_PIXELS.
 */
export function photoProblem(bytes: Uint8Array): string | null {
  let h: PhotoHeader;
  try {
    h = readPhotoHeader(bytes);
  } catch (e) {
    return e instanceof LensError ? e.message : 'unreadable image header';
  }
  const pixels = h.width * h.height;
  if (pixels > MAX_PHOTO_PIXELS) {
    return `${h.width} x ${h.height} = ${pixels} pixels, above the ${MAX_PHOTO_PIXELS} (64 Mi) a photo may have — not decoded`;
  }
  return null;
}
