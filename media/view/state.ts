// The view's small serializable UI state (survives hide/show and reload via the host's state store).
import { isColormap, type ColormapName } from './render/colormap';
import { VIEW_MODES, type ViewMode } from './render/raster';
import type { Scale } from '../../src/valueScale';
import { DEFAULT_SORT, SORT_KEYS, type SortSpec } from './tables/table';

export interface ViewState {
  /** Selected sample (index into the loss map's first axis). */
  readonly n: number;
  /** Slice over the leading spatial axes (3-D samples). */
  readonly slice: number;
  readonly mode: ViewMode;
  readonly colormap: ColormapName;
  readonly scale: Scale;
  /** Clip percentile in (0, 100]. */
  readonly clip: number;
  /** Target class the heatmap is restricted to (null: all). */
  readonly classFilter: number | null;
  /** Class shown in mode classProb. */
  readonly probClass: number | null;
  readonly showIgnored: boolean;
  /** Zoom (1 = fit) and the map point at the viewport's centre (null: the map's centre). */
  readonly zoom: number;
  readonly cx: number | null;
  readonly cy: number | null;
  /** Selected element within the slice (keyboard cursor, worst-list pick), or null. */
  readonly pixel: number | null;
  readonly sort: SortSpec;
  /** What the per-class bars show. */
  readonly bars: 'lossMean' | 'share';
  /** Token view (language-model losses): shown when the result looks like one ('auto'), or as chosen. */
  readonly tokenView: 'auto' | 'on' | 'off';
  /** Heatmap opacity over the sample's image, in [0, 1] (used only while an image is shown). */
  readonly overlayOpacity: number;
  /** Draw the boundaries of target and predicted regions. */
  readonly contours: boolean;
  /** A confusion-matrix cell the heatmap is restricted to (elements with this target and prediction), or null. */
  readonly pairFilter: { readonly target: number; readonly predicted: number } | null;
  /** Confidence modes: elements below it (top-1, margin) or above it (entropy) are marked; confidently wrong: top-1 above it. */
  readonly confidenceThreshold: number;
  /** Confusion matrix normalisation. */
  readonly confusionNorm: 'row' | 'column' | 'none';
}

export const DEFAULT_STATE: ViewState = {
  n: 0,
  slice: 0,
  mode: 'loss',
  colormap: 'viridis',
  scale: 'linear',
  clip: 100,
  classFilter: null,
  probClass: null,
  showIgnored: true,
  zoom: 1,
  cx: null,
  cy: null,
  pixel: null,
  sort: DEFAULT_SORT,
  bars: 'lossMean',
  tokenView: 'auto',
  overlayOpacity: 0.5,
  contours: false,
  pairFilter: null,
  confidenceThreshold: 0.5,
  confusionNorm: 'row',
};

export const CLIP_CHOICES: readonly number[] = [100, 99.9, 99.5, 99, 98, 95, 90];

function int(v: unknown, min: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min ? v : fallback;
}
function intOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
}
function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function pairOrNull(v: unknown): ViewState['pairFilter'] {
  if (!v || typeof v !== 'object') return null;
  const p = v as Record<string, unknown>;
  const target = intOrNull(p.target);
  const predicted = intOrNull(p.predicted);
  return target === null || predicted === null ? null : { target, predicted };
}

