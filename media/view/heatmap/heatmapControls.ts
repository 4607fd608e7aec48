// The heatmap's toolbar: sample and slice, what to show (mode, class for p(class c)), colours, scale,
// clip, ignored marking, the token-view toggle, the class-filter chip and zoom. It writes the state store;
// LossView redraws through ToolbarEvents.
import { COLORMAPS, type ColormapName } from '../render/colormap';
import { clear } from '../dom';
import { classLabel, className } from '../format';
import type { ViewContext, ViewModel } from '../model';
import { isContinuousMode, MODE_LABELS, multiIndex, VIEW_MODES, type ViewMode } from '../render/raster';
import type { Scale } from '../../../src/valueScale';
import { CLIP_CHOICES, type StatePatch } from '../state';

/** Most classes offered as a menu in "p(class c)" mode; above it the class is typed in. */
export const PROB_CLASS_MENU_LIMIT = 100;

export interface ToolbarEvents {
  goSample(n: number): void;
  /** A drawing choice is in the store: redraw the heatmap (and the class thumbnails when `multiples`). */
  redraw(multiples: boolean): void;
  colormap(name: ColormapName): void;
  tokenView(on: boolean): void;
  /** The filter chip: show every class again. */
  clearFilter(): void;
  /** Zoom by a factor about the centre, or fit. */
  zoom(factor: number | 'fit'): void;
}

/** Modes that need data a sample may lack: disabled in the menu without it. */
export type ModeAvailability = (mode: ViewMode) => boolean;

