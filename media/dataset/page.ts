// The dataset page's wiring, apart from the webview globals so tests can load a page, reload it and check
// what it kept: the view on the page's root, host messages into it, its sort and the host's request into
// the webview's saved state, and 'ready' to the host once listening.
import type { DatasetToHost, HostToDataset } from '../../src/protocol';
import type { VsCodeApi } from '../webview';
import { readPageState, type DatasetPageState } from './state';
import { createDatasetView, type DatasetViewHandle } from './view';

export function startDatasetPage(vscode: VsCodeApi<DatasetToHost>, root: HTMLElement, win: Pick<Window, 'addEventListener'>): DatasetViewHandle {
  // The sort and the host's request survive a reload of the page or of the window (the serializer reads
  // `host` to run the evaluation again).
  const saved = readPageState(vscode.getState());
  let state: DatasetPageState = saved;
  const persist = (next: DatasetPageState): void => {
    state = next;
    vscode.setState(state);
  };
  const view = createDatasetView(root, (msg) => vscode.postMessage(msg), { sort: saved.sort, onSort: (sort) => persist({ ...state, sort }) });
  win.addEventListener('message', (e: MessageEvent<HostToDataset>) => {
    if (e.data.type === 'hostState') persist({ ...state, host: e.data.state });
    else view.receive(e.data);
  });
  vscode.postMessage({ type: 'ready' });
  return view;
}
