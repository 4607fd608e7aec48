// The notebook renderer in a DOM (happy-dom): computing in the page without messaging, asking the host
// with it (and falling back when the host is silent), and untrusted outputs: hostile strings stay text,
// malformed and oversized payloads render an inline error and never throw to VS Code.
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import type { OutputItem, RendererApi, RendererContext } from 'vscode-notebook-renderer';
import { createRenderer } from '../../../../media/rendererCore';
import { fmt6 } from '../../../../media/view/format';
import type { HostToRenderer, RendererToHost, ViewSummary } from '../../../../src/protocol';
import { MAX_PAYLOAD_BYTES, PAYLOAD_MIME } from '../../../../src/tensor/text/payload';
import { toWire } from '../../../../src/wire';

const HOSTILE = '<img src=x onerror=alert(1)><script>alert(2)</script>';

/** Cross-entropy of (N, C) logits with class-index targets in float64, written here independently. */
function referenceMean(logits: number[][], target: number[], ignoreIndex: number): number {
  let sum = 0;
  let count = 0;
  logits.forEach((row, i) => {
    if (target[i] === ignoreIndex) return;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    sum += lse - row[target[i]];
    count++;
  });
  return sum / count;
}

function item(id: string, value: unknown, raw?: Uint8Array): OutputItem {
  const text = raw ? '' : JSON.stringify(value);
  const bytes = raw ?? new TextEncoder().encode(text);
  return {
    id,
    mime: PAYLOAD_MIME,
    metadata: undefined,
    data: () => bytes,
    text: () => new TextDecoder().decode(bytes),
    json: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    blob: () => {
      throw new Error('not used');
    },
  } as OutputItem;
}

interface Page {
  win: Window;
  el: HTMLElement;
  api: RendererApi;
  sent: RendererToHost[];
  deliver(m: HostToRenderer): void;
  /** A message as it arrives, without the wire form (a hostile or broken one). */
  deliverRaw(raw: unknown): void;
  $(sel: string): HTMLElement | null;
  close(): void;
}

async function page(messaging: boolean, hostTimeoutMs = 5000): Promise<Page> {
  const { Window: HappyWindow } = await import('happy-dom');
  const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
  const doc = win.document as unknown as Document;
  const el = doc.createElement('div');
  doc.body.appendChild(el);
  const sent: RendererToHost[] = [];
  const listeners: Array<(m: unknown) => void> = [];
  const ctx = {
    workspace: { isTrusted: true },
    getState: () => undefined,
    setState: () => undefined,
    ...(messaging
      ? {
          postMessage: (m: unknown) => sent.push(JSON.parse(JSON.stringify(m)) as RendererToHost),
          onDidReceiveMessage: (l: (m: unknown) => void) => {
            listeners.push(l);
            return { dispose: () => undefined };
          },
        }
      : {}),
  } as unknown as RendererContext<unknown>;
  const api = (await createRenderer('.cel-root{}', hostTimeoutMs)(ctx)) as RendererApi;
  return {
    win, el, api, sent,
    // Through JSON, as VS Code's renderer messaging carries it.
    deliver: (m) => listeners.forEach((l) => l(JSON.parse(JSON.stringify(toWire(m))))),
    deliverRaw: (raw) => listeners.forEach((l) => l(raw)),
    $: (sel) => el.querySelector(sel) as HTMLElement | null,
    close: () => {
      api.disposeOutputItem?.();
      void win.happyDOM.close();
    },
  };
}

const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

const LOGITS = [[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-2.0, 4.0, 1.0], [1.0, 1.0, 1.0]];
const TARGET = [0, 1, 255, 2];
const PAYLOAD = { input: LOGITS, target: TARGET, options: { ignoreIndex: 255, reduction: 'mean', classNames: ['cat', 'dog', HOSTILE] } };

