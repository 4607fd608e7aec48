// The pooled curves (data-testid "runs-curves"): each run's loss, mIoU and ECE as three small line charts,
// and the same numbers as a table under them (readable, copyable, and what tests read). While the runs are
// evaluated the runs done so far are drawn, over the x positions of all of them, the rest marked pending.
import type { RunsPooledFigures } from '../../src/protocol';
import { clear, type Builder } from '../view/dom';
import { fmt6, fmtPct } from '../view/format';
import { lineChart } from './lineChart';

/** A run done (p90 comes with the report), or one still pending. */
export type CurveRow = (RunsPooledFigures & { readonly p90?: number | null; readonly pending?: undefined }) | { readonly name: string; readonly pending: true };

/** Axis ticks: four significant digits fit the chart's margin (the table has six). */
const tick4 = (v: number): string => String(Number(v.toPrecision(4)));

const CURVES: ReadonlyArray<{ key: 'value' | 'miou' | 'ece'; label: string; fmt: (v: number | null) => string; tick: (v: number) => string }> = [
  { key: 'value', label: 'loss', fmt: fmt6, tick: tick4 },
  { key: 'miou', label: 'mIoU', fmt: fmtPct, tick: fmtPct },
  { key: 'ece', label: 'ECE', fmt: fmt6, tick: tick4 },
];

export class CurvesSection {
  readonly el: HTMLElement;
  private readonly charts: HTMLElement;
  private readonly table: HTMLElement;

  constructor(private readonly h: Builder) {
    this.charts = h('div', { class: 'rv-curves' });
    this.table = h('table', { class: 'rv-table rv-runs-table' });
    this.el = h('section', { class: 'rv-section', 'data-testid': 'runs-curves' }, h('h2', {}, 'Pooled over all images, per run'), this.charts, this.table);
  }

  show(runs: readonly CurveRow[]): void {
    const h = this.h;
    clear(this.charts);
    for (const c of CURVES) {
      const values = runs.map((r) => (r.pending ? null : r[c.key]));
      const svg = lineChart(h.doc, { values, width: 240, height: 110, ticks: c.tick, pointTitle: (k) => `${runs[k].name}: ${c.label} ${c.fmt(values[k])}` });
      this.charts.appendChild(h('figure', { class: 'rv-curve', 'data-curve': c.key }, svg, h('figcaption', {}, c.label)));
    }
    clear(this.table);
    this.table.appendChild(h('thead', {}, h('tr', {}, h('th', {}, 'run'), h('th', {}, 'loss'), h('th', {}, 'pixel acc.'), h('th', {}, 'mIoU'), h('th', {}, 'ECE'), h('th', {}, 'p90 loss'))));
    const body = h('tbody');
    runs.forEach((r, k) => {
      if (r.pending) {
        body.appendChild(h('tr', { 'data-run': k, 'data-pending': 'true' }, h('td', {}, r.name), h('td', { class: 'rv-pending', colspan: 5 }, 'pending…')));
        return;
      }
      body.appendChild(h('tr', { 'data-run': k },
        h('td', {}, r.name),
        h('td', { class: 'rv-num', 'data-col': 'value' }, fmt6(r.value)),
        h('td', { class: 'rv-num' }, fmtPct(r.pixelAccuracy)),
        h('td', { class: 'rv-num', 'data-col': 'miou' }, fmtPct(r.miou)),
        h('td', { class: 'rv-num', 'data-col': 'ece' }, fmt6(r.ece)),
        h('td', { class: 'rv-num' }, r.p90 === undefined ? '…' : fmt6(r.p90)),
      ));
    });
    this.table.appendChild(body);
  }
}
