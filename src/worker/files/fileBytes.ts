// A zip-based tensor file (.npz, torch.save) read where its reader looks, not whole: its end records,
// directory and headers in small pages, and then the one member or storage a tensor needs, once. The input
// and the target of one .npz each read the whole archive before (400 MB for a 200 MB pair), and a tensor of
// a checkpoint read the whole checkpoint.
import * as fs from 'node:fs';
import { LensError } from '../../errors';
import type { ByteView } from '../../tensor/byteView';
import { describeFsError } from './readTensorFile';
import { readAtSync } from './regularFile';

/** Bytes read at a time for byteAt and small ranges (directories, local and .npy headers). */
const PAGE = 1 << 16;
/**
 * Pages kept (4 MB): a directory is read in order, and listing an archive of many members reads a page per
 * member header; kept without a bound, 10,000 members far apart would hold 650 MB.
 */
const MAX_PAGES = 64;
/** Largest range read in one piece (a typed array's limit here); larger tensors need the streaming engine. */
const MAX_RANGE = 2 ** 31 - 1;

export class FileBytes implements ByteView {
  private readonly pages = new Map<number, Uint8Array>();
  /** The last larger range read (a member's bytes, asked for again by the reader that listed it, are read once). */
  private last: { readonly offset: number; readonly bytes: Uint8Array } | null = null;
  /** Bytes read from the file so far. */
  bytesRead = 0;

  /**
   * `fd` stays the caller's to close; `length` is the size its fstat gave. With `shared`, ranges are read
   * into shared memory, where the decoders view a tensor in place (src/tensor/binary/inPlace.ts). Errors
   * do not name the file: the decoders' callers add it.
   */
  constructor(private readonly fd: number, readonly length: number, private readonly shared: boolean) {}

  private page(index: number): Uint8Array {
    let p = this.pages.get(index);
    if (p === undefined) {
      const at = index * PAGE;
      p = this.read(Math.min(PAGE, this.length - at), at, false);
      if (this.pages.size >= MAX_PAGES) this.pages.delete(this.pages.keys().next().value as number);
      this.pages.set(index, p);
    }
    return p;
  }

  byteAt(offset: number): number {
    if (!(offset >= 0 && offset < this.length)) throw new LensError('format', 'an offset points past the end of the file — truncated?');
    const p = this.page(Math.floor(offset / PAGE));
    const i = offset % PAGE;
    // A file that shrank since its fstat: the page came back short.
    if (i >= p.length) throw endedEarly();
    return p[i];
  }

  subarray(begin: number, end: number): Uint8Array {
    const a = Math.max(0, Math.min(begin, this.length));
    const b = Math.max(a, Math.min(end, this.length));
    const first = Math.floor(a / PAGE);
    // Within one page: from the page (headers, names).
    if (b - a <= PAGE && first === Math.floor(Math.max(a, b - 1) / PAGE)) {
      const p = this.page(first);
      if (p.length < b - first * PAGE) throw endedEarly();
      return p.subarray(a - first * PAGE, b - first * PAGE);
    }
    const r = this.last;
    if (r !== null && a >= r.offset && b <= r.offset + r.bytes.length) return r.bytes.subarray(a - r.offset, b - r.offset);
    if (b - a > MAX_RANGE) throw new LensError('io', `a ${((b - a) / 2 ** 30).toFixed(1)} GiB member is larger than one read allows (2 GiB) — save it as .npy, which streams`);
    const bytes = this.read(b - a, a, this.shared);
    if (bytes.length < b - a) throw endedEarly();
    this.last = { offset: a, bytes };
    return bytes;
  }

  /** A read counted in bytesRead, whose failure is a one-line LensError. */
  private read(length: number, position: number, shared: boolean): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = readAtSync(this.fd, length, position, shared);
    } catch (e) {
      throw new LensError('io', describeFsError(e));
    }
    this.bytesRead += bytes.length;
    return bytes;
  }
}

function endedEarly(): LensError {
  return new LensError('io', 'the file ended early (was it rewritten while reading?)');
}

/** Runs `read` over the file's bytes as a FileBytes, closing the file after. */
export function withFileBytes<T>(fd: number, size: number, shared: boolean, read: (view: FileBytes) => T): T {
  try {
    return read(new FileBytes(fd, size, shared));
  } finally {
    fs.closeSync(fd);
  }
}
