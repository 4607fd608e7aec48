// The confusion matrix (ViewSummary.confusion, row = target, column = predicted), normalised by row, by
// column or not at all, on a log colour scale, drawn one canvas pixel per cell (C up to 1,024) and scaled up
// by CSS; class names label both axes up to AXIS_LABELS classes, and the hover (or keyboard) read-out names
// the cell. Above 1,024 classes the summary has no matrix: the most frequent confusions are listed instead.
// Picking a cell or an entry restricts the heatmap to those elements (LossView keeps the filter).
import { colormapLUT, gradientCss, type ColormapName } from '../render/colormap';
import { append, clear } from '../dom';
import { classLabel, fmtCount, fmtPct } from '../format';
import { putPixels, type ViewContext, type ViewModel } from '../model';
import type { ClassPair } from '../render/raster';

export type ConfusionNorm = 'row' | 'column' | 'none';

/** Most classes whose names are written along the axes; above it the read-out names the cell. */
export const AXIS_LABELS = 40;
/** Largest side of the drawn matrix in CSS pixels, and the largest cell. */
const MAX_SIDE_PX = 480;
const MAX_CELL_PX = 24;

/** The matrix divided by its row sums (each target's share), column sums (each prediction's), or as counts. */
export function normalizeConfusion(conf: ArrayLike<number>, C: number, norm: ConfusionNorm): Float64Array {
  const out = Float64Array.from({ length: C * C }, (_, k) => conf[k]);
  if (norm === 'none') return out;
  const sums = new Float64Array(C);
  for (let r = 0; r < C; r++) for (let c = 0; c < C; c++) sums[norm === 'row' ? r : c] += out[r * C + c];
  for (let r = 0; r < C; r++) {
    for (let c = 0; c < C; c++) {
      const s = sums[norm === 'row' ? r : c];
      out[r * C + c] = s > 0 ? out[r * C + c] / s : 0;
    }
  }
  return out;
}

/** The smallest positive and the largest value (the log scale's ends), or null when nothing is positive. */
export function positiveRange(values: ArrayLike<number>): { min: number; max: number } | null {
  let min = Infinity;
  let max = 0;
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v > 0 && Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return max > 0 ? { min, max } : null;
}

/** RGBA of a C x C matrix on a log colour scale over its positive values; zero cells are transparent. */
export function confusionRgba(values: ArrayLike<number>, C: number, colormap: ColormapName): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(C * C * 4);
  const range = positiveRange(values);
  if (!range) return rgba;
  const lut = colormapLUT(colormap);
  const lo = Math.log(range.min);
  const span = Math.log(range.max) - lo;
  for (let k = 0; k < C * C; k++) {
    const v = values[k];
    if (!(v > 0)) continue;
    const i = span > 0 ? Math.round((255 * (Math.log(v) - lo)) / span) : 255;
    const q = Math.min(255, Math.max(0, i)) * 4;
    rgba.set(lut.subarray(q, q + 4), k * 4);
  }
  return rgba;
}

