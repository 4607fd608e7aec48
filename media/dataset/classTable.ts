// The per-class table of the dataset view: pixel count, IoU, accuracy (recall), Dice, mean loss and share of
// the loss per class, sortable by any column (mean loss, worst first, by default).
import type { DatasetSummary } from '../../src/protocol';
import { clear, type Builder } from '../view/dom';
import { classLabel, fmt6, fmtCount, fmtPct } from '../view/format';

type PerClass = DatasetSummary['perClass'][number];
export type ClassSortKey = 'class' | 'count' | 'iou' | 'accuracy' | 'dice' | 'meanLoss' | 'share';
export interface ClassSort {
  readonly key: ClassSortKey;
  readonly descending: boolean;
}

export const DEFAULT_CLASS_SORT: ClassSort = { key: 'meanLoss', descending: true };

const COLUMNS: ReadonlyArray<{ key: ClassSortKey; label: string; fmt: (c: PerClass) => string }> = [
  { key: 'class', label: 'class', fmt: () => '' },
  { key: 'count', label: 'pixels', fmt: (c) => fmtCount(c.count) },
  { key: 'iou', label: 'IoU', fmt: (c) => fmtPct(c.iou) },
  { key: 'accuracy', label: 'accuracy', fmt: (c) => fmtPct(c.accuracy) },
  { key: 'dice', label: 'Dice', fmt: (c) => fmtPct(c.dice) },
  { key: 'meanLoss', label: 'mean loss', fmt: (c) => fmt6(c.meanLoss) },
  { key: 'share', label: 'share', fmt: (c) => fmtPct(c.share) },
];

/** Sorted copy: nulls last either way, ties by class index. */
export function sortClasses(rows: readonly PerClass[], sort: ClassSort): PerClass[] {
  return [...rows].sort((a, b) => {
    const va = a[sort.key];
    const vb = b[sort.key];
    if (va === null || vb === null) return va === null ? (vb === null ? a.class - b.class : 1) : -1;
    const c = va - vb;
    return (sort.descending ? -c : c) || a.class - b.class;
  });
}

export class ClassSection {
  readonly el: HTMLElement;
  private readonly head: HTMLTableRowElement;
  private readonly body: HTMLTableSectionElement;
  private rows: readonly PerClass[] = [];
  private names: readonly string[] = [];
  sort: ClassSort = DEFAULT_CLASS_SORT;

  constructor(private readonly h: Builder) {
    this.head = h('tr');
    this.body = h('tbody');
    this.el = h('section', { class: 'ds-section ds-classes' }, h('h2', {}, 'Classes'),
      h('div', { class: 'ds-class-wrap' }, h('table', { class: 'ds-class-table', 'data-testid': 'dataset-class-table' }, h('thead', {}, this.head), this.body)));
    this.renderHead();
  }

  show(rows: readonly PerClass[], names: readonly string[]): void {
    // Classes that never occur as a label nor as a prediction tell nothing.
    this.rows = rows.filter((c) => c.count > 0 || c.iou !== null);
    this.names = names;
    this.renderBody();
  }

  setSort(sort: ClassSort): void {
    this.sort = sort;
    this.renderHead();
    this.renderBody();
  }

  private renderHead(): void {
    const h = this.h;
    clear(this.head);
    for (const c of COLUMNS) {
      const active = this.sort.key === c.key;
      const btn = h('button', { class: 'ds-sort', type: 'button', 'data-sort': c.key }, c.label + (active ? (this.sort.descending ? ' ▼' : ' ▲') : ''));
      btn.addEventListener('click', () => this.setSort({ key: c.key, descending: active ? !this.sort.descending : c.key !== 'class' }));
      this.head.appendChild(h('th', { class: c.key === 'class' ? '' : 'ds-num', 'aria-sort': active ? (this.sort.descending ? 'descending' : 'ascending') : 'none' }, btn));
    }
  }

  private renderBody(): void {
    const h = this.h;
    clear(this.body);
    for (const r of sortClasses(this.rows, this.sort)) {
      const tr = h('tr', { 'data-class': r.class });
      for (const c of COLUMNS) tr.appendChild(h('td', { class: c.key === 'class' ? '' : 'ds-num' }, c.key === 'class' ? classLabel(this.names, r.class) : c.fmt(r)));
      this.body.appendChild(tr);
    }
  }
}
