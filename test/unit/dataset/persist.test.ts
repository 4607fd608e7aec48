// What brings the dataset view back after Developer: Reload Window: the request the page keeps in the
// webview's saved state (through JSON, as VS Code stores it) reads back as the same request for the
// serializer, states that are not one are refused, and a page loaded again from its saved state sorts its
// images as before the reload.
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import { startDatasetPage } from '../../../media/dataset/page';
import { readPageState, sanitizeSort } from '../../../media/dataset/state';
import { DEFAULT_IMAGE_SORT } from '../../../media/dataset/model';
import type { VsCodeApi } from '../../../media/webview';
import type { EvalOptions } from '../../../src/eval/types';
import { parseDatasetRequest, toDatasetRequest } from '../../../src/host/evaluation/datasetMessages';
import type { DatasetImageRow, DatasetRequest, DatasetToHost, HostToDataset } from '../../../src/protocol';

const OPTIONS: EvalOptions = { ignoreIndex: 255, labelSmoothing: 0.1, classDim: 1, bins: 15, boundary: 3, weight: [0.5, 1, 2.25] };
const REQUEST: DatasetRequest = { predDir: '/data/ade/preds', labelDir: '/data/ade/labels', options: OPTIONS };

/** VS Code keeps webview state as JSON. */
const throughJson = <T>(v: T): unknown => JSON.parse(JSON.stringify(v)) as unknown;

function rows(): DatasetImageRow[] {
  // mIoU ascending differs from worst first (loss descending) and from stem order.
  const v = [[1.5, 0.7, 0.2], [0.4, 0.9, 0.6], [2.5, 0.3, 0.4], [0.9, 0.5, 0.1], [1.1, 0.8, 0.9]];
  return v.map(([value, pixelAccuracy, miou], index) => ({ index, name: `img${index}`, value, pixelAccuracy, miou, worstClass: index, thumbnail: null }));
}

/** A page in a fresh happy-dom window, started with `saved` as vscode.getState()'s answer. */
async function loadPage(saved: unknown): Promise<{ win: Window; root: HTMLElement; posted: DatasetToHost[]; state: () => unknown; send(m: HostToDataset): void }> {
  const { Window: HappyWindow } = await import('happy-dom');
  const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
  const doc = win.document as unknown as Document;
  const root = doc.createElement('div');
  doc.body.appendChild(root);
  const posted: DatasetToHost[] = [];
  let state: unknown = saved;
  const api: VsCodeApi<DatasetToHost> = { postMessage: (m) => posted.push(m), getState: () => state, setState: (s) => (state = throughJson(s)) };
  startDatasetPage(api, root, win as unknown as Window & typeof globalThis);
  return {
    win, root, posted, state: () => state,
    send: (m) => void win.dispatchEvent(new win.MessageEvent('message', { data: m })),
  };
}

const order = (root: HTMLElement): string[] =>
  Array.from(root.querySelectorAll('[data-testid="image-table"] [data-index]'))
    .sort((a, b) => Number(a.getAttribute('data-pos')) - Number(b.getAttribute('data-pos')))
    .map((r) => r.querySelector('[data-col="name"]')?.textContent ?? '');

const sortedColumn = (root: HTMLElement): { key: string | null; dir: string | null } => {
  const th = root.querySelector('[data-testid="image-table"] [aria-sort="ascending"], [data-testid="image-table"] [aria-sort="descending"]');
  return { key: th?.querySelector('button')?.getAttribute('data-sort') ?? null, dir: th?.getAttribute('aria-sort') ?? null };
};

