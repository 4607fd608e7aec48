// Loading one of our webview pages (the loss panel, the dataset view) from the extension's own files: the
// files are read here and inlined by webviewHtml.ts (kept free of the vscode module for its unit tests).
import type * as vscode from 'vscode';
import { showError } from '../log';
import { readAsset, webviewHtml, type WebviewPage } from './webviewHtml';

/**
 * Sets the webview's page from the script and stylesheet files. A file that cannot be read is a broken
 * installation and says so (`during` names what was being opened); a webview closed meanwhile is left alone.
 */
export async function setWebviewPage(webview: vscode.Webview, files: { readonly script: string; readonly css: string }, page: Omit<WebviewPage, 'script' | 'css'>, during: string): Promise<void> {
  let script: string;
  let css: string;
  try {
    [script, css] = await Promise.all([readAsset(files.script), readAsset(files.css)]);
  } catch (e) {
    void showError(e, during);
    return;
  }
  try {
    webview.html = webviewHtml(webview, { ...page, script, css });
  } catch {
    // closed while its files were read
  }
}
