// Webview entry for the dataset view (dist/dataset.js, an IIFE): wires the webview's message channel to the
// view in media/dataset/view.ts and asks the host for everything so far once loaded.
import { vscodeApi, webviewRoot } from './webview';
import type { DatasetToHost, HostToDataset } from '../src/protocol';
import { createDatasetView } from './dataset/view';

function main(): void {
  const vscode = vscodeApi<DatasetToHost>();
  const root = webviewRoot();
  const view = createDatasetView(root, (msg) => vscode.postMessage(msg));
  window.addEventListener('message', (e: MessageEvent<HostToDataset>) => view.receive(e.data));
  vscode.postMessage({ type: 'ready' });
}

main();
