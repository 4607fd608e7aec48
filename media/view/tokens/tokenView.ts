// The token view of a language-model loss: each sequence as text, one span per token shaded by its loss
// (ignored tokens, i.e. padding, greyed), the summary in language-model terms (mean loss, perplexity, bits
// per token), the worst tokens, a sequence picker (tokenSequence.ts), and a hover (or keyboard focus) that
// shows the target token, its loss, p(target), the target's rank and the top-5 predictions, asked from the
// host on demand and cached (tokenTooltip.ts). Long sequences render in chunks of CHUNK spans, one timer
// tick each, so a 32k-token sequence never blocks the page; every interaction goes through a few listeners
// on the container (none per token).
import type { SampleMaps, TokenDetails, ViewSummary } from '../../../src/protocol';
import { renderTokens, type TokenSegment } from '../../../src/tensor/text/tokenText';
import type { Vocabulary } from '../../../src/tensor/text/vocab';
import { lutColor, NAN_RGBA, rgbCss, type ColormapName } from '../render/colormap';
import { append, clear, type Builder } from '../dom';
import { fmt6, fmtCount, fmtShape } from '../format';
import type { Timers } from '../state';
import { labelOf, lmStats, sameTokens, tokenLines } from './tokenModel';
import { SequencePicker } from './tokenSequence';
import { TokenTooltip } from './tokenTooltip';

export { lmStats, tokenClassNames, tokenViewAuto, tokenViewCapable } from './tokenModel';

/** Spans added per timer tick. */
export const TOKEN_CHUNK = 1024;
/** Most tokens of one sequence shown (the rest is counted in a note). */
export const MAX_SHOWN_TOKENS = 65_536;
export interface TokenViewEvents {
  /** Show sequence n (LossView selects the sample and hands its maps back through setSequence). */
  selectSequence(n: number): void;
  /** Ask the host for the hover details of loss-map element `row`. */
  requestDetails(row: number): void;
}

export class TokenView {
  readonly el: HTMLElement;
  private readonly noteEl: HTMLElement;
  private readonly meanEl: HTMLElement;
  private readonly perplexityEl: HTMLElement;
  private readonly bitsEl: HTMLElement;
  private readonly statsNote: HTMLElement;
  private readonly picker: SequencePicker;
  private readonly stage: HTMLElement;
  private readonly textEl: HTMLElement;
  private readonly tip: TokenTooltip;
  private readonly legendEl: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly moreEl: HTMLElement;
  private readonly worstList: HTMLElement;
  private readonly worstSection: HTMLElement;

