// The runs view (media/runs): the report's curves as numbers and SVG, the per-class multiples sorted by their
// change, the images of the regressed and improved tabs in the CLI's changed[] order and virtualized, a
// click asking the host for the image, and the tab and sort kept in the page state.
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import { imageTabs, sortClasses, classChanges } from '../../../media/runs/model';
import { startRunsPage } from '../../../media/runs/page';
import { ROW_PX } from '../../../media/runs/imageList';
import type { HostToRuns, RunsToHost, RunsViewReport } from '../../../src/protocol';

const report: RunsViewReport = {
  images: 4,
  runs: [
    { name: 'ep1', value: 1.5, pixelAccuracy: 0.5, miou: 0.25, ece: 0.2, p90: 3 },
    { name: 'ep2', value: 1.0, pixelAccuracy: 0.6, miou: 0.4, ece: 0.1, p90: 2 },
    { name: 'ep3', value: 0.75, pixelAccuracy: 0.7, miou: null, ece: 0.05, p90: 1.5 },
  ],
  perClass: [
    { class: 0, meanLoss: [1, 0.5, 0.25], iou: [0.5, 0.6, 0.7] },
    { class: 1, meanLoss: [1, 1.5, 2], iou: [0.5, 0.4, 0.3] },
    { class: 2, meanLoss: [null, 1, 1], iou: [null, 0.2, 0.2] },
    { class: 3, meanLoss: [2, 2, 2.5], iou: [0.1, 0.1, 0.1] },
  ],
  perImage: [
    { name: 'a', value: [1, 1, 0.5] },
    { name: 'b', value: [1, 2, 3] },
    { name: 'c', value: [2, 1, 1] },
    { name: 'd', value: [1, 1, 1.25] },
  ],
  // The CLI's order: largest increase first.
  changed: [{ index: 1, delta: 2 }, { index: 3, delta: 0.25 }, { index: 0, delta: -0.5 }, { index: 2, delta: -1 }],
  persistent: [{ index: 1, share: 0.5 }, { index: 0, share: 0 }, { index: 2, share: 0 }, { index: 3, share: 0 }],
  unmatched: [],
};

