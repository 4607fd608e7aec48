// The HTML of our webviews (the loss panel, the dataset view): a strict Content-Security-Policy with a
// fresh nonce, and the extension's own script and stylesheet inlined under that nonce; nothing else inline,
// no remote anything, and no data from a tensor or a file ever in the HTML (it travels as messages).
//
// Why inline rather than fetched with asWebviewUri: VS Code's webview host hands the page the messages
// posted while it loaded 200 ms after writing it, whether or not a fetched script runs by then, and under
// code-server the fetch of a 220 KB bundle took 0.1-0.7 s (so a result posted early could be lost), on the
// way to the first paint as well. An inline script runs while the page is written.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type * as vscode from 'vscode';

export interface WebviewPage {
  /** The page's script (an IIFE bundle from dist/) and stylesheet, as text. */
  readonly script: string;
  readonly css: string;
  readonly title: string;
  /** Attributes of the root element, as name -> value (values are HTML-escaped here). */
  readonly rootData?: Readonly<Record<string, string>>;
}

function escapeAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Text that cannot end its element early: "</script" (or "</style") inside it would close the element.
 * "<\/" means "</" in a JavaScript string, template, regular expression or comment, and in CSS. (The other
 * way a script could upset the parser, "<!--" before a "<script", is kept out of the bundles: a unit test
 * checks the built ones.)
 */
export function inlineSafe(text: string, element: 'script' | 'style'): string {
  return text.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1');
}

export function webviewHtml(w: Pick<vscode.Webview, 'cspSource'>, page: WebviewPage): string {
  // A CSPRNG nonce: a guessable one would let injected markup run scripts.
  const n = randomBytes(18).toString('hex');
  const csp = [
    "default-src 'none'",
    `img-src ${w.cspSource} data: blob:`,
    `style-src 'nonce-${n}'`,
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
<style nonce="${n}">${inlineSafe(page.css, 'style')}</style>
<title>${escapeAttr(page.title)}</title>
</head>
<body>
<div id="root"${attrs}></div>
<script nonce="${n}">${inlineSafe(page.script, 'script')}</script>
</body>
</html>`;
}

/** The files' texts, read once per change on disk (a rebuilt dist/ during development is picked up). */
const cache = new Map<string, { readonly mtimeMs: number; readonly text: string }>();

export async function readAsset(file: string): Promise<string> {
  const st = await fs.promises.stat(file);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.text;
  // The bundle's source map stays beside it: a page with default-src 'none' could not load it anyway.
  const text = (await fs.promises.readFile(file, 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  cache.set(file, { mtimeMs: st.mtimeMs, text });
  return text;
}
