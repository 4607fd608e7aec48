// The extension-host side of the notebook renderer: it decodes an output's payload again (outputs are
// untrusted, and the page may be anything), computes with the worker-thread engine, and answers the
// output's view. One OutputController per output; the oldest are dropped beyond a bound.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { decodePayloadWithRefs, isTensorRef, type PayloadWithRefs, type TensorRef } from '../tensor/payload';
import type { Tensor } from '../tensor/tensor';
import { OutputController, outputLabels, outputWeight, type OutputOverrides, type OutputSession, type OutputTensors } from '../outputController';
import type { TensorSource } from '../worker/engineTypes';
import { RENDERER_ID, toViewSummary, type HostToRenderer, type RendererToHost } from '../protocol';
import { toWire } from '../wire';
import { forView } from '../sampleWire';
import { LossSession } from '../worker/session';
import { saveExport } from './exportFile';
import { log } from './log';
import { LossPanel, inlineSource, type HostServices, type SourceSpec } from './lossPanel';
import { loadRefImage, refHeader, resolveTensorRef, type RefContext } from './payloadFiles';
import type { PayloadImage } from '../tensor/payloadImage';
import type { HostToView } from '../protocol';

/** Outputs whose sessions are kept (a notebook may hold many; each session holds its tensors). */
const MAX_OUTPUTS = 32;


/** An output's input or target: inline, or a reference's checked file with its .npy header. */
type Resolved = { readonly kind: 'tensor'; readonly tensor: Tensor } | { readonly kind: 'file'; readonly path: string; readonly meta: { dtype: Tensor['dtype']; shape: number[] } };

/** The payload with its references checked and located (once per output: hashing a batch takes a while). */
interface ResolvedPayload {
  readonly payload: PayloadWithRefs;
  readonly input: Resolved;
  readonly target: Resolved;
}

async function resolveOne(t: Tensor | TensorRef, ctx: RefContext): Promise<Resolved> {
  if (!isTensorRef(t)) return { kind: 'tensor', tensor: t };
  const file = await resolveTensorRef(t, ctx);
  return { kind: 'file', path: file, meta: await refHeader(file) };
}

function refContext(editor: vscode.NotebookEditor): RefContext {
  const uri = editor.notebook.uri;
  return {
    notebookDir: uri.scheme === 'file' ? path.dirname(uri.fsPath) : null,
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    trusted: vscode.workspace.isTrusted,
  };
}

function engineSource(r: Resolved, label: string): TensorSource {
  return r.kind === 'tensor' ? { kind: 'tensor', tensor: r.tensor, label } : { kind: 'file', path: r.path };
}

function panelSource(r: Resolved, label: string): SourceSpec {
  return r.kind === 'tensor' ? inlineSource(r.tensor, label) : { kind: 'file', path: r.path };
}

function tensorsOf(rp: ResolvedPayload): OutputTensors {
  const meta = (r: Resolved): Pick<Tensor, 'shape' | 'dtype'> => (r.kind === 'tensor' ? r.tensor : r.meta);
  return { input: meta(rp.input), target: meta(rp.target), classNames: rp.payload.classNames };
}

async function openWithEngine(services: HostServices, rp: ResolvedPayload, o: OutputOverrides, signal: AbortSignal): Promise<OutputSession> {
  const started = performance.now();
  const payload = rp.payload;
  const weight = outputWeight(payload, o);
  const session = await LossSession.open(
    services.engine(),
    {
      input: engineSource(rp.input, 'input'),
      target: engineSource(rp.target, 'target'),
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
  const base = toViewSummary(r, outputLabels(tensorsOf(rp), weight, {
    seconds: (performance.now() - started) / 1000,
    engine: `${r.engine}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`,
    mapsAvailable: r.maps !== null,
  }));
  const summary = { ...base, tokens: session.tokenSummary('from the notebook output') };
  return {
    summary,
    lossMap: () => (r.maps ? { shape: r.lossShape, data: r.maps.loss } : null),
    sampleMaps: (n) => session.sampleMapsWithProbs(n),
    // Probability targets have nothing more to compute: one message.
    ...(r.targetKind === 'probs' ? {} : { quickSampleMaps: (n: number) => session.sampleMaps(n) }),
    classMaps: (n) => session.classMaps(n),
    explain: (n, index) => session.explain(n, index),
    tokenDetails: (row) => session.tokenDetails(row),
  };
}

function imageMessages(image: PayloadImage): HostToView[] {
  if (image.kind === 'inline') return [{ type: 'image', image: { name: image.name, mime: image.mime, bytes: image.bytes } }];
  return image.kind === 'invalid' ? [{ type: 'note', message: image.message }] : [];
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
    const send = (msg: HostToRenderer['msg']): Thenable<boolean> => messaging.postMessage(toWire({ outputId, msg: forView(msg) } satisfies HostToRenderer), editor);
    let payload: PayloadWithRefs;
    try {
      payload = decodePayloadWithRefs(raw);
    } catch (e) {
      send({ type: 'error', message: `Cross-Entropy Lens output: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    let resolved: Promise<ResolvedPayload> | null = null;
    // Shared by every compute of this output (not cancelled with one: a later compute awaits the same check).
    const resolve = (): Promise<ResolvedPayload> => {
      if (resolved === null) {
        const ctx = refContext(editor); // now: the folder may have been trusted since the last try
        const p = (async () => ({ payload, input: await resolveOne(payload.input, ctx), target: await resolveOne(payload.target, ctx) }))();
        resolved = p;
        // A failed check is tried again next time (the user may have re-run the cell or trusted the folder).
        p.catch(() => {
          if (resolved === p) resolved = null;
        });
      }
      return resolved;
    };
    // The photo's file once checked (for Open in panel); inline photos travel as bytes.
    let refImagePath: string | null = null;
    const img = payload.image;
    if (img?.kind === 'ref') {
      void loadRefImage(img, refContext(editor)).then(({ image, path: p }) => {
        if (outputs.get(outputId) !== controller) return;
        refImagePath = p;
        for (const m of imageMessages(image)) send(m);
      });
    }
    const controller = new OutputController({
      open: async (o, signal) => openWithEngine(services, await resolve(), o, signal),
      send,
      onError: (message, during) => log().warn(`notebook output ${during}: ${message}`),
      openInPanel: async (o) => {
        const w = outputWeight(payload, o);
        const rp = await resolve();
        LossPanel.show(services, {
          input: panelSource(rp.input, 'notebook input'),
          target: panelSource(rp.target, 'notebook target'),
          weight: w ? inlineSource(w, 'weight') : null,
          options: { ...payload.options, ...o.options },
          image: img?.kind === 'inline' ? { kind: 'inline', name: img.name, mime: img.mime, base64: Buffer.from(img.bytes).toString('base64') }
            : refImagePath !== null ? { kind: 'file', path: refImagePath } : undefined,
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
