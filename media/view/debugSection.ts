// A panel opened from a paused Python debug session (DebugContext, src/debug/): where the values came from,
// the PyTorch exception it explains with the lens's own message and a fix to copy, the *Update on each stop*
// checkbox, and the loss at each stop as a sparkline and a list. It sits above the summary and the error, so
// it stays in sight whether the panel shows results or an error. Every string in DebugContext is untrusted
// text: it goes in through textContent only.
import type { DebugContext, DebugExplanation, DebugStop, ViewToHost } from '../../src/protocol';
import { append, clear, type Builder } from './dom';
import { fmt6 } from './format';

/** Most stops listed in the DOM (the last ones); the sparkline draws them all. */
export const MAX_LISTED_STOPS = 200;
/** Most points in the sparkline: longer histories keep each bucket's lowest and highest value. */
export const MAX_SPARK_POINTS = 400;

const SVG_NS = 'http://www.w3.org/2000/svg';
const SPARK_W = 240;
const SPARK_H = 36;
const SPARK_PAD = 3;

/** A stop's value to show and plot: finite numbers only (anything else reads as no value). */
function valueOf(s: DebugStop): number | null {
  return typeof s.value === 'number' && Number.isFinite(s.value) ? s.value : null;
}

/** The list line of one stop: "stop 3: 2.30259 — train.py:42" ("no value" where it has none). */
export function stopLine(s: DebugStop): string {
  const v = typeof s.value === 'number' ? fmt6(s.value) : 'no value';
  const where = s.where === null || s.where === undefined ? '' : String(s.where);
  return `stop ${String(s.stop)}: ${v}${where ? ` — ${where}` : ''}`;
}

/**
 * The values to plot, at most `max` of them (max >= 2): as they are when they fit, else the lowest and highest
 * value of each of max / 2 equal buckets in the order they came, so a spike survives the downsampling.
 */
export function sparkValues(values: readonly number[], max = MAX_SPARK_POINTS): number[] {
  if (values.length <= max) return [...values];
  const buckets = Math.max(1, Math.floor(max / 2));
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * values.length) / buckets);
    const hi = Math.floor(((b + 1) * values.length) / buckets);
    let iMin = lo;
    let iMax = lo;
    for (let i = lo; i < hi; i++) {
      if (values[i] < values[iMin]) iMin = i;
      if (values[i] > values[iMax]) iMax = i;
    }
    if (iMin === iMax) out.push(values[iMin]);
    else if (iMin < iMax) out.push(values[iMin], values[iMax]);
    else out.push(values[iMax], values[iMin]);
  }
  return out;
}

