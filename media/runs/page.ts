// The runs page's wiring, apart from the webview globals so tests can load a page: the view on the root,
// host messages into it, its tab and sort and the host's request into the webview's saved state, and
// 'ready' to the host once listening.
import type { HostToRuns, RunsToHost } from '../../src/protocol';
import type { VsCodeApi } from '../webview';
import { readRunsState, type RunsPageState } from './state';
import { createRunsView, type RunsViewHandle } from './view';

export function startRunsPage(vscode: VsCodeApi<RunsToHost>, root: HTMLElement, win: Pick<Window, 'addEventListener'>): RunsViewHandle {
  let state: RunsPageState = readRunsState(vscode.getState());
  const persist = (next: RunsPageState): void => {
    state = next;
    vscode.setState(state);
  };
  const view = createRunsView(root, (msg) => vscode.postMessage(msg), state, (s) => persist({ ...s, host: state.host }));
  win.addEventListener('message', (e: MessageEvent<HostToRuns>) => {
    if (e.data.type === 'hostState') persist({ ...state, host: e.data.state });
    else view.receive(e.data);
  });
  vscode.postMessage({ type: 'ready' });
  return view;
}