export class HeatmapToolbar {
  readonly el: HTMLElement;
  readonly sampleGroup: HTMLElement;
  readonly tokenToggleGroup: HTMLElement;
  private readonly sampleInput: HTMLInputElement;
  private readonly sampleCount: HTMLElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly sliceGroup: HTMLElement;
  private readonly sliceInput: HTMLInputElement;
  private readonly sliceText: HTMLElement;
  private readonly modeSelect: HTMLSelectElement;
  private readonly probClassGroup: HTMLElement;
  private readonly probClassSelect: HTMLSelectElement;
  /** Above PROB_CLASS_MENU_LIMIT classes: a class index or name typed in (no menu of every class). */
  private readonly probClassInput: HTMLInputElement;
  private readonly probClassName: HTMLElement;
  private readonly tokenToggle: HTMLInputElement;
  private readonly colormapSelect: HTMLSelectElement;
  private readonly scaleSelect: HTMLSelectElement;
  private readonly clipSelect: HTMLSelectElement;
  private readonly ignoredToggle: HTMLInputElement;
  private readonly ignoredGroup: HTMLElement;
  private readonly filterChip: HTMLButtonElement;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly events: ToolbarEvents) {
    const h = ctx.h;
    this.sampleInput = h('input', { type: 'number', min: 0, step: 1, value: 0, class: 'cel-num', 'aria-label': 'Sample index' });
    this.sampleCount = h('span', { class: 'cel-dim' });
    this.prev = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Previous sample', title: 'Previous sample', text: '‹' });
    this.next = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Next sample', title: 'Next sample', text: '›' });
    this.sampleGroup = h('div', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Sample' }), this.prev, this.sampleInput, this.next, this.sampleCount);
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
    this.ignoredGroup = h('label', { class: 'cel-group cel-check' }, this.ignoredToggle, h('span', { text: 'Mark ignored' }));
    this.filterChip = h('button', { type: 'button', class: 'cel-chip', hidden: true, title: 'Show all classes again' });
    const zoomOut = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Zoom out', title: 'Zoom out (-)', text: '−' });
    const zoomFit = h('button', { type: 'button', class: 'cel-icon cel-fit', 'aria-label': 'Fit the whole map', title: 'Fit (0)', text: 'fit' });
    const zoomIn = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Zoom in', title: 'Zoom in (+)', text: '+' });
    this.el = h('div', { class: 'cel-toolbar', role: 'toolbar', 'aria-label': 'Heatmap controls' },
      this.sampleGroup, this.sliceGroup,
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Show' }), this.modeSelect),
      this.probClassGroup,
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Colors' }), this.colormapSelect),
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Scale' }), this.scaleSelect),
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Clip' }), this.clipSelect),
      this.ignoredGroup,
      this.tokenToggleGroup,
      this.filterChip,
      h('div', { class: 'cel-group cel-zoom' }, zoomOut, zoomFit, zoomIn));
    zoomOut.addEventListener('click', () => events.zoom(1 / 1.5));
    zoomIn.addEventListener('click', () => events.zoom(1.5));
    zoomFit.addEventListener('click', () => events.zoom('fit'));
    this.wire();
  }

  /** The summary's sample count. */
  setSamples(N: number, spatial: boolean): void {
    this.sampleGroup.hidden = !spatial;
    this.sampleInput.max = String(Math.max(0, N - 1));
    this.sampleCount.textContent = `of ${N}`;
  }

  setTokenToggle(capable: boolean, on: boolean): void {
    this.tokenToggleGroup.hidden = !capable;
    this.tokenToggle.checked = on;
  }

  /** Every control from the state and the data on screen. */
  sync(available: ModeAvailability): void {
    const s = this.ctx.store.state;
    const h = this.ctx.h;
    this.sampleInput.value = String(s.n);
    const N = this.model.sampleCount;
    this.prev.disabled = s.n <= 0;
    this.next.disabled = s.n >= N - 1;
    this.modeSelect.value = s.mode;
    this.colormapSelect.value = s.colormap;
    this.scaleSelect.value = s.scale;
    this.clipSelect.value = String(s.clip);
    if (this.clipSelect.value !== String(s.clip)) {
      this.clipSelect.appendChild(h('option', { value: String(s.clip), text: `p${s.clip}` }));
      this.clipSelect.value = String(s.clip);
    }
    this.ignoredToggle.checked = s.showIgnored;
    // Only class-index targets have an ignore index (not bce, sigmoid focal or probability targets).
    const kind = this.model.summary?.targetKind;
    this.ignoredGroup.hidden = kind !== undefined && kind !== 'index';
    const g = this.model.geometry;
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
    // Probabilities have a fixed [0, 1] domain (and entropy its own): no scale or clip to choose.
    const fixed = s.mode !== 'loss' && s.mode !== 'classLoss';
    this.scaleSelect.disabled = !continuous || fixed;
    this.clipSelect.disabled = !continuous || fixed;
    this.probClassGroup.hidden = s.mode !== 'classProb';
    if (s.probClass !== null) this.probClassSelect.value = String(s.probClass);
    this.syncProbClassInput();
    for (const opt of Array.from(this.modeSelect.options)) {
      opt.disabled = !available(opt.value as ViewMode);
      // Offered only where it exists at all (a panel opened from the runs view), not greyed out everywhere.
      opt.hidden = opt.value === 'hardEveryRun' && opt.disabled;
    }
    const summary = this.model.summary;
    if (s.classFilter !== null && summary) {
      this.filterChip.hidden = false;
      this.filterChip.textContent = `Only class ${classLabel(summary.classNames, s.classFilter)} ✕`;
      this.filterChip.setAttribute('aria-label', `Showing only class ${classLabel(summary.classNames, s.classFilter)}; press to show all classes`);
    } else {
      this.filterChip.hidden = true;
    }
  }

  /** The class menu of p(class c) mode (or the typed input at vocabulary scale). */
  renderProbClassOptions(): void {
    const s = this.model.summary;
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
    for (let c = 0; c < C; c++) this.probClassSelect.appendChild(this.ctx.h('option', { value: String(c), text: classLabel(s.classNames, c) }));
    const pc = this.ctx.store.state.probClass;
    if (pc !== null) this.probClassSelect.value = String(pc);
  }

  /** The typed class input shows the chosen class (index, and its name beside it). */
  private syncProbClassInput(): void {
    const s = this.model.summary;
    if (!s || this.probClassInput.hidden) return;
    const c = this.ctx.store.state.probClass;
    if (this.probClassInput.ownerDocument.activeElement !== this.probClassInput) this.probClassInput.value = c === null ? '' : String(c);
    this.probClassInput.removeAttribute('aria-invalid');
    const name = c === null ? '' : className(s.classNames, c);
    this.probClassName.hidden = c === null || name === String(c);
    this.probClassName.textContent = name;
  }

  /** A class by index, else by name (exact, then case-insensitive, then the first name containing the text); O(C). */
  private findClass(text: string): number | null {
    const s = this.model.summary;
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

  private wire(): void {
    const store = this.ctx.store;
    const ev = this.events;
    const set = (patch: StatePatch, multiples: boolean): void => {
      store.update(patch);
      ev.redraw(multiples);
    };
    this.sampleInput.addEventListener('change', () => ev.goSample(Number(this.sampleInput.value)));
    this.prev.addEventListener('click', () => ev.goSample(store.state.n - 1));
    this.next.addEventListener('click', () => ev.goSample(store.state.n + 1));
    this.sliceInput.addEventListener('input', () => set({ slice: Number(this.sliceInput.value) }, true));
    this.modeSelect.addEventListener('change', () => {
      const mode = this.modeSelect.value as ViewMode;
      const patch: StatePatch = { mode };
      if (mode === 'classProb' && store.state.probClass === null) patch.probClass = store.state.classFilter ?? 0;
      set(patch, true);
    });
    this.probClassSelect.addEventListener('change', () => set({ probClass: Number(this.probClassSelect.value) }, true));
    this.tokenToggle.addEventListener('change', () => {
      store.update({ tokenView: this.tokenToggle.checked ? 'on' : 'off' });
      ev.tokenView(this.tokenToggle.checked);
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
      store.update({ probClass: c });
      this.syncProbClassInput();
      ev.redraw(true);
    });
    this.colormapSelect.addEventListener('change', () => {
      store.update({ colormap: this.colormapSelect.value as ColormapName });
      ev.colormap(store.state.colormap);
    });
    this.scaleSelect.addEventListener('change', () => set({ scale: this.scaleSelect.value as Scale }, false));
    this.clipSelect.addEventListener('change', () => set({ clip: Number(this.clipSelect.value) }, false));
    this.ignoredToggle.addEventListener('change', () => set({ showIgnored: this.ignoredToggle.checked }, false));
    this.filterChip.addEventListener('click', () => ev.clearFilter());
  }
}