/** A valid ViewState from anything (a stored state from an older version, or nothing). */
export function sanitizeState(raw: unknown, base: ViewState = DEFAULT_STATE): ViewState {
  if (!raw || typeof raw !== 'object') return base;
  const r = raw as Record<string, unknown>;
  const sort = (r.sort && typeof r.sort === 'object' ? r.sort : {}) as Record<string, unknown>;
  const clip = typeof r.clip === 'number' && r.clip > 0 && r.clip <= 100 ? r.clip : base.clip;
  return {
    n: int(r.n, 0, base.n),
    slice: int(r.slice, 0, base.slice),
    mode: typeof r.mode === 'string' && (VIEW_MODES as readonly string[]).includes(r.mode) ? (r.mode as ViewMode) : base.mode,
    colormap: isColormap(r.colormap) ? r.colormap : base.colormap,
    scale: r.scale === 'log' || r.scale === 'linear' ? r.scale : base.scale,
    clip,
    classFilter: 'classFilter' in r ? intOrNull(r.classFilter) : base.classFilter,
    probClass: 'probClass' in r ? intOrNull(r.probClass) : base.probClass,
    showIgnored: typeof r.showIgnored === 'boolean' ? r.showIgnored : base.showIgnored,
    zoom: typeof r.zoom === 'number' && Number.isFinite(r.zoom) && r.zoom >= 1 ? r.zoom : base.zoom,
    cx: 'cx' in r ? numOrNull(r.cx) : base.cx,
    cy: 'cy' in r ? numOrNull(r.cy) : base.cy,
    pixel: 'pixel' in r ? intOrNull(r.pixel) : base.pixel,
    sort: {
      key: typeof sort.key === 'string' && (SORT_KEYS as readonly string[]).includes(sort.key) ? (sort.key as SortSpec['key']) : base.sort.key,
      dir: sort.dir === 'asc' || sort.dir === 'desc' ? sort.dir : base.sort.dir,
    },
    bars: r.bars === 'share' || r.bars === 'lossMean' ? r.bars : base.bars,
    tokenView: r.tokenView === 'auto' || r.tokenView === 'on' || r.tokenView === 'off' ? r.tokenView : base.tokenView,
    overlayOpacity: typeof r.overlayOpacity === 'number' && r.overlayOpacity >= 0 && r.overlayOpacity <= 1 ? r.overlayOpacity : base.overlayOpacity,
    contours: typeof r.contours === 'boolean' ? r.contours : base.contours,
    pairFilter: 'pairFilter' in r ? pairOrNull(r.pairFilter) : base.pairFilter,
    confidenceThreshold: typeof r.confidenceThreshold === 'number' && Number.isFinite(r.confidenceThreshold) && r.confidenceThreshold >= 0 ? r.confidenceThreshold : base.confidenceThreshold,
    confusionNorm: r.confusionNorm === 'row' || r.confusionNorm === 'column' || r.confusionNorm === 'none' ? r.confusionNorm : base.confusionNorm,
  };
}

/** Timers of the view's own window (a notebook output's page, a webview, a test DOM). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

/** Timers bound to `win` when there is one (happy-dom's timers are its own), else the global ones. */
export function windowTimers(win: (Window & typeof globalThis) | null): Timers {
  return {
    setTimeout: (fn, ms) => (win ? win.setTimeout(fn, ms) : (setTimeout(fn, ms) as unknown as number)),
    clearTimeout: (id) => (win ? win.clearTimeout(id) : clearTimeout(id)),
  };
}

/** A mutable partial state (for building updates). */
export type StatePatch = { -readonly [K in keyof ViewState]?: ViewState[K] };

/**
 * The view's state store: components read `state` and send patches; the host hears of changes debounced
 * (a drag or a slider would otherwise write the webview state store on every event).
 */
export class Store {
  private current: ViewState;
  private timer: number | null = null;
  private closed = false;

  constructor(initial: ViewState, private readonly timers: Timers, private readonly onChange?: (s: ViewState) => void, private readonly debounceMs = 150) {
    this.current = initial;
  }

  get state(): ViewState {
    return this.current;
  }

  update(patch: Partial<ViewState>): void {
    this.current = { ...this.current, ...patch };
    if (!this.onChange || this.closed) return;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.flush(), this.debounceMs);
  }

  /** Report the state now (a pending change is not lost when the view goes away). */
  flush(): void {
    if (this.timer !== null) {
      this.timers.clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.closed) this.onChange?.(this.current);
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}
