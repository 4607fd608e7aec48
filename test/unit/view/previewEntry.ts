// Browser entry of the preview page: a fake acquireVsCodeApi backed by FakeHost, loaded before dist/panel.js.
// The page's query string picks the case: ?case=seg|big|3d|strip|error|nan|compare.
import type { HostToView, ViewToHost } from '../../../src/protocol';
import { FakeHost, VOC_NAMES, type CaseOptions } from './fakeHost';

interface PreviewWindow extends Window {
  acquireVsCodeApi?: () => { postMessage(m: ViewToHost): void; getState(): unknown; setState(s: unknown): void };
  __posted?: ViewToHost[];
  __timings?: Array<{ type: string; ms: number }>;
  __host?: FakeHost;
}

const w = window as PreviewWindow;
const params = new URLSearchParams(location.search);
const kind = params.get('case') ?? 'seg';
const cases: Record<string, CaseOptions> = {
  seg: { lossShape: [4, 96, 128], C: 21, classNames: VOC_NAMES },
  big: { lossShape: [8, 512, 512], C: 21, classNames: VOC_NAMES },
  '3d': { lossShape: [2, 6, 48, 48], C: 5, classNames: ['bg', 'liver', 'kidney', 'spleen', 'tumour'] },
  strip: { lossShape: [40], C: 10, classNames: [] },
  nan: { lossShape: [2, 64, 64], C: 4, classNames: [], withNaN: true },
  compare: { lossShape: [2, 96, 128], C: 21, classNames: VOC_NAMES, compare: true, confidence: true },
};
const chosen = cases[kind] ?? cases.seg;
w.__posted = [];
w.__timings = [];
let state: unknown = undefined;

/** Deliver synchronously so the preview can time how long the view takes with each message. */
function send(m: HostToView): void {
  const t0 = performance.now();
  window.dispatchEvent(new MessageEvent('message', { data: m }));
  w.__timings?.push({ type: m.type, ms: performance.now() - t0 });
}

let host: FakeHost | null = null;
const t0 = performance.now();
if (kind !== 'error') {
  host = new FakeHost(chosen, send);
  w.__host = host;
}
const hostMs = performance.now() - t0;

w.acquireVsCodeApi = () => ({
  postMessage(m: ViewToHost): void {
    w.__posted?.push(m);
    setTimeout(() => {
      if (!host) {
        send({ type: 'error', message: 'input and target shapes do not match: input [8, 21, 512, 512] needs a target [8, 512, 512], got [8, 512, 511]' });
        return;
      }
      host.handle(m);
      if (m.type === 'ready') send({ type: 'note', message: `Preview: fake host computed ${kind} in ${hostMs.toFixed(0)} ms.` });
    }, 0);
  },
  getState: () => state,
  setState: (s: unknown) => {
    state = s;
  },
});
