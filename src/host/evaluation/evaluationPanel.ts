// What the dataset view (Evaluate Folder…) and the runs view (Evaluate Checkpoints…) share as webview panels
// over a long evaluation: the page (a bundle from dist/ and a stylesheet from media/), the view's 'ready'
// answered by replaying everything sent so far (a reloaded view starts empty), its 'cancel' stopping the
// running evaluation, and on close the evaluation stopped and the listeners dropped. What each view sends and
// keeps is its own (datasetPanel.ts, runsPanel.ts).
import * as vscode from 'vscode';
import type { HostServices } from '../panels/lossPanel';
import { setWebviewPage } from '../panels/webviewPage';

/** Scripts on; resources only from the extension's dist/ and media/. */
export function evaluationWebviewOptions(services: HostServices): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(services.extensionUri, 'dist'), vscode.Uri.joinPath(services.extensionUri, 'media')] };
}

export interface EvaluationPage {
  /** dist/<bundle>.js and media/<bundle>.css. */
  readonly bundle: string;
  readonly title: string;
  /** For the error shown if the page cannot be set ("opening the dataset view"). */
  readonly during: string;
}

export abstract class EvaluationPanel<ToView, FromView extends { readonly type: string }> {
  /** The evaluation running now (aborted by the view's Cancel, the notification's, or closing the view). */
  protected running: AbortController | null = null;
  private readonly disposables: vscode.Disposable[] = [];

  protected constructor(protected readonly services: HostServices, readonly panel: vscode.WebviewPanel, page: EvaluationPage) {
    const ext = services.extensionUri;
    void setWebviewPage(panel.webview, { script: vscode.Uri.joinPath(ext, 'dist', `${page.bundle}.js`).fsPath, css: vscode.Uri.joinPath(ext, 'media', `${page.bundle}.css`).fsPath },
      { title: page.title }, page.during);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: FromView) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Everything sent so far, for a view that (re)loaded. */
  protected abstract replay(): void;

  /** The view's messages other than 'ready' and 'cancel'. */
  protected abstract onMessage(m: FromView): void;

  /** Closed: what the view keeps beyond the running evaluation (timers, its place in the open views). */
  protected abstract onDispose(): void;

  protected post(msg: ToView): void {
    void this.panel.webview.postMessage(msg);
  }

  /** Stops a running evaluation. */
  cancel(): void {
    this.running?.abort();
  }

  private receive(m: FromView): void {
    if (m.type === 'ready') this.replay();
    else if (m.type === 'cancel') this.cancel();
    else this.onMessage(m);
  }

  private dispose(): void {
    this.running?.abort();
    this.onDispose();
    for (const d of this.disposables) d.dispose();
  }
}
