// The notebook output renderer for application/vnd.cross-entropy-lens+json (entry: media/renderer.ts). It draws
// the panel's view (same module, compact) for each output. With renderer messaging it asks the extension
// host, whose worker-thread engine computes; without it (or when the host does not answer) it computes in
// the page with the same pure kernel and says so. Outputs are untrusted: the payload is decoded and
// checked, every string is shown as text, and nothing is ever thrown to VS Code.
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import { LensError } from '../src/errors';
import { OutputController } from '../src/outputController';
import type { HostToRenderer, HostToView, RendererToHost, ViewToHost } from '../src/protocol';
import { checkPayloadText, decodePayloadWithRefs, isTensorRef, jsonErrorText, REF_IN_PAGE_MESSAGE, type Payload, type PayloadWithRefs } from '../src/tensor/text/payload';
import { fromWire } from '../src/wire';
import { IN_PAGE_ENGINE, openInPage } from './inPageSession';
import { createView, type ViewHandle } from './view/view';

/** How long to wait for the host's first answer (it answers at once once active; activation can take seconds). */
export const HOST_TIMEOUT_MS = 10_000;
const STYLE_ID = 'cross-entropy-lens-styles';

function messageOf(e: unknown): string {
  if (e instanceof LensError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

function injectStyles(doc: Document, css: string): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = css;
  doc.head.appendChild(style);
}

interface Output {
  readonly view: ViewHandle;
  /** Set when this output computes in the page. */
  local: OutputController | null;
  /** The host answered at least once (else the timeout falls back to the page). */
  answered: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

/** Reads and decodes an output item; every failure is a one-line LensError. */
export function readPayload(item: Pick<OutputItem, 'data' | 'json'>): { json: unknown; payload: Payload } {
  const { json, payload } = readPayloadWithRefs(item);
  if (isTensorRef(payload.input) || isTensorRef(payload.target)) throw new LensError('io', REF_IN_PAGE_MESSAGE);
  return { json, payload: payload as Payload };
}

/** readPayload, but { file, bytes, sha256 } references decode (checked) for the host to load. */
export function readPayloadWithRefs(item: Pick<OutputItem, 'data' | 'json'>): { json: unknown; payload: PayloadWithRefs } {
  // Checked on the bytes first: parsing a gigabyte of JSON would freeze the notebook before any check, and
  // 100k levels of brackets may overflow the parser's stack (or the structured clone that posts it on).
  checkPayloadText(item.data());
  let json: unknown;
  try {
    json = item.json();
  } catch (e) {
    throw new LensError('format', `output is not valid JSON (${jsonErrorText(e)})`);
  }
  // File references are decoded (checked) here but only the extension host loads them.
  return { json, payload: decodePayloadWithRefs(json) };
}

/**
 * The photo of display(..., image=...): inline bytes go straight to the view, which decodes them itself
 * (with or without the host); a reference is the host's to check and load, and a bad image is a note.
 */
function showImage(view: ViewHandle, p: PayloadWithRefs, canMessage: boolean): void {
  const img = p.image;
  if (!img) return;
  if (img.kind === 'inline') view.receive({ type: 'image', image: { name: img.name, mime: img.mime, bytes: img.bytes } });
  else if (img.kind === 'invalid') view.receive({ type: 'note', message: img.message });
  else if (!canMessage) view.receive({ type: 'note', message: `${img.name}: the photo is in a file beside the notebook; open it in VS Code with the extension to see it` });
}

/** The renderer's activate(), given the view's styles (the entry bundles view.css as text). */
export function createRenderer(css: string, hostTimeoutMs = HOST_TIMEOUT_MS): ActivationFunction {
  return (ctx: RendererContext<unknown>) => activateWith(ctx, css, hostTimeoutMs);
}

function activateWith(ctx: RendererContext<unknown>, css: string, hostTimeoutMs: number): ReturnType<ActivationFunction> {
  const outputs = new Map<string, Output>();
  const canMessage = typeof ctx.postMessage === 'function';
  const toHost = (m: RendererToHost): void => ctx.postMessage?.(m);

  ctx.onDidReceiveMessage?.((raw: unknown) => {
    let m: Partial<HostToRenderer> | null;
    try {
      m = fromWire(raw) as Partial<HostToRenderer> | null;
    } catch {
      return; // not a message of ours (nested far too deep): nothing may throw to VS Code
    }
    if (!m || typeof m !== 'object' || typeof m.outputId !== 'string' || !m.msg) return;
    const out = outputs.get(m.outputId);
    if (!out || out.local) return;
    out.answered = true;
    if (out.timer !== null) clearTimeout(out.timer);
    out.timer = null;
    out.view.receive(m.msg);
  });

  function computeInPage(id: string, out: Output, p: PayloadWithRefs, why: string): void {
    const send = (msg: HostToView): void => out.view.receive(msg);
    if (isTensorRef(p.input) || isTensorRef(p.target)) {
      // The page cannot read files: one line, and the host is not asked again.
      send({ type: 'error', message: `Cross-Entropy Lens output: ${REF_IN_PAGE_MESSAGE}` });
      if (canMessage) toHost({ type: 'dispose', outputId: id });
      return;
    }
    const payload = p as Payload;
    const local = new OutputController({ open: async (o) => openInPage(payload, o), send });
    out.local = local;
    send({ type: 'note', message: `${why}: computed in the notebook page (${IN_PAGE_ENGINE.split(',')[0]} kernel, same numbers).` });
    void local.compute();
    if (canMessage) toHost({ type: 'dispose', outputId: id });
  }

  function disposeOutput(id: string): void {
    const out = outputs.get(id);
    if (!out) return;
    outputs.delete(id);
    if (out.timer !== null) clearTimeout(out.timer);
    out.local?.dispose();
    out.view.dispose();
    if (canMessage && !out.local) toHost({ type: 'dispose', outputId: id });
  }

  return {
    renderOutputItem(item: OutputItem, element: HTMLElement): void {
      disposeOutput(item.id);
      try {
        injectStyles(element.ownerDocument, css);
      } catch {
        // Unstyled is still readable.
      }
      element.replaceChildren();
      const root = element.ownerDocument.createElement('div');
      root.className = 'cel-output';
      element.appendChild(root);
      const id = item.id;
      const post = (msg: ViewToHost): void => {
        const out = outputs.get(id);
        if (!out) return;
        if (out.local) void out.local.handle(msg);
        else if (msg.type !== 'ready') toHost({ type: 'view', outputId: id, msg });
      };
      let view: ViewHandle;
      try {
        view = createView(root, post, { compact: true, hostActions: canMessage });
      } catch (e) {
        root.textContent = `Cross-Entropy Lens could not draw this output: ${messageOf(e)}`;
        return;
      }
      const out: Output = { view, local: null, answered: false, timer: null };
      outputs.set(id, out);
      let decoded: { json: unknown; payload: PayloadWithRefs };
      try {
        decoded = readPayloadWithRefs(item);
      } catch (e) {
        view.receive({ type: 'error', message: `Cross-Entropy Lens output: ${messageOf(e)}` });
        return;
      }
      showImage(view, decoded.payload, canMessage);
      if (!canMessage) {
        computeInPage(id, out, decoded.payload, 'no extension host connection');
        return;
      }
      view.receive({ type: 'progress', fraction: 0, message: 'computing' });
      toHost({ type: 'compute', outputId: id, payload: decoded.json });
      out.timer = setTimeout(() => {
        out.timer = null;
        if (!out.answered && outputs.get(id) === out) computeInPage(id, out, decoded.payload, 'the extension host did not answer');
      }, hostTimeoutMs);
    },
    disposeOutputItem(id?: string): void {
      if (id === undefined) for (const k of [...outputs.keys()]) disposeOutput(k);
      else disposeOutput(id);
    },
  };
}
