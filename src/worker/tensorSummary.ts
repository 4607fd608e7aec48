// Header and summary statistics of a tensor file for a hover, computed in a worker thread: a .npy is read
// in pieces (whole up to the sampling threshold, else the sample that src/hover/files.ts documents); an
// .npz up to the threshold is read whole and each member summarized.
import * as fs from 'node:fs';
import { LensError } from '../errors';
import { DEFAULT_SAMPLING, sampleRanges, type ArraySummary, type FileSummary, type SamplingPolicy } from '../hover/files';
import { StatsAccumulator, tensorStats, type TensorStats } from '../hover/report';
import { splitMemberSpec } from '../tensor/load';
import { decodeRawData, parseNpyHeader, type NpyHeader } from '../tensor/npy';
import { readNpz } from '../tensor/npz';
import { numel } from '../tensor/tensor';
import { describeFsError } from './readTensorFile';

/** Bytes per read while summarizing: bounds the worker's memory for a file read whole. */
const PIECE_BYTES = 8 << 20;
/** Members of an archive summarized in one hover. */
const MAX_MEMBERS = 8;

function readAt(fd: number, path: string, length: number, position: number): Uint8Array {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, done, length - done, position + done);
    } catch (e) {
      throw new LensError('io', `${path}: ${describeFsError(e)}`);
    }
    if (n === 0) throw new LensError('io', `${path}: the file ended early (was it rewritten while reading?)`);
    done += n;
  }
  return buf;
}

/** Values of raw item bytes as numbers; 64-bit integers that do not fit int32 are widened (approximately). */
function values(bytes: Uint8Array, h: NpyHeader): ArrayLike<number> {
  const count = Math.floor(bytes.length / h.itemSize);
  try {
    return decodeRawData(bytes, { dtype: h.dtype, shape: [count], littleEndian: h.littleEndian, fortranOrder: false }).data;
  } catch (e) {
    if (!(e instanceof LensError) || (h.dtype !== 'int64' && h.dtype !== 'uint64')) throw e;
    const view = new DataView(bytes.buffer, bytes.byteOffset, count * 8);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = Number(h.dtype === 'int64' ? view.getBigInt64(i * 8, h.littleEndian) : view.getBigUint64(i * 8, h.littleEndian));
    }
    return out;
  }
}

function summarizeNpy(path: string, fd: number, size: number, policy: SamplingPolicy): FileSummary {
  const head = readAt(fd, path, Math.min(size, 1 << 16), 0);
  const h = parseNpyHeader(head);
  const total = numel(h.shape);
  const dataBytes = total * h.itemSize;
  if (size < h.dataOffset + dataBytes) {
    throw new LensError('format', `file holds ${size - h.dataOffset} of ${dataBytes} data bytes — truncated?`);
  }
  const sample = size > policy.overBytes;
  const ranges = sample ? sampleRanges(dataBytes, h.itemSize, policy) : [[0, dataBytes] as const];
  const acc = new StatsAccumulator();
  const piece = Math.max(h.itemSize, Math.floor(PIECE_BYTES / h.itemSize) * h.itemSize);
  let elements = 0;
  let error: string | null = null;
  try {
    for (const [offset, length] of ranges) {
      for (let done = 0; done < length; done += piece) {
        const n = Math.min(piece, length - done);
        acc.add(values(readAt(fd, path, n, h.dataOffset + offset + done), h));
        elements += n / h.itemSize;
      }
    }
  } catch (e) {
    if (!(e instanceof LensError) || e.kind === 'io') throw e;
    error = e.message;
  }
  const array: ArraySummary = {
    name: null, shape: h.shape, dtype: h.dtype, descr: h.descr, fortranOrder: h.fortranOrder,
    stats: error === null ? acc.result() : null, error,
  };
  return {
    path, sizeBytes: size, kind: 'npy', arrays: [array], moreArrays: 0,
    sampled: sample && error === null && ranges.length > 1 ? { blocks: ranges.length, blockBytes: ranges[0][1], elements, totalElements: total } : null,
    note: null,
  };
}

function summarizeNpz(path: string, member: string | undefined, size: number, policy: SamplingPolicy): FileSummary {
  if (size > policy.overBytes) {
    // Members are compressed or at least not randomly addressable here, so a sample would mean reading
    // (and inflating) the archive anyway; a hover does not do that.
    return { path, sizeBytes: size, kind: 'npz', arrays: [], moreArrays: 0, sampled: null, note: 'archive over 100 MB: members are not read for a hover' };
  }
  let bytes: Uint8Array;
  try {
    const b = fs.readFileSync(path);
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new LensError('io', `${path}: ${describeFsError(e)}`);
  }
  const archive = readNpz(bytes, path);
  const names = member !== undefined ? [member] : archive.members.map((m) => m.name);
  const arrays: ArraySummary[] = [];
  for (const name of names.slice(0, MAX_MEMBERS)) {
    const m = archive.members.find((x) => x.name === name);
    if (m === undefined) {
      const skipped = archive.skipped.find((s) => s.name === name);
      const error = skipped?.error.message ?? `no member named '${name}' (members: ${archive.members.map((x) => x.name).join(', ')})`;
      arrays.push({ name, shape: [], dtype: '?', descr: '?', fortranOrder: false, stats: null, error });
      continue;
    }
    const h = m.header;
    let stats: TensorStats | null = null;
    let error: string | null = null;
    try {
      stats = tensorStats(archive.get(name).data);
    } catch (e) {
      if (!(e instanceof LensError)) throw e;
      error = e.message;
    }
    arrays.push({ name, shape: h.shape, dtype: h.dtype, descr: h.descr, fortranOrder: h.fortranOrder, stats, error });
  }
  const k = archive.skipped.length;
  const skippedNote = member === undefined && k > 0 ? `${k} ${k === 1 ? 'entry' : 'entries'} not usable as an array` : null;
  return { path, sizeBytes: size, kind: 'npz', arrays, moreArrays: Math.max(0, names.length - MAX_MEMBERS), sampled: null, note: skippedNote };
}

/** The summary of `spec` (a .npy path, an .npz path, or file.npz:member). Errors are one-line LensErrors. */
export function summarizeTensorFile(spec: string, policy: SamplingPolicy = DEFAULT_SAMPLING): FileSummary {
  const { path, member } = splitMemberSpec(spec);
  try {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new LensError('io', describeFsError(e));
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new LensError('io', 'is a directory');
      return path.toLowerCase().endsWith('.npz') ? summarizeNpz(path, member, st.size, policy) : summarizeNpy(path, fd, st.size, policy);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('io', describeFsError(e));
    throw le.withSource(path);
  }
}
