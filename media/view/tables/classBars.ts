// The per-class bar chart under the class table (ClassTable composes it; its styles are in classTable.css
// with the table's). It follows the table: the same classes, the same order while they fit in BAR_LIMIT
// bars. Beyond that it shows the top BAR_LIMIT by the chosen value, so a 262,144-class vocabulary still
// draws O(BAR_LIMIT) elements, and that choice is one O(C) pass per data, sort or value change.
import type { ClassStats } from '../../../src/kernel/types';
import { rgbCss } from '../render/colormap';
import { append, clear, type Builder } from '../dom';
import { classLabel, className, fmt6, fmtCount, fmtPct } from '../format';
import { classColor, type RGB } from '../render/palette';
import { topClasses } from './table';

/** What the bar chart shows. */
export type BarsKey = 'lossMean' | 'share';

/** Most bars in the chart; with more classes it shows the top ones by the chosen value. */
export const BAR_LIMIT = 20;

const BAR_LABELS: Readonly<Record<BarsKey, string>> = { lossMean: 'mean loss', share: 'share of total loss' };

/** What the chart draws: the table's rows and their order, with the names and colours the table uses. */
export interface ClassBarsData {
  readonly rows: readonly ClassStats[];
  /** Positions into rows in table order. */
  readonly order: Int32Array;
  readonly names: readonly string[];
  readonly colour: (c: number) => RGB;
  readonly selected: number | null;
}

export class ClassBars {
  /** The heading with its value menu, the caption and the chart, in page order. */
  readonly els: readonly HTMLElement[];
  private readonly select: HTMLSelectElement;
  private readonly caption: HTMLElement;
  private readonly chart: HTMLElement;
  private key: BarsKey;
  private data: ClassBarsData = { rows: [], order: new Int32Array(0), names: [], colour: classColor, selected: null };
  /** Kept until the data or the value change, so a selection change does not redo the O(C) pick. */
  private list: readonly ClassStats[] = [];

  constructor(private readonly h: Builder, key: BarsKey, changed: (key: BarsKey) => void) {
    this.key = key;
    this.select = h('select', { 'aria-label': 'Bar chart value' },
      h('option', { value: 'lossMean', text: BAR_LABELS.lossMean }), h('option', { value: 'share', text: BAR_LABELS.share }));
    this.select.value = key;
    this.caption = h('p', { class: 'cel-bars-caption cel-hint', hidden: true });
    this.chart = h('div', { class: 'cel-bars', role: 'img' });
    this.els = [h('div', { class: 'cel-bars-head' }, h('h4', { text: 'Per class:' }), this.select), this.caption, this.chart];
    this.select.addEventListener('change', () => {
      this.key = this.select.value === 'share' ? 'share' : 'lossMean';
      changed(this.key);
      this.choose();
      if (this.data.rows.length) this.render();
    });
  }

  /** New rows, or a new table order. */
  update(data: ClassBarsData): void {
    this.data = data;
    this.choose();
    this.render();
  }

  setSelected(c: number | null): void {
    this.data = { ...this.data, selected: c };
    for (const bar of Array.from(this.chart.querySelectorAll('.cel-bar-row'))) {
      bar.classList.toggle('cel-selected', Number(bar.getAttribute('data-class')) === c);
    }
  }

  private choose(): void {
    const { rows, order } = this.data;
    this.list = rows.length <= BAR_LIMIT ? Array.from(order, (p) => rows[p]) : topClasses(rows, this.key, BAR_LIMIT);
  }

  /** O(BAR_LIMIT), with a caption when the chart shows the top classes only. */
  private render(): void {
    const h = this.h;
    const { rows, names, colour, selected } = this.data;
    const key = this.key;
    const C = rows.length;
    clear(this.chart);
    const list = this.list;
    let max = 0;
    for (const r of list) if (Number.isFinite(r[key]) && r[key] > max) max = r[key];
    const top = C > BAR_LIMIT;
    this.caption.hidden = !top;
    this.caption.textContent = top ? `The top ${list.length} of ${fmtCount(C)} classes by ${BAR_LABELS[key]}.` : '';
    this.chart.setAttribute('aria-label', top
      ? `Bar chart of ${BAR_LABELS[key]}: the top ${list.length} of ${fmtCount(C)} classes`
      : `Bar chart of ${BAR_LABELS[key]} per class`);
    for (const r of list) {
      const v = r[key];
      const fill = h('div', { class: 'cel-bar-fill' });
      fill.style.width = `${max > 0 && Number.isFinite(v) ? Math.max(0, (v / max) * 100) : 0}%`;
      fill.style.backgroundColor = rgbCss(colour(r.index));
      append(this.chart, h('div', { class: 'cel-bar-row' + (selected === r.index ? ' cel-selected' : ''), 'data-class': r.index },
        h('span', { class: 'cel-bar-label', text: className(names, r.index), title: classLabel(names, r.index) }),
        h('div', { class: 'cel-bar-track' }, fill),
        h('span', { class: 'cel-bar-value', text: key === 'share' ? fmtPct(v) : r.count ? fmt6(v) : '-' })));
    }
  }
}
