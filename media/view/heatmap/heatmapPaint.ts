// What the heatmap canvas shows: the sample's maps rasterized for the mode (media/view/render/raster.ts), then
// composited over the overlay photo and with contours (media/view/heatmap/overlay.ts). Each stage is cached by a
// key of what it depends on, so a pan or a hover never re-rasterizes.
import type { OverlayImage } from '../../../src/protocol';
import { photoProblem } from '../../../src/tensor/image/imageHeader';
import type { ViewContext, ViewModel } from '../model';
import { putPixels } from '../model';
import { composite, contours, drawContours, type OverlayControls, type Photo } from './overlay';
import { isConfidenceMode, modeDomain, rasterize, type Geometry } from '../render/raster';
import type { Domain } from '../../../src/valueScale';

export class HeatmapPainter {
  domain: Domain | null = null;
  private domainKey = '';
  private rasterKey = '';
  private rgba: Uint8ClampedArray | null = null;
  /** What is painted: the heatmap, or it composited over the photo and/or with contours. */
  private shown: Uint8ClampedArray | null = null;
  private shownKey = '';
  /** The decoded overlay image (any size) and its pixels scaled to the map's size. */
  private bitmap: { source: CanvasImageSource; width: number; height: number; name: string } | null = null;
  private photo: Photo | null = null;
  private imageSeq = 0;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly overlay: OverlayControls, private readonly canvas: HTMLCanvasElement) {}

  /** New maps or class colours: everything is drawn again. */
  invalidate(): void {
    this.rasterKey = '';
    this.domainKey = '';
  }

  /** Clears the canvas (its maps were taken back): transparent, at its size, until the next paint. */
  blank(): void {
    const w = this.canvas.width;
    const hh = this.canvas.height;
    if (w > 0 && hh > 0) putPixels(this.ctx.win, this.canvas, new Uint8ClampedArray(w * hh * 4), w, hh);
    this.invalidate();
    this.shownKey = '';
  }

  /** Re-rasterize only when data or drawing options changed. */
  paint(g: Geometry): void {
    const maps = this.model.maps;
    if (!maps) return;
    const s = this.ctx.store.state;
    const probPlane = this.model.classProbPlane(s.probClass);
    const classes = this.model.summary?.perClass.length ?? 0;
    const elementClasses = s.classFilter !== null ? this.model.elementClasses() : null;
    // A preview holds colour-table indices in place of the loss (made for this mode, scale and clip).
    const preview = this.model.preview?.maps === maps && s.mode === 'loss' ? this.model.preview : null;
    const dKey = [s.mode, s.scale, s.clip, s.mode === 'classLoss' ? s.classFilter : '-', s.mode === 'entropy' ? classes : '-'].join('|');
    if (dKey !== this.domainKey) {
      this.domain = preview ? preview.domain : modeDomain(maps, { mode: s.mode, scale: s.scale, clip: s.clip, classFilter: s.classFilter, elementClasses, classes });
      this.domainKey = dKey;
    }
    const pair = s.pairFilter;
    const issues = s.mode === 'labelIssues' ? this.model.flaggedOfSample() : s.mode === 'hardEveryRun' ? this.model.hardOfSample() : null;
    const rKey = [dKey, s.colormap, s.classFilter, s.showIgnored, s.slice, s.probClass, probPlane ? 'p' : '-', this.model.coloursKey,
      pair ? `${pair.target}>${pair.predicted}` : '-', isConfidenceMode(s.mode) ? s.confidenceThreshold : '-', s.mode === 'labelIssues' ? this.model.labelIssuesSeq : s.mode === 'hardEveryRun' ? `h${this.model.hard.seq}` : '-'].join('|');
    let fresh = false;
    if (rKey !== this.rasterKey) {
      this.rgba = rasterize(maps, g, s.slice, {
        mode: s.mode, colormap: s.colormap, classFilter: s.classFilter, elementClasses, showIgnored: s.showIgnored, domain: this.domain, classProb: probPlane,
        classColours: this.model.colours, pair, threshold: s.confidenceThreshold, flagged: issues?.mask ?? null, lutIndices: preview?.lut ?? null,
      }, this.rgba ?? undefined);
      this.rasterKey = rKey;
      fresh = true;
    }
    const photo = this.photoFor(g);
    const sKey = [rKey, photo ? `${this.imageSeq}` : '-', photo ? s.overlayOpacity : '-', s.contours].join('|');
    if (fresh || sKey !== this.shownKey) {
      this.shownKey = sKey;
      this.shown = this.compose(g, photo);
      const rgba = this.shown ?? this.rgba;
      if (rgba) {
        putPixels(this.ctx.win, this.canvas, rgba, g.width, g.height);
        // A User Timing mark per paint (DevTools' Performance panel shows them; the first-paint test reads them).
        this.ctx.win?.performance?.mark?.('cel-heatmap-painted');
      }
    }
  }

  /** The heatmap over the photo (opacity from the slider), with contours when asked; O(pixels). */
  private compose(g: Geometry, photo: Photo | null): Uint8ClampedArray | null {
    const rgba = this.rgba;
    const maps = this.model.maps;
    const s = this.ctx.store.state;
    if (!rgba || !maps) return rgba;
    // Contours trace regions of one sample's map (their toggle is hidden otherwise).
    const contoursOn = s.contours && this.model.spatial;
    if (!photo && !contoursOn) return rgba;
    const out = photo ? composite(photo.rgba, rgba, s.overlayOpacity, this.shown !== rgba ? this.shown ?? undefined : undefined) : Uint8ClampedArray.from(rgba);
    if (contoursOn) drawContours(out, contours(maps.target, maps.predicted, g.width, g.height, s.slice * g.count, g.count));
    return out;
  }

  /** The overlay image's pixels at the map's size (drawn scaled on a scratch canvas), or null. */
  private photoFor(g: Geometry): Photo | null {
    const b = this.bitmap;
    // A photo lies under one sample's map: not under a strip or a matrix of every sample.
    const perSample = !g.wrapped && this.model.spatial;
    if (!b || !perSample) {
      this.overlay.el.hidden = !perSample;
      return null;
    }
    this.overlay.el.hidden = false;
    if (this.photo && this.photo.width === g.width && this.photo.height === g.height) return this.photo;
    this.photo = null;
    try {
      const cv = this.ctx.root.ownerDocument.createElement('canvas');
      cv.width = g.width;
      cv.height = g.height;
      const c2d = cv.getContext('2d');
      if (!c2d) return null;
      c2d.imageSmoothingEnabled = true;
      c2d.drawImage(b.source, 0, 0, g.width, g.height);
      const data = c2d.getImageData(0, 0, g.width, g.height);
      this.photo = { rgba: data.data, width: g.width, height: g.height, name: b.name };
    } catch {
      return null;
    }
    const scaled = b.width !== g.width || b.height !== g.height;
    this.overlay.setPhoto(b.name, scaled ? `${b.width}×${b.height} scaled to the map's ${g.width}×${g.height}` : '');
    return this.photo;
  }

  /**
   * A photo from the host, decoded by the page itself (createImageBitmap), never by a URL. Resolves true
   * when the heatmap should be drawn again (the photo changed and is still the latest).
   */
  async setImage(img: OverlayImage | null): Promise<boolean> {
    const seq = ++this.imageSeq;
    this.photo = null;
    this.bitmap = null;
    if (!img) {
      this.overlay.setPhoto(null);
      return true;
    }
    const bytes = img.bytes instanceof Uint8Array ? img.bytes : Uint8Array.from(img.bytes as ArrayLike<number>);
    // createImageBitmap allocates what the header claims before reading a pixel: the size is checked first.
    const problem = photoProblem(bytes);
    if (problem !== null) {
      this.overlay.setPhoto(null, `${img.name}: ${problem}`);
      return true; // drawn again without the previous photo
    }
    const w = this.ctx.win;
    if (!w || typeof w.createImageBitmap !== 'function' || typeof w.Blob !== 'function') {
      this.overlay.setPhoto(null, `${img.name}: this page cannot decode images`);
      return false;
    }
    try {
      const bmp = await w.createImageBitmap(new w.Blob([bytes as Uint8Array<ArrayBuffer>], { type: img.mime }));
      if (seq !== this.imageSeq) return false;
      this.bitmap = { source: bmp, width: bmp.width, height: bmp.height, name: img.name };
      this.overlay.setPhoto(img.name);
    } catch (e) {
      if (seq !== this.imageSeq) return false;
      this.overlay.setPhoto(null, `${img.name} could not be decoded (${e instanceof Error ? e.message : String(e)})`);
      return false;
    }
    return true;
  }
}
