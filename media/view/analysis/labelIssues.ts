// The label-errors mode's section (under the heatmap toolbar): how many labels confident learning reports
// (cleanlab's rules, computed by the host or the page: src/labels/), over what, and the given → predicted
// table whose rows restrict the heatmap to that pair. The heatmap itself is drawn by rasterize.
import type { ViewLabelIssuesDone } from '../../../src/protocol';
import { append, clear } from '../dom';
import { classLabel, fmtCount } from '../format';
import type { ViewContext, ViewModel } from '../model';
import type { ClassPair } from '../render/raster';

export interface LabelIssueEvents {
  /** A table row: restrict the heatmap to that given → predicted pair (null: show all again). */
  pair(pair: ClassPair | null): void;
}

/** The hover read-out's line for element k of the sample on screen, when it is a reported one. */
export function labelIssueLines(model: ViewModel, k: number): string[] {
  return model.flaggedOfSample()?.mask[k] ? ['likely label error (confident learning)'] : [];
}

export class LabelIssuesSection {
  readonly el: HTMLElement;
  private readonly head: HTMLElement;
  private readonly origin: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly more: HTMLElement;
  private rendered = -1;
  private renderedPair = '';

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly events: LabelIssueEvents) {
    const h = ctx.h;
    this.head = h('p', { class: 'cel-issues-head', role: 'status', 'aria-live': 'polite' });
    this.origin = h('p', { class: 'cel-issues-origin cel-dim' });
    this.table = h('table', { class: 'cel-table cel-issues-table', 'data-testid': 'label-issue-table' });
    this.more = h('p', { class: 'cel-dim', hidden: true });
    this.el = h('section', { class: 'cel-issues', 'data-testid': 'label-issues', 'aria-label': 'Likely label errors', hidden: true },
      this.head, this.origin, h('div', { class: 'cel-issues-wrap' }, this.table), this.more);
    const pick = (e: Event): void => {
      const tr = (e.target as Element | null)?.closest?.('tr[data-given]');
      if (!tr) return;
      const pair = { target: Number(tr.getAttribute('data-given')), predicted: Number(tr.getAttribute('data-predicted')) };
      const now = ctx.store.state.pairFilter;
      this.events.pair(now && now.target === pair.target && now.predicted === pair.predicted ? null : pair);
    };
    this.table.addEventListener('click', pick);
    this.table.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      pick(e);
    });
  }

  /** Shown in the label-errors mode; drawn again when the issues, the sample or the pair filter changed. */
  sync(): void {
    const s = this.ctx.store.state;
    const on = s.mode === 'labelIssues';
    this.el.hidden = !on;
    if (!on) return;
    const pair = s.pairFilter ? `${s.pairFilter.target}>${s.pairFilter.predicted}` : '-';
    const key = this.model.labelIssuesSeq * 1e6 + (this.model.maps?.n ?? -2);
    if (key === this.rendered && pair === this.renderedPair) return;
    this.rendered = key;
    this.renderedPair = pair;
    const li = this.model.labelIssues;
    clear(this.head);
    clear(this.table);
    this.origin.textContent = '';
    this.more.hidden = true;
    if (li === null || li.state === 'running') {
      this.head.textContent = 'Finding likely label errors (confident learning)…';
      return;
    }
    if (li.state === 'error') {
      this.head.textContent = `No likely label errors: ${li.message}`;
      return;
    }
    this.renderDone(li);
  }

  private renderDone(li: ViewLabelIssuesDone): void {
    const h = this.ctx.h;
    const what = li.rule === 'segmentation' ? 'labelled pixels' : 'labelled examples';
    const here = this.model.flaggedOfSample();
    append(this.head,
      h('strong', { 'data-testid': 'label-issue-count', text: fmtCount(li.count) }),
      ` of ${fmtCount(li.examples)} ${what} are likely label errors`,
      here !== null && this.model.sampleCount > 1 ? ` (${fmtCount(here.count)} in this sample)` : '');
    this.origin.textContent = `Confident learning as cleanlab computes it; ${li.origin}. Click a row to show only that pair.`;
    if (li.table.length === 0) return;
    const names = this.model.classNames;
    const sel = this.ctx.store.state.pairFilter;
    append(this.table,
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'cel-left', text: 'Given label' }), h('th', { scope: 'col', class: 'cel-left', text: 'Predicted' }), h('th', { scope: 'col', text: 'Flagged' }))),
      h('tbody', {}, ...li.table.map((r) => {
        const on = sel !== null && sel.target === r.given && sel.predicted === r.predicted;
        return h('tr', { 'data-given': r.given, 'data-predicted': r.predicted, class: on ? 'cel-selected' : '', tabindex: 0, role: 'button', 'aria-pressed': on ? 'true' : 'false' },
          h('td', { class: 'cel-left', text: classLabel(names, r.given) }),
          h('td', { class: 'cel-left', text: classLabel(names, r.predicted) }),
          h('td', { class: 'cel-mono', text: fmtCount(r.count) }));
      })));
    if (li.pairs > li.table.length) {
      this.more.hidden = false;
      this.more.textContent = `${fmtCount(li.pairs - li.table.length)} less frequent pairs not listed.`;
    }
  }
}
