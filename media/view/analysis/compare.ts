// Compare Losses…: the panel shows run B with how it differs from run A (ViewSummary.compare). The delta
// map (SampleMaps.delta, B's loss minus A's) is drawn on a diverging scale centred at 0 (blue: B lower,
// red: B higher) with a hover read-out; the counts of improved and regressed elements; and the change in
// each class's mean loss as a sortable table.
import type { CompareSummary } from '../../../src/protocol';
import { rgbCss } from '../render/colormap';
import { append, clear } from '../dom';
import { classLabel, fmt6, fmtCount, matrixAxes } from '../format';
import { putPixels, type ViewContext, type ViewModel } from '../model';
import type { Geometry } from '../render/raster';

/** Diverging scale: blue (B lower) through light grey (no change) to red (B higher), like matplotlib's coolwarm. */
const ANCHORS: ReadonlyArray<readonly [number, number, number]> = [[59, 76, 192], [221, 221, 221], [180, 4, 38]];

/** RGB of t in [-1, 1] on the diverging scale (0: the middle colour). */
export function diverging(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(-1, Number.isFinite(t) ? t : 0));
  const [a, b] = x < 0 ? [ANCHORS[1], ANCHORS[0]] : [ANCHORS[1], ANCHORS[2]];
  const f = Math.abs(x);
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** Largest |delta| over the finite values (the scale is symmetric about 0 so equal changes look equal). */
export function maxAbs(delta: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < delta.length; k++) {
    const v = Math.abs(delta[k]);
    if (Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

/** RGBA of one slice of the delta map; NaN (ignored elements) transparent. */
export function deltaRgba(delta: ArrayLike<number>, g: Geometry, slice: number, scale: number): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(g.width * g.height * 4);
  const base = slice * g.count;
  for (let i = 0; i < g.count; i++) {
    const v = delta[base + i];
    if (Number.isNaN(v)) continue;
    const c = diverging(scale > 0 ? v / scale : 0);
    rgba.set([c[0], c[1], c[2], 255], i * 4);
  }
  return rgba;
}

/** The heatmap read-out's line for element k in a comparison. */
export function deltaLines(model: ViewModel, k: number): string[] {
  const d = model.maps?.delta;
  return d && !Number.isNaN(d[k]) ? [`B − A ${fmt6(d[k])}`] : [];
}

type CompareRow = CompareSummary['perClass'][number];
type CompareKey = 'class' | 'meanA' | 'meanB' | 'deltaMeanLoss';
const COLUMNS: ReadonlyArray<{ readonly key: CompareKey; readonly label: string }> = [
  { key: 'class', label: 'Class' }, { key: 'meanA', label: 'Mean loss A' }, { key: 'meanB', label: 'Mean loss B' }, { key: 'deltaMeanLoss', label: 'Change (B − A)' },
];
/** Most rows in the DOM; the sort decides which (largest changes first by default). */
const MAX_ROWS = 200;

/** Rows sorted by a column; NaN (a class with no elements) last either way. */
export function sortCompareRows(rows: readonly CompareRow[], key: CompareKey, dir: 'asc' | 'desc'): CompareRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  const val = (r: CompareRow): number => (key === 'class' ? r.class : r[key]);
  return [...rows].sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? a.class - b.class : 1) : -1;
    return sign * (x - y) || a.class - b.class;
  });
}

