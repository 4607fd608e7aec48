// Heatmap rasterization into RGBA bytes, one byte quadruple per map element (pure; no DOM).
import { colormapLUT, NAN_RGBA, type ColormapName } from './colormap';
import { PALETTE_FLAT } from './palette';
import { computeDomain, fixedDomain, lutIndex, NAN_INDEX, type Domain, type Scale } from '../../../src/valueScale';

export type ViewMode = 'loss' | 'classLoss' | 'pTarget' | 'predicted' | 'target' | 'error' | 'classProb' | ConfidenceMode | 'labelIssues' | 'hardEveryRun';
/** Modes drawn from SampleMaps.confidence (offered only when the host sent it). */
export type ConfidenceMode = 'top1' | 'margin' | 'entropy' | 'confWrong';
export const CONFIDENCE_MODES: readonly ConfidenceMode[] = ['top1', 'margin', 'entropy', 'confWrong'];
export const VIEW_MODES: readonly ViewMode[] = ['loss', 'classLoss', 'pTarget', 'predicted', 'target', 'error', 'classProb', ...CONFIDENCE_MODES, 'labelIssues', 'hardEveryRun'];
export const MODE_LABELS: Readonly<Record<ViewMode, string>> = {
  loss: 'Loss per element',
  classLoss: 'Loss, selected class only',
  pTarget: 'p(target)',
  predicted: 'Predicted class',
  target: 'Target class',
  error: 'Errors (predicted ≠ target)',
  classProb: 'p(class c)',
  top1: 'Confidence (top-class probability)',
  margin: 'Margin (top-1 minus top-2)',
  entropy: 'Entropy of the prediction',
  confWrong: 'Confidently wrong',
  labelIssues: 'Likely label errors',
  hardEveryRun: 'Hard in every run',
};

export function isConfidenceMode(mode: ViewMode): mode is ConfidenceMode {
  return (CONFIDENCE_MODES as readonly string[]).includes(mode);
}

/** Faint alpha of the elements a confidence threshold does not mark (the marked ones stay opaque). */
export const UNMARKED_ALPHA = 56;

/** Modes drawn with a colormap (the others use the class palette or fixed colours). */
export function isContinuousMode(mode: ViewMode): boolean {
  return mode === 'loss' || mode === 'classLoss' || mode === 'pTarget' || mode === 'classProb' || mode === 'top1' || mode === 'margin' || mode === 'entropy';
}

/** Fixed colours. Masked (outside the class filter, or past the end of a strip) is transparent. */
export const COLORS = {
  correct: [64, 64, 64, 255],
  wrong: [255, 96, 32, 255],
  /** A likely label error (the label-errors mode): a magenta no class palette colour is close to. */
  flagged: [255, 0, 200, 255],
  /** A pixel hard in every run (a panel from the runs view): a lime apart from label errors' magenta and the palette. */
  hard: [0, 255, 0, 255],
  ignoredLight: [235, 235, 235, 255],
  ignoredDark: [110, 110, 110, 255],
  masked: [0, 0, 0, 0],
  nan: NAN_RGBA,
} as const;

/** How a sample's map is laid out on the canvas. */
export interface Geometry {
  /** Spatial shape of one sample ([L] for a strip or 1-D map). */
  readonly shape: readonly number[];
  readonly width: number;
  readonly height: number;
  /** Elements per slice (width * height, or fewer for a wrapped 1-D map). */
  readonly count: number;
  /** Slices over the leading spatial axes (1 for 1-D and 2-D maps). */
  readonly slices: number;
  /** True for a 1-D map wrapped into rows (the (N, C) strip, or a sequence). */
  readonly wrapped: boolean;
}

/** Columns used to wrap a 1-D map of length L: all in one row up to 64, then about 4:1. */
export function wrapWidth(L: number): number {
  if (L <= 64) return Math.max(1, L);
  return Math.min(L, Math.ceil(Math.sqrt(L * 4)));
}

export function geometryFor(shape: readonly number[]): Geometry | null {
  if (shape.length === 0) return null;
  if (shape.some((d) => !Number.isInteger(d) || d <= 0)) return null;
  if (shape.length === 1) {
    const width = wrapWidth(shape[0]);
    return { shape, width, height: Math.ceil(shape[0] / width), count: shape[0], slices: 1, wrapped: true };
  }
  const H = shape[shape.length - 2];
  const W = shape[shape.length - 1];
  const slices = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { shape, width: W, height: H, count: W * H, slices, wrapped: false };
}

