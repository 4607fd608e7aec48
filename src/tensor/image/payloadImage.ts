// The photo a notebook output's maps are drawn over: `image` in the payload, as the Python helper's
// display(..., image=...) writes it. Inline { mime, data: base64, name? } or, for large photos, a reference
// { file, bytes, sha256, mime, name? } that only the extension host loads (the checks of
// src/host/editor/payloadFiles.ts). The image is display only: a bad one is a note beside the loss, never an error
// that hides it, so decoding returns what went wrong instead of throwing. Its size is checked from its header
// (src/tensor/image/imageHeader.ts) here, before any decoder sees it.
import { isLensError } from '../../errors';
import { photoProblem } from './imageHeader';
import { base64Bytes } from '../text/json';
import { parseTensorRef, type TensorRef } from '../text/payload';

export type ImageMime = 'image/png' | 'image/jpeg';

/** Largest photo decoded for display (bytes): far above a 4K JPEG, far below a memory problem. */
export const MAX_PAYLOAD_IMAGE_BYTES = 32 << 20;
const MAX_NAME = 200;

export type PayloadImage =
  | { readonly kind: 'inline'; readonly name: string; readonly mime: ImageMime; readonly bytes: Uint8Array }
  | { readonly kind: 'ref'; readonly name: string; readonly mime: ImageMime; readonly ref: TensorRef }
  | { readonly kind: 'invalid'; readonly message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The format the bytes start with, whatever the payload claims (the page decodes by content). */
export function sniffImageMime(b: Uint8Array): ImageMime | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  return null;
}

function nameOf(v: Record<string, unknown>): string {
  const n = v.name;
  if (typeof n !== 'string' || n.length === 0) return 'image';
  // Shown as text only; control characters would still garble a line.
  let clean = '';
  for (const ch of n) clean += ch.charCodeAt(0) < 0x20 || ch === '\x7f' ? ' ' : ch;
  return clean.length > MAX_NAME ? clean.slice(0, MAX_NAME) + '…' : clean;
}

function mimeOf(v: unknown): ImageMime | null {
  if (v === 'image/png' || v === 'png') return 'image/png';
  if (v === 'image/jpeg' || v === 'jpeg' || v === 'jpg') return 'image/jpeg';
  return null;
}

const invalid = (message: string): PayloadImage => ({ kind: 'invalid', message: `payload.image: ${message} — no photo under the heatmap` });

/** Decodes payload.image; null when absent. Never throws. */
export function decodePayloadImage(v: unknown): PayloadImage | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) return invalid('must be { mime, data } (base64 PNG or JPEG bytes) or a { file, bytes, sha256, mime } reference');
  const mime = mimeOf(v.mime);
  if (mime === null) return invalid(`mime must be image/png or image/jpeg`);
  const name = nameOf(v);
  if ('file' in v) {
    try {
      return { kind: 'ref', name, mime, ref: parseTensorRef(v, 'payload.image') };
    } catch (e) {
      return { kind: 'invalid', message: `${isLensError(e) ? e.message : String(e)} — no photo under the heatmap` };
    }
  }
  if (typeof v.data !== 'string') return invalid('data must be base64 text');
  // base64 is 4 characters per 3 bytes: refuse before decoding anything too large.
  if (v.data.length > Math.ceil(MAX_PAYLOAD_IMAGE_BYTES / 3) * 4 + 4096) return invalid(`larger than ${MAX_PAYLOAD_IMAGE_BYTES >> 20} MB`);
  let bytes: Uint8Array;
  try {
    bytes = base64Bytes(v.data, 'payload.image.data');
  } catch {
    return invalid('data is not valid base64');
  }
  return checkedImage(name, mime, bytes);
}

/** Inline bytes or a loaded reference's bytes: the content must be what the payload says it is. */
export function checkedImage(name: string, mime: ImageMime, bytes: Uint8Array): PayloadImage {
  const actual = sniffImageMime(bytes);
  if (actual === null) return invalid(`${name} is not a PNG or JPEG file`);
  if (actual !== mime) return invalid(`${name} is ${actual === 'image/png' ? 'a PNG' : 'a JPEG'}, not ${mime}`);
  const problem = photoProblem(bytes);
  if (problem !== null) return invalid(`${name}: ${problem}`);
  return { kind: 'inline', name, mime, bytes };
}
