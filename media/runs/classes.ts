// Per-class mean loss over the runs as small multiples (data-testid "runs-classes"): one sparkline per
// class with its first and last value and the change, sortable by the change (largest rise or drop first)
// or by class. One card per class: classes, not images, so the DOM stays small whatever the set's size; with
// many runs a card's values are one hover text rather than a dot each.
import type { RunsViewReport } from '../../src/protocol';
import { clear, type Builder } from '../view/dom';
import { className, fmt6 } from '../view/format';
import { lineChart } from './lineChart';
import { classChanges, sortClasses, type ClassChange, type ClassSortKey } from './model';

const SORTS: ReadonlyArray<{ key: ClassSortKey; label: string }> = [
  { key: 'rise', label: 'largest rise first' },
  { key: 'drop', label: 'largest drop first' },
  { key: 'class', label: 'class order' },
];

/** Runs up to which each sparkline point is a dot with its own hover text. */
export const DOTS_UP_TO = 12;

function signed(v: number | null): string {
  return v === null ? '-' : `${v > 0 ? '+' : ''}${fmt6(v)}`;
}

export class ClassesSection {
  readonly el: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly buttons = new Map<ClassSortKey, HTMLButtonElement>();
  private items: ClassChange[] = [];
  private runNames: readonly string[] = [];
  private classNames: readonly string[] = [];

  constructor(private readonly h: Builder, private sort: ClassSortKey = 'rise', private readonly onSort?: (key: ClassSortKey) => void) {
    this.grid = h('div', { class: 'rv-multiples' });
    const bar = h('div', { class: 'rv-sortbar', role: 'group', 'aria-label': 'sort classes' }, 'sort by change: ');
    for (const s of SORTS) {
      const b = h('button', { type: 'button', class: 'rv-sort', 'data-sort': s.key }, s.label);
      b.addEventListener('click', () => this.setSort(s.key));
      this.buttons.set(s.key, b);
      bar.appendChild(b);
    }
    this.el = h('section', { class: 'rv-section', 'data-testid': 'runs-classes' }, h('h2', {}, 'Mean loss per class, per run'), bar, this.grid);
    this.markSort();
  }

  setSort(key: ClassSortKey): void {
    this.sort = key;
    this.markSort();
    this.render();
    this.onSort?.(key);
  }

  private markSort(): void {
    for (const [key, b] of this.buttons) b.setAttribute('aria-pressed', String(key === this.sort));
  }

  show(perClass: RunsViewReport['perClass'], runNames: readonly string[], classNames: readonly string[]): void {
    this.items = classChanges(perClass);
    this.runNames = runNames;
    this.classNames = classNames;
    this.render();
  }

  /** The classes in the order shown (tests read it). */
  order(): number[] {
    return sortClasses(this.items, this.sort).map((c) => c.class);
  }

  private render(): void {
    const h = this.h;
    clear(this.grid);
    for (const c of sortClasses(this.items, this.sort)) {
      const name = className(this.classNames, c.class);
      const title = (k: number): string => `${this.runNames[k] ?? k}: ${fmt6(c.meanLoss[k])}`;
      // A dot per run only for a few runs: 150 classes x 50 runs would be 15,000 elements.
      const svg = c.meanLoss.length <= DOTS_UP_TO
        ? lineChart(h.doc, { values: c.meanLoss, width: 120, height: 36, cls: 'rv-spark', pointTitle: title })
        : lineChart(h.doc, { values: c.meanLoss, width: 120, height: 36, cls: 'rv-spark', title: c.meanLoss.map((_, k) => title(k)).join('\n') });
      const first = c.meanLoss[0] ?? null;
      const last = c.meanLoss[c.meanLoss.length - 1] ?? null;
      this.grid.appendChild(h('div', { class: 'rv-multiple', 'data-class': c.class, 'data-change': c.change === null ? '' : String(c.change), 'data-trend': c.change === null ? 'none' : c.change > 0 ? 'up' : c.change < 0 ? 'down' : 'flat' },
        h('div', { class: 'rv-multiple-name', title: name }, name),
        svg,
        h('div', { class: 'rv-multiple-figures' }, `${fmt6(first)} → ${fmt6(last)} `, h('span', { class: 'rv-change' }, signed(c.change))),
      ));
    }
  }
}
