// The pooled figures (data-testid="dataset-summary"): the CLI's `eval` report, over the images so far while
// the run goes on and over all of them at the end.
import type { DatasetSummary } from '../../src/protocol';
import { clear, type Builder } from '../view/dom';
import { fmt6, fmtCount, fmtPct } from '../view/format';

// As the CLI's text summary prints them (toPrecision(4)).
const fmt4 = (v: number | null): string => (v === null ? '-' : v.toPrecision(4));

export class SummarySection {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly note: HTMLElement;

  constructor(private readonly h: Builder) {
    this.note = h('span', { class: 'ds-note' });
    this.body = h('dl', { class: 'ds-figures' });
    this.el = h('section', { class: 'ds-section ds-summary', 'data-testid': 'dataset-summary' }, h('h2', {}, 'Summary ', this.note), this.body);
  }

  clear(): void {
    clear(this.body);
    this.note.textContent = '';
  }

  show(s: DatasetSummary, final: boolean, total: number): void {
    const h = this.h;
    this.note.textContent = final ? '' : '(images so far)';
    clear(this.body);
    const item = (label: string, value: string, testid?: string, title?: string): void => {
      this.body.appendChild(h('div', { class: 'ds-figure', title }, h('dt', {}, label), h('dd', { 'data-testid': testid }, value)));
    };
    item('images', final || s.images === total ? fmtCount(s.images) : `${fmtCount(s.images)} of ${fmtCount(total)}`, 'dataset-images');
    item('loss (pooled)', fmt6(s.value), 'dataset-value', 'mean cross-entropy over every non-ignored pixel of every image, as one batch');
    item('pixel accuracy', fmtPct(s.pixelAccuracy), 'dataset-pixel-accuracy');
    item('mIoU', fmtPct(s.miou), 'dataset-miou', 'mean IoU over classes with a non-empty union, pooled over images');
    item('mIoU per image', fmtPct(s.miouPerImage), 'dataset-miou-per-image', 'mean over images of each image\'s mIoU');
    item('ECE', fmt4(s.ece), 'dataset-ece', `expected calibration error over ${s.calibration.count.length} bins of the top-class probability`);
    item('MCE', fmt4(s.mce), 'dataset-mce', 'largest gap between confidence and accuracy in a bin');
    item('boundary share', fmtPct(s.boundary.share), 'dataset-boundary',
      `share of the loss within ${s.boundary.width} px of a label boundary; mean loss ${fmt4(s.boundary.meanInside)} inside, ${fmt4(s.boundary.meanOutside)} outside`);
    if (s.unmatched.length > 0) {
      const list = h('ul', { class: 'ds-unmatched', 'data-testid': 'dataset-unmatched' });
      for (const name of s.unmatched.slice(0, 50)) list.appendChild(h('li', {}, name));
      if (s.unmatched.length > 50) list.appendChild(h('li', {}, `… ${s.unmatched.length - 50} more`));
      this.body.appendChild(h('div', { class: 'ds-figure ds-wide' }, h('dt', {}, `unmatched files (${s.unmatched.length})`), h('dd', {}, list)));
    }
  }
}
