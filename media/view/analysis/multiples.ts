// Probability maps of every class (small multiples), asked for on demand: one thumbnail per class (at most
// MAX_THUMBS); a click shows that class's probability in the main heatmap.
import { clear } from '../dom';
import { classLabel } from '../format';
import { putPixels, type ViewContext, type ViewModel } from '../model';
import { probabilityThumbnail } from '../render/raster';

const MAX_THUMBS = 64;
const THUMB_SIDE = 96;

export class ProbabilityMaps {
  readonly el: HTMLElement;
  /** The class maps were asked for: they follow the sample from then on. */
  wanted = false;
  private readonly button: HTMLButtonElement;
  private readonly note: HTMLElement;
  private readonly grid: HTMLElement;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly pick: (c: number) => void) {
    const h = ctx.h;
    this.button = h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Show per-class probability maps' });
    this.note = h('p', { class: 'cel-hint', hidden: true });
    this.grid = h('div', { class: 'cel-multiples-grid' });
    this.el = h('section', { class: 'cel-multiples', 'aria-label': 'Probability of each class' },
      h('h3', { text: 'Probability of each class' }), this.button, this.note, this.grid);
    this.button.addEventListener('click', () => {
      const maps = this.model.maps;
      if (!maps) return;
      this.wanted = true;
      ctx.post({ type: 'requestClassMaps', n: maps.n });
      this.render();
    });
  }

  /** Ask for the class maps of the sample on screen (once; later samples ask on their own). */
  ensure(): void {
    const maps = this.model.maps;
    if (!this.model.summary || !maps || this.wanted) return;
    this.wanted = true;
    this.ctx.post({ type: 'requestClassMaps', n: maps.n });
    this.render();
  }

  render(): void {
    const h = this.ctx.h;
    const { summary: s, classMaps: cm, geometry: g, maps } = this.model;
    const state = this.ctx.store.state;
    clear(this.grid);
    this.button.hidden = this.wanted;
    this.note.hidden = true;
    if (!s) return;
    if (!cm || !g || !maps || cm.n !== maps.n) {
      if (this.wanted) {
        this.note.hidden = false;
        this.note.textContent = 'Loading class probabilities…';
      }
      return;
    }
    const S = g.count * g.slices;
    const C = Math.min(Math.floor(cm.probs.length / S), s.perClass.length || Infinity);
    const shown = Math.min(C, MAX_THUMBS);
    if (C > shown) {
      this.note.hidden = false;
      this.note.textContent = `Showing the first ${shown} of ${C} classes; pick others with the Class menu in "p(class c)" mode.`;
    }
    for (let c = 0; c < shown; c++) {
      const plane = cm.probs.subarray(c * S, (c + 1) * S);
      const small = probabilityThumbnail(plane, g, state.slice, state.colormap, THUMB_SIDE);
      const cv = h('canvas', { class: 'cel-thumb', width: small.width, height: small.height, 'aria-hidden': 'true' });
      putPixels(this.ctx.win, cv, small.rgba, small.width, small.height);
      const label = classLabel(s.classNames, c);
      const selected = state.mode === 'classProb' && state.probClass === c;
      const btn = h('button', { type: 'button', class: 'cel-thumb-btn' + (selected ? ' cel-selected' : ''), 'aria-label': `Show the probability of class ${label} in the main view` },
        cv, h('span', { class: 'cel-thumb-label', text: label }));
      btn.addEventListener('click', () => this.pick(c));
      this.grid.appendChild(btn);
    }
  }
}
