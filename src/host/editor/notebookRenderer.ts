// The extension-host side of the notebook renderer: it decodes an output's payload again (outputs are
// untrusted, and the page may be anything), computes with the worker-thread engine, and answers the
// output's view. One OutputController per output; the oldest are dropped beyond a bound.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { decodePayloadWithRefs, isTensorRef, type PayloadWithRefs, type TensorRef } from '../../tensor/text/payload';
import type { Tensor } from '../../tensor/tensor';
import { optionsFromShapes } from '../../kernel/roles';
import { OUTPUT_ISSUES_ORIGIN, OutputController, outputLabels, outputWeight, type OutputOverrides, type OutputSession, type OutputTensors } from '../../outputController';
import type { TensorSource } from '../../worker/engine/engineTypes';
import { RENDERER_ID, toViewSummary, type HostToRenderer, type RendererToHost } from '../../protocol';
import { toWire } from '../../wire';
import { forView } from '../../sampleWire';
import { hasMaps, wholeLossMap } from '../../worker/engine/resultMaps';
import { LossSession } from '../../worker/engine/session';
import { saveExport } from '../panels/exportFile';
import { log } from '../log';
import { LossPanel, inlineSource, type HostServices, type SourceSpec } from '../panels/lossPanel';
import { checkTensorRefEarly, loadRefImage, sharedCheck, whileVerifying, type RefContext } from './payloadFiles';
import { CHANGED_SINCE_CHECK, type FileIdentity } from '../../worker/files/regularFile';
import type { PayloadImage } from '../../tensor/image/payloadImage';
import type { HostToView } from '../../protocol';

/** Outputs whose sessions are kept (a notebook may hold many; each session holds its tensors). */
const MAX_OUTPUTS = 32;


/**
 * An output's input or target: inline, or a reference's checked file with its .npy header and its identity
 * (the engine refuses any other file at that path: see FileIdentity).
 */
type Resolved =
  | { readonly kind: 'tensor'; readonly tensor: Tensor }
  | { readonly kind: 'file'; readonly path: string; readonly pin: FileIdentity; readonly meta: { dtype: Tensor['dtype']; shape: number[] } };

/** The payload with its references checked and located (once per output: hashing a batch takes a while). */
interface ResolvedPayload {
  readonly payload: PayloadWithRefs;
  readonly input: Resolved;
  readonly target: Resolved;
}

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

function engineSource(r: Resolved, label: string): TensorSource {
  return r.kind === 'tensor' ? { kind: 'tensor', tensor: r.tensor, label } : { kind: 'file', path: r.path, pin: r.pin };
}

function panelSource(r: Resolved, label: string): SourceSpec {
  return r.kind === 'tensor' ? inlineSource(r.tensor, label) : { kind: 'file', path: r.path, pin: r.pin };
}

function tensorsOf(rp: ResolvedPayload): OutputTensors {
  const meta = (r: Resolved): Pick<Tensor, 'shape' | 'dtype'> => (r.kind === 'tensor' ? r.tensor : r.meta);
  return { input: meta(rp.input), target: meta(rp.target), classNames: rp.payload.classNames };
}

async function openWithEngine(services: HostServices, rp: ResolvedPayload, o: OutputOverrides, signal: AbortSignal): Promise<OutputSession> {
  const started = performance.now();
  const payload = rp.payload;
  const weight = outputWeight(payload, o);
  const tensors = tensorsOf(rp);
  const fitted = optionsFromShapes({ ...payload.options, ...o.options }, tensors.input, tensors.target);
  const session = await LossSession.open(
    services.engine(),
    {
      input: engineSource(rp.input, 'input'),
      target: engineSource(rp.target, 'target'),
      weight: weight ? { kind: 'tensor', tensor: weight, label: 'weight' } : null,
      // The output describes itself: its options, with PyTorch's defaults for the rest (not settings, so a
      // notebook shows the same numbers on every machine).
      options: fitted.options,
      topK: 20,
    },
    { signal },
  );
  const r = session.result;
  session.vocabulary = payload.tokenizer ?? null;
  // Every sample's complete maps run its probability job here (sampleMapsWithProbs): a hover's details share it.
  session.detailConfidence = true;
  const base = toViewSummary(r, outputLabels(tensors, weight, {
    seconds: (performance.now() - started) / 1000,
    engine: `${r.engine}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`,
    mapsAvailable: hasMaps(r),
    ...(fitted.classLastFromShapes ? { classLastFromShapes: true } : {}),
  }));
  const summary = { ...base, tokens: session.tokenSummary('from the notebook output') };
  return {
    summary,
    lossMap: () => wholeLossMap(r),
    sampleMaps: (n) => session.sampleMapsWithProbs(n),
    // Probability targets have nothing more to compute: one message.
    ...(r.targetKind === 'probs' ? {} : { quickSampleMaps: (n: number) => session.sampleMaps(n) }),
    classMaps: (n) => session.classMaps(n),
    confidence: (n) => session.sampleConfidence(n),
    explain: (n, index) => session.explain(n, index),
    tokenDetails: (row) => session.tokenDetails(row),
    labelIssues: (signal) => session.labelIssues(OUTPUT_ISSUES_ORIGIN, signal),
  };
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
      return whileVerifying(early.verified, (s) => openWithEngine(services, early.rp, o, s), signal, () => check.dispose());
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