/** Index within the sample map (multi-index over `shape`) of element i of slice s. */
export function multiIndex(g: Geometry, slice: number, i: number): number[] {
  if (g.wrapped) return [i];
  const y = Math.floor(i / g.width);
  const x = i % g.width;
  const lead: number[] = [];
  let rest = slice;
  for (let k = g.shape.length - 3; k >= 0; k--) {
    lead.unshift(rest % g.shape[k]);
    rest = Math.floor(rest / g.shape[k]);
  }
  return [...lead, y, x];
}

/** Inverse of multiIndex: [slice, i] for a multi-index over the spatial shape. */
export function sliceAndIndex(g: Geometry, index: readonly number[]): [number, number] {
  if (g.wrapped) return [0, index[0] ?? 0];
  const k = g.shape.length;
  let slice = 0;
  for (let a = 0; a < k - 2; a++) slice = slice * g.shape[a] + (index[a] ?? 0);
  return [slice, (index[k - 2] ?? 0) * g.width + (index[k - 1] ?? 0)];
}

/** The per-element arrays of one sample (SampleMaps without its metadata). */
export interface MapArrays {
  readonly loss: ArrayLike<number>;
  readonly target: ArrayLike<number>;
  readonly predicted: ArrayLike<number>;
  readonly ignored: ArrayLike<number>;
  readonly pTarget: ArrayLike<number> | null;
  /** Top-class probability, margin and entropy per element (absent: the confidence modes draw nothing). */
  readonly confidence?: { readonly top1: ArrayLike<number>; readonly margin: ArrayLike<number>; readonly entropy: ArrayLike<number> } | null;
}

/** A confusion-matrix cell: elements whose target and prediction are these. */
export interface ClassPair {
  readonly target: number;
  readonly predicted: number;
}

/**
 * Whether element k is marked by the threshold in a confidence mode: top-1 or margin below it, entropy
 * above it, or (confidently wrong) predicted != target with top-1 above it. Ignored elements never are.
 */
export function isMarked(maps: MapArrays, mode: ConfidenceMode, threshold: number, k: number): boolean {
  const c = maps.confidence;
  if (!c || maps.ignored[k]) return false;
  switch (mode) {
    case 'top1': return c.top1[k] < threshold;
    case 'margin': return c.margin[k] < threshold;
    case 'entropy': return c.entropy[k] > threshold;
    case 'confWrong': return maps.predicted[k] !== maps.target[k] && c.top1[k] > threshold;
  }
}

/** Marked elements in [base, base + count) (a sample: all its slices), and the non-ignored ones among them. */
export function countMarked(maps: MapArrays, mode: ConfidenceMode, threshold: number, base = 0, count = maps.loss.length): { marked: number; total: number } {
  let marked = 0;
  let total = 0;
  for (let k = base; k < base + count; k++) {
    if (maps.ignored[k]) continue;
    total++;
    if (isMarked(maps, mode, threshold, k)) marked++;
  }
  return { marked, total };
}

/** Elements of a cell of the confusion matrix in [base, base + count), ignored ones left out. */
export function countPair(maps: MapArrays, pair: ClassPair, base = 0, count = maps.loss.length): number {
  let n = 0;
  for (let k = base; k < base + count; k++) if (!maps.ignored[k] && maps.target[k] === pair.target && maps.predicted[k] === pair.predicted) n++;
  return n;
}

export interface RasterOptions {
  readonly mode: ViewMode;
  readonly colormap: ColormapName;
  /** Target class shown; elements of other classes are masked (every mode but classProb). */
  readonly classFilter: number | null;
  /** The class of each element where it is not the target (elementwise losses: ViewModel.elementClasses). */
  readonly elementClasses?: ArrayLike<number> | null;
  /**
   * The colour-table index of each element already taken (a map preview: src/mapPreview.ts), used in place of
   * lutIndex(value, domain) for the continuous modes.
   */
  readonly lutIndices?: ArrayLike<number> | null;
  /** Paint ignored elements with the ignored pattern. */
  readonly showIgnored: boolean;
  /** Colour domain for continuous modes (from modeDomain). */
  readonly domain: Domain | null;
  /** classProb mode: the probability plane of the chosen class, same layout as the maps. */
  readonly classProb?: ArrayLike<number> | null;
  /** Predicted/target modes: flat RGB class colours (cycling), else the palette. */
  readonly classColours?: ArrayLike<number> | null;
  /** Only the elements of this confusion-matrix cell are drawn (the others, and ignored ones, masked). */
  readonly pair?: ClassPair | null;
  /** Confidence modes: the threshold that marks elements (see isMarked); unmarked ones are drawn faint. */
  readonly threshold?: number;
  /**
   * Label-errors mode: 1 for each of the sample's elements reported as a likely label error; hard-in-every-run
   * mode: 1 for each hard pixel (null: not known yet).
   */
  readonly flagged?: ArrayLike<number> | null;
}

