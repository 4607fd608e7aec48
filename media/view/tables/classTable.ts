// The per-class table and its bar chart: one component with its own state (sort, search text, scroll
// window). It scales to vocabularies (262,144 classes): the DOM holds only the rows in view (at most
// MAX_ROWS; spacer rows above and below keep the scroll height), the order is computed once per data or
// sort change (O(C), a radix sort; by name O(C log C)), a search is one O(C) pass per keystroke, a scroll
// renders O(visible rows), and the chart (classBars.ts) shows the top BAR_LIMIT classes. LossView gives it
// data with update() and hears back through ClassTableEvents (a row picked, a sort or chart choice to keep).
import type { ClassStats } from '../../../src/kernel/types';
import { ClassBars, type BarsKey } from './classBars';
import { rgbCss } from '../render/colormap';
import { clear, type Builder } from '../dom';
import { classLabel, className, fmt6, fmtCount, fmtPct } from '../format';
import { classColor, type RGB } from '../render/palette';
import {
  classSearch, classTableCsv, defaultSortFor, filterOrder, isDefaultSort, LARGE_CLASS_COUNT, nextSort, sortOrder,
  type ClassRow, type ClassSearch, type SortKey, type SortSpec,
} from './table';

export { BAR_LIMIT, type BarsKey } from './classBars';

export interface ClassTableEvents {
  /** A row was clicked (or its button pressed): LossView toggles the heatmap's class filter. */
  pick(c: number): void;
  /** The user chose a sort or a chart value: LossView keeps it in the view state. */
  change(patch: { readonly sort?: SortSpec; readonly bars?: BarsKey }): void;
}

export interface ClassTableInit {
  /** The stored sort. The class-index default gives way to share, largest first, above LARGE_CLASS_COUNT classes. */
  readonly sort: SortSpec;
  readonly bars: BarsKey;
}

export interface ClassTableOptions {
  /** Per-class weights exist: show the weight column. */
  readonly withWeight?: boolean;
  /** A focal result: show each class's plain cross-entropy mean beside the focal mean. */
  readonly withCe?: boolean;
  /** The class the heatmap is filtered to (its row is marked), or null. */
  readonly selected?: number | null;
  /** Likely label errors per given class (the label-errors mode found them): a Flagged column. */
  readonly flagged?: readonly number[] | null;
}

/** Most row elements the table ever holds; up to this many classes (after the search) are all in the DOM. */
export const MAX_ROWS = 100;
/** Rows rendered beyond each edge of the visible part. */
const OVERSCAN = 10;
/** Row pitch until one is measured (the CSS gives rows this height; a larger font makes them taller). */
const ROW_PX = 24;
/** Height of the scroll area when the page cannot tell (hidden, or no layout): the CSS max-height. */
const VIEW_PX = 420;

interface Column {
  readonly key: SortKey;
  readonly label: string;
  readonly cell: (r: ClassRow) => string;
}

export class ClassTable {
  /** The section to place in the page. */
  readonly el: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly thead: HTMLTableSectionElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly wrap: HTMLElement;
  private readonly searchInput: HTMLInputElement;
  private readonly status: HTMLElement;
  private readonly bars: ClassBars;

  private rows: readonly ClassRow[] = [];
  private names: readonly string[] = [];
  private withWeight = false;
  private withCe = false;
  private withFlagged = false;
  private selected: number | null = null;
  private cols: Column[] = [];
  /** The user's sort (from the stored state or a header click); explicit: not the untouched default. */
  private chosen: SortSpec;
  private explicit: boolean;
  /** Positions into rows in table order, and those the search keeps. */
  private order: Int32Array = new Int32Array(0);
  private shown: Int32Array = new Int32Array(0);
  /** What the search looks in, built on the first search after a data change. */
  private search: ClassSearch | null = null;
  private query = '';
  private rowPx = ROW_PX;
  private measured = false;
  private start = -1;
  private end = -1;

  /** Colour of a class's swatch and bar (the view's class colours; the palette by default). */
  private colour: (c: number) => RGB = classColor;

