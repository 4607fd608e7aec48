// Range reads from .npy files on disk, converting into the engine's shared buffers: float32 for logits,
// int32 for class indices. Only the header is parsed up front, so files far larger than memory stream.
import * as fs from 'node:fs';
import { LensError, fmtShape, unravelIndex } from '../../errors';
import { halfToFloat } from '../../tensor/float16';
import { numel } from '../../tensor/tensor';
import { splitMemberSpec } from '../../tensor/load';
import { parseNpyHeader, type NpyHeader } from '../../tensor/binary/npy';
import { describeFsError } from './readTensorFile';
import type { TensorRange } from './locateTensor';
import { openRegularFileSync, sameIdentity, type FileIdentity } from './regularFile';

export interface NpyFile {
  readonly path: string;
  /** Used for the header read and for the async range reads (libuv's thread pool, not the caller's thread). */
  readonly fd: number;
  readonly header: NpyHeader;
  readonly size: number;
}

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const SCRATCH_BYTES = 8 << 20;

/** A plain .npy path (not an `.npz:member` spec): the only kind read by ranges. */
export function isNpyPath(p: string): boolean {
  return p.toLowerCase().endsWith('.npy') && splitMemberSpec(p).member === undefined;
}

/** Opens a .npy for range reads; with `pin`, only the very file a check looked at (see FileIdentity). */
export function openNpy(path: string, pin?: FileIdentity): NpyFile {
  let fd: number;
  let size: number;
  try {
    // Range reads need a regular file; a link to a device or a FIFO is refused before any read.
    ({ fd, size } = openRegularFileSync(path, pin));
  } catch (e) {
    throw e instanceof LensError ? e.withSource(path) : new LensError('io', `${path}: ${describeFsError(e)}`);
  }
  try {
    const head = new Uint8Array(Math.min(size, 1 << 16));
    fs.readSync(fd, head, 0, head.length, 0);
    const header = parseNpyHeader(head);
    const need = header.dataOffset + header.shape.reduce((a, b) => a * b, 1) * header.itemSize;
    if (size < need) {
      throw new LensError('format', `file holds ${size - header.dataOffset} of ${need - header.dataOffset} data bytes for shape ${fmtShape(header.shape)} ${header.dtype} — truncated?`);
    }
    return { path, fd, header, size };
  } catch (e) {
    fs.closeSync(fd);
    throw e instanceof LensError ? e.withSource(path) : new LensError('io', `${path}: ${describeFsError(e)}`);
  }
}

/** A file source as the range readers see it: a .npy path, or an archive tensor located as a range. */
export interface RangeSource {
  readonly path: string;
  readonly pin?: FileIdentity;
  readonly range?: TensorRange;
}

/**
 * Opens a source for range reads: a .npy file, or the range of an archive tensor (locateTensor), named by
 * the source's path (file and member) in messages; null for any other file.
 */