describe('dataset view: what survives a window reload', function () {
  this.timeout(30000);

  it('the run\'s request reads back through JSON as the same request', () => {
    const run = { ...REQUEST, pairs: [{ stem: 'a', prediction: '/data/ade/preds/a.npy', label: '/data/ade/labels/a.png' }], unmatched: ['b.npy'] };
    const saved = toDatasetRequest(run);
    assert.deepEqual(saved, REQUEST, 'folders and options only: the pairs are made again from the folders');
    assert.deepEqual(parseDatasetRequest(throughJson(saved)), REQUEST);
    assert.deepEqual(parseDatasetRequest(throughJson(toDatasetRequest({ ...REQUEST, options: { ...OPTIONS, weight: null, classDim: -1 } }))), { ...REQUEST, options: { ...OPTIONS, weight: null, classDim: -1 } });
  });

  it('a saved state that is not a request is refused (the serializer closes the view)', () => {
    const bad: unknown[] = [
      undefined, null, 'x', {}, { ...REQUEST, predDir: '' }, { ...REQUEST, labelDir: 3 }, { predDir: '/a', labelDir: '/b' },
      { ...REQUEST, options: { ...OPTIONS, labelSmoothing: 2 } }, { ...REQUEST, options: { ...OPTIONS, bins: 0 } },
      { ...REQUEST, options: { ...OPTIONS, ignoreIndex: 1.5 } }, { ...REQUEST, options: { ...OPTIONS, weight: [1, '2'] } },
      { ...REQUEST, options: { ...OPTIONS, weight: undefined } }, { ...REQUEST, options: { ...OPTIONS, classDim: 9 } },
    ];
    for (const b of bad) assert.equal(parseDatasetRequest(throughJson(b ?? null)), null, JSON.stringify(b));
  });

  it('a saved sort reads back; anything else is the default, worst first', () => {
    assert.deepEqual(readPageState(undefined), { sort: DEFAULT_IMAGE_SORT });
    assert.deepEqual(readPageState(throughJson({ sort: { key: 'miou', descending: false }, host: REQUEST })), { sort: { key: 'miou', descending: false }, host: REQUEST });
    for (const s of [null, 'miou', { key: 'loss', descending: true }, { key: 'miou' }, { key: 'miou', descending: 'no' }]) assert.deepEqual(sanitizeSort(s), DEFAULT_IMAGE_SORT, JSON.stringify(s));
  });

  it('the page keeps its sort and the host\'s request in its state; loaded again from it, it sorts the same way', async () => {
    const before = await loadPage(undefined);
    try {
      assert.deepEqual(before.posted, [{ type: 'ready' }]);
      before.send({ type: 'hostState', state: REQUEST });
      before.send({ type: 'start', predDir: REQUEST.predDir, labelDir: REQUEST.labelDir, total: 5, classNames: [] });
      before.send({ type: 'images', rows: rows() });
      before.send({ type: 'state', state: 'done', seconds: 1 });
      assert.deepEqual(order(before.root), ['img2', 'img0', 'img4', 'img3', 'img1'], 'worst first');
      before.root.querySelector<HTMLElement>('[data-testid="image-table"] button[data-sort="miou"]')!.click();
      assert.deepEqual(order(before.root), ['img3', 'img0', 'img2', 'img1', 'img4'], 'mIoU ascending');
      assert.deepEqual(before.state(), { sort: { key: 'miou', descending: false }, host: REQUEST });
    } finally {
      await before.win.happyDOM.close();
    }

    const after = await loadPage(before.state());
    try {
      assert.deepEqual(after.posted, [{ type: 'ready' }]);
      // What a revived panel sends: the request again, then the evaluation's rows as they come.
      after.send({ type: 'hostState', state: REQUEST });
      after.send({ type: 'start', predDir: REQUEST.predDir, labelDir: REQUEST.labelDir, total: 5, classNames: [] });
      after.send({ type: 'images', rows: rows().reverse() });
      after.send({ type: 'state', state: 'done', seconds: 1 });
      assert.deepEqual(order(after.root), ['img3', 'img0', 'img2', 'img1', 'img4']);
      assert.deepEqual(sortedColumn(after.root), { key: 'miou', dir: 'ascending' });
      assert.deepEqual(parseDatasetRequest((after.state() as { host?: unknown }).host), REQUEST);
    } finally {
      await after.win.happyDOM.close();
    }
  });
});
