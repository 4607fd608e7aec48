// Webview entry for the loss panel (dist/panel.js, an IIFE). The only VS Code-specific part of the view:
// it wires the webview's message channel and state store to the shared view module.
import type { HostToView, ViewToHost } from '../src/protocol';
import { isColormap } from './view/colormap';
import { DEFAULT_STATE, sanitizeState, type ViewState } from './view/state';
import { createView } from './view/view';

interface VsCodeApi {
  postMessage(msg: ViewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

function main(): void {
  const vscode = acquireVsCodeApi();
  let root = document.getElementById('root');
  if (!root) {
    root = document.createElement('div');
    root.id = 'root';
    document.body.appendChild(root);
  }
  // The host may set a default colormap (crossEntropyLens.colormap) on the root element.
  const preferred = root.dataset.colormap;
  const base: ViewState = isColormap(preferred) ? { ...DEFAULT_STATE, colormap: preferred } : DEFAULT_STATE;
  const saved = vscode.getState();
  const initialState = sanitizeState(saved, base);
  const view = createView(root, (msg) => vscode.postMessage(msg), {
    initialState,
    onStateChange: (s) => vscode.setState(s),
  });
  window.addEventListener('message', (e: MessageEvent<HostToView>) => view.receive(e.data));
  window.addEventListener('pagehide', () => view.dispose());
  vscode.postMessage({ type: 'ready' });
}

main();
