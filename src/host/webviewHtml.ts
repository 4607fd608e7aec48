// The HTML of our webviews (the loss panel, the dataset view): a strict Content-Security-Policy with a
// fresh nonce, one stylesheet and one script from the extension, nothing inline without the nonce and no
// remote anything.
import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';

export interface WebviewPage {
  readonly script: vscode.Uri;
  readonly css: vscode.Uri;
  readonly title: string;
  /** Attributes of the root element, as name -> value (values are HTML-escaped here). */
  readonly rootData?: Readonly<Record<string, string>>;
}

function escapeAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function webviewHtml(w: vscode.Webview, page: WebviewPage): string {
  // A CSPRNG nonce: a guessable one would let injected markup run scripts.
  const n = randomBytes(18).toString('hex');
  const csp = [
    "default-src 'none'",
    `img-src ${w.cspSource} data: blob:`,
    `style-src ${w.cspSource} 'nonce-${n}'`,
    `script-src 'nonce-${n}'`,
    `font-src ${w.cspSource}`,
  ].join('; ');
  const attrs = Object.entries(page.rootData ?? {}).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${w.asWebviewUri(page.css)}" nonce="${n}">
<title>${escapeAttr(page.title)}</title>
</head>
<body>
<div id="root"${attrs}></div>
<script nonce="${n}" src="${w.asWebviewUri(page.script)}"></script>
</body>
</html>`;
}
