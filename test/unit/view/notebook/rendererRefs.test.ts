// A notebook output whose tensors are { file, bytes, sha256 } references: the page sends it to the host (which
// loads the files, checked), and when it has to compute itself (no host, or a silent one) it says in one line
// that the data is in a file beside the notebook, never an error trace.
import * as assert from 'node:assert/strict';
import type { OutputItem, RendererApi, RendererContext } from 'vscode-notebook-renderer';
import { createRenderer } from '../../../../media/rendererCore';
import type { RendererToHost } from '../../../../src/protocol';
import { PAYLOAD_MIME, REF_IN_PAGE_MESSAGE } from '../../../../src/tensor/text/payload';

const REF = { input: { file: '.cross_entropy_lens/' + 'a'.repeat(64) + '.npy', bytes: 176160896, sha256: 'a'.repeat(64) }, target: [0], options: { ignoreIndex: 255 } };

function item(id: string, value: unknown): OutputItem {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return {
    id, mime: PAYLOAD_MIME, metadata: undefined,
    data: () => bytes,
    text: () => new TextDecoder().decode(bytes),
    json: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    blob: () => {
      throw new Error('not used');
    },
  } as OutputItem;
}

async function render(messaging: boolean, hostTimeoutMs: number): Promise<{ el: HTMLElement; sent: RendererToHost[]; close(): void }> {
  const { Window: HappyWindow } = await import('happy-dom');
  const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
  const doc = win.document as unknown as Document;
  const el = doc.createElement('div');
  doc.body.appendChild(el);
  const sent: RendererToHost[] = [];
  const ctx = {
    workspace: { isTrusted: true }, getState: () => undefined, setState: () => undefined,
    ...(messaging ? { postMessage: (m: unknown) => sent.push(JSON.parse(JSON.stringify(m)) as RendererToHost), onDidReceiveMessage: () => ({ dispose: () => undefined }) } : {}),
  } as unknown as RendererContext<unknown>;
  const api = (await createRenderer('.cel-root{}', hostTimeoutMs)(ctx)) as RendererApi;
  await api.renderOutputItem(item('r1', REF), el, new AbortController().signal);
  return { el, sent, close: () => { api.disposeOutputItem?.(); void win.happyDOM.close(); } };
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('notebook renderer: outputs by file reference', function () {
  it('asks the host with the reference as written', async function () {
    const p = await render(true, 5000);
    try {
      await settle(20);
      assert.equal(p.sent.length, 1);
      assert.equal(p.sent[0].type, 'compute');
      assert.deepEqual((p.sent[0] as { payload: unknown }).payload, REF);
    } finally {
      p.close();
    }
  });

  for (const [name, messaging] of [['without messaging', false], ['when the host is silent', true]] as const) {
    it(`${name}: one line saying the data is in a file beside the notebook`, async function () {
      const p = await render(messaging, 30);
      try {
        await settle(120);
        const err = p.el.querySelector('[data-testid="error"]') as HTMLElement | null;
        assert.equal(err?.textContent, `Cross-Entropy Lens output: ${REF_IN_PAGE_MESSAGE}`);
        assert.equal(p.el.querySelector('[data-testid="loss-value"]')?.textContent ?? '', '');
      } finally {
        p.close();
      }
    });
  }
});
