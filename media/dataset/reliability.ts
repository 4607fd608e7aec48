// The reliability diagram (data-testid="reliability-diagram"): for each calibration bin of the top-class
// probability, the accuracy of its pixels (bars) against their mean confidence (dots), with the diagonal of
// perfect calibration; the strip below shows how many pixels each bin holds (log scale: the top bin
// usually holds most of them).
import type { DatasetSummary } from '../../src/protocol';
import { clear, type Builder } from '../view/dom';
import { fmtCount, fmtPct } from '../view/format';
import { svgEl, svgTitle } from './svg';

export const PLOT = { width: 260, height: 260, left: 34, right: 8, top: 8, bottom: 64, strip: 28 } as const;

export class ReliabilitySection {
  readonly el: HTMLElement;
  private readonly holder: HTMLElement;

  constructor(private readonly h: Builder) {
    this.holder = h('div', { class: 'ds-plot' });
    this.el = h('section', { class: 'ds-section ds-reliability' }, h('h2', {}, 'Calibration'), this.holder);
  }

  show(cal: DatasetSummary['calibration']): void {
    const doc = this.h.doc;
    clear(this.holder);
    const { width, height, left, right, top, bottom, strip } = PLOT;
    const pw = width - left - right;
    const ph = height - top - bottom;
    const x = (p: number): number => left + p * pw;
    const y = (p: number): number => top + (1 - p) * ph;
    const svg = svgEl(doc, 'svg', { 'data-testid': 'reliability-diagram', class: 'ds-svg', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'reliability diagram: accuracy against confidence per bin' });
    svg.appendChild(svgEl(doc, 'rect', { class: 'ds-frame', x: left, y: top, width: pw, height: ph }));
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      svg.appendChild(svgEl(doc, 'line', { class: 'ds-grid', x1: left, x2: left + pw, y1: y(t), y2: y(t) }));
      svg.appendChild(svgEl(doc, 'text', { class: 'ds-tick', x: left - 4, y: y(t) + 3, 'text-anchor': 'end' }, String(t)));
      svg.appendChild(svgEl(doc, 'text', { class: 'ds-tick', x: x(t), y: top + ph + 12, 'text-anchor': 'middle' }, String(t)));
    }
    const B = cal.count.length;
    const total = cal.count.reduce<number>((a, c) => a + (c ?? 0), 0);
    const maxLog = Math.log1p(cal.count.reduce<number>((a, c) => Math.max(a, c ?? 0), 0));
    const stripTop = top + ph + 22;
    for (let b = 0; b < B; b++) {
      const lo = cal.edges[b] ?? b / B;
      const hi = cal.edges[b + 1] ?? (b + 1) / B;
      const count = cal.count[b] ?? 0;
      const acc = cal.accuracy[b];
      const conf = cal.confidence[b];
      const label = `(${lo.toFixed(3)}, ${hi.toFixed(3)}]: ${fmtCount(count)} pixels (${fmtPct(total > 0 ? count / total : null)})` +
        (acc !== null && conf !== null ? `, accuracy ${fmtPct(acc)}, mean confidence ${fmtPct(conf)}` : '');
      if (acc !== null) {
        const bar = svgEl(doc, 'rect', { class: 'ds-bar', 'data-bin': b, x: x(lo) + 0.5, y: y(acc), width: Math.max(0, x(hi) - x(lo) - 1), height: y(0) - y(acc) });
        svgTitle(doc, bar, label);
        svg.appendChild(bar);
      }
      if (conf !== null && acc !== null) {
        const mid = x((lo + hi) / 2);
        svg.appendChild(svgEl(doc, 'line', { class: 'ds-gap', x1: mid, x2: mid, y1: y(acc), y2: y(conf) }));
        const dot = svgEl(doc, 'circle', { class: 'ds-dot', cx: mid, cy: y(conf), r: 2.5 });
        svgTitle(doc, dot, label);
        svg.appendChild(dot);
      }
      const sh = maxLog > 0 ? (Math.log1p(count) / maxLog) * strip : 0;
      const cbar = svgEl(doc, 'rect', { class: 'ds-count', 'data-count-bin': b, x: x(lo) + 0.5, y: stripTop + strip - sh, width: Math.max(0, x(hi) - x(lo) - 1), height: sh });
      svgTitle(doc, cbar, label);
      svg.appendChild(cbar);
    }
    svg.appendChild(svgEl(doc, 'line', { class: 'ds-diagonal', x1: x(0), y1: y(0), x2: x(1), y2: y(1) }));
    svg.appendChild(svgEl(doc, 'text', { class: 'ds-axis', x: left + pw / 2, y: height - 2, 'text-anchor': 'middle' }, 'confidence (top-class probability); pixels per bin'));
    svg.appendChild(svgEl(doc, 'text', { class: 'ds-axis', x: 10, y: top + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 10 ${top + ph / 2})` }, 'accuracy'));
    this.holder.appendChild(svg);
  }
}