export class ConfusionMatrix {
  readonly el: HTMLElement;
  private readonly normSelect: HTMLSelectElement;
  private readonly body: HTMLElement;
  private readonly readout: HTMLElement;
  private values: Float64Array | null = null;
  private C = 0;
  private cursor: { r: number; c: number } | null = null;
  private readonly details: HTMLDetailsElement;
  /** The body shows the current summary (else it is drawn when the section opens). */
  private drawn = false;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly pick: (pair: ClassPair) => void) {
    const h = ctx.h;
    this.normSelect = h('select', { 'aria-label': 'Normalise the confusion matrix' },
      h('option', { value: 'row', text: 'by row (target)' }), h('option', { value: 'column', text: 'by column (predicted)' }), h('option', { value: 'none', text: 'none (counts)' }));
    this.body = h('div', { class: 'cel-cm-body' });
    this.readout = h('div', { class: 'cel-cm-readout', 'data-testid': 'confusion-readout', 'aria-live': 'polite' });
    // Collapsed until opened: the matrix is O(C²) to draw, and a notebook may show many outputs.
    this.details = h('details', { class: 'cel-confusion', 'data-testid': 'confusion-matrix', hidden: true },
      h('summary', {}, h('h3', { class: 'cel-cm-title', text: 'Confusion matrix' })),
      h('div', { class: 'cel-cm-head' },
        h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Normalise' }), this.normSelect),
        h('span', { class: 'cel-hint', text: 'Rows: target; columns: predicted. Click a cell to show only those elements on the heatmap.' })),
      this.body, this.readout);
    this.el = this.details;
    this.normSelect.addEventListener('change', () => {
      ctx.store.update({ confusionNorm: this.normSelect.value as ConfusionNorm });
      this.render();
    });
    this.details.addEventListener('toggle', () => {
      if (this.details.open && !this.drawn) this.render();
    });
  }

  render(): void {
    const s = this.model.summary;
    clear(this.body);
    this.values = null;
    this.readout.textContent = '';
    const C = s?.perClass.length ?? 0;
    this.C = C;
    this.cursor = null;
    if (!s || s.targetKind === 'binary' || C === 0) {
      this.el.hidden = true;
      return;
    }
    const norm = this.ctx.store.state.confusionNorm;
    this.normSelect.value = norm;
    const full = s.confusion.length === C * C;
    this.el.hidden = !full && s.topConfusions.length === 0;
    this.drawn = this.details.open;
    if (!this.details.open) return;
    this.normSelect.disabled = !full;
    if (full) this.renderMatrix(normalizeConfusion(s.confusion, C, norm), C);
    else this.renderTop();
  }

  private renderMatrix(values: Float64Array, C: number): void {
    const h = this.ctx.h;
    const names = this.model.classNames;
    const colormap = this.ctx.store.state.colormap;
    this.values = values;
    const cell = Math.max(1, Math.min(MAX_CELL_PX, Math.floor(MAX_SIDE_PX / C)));
    const side = Math.min(MAX_SIDE_PX, C * cell);
    const canvas = h('canvas', { class: 'cel-cm-canvas', width: C, height: C, tabindex: 0, role: 'img', 'aria-label': `Confusion matrix of ${C} classes; arrow keys move the cell, Enter shows it on the heatmap` });
    canvas.style.width = `${side}px`;
    canvas.style.height = `${side}px`;
    putPixels(this.ctx.win, canvas, confusionRgba(values, C, colormap), C, C);
    const grid = h('div', { class: 'cel-cm-grid' });
    const labels = C <= AXIS_LABELS;
    const px = side / C;
    const xl = h('div', { class: 'cel-cm-xlabels', 'aria-hidden': 'true' });
    const yl = h('div', { class: 'cel-cm-ylabels', 'aria-hidden': 'true' });
    if (labels) {
      for (let c = 0; c < C; c++) {
        const x = h('span', { class: 'cel-cm-xlabel', text: classLabel(names, c), title: classLabel(names, c) });
        x.style.width = `${px}px`;
        xl.appendChild(x);
        const y = h('span', { class: 'cel-cm-ylabel', text: classLabel(names, c), title: classLabel(names, c) });
        y.style.height = `${px}px`;
        yl.appendChild(y);
      }
    } else {
      xl.textContent = 'predicted →';
      yl.textContent = 'target ↓';
    }
    append(grid, h('span', { class: 'cel-cm-corner' }), xl, yl, canvas);
    const range = positiveRange(values);
    const bar = h('div', { class: 'cel-legend-bar cel-cm-bar', role: 'img', 'aria-label': `${colormap} log colour scale` });
    bar.style.backgroundImage = gradientCss(colormap);
    const scale = range
      ? h('div', { class: 'cel-cm-scale' }, bar, h('div', { class: 'cel-legend-ticks' }, h('span', { text: this.fmtValue(range.min) }), h('span', { text: 'log scale' }), h('span', { text: this.fmtValue(range.max) })))
      : h('p', { class: 'cel-dim', text: 'No element was counted.' });
    append(this.body, grid, scale);
    this.wireCanvas(canvas, C);
  }

  private fmtValue(v: number): string {
    return this.ctx.store.state.confusionNorm === 'none' ? fmtCount(v) : fmtPct(v);
  }

  /** Cell under a pointer (the canvas is C x C pixels, shown scaled). */
  private cellAt(canvas: HTMLCanvasElement, clientX: number, clientY: number, C: number): { r: number; c: number } | null {
    const rect = canvas.getBoundingClientRect();
    // A page without layout (a test DOM) reports zero: the canvas's own pixel size stands in.
    const w = rect.width || canvas.width;
    const ht = rect.height || canvas.height;
    const c = Math.floor(((clientX - rect.left) / w) * C);
    const r = Math.floor(((clientY - rect.top) / ht) * C);
    return r >= 0 && r < C && c >= 0 && c < C ? { r, c } : null;
  }

  /** The read-out of a cell: target, predicted, count and the normalised value. */
  describe(r: number, c: number): string {
    const s = this.model.summary;
    if (!s || !this.values) return '';
    const names = s.classNames;
    const count = s.confusion[r * this.C + c];
    const norm = this.ctx.store.state.confusionNorm;
    const share = norm === 'none' ? '' : ` · ${fmtPct(this.values[r * this.C + c])} of ${norm === 'row' ? `target ${classLabel(names, r)}` : `predicted ${classLabel(names, c)}`}`;
    return `target ${classLabel(names, r)} · predicted ${classLabel(names, c)} · count ${fmtCount(count)}${share}`;
  }

  private wireCanvas(canvas: HTMLCanvasElement, C: number): void {
    canvas.addEventListener('pointermove', (e) => {
      const cell = this.cellAt(canvas, e.clientX, e.clientY, C);
      this.readout.textContent = cell ? this.describe(cell.r, cell.c) : '';
    });
    canvas.addEventListener('pointerleave', () => {
      this.readout.textContent = this.cursor ? this.describe(this.cursor.r, this.cursor.c) : '';
    });
    canvas.addEventListener('click', (e) => {
      const cell = this.cellAt(canvas, e.clientX, e.clientY, C);
      if (cell) this.pick({ target: cell.r, predicted: cell.c });
    });
    canvas.addEventListener('keydown', (e) => {
      const cur = this.cursor ?? { r: 0, c: 0 };
      let { r, c } = cur;
      switch (e.key) {
        case 'ArrowLeft': c = Math.max(0, c - 1); break;
        case 'ArrowRight': c = Math.min(C - 1, c + 1); break;
        case 'ArrowUp': r = Math.max(0, r - 1); break;
        case 'ArrowDown': r = Math.min(C - 1, r + 1); break;
        case 'Enter':
        case ' ':
          e.preventDefault();
          this.pick({ target: r, predicted: c });
          return;
        default: return;
      }
      e.preventDefault();
      this.cursor = { r, c };
      this.readout.textContent = this.describe(r, c);
    });
  }

  /** Above 1,024 classes: the most frequent (target, predicted) pairs, each a button. */
  private renderTop(): void {
    const s = this.model.summary;
    if (!s) return;
    const h = this.ctx.h;
    const names = s.classNames;
    const list = h('ol', { class: 'cel-cm-top' });
    for (const p of s.topConfusions) {
      const b = h('button', { type: 'button', class: 'cel-worst-item cel-cm-pair' },
        h('span', { text: `target ${classLabel(names, p.target)}` }),
        h('span', { class: 'cel-dim', text: ' predicted as ' }),
        h('span', { text: classLabel(names, p.predicted) }),
        h('span', { class: 'cel-worst-loss', text: ` · ${fmtCount(p.count)}` }));
      b.addEventListener('click', () => this.pick({ target: p.target, predicted: p.predicted }));
      list.appendChild(h('li', {}, b));
    }
    append(this.body, h('p', { class: 'cel-hint', text: `${fmtCount(this.C)} classes: no full matrix; the ${s.topConfusions.length} most frequent confusions (target, predicted, count):` }), list);
  }
}

/** "showing target X predicted as Y (n pixels in this sample)" with a clear button, above the heatmap. */
export class PairFilterLine {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, clearPair: () => void) {
    const h = ctx.h;
    this.text = h('span', {});
    const button = h('button', { type: 'button', class: 'cel-chip', text: 'Show all ✕', 'aria-label': 'Show every element again' });
    button.addEventListener('click', clearPair);
    this.el = h('div', { class: 'cel-pair-filter', 'data-testid': 'pair-filter', role: 'status', hidden: true }, this.text, button);
  }

  sync(count: (pair: ClassPair) => number | null): void {
    const pair = this.ctx.store.state.pairFilter;
    this.el.hidden = pair === null;
    if (!pair) return;
    const names = this.model.classNames;
    const n = count(pair);
    this.text.textContent = `Showing target ${classLabel(names, pair.target)} predicted as ${classLabel(names, pair.predicted)}${n === null ? '' : ` (${fmtCount(n)} ${n === 1 ? 'pixel' : 'pixels'} in this sample)`} `;
  }
}
