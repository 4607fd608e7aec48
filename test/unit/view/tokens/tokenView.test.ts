// The token view in a DOM (happy-dom) against a fake language-model host: text per token that matches
// renderTokens, shading by loss, padding greyed, perplexity and bits per token from an independent mean,
// the hover's details asked once and shown, keyboard focus, a sequence selector, token names in the class
// table, the worst tokens, and a 2,048-token sequence rendered in chunks with no listener per token.
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import { fmt6 } from '../../../../media/view/format';
import { createView, type ViewHandle } from '../../../../media/view/view';
import { computeLoss } from '../../../../src/kernel/index';
import { toViewSummary, type HostToView, type SampleMaps, type TokenDetails, type ViewSummary, type ViewToHost } from '../../../../src/protocol';
import { renderTokens, tokenLabel } from '../../../../src/tensor/text/tokenText';
import { decodeTokenizerOption, type Vocabulary } from '../../../../src/tensor/text/vocab';
import { tokenSummary } from '../../../../src/tokenSummary';

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const WORDS = ['Ġthe', 'Ġcat', 'Ġsat', 'Ġon', 'Ġmat', '.', 'Ċ', 'Ġdog', 'ran', 'Ġaway', '<|endoftext|>', 'âĢ', 'Ķ', 'Ġa', 'Ġbig', 'Ġred', 'Ġball', ',', 'Ġand', 'Ġthen'];

/** A byte-level BPE vocabulary of V pieces (the first ones words; "âĢ"+"Ķ" is an em dash split over two tokens). */
function vocabulary(V: number): Vocabulary {
  const strings: Record<string, string> = {};
  for (let i = 0; i < V; i++) strings[String(i)] = i < WORDS.length ? WORDS[i] : `Ġw${i}`;
  return decodeTokenizerOption({ strings, kind: 'byte-level-bpe', special: [10] });
}

interface LmCase {
  readonly B: number;
  readonly T: number;
  readonly V: number;
  /** Tokens at the end of sequence 1 that are padding (ignore_index -100). */
  readonly pad?: number;
  readonly vocab?: boolean;
  readonly seed?: number;
}

/** Logits [B, T, V] and targets [B, T]; the loss through the real kernel (class-last), details computed here. */
class LmHost {
  readonly posted: ViewToHost[] = [];
  readonly logits: Float32Array;
  readonly targets: Int32Array;
  readonly vocab: Vocabulary | null;
  readonly summaryMsg: ViewSummary;
  private readonly result: ReturnType<typeof computeLoss>;

  constructor(private readonly c: LmCase, private readonly send: (m: HostToView) => void) {
    const { B, T, V } = c;
    const rnd = lcg(c.seed ?? 11);
    this.logits = new Float32Array(B * T * V);
    this.targets = new Int32Array(B * T);
    for (let k = 0; k < B * T; k++) {
      const t = Math.floor(rnd() * V);
      this.targets[k] = t;
      for (let v = 0; v < V; v++) this.logits[k * V + v] = (rnd() - 0.5) * 4 + (v === t ? 2 * rnd() : 0);
    }
    if (B > 1 && V > 12) {
      // An em dash split over two tokens in sequence 0.
      this.targets[3] = 11;
      this.targets[4] = 12;
    }
    for (let i = 0; i < (c.pad ?? 0); i++) this.targets[(B > 1 ? 1 : 0) * T + T - 1 - i] = -100;
    this.vocab = c.vocab === false ? null : vocabulary(V);
    this.result = computeLoss({
      input: { dtype: 'float32', shape: [B, T, V], data: this.logits },
      target: { dtype: 'int64', shape: [B, T], data: this.targets },
      options: { classDim: -1, ignoreIndex: -100 }, topK: 10,
    });
    const r = this.result;
    const base = toViewSummary(r, {
      title: 'LM', input: { label: 'logits.npy', shape: [B, T, V], dtype: 'float32' }, target: { label: 'targets.npy', shape: [B, T], dtype: 'int64' },
      weight: null, classNames: [], seconds: 0.01, engine: 'fake', mapsAvailable: true,
    });
    this.summaryMsg = { ...base, tokens: tokenSummary(this.vocab, { targetClass: r.targetClass, predicted: r.predicted, perClass: r.stats.perClass, worst: r.stats.worst }, 'test') };
  }

