// The dataset view in happy-dom: the image table's virtualization at 10,000 images, its sorting (worst
// first by default), row clicks and Cancel as messages to the host, and the summary, reliability diagram and
// class table drawn from the PyTorch reference report of test/fixtures/eval/basic.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import { FALLBACK_VIEWPORT_PX, OVERSCAN, ROW_PX } from '../../../media/dataset/imageTable';
import { createDatasetView, type DatasetViewHandle } from '../../../media/dataset/view';
import { fromJson } from '../../../src/cli/evalCommand';
import type { EvalReport } from '../../../src/eval/types';
import { toDatasetSummary } from '../../../src/host/evaluation/datasetMessages';
import type { DatasetImageRow, DatasetToHost } from '../../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');
/** The float64 PyTorch reference report (test/eval/generate_eval.py) of the basic set. */
const REFERENCE = fromJson(fs.readFileSync(path.join(ROOT, 'test/fixtures/eval/basic/expected_default.json'), 'utf8')) as EvalReport;

interface Fixture {
  win: Window;
  root: HTMLElement;
  view: DatasetViewHandle;
  posted: DatasetToHost[];
  $<T extends Element = HTMLElement>(sel: string): T;
  $$<T extends Element = HTMLElement>(sel: string): T[];
  settle(ms?: number): Promise<void>;
  close(): void;
}

