// The worst elements of the whole input: one button each, which selects the element's sample and centres
// the element on the heatmap.
import type { ViewSummary } from '../../../src/protocol';
import { clear, type Builder } from '../dom';
import { binaryElementClass, classLabel, fmt6, fmtShape } from '../format';

/**
 * Target and prediction of a worst element: class indices, or for an elementwise loss the 0/1 of the class
 * the element stands for ("dog: target 0 · predicted 1", not "target 0 (person)").
 */
function worstLabels(s: ViewSummary, w: ViewSummary['worst'][number]): string {
  if (s.targetKind !== 'binary') return `target ${classLabel(s.classNames, w.target)} · predicted ${classLabel(s.classNames, w.predicted)}`;
  const c = binaryElementClass(s, w.index);
  return `${c === null ? '' : `${classLabel(s.classNames, c)}: `}target ${w.target} · predicted ${w.predicted}`;
}

export class WorstList {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;

  constructor(private readonly h: Builder, private readonly pick: (index: readonly number[]) => void) {
    this.list = h('ol', { class: 'cel-worst-list' });
    this.el = h('section', { class: 'cel-worst', 'aria-label': 'Worst elements' }, h('h3', { text: 'Worst elements' }), this.list);
  }

  render(s: ViewSummary): void {
    const h = this.h;
    clear(this.list);
    this.el.hidden = s.worst.length === 0;
    for (const w of s.worst) {
      const b = h('button', { type: 'button', class: 'cel-worst-item' },
        h('span', { class: 'cel-mono', text: fmtShape(w.index) }),
        h('span', { class: 'cel-worst-loss', text: ` loss ${fmt6(w.loss)}` }),
        h('span', { class: 'cel-dim', text: ` · ${worstLabels(s, w)}` }));
      b.addEventListener('click', () => this.pick(w.index));
      this.list.appendChild(h('li', {}, b));
    }
  }
}
