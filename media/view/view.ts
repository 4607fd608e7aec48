// The loss view shared by the panel webview and the notebook renderer. Plain browser code: no VS Code
// API. It receives HostToView messages (summaries packed: src/summaryWire.ts), posts ViewToHost messages, and builds its DOM with
// createElement/textContent only (class names and file names are untrusted text). LossView composes one
// component per section (each file under media/view/ with its stylesheet beside it) over a shared ViewModel
// (model.ts) and the state store (state.ts), and routes messages and cross-section actions between them.
import type { ClassMaps, ConfidenceMaps, ElementDetail, ErrorFix, HostToViewWire, MapPreview, OverlayImage, SampleMaps, ViewHardPixels, ViewLabelIssues, PackedSummary, SampleRest, ViewSummary, ViewToHost } from '../../src/protocol';
import { mapLayout } from '../../src/mapLayout';
import { previewArrays } from '../../src/mapPreview';
import { unpackSummary } from '../../src/summaryWire';
import { ExportActions } from './actions';
import { Breakdown } from './analysis/breakdown';
import { ClassTable } from './tables/classTable';
import { append, builder, clear } from './dom';
import { fmtShape } from './format';
import { ConfidenceControls, confidenceLines } from './analysis/confidence';
import { ConfusionMatrix } from './tables/confusion';
import { HeatmapFilters } from './heatmap/filters';
import { labelIssueLines, LabelIssuesSection } from './analysis/labelIssues';
import { CompareSection, deltaLines } from './analysis/compare';
import { RunSlider } from './analysis/runSlider';
import { hardPixelLines, HardPixelsSection } from './runs/hardSection';
import { DebugSection } from './debugSection';
import type { Heatmap } from './heatmap/heatmap';
import { MapSection } from './heatmap/mapSection';
import { f32, i32, normalizeMaps, sameShape, ViewModel, type ViewContext } from './model';
import { ProbabilityMaps } from './analysis/multiples';
import { Notices } from './notices';
import { colourOf } from './heatmap/overlay';
import { geometryFor, isConfidenceMode, type ViewMode } from './render/raster';
import { SampleNavigator } from './heatmap/sampleNavigator';
import { DEFAULT_STATE, sanitizeState, Store, windowTimers, type ViewState } from './state';
import { SummaryHeader } from './summary';
import { tokenClassNames, tokenViewAuto, tokenViewCapable, TokenView } from './tokens/tokenView';
import { WorstList } from './tables/worst';

export type { ViewState } from './state';
export { PROB_CLASS_MENU_LIMIT } from './heatmap/heatmapControls';

export interface ViewOptions {
  /** Notebook output: smaller heatmap, an "Open in panel" button. */
  readonly compact?: boolean;
  /** False where no extension host can save files or open panels (a notebook page without messaging). */
  readonly hostActions?: boolean;
  readonly initialState?: ViewState;
  readonly onStateChange?: (s: ViewState) => void;
}

export interface ViewHandle {
  receive(msg: HostToViewWire): void;
  dispose(): void;
}

export function createView(root: HTMLElement, post: (msg: ViewToHost) => void, opts: ViewOptions = {}): ViewHandle {
  const view = new LossView(root, post, opts);
  return { receive: (msg) => view.receive(msg), dispose: () => view.dispose() };
}

class LossView {
  private readonly ctx: ViewContext;
  private readonly model = new ViewModel();
  private readonly notices: Notices;
  /** From a debug session (origin, explanation, stops): above the summary and the error, whichever shows. */
  private readonly debug: DebugSection;
  private readonly header: SummaryHeader;
  private readonly resultsEl: HTMLElement;
  private readonly map: MapSection;
  private readonly heatmap: Heatmap;
  private readonly actions: ExportActions;
  private readonly filters: HeatmapFilters;
  private readonly breakdown: Breakdown;
  private readonly classTable: ClassTable;
  private readonly worst: WorstList;
  private readonly multiples: ProbabilityMaps;
  private readonly confidence: ConfidenceControls;
  private readonly confusion: ConfusionMatrix;
  private readonly compare: CompareSection;
  private readonly runSlider: RunSlider;
  private readonly tokenView: TokenView;
  private readonly nav: SampleNavigator;
  private readonly issues: LabelIssuesSection;
  private readonly hard: HardPixelsSection;
  /** The token view is shown for the current result. */
  private tokensOn = false;
  private disposed = false;
  /**
   * Maps that came before the first summary: the host sends sample 0's as soon as they exist, while the
   * rest of the batch computes, and they are painted when the summary they belong to arrives.
   */
  private early: SampleMaps | null = null;
  /** Sample 0's early maps are on the canvas, the summary not yet here (see preview). */
  private previewing = false;