describe('runs view', function () {
  let win: Window;
  afterEach(function () {
    void win?.happyDOM.close();
  });

  async function open(saved: unknown = undefined): Promise<{ root: HTMLElement; posted: RunsToHost[]; states: unknown[]; send: (m: HostToRuns) => void; view: ReturnType<typeof startRunsPage> }> {
    const { Window: HappyWindow } = await import('happy-dom');
    win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
    const doc = win.document as unknown as Document;
    const root = doc.createElement('div');
    doc.body.appendChild(root);
    const posted: RunsToHost[] = [];
    const states: unknown[] = [];
    const listeners: Array<(e: MessageEvent<HostToRuns>) => void> = [];
    const win2 = { addEventListener: (_: string, l: (e: MessageEvent<HostToRuns>) => void) => void listeners.push(l) } as unknown as Pick<globalThis.Window, 'addEventListener'>;
    const view = startRunsPage({ postMessage: (m) => posted.push(m), getState: () => saved, setState: (s) => states.push(s) }, root, win2);
    const send = (m: HostToRuns): void => listeners.forEach((l) => l({ data: m } as MessageEvent<HostToRuns>));
    return { root, posted, states, send, view };
  }

  it('shows the curves, the classes by change and the regressed images first; a click opens the image', async function () {
    const { root, posted, send } = await open();
    assert.deepEqual(posted, [{ type: 'ready' }]);
    send({ type: 'start', labelDir: '/l', runs: ['ep1', 'ep2', 'ep3'], images: 4, classNames: [] });
    send({ type: 'state', state: 'running' });
    send({ type: 'progress', run: 1, done: 2, total: 4 });
    assert.match(root.querySelector('[data-testid="runs-progress"]')?.textContent ?? '', /^ep2 \(2 of 3\): 2 \/ 4 images/);
    send({ type: 'report', report, seconds: 1.5 });
    send({ type: 'state', state: 'done' });

    const curves = root.querySelector('[data-testid="runs-curves"]')!;
    assert.deepEqual(Array.from(curves.querySelectorAll('[data-col="value"]'), (e) => e.textContent), ['1.5', '1', '0.75']);
    assert.deepEqual(Array.from(curves.querySelectorAll('[data-col="miou"]'), (e) => e.textContent), ['25.0%', '40.0%', '-']);
    assert.equal(curves.querySelectorAll('svg').length, 3);
    // mIoU's null in the last run breaks its line: two points, one polyline.
    assert.equal(curves.querySelector('[data-curve="miou"] polyline')?.getAttribute('points')?.split(' ').length, 2);

    const classes = root.querySelector('[data-testid="runs-classes"]')!;
    const order = (): string[] => Array.from(classes.querySelectorAll('.rv-multiple'), (e) => e.getAttribute('data-class') ?? '');
    assert.deepEqual(order(), ['1', '3', '0', '2'], 'largest rise first; no change (class 2 absent in the first run) last');
    (classes.querySelector('[data-sort="drop"]') as HTMLButtonElement).click();
    assert.deepEqual(order(), ['0', '3', '1', '2']);

    const images = root.querySelector('[data-testid="runs-images"]')!;
    const names = (): string[] => Array.from(images.querySelectorAll('.rv-row[data-index] [data-col="name"]'), (e) => e.textContent ?? '');
    assert.deepEqual(names(), ['b', 'd'], 'regressed: the largest rise first');
    assert.equal(images.querySelector('[data-tab="regressed"]')?.getAttribute('aria-selected'), 'true');
    assert.deepEqual(Array.from(images.querySelectorAll('.rv-row[data-index] [data-col="delta"]'), (e) => e.textContent), ['+2', '+0.25']);
    (images.querySelector('[data-tab="improved"]') as HTMLButtonElement).click();
    assert.deepEqual(names(), ['c', 'a'], 'improved: the largest fall first');
    // Delta thumbnails arrive after the report: the rows get them.
    const b64 = (a: number[]): string => Buffer.from(new Float32Array(a).buffer).toString('base64');
    send({ type: 'deltaThumbnails', scale: 1, rows: [{ index: 2, h: 1, w: 2, base64: b64([-1, 0]) }, { index: 0, h: 1, w: 2, base64: b64([-0.5, 0]) }] });
    const thumb = images.querySelector('.rv-row[data-index="2"] canvas') as HTMLCanvasElement;
    assert.equal(thumb.getAttribute('data-testid'), 'runs-delta-thumb');
    assert.equal(thumb.width, 2);
    assert.equal(thumb.height, 1);
    (images.querySelector('.rv-row[data-index="2"] [data-col="name"]') as HTMLElement).click();
    assert.deepEqual(posted.at(-1), { type: 'openImage', index: 2 });
    // Hard in every run: only images with a share above 0, the CLI's order; a click opens one.
    const hard = root.querySelector('[data-testid="runs-persistent"]')!;
    assert.deepEqual(Array.from(hard.querySelectorAll('li'), (e) => e.getAttribute('data-name')), ['b']);
    assert.match(hard.querySelector('li')?.textContent ?? '', /^b 50\.0%$/);
    (hard.querySelector('li .rv-name') as HTMLElement).click();
    assert.deepEqual(posted.at(-1), { type: 'openImage', index: 1 });
    assert.equal((root.querySelector('[data-testid="runs-unmatched"]') as HTMLElement).hidden, true);
  });

  it('draws each run\'s pooled figures as soon as that run is done, the rest pending, until the report', async function () {
    const { root, send } = await open();
    send({ type: 'start', labelDir: '/l', runs: ['ep1', 'ep2', 'ep3'], images: 4, classNames: [] });
    send({ type: 'state', state: 'running' });
    const curves = root.querySelector('[data-testid="runs-curves"]')!;
    const results = root.querySelector('.rv-results') as HTMLElement;
    assert.equal(results.hidden, true, 'nothing to show before the first run is done');
    send({ type: 'runFigures', run: 0, figures: { name: 'ep1', value: 1.5, pixelAccuracy: 0.5, miou: 0.25, ece: 0.2 } });
    assert.equal(results.hidden, false, 'the first run is done: the curves show');
    assert.deepEqual(Array.from(curves.querySelectorAll('[data-col="value"]'), (e) => e.textContent), ['1.5']);
    assert.deepEqual(Array.from(curves.querySelectorAll('tr[data-pending]'), (e) => e.getAttribute('data-run')), ['1', '2']);
    send({ type: 'runFigures', run: 1, figures: { name: 'ep2', value: 1, pixelAccuracy: 0.6, miou: 0.4, ece: 0.1 } });
    assert.deepEqual(Array.from(curves.querySelectorAll('[data-col="value"]'), (e) => e.textContent), ['1.5', '1']);
    assert.deepEqual(Array.from(curves.querySelectorAll('tr[data-pending]'), (e) => e.getAttribute('data-run')), ['2']);
    // Two runs known of three: the loss line joins them, at the x positions of all three runs.
    const points = curves.querySelector('[data-curve="value"] polyline')?.getAttribute('points')?.split(' ') ?? [];
    assert.equal(points.length, 2, `points ${points.join(' ')}`);
    assert.equal(curves.querySelectorAll('[data-curve="value"] circle').length, 2);
    assert.equal((root.querySelector('[data-testid="runs-images"]')!.closest('.rv-whole') as HTMLElement).hidden, true, 'the images wait for the report');
    send({ type: 'report', report, seconds: 1 });
    assert.equal(curves.querySelectorAll('tr[data-pending]').length, 0);
    assert.deepEqual(Array.from(curves.querySelectorAll('[data-col="value"]'), (e) => e.textContent), ['1.5', '1', '0.75']);
    assert.equal((root.querySelector('.rv-whole') as HTMLElement).hidden, false);
    // A run's figures replayed after the report (a reloaded view) change nothing.
    send({ type: 'runFigures', run: 2, figures: { name: 'ep3', value: 9, pixelAccuracy: 0, miou: 0, ece: 0 } });
    assert.deepEqual(Array.from(curves.querySelectorAll('[data-col="value"]'), (e) => e.textContent), ['1.5', '1', '0.75']);
  });

  it('keeps the tab, the sort and the host request in the page state, and starts from them', async function () {
    const { send, states, view } = await open({ tab: 'improved', classSort: 'class', host: { old: true } });
    send({ type: 'hostState', state: { labelDir: '/l', runs: [{ name: 'a', folder: '/a' }, { name: 'b', folder: '/b' }], options: { ignoreIndex: 255, labelSmoothing: 0, classDim: 1, bins: 15, boundary: 3, weight: null } } });
    send({ type: 'report', report, seconds: 1 });
    assert.equal(view.images.currentTab, 'improved');
    assert.deepEqual(view.classes.order(), [0, 1, 2, 3]);
    view.images.setTab('regressed');
    const last = states.at(-1) as { tab: string; classSort: string; host: { labelDir: string } };
    assert.equal(last.tab, 'regressed');
    assert.equal(last.classSort, 'class');
    assert.equal(last.host.labelDir, '/l');
  });

  it('50 runs x 2,000 images x 150 classes with every delta thumbnail: a bounded DOM, quickly, and scrolling shows the right rows', async function () {
    const { root, send } = await open();
    const R = 50;
    const N = 2000;
    const C = 150;
    const big: RunsViewReport = {
      images: N,
      runs: Array.from({ length: R }, (_, k) => ({ name: `ep${k}`, value: 1 / (k + 1), pixelAccuracy: 0.5, miou: 0.5, ece: 0.1, p90: 1 })),
      perClass: Array.from({ length: C }, (_, c) => ({ class: c, meanLoss: Array.from({ length: R }, (_, k) => (c % 2 ? k : -k) / (c + 1)), iou: Array.from({ length: R }, () => 0.5) })),
      perImage: Array.from({ length: N }, (_, i) => ({ name: `img${i}`, value: Array.from({ length: R }, (_, k) => (i % 2 ? k : -k)) })),
      // The CLI's order, largest rise first: stems 0..999 rose (by N - 1 - 2i), the rest fell.
      changed: Array.from({ length: N }, (_, i) => ({ index: i, delta: N - 2 * i - 1 })),
      persistent: Array.from({ length: N }, (_, i) => ({ index: i, share: 1 - i / N })),
      unmatched: [],
    };
    const b64 = Buffer.from(new Float32Array(32 * 32).fill(0.25).buffer).toString('base64');
    const started = performance.now();
    send({ type: 'start', labelDir: '/l', runs: big.runs.map((r) => r.name), images: N, classNames: [] });
    for (let k = 0; k < R; k++) send({ type: 'runFigures', run: k, figures: big.runs[k] });
    send({ type: 'report', report: big, seconds: 1 });
    for (let i = 0; i < N; i += 256) {
      send({ type: 'deltaThumbnails', scale: 1, rows: Array.from({ length: Math.min(256, N - i) }, (_, j) => ({ index: i + j, h: 32, w: 32, base64: b64 })) });
    }
    send({ type: 'state', state: 'done' });
    const ms = performance.now() - started;
    const images = root.querySelector('[data-testid="runs-images"]')!;
    const rows = (): Element[] => Array.from(images.querySelectorAll('.rv-row[data-index]'));
    assert.ok(rows().length > 0 && rows().length < 50, `${rows().length} rows in the DOM`);
    const elements = root.querySelectorAll('*').length;
    console.log(`      (${elements} elements; report and thumbnails shown in ${ms.toFixed(0)} ms)`);
    assert.ok(elements < 3000, `${elements} elements in all`);
    // Generous: happy-dom on a shared 2-core machine (about 1 s unloaded); a DOM per image would take minutes.
    assert.ok(ms < 8000, `shown in ${ms.toFixed(0)} ms`);
    assert.equal(root.querySelector('[data-testid="runs-classes"]')!.querySelectorAll('.rv-multiple').length, C, 'one card per class');
    assert.equal(images.querySelectorAll('canvas[width="32"]').length, rows().length, 'every row drawn has its thumbnail');

    // Scrolled to rank 500 of the regressed tab: stem 500, which rose by N - 1001.
    const scroller = images.querySelector('.rv-scroll') as HTMLElement;
    scroller.scrollTop = 500 * ROW_PX;
    scroller.dispatchEvent(new (scroller.ownerDocument.defaultView as unknown as typeof globalThis).Event('scroll'));
    const pos = rows().map((r) => Number(r.getAttribute('data-pos')));
    assert.ok(pos.includes(500) && Math.min(...pos) >= 500 - 10 && Math.max(...pos) < 500 + 50, `positions ${Math.min(...pos)}..${Math.max(...pos)}`);
    const at500 = rows().find((r) => r.getAttribute('data-pos') === '500')!;
    assert.equal(at500.getAttribute('data-name'), 'img500');
    assert.equal(at500.querySelector('[data-col="delta"]')?.textContent, `+${N - 1001}`);
    assert.equal(at500.querySelector('canvas')?.getAttribute('width'), '32', 'its thumbnail drawn');
    assert.ok(rows().length < 50, `${rows().length} rows after scrolling`);
    assert.ok(root.querySelectorAll('*').length < 3000, `${root.querySelectorAll('*').length} elements after scrolling`);
  });

  it('model: tabs and class sorts', function () {
    assert.deepEqual(imageTabs([{ index: 0, delta: 1 }, { index: 1, delta: 0 }, { index: 2, delta: -1 }, { index: 3, delta: -2 }, { index: 4, delta: null }]), {
      regressed: [{ index: 0, delta: 1 }],
      improved: [{ index: 3, delta: -2 }, { index: 2, delta: -1 }],
    });
    const c = classChanges(report.perClass);
    assert.deepEqual(c.map((x) => x.change), [-0.75, 1, null, 0.5]);
    assert.deepEqual(sortClasses(c, 'rise').map((x) => x.class), [1, 3, 0, 2]);
  });
});