export function openRangeSource(src: RangeSource): NpyFile | null {
  if (src.range === undefined) return isNpyPath(src.path) ? openNpy(src.path, src.pin) : null;
  const { file, header, identity } = src.range;
  let fd: number;
  let size: number;
  try {
    ({ fd, size } = openRegularFileSync(file));
  } catch (e) {
    throw e instanceof LensError ? e.withSource(file) : new LensError('io', `${file}: ${describeFsError(e)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!sameIdentity(st, identity)) throw new LensError('io', `${file}: the file changed since it was opened (rewritten while in use?) — compute again`);
    if (size < header.dataOffset + numel(header.shape) * header.itemSize) throw new LensError('io', `${file}: the file ended early (was it rewritten while reading?)`);
    return { path: src.path, fd, header, size };
  } catch (e) {
    fs.closeSync(fd);
    throw e instanceof LensError ? e : new LensError('io', `${file}: ${describeFsError(e)}`);
  }
}

export function closeNpy(f: NpyFile): void {
  try {
    fs.closeSync(f.fd);
  } catch {
    // already closed
  }
}

/** Bytes per read: small enough that progress and cancellation stay prompt while streaming. */
const PIECE_BYTES = 8 << 20;

function readAsync(fd: number, dest: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, dest, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Fills dest from `position`, in pieces, without blocking the calling thread. */
async function readExact(f: NpyFile, dest: Uint8Array, position: number, onBytes?: (n: number) => void): Promise<void> {
  let done = 0;
  while (done < dest.length) {
    let n: number;
    try {
      n = await readAsync(f.fd, dest, done, Math.min(PIECE_BYTES, dest.length - done), position + done);
    } catch (e) {
      throw new LensError('io', `${f.path}: ${describeFsError(e)}`);
    }
    if (n === 0) throw new LensError('io', `${f.path}: the file ended early (was it rewritten while reading?)`);
    done += n;
    onBytes?.(n);
  }
}

function swapInPlace(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = b[a];
      b[a] = b[z];
      b[z] = t;
    }
  }
}

/** The raw bytes of elements [start, start + count), in the file's byte order (decode with decodeRawData). */
export async function readRaw(f: NpyFile, start: number, count: number, onBytes?: (n: number) => void): Promise<Uint8Array> {
  const bytes = new Uint8Array(count * f.header.itemSize);
  await readExact(f, bytes, f.header.dataOffset + start * f.header.itemSize, onBytes);
  return bytes;
}

/**
 * Reads `count` elements from element `start` as they are stored, little-endian, straight into dest (bytes;
 * e.g. float16 logits that the row kernel widens as it reads).
 */
export async function readLittleEndianInto(f: NpyFile, start: number, count: number, dest: Uint8Array, onBytes?: (n: number) => void): Promise<void> {
  const size = f.header.itemSize;
  const bytes = dest.subarray(0, count * size);
  await readExact(f, bytes, f.header.dataOffset + start * size, onBytes);
  if (size > 1 && f.header.littleEndian !== LITTLE) swapInPlace(bytes, size);
}

/** Reads `count` C-order elements from element `start` as float32 into dest[destOff...]. */
export async function readF32(f: NpyFile, start: number, count: number, dest: Float32Array, destOff: number, onBytes?: (n: number) => void): Promise<void> {
  const h = f.header;
  const pos = h.dataOffset + start * h.itemSize;
  if (h.dtype === 'float32') {
    const bytes = new Uint8Array(dest.buffer, dest.byteOffset + destOff * 4, count * 4);
    await readExact(f, bytes, pos, onBytes);
    if (h.littleEndian !== LITTLE) swapInPlace(bytes, 4);
    return;
  }
  if (h.dtype !== 'float16') throw new LensError('dtype', `${f.path}: ${h.dtype} logits take the exact float64 path, not the float32 stream`);
  const scratch = new Uint8Array(Math.min(SCRATCH_BYTES, count * 2));
  const halves = new Uint16Array(scratch.buffer);
  for (let done = 0; done < count; ) {
    const n = Math.min(count - done, scratch.length / 2);
    const view = scratch.subarray(0, n * 2);
    await readExact(f, view, pos + done * 2, onBytes);
    if (h.littleEndian !== LITTLE) swapInPlace(view, 2);
    for (let i = 0; i < n; i++) dest[destOff + done + i] = halfToFloat(halves[i]);
    done += n;
  }
}

/**
 * Reads `count` class indices, in the file's order, from element `start` into dest as int32. A value that does not fit
 * int32 is reported with its index in the file's shape.
 */
export async function readI32(f: NpyFile, start: number, count: number, dest: Int32Array, destOff: number, onBytes?: (n: number) => void): Promise<void> {
  const h = f.header;
  const size = h.itemSize;
  const pos = h.dataOffset + start * size;
  if (h.dtype === 'int32' && h.littleEndian === LITTLE) {
    await readExact(f, new Uint8Array(dest.buffer, dest.byteOffset + destOff * 4, count * 4), pos, onBytes);
    return;
  }
  const per = Math.floor(SCRATCH_BYTES / size);
  const scratch = new Uint8Array(Math.min(per, count) * size);
  for (let done = 0; done < count; ) {
    const n = Math.min(count - done, per);
    const view = scratch.subarray(0, n * size);
    await readExact(f, view, pos + done * size, onBytes);
    if (size > 1 && h.littleEndian !== LITTLE) swapInPlace(view, size);
    const bad = convertInts(view, n, h.dtype, dest, destOff + done);
    if (bad >= 0) {
      const flat = start + done + bad;
      // In a Fortran-order file the first axis varies fastest: unravel over the reversed shape.
      const index = h.fortranOrder ? unravelIndex(flat, [...h.shape].reverse()).reverse() : unravelIndex(flat, h.shape);
      throw new LensError('dtype', `${f.path}: ${h.dtype} value at index ${fmtShape(index)} does not fit the kernel's 32-bit integer type`);
    }
    done += n;
  }
}

/** Converts n native-endian integers; returns the first index that does not fit int32, or -1. */
function convertInts(b: Uint8Array, n: number, dtype: NpyHeader['dtype'], dest: Int32Array, off: number): number {
  const buf = b.buffer;
  const o = b.byteOffset;
  switch (dtype) {
    case 'int8': { const a = new Int8Array(buf, o, n); for (let i = 0; i < n; i++) dest[off + i] = a[i]; return -1; }
    case 'uint8': { const a = new Uint8Array(buf, o, n); for (let i = 0; i < n; i++) dest[off + i] = a[i]; return -1; }
    case 'int16': { const a = new Int16Array(buf, o, n); for (let i = 0; i < n; i++) dest[off + i] = a[i]; return -1; }
    case 'uint16': { const a = new Uint16Array(buf, o, n); for (let i = 0; i < n; i++) dest[off + i] = a[i]; return -1; }
    case 'int32': { dest.set(new Int32Array(buf, o, n), off); return -1; }
    case 'uint32': {
      const a = new Uint32Array(buf, o, n);
      for (let i = 0; i < n; i++) {
        if (a[i] > 0x7fffffff) return i;
        dest[off + i] = a[i];
      }
      return -1;
    }
    case 'int64':
    case 'uint64': {
      const w = new Int32Array(buf, o, 2 * n);
      const lo = LITTLE ? 0 : 1;
      const hi = 1 - lo;
      const signed = dtype === 'int64';
      for (let i = 0; i < n; i++) {
        const l = w[2 * i + lo];
        const u = w[2 * i + hi];
        if (signed ? u !== l >> 31 : u !== 0 || l < 0) return i;
        dest[off + i] = l;
      }
      return -1;
    }
    default:
      throw new LensError('dtype', `class-index targets must be integers, got ${dtype} — cast with target.long() / target.astype(np.int64)`);
  }
}
