// Webview entry for the runs view (dist/runs.js, an IIFE): starts the page (media/runs/page.ts) on the
// webview's message channel, state store and root element.
import { vscodeApi, webviewRoot } from './webview';
import type { RunsToHost } from '../src/protocol';
import { startRunsPage } from './runs/page';

startRunsPage(vscodeApi<RunsToHost>(), webviewRoot(), window);
