// A minimal zip reader for .npz archives and torch.save files (PyTorch >= 1.6 writes a zip of data.pkl and
// one entry per storage, stored uncompressed and 64-byte aligned). Only the central directory is parsed up
// front; an entry's bytes are taken (in place when stored) and CRC-checked only when asked for, so members
// or storages that nothing asks for are never touched. npz.ts adds its incremental inflating of .npy headers.

import { Inflate, inflateSync } from 'fflate';
import { LensError } from '../../errors';
import { wholeView, type ByteView } from '../byteView';
import { crc32 } from './crc32';
import { bytesLike } from './inPlace';
import type { NpyHeader } from './npy';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

/** Prints an entry name for a message: as is when short and printable, else quoted and cut. */
export function entryLabel(name: string): string {
  const printable = [...name].every((c) => c.charCodeAt(0) >= 0x20 && c !== '\x7f');
  return name.length <= 60 && printable ? name : JSON.stringify(name.length > 40 ? name.slice(0, 40) + '…' : name);
}

const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/** How messages name the archive and its entries (an .npz's are "members", as NumPy says). */
export interface ZipWording {
  /** e.g. 'torch.save (zip) file', '.npz (zip) archive'. */
  readonly what: string;
  readonly noun: 'entry' | 'member';
  /** What a refused compression method's message ends with, e.g. 'np.load reads only stored and deflated members'. */
  readonly reader: string;
  /** What a bad CRC says is corrupt: 'file' or 'archive'. */
  readonly whole: string;
  /** An entry name for messages (default: entryLabel). */
  readonly label?: (name: string) => string;
}

/** Where the central directory lies, from the end records (which sit in the last 64 KiB + 98 bytes). */
export interface DirectoryRange {
  readonly offset: number;
  readonly size: number;
  readonly count: number;
}

/** Bytes at the end of a zip file that hold its end-of-central-directory records, zip64 included. */
export const ZIP_TAIL_BYTES = 22 + 65535 + 20 + 56;

// Compressed bytes per push while inflating a prefix. Deflate expands at most about 1032:1, so the first
// push yields at most about 4 MB whatever the stream holds; later pushes are sized from the ratio seen so
// far, so that the last one overshoots the bytes asked for by little.
const FIRST_STEP = 4 << 10;
const MAX_STEP = 1 << 20;

/**
 * Most bytes a compressed entry is inflated to in memory. Deflate's 1032:1 lets a 1 MB file claim a 1 GB
 * array (a zip bomb, or a compressed array of zeros), and nothing else bounds what inflating allocates: the
 * file's own size is what the whole-read limit sees. A compressed entry cannot be read in parts, so past
 * this the entry is refused with the way out (store it uncompressed, where it is read in place or streams).
 */
export const MAX_INFLATED_BYTES = 1 << 30;

export class ZipReader {
  private readonly b: ByteView;
  private readonly w: ZipWording;
  /** Bytes inflated from this file so far (see MAX_INFLATED_BYTES). */
  private inflated = 0;
  readonly entries: readonly ZipEntry[];
  private readonly byName = new Map<string, ZipEntry>();
  /** The entries' local header offsets, ascending. */
  private readonly offsets: Float64Array;
  /** Where the central directory starts (no entry's bytes run into it); the file's end when not read. */
  private directoryStart = Infinity;

  constructor(bytes: Uint8Array | ByteView, wording: string | ZipWording, endRecordsOnly = false) {
    this.b = bytes instanceof Uint8Array ? wholeView(bytes) : bytes;
    this.w = typeof wording === 'string' ? { what: wording, noun: 'entry', reader: 'only stored and deflated entries are read', whole: 'file' } : wording;
    this.entries = endRecordsOnly ? [] : this.readCentralDirectory();
    // With duplicate names Python's zipfile (and PyTorch's reader) use the last one.
    for (const e of this.entries) this.byName.set(e.name, e);
    this.offsets = Float64Array.from(this.entries, (e) => e.localOffset).sort();
    // Each entry has its own local header. Entries that share one (or whose bytes overlap the next, see
    // raw()) are how a small file repeats the same bytes many times over: Python's zipfile refuses them
    // ("Overlapped entries"), and so does this reader.
    for (let i = 1; i < this.offsets.length; i++) {
      if (this.offsets[i] === this.offsets[i - 1]) throw this.corrupt(`two entries share the local header at offset ${this.offsets[i]}`);
    }
  }

  /** The next entry's local header after `offset`, or the central directory's start after the last. */
  private nextOffset(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.offsets.length ? this.offsets[lo] : this.directoryStart;
  }

  corrupt(detail: string): LensError {
    return new LensError('format', `not a valid ${this.w.what}: ${detail}`);
  }

