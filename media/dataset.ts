// Webview entry for the dataset view (dist/dataset.js, an IIFE): wires the webview's message channel to the
// view in media/dataset/view.ts and asks the host for everything so far once loaded.
import type { DatasetToHost, HostToDataset } from '../src/protocol';
import { createDatasetView } from './dataset/view';

interface VsCodeApi {
  postMessage(msg: DatasetToHost): void;
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
  const view = createDatasetView(root, (msg) => vscode.postMessage(msg));
  window.addEventListener('message', (e: MessageEvent<HostToDataset>) => view.receive(e.data));
  vscode.postMessage({ type: 'ready' });
}

main();