  constructor(private readonly h: Builder, private readonly events: ClassTableEvents, init: ClassTableInit) {
    this.chosen = init.sort;
    this.explicit = !isDefaultSort(init.sort);
    this.thead = h('thead');
    this.tbody = h('tbody');
    this.table = h('table', { class: 'cel-table', 'data-testid': 'class-table' },
      h('caption', { class: 'cel-sr', text: 'Per-class statistics. Sort with the column buttons; pick a class with its row button; arrow keys, Page Up/Down, Home and End move between rows.' }),
      this.thead, this.tbody);
    this.wrap = h('div', { class: 'cel-table-wrap' }, this.table);
    this.searchInput = h('input', {
      type: 'search', class: 'cel-text cel-class-search', 'aria-label': 'Filter classes by name or index',
      placeholder: 'Filter by name or index', spellcheck: 'false', autocomplete: 'off',
    });
    this.status = h('span', { class: 'cel-table-status cel-dim', role: 'status', 'aria-live': 'polite' });
    this.bars = new ClassBars(h, init.bars, (bars) => this.events.change({ bars }));
    this.el = h('section', { class: 'cel-classes', 'aria-label': 'Per-class statistics' },
      h('h3', { text: 'Per class' }),
      h('p', { class: 'cel-hint', text: 'Click a row to show only that class on the heatmap; click it again to show all.' }),
      h('div', { class: 'cel-table-tools' }, this.searchInput, this.status),
      this.wrap,
      ...this.bars.els);
    this.wire();
  }

  /** The sort in effect: the chosen one, or for an untouched default the one for this many classes. */
  get sort(): SortSpec {
    return this.explicit ? this.chosen : defaultSortFor(this.rows.length);
  }

  /** New statistics (a summary arrived): sort once, search once, render the rows in view and the chart. */
  update(stats: readonly ClassStats[], names: readonly string[], opts: ClassTableOptions = {}): void {
    const sameCount = stats.length === this.rows.length;
    const flagged = opts.flagged ?? null;
    this.withFlagged = flagged !== null;
    this.rows = flagged === null ? stats : stats.map((r) => ({ ...r, flagged: flagged[r.index] ?? 0 }));
    this.names = names;
    this.withWeight = opts.withWeight ?? false;
    this.withCe = opts.withCe ?? false;
    this.selected = opts.selected ?? null;
    this.search = null;
    this.cols = this.columns();
    this.order = sortOrder(stats, this.sort, names);
    this.applySearch();
    // The same classes recomputed keep their place; another table starts at the top.
    if (!sameCount) this.wrap.scrollTop = 0;
    this.renderHead();
    this.renderRows(true);
    this.renderBars();
  }

  /** Class colours (setting crossEntropyLens.classColors or the palette); applied at the next update. */
  setColours(colour: (c: number) => RGB): void {
    this.colour = colour;
  }

