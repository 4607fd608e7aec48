// The distribution of per-image losses: a histogram of the images' values, so that a few outliers (or a
// second mode) stand out against the pooled value.
import { clear, type Builder } from '../view/dom';
import { fmt6 } from '../view/format';
import { histogram } from './model';
import { svgEl, svgTitle } from './svg';

const W = 320;
const H = 160;
const L = 30;
const B = 22;

export class HistogramSection {
  readonly el: HTMLElement;
  private readonly holder: HTMLElement;

  constructor(private readonly h: Builder) {
    this.holder = h('div', { class: 'ds-plot' });
    this.el = h('section', { class: 'ds-section ds-histogram' }, h('h2', {}, 'Loss per image'), this.holder);
  }

  show(values: readonly number[]): void {
    const doc = this.h.doc;
    clear(this.holder);
    const hist = histogram(values);
    const svg = svgEl(doc, 'svg', { 'data-testid': 'loss-histogram', class: 'ds-svg', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'histogram of per-image loss' });
    if (hist) {
      const n = hist.counts.length;
      const max = Math.max(...hist.counts);
      const pw = W - L - 6;
      const ph = H - B - 6;
      const bw = pw / n;
      const step = n > 1 ? (hist.hi - hist.lo) / n : 0;
      hist.counts.forEach((c, i) => {
        const bh = max > 0 ? (c / max) * ph : 0;
        const r = svgEl(doc, 'rect', { class: 'ds-hbar', 'data-bin': i, x: L + i * bw + 0.5, y: 6 + ph - bh, width: Math.max(0, bw - 1), height: bh });
        svgTitle(doc, r, `${fmt6(hist.lo + i * step)} – ${fmt6(n > 1 ? hist.lo + (i + 1) * step : hist.hi)}: ${c} image${c === 1 ? '' : 's'}`);
        svg.appendChild(r);
      });
      svg.appendChild(svgEl(doc, 'text', { class: 'ds-tick', x: L, y: H - 8, 'text-anchor': 'start' }, fmt6(hist.lo)));
      svg.appendChild(svgEl(doc, 'text', { class: 'ds-tick', x: W - 6, y: H - 8, 'text-anchor': 'end' }, fmt6(hist.hi)));
      svg.appendChild(svgEl(doc, 'text', { class: 'ds-tick', x: L - 4, y: 12, 'text-anchor': 'end' }, String(max)));
    }
    this.holder.appendChild(svg);
  }
}
