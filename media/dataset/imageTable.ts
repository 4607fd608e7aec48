// The per-image table (data-testid="image-table"): name, loss, pixel accuracy, mIoU, worst class and a loss
// thumbnail per row. Virtualized: rows have a fixed height and only those in view (plus a margin) are in
// the DOM, so 10,000 images scroll as fast as 10. Sorting by any column; worst first by default. A click or
// Enter on a row opens that image in the loss panel.
import { VirtualRows } from '../virtualRows';
import { clear, type Builder } from '../view/dom';
import { className, fmt6, fmtPct } from '../view/format';
import { type ImageSort, type ImageSortKey, type ImageStore } from './model';
import { paintThumbnail } from './thumbnail';

/** Row pitch in pixels (the stylesheet gives rows this height). */
export const ROW_PX = 28;
/** Rows drawn beyond the visible ones, above and below. */
export const OVERSCAN = 8;
/** The viewport assumed before layout (and in a test DOM, which has none). */
export const FALLBACK_VIEWPORT_PX = 560;

const COLUMNS: ReadonlyArray<{ key: ImageSortKey | null; label: string; numeric: boolean }> = [
  { key: null, label: 'map', numeric: false },
  { key: 'name', label: 'image', numeric: false },
  { key: 'value', label: 'loss', numeric: true },
  { key: 'pixelAccuracy', label: 'pixel acc.', numeric: true },
  { key: 'miou', label: 'mIoU', numeric: true },
  { key: 'worstClass', label: 'worst class', numeric: true },
];

/** Shown once Find likely label errors has run (label quality ascending: most likely mislabelled first). */
const LABEL_COLUMNS: ReadonlyArray<{ key: ImageSortKey; label: string; numeric: boolean }> = [
  { key: 'labelIssues', label: 'label issues', numeric: true },
  { key: 'labelQuality', label: 'label quality', numeric: true },
];

export interface ImageTableEvents {
  open(index: number): void;
  /** The user picked another sort (the page keeps it in its saved state). */
  sorted?(sort: ImageSort): void;
}

export class ImageTable {
  readonly el: HTMLElement;
  private readonly header: HTMLElement;
  private readonly count: HTMLElement;
  private readonly table: HTMLElement;
  private classNames: readonly string[] = [];
  private readonly rows: VirtualRows;

  constructor(
    private readonly h: Builder,
    private readonly store: ImageStore,
    private readonly events: ImageTableEvents,
  ) {
    this.header = h('div', { class: 'ds-img-head', role: 'row', 'aria-rowindex': 1 });
    const spacer = h('div', { class: 'ds-img-spacer' });
    const scroller = h('div', { class: 'ds-img-scroll', tabindex: -1 }, spacer);
    this.count = h('span', { class: 'ds-img-count' });
    this.el = h('section', { class: 'ds-section ds-images' },
      h('h2', {}, 'Images ', this.count),
      (this.table = h('div', { class: 'ds-img-table', 'data-testid': 'image-table', role: 'table', 'aria-label': 'images' }, this.header, scroller)),
    );
    this.rows = new VirtualRows(scroller, spacer, {
      rowPx: ROW_PX, overscan: OVERSCAN, fallbackViewportPx: FALLBACK_VIEWPORT_PX,
      count: () => this.store.size, row: (pos) => this.row(pos), open: (i) => this.events.open(i),
    });
    this.renderHeader();
  }

  setClassNames(names: readonly string[]): void {
    this.classNames = names;
  }

  get sort(): ImageSort {
    return this.store.sort;
  }

  setSort(sort: ImageSort): void {
    this.store.setSort(sort);
    this.renderHeader();
    this.redraw();
  }

  /** Label-issue figures arrived: their columns show, most likely mislabelled first. */
  showLabelIssues(): void {
    this.setSort({ key: 'labelQuality', descending: false });
    this.events.sorted?.(this.store.sort);
  }

  private renderHeader(): void {
    const h = this.h;
    clear(this.header);
    const s = this.store.sort;
    this.table.classList.toggle('ds-with-issues', this.store.hasLabelIssues);
    for (const c of [...COLUMNS, ...(this.store.hasLabelIssues ? LABEL_COLUMNS : [])]) {
      const cls = `ds-cell ds-col-${c.key ?? 'map'}${c.numeric ? ' ds-num' : ''}`;
      if (c.key === null) {
        this.header.appendChild(h('span', { class: cls, role: 'columnheader' }, c.label));
        continue;
      }
      const key = c.key;
      const active = s.key === key;
      const btn = h('button', { class: 'ds-sort', type: 'button', 'data-sort': key, title: `sort by ${c.label}` }, c.label + (active ? (s.descending ? ' ▼' : ' ▲') : ''));
      btn.addEventListener('click', () => {
        // A new column starts worst first: the highest loss and count of label issues, the lowest accuracy,
        // mIoU and label quality.
        const descending = active ? !s.descending : key === 'value' || key === 'labelIssues';
        this.setSort({ key, descending });
        this.events.sorted?.(this.store.sort);
      });
      this.header.appendChild(h('span', { class: cls, role: 'columnheader', 'aria-sort': active ? (s.descending ? 'descending' : 'ascending') : 'none' }, btn));
    }
  }

  /** After new rows, a new sort or a new colour scale: the drawn rows are rebuilt (positions changed). */
  redraw(): void {
    this.rows.clear();
    this.render();
  }

  /** The rows that should be in the DOM: those in view, plus OVERSCAN each side. */
  visibleRange(): { first: number; last: number } {
    return this.rows.visibleRange();
  }

  render(): void {
    this.count.textContent = `(${this.store.size})`;
    this.rows.render();
  }

  private row(pos: number): HTMLElement {
    const h = this.h;
    const r = this.store.sorted()[pos];
    const canvas = h('canvas', { class: 'ds-thumb', 'aria-hidden': 'true' });
    const data = this.store.thumbnail(r.index);
    if (r.thumbnail && data) paintThumbnail(canvas, r.thumbnail.h, r.thumbnail.w, data, this.store.thumbMax);
    return h('div', { class: 'ds-img-row', role: 'row', tabindex: 0, 'data-index': r.index, 'data-pos': pos, 'aria-rowindex': pos + 2, title: `open ${r.name} in the loss panel` },
      h('span', { class: 'ds-cell ds-col-map', role: 'cell' }, canvas),
      h('span', { class: 'ds-cell ds-col-name', role: 'cell', 'data-col': 'name' }, r.name),
      h('span', { class: 'ds-cell ds-col-value ds-num', role: 'cell', 'data-col': 'value' }, fmt6(r.value)),
      h('span', { class: 'ds-cell ds-col-pixelAccuracy ds-num', role: 'cell' }, fmtPct(r.pixelAccuracy)),
      h('span', { class: 'ds-cell ds-col-miou ds-num', role: 'cell' }, fmtPct(r.miou)),
      h('span', { class: 'ds-cell ds-col-worstClass ds-num', role: 'cell' }, r.worstClass === null ? '-' : className(this.classNames, r.worstClass)),
      ...(this.store.hasLabelIssues
        ? [
          h('span', { class: 'ds-cell ds-col-labelIssues ds-num', role: 'cell', 'data-col': 'labelIssues' }, String(r.labelIssues ?? '-')),
          h('span', { class: 'ds-cell ds-col-labelQuality ds-num', role: 'cell', 'data-col': 'labelQuality' }, r.labelQuality === null || r.labelQuality === undefined ? '-' : fmt6(r.labelQuality)),
        ]
        : []),
    );
  }
}
