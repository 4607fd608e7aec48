// The "Hard in every run" mode's section (under the heatmap toolbar, a panel opened from the runs view):
// how many of the image's labelled pixels have a loss above every run's 90th percentile, and their share,
// which is the runs view's (runs --json persistent[]). The heatmap is drawn by rasterize.
import { append, clear } from '../dom';
import type { ViewContext, ViewModel } from '../model';
import { hardCountText, percentilesText } from './hardState';

/** The hover read-out's line for element k of the sample on screen, when it is hard in every run. */
export function hardPixelLines(model: ViewModel, k: number): string[] {
  return model.hardOfSample()?.mask[k] ? ['hard in every run (loss above each run\'s p90)'] : [];
}

export class HardPixelsSection {
  readonly el: HTMLElement;
  private readonly head: HTMLElement;
  private readonly detail: HTMLElement;
  private rendered = -1;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel) {
    const h = ctx.h;
    this.head = h('p', { class: 'cel-issues-head', role: 'status', 'aria-live': 'polite' });
    this.detail = h('p', { class: 'cel-issues-origin cel-dim' });
    this.el = h('section', { class: 'cel-issues', 'data-testid': 'hard-every-run', 'aria-label': 'Hard in every run', hidden: true }, this.head, this.detail);
  }

  /** Shown in the mode; drawn again when the answer changed. */
  sync(): void {
    const on = this.ctx.store.state.mode === 'hardEveryRun';
    this.el.hidden = !on;
    if (!on || this.rendered === this.model.hard.seq) return;
    this.rendered = this.model.hard.seq;
    const hard = this.model.hard.hard;
    clear(this.head);
    this.detail.textContent = '';
    this.el.removeAttribute('data-share');
    if (hard === null || hard.state === 'running') {
      this.head.textContent = 'Evaluating this image in every run…';
      return;
    }
    if (hard.state === 'error') {
      this.head.textContent = `Hard in every run not shown: ${hard.message}`;
      return;
    }
    const h = this.ctx.h;
    if (hard.pixels > 0) this.el.setAttribute('data-share', String(hard.count / hard.pixels));
    append(this.head,
      h('strong', { 'data-testid': 'hard-every-run-count', text: hardCountText(hard.count, hard.pixels) }),
      ` have a loss above the 90th percentile of every run (${hard.runs.length} runs)`);
    this.detail.textContent = `Percentiles over all labelled pixels of each run, as the runs view's "hard in every run" share: ${percentilesText(hard.runs, hard.percentiles)}.`;
  }
}
