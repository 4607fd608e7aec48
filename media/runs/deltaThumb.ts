// The images list's thumbnails: each image's loss map in the last run minus the first, mean-pooled (at most
// 32 x 32), on the compare panel's diverging scale (blue: lower in the last run, red: higher), symmetric about
// 0 and shared by every row so equal changes look equal (the host sends that scale with the rows). NaN cells
// (all pixels ignored) are transparent.
import { decodeFloat32 } from '../dataset/model';
import { diverging } from '../view/analysis/compare';

export interface DeltaThumb {
  readonly h: number;
  readonly w: number;
  readonly data: Float32Array;
}

export interface DeltaRow {
  readonly index: number;
  readonly h: number;
  readonly w: number;
  readonly base64: string;
}

/** A row's thumbnail, decoded when its row is drawn (2,000 decoded at once would be 8 MB); null if malformed. */
export function decodeDeltaRow(r: DeltaRow): DeltaThumb | null {
  const data = decodeFloat32(r.base64);
  return data.length === r.h * r.w ? { h: r.h, w: r.w, data } : null;
}

export function deltaPixels(data: Float32Array, scale: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(data.length * 4);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) continue;
    const [r, g, b] = diverging(scale > 0 ? v / scale : 0);
    out.set([r, g, b, 255], i * 4);
  }
  return out;
}

export function paintDelta(canvas: HTMLCanvasElement, t: DeltaThumb, scale: number): void {
  canvas.width = t.w;
  canvas.height = t.h;
  const ctx = canvas.getContext('2d');
  // No 2D context (a test DOM without canvas): the row still shows its figures.
  if (!ctx || typeof ctx.createImageData !== 'function') return;
  const img = ctx.createImageData(t.w, t.h);
  img.data.set(deltaPixels(t.data, scale));
  ctx.putImageData(img, 0, 0);
}
