// A TextDocument as a TextSource (src/worker/engine/sharedText.ts): read a slice at a time, so a large document is
// never copied in one piece on the extension host.
import * as vscode from 'vscode';
import type { SharedText } from '../../protocol';
import { shareText, type TextSource } from '../../worker/engine/sharedText';

/** The document's length in characters (VS Code keeps line offsets: no copy of the text). */
export function documentLength(doc: vscode.TextDocument): number {
  return doc.lineCount === 0 ? 0 : doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
}

/** Characters [start, end) of the document's current version; reads stop counting once it changes. */
export function documentSource(doc: vscode.TextDocument, start = 0, end = documentLength(doc)): TextSource {
  const version = doc.version;
  return {
    length: end - start,
    // The same offset always maps to the same position (one inside a CRLF to the line's end), so
    // consecutive slices tile the text even where one of them comes out a character short.
    read: (a, b) => doc.getText(new vscode.Range(doc.positionAt(start + a), doc.positionAt(start + b))),
    isCurrent: () => !doc.isClosed && doc.version === version,
  };
}

/** Characters [start, end) of the document in shared memory, copied a slice per task. */
export function shareDocument(doc: vscode.TextDocument, signal?: AbortSignal, start?: number, end?: number): Promise<SharedText> {
  return shareText(documentSource(doc, start, end), signal);
}