describe('notebook renderer', function () {
  let p: Page | null = null;
  afterEach(function () {
    p?.close();
    p = null;
  });

  it('without messaging computes in the page, says so, and shows the reference value', async function () {
    p = await page(false);
    await p.api.renderOutputItem(item('o1', PAYLOAD), p.el, new AbortController().signal);
    await settle();
    const want = referenceMean(LOGITS, TARGET, 255);
    assert.equal(p.$('[data-testid="loss-value"]')?.textContent, fmt6(want));
    assert.match(p.$('.cel-note')?.textContent ?? '', /computed in the notebook page/);
    assert.ok(p.$('.cel-note')?.hidden === false);
    // No host: nothing that needs one (export, open in panel) is offered.
    assert.ok(p.$('.cel-actions')?.hidden);
    assert.equal(p.el.ownerDocument.getElementById('cross-entropy-lens-styles')?.tagName, 'STYLE');
  });

  it('keeps hostile class names as text: no element is created from them', async function () {
    p = await page(false);
    await p.api.renderOutputItem(item('o1', PAYLOAD), p.el, new AbortController().signal);
    await settle();
    const doc = p.el.ownerDocument;
    assert.equal(doc.querySelectorAll('img').length, 0);
    assert.equal(doc.querySelectorAll('script').length, 0);
    assert.equal(doc.querySelectorAll('[onerror]').length, 0);
    assert.ok((p.$('[data-testid="class-table"]')?.textContent ?? '').includes(HOSTILE));
  });

  it('renders a malformed payload as an inline error naming the problem, never throwing', async function () {
    p = await page(false);
    const cases: Array<[unknown, RegExp]> = [
      [{ target: [0] }, /payload has no input/],
      [{ input: [[1, 2]], target: [0], options: { reduction: 'median' } }, /payload\.options\.reduction must be one of none, mean, sum/],
      [{ input: { dtype: 'float32', shape: [2, 2], data: 'AAAA' }, target: [0, 1] }, /payload\.input/],
      [{ input: [[1, 2]], target: [5] }, /target/i],
      // Integer logits named as such: PyTorch refuses them (log_softmax has no Long kernel), and so does the renderer.
      [{ input: { dtype: 'int64', shape: [1, 2], data: [1, 2] }, target: [0] }, /input has dtype int64/],
    ];
    for (const [i, [value, re]] of cases.entries()) {
      await p.api.renderOutputItem(item(`bad${i}`, value), p.el, new AbortController().signal);
      await settle();
      const err = p.$('[data-testid="error"]');
      assert.ok(err && !err.hidden, `case ${i} shows an error`);
      assert.match(err.textContent ?? '', re, `case ${i}`);
      assert.doesNotMatch(err.textContent ?? '', /\n| {4}at /, 'one line, no stack');
    }
    await p.api.renderOutputItem(item('notjson', null, new TextEncoder().encode('{"input": [1, 2')), p.el, new AbortController().signal);
    await settle();
    assert.match(p.$('[data-testid="error"]')?.textContent ?? '', /not valid JSON/);
  });

  it('says an oversized output is over the limit instead of parsing it', async function () {
    p = await page(false);
    const big = new Uint8Array(MAX_PAYLOAD_BYTES + 1);
    const out = item('big', null, big);
    out.json = () => assert.fail('an oversized output must not be parsed');
    await p.api.renderOutputItem(out, p.el, new AbortController().signal);
    await settle();
    assert.match(p.$('[data-testid="error"]')?.textContent ?? '', /over the 64 MB limit/);
  });

  it('refuses a 100k-level output before parsing it, and ignores a 100k-level host message', async function () {
    p = await page(true);
    const levels = 100_000;
    const out = item('deep', null, new TextEncoder().encode(`{"input": ${'['.repeat(levels)}1${']'.repeat(levels)}, "target": [0]}`));
    out.json = () => assert.fail('a 100k-level output must not be parsed');
    await p.api.renderOutputItem(out, p.el, new AbortController().signal);
    await settle();
    const err = p.$('[data-testid="error"]');
    assert.ok(err && !err.hidden);
    assert.equal(err.textContent, 'Cross-Entropy Lens output: payload is nested more than 66 levels deep (a tensor has at most 64 dimensions)');
    assert.equal(p.sent.length, 0, 'nothing is posted to the host');
    // The same nesting parsed (JSON.parse does not recurse in V8) and handed over, as another engine's item.json() would.
    const parsed = item('deep2', null, new TextEncoder().encode('{}'));
    parsed.json = () => ({ input: JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown, target: [0] });
    await p.api.renderOutputItem(parsed, p.el, new AbortController().signal);
    await settle();
    assert.match(p.$('[data-testid="error"]')?.textContent ?? '', /^Cross-Entropy Lens output: payload\.input is nested more than 65 levels deep/);
    await p.api.renderOutputItem(item('o9', PAYLOAD), p.el, new AbortController().signal);
    p.deliverRaw({ outputId: 'o9', msg: JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown });
    p.deliver({ outputId: 'o9', msg: { type: 'error', message: 'the host answered' } });
    await settle();
    assert.equal(p.$('[data-testid="error"]')?.textContent, 'the host answered', 'later messages still arrive');
  });

  it('with messaging asks the host and shows its answer', async function () {
    p = await page(true);
    await p.api.renderOutputItem(item('o2', PAYLOAD), p.el, new AbortController().signal);
    await settle();
    assert.equal(p.sent.length, 1);
    const req = p.sent[0];
    assert.equal(req.type, 'compute');
    assert.equal(req.outputId, 'o2');
    assert.deepEqual((req as { payload: unknown }).payload, PAYLOAD);
    // A host summary with a non-finite number and typed maps, through JSON.
    const summary = { title: 'notebook output', input: { label: 'input', shape: [4, 3], dtype: 'float64' }, target: { label: 'target', shape: [4], dtype: 'int64' },
      weight: null, options: { ignoreIndex: 255, reduction: 'mean', labelSmoothing: 0, inputKind: 'logits', classDim: 1, loss: 'ce' }, value: Infinity, numerator: Infinity, denominator: 3,
      targetKind: 'index', lossShape: [4], classNames: [], perClass: [], confusion: [], topConfusions: [], ignoredCount: 1, elementCount: 4, accuracy: 0.5, nanCount: 0, infCount: 1, worst: [],
      seconds: 0.01, engine: 'wasm-simd, 1 worker', mapsAvailable: true } as unknown as ViewSummary;
    p.deliver({ outputId: 'o2', msg: { type: 'summary', summary } });
    p.deliver({ outputId: 'o2', msg: { type: 'sample', maps: { n: -1, shape: [4], loss: Float32Array.of(1, 2, 0, Infinity), target: Int32Array.of(0, 1, 255, 2), predicted: Int32Array.of(0, 2, 1, 0), ignored: Uint8Array.of(0, 0, 1, 0), pTarget: null } } });
    await settle();
    assert.equal(p.$('[data-testid="loss-value"]')?.textContent, fmt6(Infinity));
    assert.ok(p.$('.cel-note')?.hidden, 'no in-page note when the host answers');
    assert.equal(p.$('.cel-actions')?.hidden, false);
    // The view's requests go to the host, tagged with the output.
    p.api.disposeOutputItem?.('o2');
    assert.deepEqual(p.sent.at(-1), { type: 'dispose', outputId: 'o2' });
  });

  it('falls back to the page when the host does not answer', async function () {
    p = await page(true, 30);
    await p.api.renderOutputItem(item('o3', PAYLOAD), p.el, new AbortController().signal);
    await settle(120);
    assert.equal(p.$('[data-testid="loss-value"]')?.textContent, fmt6(referenceMean(LOGITS, TARGET, 255)));
    assert.match(p.$('.cel-note')?.textContent ?? '', /did not answer.*computed in the notebook page/);
    // A late host answer no longer overrides the page's result.
    p.deliver({ outputId: 'o3', msg: { type: 'error', message: 'late' } });
    await settle();
    assert.ok(p.$('[data-testid="error"]')?.hidden);
  });
});