  private summary: ViewSummary | null = null;
  private vocab: Vocabulary | null = null;
  private maps: SampleMaps | null = null;
  private segments: TokenSegment[] = [];
  private spans: HTMLElement[] = [];
  private lossMax = 0;
  private shown = 0;
  private gen = 0;
  private chunkTimer: number | null = null;
  private active: number | null = null;
  private pendingActive: number | null = null;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly h: Builder, private readonly events: TokenViewEvents, private readonly timers: Timers, private colormap: ColormapName) {
    this.noteEl = h('p', { class: 'cel-dim cel-token-note' });
    this.meanEl = h('span', { class: 'cel-token-stat' });
    this.perplexityEl = h('span', { class: 'cel-token-stat', 'data-testid': 'perplexity' });
    this.bitsEl = h('span', { class: 'cel-token-stat' });
    this.statsNote = h('span', { class: 'cel-dim' });
    const stats = h('dl', { class: 'cel-token-stats' },
      h('dt', { text: 'mean loss' }), h('dd', {}, this.meanEl),
      h('dt', { text: 'perplexity' }), h('dd', {}, this.perplexityEl),
      h('dt', { text: 'bits per token' }), h('dd', {}, this.bitsEl));
    this.picker = new SequencePicker(h, () => this.maps?.n ?? null, (n) => this.events.selectSequence(n), (t, type, fn) => this.listen(t, type, fn));
    this.textEl = h('div', {
      class: 'cel-token-text', 'data-testid': 'token-view', tabindex: 0, role: 'application',
      'aria-roledescription': 'token text',
      'aria-label': 'Tokens shaded by loss. Left and right arrows move between tokens and show their details; Escape hides them.',
    });
    this.tip = new TokenTooltip(h, timers, (row) => this.events.requestDetails(row));
    this.stage = h('div', { class: 'cel-token-stage' }, this.textEl, this.tip.el);
    this.moreEl = h('p', { class: 'cel-dim', hidden: true });
    this.legendEl = h('div', { class: 'cel-token-legend cel-dim' });
    this.statusEl = h('div', { class: 'cel-token-status', 'aria-live': 'polite' });
    this.worstList = h('ol', { class: 'cel-token-worst-list' });
    this.worstSection = h('div', { class: 'cel-token-worst-wrap' }, h('h4', { text: 'Worst tokens' }), this.worstList);
    this.el = h('section', { class: 'cel-tokens', 'aria-label': 'Token view', hidden: true },
      h('div', { class: 'cel-token-head' }, h('h3', { text: 'Tokens' }), stats, this.statsNote),
      this.noteEl, this.picker.el, this.stage, this.moreEl, this.legendEl, this.statusEl, this.worstSection);
    this.wire();
  }

  // ---------------------------------------------------------------------------------------------------
  // Data in.

  /** A new result: statistics, the vocabulary subset, the worst tokens; the sequence follows with setSequence. */
  update(s: ViewSummary): void {
    this.summary = s;
    this.vocab = s.tokens?.vocabulary ?? null;
    this.tip.forget();
    this.hideTooltip();
    this.active = null;
    const st = lmStats(s);
    this.meanEl.textContent = fmt6(st.mean);
    this.perplexityEl.textContent = fmt6(st.perplexity);
    this.bitsEl.textContent = fmt6(st.bits);
    const o = s.options;
    this.statsNote.textContent = s.weight || o.labelSmoothing ? ' (with the loss\'s class weights / label smoothing)' : '';
    this.noteEl.textContent = s.tokens?.note ?? 'No vocabulary: token ids are shown.';
    this.picker.setShape(s.lossShape);
    this.renderWorst();
    if (this.maps && !this.fits(this.maps)) this.maps = null;
    this.renderText();
  }

  /** The maps of the shown sequence (sample n of [B, T], or the [T] strip as n = -1). */
  setSequence(maps: SampleMaps): void {
    if (!this.summary || !this.fits(maps)) return;
    if (this.maps && sameTokens(this.maps, maps)) {
      // The same sequence's complete maps (p(target) and the confidence maps follow the first paint): the
      // tokens stay as drawn and a tooltip being read stays open, with the new lines.
      this.maps = maps;
      if (this.active !== null && !this.tip.hidden) this.renderTooltip(this.active);
      return;
    }
    this.maps = maps;
    this.hideTooltip();
    this.active = null;
    this.picker.show(maps.n);
    this.renderText();
    if (this.pendingActive !== null) {
      const t = this.pendingActive;
      this.pendingActive = null;
      if (t < this.shownLimit()) this.activate(t, true);
    }
  }

  setDetails(d: TokenDetails): void {
    if (!this.tip.store(d)) return;
    if (this.active !== null && this.rowOf(this.active) === d.row && !this.tip.hidden) this.renderTooltip(this.active);
  }

  setColormap(name: ColormapName): void {
    if (name === this.colormap) return;
    this.colormap = name;
    for (let t = 0; t < this.spans.length; t++) this.shade(this.spans[t], t);
  }

  dispose(): void {
    this.gen++;
    if (this.chunkTimer !== null) this.timers.clearTimeout(this.chunkTimer);
    this.tip.dispose();
    for (const c of this.cleanups) c();
  }

  // ---------------------------------------------------------------------------------------------------
  // Text.

  private fits(maps: SampleMaps): boolean {
    const s = this.summary;
    if (!s) return false;
    const ls = s.lossShape;
    const T = ls[ls.length - 1];
    return maps.shape.length === 1 && maps.shape[0] === T && maps.target.length >= T && maps.loss.length >= T && maps.ignored.length >= T;
  }

  private shownLimit(): number {
    return Math.min(this.maps?.target.length ?? 0, MAX_SHOWN_TOKENS);
  }

  private rowOf(t: number): number {
    const m = this.maps as SampleMaps;
    return m.n >= 0 ? m.n * m.shape[0] + t : t;
  }

  private renderText(): void {
    const gen = ++this.gen;
    if (this.chunkTimer !== null) this.timers.clearTimeout(this.chunkTimer);
    this.chunkTimer = null;
    clear(this.textEl);
    this.spans = [];
    this.shown = 0;
    const m = this.maps;
    this.moreEl.hidden = true;
    if (!m) {
      this.segments = [];
      this.legendEl.textContent = '';
      return;
    }
    const T = this.shownLimit();
    this.segments = renderTokens(this.vocab, m.target.subarray(0, T));
    let max = 0;
    for (let t = 0; t < T; t++) {
      const v = m.loss[t];
      if (!m.ignored[t] && v > max && v < Infinity) max = v;
    }
    this.lossMax = max;
    this.legendEl.textContent = `Background: loss from 0 to ${fmt6(max)} (${this.colormap}); grey: ignored (padding); magenta: NaN.`;
    if (T < m.target.length) {
      this.moreEl.hidden = false;
      this.moreEl.textContent = `Showing the first ${fmtCount(T)} of ${fmtCount(m.target.length)} tokens.`;
    }
    const doc = this.h.doc;
    const step = (from: number): void => {
      this.chunkTimer = null;
      if (gen !== this.gen) return;
      const to = Math.min(T, from + TOKEN_CHUNK);
      const frag = doc.createDocumentFragment();
      for (let t = from; t < to; t++) {
        const span = this.tokenSpan(t);
        this.spans.push(span);
        frag.appendChild(span);
      }
      this.textEl.appendChild(frag);
      this.shown = to;
      if (to < T) this.chunkTimer = this.timers.setTimeout(() => step(to), 0);
    };
    step(0);
  }

  private tokenSpan(t: number): HTMLElement {
    const seg = this.segments[t];
    const span = this.h.doc.createElement('span');
    span.className = `cel-tok cel-tok-${seg.kind}${seg.text === '' ? ' cel-tok-empty' : ''}`;
    span.setAttribute('data-t', String(t));
    if (seg.text !== '') span.appendChild(this.h.doc.createTextNode(seg.text));
    this.shade(span, t);
    return span;
  }

  private shade(span: HTMLElement, t: number): void {
    const m = this.maps as SampleMaps;
    if (m.ignored[t]) {
      span.classList.add('cel-tok-ignored');
      return;
    }
    const v = m.loss[t];
    let rgb: readonly number[];
    if (Number.isNaN(v)) rgb = NAN_RGBA;
    else {
      const f = this.lossMax > 0 ? Math.min(1, Math.max(0, v / this.lossMax)) : 0;
      rgb = lutColor(this.colormap, f * 255);
    }
    span.style.backgroundColor = rgbCss(rgb);
    // Light text on dark backgrounds (relative luminance, sRGB weights).
    const lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
    span.classList.toggle('cel-tok-on-dark', lum < 0.5);
  }

  // ---------------------------------------------------------------------------------------------------
  // Hover, focus, tooltip.

  private tokenAt(target: EventTarget | null): number | null {
    let e = target as HTMLElement | null;
    while (e && e !== this.textEl) {
      const t = e.getAttribute?.('data-t');
      if (t !== null && t !== undefined) {
        const i = Number(t);
        return Number.isInteger(i) && i >= 0 && i < this.shown ? i : null;
      }
      e = e.parentElement;
    }
    return null;
  }

  private activate(t: number, fromKeyboard: boolean): void {
    if (!this.maps || t < 0 || t >= this.shownLimit()) return;
    if (this.active !== null) this.spans[this.active]?.classList.remove('cel-tok-active');
    this.active = t;
    const span = this.spans[t];
    span?.classList.add('cel-tok-active');
    if (fromKeyboard) span?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    this.renderTooltip(t);
    if (fromKeyboard) this.statusEl.textContent = this.lines(t).join('; ');
    const row = this.rowOf(t);
    this.tip.want(row, fromKeyboard, () => this.active === t && !!this.maps && this.rowOf(t) === row);
  }

  private hideTooltip(): void {
    this.tip.hide();
    if (this.active !== null) this.spans[this.active]?.classList.remove('cel-tok-active');
  }

  private lines(t: number): string[] {
    const m = this.maps;
    if (!m || !this.summary) return [];
    return tokenLines(m, this.vocab, this.tip.detailsOf(this.rowOf(t)), t);
  }

  private renderTooltip(t: number): void {
    const d = this.maps ? this.tip.detailsOf(this.rowOf(t)) : undefined;
    this.tip.show(this.lines(t), d, this.vocab, this.spans[t], this.stage);
  }

  // ---------------------------------------------------------------------------------------------------
  // Worst tokens.

  private renderWorst(): void {
    const s = this.summary as ViewSummary;
    const h = this.h;
    clear(this.worstList);
    this.worstSection.hidden = s.worst.length === 0;
    s.worst.forEach((w, k) => {
      append(this.worstList, h('li', {}, h('button', { type: 'button', class: 'cel-token-worst-item', 'data-k': k },
        h('span', { class: 'cel-mono cel-token-worst-text', text: labelOf(this.vocab, w.target) }),
        h('span', { class: 'cel-worst-loss', text: ` loss ${fmt6(w.loss)}` }),
        h('span', { class: 'cel-dim', text: ` · predicted ${labelOf(this.vocab, w.predicted)} · at ${fmtShape(w.index)}` }))));
    });
  }

  private goWorst(k: number): void {
    const s = this.summary;
    const w = s?.worst[k];
    if (!s || !w) return;
    const seq = s.lossShape.length === 2 ? w.index[0] : -1;
    const t = w.index[w.index.length - 1];
    if (this.maps && this.maps.n === seq) {
      this.textEl.focus({ preventScroll: true });
      this.activate(t, true);
      return;
    }
    this.pendingActive = t;
    this.events.selectSequence(seq);
  }

  private listen<K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, fn: (e: HTMLElementEventMap[K]) => void): void {
    target.addEventListener(type, fn as EventListener);
    this.cleanups.push(() => target.removeEventListener(type, fn as EventListener));
  }

  private wire(): void {
    // One set of listeners on the container serves every token.
    const el = this.textEl;
    this.listen(el, 'mouseover', (e) => {
      const t = this.tokenAt(e.target);
      if (t !== null && t !== this.active) this.activate(t, false);
      else if (t !== null && this.tip.hidden) this.renderTooltip(t);
    });
    this.listen(el, 'mouseleave', () => {
      if (this.h.doc.activeElement !== el) this.hideTooltip();
    });
    this.listen(el, 'click', (e) => {
      const t = this.tokenAt(e.target);
      if (t !== null) this.activate(t, true);
    });
    this.listen(el, 'focus', () => {
      if (!this.maps || this.shown === 0) return;
      this.activate(this.active ?? 0, true);
    });
    this.listen(el, 'blur', () => this.hideTooltip());
    this.listen(el, 'keydown', (e) => {
      if (!this.maps || this.shown === 0) return;
      const cur = this.active ?? 0;
      const last = this.shown - 1;
      const step = e.shiftKey ? 10 : 1;
      let t: number;
      switch (e.key) {
        case 'ArrowLeft': t = Math.max(0, cur - step); break;
        case 'ArrowRight': t = Math.min(last, cur + step); break;
        case 'Home': t = 0; break;
        case 'End': t = last; break;
        case 'Escape':
          this.hideTooltip();
          return;
        default:
          return;
      }
      e.preventDefault();
      this.activate(t, true);
    });
    this.listen(this.worstList, 'click', (e) => {
      let b = e.target as HTMLElement | null;
      while (b && b !== this.worstList && !b.hasAttribute?.('data-k')) b = b.parentElement;
      if (b && b !== this.worstList) this.goWorst(Number(b.getAttribute('data-k')));
    });
  }
}