  constructor(private readonly root: HTMLElement, post: (msg: ViewToHost) => void, opts: ViewOptions) {
    const doc = root.ownerDocument;
    const h = builder(doc);
    const win = (doc.defaultView as (Window & typeof globalThis) | null) ?? null;
    const timers = windowTimers(win);
    const store = new Store(sanitizeState(opts.initialState ?? null, DEFAULT_STATE), timers, opts.onStateChange);
    const ctx: ViewContext = { h, root, win, timers, post, store, compact: !!opts.compact, hostActions: opts.hostActions !== false };
    this.ctx = ctx;
    const model = this.model;

    clear(root);
    root.classList.add('cel-root');
    if (opts.compact) root.classList.add('cel-compact');

    this.notices = new Notices(h);
    this.debug = new DebugSection(h, post);
    this.header = new SummaryHeader(h, {
      submit: (options, weight) => {
        this.resultsEl.classList.add('cel-stale');
        post(weight === undefined ? { type: 'setOptions', options } : { type: 'setOptions', options, weight });
      },
    });
    this.breakdown = new Breakdown(ctx, model, {
      closed: () => this.heatmap.viewport.focus({ preventScroll: true }),
      note: (text) => this.notices.note(text),
    });
    this.confidence = new ConfidenceControls(ctx, model, () => this.heatmap.render());
    // Class table and bars (media/view/tables/classTable.ts).
    this.classTable = new ClassTable(h, {
      pick: (c) => this.filters.toggleClass(c),
      change: (patch) => store.update(patch),
    }, { sort: store.state.sort, bars: store.state.bars });
    this.filters = new HeatmapFilters(ctx, model, this.classTable, (scroll) => {
      this.heatmap.render();
      if (scroll) this.heatmap.viewport.scrollIntoView?.({ block: 'nearest' });
    });
    this.issues = new LabelIssuesSection(ctx, model, {
      pair: (pair) => {
        if (this.state.mode !== 'labelIssues') this.update({ mode: 'labelIssues' });
        this.filters.setPair(pair);
        this.map.sync();
      },
    });
    this.hard = new HardPixelsSection(ctx, model);
    this.map = new MapSection(ctx, model, this.breakdown, {
      goSample: (n) => this.nav.goSample(n),
      redraw: (multiples) => this.redraw(multiples),
      colormap: (name) => {
        this.tokenView.setColormap(name);
        this.redraw(true);
        this.confusion.render();
      },
      tokenView: () => this.syncTokenView(false),
      clearFilter: () => {
        const c = store.state.classFilter;
        if (c !== null) this.filters.toggleClass(c);
        this.heatmap.viewport.focus({ preventScroll: true });
      },
      explain: (i) => this.explainPixel(i),
      needClassMaps: () => this.multiples.ensure(),
      modeAvailable: (m) => this.modeAvailable(m),
      explainSingle: () => this.breakdown.open(-1, [0]),
    }, [this.confidence, this.filters.line, this.issues, this.hard]);
    this.heatmap = this.map.heatmap;
    this.heatmap.tooltip.addLines((k, detail) => confidenceLines(model, k, detail));
    this.heatmap.tooltip.addLines((k) => deltaLines(model, k));
    this.heatmap.tooltip.addLines((k) => labelIssueLines(model, k));
    this.heatmap.tooltip.addLines((k) => hardPixelLines(model, k));

    this.actions = new ExportActions(ctx, {
      heatmap: () => (model.geometry && model.maps ? this.heatmap.canvas : null),
      csv: () => (model.summary ? this.classTable.csv() : null),
      note: (text) => this.notices.note(text),
    });
    this.worst = new WorstList(h, (index) => this.nav.goToElement(index));
    this.confusion = new ConfusionMatrix(ctx, model, (pair) => this.filters.setPair(pair));
    this.compare = new CompareSection(ctx, model);
    this.runSlider = new RunSlider(h, post);
    this.multiples = new ProbabilityMaps(ctx, model, (c) => {
      store.update({ mode: 'classProb', probClass: c });
      this.redraw(true);
      this.heatmap.viewport.scrollIntoView?.({ block: 'nearest' });
    });
    this.nav = new SampleNavigator(ctx, model, this.map, this.multiples);
    // Token view (media/view/tokens/tokenView.ts), above the heatmap when shown.
    this.tokenView = new TokenView(h, {
      selectSequence: (n) => this.nav.goSample(n),
      requestDetails: (row) => post({ type: 'tokenDetails', row }),
    }, timers, store.state.colormap);

    this.resultsEl = h('div', { class: 'cel-results', hidden: true },
      this.tokenView.el, this.map.el, this.actions.el, this.breakdown.el, this.compare.el,
      h('div', { class: 'cel-columns' }, this.classTable.el, this.worst.el),
      this.confusion.el, this.multiples.el);

    const n = this.notices;
    append(root, n.progressEl, n.noteEl, this.debug.el, n.waitingEl, this.header.el, this.runSlider.el, n.errorEl, this.resultsEl);
    this.map.sync();
  }

