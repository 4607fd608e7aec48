// The images ranked by their change from the first run to the last (data-testid "runs-images"), in two tabs:
// regressed (value rose; largest rise first, the CLI's changed[] order) and improved (largest fall first).
// Virtualized as the dataset view's table is (media/virtualRows.ts): fixed-height rows, only those in view
// (plus a margin) in the DOM, so 2,000 images x 50 runs cost a few dozen rows. A click or Enter opens the image in the loss panel.
import { VirtualRows } from '../virtualRows';
import type { RunsViewReport } from '../../src/protocol';
import type { Builder } from '../view/dom';
import { fmt6 } from '../view/format';
import { decodeDeltaRow, paintDelta, type DeltaRow } from './deltaThumb';
import { imageTabs, type ImageTab, type RankedImage } from './model';

export const ROW_PX = 26;
export const OVERSCAN = 8;
/** The viewport assumed before layout (and in a test DOM, which has none). */
export const FALLBACK_VIEWPORT_PX = 520;

const TABS: ReadonlyArray<{ key: ImageTab; label: string }> = [
  { key: 'regressed', label: 'Regressed' },
  { key: 'improved', label: 'Improved' },
];

export class ImageList {
  readonly el: HTMLElement;
  private readonly rows: VirtualRows;
  private readonly tabButtons = new Map<ImageTab, HTMLButtonElement>();
  private readonly note: HTMLElement;
  private lists: Record<ImageTab, RankedImage[]> = { regressed: [], improved: [] };
  private perImage: RunsViewReport['perImage'] = [];
  private runNames: readonly string[] = [];
  private readonly thumbs = new Map<number, DeltaRow>();
  private thumbScale = 0;

  constructor(private readonly h: Builder, private tab: ImageTab, private readonly events: { open(index: number): void; tab?(tab: ImageTab): void }) {
    const tabs = h('div', { class: 'rv-tabs', role: 'tablist' });
    for (const t of TABS) {
      const b = h('button', { type: 'button', role: 'tab', class: 'rv-tab', 'data-tab': t.key }, t.label);
      b.addEventListener('click', () => this.setTab(t.key));
      this.tabButtons.set(t.key, b);
      tabs.appendChild(b);
    }
    this.note = h('div', { class: 'rv-list-note' });
    const spacer = h('div', { class: 'rv-spacer' });
    const scroller = h('div', { class: 'rv-scroll', tabindex: -1, role: 'tabpanel' }, spacer);
    this.el = h('section', { class: 'rv-section', 'data-testid': 'runs-images' },
      h('h2', {}, 'Images by change in loss, first run to last'), tabs, this.note,
      h('div', { class: 'rv-row rv-head', role: 'row' }, h('span', { class: 'rv-num' }, '#'), h('span', { title: 'loss map, last run minus first (blue: lower, red: higher)' }, 'Δ'), h('span', {}, 'image'), h('span', { class: 'rv-num' }, 'first run'), h('span', { class: 'rv-num' }, 'last run'), h('span', { class: 'rv-num' }, 'change')),
      scroller);
    this.rows = new VirtualRows(scroller, spacer, {
      rowPx: ROW_PX, overscan: OVERSCAN, fallbackViewportPx: FALLBACK_VIEWPORT_PX,
      count: () => this.lists[this.tab].length, row: (pos) => this.row(pos, this.lists[this.tab][pos]), open: (i) => this.events.open(i),
    });
    this.markTab();
  }

  get currentTab(): ImageTab {
    return this.tab;
  }

  setTab(tab: ImageTab): void {
    if (tab !== this.tab) this.rows.scrollToTop();
    this.tab = tab;
    this.markTab();
    this.redraw();
    this.events.tab?.(tab);
  }

  private markTab(): void {
    for (const [key, b] of this.tabButtons) {
      b.setAttribute('aria-selected', String(key === this.tab));
      b.textContent = `${TABS.find((t) => t.key === key)!.label} (${this.lists[key].length})`;
    }
  }

  show(report: RunsViewReport): void {
    this.lists = imageTabs(report.changed);
    this.perImage = report.perImage;
    this.runNames = report.runs.map((r) => r.name);
    this.markTab();
    this.redraw();
  }

  /** More of the last-minus-first loss thumbnails arrived: the rows in view are drawn again with them. */
  addDeltaThumbnails(rows: readonly DeltaRow[], scale: number): void {
    for (const r of rows) this.thumbs.set(r.index, r);
    this.thumbScale = scale;
    this.redraw();
  }

  /** The current tab's images in rank order (tests read it). */
  ranked(): readonly RankedImage[] {
    return this.lists[this.tab];
  }

  redraw(): void {
    this.rows.clear();
    this.render();
  }

  visibleRange(): { first: number; last: number } {
    return this.rows.visibleRange();
  }

  render(): void {
    const list = this.lists[this.tab];
    const first = this.runNames[0] ?? 'first';
    const last = this.runNames[this.runNames.length - 1] ?? 'last';
    this.note.textContent = list.length === 0
      ? `no image's loss ${this.tab === 'regressed' ? 'rose' : 'fell'} from ${first} to ${last}`
      : `${first} → ${last}; click an image to compare the two runs and step through every run`;
    this.rows.render();
  }

  private row(pos: number, r: RankedImage): HTMLElement {
    const h = this.h;
    const img = this.perImage[r.index];
    const values = img?.value ?? [];
    const canvas = h('canvas', { class: 'rv-thumb', 'aria-hidden': 'true', 'data-testid': 'runs-delta-thumb' });
    const row = this.thumbs.get(r.index);
    const thumb = row ? decodeDeltaRow(row) : null;
    if (thumb) paintDelta(canvas, thumb, this.thumbScale);
    return h('div', { class: 'rv-row', role: 'row', tabindex: 0, 'data-index': r.index, 'data-pos': pos, 'data-name': img?.name ?? '', title: `open ${img?.name ?? ''} in the loss panel` },
      h('span', { class: 'rv-rank rv-num' }, String(pos + 1)),
      h('span', { class: 'rv-thumb-cell' }, canvas),
      h('span', { class: 'rv-name', 'data-col': 'name' }, img?.name ?? ''),
      h('span', { class: 'rv-num', 'data-col': 'first' }, fmt6(values[0] ?? null)),
      h('span', { class: 'rv-num', 'data-col': 'last' }, fmt6(values[values.length - 1] ?? null)),
      h('span', { class: 'rv-num rv-change', 'data-col': 'delta' }, `${r.delta > 0 ? '+' : ''}${fmt6(r.delta)}`),
    );
  }

  /** Clears the list (a new evaluation starts). */
  clear(): void {
    this.lists = { regressed: [], improved: [] };
    this.perImage = [];
    this.thumbs.clear();
    this.rows.clear();
    this.markTab();
  }
}