export class CompareSection {
  readonly el: HTMLElement;
  private readonly headEl: HTMLElement;
  private readonly countsEl: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly readout: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly mapWrap: HTMLElement;
  private readonly thead: HTMLTableSectionElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly tableNote: HTMLElement;
  private sort: { key: CompareKey; dir: 'asc' | 'desc' } = { key: 'deltaMeanLoss', dir: 'desc' };
  private scale = 0;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel) {
    const h = ctx.h;
    this.headEl = h('p', { class: 'cel-compare-head' });
    this.countsEl = h('p', { class: 'cel-compare-counts', 'data-testid': 'compare-counts' });
    this.canvas = h('canvas', { class: 'cel-compare-canvas', 'data-testid': 'compare-delta', width: 1, height: 1, role: 'img', 'aria-label': 'Loss of B minus loss of A per element' });
    this.readout = h('div', { class: 'cel-compare-readout', 'data-testid': 'compare-readout', 'aria-live': 'polite' });
    this.legend = h('div', { class: 'cel-legend-notes' });
    this.mapWrap = h('div', { class: 'cel-compare-map' }, this.canvas, this.readout, this.legend);
    this.thead = h('thead');
    this.tbody = h('tbody');
    this.tableNote = h('p', { class: 'cel-hint', hidden: true });
    this.el = h('section', { class: 'cel-compare', 'aria-label': 'Compare with another run', hidden: true },
      h('h3', { text: 'Compare' }), this.headEl, this.countsEl, this.mapWrap,
      h('h4', { text: 'Change in mean loss per class' }),
      h('div', { class: 'cel-table-wrap cel-compare-wrap' }, h('table', { class: 'cel-table', 'data-testid': 'compare-classes' }, this.thead, this.tbody)),
      this.tableNote);
    this.canvas.addEventListener('pointermove', (e) => this.hover(e.clientX, e.clientY));
    this.canvas.addEventListener('pointerleave', () => {
      this.readout.textContent = '';
    });
  }

  render(): void {
    const c = this.model.summary?.compare ?? null;
    this.el.hidden = !c;
    if (!c) return;
    this.headEl.textContent = `A: ${c.labelA} (${fmt6(c.valueA)}) · B: ${c.labelB} (${fmt6(c.valueB)}) · B − A: ${fmt6(c.delta)}`;
    this.countsEl.textContent = `${fmtCount(c.improved)} elements improved (lower loss in B) · ${fmtCount(c.regressed)} regressed (higher in B)`;
    this.renderTable();
    this.renderMap();
  }

  /** The delta map of the sample and slice on screen (hidden when the host sent none). */
  renderMap(): void {
    const { maps, geometry: g } = this.model;
    const delta = maps?.delta ?? null;
    this.mapWrap.hidden = !delta || !g;
    if (!delta || !g || this.el.hidden) return;
    this.scale = maxAbs(delta);
    putPixels(this.ctx.win, this.canvas, deltaRgba(delta, g, this.ctx.store.state.slice, this.scale), g.width, g.height);
    const h = this.ctx.h;
    const sw = (t: number, label: string): HTMLElement => {
      const s = h('span', { class: 'cel-swatch', 'aria-hidden': 'true' });
      s.style.backgroundColor = rgbCss(diverging(t));
      return h('span', { class: 'cel-legend-item' }, s, label);
    };
    clear(this.legend);
    append(this.legend, sw(-1, `B lower by ${fmt6(this.scale)}`), sw(0, 'no change'), sw(1, `B higher by ${fmt6(this.scale)}`));
  }

  private hover(clientX: number, clientY: number): void {
    const { maps, geometry: g } = this.model;
    if (!maps?.delta || !g) return;
    const rect = this.canvas.getBoundingClientRect();
    // Without layout (a test DOM) the canvas's own pixel size stands in for its box.
    const x = Math.floor(((clientX - rect.left) / (rect.width || this.canvas.width)) * g.width);
    const y = Math.floor(((clientY - rect.top) / (rect.height || this.canvas.height)) * g.height);
    const i = y * g.width + x;
    if (x < 0 || y < 0 || x >= g.width || y >= g.height || i >= g.count) {
      this.readout.textContent = '';
      return;
    }
    const k = this.ctx.store.state.slice * g.count + i;
    const d = maps.delta[k];
    const b = maps.loss[k];
    const s = this.model.summary;
    // The whole of a multi-label [N, C] on one map reads by sample and class.
    const where = g.wrapped ? `element ${i}` : s && !this.model.spatial ? `(${matrixAxes(s).join(', ')}) = (${y}, ${x})` : `(y, x) = (${y}, ${x})`;
    this.readout.textContent = Number.isNaN(d) ? `${where}: ignored` : `${where}: B − A = ${fmt6(d)} · A ${fmt6(b - d)} · B ${fmt6(b)}`;
  }

  private renderTable(): void {
    const c = this.model.summary?.compare;
    if (!c) return;
    const h = this.ctx.h;
    const names = this.model.classNames;
    const head = h('tr');
    for (const col of COLUMNS) {
      const active = this.sort.key === col.key;
      const btn = h('button', { type: 'button', class: 'cel-sort', 'aria-label': `Sort by ${col.label}` },
        col.label, h('span', { class: 'cel-sort-mark', 'aria-hidden': 'true', text: active ? (this.sort.dir === 'asc' ? ' ▲' : ' ▼') : '' }));
      btn.addEventListener('click', () => {
        this.sort = active ? { key: col.key, dir: this.sort.dir === 'asc' ? 'desc' : 'asc' } : { key: col.key, dir: col.key === 'class' ? 'asc' : 'desc' };
        this.renderTable();
      });
      head.appendChild(h('th', { scope: 'col', 'data-key': col.key, class: col.key === 'class' ? 'cel-left' : '', 'aria-sort': active ? (this.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none' }, btn));
    }
    clear(this.thead);
    this.thead.appendChild(head);
    const rows = sortCompareRows(c.perClass, this.sort.key, this.sort.dir);
    clear(this.tbody);
    for (const r of rows.slice(0, MAX_ROWS)) {
      const tr = h('tr', { 'data-class': r.class, class: r.deltaMeanLoss < 0 ? 'cel-better' : r.deltaMeanLoss > 0 ? 'cel-worse' : '' },
        h('th', { scope: 'row', class: 'cel-left', text: classLabel(names, r.class) }),
        h('td', { text: fmt6(r.meanA) }), h('td', { text: fmt6(r.meanB) }), h('td', { text: fmt6(r.deltaMeanLoss) }));
      this.tbody.appendChild(tr);
    }
    this.tableNote.hidden = rows.length <= MAX_ROWS;
    this.tableNote.textContent = `The first ${MAX_ROWS} of ${fmtCount(rows.length)} classes in this order.`;
  }
}
