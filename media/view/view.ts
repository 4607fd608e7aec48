// The loss view shared by the panel webview and the notebook renderer. Plain browser code: no VS Code
// API. It receives HostToView messages, posts ViewToHost messages, and builds its DOM with
// createElement/textContent only (class names and file names are untrusted text).
import type { InputKind, LossOptions, Reduction } from '../../src/kernel/types';
import type { ClassMaps, ElementDetail, HostToView, OverlayImage, SampleMaps, ViewSummary, ViewToHost } from '../../src/protocol';
import { ClassTable } from './classTable';
import { tokenClassNames, tokenViewAuto, tokenViewCapable, TokenView } from './tokenView';
import { COLORMAPS, gradientCss, NAN_RGBA, type ColormapName } from './colormap';
import { append, builder, clear, type Builder } from './dom';
import { buildBreakdown, fmtIndex } from './explain';
import { classLabel, className, fmt6, fmtCount, fmtPct, fmtSeconds, fmtShape, parseWeights } from './format';
import {
  classColourTable, colourOf, composite, CONTOUR_BOTH, CONTOUR_PREDICTED, CONTOUR_TARGET, contours, drawContours, OverlayControls, presentClasses,
  type Photo,
} from './overlay';
import {
  COLORS, geometryFor, isContinuousMode, MODE_LABELS, modeDomain, multiIndex, probabilityThumbnail, rasterize, sliceAndIndex, VIEW_MODES,
  type Geometry, type MapArrays, type ViewMode,
} from './raster';
import { valueAt, type Domain, type Scale } from './scale';
import { CLIP_CHOICES, DEFAULT_STATE, sanitizeState, type ViewState } from './state';
import {
  cellToIndex, centred, clampTransform, cssTransform, ensureVisible, mapToScreen, scaleOf, screenToCell, zoomAt, panBy,
  type Size, type ViewTransform,
} from './viewport';

export type { ViewState } from './state';

export interface ViewOptions {
  /** Notebook output: smaller heatmap, an "Open in panel" button. */
  readonly compact?: boolean;
  /** False where no extension host can save files or open panels (a notebook page without messaging). */
  readonly hostActions?: boolean;
  readonly initialState?: ViewState;
  readonly onStateChange?: (s: ViewState) => void;
}

export interface ViewHandle {
  receive(msg: HostToView): void;
  dispose(): void;
}

export function createView(root: HTMLElement, post: (msg: ViewToHost) => void, opts: ViewOptions = {}): ViewHandle {
  const view = new LossView(root, post, opts);
  return { receive: (msg) => view.receive(msg), dispose: () => view.dispose() };
}

const EXPLAIN_DEBOUNCE_MS = 50;
const EXPLAIN_TIMEOUT_MS = 8000;
const STATE_DEBOUNCE_MS = 150;
const DETAIL_CACHE = 64;
const MAX_THUMBS = 64;
/** Most classes offered as a menu in "p(class c)" mode; above it the class is typed in. */
export const PROB_CLASS_MENU_LIMIT = 100;
const THUMB_SIDE = 96;
const LOSS_NAMES: Readonly<Record<string, string>> = { ce: 'cross-entropy', bce: 'binary cross-entropy with logits' };

interface Timers {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

/** Typed arrays may arrive as plain arrays when a channel JSON-encodes messages. */
function f32(v: ArrayLike<number> | null | undefined): Float32Array | null {
  if (v === null || v === undefined) return null;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>, (x) => (x === null ? NaN : x));
}
function i32(v: ArrayLike<number>): Int32Array {
  return v instanceof Int32Array ? v : Int32Array.from(v);
}
function u8(v: ArrayLike<number>): Uint8Array {
  return v instanceof Uint8Array ? v : Uint8Array.from(v);
}

/** A mutable partial state (for building updates). */
type Patch = { -readonly [K in keyof ViewState]?: ViewState[K] };

function detailKey(n: number, index: readonly number[]): string {
  return `${n}|${index.join(',')}`;
}

class LossView {
  private readonly h: Builder;
  private readonly win: (Window & typeof globalThis) | null;
  private readonly timers: Timers;
  private state: ViewState;
  private summary: ViewSummary | null = null;
  private maps: SampleMaps | null = null;
  private mapArrays: MapArrays | null = null;
  private geometry: Geometry | null = null;
  private classMaps: ClassMaps | null = null;
  private wantClassMaps = false;
  private readonly details = new Map<string, ElementDetail>();
  private hoverKey: string | null = null;
  private hoverCell: { i: number; sx: number; sy: number } | null = null;
  private explainKey: string | null = null;
  private explainTimer: number | null = null;
  private explainTimeout: number | null = null;
  private stateTimer: number | null = null;
  private lastPostedExplain: string | null = null;
  private rasterKey = '';
  private domainKey = '';
  private domain: Domain | null = null;
  private rgba: Uint8ClampedArray | null = null;
  /** What is painted: the heatmap, or it composited over the photo and/or with contours. */
  private shown: Uint8ClampedArray | null = null;
  private shownKey = '';
  /** Class colours (flat RGB) for the label modes and the legend. */
  private colours: Uint8Array = classColourTable(null, 1);
  private coloursKey = '';
  /** The decoded overlay image (any size) and its pixels scaled to the map's size. */
  private bitmap: { source: CanvasImageSource; width: number; height: number; name: string } | null = null;
  private photo: Photo | null = null;
  private imageSeq = 0;
  private transform: ViewTransform = { zoom: 1, cx: 0, cy: 0 };
  private drag: { x: number; y: number; moved: boolean; id: number } | null = null;
  private loadingSample: number | null = null;
  /** Element whose info to show once the requested sample arrives (worst-list pick). */
  private pendingInfo: number | null = null;
  private resizeObserver: ResizeObserver | null = null;
  private readonly cleanups: Array<() => void> = [];
  private disposed = false;

  // Fixed elements.
  private readonly progressEl: HTMLElement;
  private readonly progressBar: HTMLProgressElement;
  private readonly progressText: HTMLElement;
  private readonly noteEl: HTMLElement;
  private readonly waitingEl: HTMLElement;
  private readonly headerEl: HTMLElement;
  private readonly titleEl: HTMLElement;
  private readonly lossNameEl: HTMLElement;
  private readonly lossValueEl: HTMLElement;
  private readonly lossFormulaEl: HTMLElement;
  private readonly factsEl: HTMLElement;
  private readonly metaEl: HTMLElement;
  private readonly optionsEl: HTMLFormElement;
  private readonly optionFields: {
    reduction: HTMLSelectElement; ignoreIndex: HTMLInputElement; labelSmoothing: HTMLInputElement;
    inputKind: HTMLSelectElement; classDim: HTMLInputElement; weight: HTMLInputElement; message: HTMLElement;
    ceOnly: HTMLElement[];
  };
  private readonly errorEl: HTMLElement;
  private readonly resultsEl: HTMLElement;
  private readonly mapSection: HTMLElement;
  private readonly mapMessage: HTMLElement;
  private readonly toolbar: HTMLElement;
  private readonly sampleGroup: HTMLElement;
  private readonly sampleInput: HTMLInputElement;
  private readonly sampleCount: HTMLElement;
  private readonly slicePrev: HTMLButtonElement;
  private readonly sampleNext: HTMLButtonElement;
  private readonly sliceGroup: HTMLElement;
  private readonly sliceInput: HTMLInputElement;
  private readonly sliceText: HTMLElement;
  private readonly modeSelect: HTMLSelectElement;
  private readonly probClassGroup: HTMLElement;
  private readonly probClassSelect: HTMLSelectElement;
  /** Above PROB_CLASS_MENU_LIMIT classes: a class index or name typed in (no menu of every class). */
  private readonly probClassInput: HTMLInputElement;
  private readonly probClassName: HTMLElement;
  private readonly tokenView: TokenView;
  private readonly tokenToggle: HTMLInputElement;
  private readonly tokenToggleGroup: HTMLElement;
  /** The token view is shown for the current result. */
  private tokensOn = false;
  private readonly colormapSelect: HTMLSelectElement;
  private readonly scaleSelect: HTMLSelectElement;
  private readonly clipSelect: HTMLSelectElement;
  private readonly ignoredToggle: HTMLInputElement;
  private readonly filterChip: HTMLButtonElement;
  private readonly viewport: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly marker: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly loadingEl: HTMLElement;
  private readonly legendEl: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly pngButton: HTMLButtonElement;
  private readonly npyButton: HTMLButtonElement;
  private readonly csvButton: HTMLButtonElement;
  private readonly explainEl: HTMLElement;
  private readonly overlay: OverlayControls;
  private readonly classTable: ClassTable;
  private readonly worstSection: HTMLElement;
  private readonly worstList: HTMLElement;
  private readonly multiplesSection: HTMLElement;
  private readonly multiplesButton: HTMLButtonElement;
  private readonly multiplesGrid: HTMLElement;
  private readonly multiplesNote: HTMLElement;