async function fixture(): Promise<Fixture> {
  const { Window: HappyWindow } = await import('happy-dom');
  const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
  const doc = win.document as unknown as Document;
  const root = doc.createElement('div');
  doc.body.appendChild(root);
  const posted: DatasetToHost[] = [];
  const view = createDatasetView(root, (m) => posted.push(m));
  return {
    win, root, view, posted,
    $: <T extends Element>(sel: string) => {
      const e = root.querySelector(sel);
      assert.ok(e, `no element ${sel}`);
      return e as unknown as T;
    },
    $$: <T extends Element>(sel: string) => Array.from(root.querySelectorAll(sel)) as unknown as T[],
    settle: (ms = 260) => new Promise((r) => setTimeout(r, ms)),
    close: () => void win.happyDOM.close(),
  };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** n rows with tied values, and a few without a value (all pixels ignored: null), in shuffled arrival order. */
function rows(n: number, seed = 5): DatasetImageRow[] {
  const rnd = lcg(seed);
  const out: DatasetImageRow[] = [];
  for (let i = 0; i < n; i++) {
    const none = rnd() < 0.01;
    out.push({
      index: i,
      name: `img${String(n - i).padStart(5, '0')}`,
      value: none ? null : Math.floor(rnd() * 2000) / 500,
      pixelAccuracy: none ? null : rnd(),
      miou: none ? null : rnd(),
      worstClass: none ? null : Math.floor(rnd() * 150),
      thumbnail: null,
    });
  }
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Expected order, computed apart from the view: by `key`, nulls last either way, ties by index. */
function expectedOrder(rs: readonly DatasetImageRow[], key: 'value' | 'pixelAccuracy', descending: boolean): number[] {
  return [...rs].sort((a, b) => {
    const va = a[key];
    const vb = b[key];
    if (va === null && vb === null) return a.index - b.index;
    if (va === null) return 1;
    if (vb === null) return -1;
    if (va !== vb) return descending ? vb - va : va - vb;
    return a.index - b.index;
  }).map((r) => r.index);
}

const domIndexes = (f: Fixture): number[] =>
  f.$$('[data-testid="image-table"] [data-index]')
    .sort((a, b) => Number(a.getAttribute('data-pos')) - Number(b.getAttribute('data-pos')))
    .map((r) => Number(r.getAttribute('data-index')));

function start(f: Fixture, total: number): void {
  f.view.receive({ type: 'start', predDir: '/data/pred', labelDir: '/data/labels', total, classNames: [] });
}

describe('dataset view', function () {
  this.timeout(60000);

  it('10,000 images: at most ~100 rows in the DOM, worst first, the right ones after scrolling', async () => {
    const f = await fixture();
    try {
      const all = rows(10_000);
      start(f, all.length);
      // Streamed in batches, as the host sends them.
      for (let i = 0; i < all.length; i += 700) f.view.receive({ type: 'images', rows: all.slice(i, i + 700) });
      await f.settle();
      const want = expectedOrder(all, 'value', true);
      const inDom = f.$$('[data-testid="image-table"] [data-index]');
      assert.ok(inDom.length > 0 && inDom.length <= 100, `${inDom.length} rows in the DOM`);
      assert.equal(inDom.length, Math.ceil(FALLBACK_VIEWPORT_PX / ROW_PX) + OVERSCAN + 1);
      assert.equal(f.$('.ds-img-count')?.textContent, '(10000)', 'the count of every image so far, not only those drawn');
      assert.deepEqual(domIndexes(f), want.slice(0, inDom.length));
      const first = f.$('[data-testid="image-table"] [data-pos="0"]');
      const top = all.find((r) => r.index === want[0])!;
      assert.equal(first.querySelector('[data-col="name"]')?.textContent, top.name);
      assert.equal(first.querySelector('[data-col="value"]')?.textContent, Number(top.value!.toPrecision(6)).toString());
      // The spacer holds the full height, so the scrollbar is the table's.
      assert.equal(f.$('.ds-img-spacer').style.height, `${all.length * ROW_PX}px`);

      const scroller = f.$('.ds-img-scroll');
      scroller.scrollTop = 5000 * ROW_PX;
      scroller.dispatchEvent(new f.win.Event('scroll') as unknown as Event);
      const after = f.$$('[data-testid="image-table"] [data-index]');
      assert.ok(after.length <= 100, `${after.length} rows in the DOM after scrolling`);
      const positions = after.map((r) => Number(r.getAttribute('data-pos'))).sort((a, b) => a - b);
      assert.equal(positions[0], 5000 - OVERSCAN);
      assert.deepEqual(domIndexes(f), want.slice(positions[0], positions[0] + after.length));
      // The end: images without a value come last.
      scroller.scrollTop = all.length * ROW_PX;
      scroller.dispatchEvent(new f.win.Event('scroll') as unknown as Event);
      const last = f.$$('[data-testid="image-table"] [data-index]').sort((a, b) => Number(b.getAttribute('data-pos')) - Number(a.getAttribute('data-pos')))[0];
      assert.equal(Number(last.getAttribute('data-pos')), all.length - 1);
      assert.equal(last.querySelector('[data-col="value"]')?.textContent, '-');
    } finally {
      f.close();
    }
  });

  it('sorts by a clicked column, toggles its direction, and keeps ties in stem order', async () => {
    const f = await fixture();
    try {
      const all = rows(300, 11);
      start(f, all.length);
      f.view.receive({ type: 'images', rows: all });
      await f.settle();
      const click = (key: string): void => f.$(`[data-testid="image-table"] button[data-sort="${key}"]`).click();
      click('pixelAccuracy');
      assert.deepEqual(domIndexes(f), expectedOrder(all, 'pixelAccuracy', false).slice(0, domIndexes(f).length), 'lowest accuracy first');
      click('pixelAccuracy');
      assert.deepEqual(domIndexes(f), expectedOrder(all, 'pixelAccuracy', true).slice(0, domIndexes(f).length));
      click('value');
      assert.deepEqual(domIndexes(f), expectedOrder(all, 'value', true).slice(0, domIndexes(f).length), 'loss: worst first');
      click('value');
      assert.deepEqual(domIndexes(f), expectedOrder(all, 'value', false).slice(0, domIndexes(f).length));
      click('name');
      const byName = [...all].sort((a, b) => (a.name < b.name ? -1 : 1)).map((r) => r.index);
      assert.deepEqual(domIndexes(f), byName.slice(0, domIndexes(f).length));
      assert.equal(f.$('[data-testid="image-table"] [aria-sort="ascending"] button').getAttribute('data-sort'), 'name');
    } finally {
      f.close();
    }
  });

  it('a click or Enter on a row asks the host to open that image; Cancel asks it to stop', async () => {
    const f = await fixture();
    try {
      const all = rows(20, 3);
      start(f, 40);
      f.view.receive({ type: 'images', rows: all });
      await f.settle();
      const row = f.$('[data-testid="image-table"] [data-pos="2"]');
      row.click();
      row.dispatchEvent(new f.win.KeyboardEvent('keydown', { key: 'Enter', bubbles: true }) as unknown as Event);
      const want = expectedOrder(all, 'value', true)[2];
      assert.deepEqual(f.posted, [{ type: 'openImage', index: want }, { type: 'openImage', index: want }]);
      const cancel = f.$<HTMLButtonElement>('[data-testid="dataset-cancel"]');
      assert.equal(cancel.hidden, false);
      cancel.click();
      assert.deepEqual(f.posted.at(-1), { type: 'cancel' });
      f.view.receive({ type: 'state', state: 'cancelled', message: 'cancelled after 20 of 40 images' });
      assert.equal(cancel.hidden, true);
      assert.match(f.$('[data-testid="dataset-state"]').textContent ?? '', /cancelled after 20 of 40/);
    } finally {
      f.close();
    }
  });

  it('shows the reference report: pooled value to 6 digits, accuracy, mIoU, ECE, unmatched files', async () => {
    const f = await fixture();
    try {
      start(f, REFERENCE.images);
      f.view.receive({ type: 'progress', done: 7, total: 7 });
      f.view.receive({ type: 'summary', summary: toDatasetSummary(REFERENCE), final: true });
      f.view.receive({ type: 'state', state: 'done', seconds: 1.5 });
      const text = (id: string): string => (f.$(`[data-testid="${id}"]`).textContent ?? '').trim();
      assert.equal(text('dataset-value'), '1.01054');
      assert.equal(text('dataset-value'), Number(REFERENCE.value.toPrecision(6)).toString());
      assert.equal(text('dataset-images'), '7');
      assert.equal(text('dataset-pixel-accuracy'), '61.5%');
      assert.equal(text('dataset-miou'), '29.7%');
      assert.equal(text('dataset-miou-per-image'), '25.8%');
      assert.equal(text('dataset-ece'), '0.03724');
      assert.equal(text('dataset-mce'), '0.2400');
      assert.deepEqual(f.$$('[data-testid="dataset-unmatched"] li').map((e) => e.textContent), ['orphan_logits.npy', 'lonely_gt.png']);
      assert.ok(f.root.querySelector('[data-testid="dataset-summary"]'));
      assert.equal(f.$<HTMLButtonElement>('[data-testid="dataset-cancel"]').hidden, true);
    } finally {
      f.close();
    }
  });

  it('reliability diagram: one bar per non-empty bin at its accuracy, the diagonal, and every bin\'s count', async () => {
    const f = await fixture();
    try {
      start(f, REFERENCE.images);
      f.view.receive({ type: 'summary', summary: toDatasetSummary(REFERENCE), final: true });
      const svg = f.$('svg[data-testid="reliability-diagram"]');
      assert.equal(svg.namespaceURI, 'http://www.w3.org/2000/svg');
      const cal = REFERENCE.calibration;
      const bars = f.$$('svg[data-testid="reliability-diagram"] rect.ds-bar');
      assert.deepEqual(bars.map((b) => Number(b.getAttribute('data-bin'))), cal.accuracy.flatMap((a, b) => (a === null ? [] : [b])));
      // Heights are proportional to accuracy: each bar's height / plot height is its bin's accuracy.
      const frame = f.$('svg[data-testid="reliability-diagram"] rect.ds-frame');
      const ph = Number(frame.getAttribute('height'));
      for (const b of bars) {
        const acc = cal.accuracy[Number(b.getAttribute('data-bin'))]!;
        assert.ok(Math.abs(Number(b.getAttribute('height')) / ph - acc) < 1e-9, `bin ${b.getAttribute('data-bin')}`);
      }
      assert.equal(f.$$('svg[data-testid="reliability-diagram"] line.ds-diagonal').length, 1);
      assert.equal(f.$$('svg[data-testid="reliability-diagram"] rect.ds-count').length, cal.count.length);
      const titles = f.$$('svg[data-testid="reliability-diagram"] rect.ds-count title').map((t) => t.textContent ?? '');
      assert.match(titles[4], /\b78 pixels/);
    } finally {
      f.close();
    }
  });

  it('class table: mean loss worst first, sortable by IoU; classes never seen are left out', async () => {
    const f = await fixture();
    try {
      start(f, REFERENCE.images);
      f.view.receive({ type: 'summary', summary: toDatasetSummary(REFERENCE), final: true });
      const order = (): number[] => f.$$('[data-testid="dataset-class-table"] tbody tr').map((r) => Number(r.getAttribute('data-class')));
      // meanLoss: 3 (1.102), 1 (1.050), 0 (0.992), 2 (0.912), then 4 (null); 5 has no label and no prediction.
      assert.deepEqual(order(), [3, 1, 0, 2, 4]);
      f.$('[data-testid="dataset-class-table"] button[data-sort="iou"]').click();
      assert.deepEqual(order(), [0, 1, 2, 3, 4]);
      f.$('[data-testid="dataset-class-table"] button[data-sort="iou"]').click();
      assert.deepEqual(order(), [4, 3, 2, 1, 0]);
    } finally {
      f.close();
    }
  });

  it('the loss histogram counts every image with a value', async () => {
    const f = await fixture();
    try {
      const all = rows(500, 9);
      start(f, all.length);
      f.view.receive({ type: 'images', rows: all });
      await f.settle();
      const counts = f.$$('svg[data-testid="loss-histogram"] rect.ds-hbar').map((r) => Number((r.querySelector('title')?.textContent ?? '').match(/: (\d+) image/)?.[1]));
      assert.equal(counts.reduce((a, b) => a + b, 0), all.filter((r) => r.value !== null).length);
    } finally {
      f.close();
    }
  });
});
