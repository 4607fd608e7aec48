// Webview entry for the loss panel (dist/panel.js, an IIFE). The only VS Code-specific part of the view:
// it wires the webview's message channel and state store to the shared view module.
import { vscodeApi, webviewRoot } from './webview';
import type { HostToView, ViewToHost } from '../src/protocol';
import { isColormap } from './view/render/colormap';
import { DEFAULT_STATE, sanitizeState, type ViewState } from './view/state';
import { createView } from './view/view';

function main(): void {
  const vscode = vscodeApi<ViewToHost>();
  const root = webviewRoot();
  // The host may set a default colormap (crossEntropyLens.colormap) on the root element.
  const preferred = root.dataset.colormap;
  const base: ViewState = isColormap(preferred) ? { ...DEFAULT_STATE, colormap: preferred } : DEFAULT_STATE;
  const saved = vscode.getState();
  const initialState = sanitizeState(saved, base);
  // The host's own data (what to recompute after a window reload) is kept beside the view state.
  let host: unknown = saved !== null && typeof saved === 'object' ? (saved as { host?: unknown }).host : undefined;
  let viewState: ViewState = initialState;
  const persist = (): void => vscode.setState({ ...viewState, host });
  const view = createView(root, (msg) => vscode.postMessage(msg), {
    initialState,
    onStateChange: (s) => {
      viewState = s;
      persist();
    },
  });
  window.addEventListener('message', (e: MessageEvent<HostToView>) => {
    if (e.data.type === 'hostState') {
      host = e.data.state;
      persist();
      return;
    }
    view.receive(e.data);
  });
  window.addEventListener('pagehide', () => view.dispose());
  vscode.postMessage({ type: 'ready' });
}

main();
