// Bytes of a file that may be only partly in memory. The zip and torch.save readers take a ByteView, so a
// picker can list a multi-gigabyte checkpoint's tensors from its few kilobytes of directory and data.pkl
// (src/worker/files/torchSaveListing.ts) while the whole-file path keeps its plain Uint8Array.
import { LensError } from '../errors';

export interface ByteView {
  /** The file's full length, loaded or not. */
  readonly length: number;
  byteAt(offset: number): number;
  /** Bytes [begin, end): in place when they lie in one loaded range. */
  subarray(begin: number, end: number): Uint8Array;
}

/** A whole file in memory. */
export function wholeView(bytes: Uint8Array): ByteView {
  return { length: bytes.length, byteAt: (o) => bytes[o], subarray: (a, b) => bytes.subarray(a, b) };
}

export interface LoadedRange {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * A file of `length` bytes of which only some ranges were read. Asking for bytes outside them is a reader's
 * bug or a file whose structures point somewhere unexpected: a one-line error, never a wrong byte.
 */
export class SparseBytes implements ByteView {
  private readonly ranges: LoadedRange[] = [];

  constructor(readonly length: number, ranges: readonly LoadedRange[] = []) {
    for (const r of ranges) this.add(r);
  }

  add(r: LoadedRange): void {
    this.ranges.push(r);
  }

  /** Whether [begin, end) lies in one loaded range. */
  has(begin: number, end: number): boolean {
    return this.find(begin, end) !== undefined;
  }

  private find(begin: number, end: number): LoadedRange | undefined {
    // Few ranges (head, tail, directory, data.pkl): a scan is enough.
    for (const r of this.ranges) if (begin >= r.offset && end <= r.offset + r.bytes.length) return r;
    return undefined;
  }

  byteAt(offset: number): number {
    const r = this.find(offset, offset + 1);
    if (r === undefined) throw notLoaded(offset, offset + 1);
    return r.bytes[offset - r.offset];
  }

  subarray(begin: number, end: number): Uint8Array {
    const r = this.find(begin, end);
    if (r === undefined) throw notLoaded(begin, end);
    return r.bytes.subarray(begin - r.offset, end - r.offset);
  }
}

function notLoaded(begin: number, end: number): LensError {
  return new LensError('format', `bytes ${begin}-${end} were not read (the file's structures point outside what a listing reads)`);
}
