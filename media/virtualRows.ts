// A virtualized list of fixed-height rows (the dataset view's images, the runs view's images): only the rows
// in view plus a margin are in the DOM, absolutely placed in a spacer as tall as every row together, so
// 10,000 rows cost a few dozen elements. Scrolling redraws; a click or Enter on a row opens its data-index;
// arrow keys move the focus by one position (media/rowEvents.ts). The owner builds each row's element.
import { wireRowEvents } from './rowEvents';

export interface VirtualRowsSpec {
  /** Row pitch in pixels (the stylesheet gives rows this height). */
  readonly rowPx: number;
  /** Rows drawn beyond the visible ones, above and below. */
  readonly overscan: number;
  /** The viewport assumed before layout (and in a test DOM, which has none). */
  readonly fallbackViewportPx: number;
  /** Rows in the list now. */
  count(): number;
  /** The element of the row at this position (data-index and data-pos set by the owner). */
  row(pos: number): HTMLElement;
  open(index: number): void;
}

export class VirtualRows {
  /** Rows in the DOM by their position. */
  private readonly drawn = new Map<number, HTMLElement>();

  constructor(readonly scroller: HTMLElement, private readonly spacer: HTMLElement, private readonly spec: VirtualRowsSpec) {
    wireRowEvents(scroller, { render: () => this.render(), open: (i) => spec.open(i), focusPosition: (p) => this.focusPosition(p) });
  }

  private viewport(): number {
    return this.scroller.clientHeight > 0 ? this.scroller.clientHeight : this.spec.fallbackViewportPx;
  }

  /** The positions that should be in the DOM: those in view, plus the overscan each side. */
  visibleRange(): { first: number; last: number } {
    const { rowPx, overscan } = this.spec;
    const top = this.scroller.scrollTop;
    return {
      first: Math.max(0, Math.floor(top / rowPx) - overscan),
      last: Math.min(this.spec.count() - 1, Math.ceil((top + this.viewport()) / rowPx) + overscan),
    };
  }

  render(): void {
    this.spacer.style.height = `${this.spec.count() * this.spec.rowPx}px`;
    const { first, last } = this.visibleRange();
    for (const [pos, el] of this.drawn) {
      if (pos < first || pos > last) {
        el.remove();
        this.drawn.delete(pos);
      }
    }
    for (let pos = first; pos <= last; pos++) {
      if (this.drawn.has(pos)) continue;
      const el = this.spec.row(pos);
      el.style.top = `${pos * this.spec.rowPx}px`;
      this.drawn.set(pos, el);
      this.spacer.appendChild(el);
    }
  }

  /** Every drawn row out of the DOM. */
  clear(): void {
    for (const el of this.drawn.values()) el.remove();
    this.drawn.clear();
  }

  scrollToTop(): void {
    this.scroller.scrollTop = 0;
  }

  focusPosition(pos: number): void {
    const { rowPx } = this.spec;
    if (pos < 0 || pos >= this.spec.count()) return;
    const top = pos * rowPx;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + rowPx > this.scroller.scrollTop + this.viewport()) this.scroller.scrollTop = top + rowPx - this.viewport();
    this.render();
    this.drawn.get(pos)?.focus();
  }
}