  // ---------------------------------------------------------------------------------------------------
  // Messages.

  receive(msg: HostToViewWire): void {
    if (this.disposed || !msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'progress': return this.notices.progress(msg.fraction, msg.message);
      case 'summary': return this.receiveSummary(msg.summary, msg.earlySample === true);
      case 'sample': return this.setSample(msg.maps);
      case 'sampleRest': return this.setSampleRest(msg.rest);
      case 'confidence': return this.setConfidence(msg.n, msg.confidence);
      case 'preview': return this.receivePreview(msg.preview);
      case 'classMaps': return this.setClassMaps(msg.maps);
      case 'detail': return this.setDetail(msg.detail);
      case 'tokenDetails': return this.tokenView.setDetails(msg.details);
      case 'error': return this.showError(msg.message, msg.fix);
      case 'note': return this.notices.note(msg.message);
      case 'image': return void this.setImage(msg.image);
      // Not kept in the saved state: the host sends it again after the page's 'ready'.
      case 'debug': return this.debug.update(msg.debug);
      case 'labelIssues': return this.setLabelIssues(msg.issues);
      case 'hardPixels': return this.setHardPixels(msg.hard);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.ctx.store.close();
    this.disposed = true;
    this.breakdown.dispose();
    this.heatmap.tooltip.hide();
    this.heatmap.dispose();
    this.tokenView.dispose();
    clear(this.root);
    this.root.classList.remove('cel-root', 'cel-compact');
  }

  private get state(): ViewState {
    return this.ctx.store.state;
  }

  private update(patch: Partial<ViewState>): void {
    this.ctx.store.update(patch);
  }

  private showError(message: string, fix?: ErrorFix): void {
    this.early = null;
    this.endPreview(true);
    this.notices.error(message, fix, (f) => this.ctx.post({ type: 'setOptions', options: f.options }));
    this.resultsEl.hidden = true;
    this.resultsEl.classList.remove('cel-stale');
    // The options stay editable so a bad choice can be corrected in place.
    this.header.el.hidden = this.model.summary === null;
  }

  /** A summary as it travelled (packed by the host: src/summaryWire.ts). */
  private receiveSummary(wire: ViewSummary | PackedSummary, earlySample: boolean): void {
    const s = unpackSummary(wire);
    if (s === null) return this.notices.note('The summary of this result arrived damaged and is not shown.');
    this.setSummary(s, earlySample);
  }

  /** earlySample: the maps held from before the summary are this computation's (see HostToView). */
  private setSummary(raw: ViewSummary, earlySample = false): void {
    this.showSummary(raw, earlySample);
    // Every section holds the result now: the page paints it when this task ends.
    this.mark('cel-summary-shown');
  }

  private showSummary(raw: ViewSummary, earlySample: boolean): void {
    const model = this.model;
    const first = model.summary === null;
    const before = model.layout;
    // A previewed sample 0 this summary does not claim is another computation's: off the canvas.
    this.endPreview(!earlySample);
    // With a vocabulary and no class names of its own, classes are named by their token text everywhere
    // (table and its search, worst list, tooltips, legend).
    const names = raw.classNames.length === 0 ? tokenClassNames(raw) : null;
    const s: ViewSummary = names ? { ...raw, classNames: names } : raw;
    model.summary = s;
    this.notices.results();
    this.header.el.hidden = false;
    this.resultsEl.hidden = false;
    this.resultsEl.classList.remove('cel-stale');
    // Maps, details and label errors belong to the previous options.
    model.clearDetails();
    model.setLabelIssues(null);
    model.labelIssuesAsked = false;
    model.hard.reset();
    model.classMaps = null;
    this.breakdown.reset();
    this.heatmap.tooltip.hide();
    const C = s.perClass.length;
    this.filters.fit(C, s.targetKind === 'binary');
    if (this.state.mode === 'classProb' && !this.modeAvailable('classProb')) this.update({ mode: 'loss' });
    if (this.state.probClass !== null && this.state.probClass >= C) this.update({ probClass: null });

    if (model.setColours(s.classColors ?? null, C)) this.classTable.setColours((c) => colourOf(model.colours, c));
    this.header.render(s);
    this.runSlider.render(s.runs);
    this.updateClassTable();
    this.worst.render(s);
    this.confusion.render();
    this.compare.render();
    this.map.toolbar.renderProbClassOptions();
    this.multiples.render();

    const ls = s.lossShape;
    const layout = mapLayout(ls, s.options.loss);
    const spatial = layout.perSample;
    // Another layout (options edited: ce's strip of samples became bce's matrix, say): a selected element,
    // the zoom and the sample mean other things in it.
    if (before && (before.perSample !== layout.perSample || !sameShape(before.shape, layout.shape))) this.update({ n: 0, slice: 0, pixel: null, zoom: 1, cx: null, cy: null });
    const hasMaps = s.mapsAvailable && ls.length >= 1;
    this.syncTokenView(true);
    this.actions.npy.disabled = false;
    this.actions.png.disabled = !hasMaps;
    this.multiples.el.hidden = !hasMaps || s.targetKind === 'binary';
    if (!hasMaps) {
      model.maps = null;
      model.geometry = null;
      this.map.noMaps(ls);
      return;
    }
    this.map.show(true, spatial);
    const N = model.sampleCount;
    this.map.toolbar.setSamples(N, spatial);
    if (spatial && this.state.n >= N) this.update({ n: 0, pixel: null });
    this.map.sync();
    // Geometry is known from the loss shape before the maps arrive (the worst list can point into it).
    const g = geometryFor(layout.shape);
    if (this.state.slice >= (g?.slices ?? 1)) this.update({ slice: 0 });
    const want = spatial ? this.state.n : -1;
    const old = model.maps;
    if (first || !old || old.n !== want || !sameShape(old.shape, g?.shape ?? [])) this.heatmap.resetTransformFor(g);
    model.maps = null;
    model.geometry = g;
    this.heatmap.painter.invalidate();
    // The host follows every summary with sample 0's maps (the strip's or matrix's where one map holds every sample) unasked: asking
    // again would make it compute and send them twice. Another sample is asked for.
    this.nav.request(want, want !== (spatial ? 0 : -1));
    // A label-errors mode kept from before (a reload, new options) asks for this result's.
    if (this.state.mode === 'labelIssues') this.ensureLabelIssues();
    if (this.state.mode === 'hardEveryRun') this.ensureHardPixels();
    const early = first && earlySample ? this.early : null;
    this.early = null;
    if (early && early.n === want) return this.setSample(early);
    this.heatmap.layout();
    this.heatmap.render();
  }

  private setSample(raw: SampleMaps): void {
    const model = this.model;
    const g = geometryFor(raw.shape);
    const need = g ? g.count * g.slices : 0;
    const maps = normalizeMaps(raw, need);
    if (!model.summary) {
      // Kept widened, so that is done while the summary is on its way rather than on the way to the paint.
      this.early = maps;
      this.preview(this.early);
      return;
    }
    if (!g || maps.loss.length < need || maps.target.length < need || maps.predicted.length < need || maps.ignored.length < need) {
      this.notices.note(`The maps of sample ${raw.n} do not match their shape ${fmtShape(raw.shape)}.`);
      return;
    }
    if (this.heatmap.loading !== null && maps.n !== this.heatmap.loading) return; // an older reply
    if (model.spatial && maps.n >= 0 && maps.n !== this.state.n) {
      // A sample the host chose on its own: follow it.
      this.update({ n: maps.n, pixel: null });
    }
    this.heatmap.setLoading(null);
    const changedShape = !model.geometry || !sameShape(model.geometry.shape, g.shape);
    model.maps = maps;
    model.geometry = g;
    if (changedShape) this.heatmap.resetTransformFor(g);
    if (this.state.slice >= g.slices) this.update({ slice: 0 });
    if (this.state.pixel !== null && this.state.pixel >= g.count) this.update({ pixel: null });
    // A stored confidence mode with a sample that has no confidence maps: back to the loss.
    if (isConfidenceMode(this.state.mode) && !maps.confidence && !maps.confidenceOnRequest && !maps.pending) this.update({ mode: 'loss' });
    this.ensureConfidence();
    this.confidence.invalidate();
    this.map.toolbar.renderProbClassOptions();
    this.heatmap.painter.invalidate();
    this.heatmap.layout();
    this.heatmap.render();
    this.nav.arrived(g.count);
    this.compare.renderMap();
    if (this.tokensOn) this.showSequence(maps);
  }

  /**
   * What completes the pending maps on screen (the host's second message for a sample): p(target), and the
   * confidence maps or word that the host holds them. Only onto the maps it completes: the same sample's,
   * still pending (the host sends it after them, and drops it once another sample or result is asked for).
   */
  private setSampleRest(r: SampleRest): void {
    const m = this.model.maps;
    if (!this.model.summary || !m || !m.pending || !r || m.n !== r.n) return;
    const { pending: _pending, ...held } = m;
    this.setSample({ ...held, pTarget: r.pTarget ?? null, confidence: r.confidence ?? null, confidenceOnRequest: r.confidenceOnRequest === true });
  }

  /** A confidence mode on screen whose sample's confidence maps the host holds: ask for them, once per maps. */
  private ensureConfidence(): void {
    const m = this.model.maps;
    if (!isConfidenceMode(this.state.mode) || !m || m.confidence || !m.confidenceOnRequest || this.confidenceAsked === m) return;
    this.confidenceAsked = m;
    this.ctx.post({ type: 'requestConfidence', n: m.n });
  }

  /** The maps confidence was last asked for (a reply completes them, or the maps that replaced them ask again). */
  private confidenceAsked: SampleMaps | null = null;

  private setConfidence(n: number, raw: ConfidenceMaps | null): void {
    const model = this.model;
    const m = model.maps;
    const g = model.geometry;
    if (!model.summary || !m || !g || m.n !== n || m.confidence || !m.confidenceOnRequest) return;
    const confidence = raw ? normalizeMaps({ ...m, confidence: raw }, g.count * g.slices).confidence : null;
    if (confidence) return this.setSample({ ...m, confidence });
    // None to come for this sample (the host could not compute them, or they do not fit): the maps without
    // the host's word, so the modes go and a confidence mode shows the loss. Choosing the sample again asks again.
    this.notices.note(raw ? `The confidence maps of sample ${n} do not match its shape ${fmtShape(m.shape)}.` : `The confidence maps of sample ${n} could not be computed.`);
    const { confidenceOnRequest: _held, ...rest } = m;
    this.setSample(rest);
  }

  /**
   * Sample 0's loss map before its summary (the host sends it as soon as it is computed, while the rest of
   * the batch computes): painted at once, alone (the rest of the results stays hidden and the map takes no
   * pointer input), so the first paint does not wait for the whole batch. Only an image-like sample in the
   * loss mode on sample 0: the other modes need the summary's classes or later maps, and a strip or a
   * sequence is drawn otherwise once the summary says what it is. The summary then shows everything.
   */
  private preview(maps: SampleMaps): void {
    const g = geometryFor(maps.shape);
    if (!g || g.wrapped || g.height < 2 || maps.n !== 0 || this.state.n !== 0 || this.state.slice !== 0 || this.state.mode !== 'loss') return;
    if (maps.loss.length < g.count * g.slices) return;
    const model = this.model;
    model.maps = maps;
    model.geometry = g;
    this.previewing = true;
    // Not interactive until the summary: no pointer (CSS) and no keyboard (inert) selection of an element.
    this.heatmap.viewport.inert = true;
    this.resultsEl.classList.add('cel-preview');
    this.resultsEl.hidden = false;
    this.map.show(true, true);
    this.heatmap.resetTransformFor(g);
    this.heatmap.painter.invalidate();
    this.heatmap.layout();
    this.heatmap.render();
  }

  /**
   * A map preview (src/mapPreview.ts), sent ahead of sample 0's maps: drawn as they will be (preview()), from
   * its colour-table indices, until the maps themselves come. Only in the scale and clip it was made for.
   */
  private receivePreview(p: MapPreview): void {
    const s = this.state;
    if (this.model.summary || this.early || p.scale !== s.scale || p.clip !== s.clip) return;
    const arrays = previewArrays(p);
    if (!arrays) return;
    const S = arrays.lut.length;
    const maps: SampleMaps = { n: p.n, shape: p.shape, loss: new Float32Array(S), target: new Int32Array(S), predicted: new Int32Array(S), ignored: arrays.ignored, pTarget: null, pending: true };
    this.model.preview = { maps, lut: arrays.lut, domain: p.domain };
    this.preview(maps);
    if (!this.previewing) this.model.preview = null;
  }

  /** Ends a preview; blank: its maps are not this result's (another computation's, or an error came). */
  private endPreview(blank: boolean): void {
    this.model.preview = null;
    if (!this.previewing) return;
    this.previewing = false;
    this.heatmap.viewport.inert = false;
    this.resultsEl.classList.remove('cel-preview');
    if (blank) {
      this.model.maps = null;
      this.heatmap.painter.blank();
      this.heatmap.render();
    }
  }

  /** A User Timing mark (DevTools' Performance panel shows them; the first-paint tests read them). */
  private mark(name: 'cel-summary-shown' | 'cel-tokens-shown'): void {
    this.ctx.win?.performance?.mark?.(name);
  }

  private showSequence(maps: SampleMaps): void {
    this.tokenView.setSequence(maps);
    this.mark('cel-tokens-shown');
  }

  private setLabelIssues(raw: ViewLabelIssues): void {
    const model = this.model;
    if (!model.summary || !raw || typeof raw !== 'object') return;
    const issues: ViewLabelIssues = raw.state === 'done' ? { ...raw, flagged: i32(raw.flagged) } : raw;
    model.setLabelIssues(issues);
    model.labelIssuesAsked = true;
    if (issues.state === 'done' && issues.show && this.state.mode !== 'labelIssues') this.update({ mode: 'labelIssues' });
    this.updateClassTable();
    this.map.sync();
    this.heatmap.render();
  }

  /** The label-errors mode on screen without its label errors: ask the host once per result. */
  private ensureLabelIssues(): void {
    const model = this.model;
    if (!model.summary || model.labelIssuesAsked || !this.modeAvailable('labelIssues')) return;
    model.labelIssuesAsked = true;
    model.setLabelIssues({ state: 'running' });
    this.ctx.post({ type: 'findLabelIssues' });
  }

  private setHardPixels(raw: ViewHardPixels): void {
    const model = this.model;
    if (!model.summary || !raw || typeof raw !== 'object') return;
    model.hard.set(raw.state === 'done' ? { ...raw, positions: i32(raw.positions) } : raw);
    model.hard.asked = true;
    this.map.sync();
    this.heatmap.render();
  }

  /** The hard-in-every-run mode on screen without its pixels: ask the host once per result. */
  private ensureHardPixels(): void {
    const model = this.model;
    if (!model.summary || model.hard.asked || !this.modeAvailable('hardEveryRun')) return;
    model.hard.asked = true;
    model.hard.set({ state: 'running' });
    this.ctx.post({ type: 'findHardPixels' });
  }

  private updateClassTable(): void {
    const s = this.model.summary;
    if (!s) return;
    const li = this.model.labelIssues;
    this.classTable.update(s.perClass, s.classNames, {
      withWeight: s.weight !== null, withCe: s.options.loss === 'focal', selected: this.state.classFilter,
      flagged: li?.state === 'done' ? li.perClass : null,
    });
  }

  private setClassMaps(m: ClassMaps): void {
    if (!this.model.summary) return;
    this.model.classMaps = { n: m.n, shape: m.shape, probs: f32(m.probs) as Float32Array };
    this.multiples.render();
    if (this.state.mode === 'classProb') this.heatmap.render();
  }

  private setDetail(d: ElementDetail): void {
    const key = this.model.addDetail(d);
    if (key === this.heatmap.tooltip.key) this.heatmap.detailArrived();
    if (key === this.breakdown.key) this.breakdown.render();
  }

  private async setImage(img: OverlayImage | null): Promise<void> {
    const redraw = await this.heatmap.painter.setImage(img);
    if (redraw && !this.disposed) this.heatmap.render();
  }

  // ---------------------------------------------------------------------------------------------------
  // Actions that span sections.

  /** Modes the data on screen can draw. */
  private modeAvailable(mode: ViewMode): boolean {
    const maps = this.model.maps;
    // p(target) exists for class-index targets only.
    if (mode === 'pTarget') return !maps || maps.pTarget !== null;
    // An elementwise loss has one probability per element (its p(target) is that of its 0/1 label), no
    // distribution over classes to pick one from.
    if (mode === 'classProb') return this.model.summary?.targetKind !== 'binary';
    if (isConfidenceMode(mode)) return !!maps?.confidence || !!maps?.confidenceOnRequest;
    if (mode === 'labelIssues') {
      const s = this.model.summary;
      return !!s && s.options.loss === 'ce' && s.targetKind === 'index' && s.mapsAvailable && s.perClass.length >= 2;
    }
    // Only an image opened from the runs view has runs to compare (never the notebook renderer).
    if (mode === 'hardEveryRun') {
      const s = this.model.summary;
      return !!s?.runs && s.runs.names.length >= 2 && s.mapsAvailable;
    }
    return true;
  }

  private redraw(multiples: boolean): void {
    if (this.state.mode === 'labelIssues') this.ensureLabelIssues();
    this.ensureConfidence();
    if (this.state.mode === 'hardEveryRun') this.ensureHardPixels();
    this.heatmap.render();
    if (multiples) this.multiples.render();
    this.compare.renderMap();
  }

  private explainPixel(i: number): void {
    const ref = this.model.elementRef(this.state.slice, i);
    if (ref) this.breakdown.open(ref.n, ref.index);
  }

  /** Shows or hides the token view for the current result (fresh: a new summary to give it). */
  private syncTokenView(fresh: boolean): void {
    const s = this.model.summary;
    const capable = !!s && tokenViewCapable(s);
    const mode = this.state.tokenView;
    const on = !!s && capable && (mode === 'on' || (mode === 'auto' && tokenViewAuto(s)));
    this.map.toolbar.setTokenToggle(capable, on);
    const was = this.tokensOn;
    this.tokensOn = on;
    this.tokenView.el.hidden = !on;
    if (s && on && (fresh || !was)) {
      this.tokenView.update(s);
      if (this.model.maps) this.showSequence(this.model.maps);
    }
  }
}