  private label(e: ZipEntry): string {
    return `${this.w.noun} ${(this.w.label ?? entryLabel)(e.name)}`;
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  private u16(o: number): number {
    if (o < 0 || o + 2 > this.b.length) throw this.corrupt('an offset points past the end of the file — truncated?');
    return this.b.byteAt(o) | (this.b.byteAt(o + 1) << 8);
  }

  private u32(o: number): number {
    return this.u16(o) + this.u16(o + 2) * 65536;
  }

  private u64(o: number): number {
    const hi = this.u32(o + 4);
    if (hi >= 2 ** 21) throw this.corrupt('a 64-bit size or offset is out of range');
    return this.u32(o) + hi * 2 ** 32;
  }

  /** The central directory's place, from the end records only (a ranged reader loads just those first). */
  static directoryRange(bytes: Uint8Array | ByteView, wording: string | ZipWording): DirectoryRange {
    return new ZipReader(bytes, wording, true).findDirectory();
  }

  private findDirectory(): DirectoryRange {
    const b = this.b;
    if (b.length < 22) throw this.corrupt(b.length === 0 ? 'the file is empty' : 'too short for a zip file — truncated?');
    let eocd = -1;
    for (let o = b.length - 22; o >= Math.max(0, b.length - 22 - 65535); o--) {
      if (b.byteAt(o) === 0x50 && b.byteAt(o + 1) === 0x4b && b.byteAt(o + 2) === 0x05 && b.byteAt(o + 3) === 0x06) {
        eocd = o;
        break;
      }
    }
    if (eocd < 0) {
      const isZip = b.byteAt(0) === 0x50 && b.byteAt(1) === 0x4b;
      throw this.corrupt(isZip ? 'no end-of-central-directory record — truncated?' : 'missing the PK zip signature');
    }
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc >= 0 && this.u32(loc) === 0x07064b50) {
        const z = this.u64(loc + 8);
        if (this.u32(z) !== 0x06064b50) throw this.corrupt('bad zip64 end record');
        count = this.u64(z + 32);
        cdSize = this.u64(z + 40);
        cdOffset = this.u64(z + 48);
      }
    }
    if (cdOffset + cdSize > b.length) throw this.corrupt('the central directory lies past the end of the file — truncated?');
    return { offset: cdOffset, size: cdSize, count };
  }

  private readCentralDirectory(): ZipEntry[] {
    const b = this.b;
    const { offset: cdOffset, size: cdSize, count } = this.findDirectory();
    this.directoryStart = cdOffset;
    // Each directory entry takes at least 46 bytes: a count beyond that is a lie, not a reason to loop.
    if (count * 46 > cdSize) throw this.corrupt('the central directory is shorter than its entry count — truncated?');
    const entries: ZipEntry[] = [];
    let p = cdOffset;
    const end = cdOffset + cdSize;
    const utf8 = new TextDecoder('utf-8');
    for (let i = 0; i < count; i++) {
      if (p + 46 > end || this.u32(p) !== 0x02014b50) throw this.corrupt('bad central directory entry');
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localOffset = this.u32(p + 42);
      if (p + 46 + nameLen + extraLen + commentLen > end) throw this.corrupt('bad central directory entry');
      const name = utf8.decode(b.subarray(p + 46, p + 46 + nameLen));
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e);
        const len = this.u16(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          const take = (): number => {
            if (q + 8 > e + 4 + len) throw this.corrupt('bad zip64 extra field');
            const v = this.u64(q);
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localOffset === 0xffffffff) localOffset = take();
        }
        e += 4 + len;
      }
      entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  }

  /** The entry's bytes as stored (compressed when deflated), in place; at most `maxBytes` of them. */
  raw(e: ZipEntry, maxBytes = Infinity): Uint8Array {
    const start = this.dataStart(e);
    return this.b.subarray(start, start + Math.min(e.compressedSize, maxBytes));
  }

  /** Where the entry's bytes (as stored) begin in the file, after checking that they lie within it. */
  dataStart(e: ZipEntry): number {
    if (this.u32(e.localOffset) !== 0x04034b50) throw this.corrupt(`bad local header for ${(this.w.label ?? entryLabel)(e.name)}`);
    const start = e.localOffset + 30 + this.u16(e.localOffset + 26) + this.u16(e.localOffset + 28);
    if (start + e.compressedSize > this.b.length) throw this.corrupt(`${this.label(e)} runs past the end of the file — truncated?`);
    if (start + e.compressedSize > this.nextOffset(e.localOffset)) throw this.corrupt(`${this.label(e)} overlaps the entry after it`);
    return start;
  }

  /** Refuses encrypted entries and compression methods other than stored and deflated. */
  checkMethod(e: ZipEntry): void {
    if (e.flags & 1) throw new LensError('format', `${this.label(e)} is encrypted`);
    if (e.method !== 0 && e.method !== 8) {
      const msg = `${this.label(e)} uses zip compression method ${e.method}; ${this.w.reader}`;
      throw this.w.noun === 'entry' ? this.corrupt(msg) : new LensError('format', msg);
    }
  }

  /** Python's zipfile raises "Bad CRC-32" here; a silently altered entry would give a wrong loss. */
  checkCrc(e: ZipEntry, bytes: Uint8Array): void {
    this.checkCrcValue(e, crc32(bytes));
  }

  /** checkCrc for a CRC computed elsewhere (a stored entry streamed from the file in pieces). */
  checkCrcValue(e: ZipEntry, computed: number): void {
    if (computed !== e.crc) {
      throw new LensError(
        'format',
        `${this.label(e)}: bad CRC-32 (stored ${hex32(e.crc)}, computed ${hex32(computed)}) — the ${this.w.whole} is corrupt; re-save it`,
      );
    }
  }

  /**
   * Counts `bytes` more inflated from this file, refusing past MAX_INFLATED_BYTES in all (a file of many
   * compressed entries would otherwise multiply it), in one line with the way out.
   */
  private checkInflated(e: ZipEntry, bytes: number): void {
    if (this.inflated + bytes <= MAX_INFLATED_BYTES) {
      this.inflated += bytes;
      return;
    }
    const n = (v: number): string => v.toLocaleString('en-US');
    const fix = this.w.noun === 'member' ? 'save it uncompressed (np.savez, or np.save to a .npy)' : 'save it again with torch.save, which stores tensors uncompressed';
    const before = this.inflated > 0 ? ` after ${n(this.inflated)} inflated from this file already` : '';
    throw new LensError('format', `${this.label(e)} is compressed and inflates to ${n(bytes)} bytes${before}, more than the ${n(MAX_INFLATED_BYTES)} (1 GiB) inflated in memory from one file: ${fix}`);
  }

  /** The entry's bytes, inflated when deflated, CRC-checked; stored entries are returned in place. */
  read(e: ZipEntry): Uint8Array {
    this.checkMethod(e);
    const comp = this.raw(e);
    let out: Uint8Array;
    if (e.method === 0) {
      if (e.size !== e.compressedSize) throw this.corrupt(`stored ${this.label(e)} has mismatched sizes`);
      out = comp;
    } else {
      // Deflate expands at most about 1032:1; a larger claim is a corrupt directory, not a reason to allocate.
      if (e.size > comp.length * 1100 + 1024) throw this.corrupt(`${this.label(e)} claims an impossible size`);
      this.checkInflated(e, e.size);
      try {
        out = inflateSync(comp, { out: bytesLike(comp, e.size) });
      } catch (err) {
        throw this.corrupt(`${this.label(e)} does not inflate (${err instanceof Error ? err.message : String(err)})`);
      }
      if (out.length !== e.size) throw this.corrupt(`${this.label(e)} inflates to ${out.length} of ${e.size} bytes`);
    }
    this.checkCrc(e, out);
    return out;
  }

  /**
   * The first `maxBytes` of an entry, inflating no further than that: all of it, CRC-checked, when that is
   * no more than its size; else a prefix, which no CRC can check (a stored entry's is a view in place).
   */
  prefix(e: ZipEntry, maxBytes: number): { readonly bytes: Uint8Array; readonly complete: boolean } {
    if (maxBytes >= e.size) return { bytes: this.read(e), complete: true };
    this.checkMethod(e);
    const want = Math.max(0, Math.floor(maxBytes));
    if (e.method === 0) {
      if (e.size !== e.compressedSize) throw this.corrupt(`stored ${this.label(e)} has mismatched sizes`);
      // Only those bytes: a file read in ranges (FileBytes) reads no more of a storage than a view reaches.
      return { bytes: this.raw(e, want), complete: false };
    }
    const comp = this.raw(e);
    this.checkInflated(e, want);
    const out = new Uint8Array(want);
    let got = 0;
    const inf = new Inflate((chunk) => {
      const n = Math.min(chunk.length, want - got);
      out.set(chunk.subarray(0, n), got);
      got += n;
    });
    try {
      for (let off = 0, step = FIRST_STEP; off < comp.length && got < want; ) {
        inf.push(comp.subarray(off, off + step), off + step >= comp.length);
        off += step;
        const ratio = Math.max(1, got / off);
        step = Math.min(MAX_STEP, Math.max(FIRST_STEP / 4, Math.ceil((want - got) / ratio)));
      }
    } catch (err) {
      throw this.corrupt(`${this.label(e)} does not inflate (${err instanceof Error ? err.message : String(err)})`);
    }
    if (got < want) throw this.corrupt(`${this.label(e)} inflates to ${got} of ${e.size} bytes`);
    return { bytes: out, complete: false };
  }
}

/**
 * A tensor that is a byte range of its archive, laid out as a C-order (or Fortran-order) .npy's data: a
 * stored entry, read in ranges like a .npy file (src/worker/files/locateTensor.ts). `header.dataOffset` is
 * the absolute offset of its first element in the file; `entry` the zip entry whose CRC-32 covers it.
 */
export interface StoredPlace {
  readonly header: NpyHeader;
  readonly zip: ZipReader;
  readonly entry: ZipEntry;
  /** Where the entry's stored bytes begin (its CRC-32 covers [entryStart, entryStart + entry.size)). */
  readonly entryStart: number;
}
