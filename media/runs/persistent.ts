// Hard in every run (data-testid "runs-persistent"): the images with the largest share of pixels whose loss
// is above that run's 90th percentile in every run (the CLI's persistent[]), the ones no checkpoint fixed.
// The first SHOWN only (the rest is in `runs --json`): a short list, not one row per image.
import type { RunsViewReport } from '../../src/protocol';
import { clear, type Builder } from '../view/dom';
import { fmtPct } from '../view/format';

export const SHOWN = 20;

export class PersistentSection {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly note: HTMLElement;

  constructor(private readonly h: Builder, open: (index: number) => void) {
    this.list = h('ol', { class: 'rv-persistent' });
    this.note = h('div', { class: 'rv-list-note' });
    this.el = h('section', { class: 'rv-section', 'data-testid': 'runs-persistent' },
      h('h2', {}, 'Hard in every run'), this.note, this.list);
    this.list.addEventListener('click', (e) => {
      const item = (e.target as Element | null)?.closest?.('[data-index]');
      if (item) open(Number(item.getAttribute('data-index')));
    });
    this.list.addEventListener('keydown', (e: KeyboardEvent) => {
      const item = (e.target as Element | null)?.closest?.('[data-index]');
      if (!item || (e.key !== 'Enter' && e.key !== ' ')) return;
      e.preventDefault();
      open(Number(item.getAttribute('data-index')));
    });
  }

  show(r: RunsViewReport): void {
    const h = this.h;
    const hard = r.persistent.filter((p) => p.share !== null && p.share > 0 && p.index >= 0);
    clear(this.list);
    this.note.textContent = hard.length === 0
      ? 'no pixel has a loss above its run\'s 90th percentile in every run'
      : `share of each image's pixels whose loss is above that run's 90th percentile in every run${hard.length > SHOWN ? ` (the first ${SHOWN} of ${hard.length})` : ''}`;
    for (const p of hard.slice(0, SHOWN)) {
      const name = r.perImage[p.index]?.name ?? '';
      this.list.appendChild(h('li', { 'data-index': p.index, 'data-name': name, tabindex: 0, role: 'button', title: `open ${name} in the loss panel` },
        h('span', { class: 'rv-name' }, name), ' ', h('span', { class: 'rv-share' }, fmtPct(p.share))));
    }
  }
}
