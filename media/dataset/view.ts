// The dataset view: one section per concern (progress, summary, calibration, loss histogram, classes,
// images), fed by the host's messages (src/protocol.ts HostToDataset). Environment-free: the webview entry
// (media/dataset.ts) and the unit tests (happy-dom) both create it on a root element.
import type { DatasetToHost, HostToDataset } from '../../src/protocol';
import { builder, clear } from '../view/dom';
import { ClassSection } from './classTable';
import { HistogramSection } from './histogram';
import { ImageTable } from './imageTable';
import { decodeFloat32, ImageStore, type ImageSort } from './model';
import { ProgressSection } from './progress';
import { ReliabilitySection } from './reliability';
import { SummarySection } from './summary';

export interface DatasetViewHandle {
  receive(msg: HostToDataset): void;
  readonly store: ImageStore;
  readonly images: ImageTable;
  readonly classes: ClassSection;
}

/** Histogram and row refreshes at most this often while images stream in. */
const REFRESH_MS = 200;

export interface DatasetViewOptions {
  /** The sort to start with (the page's saved one); worst first by default. */
  readonly sort?: ImageSort;
  /** Called when the user sorts the image table. */
  readonly onSort?: (sort: ImageSort) => void;
}

export function createDatasetView(root: HTMLElement, post: (msg: DatasetToHost) => void, opts: DatasetViewOptions = {}): DatasetViewHandle {
  const doc = root.ownerDocument;
  const h = builder(doc);
  const store = new ImageStore(opts.sort);
  const title = h('h1', { class: 'ds-title' }, 'Dataset');
  const folders = h('div', { class: 'ds-folders' });
  const progress = new ProgressSection(h, () => post({ type: 'cancel' }));
  const summary = new SummarySection(h);
  const reliability = new ReliabilitySection(h);
  const hist = new HistogramSection(h);
  const classes = new ClassSection(h);
  const images = new ImageTable(h, store, { open: (index) => post({ type: 'openImage', index }), sorted: opts.onSort });
  // Find likely label errors: enabled once the evaluation is done; its outcome in one line beside it.
  const findIssues = h('button', { type: 'button', class: 'ds-find-issues', 'data-testid': 'find-label-issues', disabled: true, title: 'confident learning over every labelled pixel, as cleanlab finds label errors' }, 'Find likely label errors');
  const issuesLine = h('span', { class: 'ds-issues-line', 'data-testid': 'dataset-label-issues' });
  findIssues.addEventListener('click', () => {
    (findIssues as HTMLButtonElement).disabled = true;
    post({ type: 'findLabelIssues' });
  });
  let classNames: readonly string[] = [];
  let total = 0;
  clear(root);
  root.classList.add('ds-root');
  root.append(
    h('header', { class: 'ds-header' }, title, folders, progress.el),
    h('div', { class: 'ds-grid' }, summary.el, reliability.el, hist.el),
    h('div', { class: 'ds-issues' }, findIssues, ' ', issuesLine),
    images.el,
    classes.el,
  );

  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  const refresh = (): void => {
    refreshTimer = undefined;
    images.redraw();
    hist.show(store.values());
  };
  const scheduleRefresh = (): void => {
    refreshTimer ??= setTimeout(refresh, store.size < 50 ? 0 : REFRESH_MS);
  };

  const receive = (msg: HostToDataset): void => {
    switch (msg.type) {
      case 'start':
        store.clear();
        issuesLine.textContent = '';
        total = msg.total;
        classNames = msg.classNames;
        images.setClassNames(classNames);
        title.textContent = 'Dataset';
        clear(folders);
        folders.append(h('div', {}, 'predictions ', h('code', {}, msg.predDir)), h('div', {}, 'labels ', h('code', {}, msg.labelDir)));
        summary.clear();
        progress.setProgress(0, total);
        progress.setState('running');
        refresh();
        return;
      case 'images':
        store.add(msg.rows, decodeFloat32);
        scheduleRefresh();
        return;
      case 'progress':
        total = msg.total;
        progress.setProgress(msg.done, msg.total);
        return;
      case 'summary':
        summary.show(msg.summary, msg.final, total);
        reliability.show(msg.summary.calibration);
        classes.show(msg.summary.perClass, classNames);
        return;
      case 'labelIssues':
        if (msg.state === 'running') {
          (findIssues as HTMLButtonElement).disabled = true;
          issuesLine.textContent = 'finding likely label errors…';
        } else if (msg.state === 'error') {
          (findIssues as HTMLButtonElement).disabled = false;
          issuesLine.textContent = `no label errors found: ${msg.message}`;
        } else {
          store.setLabelIssues(msg.rows);
          (findIssues as HTMLButtonElement).disabled = true;
          issuesLine.textContent = `${msg.count.toLocaleString('en-US')} of ${msg.examples.toLocaleString('en-US')} labelled pixels likely mislabelled; images most likely mislabelled first`;
          images.showLabelIssues();
        }
        return;
      case 'state':
        (findIssues as HTMLButtonElement).disabled = msg.state !== 'done' || store.hasLabelIssues;
        progress.setState(msg.state, msg.message, msg.seconds);
        if (msg.state !== 'running') {
          if (refreshTimer !== undefined) clearTimeout(refreshTimer);
          refresh();
        }
        return;
      case 'hostState':
        // Kept by the page entry (media/dataset.ts), not shown.
        return;
    }
  };
  return { receive, store, images, classes };
}