  row(k: number): number[] {
    return Array.from(this.logits.subarray(k * this.c.V, (k + 1) * this.c.V));
  }

  /** Float64 softmax, sorted by hand: the details a host would send. */
  details(k: number): TokenDetails {
    const x = this.row(k);
    const m = Math.max(...x);
    const z = x.reduce((a, v) => a + Math.exp(v - m), 0);
    const p = x.map((v) => Math.exp(v - m) / z);
    const t = this.targets[k];
    const order = p.map((prob, id) => ({ id, prob })).sort((a, b) => b.prob - a.prob || a.id - b.id);
    const ok = t >= 0 && t < x.length;
    return {
      row: k, target: t, C: x.length, loss: ok ? -Math.log(p[t]) : NaN, pTarget: ok ? p[t] : NaN,
      rank: ok ? x.filter((v) => v > x[t]).length + 1 : 0, top: order.slice(0, 5), vocabulary: this.vocab,
    };
  }

  sample(n: number): SampleMaps {
    const { T } = this.c;
    const r = this.result;
    const from = n * T;
    return {
      n, shape: [T], loss: Float32Array.from(r.lossMap.subarray(from, from + T)), target: r.targetClass.slice(from, from + T),
      predicted: r.predicted.slice(from, from + T), ignored: r.ignoredMask.slice(from, from + T), pTarget: null,
    };
  }

  handle(m: ViewToHost): void {
    this.posted.push(m);
    if (m.type === 'ready') {
      // As the real hosts do: the summary, then sample 0's maps unasked.
      this.send({ type: 'summary', summary: this.summaryMsg });
      this.send({ type: 'sample', maps: this.sample(0) });
    }
    else if (m.type === 'selectSample') this.send({ type: 'sample', maps: this.sample(Math.max(0, m.n)) });
    else if (m.type === 'tokenDetails') this.send({ type: 'tokenDetails', details: this.details(m.row) });
  }
}

interface Harness {
  win: Window;
  root: HTMLElement;
  view: ViewHandle;
  host: LmHost;
  $<T extends Element = HTMLElement>(sel: string): T;
  $$<T extends Element = HTMLElement>(sel: string): T[];
  settle(ms?: number): Promise<void>;
  close(): void;
}

async function setup(c: LmCase, onWindow?: (win: Window) => void): Promise<Harness> {
  const { Window: HappyWindow } = await import('happy-dom');
  const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
  onWindow?.(win);
  const doc = win.document as unknown as Document;
  const root = doc.createElement('div');
  doc.body.appendChild(root);
  let view: ViewHandle | null = null;
  let inFlight = 0;
  const later = (fn: () => void): void => {
    inFlight++;
    setTimeout(() => {
      inFlight--;
      fn();
    }, 0);
  };
  const host = new LmHost(c, (m) => later(() => view?.receive(m)));
  view = createView(root, (m) => later(() => host.handle(m)));
  const h: Harness = {
    win, root, view, host,
    $: <T extends Element>(sel: string) => {
      const e = root.querySelector(sel);
      assert.ok(e, `no element ${sel}`);
      return e as unknown as T;
    },
    $$: <T extends Element>(sel: string) => Array.from(root.querySelectorAll(sel)) as unknown as T[],
    settle: async (ms = 10) => {
      await new Promise((r) => setTimeout(r, ms));
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 5));
    },
    close: () => {
      view?.dispose();
      void win.happyDOM.close();
    },
  };
  host.handle({ type: 'ready' });
  await h.settle();
  return h;
}

function hover(h: Harness, el: Element): void {
  el.dispatchEvent(new h.win.MouseEvent('mouseover', { bubbles: true }) as unknown as Event);
}

