// The step-by-step breakdown of one element (softmax, log, weight, reduction), opened by a click or Enter
// on the heatmap; the numbers come from the host's explainElement (media/view/analysis/explain.ts lays them out).
import { append, clear } from '../dom';
import { buildBreakdown, fmtIndex } from './explain';
import { fmt6 } from '../format';
import { detailKey, type ViewContext, type ViewModel } from '../model';

const EXPLAIN_TIMEOUT_MS = 8000;

/** The kernel explains cross-entropy elements only (a focal or binary loss would get the wrong steps). */
export function canExplain(model: ViewModel): boolean {
  return model.summary?.options.loss === 'ce';
}

export class Breakdown {
  readonly el: HTMLElement;
  /** The element shown (its detail key), or null when closed. */
  key: string | null = null;
  /** The last explain request posted (hover and the breakdown share it, so one is not asked twice). */
  lastPosted: string | null = null;
  private timeout: number | null = null;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly events: { closed(): void; note(text: string): void }) {
    this.el = ctx.h('section', { class: 'cel-explain', hidden: true, 'aria-live': 'polite', 'aria-label': 'Step-by-step breakdown' });
  }

  open(n: number, index: number[]): void {
    if (!canExplain(this.model)) {
      this.events.note('The step-by-step breakdown covers cross-entropy only.');
      return;
    }
    const h = this.ctx.h;
    const key = detailKey(n, index);
    this.key = key;
    this.el.hidden = false;
    clear(this.el);
    append(this.el, h('p', { class: 'cel-dim', text: `Explaining element ${fmtIndex(n, index)}…` }));
    if (this.model.hasDetail(key)) return this.render();
    this.lastPosted = key;
    this.ctx.post({ type: 'explain', n, index });
    if (this.timeout !== null) this.ctx.timers.clearTimeout(this.timeout);
    this.timeout = this.ctx.timers.setTimeout(() => {
      this.timeout = null;
      if (this.key !== key || this.model.hasDetail(key) || !this.el.isConnected) return;
      clear(this.el);
      append(this.el, h('p', { class: 'cel-dim', text: `No breakdown came back for element ${fmtIndex(n, index)}.` }));
    }, EXPLAIN_TIMEOUT_MS);
  }

  /** A new summary: details belong to the old options. */
  reset(): void {
    this.key = null;
    this.lastPosted = null;
    this.el.hidden = true;
  }

  dispose(): void {
    if (this.timeout !== null) this.ctx.timers.clearTimeout(this.timeout);
  }

  render(): void {
    const s = this.model.summary;
    const d = this.model.detail(this.key);
    if (!s || !d) return;
    const h = this.ctx.h;
    const b = buildBreakdown(d, s);
    clear(this.el);
    const close = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Close the breakdown', title: 'Close', text: '✕' });
    close.addEventListener('click', () => {
      this.el.hidden = true;
      this.key = null;
      this.events.closed();
    });
    const cols = b.columns;
    const rowCells = (r: (typeof b.rows)[number]): string[] => {
      const cells = [r.label + (r.isTarget ? '  ← target' : '') + (r.isPredicted && !r.isTarget ? '  ← predicted' : ''), fmt6(r.input)];
      if (r.shifted !== null || r.exp !== null) cells.push(fmt6(r.shifted), fmt6(r.exp));
      cells.push(fmt6(r.prob), fmt6(r.logProb));
      if (cols.includes('target q')) cells.push(fmt6(r.q));
      if (cols.includes('weight')) cells.push(fmt6(r.weight));
      return cells;
    };
    const table = h('table', { class: 'cel-explain-table' },
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, ...b.rows.map((r) => h('tr', { class: r.isTarget ? 'cel-target-row' : '' }, ...rowCells(r).map((c, j) => (j === 0 ? h('th', { scope: 'row', text: c }) : h('td', { text: c })))))));
    const steps = h('ol', { class: 'cel-steps' }, ...b.steps.map((st) => h('li', {}, h('span', { class: 'cel-step-label', text: st.label }), h('code', { text: st.formula }))));
    append(this.el,
      h('div', { class: 'cel-explain-head' }, h('h3', { text: `Step by step: ${b.heading}` }), close),
      h('div', { class: 'cel-table-wrap' }, table),
      b.hidden > 0 ? h('p', { class: 'cel-dim', text: `${b.hidden} more classes are left out of the table; the sums above run over all ${b.rows.length + b.hidden}.` }) : null,
      steps);
  }
}
