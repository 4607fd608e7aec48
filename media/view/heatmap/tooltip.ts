// The heatmap's hover read-out: where the element is, target, predicted, loss, p(target) and the values of
// the mode shown; the top classes once the host's details arrive (asked for after a short pause).
import type { Breakdown } from '../analysis/breakdown';
import { canExplain } from '../analysis/breakdown';
import { clear } from '../dom';
import { classLabel, className, fmt6, matrixAxes, targetLines } from '../format';
import { detailKey, type ViewContext, type ViewModel } from '../model';
import { unravelIndex } from '../../../src/errors';
import type { ElementDetail } from '../../../src/protocol';

const EXPLAIN_DEBOUNCE_MS = 50;

export interface HoverCell {
  readonly i: number;
  readonly sx: number;
  readonly sy: number;
}

/**
 * Extra read-out lines a component adds for element k of the sample (confidence, compare…); detail: the
 * host's details of the element, once they came.
 */
export type CellLines = (k: number, detail: ElementDetail | undefined) => string[];

export class CellTooltip {
  readonly el: HTMLElement;
  cell: HoverCell | null = null;
  key: string | null = null;
  private timer: number | null = null;
  private readonly extra: CellLines[] = [];

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly breakdown: Breakdown) {
    this.el = ctx.h('div', { class: 'cel-tooltip', role: 'tooltip', 'data-testid': 'tooltip', hidden: true });
  }

  addLines(fn: CellLines): void {
    this.extra.push(fn);
  }

  /** Plain-text lines describing element i of the current slice. */
  lines(i: number): string[] {
    const { maps, geometry: g, summary: s } = this.model;
    if (!maps || !g || !s) return [];
    const state = this.ctx.store.state;
    const k = state.slice * g.count + i;
    const names = s.classNames;
    const ref = this.model.elementRef(state.slice, i);
    const lines: string[] = [];
    if (ref) {
      // A strip or a matrix of every sample, or a sample's row of a 2-D loss map, reads by the loss map's own
      // axes (an elementwise loss's class axis named c); an image-like sample by its spatial ones.
      const axes = g.wrapped || ref.n < 0 ? matrixAxes(s) : ['n', ...(g.shape.length === 3 ? ['z'] : g.shape.slice(0, -2).map((_, a) => `d${a}`)), 'y', 'x'];
      lines.push(`(${axes.join(', ')}) = (${lossIndex(ref, s.lossShape).join(', ')})`);
    }
    const ignored = maps.ignored[k] !== 0;
    const full = ref ? lossIndex(ref, s.lossShape) : [];
    lines.push(...targetLines(s, full, maps.target[k], maps.predicted[k], ignored));
    lines.push(`loss ${fmt6(maps.loss[k])}`);
    if (maps.pTarget && !ignored) lines.push(`p(target) ${fmt6(maps.pTarget[k])}`);
    if (state.mode === 'classProb') {
      const plane = this.model.classProbPlane(state.probClass);
      if (plane && state.probClass !== null) lines.push(`p(${className(names, state.probClass)}) ${fmt6(plane[k])}`);
    }
    const detail = ref ? this.model.detail(detailKey(ref.n, ref.index)) : undefined;
    for (const fn of this.extra) lines.push(...fn(k, detail));
    return lines;
  }

  /** Hover on element `cell.i` (null: off the map). */
  hover(cell: HoverCell | null, viewWidth: number, viewHeight: number): void {
    if (!cell) return this.hide();
    const ref = this.model.elementRef(this.ctx.store.state.slice, cell.i);
    if (!ref) return this.hide();
    this.cell = cell;
    const key = detailKey(ref.n, ref.index);
    const changed = key !== this.key;
    this.key = key;
    if (changed || this.el.hidden) this.render();
    this.position(cell.sx, cell.sy, viewWidth, viewHeight);
    if (changed && canExplain(this.model)) this.scheduleExplain(ref.n, ref.index, key);
  }

  private scheduleExplain(n: number, index: number[], key: string): void {
    const t = this.ctx.timers;
    if (this.timer !== null) t.clearTimeout(this.timer);
    this.timer = null;
    if (this.model.hasDetail(key) || this.breakdown.lastPosted === key) return;
    this.timer = t.setTimeout(() => {
      this.timer = null;
      if (this.key !== key || this.model.hasDetail(key)) return;
      this.breakdown.lastPosted = key;
      this.ctx.post({ type: 'explain', n, index });
    }, EXPLAIN_DEBOUNCE_MS);
  }

  hide(): void {
    this.cell = null;
    this.key = null;
    this.el.hidden = true;
    if (this.timer !== null) this.ctx.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  render(): void {
    const cell = this.cell;
    if (!cell) return;
    const h = this.ctx.h;
    clear(this.el);
    this.lines(cell.i).forEach((l, j) => this.el.appendChild(h('div', { class: j === 0 ? 'cel-tip-head' : '', text: l })));
    const d = this.model.detail(this.key);
    const explainable = canExplain(this.model);
    if (d && d.top.length) {
      const names = this.model.classNames;
      this.el.appendChild(h('table', { class: 'cel-tip-top' },
        h('thead', {}, h('tr', {}, h('th', { text: 'top class' }), h('th', { text: 'input' }), h('th', { text: 'p' }))),
        h('tbody', {}, ...d.top.map((t) => h('tr', {}, h('td', { text: classLabel(names, t.cls) }), h('td', { text: fmt6(t.input) }), h('td', { text: fmt6(t.prob) }))))));
    } else if (this.key && explainable) {
      this.el.appendChild(h('div', { class: 'cel-dim', text: 'top classes…' }));
    }
    if (explainable) this.el.appendChild(h('div', { class: 'cel-dim cel-tip-hint', text: 'Click (or Enter) for the step-by-step breakdown' }));
    this.el.hidden = false;
  }

  position(sx: number, sy: number, viewWidth: number, viewHeight: number): void {
    const tw = this.el.offsetWidth || 220;
    const th = this.el.offsetHeight || 120;
    let x = sx + 16;
    let y = sy + 16;
    if (x + tw > viewWidth) x = Math.max(0, sx - tw - 12);
    if (y + th > viewHeight) y = Math.max(0, sy - th - 12);
    this.el.style.left = `${x}px`;
    this.el.style.top = `${y}px`;
  }
}

/**
 * The loss map's index of a map element: sample n's element, or for a map of every sample (a strip of the
 * loss map's elements in flat order, or a matrix of them) the element itself.
 */
function lossIndex(ref: { readonly n: number; readonly index: readonly number[] }, lossShape: readonly number[]): number[] {
  if (ref.n >= 0) return [ref.n, ...ref.index];
  return ref.index.length === lossShape.length ? [...ref.index] : unravelIndex(ref.index[0] ?? 0, lossShape);
}