function key(h: Harness, el: Element, k: string): void {
  el.dispatchEvent(new h.win.KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }) as unknown as Event);
}

/** Mean loss over non-padding tokens, from the logits in float64 (independent of the kernel). */
function referenceMean(host: LmHost, c: LmCase): number {
  let sum = 0;
  let n = 0;
  for (let k = 0; k < c.B * c.T; k++) {
    const t = host.targets[k];
    if (t === -100) continue;
    const x = host.row(k);
    const m = Math.max(...x);
    sum += m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0)) - x[t];
    n++;
  }
  return sum / n;
}

const CASE: LmCase = { B: 3, T: 16, V: 40, pad: 4 };

describe('view: token view (language models)', function () {
  let h: Harness | null = null;
  afterEach(() => {
    h?.close();
    h = null;
  });

  it('shows each token as a span whose text is renderTokens\' text, shaded by loss, padding greyed', async function () {
    h = await setup(CASE);
    const section = h.$('.cel-tokens');
    assert.equal(section.hidden, false, 'a class-last [B, T, V] input shows the token view without asking');
    const spans = h.$$('[data-testid="token-view"] .cel-tok');
    assert.equal(spans.length, CASE.T);
    const want = renderTokens(h.host.vocab, h.host.targets.subarray(0, CASE.T));
    assert.deepEqual(spans.map((s) => s.textContent), want.map((w) => w.text));
    assert.equal(h.$('[data-testid="token-view"]').textContent, want.map((w) => w.text).join(''));
    assert.ok(want.some((w) => w.kind === 'partial') && want.some((w) => w.text.includes('\u2014')), 'the em dash spans two tokens');
    spans.forEach((s, t) => {
      assert.match(s.style.backgroundColor, /rgb/, `token ${t} is shaded`);
      assert.ok(!s.classList.contains('cel-tok-ignored'));
    });
    // Two different losses get two different shades.
    assert.ok(new Set(spans.map((s) => s.style.backgroundColor)).size > 3);
    // Sequence 1 ends in padding: greyed, not shaded.
    change(h, h.$<HTMLInputElement>('.cel-token-seq input'), '1');
    await h.settle();
    assert.ok(h.host.posted.some((m) => m.type === 'selectSample' && m.n === 1));
    const s1 = h.$$('[data-testid="token-view"] .cel-tok');
    assert.deepEqual(s1.map((s) => s.textContent), renderTokens(h.host.vocab, h.host.targets.subarray(CASE.T, 2 * CASE.T)).map((w) => w.text));
    for (let t = 0; t < CASE.T; t++) {
      const pad = t >= CASE.T - (CASE.pad ?? 0);
      assert.equal(s1[t].classList.contains('cel-tok-ignored'), pad, `token ${t}`);
      assert.equal(s1[t].style.backgroundColor === '', pad, `token ${t} background`);
    }
  });

  it('perplexity = exp(mean loss) with 6 significant digits, and bits per token', async function () {
    h = await setup(CASE);
    const mean = referenceMean(h.host, CASE);
    const ppl = h.$('[data-testid="perplexity"]').textContent;
    assert.equal(ppl, fmt6(Math.exp(mean)));
    const stats = h.$('.cel-token-stats').textContent ?? '';
    assert.ok(stats.includes(fmt6(mean / Math.LN2)), stats);
    assert.ok(Math.abs(Number(fmt6(mean)) - mean) < 1e-5 * mean);
    assert.ok(stats.includes(fmt6(mean)));
  });

  it('hover asks the host once per token and shows target, loss, p(target), rank and the top 5', async function () {
    h = await setup(CASE);
    const spans = h.$$('[data-testid="token-view"] .cel-tok');
    hover(h, spans[5]);
    const tip = h.$('[data-testid="token-tooltip"]');
    assert.equal(tip.hidden, false);
    await h.settle(80);
    const d = h.host.details(5);
    const text = tip.textContent ?? '';
    assert.ok(text.includes(`target ${tokenLabel(h.host.vocab, d.target)}`), text);
    assert.ok(text.includes(`p(target) ${fmt6(d.pTarget)}`), text);
    assert.ok(text.includes(`rank ${d.rank} of ${CASE.V}`), text);
    assert.ok(text.includes(`loss ${fmt6(Math.fround(d.loss))}`) || text.includes(`loss ${fmt6(d.loss)}`), text);
    const rows = Array.from(tip.querySelectorAll('.cel-tip-top tbody tr'));
    assert.equal(rows.length, 5);
    rows.forEach((r, i) => {
      const cells = Array.from(r.querySelectorAll('td')).map((c) => c.textContent);
      assert.deepEqual(cells, [tokenLabel(h!.host.vocab, d.top[i].id), fmt6(d.top[i].prob)]);
    });
    // Cached: hovering away and back asks no more.
    hover(h, spans[6]);
    await h.settle(80);
    hover(h, spans[5]);
    await h.settle(80);
    const asked = h.host.posted.filter((m) => m.type === 'tokenDetails').map((m) => (m as { row: number }).row);
    assert.deepEqual(asked, [5, 6]);
  });

  it('the complete maps of the sequence on screen (p(target) after the first paint) keep its tokens and an open tooltip', async function () {
    h = await setup(CASE);
    const before = h.$$('[data-testid="token-view"] .cel-tok');
    hover(h, before[5]);
    await h.settle(80);
    const tip = h.$('[data-testid="token-tooltip"]');
    assert.equal(tip.hidden, false, 'the tooltip is open');
    const quick = h.host.sample(0);
    const pTarget = Float32Array.from(quick.loss, (l, i) => (quick.ignored[i] ? NaN : Math.exp(-l)));
    h.view.receive({ type: 'sample', maps: { ...quick, pTarget } });
    await h.settle();
    const after = h.$$('[data-testid="token-view"] .cel-tok');
    assert.equal(after.length, before.length, 'as many tokens');
    assert.ok(after.every((s, i) => s === before[i]), 'the very spans: nothing was drawn again');
    assert.equal(tip.hidden, false, 'the tooltip stays open');
    // Another sequence is drawn anew.
    h.view.receive({ type: 'sample', maps: h.host.sample(1) });
    await h.settle();
    assert.ok(h.$$('[data-testid="token-view"] .cel-tok')[0] !== before[0], 'sequence 1 drawn anew');
  });

  it('keyboard: focus shows the first token, arrows move, Escape hides', async function () {
    h = await setup(CASE);
    const text = h.$('[data-testid="token-view"]');
    text.focus();
    await h.settle(20);
    const tip = h.$('[data-testid="token-tooltip"]');
    assert.equal(tip.hidden, false);
    key(h, text, 'ArrowRight');
    key(h, text, 'ArrowRight');
    await h.settle(20);
    assert.ok(h.$$('.cel-tok')[2].classList.contains('cel-tok-active'));
    assert.match(tip.textContent ?? '', /^token 2 of sequence 0/);
    assert.match(h.$('.cel-tokens .cel-token-status').textContent ?? '', /token 2 of sequence 0/);
    key(h, text, 'Escape');
    assert.equal(tip.hidden, true);
  });

  it('names classes by token text in the table (searchable) and lists the worst tokens as text', async function () {
    h = await setup(CASE);
    const names = Array.from(h.root.querySelectorAll('[data-testid="class-table"] .cel-rowname')).map((e) => e.textContent);
    assert.ok(names.includes('␣cat') || names.includes('␣the'), names.join('|'));
    const search = h.$<HTMLInputElement>('.cel-class-search, input[type="search"]');
    search.value = '␣mat';
    search.dispatchEvent(new h.win.Event('input', { bubbles: true }) as unknown as Event);
    await h.settle();
    const after = Array.from(h.root.querySelectorAll('[data-testid="class-table"] tbody tr .cel-rowname')).map((e) => e.textContent);
    assert.deepEqual(after, ['␣mat']);
    const worst = h.$$('.cel-token-worst-list .cel-token-worst-item');
    const w0 = h.host.summaryMsg.worst[0];
    assert.ok(worst.length > 0);
    assert.equal(worst[0].querySelector('.cel-token-worst-text')?.textContent, tokenLabel(h.host.vocab, w0.target));
    // A worst token in another sequence: selects it and marks the token.
    const k = h.host.summaryMsg.worst.findIndex((w) => w.index[0] !== 0);
    assert.ok(k >= 0);
    (worst[k] as HTMLButtonElement).click();
    await h.settle(30);
    const w = h.host.summaryMsg.worst[k];
    assert.ok(h.host.posted.some((m) => m.type === 'selectSample' && m.n === w.index[0]));
    assert.ok(h.$$('.cel-tok')[w.index[1]].classList.contains('cel-tok-active'));
  });

  it('without a vocabulary shows token ids, and says how to get strings', async function () {
    h = await setup({ ...CASE, vocab: false });
    const spans = h.$$('[data-testid="token-view"] .cel-tok');
    assert.deepEqual(spans.map((s) => s.textContent), Array.from(h.host.targets.subarray(0, CASE.T), (t) => `‹${t}›`));
    assert.match(h.$('.cel-token-note').textContent ?? '', /crossEntropyLens\.vocabulary/);
  });

  it('a 2,048-token sequence renders in chunks, fast, with no listener per token', async function () {
    const c: LmCase = { B: 2, T: 2048, V: 30, seed: 3 };
    // Count listeners added while the view builds and renders, and those added to token spans.
    let onTokens = 0;
    let total = 0;
    const spy = (win: Window): void => {
      type Proto = { addEventListener: (...a: unknown[]) => void };
      let proto = Object.getPrototypeOf(win.document.createElement('span')) as Proto;
      while (!Object.prototype.hasOwnProperty.call(proto, 'addEventListener')) proto = Object.getPrototypeOf(proto) as Proto;
      const original = proto.addEventListener;
      proto.addEventListener = function (this: Element, ...a: unknown[]) {
        total++;
        if (this.classList?.contains('cel-tok')) onTokens++;
        return original.apply(this, a);
      };
    };
    {
      h = await setup(c, spy);
      const before = total;
      assert.ok(total > 10, `the spy sees the view's own listeners (${total})`);
      const spans = h.$$('[data-testid="token-view"] .cel-tok');
      assert.equal(spans.length, 2048);
      assert.equal(onTokens, 0, 'no listener on any token');
      // Another sequence: rendered quickly (the first chunk at once, the rest a tick later), no listener added
      // anywhere, and the text matches.
      const t0 = performance.now();
      change(h, h.$<HTMLInputElement>('.cel-token-seq input'), '1');
      await h.settle(0);
      const ms = performance.now() - t0;
      assert.equal(h.$$('[data-testid="token-view"] .cel-tok').length, 2048);
      // About 0.5 s in happy-dom (whose style writes are slow; a browser takes milliseconds): the bound is 6x that.
      assert.ok(ms < 3000, `${ms.toFixed(0)} ms to show 2,048 tokens`);
      assert.equal(total, before);
      assert.equal(h.$('[data-testid="token-view"]').textContent, renderTokens(h.host.vocab, h.host.targets.subarray(2048, 4096)).map((w) => w.text).join(''));
      // The one set of listeners on the container serves a token far down.
      hover(h, h.$$('.cel-tok')[2000]);
      await h.settle(80);
      assert.match(h.$('[data-testid="token-tooltip"]').textContent ?? '', /token 2000 of sequence 1/);
      assert.ok(h.host.posted.some((m) => m.type === 'tokenDetails' && m.row === 2048 + 2000));
    }
  });
});

function change(h: Harness, el: HTMLInputElement | HTMLSelectElement, value: string): void {
  el.value = value;
  el.dispatchEvent(new h.win.Event('change', { bubbles: true }) as unknown as Event);
}
