// The extension-host side of the notebook renderer: it decodes an output's payload again (outputs are
// untrusted, and the page may be anything), computes with the worker-thread engine, and answers the
// output's view. One OutputController per output; the oldest are dropped beyond a bound.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { decodePayloadWithRefs, isTensorRef, type PayloadWithRefs, type TensorRef } from '../../tensor/text/payload';
import type { Tensor } from '../../tensor/tensor';
import { optionsFromShapes } from '../../kernel/roles';
import { OutputController, outputWeight, type OutputOverrides, type OutputSession } from '../../outputController';
import { RENDERER_ID, type HostToRenderer, type RendererToHost } from '../../protocol';
import { toWire } from '../../wire';
import { forView } from '../../sampleWire';
import { saveExport } from '../panels/exportFile';
import { log } from '../log';
import { LossPanel, inlineSource, type HostServices, type SourceSpec } from '../panels/lossPanel';
import { openWithEngine, tensorsOf, type Resolved, type ResolvedPayload } from './engineOutput';
import { checkTensorRefEarly, loadRefImage, sharedCheck, whileVerifying, type RefContext } from './payloadFiles';
import { CHANGED_SINCE_CHECK } from '../../worker/files/regularFile';
import type { PayloadImage } from '../../tensor/image/payloadImage';
import type { HostToView } from '../../protocol';

/** Outputs whose sessions are kept (a notebook may hold many; each session holds its tensors). */
const MAX_OUTPUTS = 32;


/**
 * The payload with its references checked but for their sha256, and that check under way: computing starts
 * at once, and nothing computed is shown (or handed to the panel) before `verified` resolves.
 */
interface EarlyPayload {
  readonly rp: ResolvedPayload;
  readonly verified: Promise<void>;
}

async function resolveOne(t: Tensor | TensorRef, ctx: RefContext, signal: AbortSignal): Promise<{ resolved: Resolved; verified: Promise<void> }> {
  if (!isTensorRef(t)) return { resolved: { kind: 'tensor', tensor: t }, verified: Promise.resolve() };
  const { checked, verified } = await checkTensorRefEarly(t, ctx, { signal });
  return { resolved: { kind: 'file', path: checked.path, pin: checked.pin, meta: checked.value }, verified };
}

function refContext(editor: vscode.NotebookEditor): RefContext {
  const uri = editor.notebook.uri;
  return {
    notebookDir: uri.scheme === 'file' ? path.dirname(uri.fsPath) : null,
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    trusted: vscode.workspace.isTrusted,
  };
}

function panelSource(r: Resolved, label: string): SourceSpec {
  return r.kind === 'tensor' ? inlineSource(r.tensor, label) : { kind: 'file', path: r.path, pin: r.pin };
}

function imageMessages(image: PayloadImage): HostToView[] {
  if (image.kind === 'inline') return [{ type: 'image', image: { name: image.name, mime: image.mime, bytes: image.bytes } }];
  return image.kind === 'invalid' ? [{ type: 'note', message: image.message }] : [];
}

export function registerNotebookRenderer(services: HostServices): vscode.Disposable {
  const messaging = vscode.notebooks.createRendererMessaging(RENDERER_ID);
  const outputs = new Map<string, OutputController>();

  /** What an output holds besides its controller: its reference check and photo load, stopped when it goes. */
  const stops = new Map<string, () => void>();
  const drop = (id: string): void => {
    outputs.get(id)?.dispose();
    outputs.delete(id);
    stops.get(id)?.();
    stops.delete(id);
  };

  const start = (editor: vscode.NotebookEditor, outputId: string, raw: unknown): void => {
    drop(outputId);
    const send = (msg: HostToView): Thenable<boolean> => messaging.postMessage(toWire({ outputId, msg: forView(msg) } satisfies HostToRenderer), editor);
    let payload: PayloadWithRefs;
    try {
      payload = decodePayloadWithRefs(raw);
    } catch (e) {
      send({ type: 'error', message: `Cross-Entropy Lens output: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    // Shared by every compute of this output; cancelled once no compute waits for it (see sharedCheck). A
    // failed check is tried again next time (the user may have re-run the cell or trusted the folder).
    const check = sharedCheck(async (signal): Promise<EarlyPayload> => {
      const ctx = refContext(editor); // now: the folder may have been trusted since the last try
      const input = await resolveOne(payload.input, ctx, signal);
      let target: Awaited<ReturnType<typeof resolveOne>>;
      try {
        target = await resolveOne(payload.target, ctx, signal);
      } catch (e) {
        // The input's hash stops with its check; its descriptor closes when it does.
        check.dispose();
        throw e;
      }
      const verified = Promise.all([input.verified, target.verified]).then(() => undefined);
      verified.catch(() => undefined);
      return { rp: { payload, input: input.resolved, target: target.resolved }, verified };
    });
    /** Computes while the hashes are checked; a refused check is dropped, so the next compute checks again. */
    const openChecked = async (o: OutputOverrides, signal: AbortSignal): Promise<OutputSession> => {
      const early = await check.get(signal);
      return whileVerifying(early.verified, (s) => openWithEngine(services.engine(), early.rp, o, s), signal, () => check.dispose());
    };
    const imageLoad = new AbortController();
    stops.set(outputId, () => {
      check.dispose();
      imageLoad.abort();
    });
    // The photo's bytes once checked: Open in panel is given them, not a path to read again.
    let refImage: (PayloadImage & { kind: 'inline' }) | null = null;
    const img = payload.image;
    if (img?.kind === 'ref') {
      void loadRefImage(img, refContext(editor), imageLoad.signal).then(({ image }) => {
        if (outputs.get(outputId) !== controller) return;
        if (image.kind === 'inline') refImage = image;
        for (const m of imageMessages(image)) send(m);
      });
    }
    const controller = new OutputController({
      open: async (o, signal) => {
        try {
          return await openChecked(o, signal);
        } catch (e) {
          // The file is no longer the one checked (the helper rewrites a damaged cache file in place): the
          // check is done again, once, rather than refusing every later compute of this output.
          if (!(e instanceof LensError && e.message.includes(CHANGED_SINCE_CHECK))) throw e;
          check.dispose();
          return openChecked(o, signal);
        }
      },
      send,
      onError: (message, during) => log().warn(`notebook output ${during}: ${message}`),
      openInPanel: async (o) => {
        const w = outputWeight(payload, o);
        const early = await check.get();
        const rp = await whileVerifying(early.verified, async () => early.rp, new AbortController().signal, () => check.dispose());
        const tensors = tensorsOf(rp);
        const shown = img?.kind === 'inline' ? img : refImage;
        LossPanel.show(services, {
          input: panelSource(rp.input, 'notebook input'),
          target: panelSource(rp.target, 'notebook target'),
          weight: w ? inlineSource(w, 'weight') : null,
          ...optionsFromShapes({ ...payload.options, ...o.options }, tensors.input, tensors.target),
          image: shown !== null ? { kind: 'inline', name: shown.name, mime: shown.mime, base64: Buffer.from(shown.bytes).toString('base64') } : undefined,
        });
      },
      export: async (kind, data, session) => {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const names = { png: 'notebook-loss.png', csv: 'notebook-classes.csv', npy: 'notebook-loss.npy' };
        await saveExport(kind, data, folder ? vscode.Uri.joinPath(folder, names[kind]) : undefined, async () => session.lossMap());
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