export interface DomainRequest {
  readonly mode: ViewMode;
  readonly scale: Scale;
  readonly clip: number;
  readonly classFilter: number | null;
  /** As RasterOptions.elementClasses. */
  readonly elementClasses?: ArrayLike<number> | null;
  /** Classes (entropy's domain is [0, ln C]). */
  readonly classes?: number;
}

/** The colour domain for a continuous mode over a whole sample (all slices), or null for categorical modes. */
export function modeDomain(maps: MapArrays, req: DomainRequest): Domain | null {
  if (req.mode === 'pTarget' || req.mode === 'classProb' || req.mode === 'top1' || req.mode === 'margin') return fixedDomain(0, 1);
  if (req.mode === 'entropy') {
    if (req.classes !== undefined && req.classes >= 2) return fixedDomain(0, Math.log(req.classes));
    return maps.confidence ? computeDomain(maps.confidence.entropy, { scale: 'linear', clip: 100, include: Uint8Array.from(maps.ignored, (v) => (v ? 0 : 1)) }) : null;
  }
  if (req.mode !== 'loss' && req.mode !== 'classLoss') return null;
  const n = maps.loss.length;
  const include = new Uint8Array(n);
  const restrict = req.mode === 'classLoss' && req.classFilter !== null;
  const classOf = req.elementClasses ?? maps.target;
  for (let i = 0; i < n; i++) {
    include[i] = maps.ignored[i] ? 0 : restrict && classOf[i] !== req.classFilter ? 0 : 1;
  }
  return computeDomain(maps.loss, { scale: req.scale, clip: req.clip, include });
}

function put(out: Uint8ClampedArray, o: number, c: ArrayLike<number>): void {
  out[o] = c[0];
  out[o + 1] = c[1];
  out[o + 2] = c[2];
  out[o + 3] = c[3];
}

/**
 * RGBA bytes (width * height * 4) of slice `slice` of a sample. Element i of the slice is pixel
 * (i % width, floor(i / width)); pixels past `count` (a wrapped strip's last row) are transparent.
 */
export function rasterize(maps: MapArrays, g: Geometry, slice: number, opts: RasterOptions, out?: Uint8ClampedArray): Uint8ClampedArray {
  const size = g.width * g.height * 4;
  const rgba = out && out.length === size ? out : new Uint8ClampedArray(size);
  rgba.fill(0);
  const base = slice * g.count;
  const lut = colormapLUT(opts.colormap);
  const { loss, target, predicted, ignored } = maps;
  const mode = opts.mode;
  const filter = opts.classFilter;
  const useFilter = filter !== null && mode !== 'classProb';
  const classOf = opts.elementClasses ?? target;
  const conf = maps.confidence ?? null;
  const values: ArrayLike<number> | null =
    mode === 'loss' || mode === 'classLoss' ? loss : mode === 'pTarget' ? maps.pTarget : mode === 'classProb' ? opts.classProb ?? null
      : mode === 'top1' ? conf?.top1 ?? null : mode === 'margin' ? conf?.margin ?? null : mode === 'entropy' ? conf?.entropy ?? null : null;
  const confMode = isConfidenceMode(mode) && conf ? mode : null;
  const threshold = opts.threshold ?? 0.5;
  const pair = opts.pair ?? null;
  const domain = opts.domain ?? (values ? fixedDomain(0, 1) : null);
  const lutIndices = values ? opts.lutIndices ?? null : null;
  const W = g.width;
  const table = opts.classColours && opts.classColours.length >= 3 ? opts.classColours : PALETTE_FLAT;
  const tableSize = Math.floor(table.length / 3);
  for (let i = 0; i < g.count; i++) {
    const k = base + i;
    const o = i * 4;
    if (useFilter && classOf[k] !== filter) {
      continue; // masked: transparent
    }
    if (pair && (ignored[k] || target[k] !== pair.target || predicted[k] !== pair.predicted)) continue;
    if (opts.showIgnored && ignored[k]) {
      const x = i % W;
      const y = (i - x) / W;
      put(rgba, o, g.wrapped ? COLORS.ignoredDark : ((x + y) & 2) === 0 ? COLORS.ignoredLight : COLORS.ignoredDark);
      continue;
    }
    if (values && (lutIndices || domain)) {
      const li = lutIndices ? lutIndices[k] : lutIndex(values[k], domain!);
      if (li === NAN_INDEX) put(rgba, o, COLORS.nan);
      else {
        const q = li * 4;
        rgba[o] = lut[q];
        rgba[o + 1] = lut[q + 1];
        rgba[o + 2] = lut[q + 2];
        rgba[o + 3] = 255;
      }
    } else if (mode === 'predicted' || mode === 'target' || mode === 'labelIssues' || mode === 'hardEveryRun') {
      const marking = mode === 'labelIssues' || mode === 'hardEveryRun';
      if (marking && opts.flagged?.[k]) {
        put(rgba, o, mode === 'labelIssues' ? COLORS.flagged : COLORS.hard);
        continue;
      }
      const c = mode === 'predicted' ? predicted[k] : target[k];
      if (c >= 0 && Number.isInteger(c)) {
        const q = (c % tableSize) * 3;
        rgba[o] = table[q];
        rgba[o + 1] = table[q + 1];
        rgba[o + 2] = table[q + 2];
      }
      // Marked pixels stand out over the target's colours, drawn faint (over a photo: mostly the photo).
      rgba[o + 3] = marking ? UNMARKED_ALPHA : 255;
    } else if (mode === 'error') {
      put(rgba, o, ignored[k] ? COLORS.masked : predicted[k] === target[k] ? COLORS.correct : COLORS.wrong);
    } else if (mode === 'confWrong' && confMode) {
      // Without the confidence maps (on their way from the host) nothing is drawn, as in the other confidence modes.
      put(rgba, o, isMarked(maps, 'confWrong', threshold, k) ? COLORS.wrong : COLORS.correct);
    }
    if (confMode && !ignored[k] && !isMarked(maps, confMode, threshold, k)) rgba[o + 3] = Math.min(rgba[o + 3], UNMARKED_ALPHA);
  }
  return rgba;
}