/** Sparkline coordinates of values in a w × h box with `pad` inside it; a flat series sits in the middle. */
export function sparkPoints(values: readonly number[], w = SPARK_W, h = SPARK_H, pad = SPARK_PAD): Array<[number, number]> {
  if (values.length === 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const round = (x: number): number => Math.round(x * 100) / 100;
  const n = values.length;
  return values.map((v, i) => {
    const x = n === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (n - 1);
    const y = hi > lo ? pad + ((hi - v) * (h - 2 * pad)) / (hi - lo) : h / 2;
    return [round(x), round(y)];
  });
}

export class DebugSection {
  readonly el: HTMLElement;
  private readonly headEl: HTMLElement;
  private readonly explainEl: HTMLElement;
  private readonly follow: HTMLInputElement;
  private readonly historyEl: HTMLElement;
  private readonly sparkWrap: HTMLElement;
  private readonly earlierEl: HTMLElement;
  private readonly listEl: HTMLOListElement;
  /** What the explanation on screen shows: it is rebuilt only when that changes (a focused Copy keeps focus). */
  private explainKey: string | null = null;

  constructor(private readonly h: Builder, private readonly post: (msg: ViewToHost) => void) {
    this.headEl = h('h3', { class: 'cel-debug-head' });
    this.explainEl = h('div', { class: 'cel-debug-explain', 'data-testid': 'debug-explain', hidden: true });
    this.follow = h('input', { type: 'checkbox', 'data-testid': 'follow-stops' });
    // The host answers with a new 'debug' message; until then the checkbox is as the user left it.
    this.follow.addEventListener('change', () => this.post({ type: 'followStops', on: this.follow.checked }));
    this.sparkWrap = h('div', { class: 'cel-debug-spark-wrap' });
    this.earlierEl = h('p', { class: 'cel-hint cel-debug-earlier', hidden: true });
    this.listEl = h('ol', { class: 'cel-debug-stops' });
    this.historyEl = h('div', { class: 'cel-debug-history', 'data-testid': 'stop-history', hidden: true },
      this.sparkWrap, h('div', { class: 'cel-debug-stops-wrap' }, this.earlierEl, this.listEl));
    this.el = h('section', { class: 'cel-debug', 'data-testid': 'debug-section', 'aria-label': 'From the debugger', hidden: true },
      this.headEl, this.explainEl,
      h('label', { class: 'cel-check cel-debug-follow' }, this.follow, ' Update on each stop'),
      this.historyEl);
  }

  /** Shows the context (null: hides the section, as for a panel not opened from a debug session). */
  update(d: DebugContext | null): void {
    if (!d || typeof d !== 'object') {
      this.el.hidden = true;
      this.headEl.textContent = '';
      this.renderExplanation(null);
      this.renderHistory([]);
      return;
    }
    this.headEl.textContent = `From the debugger: ${String(d.origin ?? '')}`;
    this.renderExplanation(d.explanation ?? null);
    this.follow.checked = d.follow === true;
    this.renderHistory(Array.isArray(d.history) ? d.history : []);
    this.el.hidden = false;
  }

  private renderExplanation(e: DebugExplanation | null): void {
    const key = e ? JSON.stringify([e.raised, e.call, e.lensMessage, e.fix?.code ?? null, e.fix?.note ?? null]) : null;
    if (key === this.explainKey) return;
    this.explainKey = key;
    clear(this.explainEl);
    this.explainEl.hidden = !e;
    if (!e) return;
    const h = this.h;
    const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
    append(this.explainEl,
      h('div', { class: 'cel-debug-label', text: 'PyTorch raised' }),
      h('pre', { class: 'cel-debug-raised cel-mono', 'data-testid': 'debug-raised', text: text(e.raised) }),
      h('div', { class: 'cel-debug-label', text: 'in the call' }),
      h('pre', { class: 'cel-debug-call cel-mono', 'data-testid': 'debug-call', text: text(e.call) }));
    if (e.lensMessage !== null && e.lensMessage !== undefined) {
      append(this.explainEl, h('p', { class: 'cel-debug-lens', 'data-testid': 'debug-lens-message', text: `Cross-Entropy Lens: ${text(e.lensMessage)}` }));
    }
    const fix = e.fix;
    if (fix) {
      const code = text(fix.code);
      const copy = h('button', { type: 'button', class: 'cel-button cel-secondary cel-debug-copy', 'data-testid': 'debug-fix-copy', 'aria-label': 'Copy the fix', text: 'Copy' });
      copy.addEventListener('click', () => this.post({ type: 'copyText', text: code }));
      append(this.explainEl, h('div', { class: 'cel-debug-fix', 'data-testid': 'debug-fix' },
        h('p', { class: 'cel-debug-fix-note', text: text(fix.note) }),
        h('div', { class: 'cel-debug-fix-line' }, h('code', { class: 'cel-debug-fix-code', 'data-testid': 'debug-fix-code', text: code }), ' ', copy),
        h('p', { class: 'cel-hint', text: 'The loss shown is the loss after this fix.' })));
    }
  }

  private renderHistory(history: readonly DebugStop[]): void {
    const stops = history.filter((s) => s !== null && typeof s === 'object');
    this.historyEl.hidden = stops.length === 0;
    clear(this.sparkWrap);
    clear(this.listEl);
    if (stops.length === 0) return;
    const values: number[] = [];
    for (const s of stops) {
      const v = valueOf(s);
      if (v !== null) values.push(v);
    }
    if (values.length > 0) this.sparkWrap.appendChild(this.sparkline(sparkValues(values), values[values.length - 1]));
    const shown = stops.slice(-MAX_LISTED_STOPS);
    const earlier = stops.length - shown.length;
    this.earlierEl.hidden = earlier === 0;
    this.earlierEl.textContent = earlier === 0 ? '' : `… ${earlier} earlier ${earlier === 1 ? 'stop' : 'stops'}`;
    const h = this.h;
    shown.forEach((s, i) => {
      const last = i === shown.length - 1;
      this.listEl.appendChild(h('li', { 'data-stop': String(s.stop), class: last ? 'cel-debug-current' : '', text: stopLine(s) }));
    });
    // The newest stop in sight within the list's own scroll box (the page itself does not move).
    const wrap = this.listEl.parentElement;
    if (wrap) wrap.scrollTop = wrap.scrollHeight;
  }

  /** An inline SVG of the values (already at most MAX_SPARK_POINTS), the last one marked: one value is a dot. */
  private sparkline(values: readonly number[], latest: number): SVGSVGElement {
    const doc = this.h.doc;
    const svg = doc.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'cel-debug-spark');
    svg.setAttribute('data-testid', 'stop-sparkline');
    svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
    svg.setAttribute('width', String(SPARK_W));
    svg.setAttribute('height', String(SPARK_H));
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `Loss at each stop; latest ${fmt6(latest)}`);
    const pts = sparkPoints(values);
    if (pts.length >= 2) {
      const line = doc.createElementNS(SVG_NS, 'polyline');
      line.setAttribute('points', pts.map(([x, y]) => `${x},${y}`).join(' '));
      svg.appendChild(line);
    }
    const [x, y] = pts[pts.length - 1];
    const dot = doc.createElementNS(SVG_NS, 'circle');
    dot.setAttribute('cx', String(x));
    dot.setAttribute('cy', String(y));
    dot.setAttribute('r', '2.5');
    svg.appendChild(dot);
    return svg;
  }
}
