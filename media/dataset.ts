// Webview entry for the dataset view (dist/dataset.js, an IIFE): starts the page (media/dataset/page.ts) on
// the webview's message channel, state store and root element.
import { vscodeApi, webviewRoot } from './webview';
import type { DatasetToHost } from '../src/protocol';
import { startDatasetPage } from './dataset/page';

startDatasetPage(vscodeApi<DatasetToHost>(), webviewRoot(), window);
