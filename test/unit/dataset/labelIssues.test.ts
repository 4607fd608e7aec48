// The dataset view's Find likely label errors: enabled once the evaluation is done, asks the host, and with
// the host's figures shows the label issues and label quality columns, most likely mislabelled first.
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import { createDatasetView } from '../../../media/dataset/view';
import type { DatasetImageRow, DatasetToHost } from '../../../src/protocol';

const row = (index: number, value: number): DatasetImageRow => ({ index, name: `img${index}.png`, value, pixelAccuracy: 0.5, miou: 0.5, worstClass: 0, thumbnail: null });

describe('dataset view: Find likely label errors', function () {
  let win: Window;
  afterEach(function () {
    void win?.happyDOM.close();
  });

  it('is enabled when the run is done, posts findLabelIssues, then shows the columns sorted by label quality ascending', async function () {
    const { Window: HappyWindow } = await import('happy-dom');
    win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
    const doc = win.document as unknown as Document;
    const root = doc.createElement('div');
    doc.body.appendChild(root);
    const posted: DatasetToHost[] = [];
    const view = createDatasetView(root, (m) => posted.push(m));
    view.receive({ type: 'start', predDir: '/p', labelDir: '/l', total: 3, classNames: [] });
    view.receive({ type: 'images', rows: [row(0, 0.3), row(1, 0.9), row(2, 0.5)] });
    const button = root.querySelector('[data-testid="find-label-issues"]') as HTMLButtonElement;
    assert.equal(button.disabled, true, 'not before the evaluation is done');
    view.receive({ type: 'state', state: 'done', seconds: 1 });
    assert.equal(button.disabled, false);
    assert.equal(root.querySelectorAll('[data-col="labelIssues"]').length, 0, 'no columns before');
    button.click();
    assert.deepEqual(posted.at(-1), { type: 'findLabelIssues' });
    view.receive({ type: 'labelIssues', state: 'running' });
    view.receive({ type: 'labelIssues', state: 'done', rows: [{ index: 0, labelIssues: 3, labelQuality: 0.4 }, { index: 1, labelIssues: 0, labelQuality: 0.9 }, { index: 2, labelIssues: 12, labelQuality: 0.01 }], count: 15, examples: 300 });
    await new Promise((r) => setTimeout(r, 50));
    const names = Array.from(root.querySelectorAll('.ds-img-row [data-col="name"]'), (e) => e.textContent);
    assert.deepEqual(names, ['img2.png', 'img0.png', 'img1.png'], 'most likely mislabelled (lowest label quality) first');
    assert.deepEqual(Array.from(root.querySelectorAll('.ds-img-row [data-col="labelIssues"]'), (e) => e.textContent), ['12', '3', '0']);
    assert.deepEqual(Array.from(root.querySelectorAll('.ds-img-row [data-col="labelQuality"]'), (e) => e.textContent), ['0.01', '0.4', '0.9']);
    assert.match((root.querySelector('[data-testid="dataset-label-issues"]') as HTMLElement).textContent ?? '', /^15 of 300 labelled pixels likely mislabelled/);
    assert.equal(button.disabled, true, 'found once: the button rests');
    assert.equal(view.store.sort.key, 'labelQuality');
    assert.equal(view.store.sort.descending, false);
    // The header sorts by the new columns too.
    (root.querySelector('button[data-sort="labelIssues"]') as HTMLButtonElement).click();
    assert.deepEqual({ ...view.store.sort }, { key: 'labelIssues', descending: true });
  });
});
