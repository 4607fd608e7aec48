// The extension-host side of the notebook renderer: it decodes an output's payload again (outputs are
// untrusted, and the page may be anything), computes with the worker-thread engine, and answers the
// output's view. One OutputController per output; the oldest are dropped beyond a bound.
import * as vscode from 'vscode';
import { decodePayload, type Payload } from '../tensor/payload';
import type { Tensor } from '../tensor/tensor';
import { OutputController, outputLabels, outputWeight, type OutputOverrides, type OutputSession } from '../outputController';
import { RENDERER_ID, toViewSummary, type HostToRenderer, type RendererToHost } from '../protocol';
import { toWire } from '../wire';
import { LossSession } from '../worker/session';
import { saveExport } from './exportFile';
import { log } from './log';
import { LossPanel, type HostServices, type SourceSpec } from './lossPanel';

/** Outputs whose sessions are kept (a notebook may hold many; each session holds its tensors). */
const MAX_OUTPUTS = 32;

function inline(label: string, t: Tensor): SourceSpec {
  return { kind: 'inline', label, dtype: t.dtype, shape: [...t.shape], data: Array.from(t.data as ArrayLike<number>) };
}

async function openWithEngine(services: HostServices, payload: Payload, o: OutputOverrides, signal: AbortSignal): Promise<OutputSession> {
  const started = performance.now();
  const weight = outputWeight(payload, o);
  const session = await LossSession.open(
    services.engine(),
    {
      input: { kind: 'tensor', tensor: payload.input, label: 'input' },
      target: { kind: 'tensor', tensor: payload.target, label: 'target' },
      weight: weight ? { kind: 'tensor', tensor: weight, label: 'weight' } : null,
      // The output describes itself: its options, with PyTorch's defaults for the rest (not settings, so a
      // notebook shows the same numbers on every machine).
      options: { ...payload.options, ...o.options },
      topK: 20,
    },
    { signal },
  );
  const r = session.result;
  session.vocabulary = payload.tokenizer ?? null;
  const base = toViewSummary(r, outputLabels(payload, weight, {
    seconds: (performance.now() - started) / 1000,
    engine: `${r.engine}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`,
    mapsAvailable: r.maps !== null,
  }));
  const summary = { ...base, tokens: session.tokenSummary('from the notebook output') };
  return {
    summary,
    lossMap: () => (r.maps ? { shape: r.lossShape, data: r.maps.loss } : null),
    sampleMaps: (n) => session.sampleMapsWithProbs(n),
    classMaps: (n) => session.classMaps(n),
    explain: (n, index) => session.explain(n, index),
    tokenDetails: (row) => session.tokenDetails(row),
  };
}

export function registerNotebookRenderer(services: HostServices): vscode.Disposable {
  const messaging = vscode.notebooks.createRendererMessaging(RENDERER_ID);
  const outputs = new Map<string, OutputController>();

  const drop = (id: string): void => {
    outputs.get(id)?.dispose();
    outputs.delete(id);
  };

  const start = (editor: vscode.NotebookEditor, outputId: string, raw: unknown): void => {
    drop(outputId);
    const send = (msg: HostToRenderer['msg']): void => {
      void messaging.postMessage(toWire({ outputId, msg } satisfies HostToRenderer), editor);
    };
    let payload: Payload;
    try {
      payload = decodePayload(raw);
    } catch (e) {
      send({ type: 'error', message: `Cross-Entropy Lens output: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    const controller = new OutputController({
      open: (o, signal) => openWithEngine(services, payload, o, signal),
      send,
      onError: (message, during) => log().warn(`notebook output ${during}: ${message}`),
      openInPanel: async (o) => {
        const w = outputWeight(payload, o);
        LossPanel.show(services, {
          input: inline('notebook input', payload.input),
          target: inline('notebook target', payload.target),
          weight: w ? inline('weight', w) : null,
          options: { ...payload.options, ...o.options },
        });
      },
      export: async (kind, data, session) => {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const names = { png: 'notebook-loss.png', csv: 'notebook-classes.csv', npy: 'notebook-loss.npy' };
        await saveExport(kind, data, folder ? vscode.Uri.joinPath(folder, names[kind]) : undefined, () => session.lossMap());
      },
    });
    outputs.set(outputId, controller);
    while (outputs.size > MAX_OUTPUTS) drop(outputs.keys().next().value as string);
    void controller.compute();
  };

  const sub = messaging.onDidReceiveMessage(({ editor, message }) => {
    const m = message as Partial<RendererToHost> | null;
    if (!m || typeof m !== 'object' || typeof m.outputId !== 'string') return;
    switch (m.type) {
      case 'compute':
        start(editor, m.outputId, m.payload);
        return;
      case 'view':
        if (m.msg && typeof m.msg === 'object') void outputs.get(m.outputId)?.handle(m.msg);
        return;
      case 'dispose':
        drop(m.outputId);
        return;
    }
  });
  return new vscode.Disposable(() => {
    sub.dispose();
    for (const id of [...outputs.keys()]) drop(id);
  });
}
