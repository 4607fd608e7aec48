// What our webview entries (media/panel.ts, media/dataset.ts) get from VS Code: its message and state API,
// and the root element the host's HTML holds (src/host/panels/webviewHtml.ts).

export interface VsCodeApi<ToHost> {
  postMessage(msg: ToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi<unknown>;

export function vscodeApi<ToHost>(): VsCodeApi<ToHost> {
  return acquireVsCodeApi() as VsCodeApi<ToHost>;
}

/** The #root element (made if the page lacks it). */
export function webviewRoot(): HTMLElement {
  let root = document.getElementById('root');
  if (!root) {
    root = document.createElement('div');
    root.id = 'root';
    document.body.appendChild(root);
  }
  return root;
}
