// Copies a document's text into shared memory for the workers a slice per task. Reading a large document
// in one piece (getText()) and posting it to a worker each block the extension host for hundreds of
// milliseconds at tens of megabytes; a slice of SHARE_SLICE_CHARS takes about a millisecond, and the host
// handles other events between slices. The workers (and the host, for a literal) read ranges of it back.
// No `vscode` import: the adapter to a TextDocument is src/host/editor/documentText.ts.
import { Buffer } from 'node:buffer';
import { LensError } from '../../errors';
import { SHARE_SLICE_CHARS } from '../../hover/limits';
import type { SharedText } from '../../protocol';

/** A text read in pieces (a TextDocument version, or a range of one). */
export interface TextSource {
  readonly length: number;
  /**
   * Characters [start, end). A source may return one character less or more at a slice boundary (a
   * TextDocument cannot split a CRLF), as long as consecutive reads tile the text exactly.
   */
  read(start: number, end: number): string;
  /** False once the text changed or went away: the copy stops. */
  isCurrent(): boolean;
}

/** Lets the host run other tasks (setImmediate: a timer would add a millisecond per slice). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function stopped(): LensError {
  return new LensError('cancelled', 'the document changed or closed while it was read');
}

/** The whole of `src` in shared memory, read and copied one slice per task. */
export async function shareText(src: TextSource, signal?: AbortSignal, pause: () => Promise<void> = nextTask, sliceChars = SHARE_SLICE_CHARS): Promise<SharedText> {
  const length = src.length;
  const buffer = new SharedArrayBuffer(length * 2);
  const bytes = Buffer.from(buffer);
  let at = 0;
  for (let start = 0; start < length; start += sliceChars) {
    if (start > 0) await pause();
    if (signal?.aborted || !src.isCurrent()) throw stopped();
    const s = src.read(start, Math.min(length, start + sliceChars));
    if (at + s.length > length) throw stopped();
    // utf16le writes code units as they are (lone surrogates too), so offsets match the document's.
    bytes.write(s, at * 2, 'utf16le');
    at += s.length;
  }
  if (at !== length) throw stopped();
  return { buffer, length };
}

/** A string as a TextSource (tests, and text the host already holds). */
export function stringSource(text: string): TextSource {
  return { length: text.length, read: (start, end) => text.slice(start, end), isCurrent: () => true };
}

/** Characters [start, end) of shared text, as a string of its own. */
export function readShared(t: SharedText, start = 0, end = t.length): string {
  if (!(start >= 0 && start <= end && end <= t.length && t.length * 2 <= t.buffer.byteLength)) {
    throw new LensError('io', `internal error: range ${start}..${end} outside a shared text of ${t.length} characters`);
  }
  return Buffer.from(t.buffer, start * 2, (end - start) * 2).toString('utf16le');
}
