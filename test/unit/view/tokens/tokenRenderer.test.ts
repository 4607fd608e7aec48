// The token view through the whole notebook renderer: a payload whose options carry tokenizer= strings (as
// python/cross_entropy_lens.py writes them) is decoded, computed in the page, and shown as text; hovers are
// answered by the page's own session; a malformed tokenizer is an inline error. And the "p(class c)" menu at
// vocabulary scale: a typed class instead of 5,000 options.
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import type { OutputItem, RendererApi, RendererContext } from 'vscode-notebook-renderer';
import { createRenderer } from '../../../../media/rendererCore';
import { fmt6 } from '../../../../media/view/format';
import { createView } from '../../../../media/view/view';
import { decodePayload, PAYLOAD_MIME } from '../../../../src/tensor/text/payload';
import { FakeHost } from '../fakeHost';

function item(id: string, value: unknown): OutputItem {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return {
    id, mime: PAYLOAD_MIME, metadata: undefined, data: () => bytes, text: () => new TextDecoder().decode(bytes),
    json: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    blob: () => {
      throw new Error('not used');
    },
  } as OutputItem;
}

const settle = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

// "Hello world!" as GPT-2 byte-level pieces, the last token padding; logits [T, V] with V = 6.
const STRINGS = { '0': 'Hello', '1': 'Ġworld', '2': '!', '3': 'Ċ', '4': '<|endoftext|>' };
const TARGET = [0, 1, 2, 3, -100];
const LOGITS = [
  [3, 0.5, -1, 0, 0, 0.2],
  [0.1, 2, 0.3, -2, 1, 0],
  [0, 0, 1.5, 0.5, 0.5, -1],
  [1, 1, 1, 1, 1, 1],
  [0, 0, 0, 0, 4, 0],
];
const PAYLOAD = { input: LOGITS, target: TARGET, options: { ignoreIndex: -100, tokenizer: { strings: STRINGS, kind: 'byte-level-bpe', special: [4] } } };

describe('token view through the notebook renderer', function () {
  let win: Window | null = null;
  let api: RendererApi | null = null;
  afterEach(() => {
    api?.disposeOutputItem?.();
    void win?.happyDOM.close();
    win = null;
  });

  async function render(payload: unknown): Promise<HTMLElement> {
    const { Window: HappyWindow } = await import('happy-dom');
    win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
    const doc = win.document as unknown as Document;
    const el = doc.createElement('div');
    doc.body.appendChild(el);
    const ctx = { workspace: { isTrusted: true }, getState: () => undefined, setState: () => undefined } as unknown as RendererContext<unknown>;
    api = (await createRenderer('.cel-root{}')(ctx)) as RendererApi;
    await api.renderOutputItem(item('t1', payload), el, new AbortController().signal);
    await settle();
    return el;
  }

  it('decodes options.tokenizer and shows the sequence as its text, padding greyed', async function () {
    assert.deepEqual(Array.from(decodePayload(PAYLOAD).tokenizer?.ids ?? []), [0, 1, 2, 3, 4]);
    const el = await render(PAYLOAD);
    const view = el.querySelector('[data-testid="token-view"]') as HTMLElement;
    assert.ok(view, 'token view present');
    assert.equal((el.querySelector('.cel-tokens') as HTMLElement).hidden, false, 'a [T] loss with a vocabulary shows tokens');
    const spans = Array.from(view.querySelectorAll('.cel-tok'));
    assert.deepEqual(spans.map((s) => s.textContent), ['Hello', ' world', '!', '\n', '‹-100›']);
    assert.ok(spans[4].classList.contains('cel-tok-ignored'));
    // Perplexity from the four counted tokens, in float64 here.
    let sum = 0;
    for (let i = 0; i < 4; i++) {
      const x = LOGITS[i];
      const m = Math.max(...x);
      sum += m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0)) - x[TARGET[i]];
    }
    assert.equal(el.querySelector('[data-testid="perplexity"]')?.textContent, fmt6(Math.exp(sum / 4)));
    // The page's session answers a hover: the top token of row 1 is "␣world" (id 1).
    spans[1].dispatchEvent(new win!.MouseEvent('mouseover', { bubbles: true }) as unknown as Event);
    await settle(120);
    const tip = el.querySelector('[data-testid="token-tooltip"]') as HTMLElement;
    const first = tip.querySelector('.cel-tip-top tbody tr td')?.textContent;
    assert.equal(first, '␣world');
    assert.match(tip.textContent ?? '', /rank 1 of 6/);
  });

  it('a malformed tokenizer is one inline error naming it', async function () {
    const el = await render({ ...PAYLOAD, options: { tokenizer: { strings: { x: 'a' }, kind: 'plain' } } });
    assert.match(el.querySelector('[data-testid="error"]')?.textContent ?? '', /payload\.options\.tokenizer\.strings key/);
  });
});

describe('view: p(class c) at vocabulary scale', function () {
  it('above 100 classes the class is typed (index or name), with no option per class; small C keeps the menu', async function () {
    const { Window: HappyWindow } = await import('happy-dom');
    const w = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
    try {
      for (const C of [5000, 12]) {
        const doc = w.document as unknown as Document;
        const root = doc.createElement('div');
        doc.body.appendChild(root);
        const names = Array.from({ length: C }, (_, i) => `class_${i}`);
        names[C - 3] = 'Zebra crossing';
        let view: ReturnType<typeof createView> | null = null;
        const host = new FakeHost({ lossShape: [3], C, classNames: names }, (m) => setTimeout(() => view?.receive(m), 0));
        const t0 = performance.now();
        view = createView(root, (m) => setTimeout(() => host.handle(m), 0));
        host.handle({ type: 'ready' });
        await settle(50);
        const mode = root.querySelector('select[aria-label="View mode"]') as HTMLSelectElement;
        mode.value = 'classProb';
        mode.dispatchEvent(new w.Event('change', { bubbles: true }) as unknown as Event);
        await settle(50);
        const select = root.querySelector('select[aria-label="Class whose probability is shown"]') as HTMLSelectElement;
        const input = root.querySelector('input[aria-label^="Class whose probability"]') as HTMLInputElement;
        if (C > 100) {
          assert.equal(select.querySelectorAll('option').length, 0);
          assert.ok(select.hidden && !input.hidden);
          assert.ok(performance.now() - t0 < 5000);
          input.value = 'zebra';
          input.dispatchEvent(new w.Event('change', { bubbles: true }) as unknown as Event);
          await settle(50);
          assert.equal(input.value, String(C - 3));
          assert.match(root.querySelector('.cel-legend')?.textContent ?? '', /Zebra crossing/);
          input.value = '4321';
          input.dispatchEvent(new w.Event('change', { bubbles: true }) as unknown as Event);
          await settle(50);
          assert.match(root.querySelector('.cel-legend')?.textContent ?? '', /class_4321/);
          input.value = 'no such thing';
          input.dispatchEvent(new w.Event('change', { bubbles: true }) as unknown as Event);
          assert.equal(input.getAttribute('aria-invalid'), 'true');
        } else {
          assert.equal(select.querySelectorAll('option').length, C);
          assert.ok(!select.hidden && input.hidden);
        }
        view.dispose();
        root.remove();
      }
    } finally {
      void w.happyDOM.close();
    }
  });
});