/** Nearest-neighbour downsampling of an RGBA image to at most maxSide pixels per side (thumbnails). */
export function downsample(rgba: Uint8ClampedArray, width: number, height: number, maxSide: number): { rgba: Uint8ClampedArray; width: number; height: number } {
  const f = Math.max(1, Math.max(width, height) / maxSide);
  if (f <= 1) return { rgba, width, height };
  const w = Math.max(1, Math.floor(width / f));
  const h = Math.max(1, Math.floor(height / f));
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(height - 1, Math.floor((y + 0.5) * f));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(width - 1, Math.floor((x + 0.5) * f));
      const s = (sy * width + sx) * 4;
      const d = (y * w + x) * 4;
      out[d] = rgba[s];
      out[d + 1] = rgba[s + 1];
      out[d + 2] = rgba[s + 2];
      out[d + 3] = rgba[s + 3];
    }
  }
  return { rgba: out, width: w, height: h };
}

/**
 * A probability plane (values in [0, 1]) of slice `slice` drawn straight at thumbnail size: nearest
 * neighbour sampling to at most maxSide pixels per side, then the colormap (NaN in the NaN colour).
 */
export function probabilityThumbnail(values: ArrayLike<number>, g: Geometry, slice: number, colormap: ColormapName, maxSide: number): { rgba: Uint8ClampedArray; width: number; height: number } {
  const f = Math.max(1, Math.max(g.width, g.height) / maxSide);
  const w = Math.max(1, Math.floor(g.width / f));
  const h = Math.max(1, Math.floor(g.height / f));
  const lut = colormapLUT(colormap);
  const d = fixedDomain(0, 1);
  const out = new Uint8ClampedArray(w * h * 4);
  const base = slice * g.count;
  for (let y = 0; y < h; y++) {
    const sy = f === 1 ? y : Math.min(g.height - 1, Math.floor((y + 0.5) * f));
    for (let x = 0; x < w; x++) {
      const sx = f === 1 ? x : Math.min(g.width - 1, Math.floor((x + 0.5) * f));
      const i = sy * g.width + sx;
      const o = (y * w + x) * 4;
      if (i >= g.count) continue;
      const li = lutIndex(values[base + i], d);
      if (li === NAN_INDEX) put(out, o, COLORS.nan);
      else {
        out[o] = lut[li * 4];
        out[o + 1] = lut[li * 4 + 1];
        out[o + 2] = lut[li * 4 + 2];
        out[o + 3] = 255;
      }
    }
  }
  return { rgba: out, width: w, height: h };
}
