// The heatmap's legend: the colour scale of a continuous mode (ticks, clip and NaN notes), the error
// colours, or the classes present in the slice; plus swatches for ignored, masked and contour pixels.
import { gradientCss, NAN_RGBA } from '../render/colormap';
import { append, clear } from '../dom';
import { classLabel, fmt6 } from '../format';
import type { ViewContext, ViewModel } from '../model';
import { colourOf, CONTOUR_BOTH, CONTOUR_PREDICTED, CONTOUR_TARGET, presentClasses } from './overlay';
import { COLORS, isConfidenceMode, isContinuousMode } from '../render/raster';
import { valueAt, type Domain } from '../../../src/valueScale';
import { hardCountText, percentilesText } from '../runs/hardState';

export class Legend {
  readonly el: HTMLElement;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel) {
    this.el = ctx.h('div', { class: 'cel-legend' });
  }

  private swatch(rgba: readonly number[], label: string, cls = ''): HTMLElement {
    const h = this.ctx.h;
    const sw = h('span', { class: `cel-swatch ${cls}`, 'aria-hidden': 'true' });
    if (rgba[3] > 0) sw.style.backgroundColor = `rgb(${rgba[0]}, ${rgba[1]}, ${rgba[2]})`;
    return h('span', { class: 'cel-legend-item' }, sw, label);
  }

  render(d: Domain | null): void {
    const h = this.ctx.h;
    const s = this.ctx.store.state;
    const { maps, geometry: g, summary } = this.model;
    const el = this.el;
    clear(el);
    if (!maps || !g) return;
    const names = summary?.classNames ?? [];
    const extras: HTMLElement[] = [];
    const base = s.slice * g.count;
    let anyIgnored = false;
    for (let i = base; i < base + g.count; i++) if (maps.ignored[i]) { anyIgnored = true; break; }
    if (s.showIgnored && anyIgnored) extras.push(this.swatch(COLORS.ignoredLight, 'ignored', 'cel-swatch-ignored'));
    if (s.classFilter !== null && s.mode !== 'classProb' && summary) extras.push(this.swatch(COLORS.masked, `not class ${classLabel(names, s.classFilter)}`, 'cel-swatch-masked'));
    if (s.pairFilter !== null) extras.push(this.swatch(COLORS.masked, `not target ${classLabel(names, s.pairFilter.target)} predicted as ${classLabel(names, s.pairFilter.predicted)}`, 'cel-swatch-masked'));
    if (s.contours) extras.push(this.swatch(CONTOUR_TARGET, 'target boundary'), this.swatch(CONTOUR_PREDICTED, 'predicted boundary'), this.swatch(CONTOUR_BOTH, 'both'));

    if (isConfidenceMode(s.mode) && !maps.confidence) {
      append(el, h('span', { class: 'cel-dim', text: maps.confidenceOnRequest || maps.pending ? 'Loading the confidence maps…' : 'No confidence maps for this input.' }));
      return;
    }
    if (isContinuousMode(s.mode)) {
      if (s.mode === 'pTarget' && !maps.pTarget) {
        append(el, h('span', { class: 'cel-dim', text: 'p(target) exists for class-index targets only.' }));
        return;
      }
      if (s.mode === 'classProb' && !this.model.classProbPlane(s.probClass)) {
        append(el, h('span', { class: 'cel-dim', text: s.probClass === null ? 'Pick a class (above, or in the grid below).' : 'Loading class probabilities…' }));
        return;
      }
      if (!d) return;
      const bar = h('div', { class: 'cel-legend-bar', role: 'img', 'aria-label': `${s.colormap} colour scale from ${fmt6(d.min)} to ${fmt6(d.max)}` });
      bar.style.backgroundImage = gradientCss(s.colormap);
      const clipped = !d.fixed && (d.max < d.dataMax || d.posInfCount > 0);
      const ticks = h('div', { class: 'cel-legend-ticks' },
        h('span', { text: d.finiteCount ? fmt6(d.min) : '-' }),
        h('span', { text: d.finiteCount ? fmt6(valueAt(0.5, d)) : '' }),
        h('span', { text: d.finiteCount ? `${clipped ? '≥ ' : ''}${fmt6(d.max)}` : '-' }));
      const what = s.mode === 'pTarget' ? 'p(target)' : s.mode === 'classProb' ? `p(class ${summary ? classLabel(names, s.probClass ?? 0) : ''})` : s.mode === 'classLoss' && s.classFilter !== null ? 'loss within the class'
        : s.mode === 'top1' ? 'top-class probability' : s.mode === 'margin' ? 'margin (top-1 minus top-2)' : s.mode === 'entropy' ? 'entropy (nats)' : 'loss';
      const notes: string[] = [what];
      if (isConfidenceMode(s.mode)) notes.push('faint: not marked by the threshold');
      if (!d.fixed) {
        if (d.scale === 'log') notes.push('log scale (positive values)');
        if (s.clip < 100) notes.push(`clipped at p${s.clip} (max ${fmt6(d.dataMax)})`);
        if (d.posInfCount) notes.push(`${d.posInfCount} +inf at the top`);
      }
      if (d.nanCount) extras.unshift(this.swatch(NAN_RGBA, `NaN (${d.nanCount})`));
      append(el,
        h('div', { class: 'cel-legend-scale' }, bar, ticks),
        h('div', { class: 'cel-legend-notes' }, h('span', { class: 'cel-dim', text: notes.join(' · ') }), ...extras));
      return;
    }
    if (s.mode === 'confWrong') {
      append(el, h('div', { class: 'cel-legend-notes' }, this.swatch(COLORS.wrong, 'confidently wrong'), this.swatch(COLORS.correct, 'the rest (faint)'), ...extras));
      return;
    }
    if (s.mode === 'labelIssues') {
      const li = this.model.labelIssues;
      const here = this.model.flaggedOfSample();
      const status = li === null || li.state === 'running' ? 'finding likely label errors…' : li.state === 'error' ? `no label errors: ${li.message}` : null;
      const label = here === null ? 'likely label error' : `likely label error (${here.count.toLocaleString('en-US')} in this ${this.model.spatial ? 'sample' : 'map'}${li?.state === 'done' && this.model.sampleCount > 1 ? `, ${li.count.toLocaleString('en-US')} in all` : ''})`;
      append(el, h('div', { class: 'cel-legend-notes', 'data-testid': 'label-issues-legend' },
        this.swatch(COLORS.flagged, label), h('span', { class: 'cel-dim', text: 'others: target class, faint' }),
        status === null ? null : h('span', { class: 'cel-dim', text: status }), ...extras));
      return;
    }
    if (s.mode === 'hardEveryRun') {
      const hard = this.model.hard.hard;
      const label = hard?.state === 'done' ? `hard in every run: ${hardCountText(hard.count, hard.pixels)}` : 'hard in every run';
      const status = hard === null || hard.state === 'running' ? 'evaluating every run…' : hard.state === 'error' ? hard.message
        : `loss above p90 in each run (${percentilesText(hard.runs, hard.percentiles)})`;
      append(el, h('div', { class: 'cel-legend-notes', 'data-testid': 'hard-every-run-legend' },
        this.swatch(COLORS.hard, label), h('span', { class: 'cel-dim', text: 'others: target class, faint' }), h('span', { class: 'cel-dim', text: status }), ...extras));
      return;
    }
    if (s.mode === 'error') {
      append(el, h('div', { class: 'cel-legend-notes' }, this.swatch(COLORS.correct, 'correct'), this.swatch(COLORS.wrong, 'wrong'), ...extras));
      return;
    }
    // Categorical: the classes present in this slice, most frequent first.
    const arr = s.mode === 'predicted' ? maps.predicted : maps.target;
    const present = presentClasses(arr, base, g.count, 40, s.mode === 'target' && s.showIgnored ? maps.ignored : null);
    // 0/1 targets and predictions of an elementwise loss are not classes 0 and 1 of the class table.
    const binary = summary?.targetKind === 'binary';
    const items = present.classes.map((c) => this.swatch([...colourOf(this.model.colours, c), 255], binary ? String(c) : classLabel(names, c)));
    append(el, h('div', { class: 'cel-legend-notes cel-class-legend', 'data-testid': 'class-legend' },
      ...items, present.more > 0 ? h('span', { class: 'cel-dim', text: `… ${present.more} more` }) : null, ...extras));
  }
}
