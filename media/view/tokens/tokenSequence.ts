// The token view's sequence choice for a [B, T] loss: ‹ index › of B (TokenView composes it; its styles are
// in tokenView.css). It only asks for a sequence; the sequence on screen changes when LossView hands its
// maps back, so the buttons follow show() and the shown() callback, not the picker's own clicks.
import type { Builder } from '../dom';
import { fmtCount } from '../format';

/** Adds a listener that the composing view removes when it is disposed. */
export type Listen = <K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, fn: (e: HTMLElementEventMap[K]) => void) => void;

export class SequencePicker {
  readonly el: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  /** Sequences in the loss, or null before a result or for a single [T] sequence (nothing to choose). */
  private total: number | null = null;

  /** shown: the index of the sequence on screen, or null when none is. */
  constructor(h: Builder, private readonly shown: () => number | null, select: (n: number) => void, listen: Listen) {
    this.input = h('input', { type: 'number', min: 0, step: 1, value: 0, class: 'cel-num', 'aria-label': 'Sequence index' });
    this.count = h('span', { class: 'cel-dim' });
    this.prev = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Previous sequence', title: 'Previous sequence', text: '‹' });
    this.next = h('button', { type: 'button', class: 'cel-icon', 'aria-label': 'Next sequence', title: 'Next sequence', text: '›' });
    this.el = h('div', { class: 'cel-group cel-token-seq' }, h('span', { class: 'cel-label', text: 'Sequence' }), this.prev, this.input, this.next, this.count);
    const go = (n: number): void => {
      if (this.total === null) return;
      const m = Math.min(this.total - 1, Math.max(0, Math.round(n)));
      if (!Number.isFinite(m)) return;
      this.input.value = String(m);
      select(m);
    };
    listen(this.input, 'change', () => go(Number(this.input.value)));
    listen(this.prev, 'click', () => go((this.shown() ?? 0) - 1));
    listen(this.next, 'click', () => go((this.shown() ?? 0) + 1));
  }

  /** A new result's loss shape: [B, T] offers B sequences, [T] none. */
  setShape(lossShape: readonly number[]): void {
    this.total = lossShape.length === 2 ? lossShape[0] : null;
    const B = this.total ?? 1;
    this.el.hidden = B <= 1;
    this.input.max = String(Math.max(0, B - 1));
    this.count.textContent = `of ${fmtCount(B)}`;
  }

  /** Sequence n is on screen (-1: the [T] strip). */
  show(n: number): void {
    const cur = Math.max(0, n);
    this.input.value = String(cur);
    this.prev.disabled = cur <= 0;
    this.next.disabled = cur >= (this.total ?? 1) - 1;
  }
}