  /** Mark the class the heatmap is filtered to: the rows in view and the bars change in place. */
  setSelected(c: number | null): void {
    this.selected = c;
    for (const tr of Array.from(this.tbody.querySelectorAll('tr[data-class]'))) {
      const on = Number(tr.getAttribute('data-class')) === c;
      tr.classList.toggle('cel-selected', on);
      tr.querySelector('.cel-rowbtn')?.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    this.bars.setSelected(c);
  }

  /** Every class as CSV in the table's order (the search does not apply: the export is the whole table). */
  csv(): string {
    return classTableCsv(Array.from(this.order, (p) => this.rows[p]), this.names);
  }

  /** Focus the row button of class c when its row is in the DOM. */
  focusClass(c: number, preventScroll = false): void {
    (this.tbody.querySelector(`tr[data-class="${c}"] .cel-rowbtn`) as HTMLButtonElement | null)?.focus({ preventScroll });
  }

  // ---------------------------------------------------------------------------------------------------

  private wire(): void {
    this.tbody.addEventListener('click', (e) => {
      const tr = (e.target as Element | null)?.closest?.('tr[data-class]');
      if (!tr || !this.tbody.contains(tr)) return;
      const c = Number(tr.getAttribute('data-class'));
      this.events.pick(c);
      this.focusClass(c);
    });
    this.tbody.addEventListener('keydown', (e) => this.onRowKey(e));
    this.wrap.addEventListener('scroll', () => this.renderRows(false));
    this.searchInput.addEventListener('input', () => this.setQuery(this.searchInput.value));
    this.searchInput.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || this.searchInput.value === '') return;
      e.preventDefault();
      e.stopPropagation();
      this.searchInput.value = '';
      this.setQuery('');
    });
  }

  private columns(): Column[] {
    const names = this.names;
    return [
      { key: 'class', label: 'Class', cell: (r) => className(names, r.index) },
      { key: 'count', label: 'Count', cell: (r) => fmtCount(r.count) },
      { key: 'ignored', label: 'Ignored', cell: (r) => fmtCount(r.ignored) },
      ...(this.withWeight ? [{ key: 'weight' as SortKey, label: 'Weight', cell: (r: ClassStats) => fmt6(r.weight) }] : []),
      { key: 'lossMean', label: 'Mean loss', cell: (r) => (r.count ? fmt6(r.lossMean) : '-') },
      ...(this.withCe ? [{ key: 'ceMean' as SortKey, label: 'Mean CE', cell: (r: ClassStats) => (r.count && r.ceMean !== undefined ? fmt6(r.ceMean) : '-') }] : []),
      { key: 'share', label: 'Share', cell: (r) => fmtPct(r.share) },
      { key: 'accuracy', label: 'Accuracy', cell: (r) => fmtPct(r.accuracy) },
      { key: 'iou', label: 'IoU', cell: (r) => fmtPct(r.iou) },
      ...(this.withFlagged ? [{ key: 'flagged' as SortKey, label: 'Label errors', cell: (r: ClassRow) => fmtCount(r.flagged ?? 0) }] : []),
    ];
  }

  private setSort(key: SortKey): void {
    this.chosen = nextSort(this.sort, key, this.names.length > 0);
    this.explicit = true;
    this.events.change({ sort: this.chosen });
    this.order = sortOrder(this.rows, this.chosen, this.names);
    this.applySearch();
    this.wrap.scrollTop = 0;
    this.renderHead();
    this.renderRows(true);
    this.renderBars();
    (this.thead.querySelector(`th[data-key="${key}"] button`) as HTMLButtonElement | null)?.focus();
  }

  private setQuery(q: string): void {
    if (q === this.query) return;
    this.query = q;
    this.applySearch();
    this.wrap.scrollTop = 0;
    this.renderRows(true);
  }

  /** shown = the rows of order the search keeps (one O(C) pass); the status line says how many. */
  private applySearch(): void {
    if (this.query.trim() === '') this.shown = this.order;
    else {
      this.search ??= classSearch(this.rows, this.names);
      this.shown = filterOrder(this.order, this.search, this.query, this.rows);
    }
    const C = this.rows.length;
    const auto = !this.explicit && C > LARGE_CLASS_COUNT;
    const what = this.shown === this.order
      ? `${fmtCount(C)} ${C === 1 ? 'class' : 'classes'}`
      : `${fmtCount(this.shown.length)} of ${fmtCount(C)} classes match`;
    this.status.textContent = auto ? `${what}; over ${fmtCount(LARGE_CLASS_COUNT)} classes the table starts sorted by share, largest first` : what;
    this.table.setAttribute('aria-rowcount', String(this.shown.length + 1));
  }

  private renderHead(): void {
    const h = this.h;
    const sort = this.sort;
    const headRow = h('tr', { 'aria-rowindex': 1 });
    for (const c of this.cols) {
      const active = sort.key === c.key || (c.key === 'class' && sort.key === 'name');
      const mark = active ? `${sort.key === 'name' ? ' by name' : ''}${sort.dir === 'asc' ? ' ▲' : ' ▼'}` : '';
      const btn = h('button', { type: 'button', class: 'cel-sort', 'aria-label': `Sort by ${c.label}` },
        c.label, h('span', { class: 'cel-sort-mark', 'aria-hidden': 'true', text: mark }));
      btn.addEventListener('click', () => this.setSort(c.key));
      headRow.appendChild(h('th', { scope: 'col', 'data-key': c.key, class: c.key === 'class' ? 'cel-left' : '', 'aria-sort': active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none' }, btn));
    }
    clear(this.thead);
    this.thead.appendChild(headRow);
  }

  /** Height of the scroll area (the CSS max-height where the page has no layout to measure). */
  private viewPx(): number {
    return this.wrap.clientHeight || VIEW_PX;
  }

  /** Positions [start, end) of shown to have in the DOM for the current scroll offset. */
  private windowFor(total: number): [number, number] {
    if (total <= MAX_ROWS) return [0, total];
    const visible = Math.ceil(this.viewPx() / this.rowPx) + 1;
    const first = Math.min(Math.max(0, Math.floor(this.wrap.scrollTop / this.rowPx)), Math.max(0, total - visible));
    const start = Math.max(0, first - OVERSCAN);
    const end = Math.min(total, first + visible + OVERSCAN, start + MAX_ROWS);
    return [start, end];
  }

  /** The rows in view (O(visible)); unless forced, nothing happens while the window stays the same. */
  private renderRows(force: boolean): void {
    const total = this.shown.length;
    const [start, end] = this.windowFor(total);
    if (!force && start === this.start && end === this.end) return;
    this.start = start;
    this.end = end;
    const h = this.h;
    const doc = this.tbody.ownerDocument;
    const active = doc.activeElement;
    const focusedRow = active && this.tbody.contains(active) ? active.closest('tr[data-class]') : null;
    const focused = focusedRow ? Number(focusedRow.getAttribute('data-class')) : null;
    const spacer = (px: number): HTMLElement => {
      const td = h('td', { colspan: this.cols.length });
      td.style.height = `${px}px`;
      return h('tr', { class: 'cel-spacer', 'aria-hidden': 'true' }, td);
    };
    const next = doc.createDocumentFragment();
    if (start > 0) next.appendChild(spacer(start * this.rowPx));
    for (let k = start; k < end; k++) next.appendChild(this.rowElement(this.rows[this.shown[k]], k));
    if (end < total) next.appendChild(spacer((total - end) * this.rowPx));
    if (total === 0 && this.rows.length > 0) {
      next.appendChild(h('tr', { class: 'cel-nomatch' }, h('td', { class: 'cel-left', colspan: this.cols.length, text: 'No class matches the filter.' })));
    }
    // The new rows go in before the old ones leave: removing a focused row makes the browser lay out at
    // once, and an empty tbody would clamp the scroll offset to 0.
    const old = Array.from(this.tbody.childNodes);
    this.tbody.appendChild(next);
    for (const n of old) this.tbody.removeChild(n);
    if (focused !== null) this.focusClass(focused, true);
    if (!this.measured && total > MAX_ROWS) this.measureRows();
  }

  /** Take the row pitch from the page once (rows are one line high; the font decides how high). */
  private measureRows(): void {
    const data = this.tbody.querySelectorAll('tr[data-class]');
    if (data.length < 2) return;
    const pitch = data[1].getBoundingClientRect().top - data[0].getBoundingClientRect().top;
    if (!(pitch > 0)) return; // no layout (a test DOM, a hidden page): keep the CSS height
    this.measured = true;
    if (Math.abs(pitch - this.rowPx) > 0.25) {
      this.rowPx = pitch;
      this.renderRows(true);
    }
  }

  private rowElement(r: ClassStats, pos: number): HTMLElement {
    const h = this.h;
    const names = this.names;
    const selected = this.selected === r.index;
    const swatch = h('span', { class: 'cel-swatch', 'aria-hidden': 'true' });
    swatch.style.backgroundColor = rgbCss(this.colour(r.index));
    const pick = h('button', { type: 'button', class: 'cel-rowbtn', 'aria-pressed': selected ? 'true' : 'false', title: `Show only class ${classLabel(names, r.index)} on the heatmap` },
      swatch, h('span', { class: 'cel-rowname', text: className(names, r.index) }));
    const tr = h('tr', { 'data-class': r.index, 'aria-rowindex': pos + 2, class: selected ? 'cel-selected' : '' },
      h('th', { scope: 'row', class: 'cel-left' }, pick),
      ...this.cols.slice(1).map((c) => h('td', { text: c.cell(r) })));
    if (r.count === 0 && r.ignored === 0) tr.classList.add('cel-empty');
    return tr;
  }

  /** Arrow keys, Page Up/Down, Home and End move the focus between rows, scrolling rows in as needed. */
  private onRowKey(e: KeyboardEvent): void {
    const tr = (e.target as Element | null)?.closest?.('tr[data-class]');
    if (!tr) return;
    const pos = Number(tr.getAttribute('aria-rowindex')) - 2;
    const page = Math.max(1, Math.floor(this.viewPx() / this.rowPx) - 2);
    const last = this.shown.length - 1;
    let to: number;
    switch (e.key) {
      case 'ArrowDown': to = pos + 1; break;
      case 'ArrowUp': to = pos - 1; break;
      case 'PageDown': to = pos + page; break;
      case 'PageUp': to = pos - page; break;
      case 'Home': to = 0; break;
      case 'End': to = last; break;
      default: return;
    }
    e.preventDefault();
    this.focusPosition(Math.min(last, Math.max(0, to)));
  }

  private focusPosition(pos: number): void {
    if (this.shown.length > MAX_ROWS) {
      const head = this.thead.getBoundingClientRect().height || 0;
      const view = this.viewPx() - head;
      const top = pos * this.rowPx;
      const st = this.wrap.scrollTop;
      if (top < st) this.wrap.scrollTop = top;
      else if (top + this.rowPx > st + view) this.wrap.scrollTop = top + this.rowPx - view;
      this.renderRows(false);
    }
    this.focusClass(this.rows[this.shown[pos]].index, true);
  }

  /** The chart follows the table's rows and order; colours are read when it draws, as the rows' are. */
  private renderBars(): void {
    this.bars.update({ rows: this.rows, order: this.order, names: this.names, colour: (c) => this.colour(c), selected: this.selected });
  }
}
