// The token view's hover details (TokenView composes it; its styles are in tokenView.css and tooltip.css):
// the tooltip under the active token, and the details of each loss-map row, which only the host can
// compute (the top-5 needs the logits). A pointer sweeping over the text passes many tokens, so a hover
// asks only once it rests (a keyboard move asks at once), each row is asked for at most once until it
// arrives, and a bounded cache keeps a long session from holding a 32k-token sequence's worth.
import type { TokenDetails } from '../../../src/protocol';
import type { Vocabulary } from '../../../src/tensor/text/vocab';
import { clear, type Builder } from '../dom';
import { fmt6 } from '../format';
import type { Timers } from '../state';
import { labelOf } from './tokenModel';

/** Token details kept (by loss-map row). */
const DETAILS_CACHE = 512;
const HOVER_DEBOUNCE_MS = 40;

export class TokenTooltip {
  readonly el: HTMLElement;
  private readonly details = new Map<number, TokenDetails>();
  private readonly asked = new Set<number>();
  private timer: number | null = null;

  constructor(private readonly h: Builder, private readonly timers: Timers, private readonly request: (row: number) => void) {
    this.el = h('div', { class: 'cel-token-tip', role: 'tooltip', 'data-testid': 'token-tooltip', hidden: true });
  }

  get hidden(): boolean {
    return Boolean(this.el.hidden);
  }

  detailsOf(row: number): TokenDetails | undefined {
    return this.details.get(row);
  }

  /** A new result: the details in hand, or asked for, describe the previous one. */
  forget(): void {
    this.details.clear();
    this.asked.clear();
  }

  /** Keeps details from the host; false for a malformed message. */
  store(d: TokenDetails): boolean {
    if (!d || typeof d.row !== 'number') return false;
    this.details.set(d.row, d);
    if (this.details.size > DETAILS_CACHE) this.details.delete(this.details.keys().next().value as number);
    this.asked.delete(d.row);
    return true;
  }

  /**
   * Asks the host for row's details unless they are here or on their way: now, or once the pointer has
   * rested, provided stillWanted() (the token is still the active one) then.
   */
  want(row: number, now: boolean, stillWanted: () => boolean): void {
    this.cancel();
    if (this.details.has(row) || this.asked.has(row)) return;
    const ask = (): void => {
      this.timer = null;
      if (!stillWanted() || this.details.has(row)) return;
      this.asked.add(row);
      this.request(row);
    };
    if (now) ask();
    else this.timer = this.timers.setTimeout(ask, HOVER_DEBOUNCE_MS);
  }

  /** The lines about the token, then the top predictions (or a placeholder until they arrive), under anchor. */
  show(lines: readonly string[], d: TokenDetails | undefined, vocab: Vocabulary | null, anchor: HTMLElement | undefined, stage: HTMLElement): void {
    const h = this.h;
    clear(this.el);
    lines.forEach((l, j) => this.el.appendChild(h('div', { class: j === 0 ? 'cel-tip-head' : '', text: l })));
    if (d && d.top.length) {
      const v = d.vocabulary ?? vocab;
      this.el.appendChild(h('table', { class: 'cel-tip-top' },
        h('thead', {}, h('tr', {}, h('th', { text: 'top tokens' }), h('th', { text: 'p' }))),
        h('tbody', {}, ...d.top.map((x) => h('tr', { class: x.id === d.target ? 'cel-target-row' : '' }, h('td', { text: labelOf(v, x.id) }), h('td', { text: fmt6(x.prob) }))))));
    } else {
      this.el.appendChild(h('div', { class: 'cel-dim', text: 'top tokens…' }));
    }
    this.el.hidden = false;
    if (anchor) this.place(anchor, stage);
  }

  hide(): void {
    this.el.hidden = true;
    this.cancel();
  }

  dispose(): void {
    this.cancel();
  }

  /** Below the anchor, moved left where it would overflow the stage's right edge. */
  private place(anchor: HTMLElement, stage: HTMLElement): void {
    const sr = stage.getBoundingClientRect();
    const r = anchor.getBoundingClientRect();
    const width = stage.clientWidth || 0;
    const tw = this.el.offsetWidth || 240;
    let x = r.left - sr.left;
    if (width > 0 && x + tw > width) x = Math.max(0, width - tw);
    this.el.style.left = `${Math.max(0, x)}px`;
    this.el.style.top = `${r.bottom - sr.top + 4}px`;
  }

  private cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
