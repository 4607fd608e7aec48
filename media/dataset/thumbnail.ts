// Loss-map thumbnails: a float map painted through the viridis table onto a small canvas, on a scale shared
// by every row (0 to the largest value seen) so that a darker thumbnail means a lower loss. NaN cells (all
// pixels ignored) are transparent.
import { colormapLUT } from '../view/render/colormap';

/** RGBA bytes of `data` (h x w) on [0, vmax]. */
export function thumbnailPixels(data: Float32Array, vmax: number): Uint8ClampedArray {
  const lut = colormapLUT('viridis');
  const out = new Uint8ClampedArray(data.length * 4);
  const scale = vmax > 0 ? 255 / vmax : 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) continue;
    const k = Math.max(0, Math.min(255, Math.round(v * scale))) * 4;
    out[i * 4] = lut[k];
    out[i * 4 + 1] = lut[k + 1];
    out[i * 4 + 2] = lut[k + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

export function paintThumbnail(canvas: HTMLCanvasElement, h: number, w: number, data: Float32Array, vmax: number): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  // No 2D context (a test DOM without canvas): the row still shows its figures.
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  img.data.set(thumbnailPixels(data, vmax));
  ctx.putImageData(img, 0, 0);
}