  constructor(private readonly root: HTMLElement, private readonly post: (msg: ViewToHost) => void, private readonly opts: ViewOptions) {
    const doc = root.ownerDocument;
    const h = (this.h = builder(doc));
    this.win = (doc.defaultView as (Window & typeof globalThis) | null) ?? null;
    const w = this.win;
    this.timers = {
      setTimeout: (fn, ms) => (w ? w.setTimeout(fn, ms) : (setTimeout(fn, ms) as unknown as number)),
      clearTimeout: (id) => (w ? w.clearTimeout(id) : clearTimeout(id)),
    };
    this.state = sanitizeState(opts.initialState ?? null, DEFAULT_STATE);

    clear(root);
    root.classList.add('cel-root');
    if (opts.compact) root.classList.add('cel-compact');

    // Progress, note, waiting placeholder.
    this.progressBar = h('progress', { max: 1, value: 0, 'aria-label': 'Progress' });
    this.progressText = h('span', { class: 'cel-progress-text' });
    this.progressEl = h('div', { class: 'cel-progress', role: 'status', hidden: true }, this.progressBar, this.progressText);
    this.noteEl = h('div', { class: 'cel-note', role: 'status', hidden: true });
    this.waitingEl = h('div', { class: 'cel-waiting', role: 'status', text: 'Waiting for results…' });

    // Header.
    this.titleEl = h('h2', { class: 'cel-title' });
    this.lossNameEl = h('span', { class: 'cel-loss-name' });
    this.lossValueEl = h('span', { class: 'cel-loss-value', 'data-testid': 'loss-value' });
    this.lossFormulaEl = h('span', { class: 'cel-loss-formula' });
    this.factsEl = h('dl', { class: 'cel-facts' });
    this.metaEl = h('div', { class: 'cel-meta' });
    const of = this.buildOptionsForm();
    this.optionsEl = of.form;
    this.optionFields = of.fields;
    this.headerEl = h('header', { class: 'cel-header', hidden: true },
      this.titleEl,
      h('div', { class: 'cel-loss' }, this.lossNameEl, this.lossValueEl, this.lossFormulaEl),
      this.factsEl, this.metaEl, this.optionsEl);

    this.errorEl = h('div', { class: 'cel-error', 'data-testid': 'error', role: 'alert', hidden: true });

    // Heatmap section.
    this.sampleInput = h('input', { type: 'number', min: 0, step: 1, value: 0, class: 'cel-num', 'aria-label': 'Sample index' });
    this.sampleCount = h('span', { class: 'cel-dim' });
    this.slicePrev = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Previous sample', title: 'Previous sample', text: '‹' });
    this.sampleNext = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Next sample', title: 'Next sample', text: '›' });
    this.sampleGroup = h('div', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Sample' }), this.slicePrev, this.sampleInput, this.sampleNext, this.sampleCount);
    this.sliceInput = h('input', { type: 'range', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'Slice along the first spatial axis' });
    this.sliceText = h('span', { class: 'cel-dim' });
    this.sliceGroup = h('div', { class: 'cel-group', hidden: true }, h('span', { class: 'cel-label', text: 'Slice' }), this.sliceInput, this.sliceText);
    this.modeSelect = h('select', { 'aria-label': 'View mode' }, ...VIEW_MODES.map((m) => h('option', { value: m, text: MODE_LABELS[m] })));
    this.probClassSelect = h('select', { 'aria-label': 'Class whose probability is shown' });
    this.probClassInput = h('input', { type: 'text', class: 'cel-text cel-class-input', placeholder: 'class index or name', spellcheck: 'false', autocomplete: 'off', 'aria-label': 'Class whose probability is shown (index or name)', hidden: true });
    this.probClassName = h('span', { class: 'cel-dim', hidden: true });
    this.probClassGroup = h('div', { class: 'cel-group', hidden: true }, h('span', { class: 'cel-label', text: 'Class' }), this.probClassSelect, this.probClassInput, this.probClassName);
    this.tokenToggle = h('input', { type: 'checkbox' });
    this.tokenToggleGroup = h('label', { class: 'cel-group cel-check', hidden: true, title: 'Show each sequence as text, tokens shaded by loss' }, this.tokenToggle, h('span', { text: 'Tokens as text' }));
    this.colormapSelect = h('select', { 'aria-label': 'Colormap' }, ...COLORMAPS.map((c) => h('option', { value: c, text: c })));
    this.scaleSelect = h('select', { 'aria-label': 'Scale' }, h('option', { value: 'linear', text: 'linear' }), h('option', { value: 'log', text: 'log' }));
    this.clipSelect = h('select', { 'aria-label': 'Clip the colour scale at a percentile' },
      ...CLIP_CHOICES.map((c) => h('option', { value: String(c), text: c === 100 ? 'max' : `p${c}` })));
    this.ignoredToggle = h('input', { type: 'checkbox', checked: true });
    this.filterChip = h('button', { type: 'button', class: 'cel-chip', hidden: true, title: 'Show all classes again' });
    const zoomOut = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Zoom out', title: 'Zoom out (-)', text: '−' });
    const zoomFit = h('button', { type: 'button', class: 'cel-icon cel-fit', 'aria-label': 'Fit the whole map', title: 'Fit (0)', text: 'fit' });
    const zoomIn = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Zoom in', title: 'Zoom in (+)', text: '+' });
    this.toolbar = h('div', { class: 'cel-toolbar', role: 'toolbar', 'aria-label': 'Heatmap controls' },
      this.sampleGroup, this.sliceGroup,
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Show' }), this.modeSelect),
      this.probClassGroup,
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Colors' }), this.colormapSelect),
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Scale' }), this.scaleSelect),
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Clip' }), this.clipSelect),
      h('label', { class: 'cel-group cel-check' }, this.ignoredToggle, h('span', { text: 'Mark ignored' })),
      this.tokenToggleGroup,
      this.filterChip,
      h('div', { class: 'cel-group cel-zoom' }, zoomOut, zoomFit, zoomIn));

    this.canvas = h('canvas', { class: 'cel-canvas', 'data-testid': 'heatmap', width: 1, height: 1, 'aria-hidden': 'true' });
    this.marker = h('div', { class: 'cel-marker', hidden: true });
    this.tooltip = h('div', { class: 'cel-tooltip', role: 'tooltip', 'data-testid': 'tooltip', hidden: true });
    this.loadingEl = h('div', { class: 'cel-loading', hidden: true });
    this.viewport = h('div', {
      class: 'cel-viewport', tabindex: 0, role: 'application',
      'aria-roledescription': 'heatmap',
      'aria-label': 'Heatmap. Arrow keys move the selected element, Enter explains it, plus and minus zoom, 0 fits.',
    }, this.canvas, this.marker, this.loadingEl);
    // The tooltip sits beside the viewport (not inside its overflow clip), at the same origin.
    const stage = h('div', { class: 'cel-stage' }, this.viewport, this.tooltip);
    this.legendEl = h('div', { class: 'cel-legend' });
    this.statusEl = h('div', { class: 'cel-status', 'aria-live': 'polite' });
    this.mapMessage = h('p', { class: 'cel-map-message', hidden: true });
    // Overlay (media/view/overlay.ts): the photo under the heatmap, opacity, contours.
    this.overlay = new OverlayControls(h, {
      change: (patch) => {
        this.update(patch);
        this.render();
      },
      choose: () => this.post({ type: 'chooseImage' }),
    }, { opacity: this.state.overlayOpacity, contours: this.state.contours, canChoose: !opts.compact && opts.hostActions !== false });
    this.mapSection = h('section', { class: 'cel-map', 'aria-label': 'Heatmap' },
      this.toolbar, this.overlay.el, this.mapMessage, stage, this.legendEl, this.statusEl);

    this.pngButton = h('button', { type: 'button', class: 'cel-button', text: 'Export PNG', title: 'Save the current heatmap as PNG' });
    this.csvButton = h('button', { type: 'button', class: 'cel-button', text: 'Export CSV', title: 'Save the per-class table as CSV' });
    this.npyButton = h('button', { type: 'button', class: 'cel-button', text: 'Export .npy', title: 'Save the unreduced loss map as .npy' });
    const actions = h('div', { class: 'cel-actions' }, this.pngButton, this.csvButton, this.npyButton);
    actions.hidden = opts.hostActions === false;
    if (opts.compact) {
      const open = h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Open in panel' });
      open.addEventListener('click', () => this.post({ type: 'openInPanel' }));
      actions.appendChild(open);
    }

    this.explainEl = h('section', { class: 'cel-explain', hidden: true, 'aria-live': 'polite', 'aria-label': 'Step-by-step breakdown' });

    // Class table and bars (media/view/classTable.ts).
    this.classTable = new ClassTable(h, {
      pick: (c) => this.toggleClassFilter(c),
      change: (patch) => this.update(patch),
    }, { sort: this.state.sort, bars: this.state.bars });
    this.worstList = h('ol', { class: 'cel-worst-list' });
    this.worstSection = h('section', { class: 'cel-worst', 'aria-label': 'Worst elements' }, h('h3', { text: 'Worst elements' }), this.worstList);

    this.multiplesButton = h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Show per-class probability maps' });
    this.multiplesNote = h('p', { class: 'cel-hint', hidden: true });
    this.multiplesGrid = h('div', { class: 'cel-multiples-grid' });
    this.multiplesSection = h('section', { class: 'cel-multiples', 'aria-label': 'Probability of each class' },
      h('h3', { text: 'Probability of each class' }), this.multiplesButton, this.multiplesNote, this.multiplesGrid);

    // Token view (media/view/tokenView.ts), above the heatmap when shown.
    this.tokenView = new TokenView(h, {
      selectSequence: (n) => this.goSample(n),
      requestDetails: (row) => this.post({ type: 'tokenDetails', row }),
    }, this.timers, this.state.colormap);

    this.resultsEl = h('div', { class: 'cel-results', hidden: true },
      this.tokenView.el, this.mapSection, actions, this.explainEl,
      h('div', { class: 'cel-columns' }, this.classTable.el, this.worstSection),
      this.multiplesSection);

    append(root, this.progressEl, this.noteEl, this.waitingEl, this.headerEl, this.errorEl, this.resultsEl);
    this.wireControls(zoomOut, zoomFit, zoomIn);
    this.syncControls();
  }

  // ---------------------------------------------------------------------------------------------------
  // Messages.

  receive(msg: HostToView): void {
    if (this.disposed || !msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'progress': return this.showProgress(msg.fraction, msg.message);
      case 'summary': return this.setSummary(msg.summary);
      case 'sample': return this.setSample(msg.maps);
      case 'classMaps': return this.setClassMaps(msg.maps);
      case 'detail': return this.setDetail(msg.detail);
      case 'tokenDetails': return this.tokenView.setDetails(msg.details);
      case 'error': return this.showError(msg.message);
      case 'note': return this.showNote(msg.message);
      case 'image': return void this.setImage(msg.image);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.flushState();
    this.disposed = true;
    if (this.explainTimer !== null) this.timers.clearTimeout(this.explainTimer);
    if (this.explainTimeout !== null) this.timers.clearTimeout(this.explainTimeout);
    this.resizeObserver?.disconnect();
    this.tokenView.dispose();
    for (const c of this.cleanups) c();
    clear(this.root);
    this.root.classList.remove('cel-root', 'cel-compact');
  }

  private showProgress(fraction: number, message: string): void {
    const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
    this.progressBar.value = f;
    this.progressText.textContent = `${message} ${Math.round(f * 100)}%`;
    this.progressEl.hidden = f >= 1;
  }

  private showNote(message: string): void {
    this.noteEl.textContent = message;
    this.noteEl.hidden = !message;
  }

  private showError(message: string): void {
    this.progressEl.hidden = true;
    this.waitingEl.hidden = true;
    this.errorEl.textContent = message && String(message).trim() ? String(message) : 'Something went wrong, but no message came with it.';
    this.errorEl.hidden = false;
    this.resultsEl.hidden = true;
    this.resultsEl.classList.remove('cel-stale');
    // The options stay editable so a bad choice can be corrected in place.
    this.headerEl.hidden = this.summary === null;
  }

  private setSummary(raw: ViewSummary): void {
    const first = this.summary === null;
    // With a vocabulary and no class names of its own, classes are named by their token text everywhere
    // (table and its search, worst list, tooltips, legend).
    const names = raw.classNames.length === 0 ? tokenClassNames(raw) : null;
    const s: ViewSummary = names ? { ...raw, classNames: names } : raw;
    this.summary = s;
    this.progressEl.hidden = true;
    this.waitingEl.hidden = true;
    this.errorEl.hidden = true;
    this.headerEl.hidden = false;
    this.resultsEl.hidden = false;
    this.resultsEl.classList.remove('cel-stale');
    // Maps and details belong to the previous options.
    this.details.clear();
    this.classMaps = null;
    this.explainKey = null;
    this.explainEl.hidden = true;
    this.lastPostedExplain = null;
    this.hideTooltip();
    const C = s.perClass.length;
    if (this.state.classFilter !== null && this.state.classFilter >= C) this.update({ classFilter: null });
    if (this.state.probClass !== null && this.state.probClass >= C) this.update({ probClass: null });

    const cKey = JSON.stringify([s.classColors ?? [], C]);
    if (cKey !== this.coloursKey) {
      const table = classColourTable(s.classColors ?? null, C);
      this.colours = table;
      this.coloursKey = cKey;
      this.classTable.setColours((c) => colourOf(table, c));
      this.rasterKey = '';
    }
    this.renderHeader();
    this.renderTable();
    this.renderWorst();
    this.renderProbClassOptions();
    this.renderMultiples();

    const ls = s.lossShape;
    const spatial = ls.length >= 2;
    const strip = ls.length === 1;
    const hasMaps = s.mapsAvailable && (spatial || strip);
    this.syncTokenView(true);
    this.npyButton.disabled = false;
    if (!hasMaps) {
      this.maps = null;
      this.mapArrays = null;
      this.geometry = null;
      this.viewport.hidden = true;
      this.toolbar.hidden = true;
      this.overlay.el.hidden = true;
      this.legendEl.hidden = true;
      this.pngButton.disabled = true;
      this.multiplesSection.hidden = true;
      this.mapMessage.hidden = false;
      clear(this.mapMessage);
      if (ls.length === 0) {
        const b = this.h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Explain this element step by step' });
        b.addEventListener('click', () => this.openExplain(-1, [0]));
        append(this.mapMessage, 'A single element (unbatched input): there is no map to draw. ', b);
      } else {
        this.mapMessage.textContent = 'Per-element maps were not kept for this input (it was streamed), so only the statistics are shown.';
      }
      return;
    }
    this.mapMessage.hidden = true;
    this.viewport.hidden = false;
    this.toolbar.hidden = false;
    this.overlay.el.hidden = !spatial;
    this.legendEl.hidden = false;
    this.pngButton.disabled = false;
    this.multiplesSection.hidden = false;
    this.sampleGroup.hidden = !spatial;
    const N = spatial ? ls[0] : 1;
    this.sampleInput.max = String(Math.max(0, N - 1));
    this.sampleCount.textContent = `of ${N}`;
    if (spatial && this.state.n >= N) this.update({ n: 0, pixel: null });
    this.syncControls();
    // Geometry is known from the loss shape before the maps arrive (the worst list can point into it).
    const g = geometryFor(spatial ? ls.slice(1) : ls);
    if (this.state.slice >= (g?.slices ?? 1)) this.update({ slice: 0 });
    const want = spatial ? this.state.n : -1;
    if (first || !this.maps || this.maps.n !== want || !sameShape(this.maps.shape, g?.shape ?? [])) this.resetTransformFor(g);
    this.maps = null;
    this.mapArrays = null;
    this.geometry = g;
    this.rasterKey = '';
    this.domainKey = '';
    this.requestSample(want);
    this.layout();
    this.render();
  }

  private requestSample(n: number): void {
    this.loadingSample = n;
    this.loadingEl.textContent = n >= 0 ? `Loading sample ${n}…` : 'Loading…';
    this.loadingEl.hidden = false;
    this.post({ type: 'selectSample', n });
    if (this.wantClassMaps) this.post({ type: 'requestClassMaps', n });
  }

  private setSample(raw: SampleMaps): void {
    if (!this.summary) return;
    const spatial = this.summary.lossShape.length >= 2;
    const g = geometryFor(raw.shape);
    const need = g ? g.count * g.slices : 0;
    const maps: SampleMaps = {
      n: raw.n, shape: raw.shape,
      loss: f32(raw.loss) as Float32Array, target: i32(raw.target), predicted: i32(raw.predicted), ignored: u8(raw.ignored),
      pTarget: f32(raw.pTarget),
    };
    if (!g || maps.loss.length < need || maps.target.length < need || maps.predicted.length < need || maps.ignored.length < need) {
      this.showNote(`The maps of sample ${raw.n} do not match their shape ${fmtShape(raw.shape)}.`);
      return;
    }
    if (this.loadingSample !== null && maps.n !== this.loadingSample) return; // an older reply
    if (spatial && maps.n >= 0 && maps.n !== this.state.n) {
      // A sample the host chose on its own: follow it.
      this.update({ n: maps.n, pixel: null });
      this.syncControls();
    }
    this.loadingSample = null;
    this.loadingEl.hidden = true;
    const changedShape = !this.geometry || !sameShape(this.geometry.shape, g.shape);
    this.maps = maps;
    this.mapArrays = maps;
    this.geometry = g;
    if (changedShape) this.resetTransformFor(g);
    if (this.state.slice >= g.slices) this.update({ slice: 0 });
    if (this.state.pixel !== null && this.state.pixel >= g.count) this.update({ pixel: null });
    this.renderProbClassOptions();
    this.syncControls();
    this.rasterKey = '';
    this.domainKey = '';
    this.layout();
    this.render();
    if (this.pendingInfo !== null && this.pendingInfo < g.count) this.showCellInfo(this.pendingInfo, true);
    this.pendingInfo = null;
    if (this.tokensOn) this.tokenView.setSequence(maps);
  }

  private setClassMaps(m: ClassMaps): void {
    if (!this.summary) return;
    const probs = f32(m.probs) as Float32Array;
    this.classMaps = { n: m.n, shape: m.shape, probs };
    this.renderMultiples();
    if (this.state.mode === 'classProb') {
      this.rasterKey = '';
      this.render();
    }
  }

  private setDetail(d: ElementDetail): void {
    const key = detailKey(d.n, d.index);
    this.details.set(key, d);
    if (this.details.size > DETAIL_CACHE) this.details.delete(this.details.keys().next().value as string);
    if (key === this.hoverKey) this.renderTooltip();
    if (key === this.explainKey) this.renderExplain();
  }

  // ---------------------------------------------------------------------------------------------------
  // State.

  private update(patch: Partial<ViewState>): void {
    this.state = { ...this.state, ...patch };
    this.scheduleState();
  }

  private scheduleState(): void {
    if (!this.opts.onStateChange || this.disposed) return;
    if (this.stateTimer !== null) this.timers.clearTimeout(this.stateTimer);
    this.stateTimer = this.timers.setTimeout(() => this.flushState(), STATE_DEBOUNCE_MS);
  }

  private flushState(): void {
    if (this.stateTimer !== null) {
      this.timers.clearTimeout(this.stateTimer);
      this.stateTimer = null;
    }
    if (!this.disposed) this.opts.onStateChange?.(this.state);
  }

  private syncControls(): void {
    const s = this.state;
    this.sampleInput.value = String(s.n);
    const N = this.summary && this.summary.lossShape.length >= 2 ? this.summary.lossShape[0] : 1;
    this.slicePrev.disabled = s.n <= 0;
    this.sampleNext.disabled = s.n >= N - 1;
    this.modeSelect.value = s.mode;
    this.colormapSelect.value = s.colormap;
    this.scaleSelect.value = s.scale;
    this.clipSelect.value = String(s.clip);
    if (this.clipSelect.value !== String(s.clip)) {
      this.clipSelect.appendChild(this.h('option', { value: String(s.clip), text: `p${s.clip}` }));
      this.clipSelect.value = String(s.clip);
    }
    this.ignoredToggle.checked = s.showIgnored;
    const g = this.geometry;
    const slices = g?.slices ?? 1;
    this.sliceGroup.hidden = slices <= 1;
    this.sliceInput.max = String(Math.max(0, slices - 1));
    this.sliceInput.value = String(s.slice);
    if (g && slices > 1) {
      const lead = multiIndex(g, s.slice, 0).slice(0, -2);
      const names = g.shape.length === 3 ? ['z'] : lead.map((_, a) => `d${a}`);
      this.sliceText.textContent = lead.map((v, a) => `${names[a]} = ${v} (of ${g.shape[a]})`).join(', ');
    }
    const continuous = isContinuousMode(s.mode);
    this.colormapSelect.disabled = !continuous;
    const probMode = s.mode === 'pTarget' || s.mode === 'classProb';
    this.scaleSelect.disabled = !continuous || probMode;
    this.clipSelect.disabled = !continuous || probMode;
    this.probClassGroup.hidden = s.mode !== 'classProb';
    if (s.probClass !== null) this.probClassSelect.value = String(s.probClass);
    this.syncProbClassInput();
    // p(target) exists for class-index targets only.
    const pOpt = this.modeSelect.querySelector('option[value="pTarget"]') as HTMLOptionElement | null;
    if (pOpt) pOpt.disabled = !!this.maps && this.maps.pTarget === null;
    if (s.classFilter !== null && this.summary) {
      this.filterChip.hidden = false;
      this.filterChip.textContent = `Only class ${classLabel(this.summary.classNames, s.classFilter)} ✕`;
      this.filterChip.setAttribute('aria-label', `Showing only class ${classLabel(this.summary.classNames, s.classFilter)}; press to show all classes`);
    } else {
      this.filterChip.hidden = true;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Header and options.

  private buildOptionsForm(): { form: HTMLFormElement; fields: LossView['optionFields'] } {
    const h = this.h;
    const field = (label: string, control: HTMLElement, hint?: string): HTMLElement =>
      h('label', { class: 'cel-field', title: hint }, h('span', { class: 'cel-label', text: label }), control);
    const reduction = h('select', { name: 'reduction' }, ...['mean', 'sum', 'none'].map((r) => h('option', { value: r, text: r })));
    const ignoreIndex = h('input', { type: 'number', step: 1, name: 'ignoreIndex', class: 'cel-num' });
    const labelSmoothing = h('input', { type: 'number', step: 0.05, min: 0, max: 1, name: 'labelSmoothing', class: 'cel-num' });
    const inputKind = h('select', { name: 'inputKind' }, ...['logits', 'probs', 'log-probs'].map((k) => h('option', { value: k, text: k })));
    const classDim = h('input', { type: 'number', step: 1, name: 'classDim', class: 'cel-num' });
    const weight = h('input', { type: 'text', name: 'weight', class: 'cel-text', placeholder: 'a,b,c (empty: none)', spellcheck: 'false', autocomplete: 'off' });
    const message = h('span', { class: 'cel-field-message', role: 'status' });
    const fIgnore = field('ignore_index', ignoreIndex, 'Target value that does not contribute to the loss');
    const fSmooth = field('label_smoothing', labelSmoothing, 'Label smoothing in [0, 1]');
    const fKind = field('input', inputKind, 'What the input tensor holds');
    const form = h('form', { class: 'cel-options', 'aria-label': 'Loss options' },
      field('reduction', reduction),
      fIgnore, fSmooth, fKind,
      field('class dim', classDim, 'Axis of the input holding the classes (-1 for channels-last)'),
      field('weight', weight, 'Per-class weights, comma separated; empty for none'),
      message);
    form.addEventListener('submit', (e) => e.preventDefault());
    const send = (options: Partial<LossOptions>, weightArr?: number[] | null): void => {
      message.textContent = '';
      this.resultsEl.classList.add('cel-stale');
      const msg: ViewToHost = weightArr === undefined ? { type: 'setOptions', options } : { type: 'setOptions', options, weight: weightArr };
      this.post(msg);
    };
    const bad = (input: HTMLElement, text: string): void => {
      input.setAttribute('aria-invalid', 'true');
      message.textContent = text;
    };
    const ok = (input: HTMLElement): void => input.removeAttribute('aria-invalid');
    reduction.addEventListener('change', () => send({ reduction: reduction.value as Reduction }));
    inputKind.addEventListener('change', () => send({ inputKind: inputKind.value as InputKind }));
    ignoreIndex.addEventListener('change', () => {
      const v = Number(ignoreIndex.value);
      if (ignoreIndex.value.trim() === '' || !Number.isInteger(v)) return bad(ignoreIndex, 'ignore_index must be an integer.');
      ok(ignoreIndex);
      send({ ignoreIndex: v });
    });
    labelSmoothing.addEventListener('change', () => {
      const v = Number(labelSmoothing.value);
      if (labelSmoothing.value.trim() === '' || !(v >= 0 && v <= 1)) return bad(labelSmoothing, 'label_smoothing must be a number in [0, 1].');
      ok(labelSmoothing);
      send({ labelSmoothing: v });
    });
    classDim.addEventListener('change', () => {
      const v = Number(classDim.value);
      if (classDim.value.trim() === '' || !Number.isInteger(v)) return bad(classDim, 'class dim must be an integer.');
      ok(classDim);
      send({ classDim: v });
    });
    weight.addEventListener('change', () => {
      const parsed = parseWeights(weight.value);
      if (parsed === undefined) return bad(weight, 'weight must be numbers separated by commas, or empty.');
      ok(weight);
      send({}, parsed);
    });
    return { form, fields: { reduction, ignoreIndex, labelSmoothing, inputKind, classDim, weight, message, ceOnly: [fIgnore, fSmooth, fKind] } };
  }

  private renderHeader(): void {
    const s = this.summary as ViewSummary;
    const h = this.h;
    const o = s.options;
    this.titleEl.textContent = s.title;
    this.titleEl.hidden = !s.title;
    const lossName = LOSS_NAMES[o.loss] ?? o.loss;
    if (s.value === null || o.reduction === 'none') {
      this.lossNameEl.textContent = `${lossName}, mean of the unreduced map:`;
      this.lossValueEl.textContent = fmt6(s.numerator / s.denominator);
      this.lossFormulaEl.textContent = `reduction none returns the map ${fmtShape(s.lossShape)}; this is its mean ${fmt6(s.numerator)} / ${fmt6(s.denominator)}`;
    } else {
      this.lossNameEl.textContent = `${lossName} (${o.reduction}):`;
      this.lossValueEl.textContent = fmt6(s.value);
      this.lossFormulaEl.textContent = o.reduction === 'mean' ? `= ${fmt6(s.numerator)} / ${fmt6(s.denominator)}` : '';
    }
    clear(this.factsEl);
    const kind = o.loss === 'bce' ? 'logits' : o.inputKind;
    const tkind = s.targetKind === 'index' ? 'class indices' : s.targetKind === 'probs' ? 'class probabilities' : 'binary';
    const fact = (term: string, ...desc: (string | HTMLElement)[]): void => {
      append(this.factsEl, h('dt', { text: term }), h('dd', {}, ...desc));
    };
    const tensor = (t: ViewSummary['input'], extra: string): HTMLElement[] => [
      h('span', { class: 'cel-file', text: t.label, title: t.label }),
      h('span', { class: 'cel-dim', text: ` ${fmtShape(t.shape)} ${t.dtype} · ${extra}` }),
    ];
    fact('input', ...tensor(s.input, `${kind}${o.classDim !== 1 ? `, class dim ${o.classDim}` : ''}`));
    fact('target', ...tensor(s.target, tkind));
    if (s.weight) fact('weight', h('span', { class: 'cel-dim', text: s.weight.length > 12 ? `${s.weight.slice(0, 12).map(fmt6).join(', ')}, … (${s.weight.length})` : s.weight.map(fmt6).join(', ') }));

    const meta: string[] = [];
    if (s.targetKind === 'index') meta.push(`ignore_index ${o.ignoreIndex}: ${fmtCount(s.ignoredCount)} of ${fmtCount(s.elementCount)} ignored`);
    else meta.push(`${fmtCount(s.elementCount)} elements`);
    if (o.labelSmoothing) meta.push(`label_smoothing ${fmt6(o.labelSmoothing)}`);
    meta.push(`accuracy ${fmtPct(s.accuracy)}`);
    if (s.nanCount) meta.push(`${fmtCount(s.nanCount)} NaN`);
    if (s.infCount) meta.push(`${fmtCount(s.infCount)} infinite`);
    meta.push(fmtSeconds(s.seconds));
    if (s.engine) meta.push(`engine ${s.engine}`);
    this.metaEl.textContent = meta.join(' · ');
    this.metaEl.classList.toggle('cel-warn', s.nanCount > 0 || s.infCount > 0);

    // Options: reflect what was computed (leave the field being edited alone).
    const f = this.optionFields;
    const active = this.root.ownerDocument.activeElement;
    const setVal = (e: HTMLInputElement | HTMLSelectElement, v: string): void => {
      if (e !== active) {
        e.value = v;
        e.removeAttribute('aria-invalid');
      }
    };
    setVal(f.reduction, o.reduction);
    setVal(f.ignoreIndex, String(o.ignoreIndex));
    setVal(f.labelSmoothing, String(o.labelSmoothing));
    setVal(f.inputKind, o.inputKind);
    setVal(f.classDim, String(o.classDim));
    setVal(f.weight, s.weight ? s.weight.join(',') : '');
    f.message.textContent = '';
    for (const e of f.ceOnly) e.hidden = o.loss === 'bce';
  }

  // ---------------------------------------------------------------------------------------------------
  // Class table, bars, worst list.

  private renderTable(): void {
    const s = this.summary as ViewSummary;
    this.classTable.update(s.perClass, s.classNames, { withWeight: s.weight !== null, selected: this.state.classFilter });
  }

  private toggleClassFilter(c: number): void {
    const clearing = this.state.classFilter === c;
    const patch: Patch = { classFilter: clearing ? null : c };
    if (!clearing && this.state.mode === 'loss') patch.mode = 'classLoss';
    if (clearing && this.state.mode === 'classLoss') patch.mode = 'loss';
    this.update(patch);
    this.syncControls();
    this.classTable.setSelected(this.state.classFilter);
    this.classTable.focusClass(c);
    this.render();
  }

  private renderWorst(): void {
    const s = this.summary as ViewSummary;
    const h = this.h;
    clear(this.worstList);
    this.worstSection.hidden = s.worst.length === 0;
    for (const w of s.worst) {
      const b = h('button', { type: 'button', class: 'cel-worst-item' },
        h('span', { class: 'cel-mono', text: fmtShape(w.index) }),
        h('span', { class: 'cel-worst-loss', text: ` loss ${fmt6(w.loss)}` }),
        h('span', { class: 'cel-dim', text: ` · target ${classLabel(s.classNames, w.target)} · predicted ${classLabel(s.classNames, w.predicted)}` }));
      b.addEventListener('click', () => this.goToElement(w.index));
      this.worstList.appendChild(h('li', {}, b));
    }
  }

  /** Select the sample of a loss-map index and centre the element on the heatmap. */
  private goToElement(index: readonly number[]): void {
    const s = this.summary;
    if (!s || !s.mapsAvailable) return;
    const spatial = s.lossShape.length >= 2;
    const g = geometryFor(spatial ? s.lossShape.slice(1) : s.lossShape);
    if (!g) return;
    const n = spatial ? index[0] : -1;
    const [slice, i] = spatial ? sliceAndIndex(g, index.slice(1)) : [0, index[0]];
    const x = i % g.width;
    const y = Math.floor(i / g.width);
    const view = this.viewSize();
    const zoom = Math.max(this.state.zoom, Math.min(8, Math.max(1, Math.min(g.width, g.height) / 32)));
    this.transform = clampTransform({ zoom, cx: x + 0.5, cy: y + 0.5 }, view, g);
    this.update({ slice, pixel: i, zoom: this.transform.zoom, cx: this.transform.cx, cy: this.transform.cy });
    this.viewport.focus({ preventScroll: true });
    this.viewport.scrollIntoView?.({ block: 'nearest' });
    if (spatial && (n !== this.state.n || !this.maps || this.maps.n !== n)) {
      this.update({ n });
      this.classMaps = null;
      this.hideTooltip();
      this.syncControls();
      this.pendingInfo = i;
      this.requestSample(n);
      this.applyTransform();
    } else {
      this.syncControls();
      this.render();
      this.showCellInfo(i, true);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Heatmap.

  private resetTransformFor(g: Geometry | null): void {
    if (!g) return;
    const s = this.state;
    const t = s.cx !== null && s.cy !== null && s.cx <= g.width && s.cy <= g.height ? { zoom: s.zoom, cx: s.cx, cy: s.cy } : centred(g);
    this.transform = clampTransform(t, this.viewSize(), g);
  }

  private viewSize(): Size {
    return { width: this.viewport.clientWidth || 0, height: this.viewport.clientHeight || 0 };
  }

  /** Viewport height follows the map's aspect within limits; then re-apply the transform. */
  private layout(): void {
    const g = this.geometry;
    if (!g) return;
    const width = this.viewport.clientWidth;
    if (width > 0) {
      const maxH = this.opts.compact ? 260 : Math.max(280, Math.min(560, (this.win?.innerHeight ?? 800) * 0.6));
      const minH = g.wrapped ? 48 : 160;
      const height = Math.round(Math.min(maxH, Math.max(minH, (width * g.height) / g.width)));
      this.viewport.style.height = `${height}px`;
    }
    this.applyTransform();
  }

  private applyTransform(): void {
    const g = this.geometry;
    if (!g) return;
    const view = this.viewSize();
    this.transform = clampTransform(this.transform, view, g);
    const t = cssTransform(this.transform, view, g);
    this.canvas.style.transform = `translate(${t.tx}px, ${t.ty}px) scale(${t.scale})`;
    this.placeMarker();
    if (this.hoverCell) this.positionTooltip(this.hoverCell.sx, this.hoverCell.sy);
  }

  private setTransform(t: ViewTransform): void {
    this.transform = t;
    this.update({ zoom: t.zoom, cx: t.cx, cy: t.cy });
    this.applyTransform();
  }

  private placeMarker(): void {
    const g = this.geometry;
    const p = this.state.pixel;
    if (!g || p === null || p >= g.count) {
      this.marker.hidden = true;
      return;
    }
    const view = this.viewSize();
    const x = p % g.width;
    const y = Math.floor(p / g.width);
    const a = mapToScreen(x, y, this.transform, view, g);
    const s = scaleOf(this.transform, view, g);
    const size = Math.max(s, 8);
    const off = (size - s) / 2;
    this.marker.style.left = `${a.x - off}px`;
    this.marker.style.top = `${a.y - off}px`;
    this.marker.style.width = `${size}px`;
    this.marker.style.height = `${size}px`;
    this.marker.hidden = false;
  }

  /** Re-rasterize only when data or drawing options changed; otherwise just place things. */
  private render(): void {
    const g = this.geometry;
    const maps = this.mapArrays;
    const s = this.state;
    this.syncControls();
    if (!g || !maps) {
      this.renderLegend();
      this.applyTransform();
      return;
    }
    const probPlane = this.classProbPlane();
    if (s.mode === 'classProb' && !probPlane) this.ensureClassMaps();
    const dKey = [s.mode, s.scale, s.clip, s.mode === 'classLoss' ? s.classFilter : '-'].join('|');
    if (dKey !== this.domainKey) {
      this.domain = modeDomain(maps, { mode: s.mode, scale: s.scale, clip: s.clip, classFilter: s.classFilter });
      this.domainKey = dKey;
    }
    const rKey = [dKey, s.colormap, s.classFilter, s.showIgnored, s.slice, s.probClass, probPlane ? 'p' : '-', this.coloursKey].join('|');
    let fresh = false;
    if (rKey !== this.rasterKey) {
      this.rgba = rasterize(maps, g, s.slice, {
        mode: s.mode, colormap: s.colormap, classFilter: s.classFilter, showIgnored: s.showIgnored, domain: this.domain, classProb: probPlane,
        classColours: this.colours,
      }, this.rgba ?? undefined);
      this.rasterKey = rKey;
      fresh = true;
    }
    const photo = this.photoFor(g);
    const sKey = [rKey, photo ? `${this.imageSeq}` : '-', photo ? s.overlayOpacity : '-', s.contours].join('|');
    if (fresh || sKey !== this.shownKey) {
      this.shownKey = sKey;
      this.shown = this.compose(g, photo);
      this.paint(g);
    }
    this.renderLegend();
    this.applyTransform();
    if (this.hoverCell) this.renderTooltip();
  }

  /** The heatmap over the photo (opacity from the slider), with contours when asked; O(pixels). */
  private compose(g: Geometry, photo: Photo | null): Uint8ClampedArray | null {
    const rgba = this.rgba;
    const maps = this.mapArrays;
    if (!rgba || !maps) return rgba;
    if (!photo && !this.state.contours) return rgba;
    const out = photo ? composite(photo.rgba, rgba, this.state.overlayOpacity, this.shown !== rgba ? this.shown ?? undefined : undefined) : Uint8ClampedArray.from(rgba);
    if (this.state.contours) drawContours(out, contours(maps.target, maps.predicted, g.width, g.height, this.state.slice * g.count, g.count));
    return out;
  }

  /** The overlay image's pixels at the map's size (drawn scaled on a scratch canvas), or null. */
  private photoFor(g: Geometry): Photo | null {
    const b = this.bitmap;
    if (!b || g.wrapped) {
      this.overlay.el.hidden = g.wrapped;
      return null;
    }
    this.overlay.el.hidden = false;
    if (this.photo && this.photo.width === g.width && this.photo.height === g.height) return this.photo;
    this.photo = null;
    try {
      const cv = this.root.ownerDocument.createElement('canvas');
      cv.width = g.width;
      cv.height = g.height;
      const ctx = cv.getContext('2d');
      if (!ctx) return null;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(b.source, 0, 0, g.width, g.height);
      const data = ctx.getImageData(0, 0, g.width, g.height);
      this.photo = { rgba: data.data, width: g.width, height: g.height, name: b.name };
    } catch {
      return null;
    }
    const scaled = b.width !== g.width || b.height !== g.height;
    this.overlay.setPhoto(b.name, scaled ? `${b.width}×${b.height} scaled to the map's ${g.width}×${g.height}` : '');
    return this.photo;
  }

  /** A photo from the host: decoded by the page itself (createImageBitmap), never by a URL. */
  private async setImage(img: OverlayImage | null): Promise<void> {
    const seq = ++this.imageSeq;
    this.photo = null;
    this.bitmap = null;
    if (!img) {
      this.overlay.setPhoto(null);
      this.render();
      return;
    }
    const w = this.win;
    if (!w || typeof w.createImageBitmap !== 'function' || typeof w.Blob !== 'function') {
      this.overlay.setPhoto(null, `${img.name}: this page cannot decode images`);
      return;
    }
    try {
      const bytes = img.bytes instanceof Uint8Array ? img.bytes : Uint8Array.from(img.bytes as ArrayLike<number>);
      const bmp = await w.createImageBitmap(new w.Blob([bytes as Uint8Array<ArrayBuffer>], { type: img.mime }));
      if (seq !== this.imageSeq || this.disposed) return;
      this.bitmap = { source: bmp, width: bmp.width, height: bmp.height, name: img.name };
      this.overlay.setPhoto(img.name);
    } catch (e) {
      if (seq !== this.imageSeq) return;
      this.overlay.setPhoto(null, `${img.name} could not be decoded (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    this.render();
  }

  private paint(g: Geometry): void {
    const rgba = this.shown ?? this.rgba;
    if (!rgba) return;
    if (this.canvas.width !== g.width || this.canvas.height !== g.height) {
      this.canvas.width = g.width;
      this.canvas.height = g.height;
    }
    const ctx = safeContext(this.canvas);
    const ImageDataCtor = this.win?.ImageData;
    if (!ctx || !ImageDataCtor) return; // no canvas support (a DOM without one): the rest still works
    ctx.imageSmoothingEnabled = false;
    ctx.putImageData(new ImageDataCtor(rgba as Uint8ClampedArray<ArrayBuffer>, g.width, g.height), 0, 0);
  }

  private classProbPlane(): Float32Array | null {
    const cm = this.classMaps;
    const c = this.state.probClass;
    const g = this.geometry;
    if (!cm || c === null || !g || !this.maps || cm.n !== this.maps.n) return null;
    const S = g.count * g.slices;
    if (cm.probs.length < (c + 1) * S) return null;
    return cm.probs.subarray(c * S, (c + 1) * S);
  }

  private ensureClassMaps(): void {
    if (!this.summary || !this.maps) return;
    if (!this.wantClassMaps) {
      this.wantClassMaps = true;
      this.post({ type: 'requestClassMaps', n: this.maps.n });
      this.renderMultiples();
    }
  }

  private renderLegend(): void {
    const h = this.h;
    const s = this.state;
    clear(this.legendEl);
    const maps = this.mapArrays;
    if (!maps || !this.geometry) return;
    const g = this.geometry;
    const swatch = (rgba: readonly number[], label: string, cls = ''): HTMLElement => {
      const sw = h('span', { class: `cel-swatch ${cls}`, 'aria-hidden': 'true' });
      if (rgba[3] > 0) sw.style.backgroundColor = `rgb(${rgba[0]}, ${rgba[1]}, ${rgba[2]})`;
      return h('span', { class: 'cel-legend-item' }, sw, label);
    };
    const extras: HTMLElement[] = [];
    const base = s.slice * g.count;
    let anyIgnored = false;
    for (let i = base; i < base + g.count; i++) if (maps.ignored[i]) { anyIgnored = true; break; }
    if (s.showIgnored && anyIgnored) extras.push(swatch(COLORS.ignoredLight, 'ignored', 'cel-swatch-ignored'));
    if (s.classFilter !== null && s.mode !== 'classProb' && this.summary) extras.push(swatch(COLORS.masked, `not class ${classLabel(this.summary.classNames, s.classFilter)}`, 'cel-swatch-masked'));
    if (s.contours) extras.push(swatch(CONTOUR_TARGET, 'target boundary'), swatch(CONTOUR_PREDICTED, 'predicted boundary'), swatch(CONTOUR_BOTH, 'both'));

    if (isContinuousMode(s.mode)) {
      const d = this.domain;
      if (s.mode === 'pTarget' && !maps.pTarget) {
        append(this.legendEl, h('span', { class: 'cel-dim', text: 'p(target) exists for class-index targets only.' }));
        return;
      }
      if (s.mode === 'classProb' && !this.classProbPlane()) {
        append(this.legendEl, h('span', { class: 'cel-dim', text: this.state.probClass === null ? 'Pick a class (above, or in the grid below).' : 'Loading class probabilities…' }));
        return;
      }
      if (!d) return;
      const bar = h('div', { class: 'cel-legend-bar', role: 'img', 'aria-label': `${s.colormap} colour scale from ${fmt6(d.min)} to ${fmt6(d.max)}` });
      bar.style.backgroundImage = gradientCss(s.colormap);
      const clipped = !d.fixed && (d.max < d.dataMax || d.posInfCount > 0);
      const ticks = h('div', { class: 'cel-legend-ticks' },
        h('span', { text: d.finiteCount ? fmt6(d.min) : '-' }),
        h('span', { text: d.finiteCount ? fmt6(valueAt(0.5, d)) : '' }),
        h('span', { text: d.finiteCount ? `${clipped ? '≥ ' : ''}${fmt6(d.max)}` : '-' }));
      const what = s.mode === 'pTarget' ? 'p(target)' : s.mode === 'classProb' ? `p(class ${this.summary ? classLabel(this.summary.classNames, s.probClass ?? 0) : ''})` : s.mode === 'classLoss' && s.classFilter !== null ? 'loss within the class' : 'loss';
      const notes: string[] = [what];
      if (!d.fixed) {
        if (d.scale === 'log') notes.push('log scale (positive values)');
        if (s.clip < 100) notes.push(`clipped at p${s.clip} (max ${fmt6(d.dataMax)})`);
        if (d.posInfCount) notes.push(`${d.posInfCount} +inf at the top`);
      }
      if (d.nanCount) extras.unshift(swatch(NAN_RGBA, `NaN (${d.nanCount})`));
      append(this.legendEl,
        h('div', { class: 'cel-legend-scale' }, bar, ticks),
        h('div', { class: 'cel-legend-notes' }, h('span', { class: 'cel-dim', text: notes.join(' · ') }), ...extras));
      return;
    }
    if (s.mode === 'error') {
      append(this.legendEl, h('div', { class: 'cel-legend-notes' }, swatch(COLORS.correct, 'correct'), swatch(COLORS.wrong, 'wrong'), ...extras));
      return;
    }
    // Categorical: the classes present in this slice.
    // Categorical: the classes present in this slice, most frequent first.
    const arr = s.mode === 'predicted' ? maps.predicted : maps.target;
    const present = presentClasses(arr, base, g.count, 40, s.mode === 'target' && s.showIgnored ? maps.ignored : null);
    const names = this.summary?.classNames ?? [];
    const items = present.classes.map((c) => swatch([...colourOf(this.colours, c), 255], classLabel(names, c)));
    append(this.legendEl, h('div', { class: 'cel-legend-notes cel-class-legend', 'data-testid': 'class-legend' },
      ...items, present.more > 0 ? h('span', { class: 'cel-dim', text: `… ${present.more} more` }) : null, ...extras));
  }

  // ---------------------------------------------------------------------------------------------------
  // Hover, tooltip, selection, explanation.

  private cellAt(clientX: number, clientY: number): { i: number; sx: number; sy: number } | null {
    const g = this.geometry;
    if (!g || !this.maps || this.loadingSample !== null) return null;
    const rect = this.viewport.getBoundingClientRect();
    const sx = clientX - rect.left;
    const sy = clientY - rect.top;
    const cell = screenToCell(sx, sy, this.transform, this.viewSize(), g);
    if (!cell) return null;
    const i = cellToIndex(cell.x, cell.y, g.width, g.count);
    return i === null ? null : { i, sx, sy };
  }

  /** Where an element of the current slice sits for the host: [n, index within the sample map]. */
  private elementRef(i: number): { n: number; index: number[] } | null {
    const g = this.geometry;
    if (!g || !this.maps) return null;
    if (g.wrapped && this.maps.n < 0) return { n: -1, index: [i] };
    return { n: this.maps.n, index: multiIndex(g, this.state.slice, i) };
  }

  private hoverAt(cell: { i: number; sx: number; sy: number } | null): void {
    if (!cell) return this.hideTooltip();
    const ref = this.elementRef(cell.i);
    if (!ref) return this.hideTooltip();
    this.hoverCell = cell;
    const key = detailKey(ref.n, ref.index);
    const changed = key !== this.hoverKey;
    this.hoverKey = key;
    if (changed || this.tooltip.hidden) this.renderTooltip();
    this.positionTooltip(cell.sx, cell.sy);
    if (changed && this.canExplain()) this.scheduleExplain(ref.n, ref.index, key);
  }

  private scheduleExplain(n: number, index: number[], key: string): void {
    if (this.explainTimer !== null) this.timers.clearTimeout(this.explainTimer);
    this.explainTimer = null;
    if (this.details.has(key) || this.lastPostedExplain === key) return;
    this.explainTimer = this.timers.setTimeout(() => {
      this.explainTimer = null;
      if (this.hoverKey !== key || this.details.has(key)) return;
      this.lastPostedExplain = key;
      this.post({ type: 'explain', n, index });
    }, EXPLAIN_DEBOUNCE_MS);
  }

  private hideTooltip(): void {
    this.hoverCell = null;
    this.hoverKey = null;
    this.tooltip.hidden = true;
    if (this.explainTimer !== null) this.timers.clearTimeout(this.explainTimer);
    this.explainTimer = null;
  }

  /** Plain-text lines describing element i of the current slice. */
  private cellLines(i: number): string[] {
    const maps = this.mapArrays;
    const g = this.geometry;
    const s = this.summary;
    if (!maps || !g || !s || !this.maps) return [];
    const k = this.state.slice * g.count + i;
    const names = s.classNames;
    const ref = this.elementRef(i);
    const lines: string[] = [];
    if (ref) {
      const axes = g.wrapped ? (ref.n >= 0 ? ['n', 'i'] : ['n']) : ['n', ...(g.shape.length === 3 ? ['z'] : g.shape.slice(0, -2).map((_, a) => `d${a}`)), 'y', 'x'];
      const idx = ref.n >= 0 ? [ref.n, ...ref.index] : ref.index;
      lines.push(`(${axes.join(', ')}) = (${idx.join(', ')})`);
    }
    const ignored = maps.ignored[k] !== 0;
    const tLabel = s.targetKind === 'probs' ? `target argmax ${classLabel(names, maps.target[k])}` : `target ${classLabel(names, maps.target[k])}`;
    lines.push(ignored ? `${tLabel} (ignored)` : tLabel);
    lines.push(`predicted ${classLabel(names, maps.predicted[k])}`);
    lines.push(`loss ${fmt6(maps.loss[k])}`);
    if (maps.pTarget && !ignored) lines.push(`p(target) ${fmt6(maps.pTarget[k])}`);
    if (this.state.mode === 'classProb') {
      const plane = this.classProbPlane();
      if (plane && this.state.probClass !== null) lines.push(`p(${className(names, this.state.probClass)}) ${fmt6(plane[k])}`);
    }
    return lines;
  }

  private renderTooltip(): void {
    const cell = this.hoverCell;
    if (!cell) return;
    const h = this.h;
    clear(this.tooltip);
    const lines = this.cellLines(cell.i);
    lines.forEach((l, j) => this.tooltip.appendChild(h('div', { class: j === 0 ? 'cel-tip-head' : '', text: l })));
    const d = this.hoverKey ? this.details.get(this.hoverKey) : undefined;
    if (d && d.top.length) {
      const names = this.summary?.classNames ?? [];
      const tbl = h('table', { class: 'cel-tip-top' },
        h('thead', {}, h('tr', {}, h('th', { text: 'top class' }), h('th', { text: 'input' }), h('th', { text: 'p' }))),
        h('tbody', {}, ...d.top.map((t) => h('tr', {}, h('td', { text: classLabel(names, t.cls) }), h('td', { text: fmt6(t.input) }), h('td', { text: fmt6(t.prob) })))));
      this.tooltip.appendChild(tbl);
    } else if (this.hoverKey && this.canExplain()) {
      this.tooltip.appendChild(h('div', { class: 'cel-dim', text: 'top classes…' }));
    }
    if (this.canExplain()) this.tooltip.appendChild(h('div', { class: 'cel-dim cel-tip-hint', text: 'Click (or Enter) for the step-by-step breakdown' }));
    this.tooltip.hidden = false;
  }

  private positionTooltip(sx: number, sy: number): void {
    const view = this.viewSize();
    const tw = this.tooltip.offsetWidth || 220;
    const th = this.tooltip.offsetHeight || 120;
    let x = sx + 16;
    let y = sy + 16;
    if (x + tw > view.width) x = Math.max(0, sx - tw - 12);
    if (y + th > view.height) y = Math.max(0, sy - th - 12);
    this.tooltip.style.left = `${x}px`;
    this.tooltip.style.top = `${y}px`;
  }

  /** Show the info of element i for keyboard or worst-list selection (tooltip at the cell, live text). */
  private showCellInfo(i: number, announce: boolean): void {
    const g = this.geometry;
    if (!g) return;
    this.placeMarker();
    const lines = this.cellLines(i);
    if (announce) this.statusEl.textContent = lines.join('; ');
    if (!this.maps) return;
    const view = this.viewSize();
    const x = i % g.width;
    const y = Math.floor(i / g.width);
    const p = mapToScreen(x + 1, y + 1, this.transform, view, g);
    this.hoverAt({ i, sx: Math.min(view.width, Math.max(0, p.x)), sy: Math.min(view.height, Math.max(0, p.y)) });
  }

  /** The kernel explains cross-entropy elements only. */
  private canExplain(): boolean {
    return !!this.summary && this.summary.options.loss !== 'bce';
  }

  private openExplain(n: number, index: number[]): void {
    if (!this.canExplain()) {
      this.showNote('The step-by-step breakdown covers cross-entropy only.');
      return;
    }
    const key = detailKey(n, index);
    this.explainKey = key;
    this.explainEl.hidden = false;
    clear(this.explainEl);
    append(this.explainEl, this.h('p', { class: 'cel-dim', text: `Explaining element ${fmtIndex(n, index)}…` }));
    if (this.details.has(key)) this.renderExplain();
    else {
      this.lastPostedExplain = key;
      this.post({ type: 'explain', n, index });
      if (this.explainTimeout !== null) this.timers.clearTimeout(this.explainTimeout);
      this.explainTimeout = this.timers.setTimeout(() => {
        this.explainTimeout = null;
        if (this.disposed || this.explainKey !== key || this.details.has(key)) return;
        clear(this.explainEl);
        append(this.explainEl, this.h('p', { class: 'cel-dim', text: `No breakdown came back for element ${fmtIndex(n, index)}.` }));
      }, EXPLAIN_TIMEOUT_MS);
    }
  }

  private renderExplain(): void {
    const s = this.summary;
    const d = this.explainKey ? this.details.get(this.explainKey) : undefined;
    if (!s || !d) return;
    const h = this.h;
    const b = buildBreakdown(d, s);
    clear(this.explainEl);
    const close = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Close the breakdown', title: 'Close', text: '✕' });
    close.addEventListener('click', () => {
      this.explainEl.hidden = true;
      this.explainKey = null;
      this.viewport.focus({ preventScroll: true });
    });
    const cols = b.columns;
    const rowCells = (r: (typeof b.rows)[number]): string[] => {
      const cells = [r.label + (r.isTarget ? '  ← target' : '') + (r.isPredicted && !r.isTarget ? '  ← predicted' : ''), fmt6(r.input)];
      if (r.shifted !== null || r.exp !== null) cells.push(fmt6(r.shifted), fmt6(r.exp));
      cells.push(fmt6(r.prob), fmt6(r.logProb));
      if (cols.includes('target q')) cells.push(fmt6(r.q));
      if (cols.includes('weight')) cells.push(fmt6(r.weight));
      return cells;
    };
    const table = h('table', { class: 'cel-explain-table' },
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, ...b.rows.map((r) => h('tr', { class: r.isTarget ? 'cel-target-row' : '' }, ...rowCells(r).map((c, j) => (j === 0 ? h('th', { scope: 'row', text: c }) : h('td', { text: c })))))));
    const steps = h('ol', { class: 'cel-steps' }, ...b.steps.map((st) => h('li', {}, h('span', { class: 'cel-step-label', text: st.label }), h('code', { text: st.formula }))));
    append(this.explainEl,
      h('div', { class: 'cel-explain-head' }, h('h3', { text: `Step by step: ${b.heading}` }), close),
      h('div', { class: 'cel-table-wrap' }, table),
      b.hidden > 0 ? h('p', { class: 'cel-dim', text: `${b.hidden} more classes are left out of the table; the sums above run over all ${b.rows.length + b.hidden}.` }) : null,
      steps);
  }

  private selectPixel(i: number, announce: boolean): void {
    this.update({ pixel: i });
    const g = this.geometry;
    if (g) {
      const t = ensureVisible(this.transform, i % g.width, Math.floor(i / g.width), this.viewSize(), g);
      if (t !== this.transform) this.setTransform(t);
    }
    this.showCellInfo(i, announce);
  }

  private explainPixel(i: number): void {
    const ref = this.elementRef(i);
    if (ref) this.openExplain(ref.n, ref.index);
  }

  // ---------------------------------------------------------------------------------------------------
  // Small multiples.

  private renderProbClassOptions(): void {
    const s = this.summary;
    clear(this.probClassSelect);
    if (!s) return;
    const C = s.perClass.length;
    // A menu of every class is O(C) elements (and slow to build at vocabulary scale): above the limit the
    // class is typed in, by index or name.
    const menu = C <= PROB_CLASS_MENU_LIMIT;
    this.probClassSelect.hidden = !menu;
    this.probClassInput.hidden = menu;
    if (!menu) {
      this.syncProbClassInput();
      return;
    }
    this.probClassName.hidden = true;
    for (let c = 0; c < C; c++) this.probClassSelect.appendChild(this.h('option', { value: String(c), text: classLabel(s.classNames, c) }));
    if (this.state.probClass !== null) this.probClassSelect.value = String(this.state.probClass);
  }

  /** The typed class input shows the chosen class (index, and its name beside it). */
  private syncProbClassInput(): void {
    const s = this.summary;
    if (!s || this.probClassInput.hidden) return;
    const c = this.state.probClass;
    if (this.root.ownerDocument.activeElement !== this.probClassInput) this.probClassInput.value = c === null ? '' : String(c);
    this.probClassInput.removeAttribute('aria-invalid');
    const name = c === null ? '' : className(s.classNames, c);
    this.probClassName.hidden = c === null || name === String(c);
    this.probClassName.textContent = name;
  }

  /** A class by index, else by name (exact, then case-insensitive, then the first name containing the text); O(C). */
  private findClass(text: string): number | null {
    const s = this.summary;
    if (!s) return null;
    const C = s.perClass.length;
    const q = text.trim();
    if (q === '') return null;
    if (/^\d+$/.test(q)) {
      const c = Number(q);
      return c < C ? c : null;
    }
    const names = s.classNames;
    const n = Math.min(C, names.length);
    for (let c = 0; c < n; c++) if (names[c] === q) return c;
    const lower = q.toLowerCase();
    for (let c = 0; c < n; c++) if (names[c].toLowerCase() === lower) return c;
    for (let c = 0; c < n; c++) if (names[c].toLowerCase().includes(lower)) return c;
    return null;
  }

  // ---------------------------------------------------------------------------------------------------
  // Token view.

  /** Shows or hides the token view for the current result (fresh: a new summary to give it). */
  private syncTokenView(fresh: boolean): void {
    const s = this.summary;
    const capable = !!s && tokenViewCapable(s);
    const mode = this.state.tokenView;
    const on = !!s && capable && (mode === 'on' || (mode === 'auto' && tokenViewAuto(s)));
    this.tokenToggleGroup.hidden = !capable;
    this.tokenToggle.checked = on;
    const was = this.tokensOn;
    this.tokensOn = on;
    this.tokenView.el.hidden = !on;
    if (s && on && (fresh || !was)) {
      this.tokenView.update(s);
      if (this.maps) this.tokenView.setSequence(this.maps);
    }
  }

  private renderMultiples(): void {
    const h = this.h;
    clear(this.multiplesGrid);
    const s = this.summary;
    const cm = this.classMaps;
    const g = this.geometry;
    this.multiplesButton.hidden = this.wantClassMaps;
    this.multiplesNote.hidden = true;
    if (!s) return;
    if (!cm || !g || !this.maps || cm.n !== this.maps.n) {
      if (this.wantClassMaps) {
        this.multiplesNote.hidden = false;
        this.multiplesNote.textContent = 'Loading class probabilities…';
      }
      return;
    }
    const S = g.count * g.slices;
    const C = Math.min(Math.floor(cm.probs.length / S), s.perClass.length || Infinity);
    const shown = Math.min(C, MAX_THUMBS);
    if (C > shown) {
      this.multiplesNote.hidden = false;
      this.multiplesNote.textContent = `Showing the first ${shown} of ${C} classes; pick others with the Class menu in "p(class c)" mode.`;
    }
    for (let c = 0; c < shown; c++) {
      const plane = cm.probs.subarray(c * S, (c + 1) * S);
      const small = probabilityThumbnail(plane, g, this.state.slice, this.state.colormap, THUMB_SIDE);
      const cv = h('canvas', { class: 'cel-thumb', width: small.width, height: small.height, 'aria-hidden': 'true' });
      const ctx = safeContext(cv);
      const ImageDataCtor = this.win?.ImageData;
      if (ctx && ImageDataCtor) ctx.putImageData(new ImageDataCtor(small.rgba as Uint8ClampedArray<ArrayBuffer>, small.width, small.height), 0, 0);
      const label = classLabel(s.classNames, c);
      const btn = h('button', { type: 'button', class: 'cel-thumb-btn' + (this.state.mode === 'classProb' && this.state.probClass === c ? ' cel-selected' : ''), 'aria-label': `Show the probability of class ${label} in the main view` },
        cv, h('span', { class: 'cel-thumb-label', text: label }));
      btn.addEventListener('click', () => {
        this.update({ mode: 'classProb', probClass: c });
        this.render();
        this.renderMultiples();
        this.viewport.scrollIntoView?.({ block: 'nearest' });
      });
      this.multiplesGrid.appendChild(btn);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Wiring.

  private listen<K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, fn: (e: HTMLElementEventMap[K]) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, fn as EventListener, options);
    this.cleanups.push(() => target.removeEventListener(type, fn as EventListener, options));
  }

  /** Shows sample n (heatmap toolbar, token view sequence choice). */
  private goSample(n: number): void {
    const s = this.summary;
    if (!s || s.lossShape.length < 2) return;
    const N = s.lossShape[0];
    const m = Math.min(N - 1, Math.max(0, Math.round(n)));
    if (!Number.isFinite(m)) return;
    this.sampleInput.value = String(m);
    if (m === this.state.n && this.maps?.n === m) return;
    this.update({ n: m, pixel: null });
    this.classMaps = null;
    this.hideTooltip();
    this.syncControls();
    this.requestSample(m);
    this.renderMultiples();
  }

  private wireControls(zoomOut: HTMLButtonElement, zoomFit: HTMLButtonElement, zoomIn: HTMLButtonElement): void {
    this.sampleInput.addEventListener('change', () => this.goSample(Number(this.sampleInput.value)));
    this.slicePrev.addEventListener('click', () => this.goSample(this.state.n - 1));
    this.sampleNext.addEventListener('click', () => this.goSample(this.state.n + 1));
    this.sliceInput.addEventListener('input', () => {
      this.update({ slice: Number(this.sliceInput.value) });
      this.render();
      this.renderMultiples();
    });
    this.modeSelect.addEventListener('change', () => {
      const mode = this.modeSelect.value as ViewMode;
      const patch: Patch = { mode };
      if (mode === 'classProb' && this.state.probClass === null) patch.probClass = this.state.classFilter ?? 0;
      this.update(patch);
      this.render();
      this.renderMultiples();
    });
    this.probClassSelect.addEventListener('change', () => {
      this.update({ probClass: Number(this.probClassSelect.value) });
      this.render();
      this.renderMultiples();
    });
    this.tokenToggle.addEventListener('change', () => {
      this.update({ tokenView: this.tokenToggle.checked ? 'on' : 'off' });
      this.syncTokenView(false);
    });
    this.probClassInput.addEventListener('change', () => {
      const c = this.findClass(this.probClassInput.value);
      if (c === null) {
        this.probClassInput.setAttribute('aria-invalid', 'true');
        this.probClassName.hidden = false;
        this.probClassName.textContent = 'no such class';
        return;
      }
      this.probClassInput.removeAttribute('aria-invalid');
      this.update({ probClass: c });
      this.syncProbClassInput();
      this.render();
      this.renderMultiples();
    });
    this.colormapSelect.addEventListener('change', () => {
      this.update({ colormap: this.colormapSelect.value as ColormapName });
      this.tokenView.setColormap(this.state.colormap);
      this.render();
      this.renderMultiples();
    });
    this.scaleSelect.addEventListener('change', () => {
      this.update({ scale: this.scaleSelect.value as Scale });
      this.render();
    });
    this.clipSelect.addEventListener('change', () => {
      this.update({ clip: Number(this.clipSelect.value) });
      this.render();
    });
    this.ignoredToggle.addEventListener('change', () => {
      this.update({ showIgnored: this.ignoredToggle.checked });
      this.render();
    });
    this.filterChip.addEventListener('click', () => {
      if (this.state.classFilter !== null) this.toggleClassFilter(this.state.classFilter);
      this.viewport.focus({ preventScroll: true });
    });
    const zoomBy = (f: number): void => {
      const g = this.geometry;
      if (!g) return;
      const view = this.viewSize();
      this.setTransform(zoomAt(this.transform, f, view.width / 2, view.height / 2, view, g));
    };
    zoomOut.addEventListener('click', () => zoomBy(1 / 1.5));
    zoomIn.addEventListener('click', () => zoomBy(1.5));
    zoomFit.addEventListener('click', () => {
      if (this.geometry) this.setTransform(centred(this.geometry));
    });
    this.pngButton.addEventListener('click', () => {
      if (!this.geometry || !this.maps) return;
      const data = safeDataUrl(this.canvas);
      if (data) this.post({ type: 'export', kind: 'png', data });
      else this.showNote('This page cannot encode PNG images.');
    });
    this.csvButton.addEventListener('click', () => {
      const s = this.summary;
      if (!s) return;
      this.post({ type: 'export', kind: 'csv', data: this.classTable.csv() });
    });
    this.npyButton.addEventListener('click', () => this.post({ type: 'export', kind: 'npy' }));
    this.multiplesButton.addEventListener('click', () => {
      if (!this.maps) return;
      this.wantClassMaps = true;
      this.post({ type: 'requestClassMaps', n: this.maps.n });
      this.renderMultiples();
    });

    // Pointer: hover, drag to pan, click to explain, wheel to zoom.
    const vp = this.viewport;
    this.listen(vp, 'pointerdown', (e) => {
      if (e.button !== 0 || !this.geometry) return;
      this.drag = { x: e.clientX, y: e.clientY, moved: false, id: e.pointerId };
      try {
        vp.setPointerCapture(e.pointerId);
      } catch {
        // Not supported: dragging still works while the pointer stays inside.
      }
    });
    this.listen(vp, 'pointermove', (e) => {
      const d = this.drag;
      if (d && this.geometry) {
        const dx = e.clientX - d.x;
        const dy = e.clientY - d.y;
        if (d.moved || Math.abs(dx) + Math.abs(dy) > 3) {
          d.moved = true;
          d.x = e.clientX;
          d.y = e.clientY;
          vp.classList.add('cel-dragging');
          this.hideTooltip();
          this.setTransform(panBy(this.transform, dx, dy, this.viewSize(), this.geometry));
          return;
        }
      }
      this.hoverAt(this.cellAt(e.clientX, e.clientY));
    });
    const endDrag = (e: PointerEvent): void => {
      const d = this.drag;
      this.drag = null;
      vp.classList.remove('cel-dragging');
      if (d && !d.moved && e.type === 'pointerup') {
        const cell = this.cellAt(e.clientX, e.clientY);
        if (cell) {
          this.update({ pixel: cell.i });
          this.placeMarker();
          this.explainPixel(cell.i);
        }
      }
    };
    this.listen(vp, 'pointerup', endDrag);
    this.listen(vp, 'pointercancel', endDrag);
    this.listen(vp, 'pointerleave', () => {
      if (!this.drag) this.hideTooltip();
    });
    this.listen(vp, 'wheel', (e) => {
      const g = this.geometry;
      if (!g) return;
      e.preventDefault();
      const rect = vp.getBoundingClientRect();
      const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      this.setTransform(zoomAt(this.transform, factor, e.clientX - rect.left, e.clientY - rect.top, this.viewSize(), g));
      this.hoverAt(this.cellAt(e.clientX, e.clientY));
    }, { passive: false });
    this.listen(vp, 'keydown', (e) => this.onKey(e));
    this.listen(vp, 'blur', () => {
      if (!this.drag) this.hideTooltip();
    });

    const onResize = (): void => this.layout();
    const RO = this.win?.ResizeObserver;
    if (RO) {
      this.resizeObserver = new RO(() => onResize());
      this.resizeObserver.observe(vp);
      this.resizeObserver.observe(this.root);
    } else if (this.win) {
      this.win.addEventListener('resize', onResize);
      this.cleanups.push(() => this.win?.removeEventListener('resize', onResize));
    }
  }

  private onKey(e: KeyboardEvent): void {
    const g = this.geometry;
    if (!g || !this.maps) return;
    const step = e.shiftKey ? 10 : 1;
    const cur = this.state.pixel ?? Math.min(g.count - 1, Math.floor(g.height / 2) * g.width + Math.floor(g.width / 2));
    let x = cur % g.width;
    let y = Math.floor(cur / g.width);
    const view = this.viewSize();
    switch (e.key) {
      case 'ArrowLeft': x = Math.max(0, x - step); break;
      case 'ArrowRight': x = Math.min(g.width - 1, x + step); break;
      case 'ArrowUp': y = Math.max(0, y - step); break;
      case 'ArrowDown': y = Math.min(g.height - 1, y + step); break;
      case 'Home': x = 0; break;
      case 'End': x = g.width - 1; break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.explainPixel(cur);
        return;
      case '+':
      case '=':
        e.preventDefault();
        this.setTransform(zoomAt(this.transform, 1.5, view.width / 2, view.height / 2, view, g));
        return;
      case '-':
      case '_':
        e.preventDefault();
        this.setTransform(zoomAt(this.transform, 1 / 1.5, view.width / 2, view.height / 2, view, g));
        return;
      case '0':
        e.preventDefault();
        this.setTransform(centred(g));
        return;
      case 'Escape':
        this.hideTooltip();
        return;
      default:
        return;
    }
    e.preventDefault();
    const i = cellToIndex(x, y, g.width, g.count) ?? g.count - 1;
    this.selectPixel(i, true);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function safeDataUrl(c: HTMLCanvasElement): string {
  try {
    const url = c.toDataURL('image/png');
    return typeof url === 'string' && url.startsWith('data:image/png') ? url : '';
  } catch {
    return '';
  }
}

function safeContext(c: HTMLCanvasElement): CanvasRenderingContext2D | null {
  try {
    return c.getContext('2d');
  } catch {
    return null;
  }
}
