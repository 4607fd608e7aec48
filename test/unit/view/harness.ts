// The whole view in a happy-dom page against the fake host (the harness of dom.test.ts, shared by the tests
// of the sections added since).
import * as assert from 'node:assert/strict';
// happy-dom is an ES module: its types come in with resolution-mode import, the code through import().
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import type { ViewState } from '../../../media/view/state';
import { createView, type ViewHandle } from '../../../media/view/view';
import type { HostToView, ViewToHost } from '../../../src/protocol';
import { FakeHost, VOC_NAMES, type CaseOptions } from './fakeHost';

export interface Harness {
  win: Window;
  root: HTMLElement;
  view: ViewHandle;
  host: FakeHost;
  posted: ViewToHost[];
  states: ViewState[];
  $<T extends Element = HTMLElement>(sel: string): T;
  $$<T extends Element = HTMLElement>(sel: string): T[];
  settle(ms?: number): Promise<void>;
  close(): void;
}

export const SEG: CaseOptions = { lossShape: [2, 12, 16], C: 21, classNames: VOC_NAMES };

export async function setup(o: CaseOptions = SEG, viewOpts: { compact?: boolean; hostActions?: boolean; initialState?: ViewState } = {}, start = true): Promise<Harness> {
  const { Window: HappyWindow } = await import('happy-dom');
  const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
  const doc = win.document as unknown as Document;
  const root = doc.createElement('div');
  doc.body.appendChild(root);
  const posted: ViewToHost[] = [];
  const states: ViewState[] = [];
  let view: ViewHandle | null = null;
  // Messages cross asynchronously, as they do between a webview and its host.
  let inFlight = 0;
  const later = (fn: () => void): void => {
    inFlight++;
    setTimeout(() => {
      inFlight--;
      fn();
    }, 0);
  };
  const host = new FakeHost(o, (m: HostToView) => later(() => view?.receive(m)));
  view = createView(root, (m) => {
    posted.push(m);
    later(() => host.handle(m));
  }, { ...viewOpts, onStateChange: (s) => states.push(s) });
  const h: Harness = {
    win, root, view, host, posted, states,
    $: <T extends Element>(sel: string) => {
      const e = root.querySelector(sel);
      assert.ok(e, `no element ${sel}`);
      return e as unknown as T;
    },
    $$: <T extends Element>(sel: string) => Array.from(root.querySelectorAll(sel)) as unknown as T[],
    /** Wait ms, then until no message is in flight. */
    settle: async (ms = 10) => {
      await new Promise((r) => setTimeout(r, ms));
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    },
    close: () => {
      view?.dispose();
      void win.happyDOM.close();
    },
  };
  if (start) {
    posted.push({ type: 'ready' });
    host.handle({ type: 'ready' });
    await h.settle();
  }
  return h;
}

export function change(h: Harness, el: HTMLInputElement | HTMLSelectElement, value: string): void {
  el.value = value;
  el.dispatchEvent(new h.win.Event('change', { bubbles: true }) as unknown as Event);
}

export function key(h: Harness, el: HTMLElement, k: string): void {
  el.dispatchEvent(new h.win.KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }) as unknown as Event);
}

export function pointer(h: Harness, el: Element, type: string, clientX: number, clientY: number): void {
  el.dispatchEvent(new h.win.PointerEvent(type, { clientX, clientY, bubbles: true, button: 0 }) as unknown as Event);
}

/** happy-dom has no 2-D canvas: a stand-in that records the last image painted. */
export function recordPaints(h: Harness): { last: () => number[] } {
  let painted: number[] = [];
  const ctx = {
    imageSmoothingEnabled: true,
    drawImage: () => undefined,
    clearRect: () => undefined,
    fillRect: () => undefined,
    getImageData: (_x: number, _y: number, w: number, hh: number) => ({ data: new Uint8ClampedArray(w * hh * 4), width: w, height: hh }),
    putImageData: (img: { data: Uint8ClampedArray }) => {
      painted = [...img.data];
    },
  };
  (h.win.HTMLCanvasElement.prototype as unknown as { getContext: () => unknown }).getContext = () => ctx;
  return { last: () => painted };
}
