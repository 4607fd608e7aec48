// Header and summary statistics of a tensor file for a hover, computed in a worker thread: a .npy is read
// in pieces (whole up to the sampling threshold, else the sample that src/hover/files.ts documents); an
// .npz up to the threshold is read whole, and its members whole or sampled by their uncompressed sizes
// (npzSampleBytes), never inflating more than that whatever the archive claims.
import * as fs from 'node:fs';
import { LensError } from '../../errors';
import {
  CHECKPOINT_STATS_BYTES, DEFAULT_SAMPLING, MASK_HOVER_PIXELS, npzSampleBytes, sampleRanges, type ArraySummary, type FileSummary, type MaskSummary, type MemberSample,
  type SamplingPolicy,
} from '../../hover/files';
import { StatsAccumulator } from '../../hover/report';
import { splitMemberSpec } from '../../tensor/load';
import { decodeRawData, parseNpyHeader, type NpyHeader } from '../../tensor/binary/npy';
import { memberLabel, readNpz, type NpzArchive, type NpzMember } from '../../tensor/binary/npz';
import {
  colorTypeName, decodePngMask, describePngHeader, isColorPng, isPngPath, maskValueCounts, pngMaskDType, pngMaskShape, readPngHeader, PNG_HEADER_BYTES,
} from '../../tensor/image/pngMask';
import { parseSafetensorsHeader, readSafetensors, safetensorsHeaderEnd } from '../../tensor/binary/safetensors';
import { numel, type Tensor } from '../../tensor/tensor';
import { readTorchSave, type TorchTensorInfo } from '../../tensor/binary/torchSave';
import { torchSaveListingSync } from '../files/torchSaveListing';
import { describeFsError } from '../files/readTensorFile';
import { openRegularFileSync } from '../files/regularFile';

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

/** Adds the values of raw item bytes to `acc` in pieces, so a large member costs no second copy. */
function addRaw(acc: StatsAccumulator, bytes: Uint8Array, h: NpyHeader): void {
  const piece = Math.max(h.itemSize, Math.floor(PIECE_BYTES / h.itemSize) * h.itemSize);
  for (let off = 0; off < bytes.length; off += piece) acc.add(values(bytes.subarray(off, Math.min(bytes.length, off + piece)), h));
}

function memberTruncated(m: NpzMember, have: number, need: number): LensError {
  return new LensError('format', `member ${memberLabel(`${m.name}.npy`)} holds ${have} of ${need} data bytes — truncated?`);
}

/** Statistics of one member: whole (CRC-checked) when `whole`, else the sample npzSampleBytes describes. */
function memberStats(archive: NpzArchive, m: NpzMember, whole: boolean, policy: SamplingPolicy): Pick<ArraySummary, 'stats' | 'sampled'> {
  const h = m.header;
  const total = numel(h.shape);
  const dataBytes = total * h.itemSize;
  const acc = new StatsAccumulator();
  if (whole) {
    const data = archive.head(m.name, m.size).bytes.subarray(h.dataOffset);
    if (data.length < dataBytes) throw memberTruncated(m, data.length, dataBytes);
    addRaw(acc, data.subarray(0, dataBytes), h);
    return { stats: acc.result() };
  }
  const sampleBytes = npzSampleBytes(policy);
  const stored = archive.storedBytes(m.name);
  let sampled: MemberSample;
  if (stored !== undefined) {
    // Stored bytes lie in the archive as they are: sample them like a large .npy file.
    const data = stored.subarray(h.dataOffset);
    if (data.length < dataBytes) throw memberTruncated(m, data.length, dataBytes);
    const ranges = sampleRanges(dataBytes, h.itemSize, policy);
    for (const [offset, length] of ranges) addRaw(acc, data.subarray(offset, offset + length), h);
    const elements = ranges.reduce((n, [, length]) => n + length / h.itemSize, 0);
    sampled = { layout: 'spaced', blocks: ranges.length, blockBytes: ranges[0][1], elements, totalElements: total, memberBytes: m.size };
  } else {
    const want = Math.min(dataBytes, Math.floor(sampleBytes / h.itemSize) * h.itemSize);
    const data = archive.head(m.name, h.dataOffset + want).bytes.subarray(h.dataOffset);
    if (data.length < want) throw memberTruncated(m, data.length, dataBytes);
    addRaw(acc, data.subarray(0, want), h);
    sampled = { layout: 'first', blocks: 1, blockBytes: want, elements: want / h.itemSize, totalElements: total, memberBytes: m.size };
  }
  return { stats: acc.result(), sampled };
}

function summarizeNpz(path: string, fd: number, member: string | undefined, size: number, policy: SamplingPolicy): FileSummary {
  if (size > policy.overBytes) {
    // Reading the directory alone would need range reads through the zip structures; a hover does not.
    return { path, sizeBytes: size, kind: 'npz', arrays: [], moreArrays: 0, sampled: null, note: 'archive over 100 MB: members are not read for a hover' };
  }
  // Read through the descriptor already checked to be a regular file of this size.
  const archive = readNpz(readAt(fd, path, size, 0), path);
  const names = member !== undefined ? [member] : archive.members.map((m) => m.name);
  const arrays: ArraySummary[] = [];
  // Uncompressed bytes this hover still reads whole, by the sizes the zip directory states (which also
  // bound what inflating may produce).
  let budget = policy.overBytes;
  for (const name of names.slice(0, MAX_MEMBERS)) {
    const m = archive.members.find((x) => x.name === name);
    if (m === undefined) {
      const skipped = archive.skipped.find((s) => s.name === name);
      const error = skipped?.error.message ?? `no member named ${name === memberLabel(name) ? `'${name}'` : memberLabel(name)} (members: ${archive.members.map((x) => memberLabel(x.name)).join(', ')})`;
      arrays.push({ name, shape: [], dtype: '?', descr: '?', fortranOrder: false, stats: null, error });
      continue;
    }
    const h = m.header;
    // A member no larger than its sample is read whole (and CRC-checked) for the same cost.
    const whole = m.size <= budget || m.size <= h.dataOffset + npzSampleBytes(policy);
    if (whole) budget = Math.max(0, budget - m.size);
    let part: Pick<ArraySummary, 'stats' | 'sampled'> = { stats: null };
    let error: string | null = null;
    try {
      part = memberStats(archive, m, whole, policy);
    } catch (e) {
      if (!(e instanceof LensError)) throw e;
      error = e.withSource(path).message;
    }
    arrays.push({ name, shape: h.shape, dtype: h.dtype, descr: h.descr, fortranOrder: h.fortranOrder, stats: part.stats, error, ...(part.sampled ? { sampled: part.sampled } : {}) });
  }
  const k = archive.skipped.length;
  const skippedNote = member === undefined && k > 0 ? `${k} ${k === 1 ? 'entry' : 'entries'} not usable as an array` : null;
  return { path, sizeBytes: size, kind: 'npz', arrays, moreArrays: Math.max(0, names.length - MAX_MEMBERS), sampled: null, note: skippedNote };
}

/**
 * A PNG label mask: its header, and for a mask of at most MASK_HOVER_PIXELS its distinct values with counts
 * (the colours of an RGB image are not classes: its header only, with a note).
 */
function summarizePng(path: string, fd: number, size: number): FileSummary {
  const h = readPngHeader(readAt(fd, path, Math.min(size, PNG_HEADER_BYTES), 0));
  const base = { width: h.width, height: h.height, bitDepth: h.bitDepth, colorType: colorTypeName(h.colorType) };
  const summary = (classes: MaskSummary['classes'], note: string | null, error: string | null = null): FileSummary => ({
    path, sizeBytes: size, kind: 'png', mask: { ...base, classes }, moreArrays: 0, sampled: null, note,
    arrays: [{ name: null, shape: pngMaskShape(h), dtype: pngMaskDType(h), descr: describePngHeader(h), fortranOrder: false, stats: null, error }],
  });
  if (isColorPng(h)) return summary(null, `an ${colorTypeName(h.colorType)} image: colours are not class indices — as a mask it needs a colour table (classes.json "colors")`);
  if (h.width * h.height > MASK_HOVER_PIXELS) return summary(null, `over ${MASK_HOVER_PIXELS} pixels: classes are not counted for a hover`);
  try {
    const counts = maskValueCounts(decodePngMask(readAt(fd, path, size, 0)), 256);
    return summary(counts, counts === null ? 'more than 256 distinct values — not a label mask?' : null);
  } catch (e) {
    if (!(e instanceof LensError) || e.kind === 'io') throw e;
    return summary(null, null, e.message);
  }
}

const TORCH_PATH = /\.(?:pt|pth|bin)$/i;
const SAFETENSORS_PATH = /\.safetensors$/i;

/** Statistics of a decoded tensor (bfloat16 arrives as float32). */
function tensorStats(t: Tensor): ArraySummary['stats'] {
  const acc = new StatsAccumulator();
  acc.add(t.data as ArrayLike<number>);
  return acc.result();
}

/** Bytes of a tensor's data as saved, for the statistics budget. */
function dataBytes(shape: readonly number[], itemSize: number): number {
  return numel(shape) * itemSize;
}

const TORCH_ITEM: Record<string, number> = { float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, int16: 2, int8: 1, uint8: 1, bool: 1 };

/**
 * A torch.save file: every tensor's name, shape and dtype from data.pkl (no storage is read for those), and
 * statistics of the first tensors whose data fits CHECKPOINT_STATS_BYTES. Files over `overBytes` are not read.
 */
function summarizeTorch(path: string, fd: number, member: string | undefined, size: number, policy: SamplingPolicy): FileSummary {
  const pick = (tensors: readonly TorchTensorInfo[]): readonly TorchTensorInfo[] => {
    const listed = member !== undefined ? tensors.filter((t) => t.name === member) : tensors;
    if (member !== undefined && listed.length === 0) {
      const names = tensors.slice(0, 8).map((t) => memberLabel(t.name)).join(', ');
      throw new LensError('format', `no tensor named ${memberLabel(member)} (tensors: ${names}${tensors.length > 8 ? ', …' : ''})`);
    }
    return listed;
  };
  if (size > policy.overBytes) {
    // A large checkpoint: its directory and data.pkl give every tensor's header; no storage is read.
    const all = torchSaveListingSync(path, fd, size);
    const listed = pick(all);
    const bare = all.length === 1 && all[0].name === '';
    return {
      path, sizeBytes: size, kind: 'torch', moreArrays: Math.max(0, listed.length - MAX_MEMBERS), sampled: null,
      arrays: listed.slice(0, MAX_MEMBERS).map((t) => ({ name: bare ? null : t.name, shape: t.shape, dtype: t.dtype, descr: `torch.${t.torchDType}`, fortranOrder: false, stats: null, error: null })),
      note: `file over ${Math.round(policy.overBytes / 1e6)} MB: statistics are not computed for a hover`,
    };
  }
  const file = readTorchSave(readAt(fd, path, size, 0), path);
  const listed = pick(file.tensors);
  // Tensors are read by their place in the listing: resolving each listed name again could cost far more.
  const indexOf = new Map<TorchTensorInfo, number>(file.tensors.map((t, i) => [t, i]));
  let budget = CHECKPOINT_STATS_BYTES;
  const arrays: ArraySummary[] = [];
  for (const t of listed.slice(0, MAX_MEMBERS)) {
    const bytes = dataBytes(t.shape, TORCH_ITEM[t.torchDType] ?? 8);
    let stats: ArraySummary['stats'] = null;
    let error: string | null = null;
    if (bytes <= budget) {
      budget -= bytes;
      try {
        stats = tensorStats(file.tensorAt(indexOf.get(t)!));
      } catch (e) {
        if (!(e instanceof LensError)) throw e;
        error = e.message;
      }
    }
    arrays.push({ name: file.bare ? null : t.name, shape: t.shape, dtype: t.dtype, descr: `torch.${t.torchDType}`, fortranOrder: false, stats, error });
  }
  const unread = arrays.filter((a) => a.stats === null && a.error === null).length;
  const notes = [
    file.truncated ? 'listing stopped early (very many tensors)' : null,
    unread > 0 ? `statistics of tensors beyond the first ${fmtMB(CHECKPOINT_STATS_BYTES)} of data are not computed for a hover` : null,
  ].filter((x): x is string => x !== null);
  return { path, sizeBytes: size, kind: 'torch', arrays, moreArrays: Math.max(0, listed.length - MAX_MEMBERS), sampled: null, note: notes.length > 0 ? notes.join('; ') : null };
}

function fmtMB(n: number): string {
  return `${Math.round(n / 2 ** 20)} MB`;
}

/**
 * A .safetensors file: names, shapes and dtypes from its header (read alone, at any file size), and
 * statistics of the first tensors whose data fits CHECKPOINT_STATS_BYTES (read in their byte ranges).
 */
function summarizeSafetensors(path: string, fd: number, member: string | undefined, size: number): FileSummary {
  const first = readAt(fd, path, Math.min(size, 8), 0);
  const end = safetensorsHeaderEnd(first);
  if (end === undefined || end > size) throw new LensError('format', 'not a valid .safetensors file: the header length is missing or larger than the file');
  const head = readAt(fd, path, end, 0);
  const infos = parseSafetensorsHeader(head, size);
  const listed = member !== undefined ? infos.filter((t) => t.name === member) : infos;
  if (member !== undefined && listed.length === 0) {
    const names = infos.slice(0, 8).map((t) => memberLabel(t.name)).join(', ');
    throw new LensError('format', `no tensor named ${memberLabel(member)} (tensors: ${names}${infos.length > 8 ? ', …' : ''})`);
  }
  let budget = CHECKPOINT_STATS_BYTES;
  const arrays: ArraySummary[] = [];
  for (const t of listed.slice(0, MAX_MEMBERS)) {
    const bytes = t.end - t.begin;
    let stats: ArraySummary['stats'] = null;
    let error: string | null = null;
    if (bytes <= budget) {
      budget -= bytes;
      try {
        // This tensor's bytes alone, as a one-tensor file for the reader (never the data before it).
        const header = new TextEncoder().encode(JSON.stringify({ t: { dtype: t.stDType, shape: t.shape, data_offsets: [0, bytes] } }));
        const buf = new Uint8Array(8 + header.length + bytes);
        new DataView(buf.buffer).setUint32(0, header.length, true);
        buf.set(header, 8);
        buf.set(readAt(fd, path, bytes, t.begin), 8 + header.length);
        stats = tensorStats(readSafetensors(buf, path).get('t'));
      } catch (e) {
        if (!(e instanceof LensError) || e.kind === 'io') throw e;
        error = e.message;
      }
    }
    arrays.push({ name: t.name, shape: t.shape, dtype: t.dtype, descr: t.stDType, fortranOrder: false, stats, error });
  }
  const unread = arrays.filter((a) => a.stats === null && a.error === null).length;
  return {
    path, sizeBytes: size, kind: 'safetensors', arrays, moreArrays: Math.max(0, listed.length - MAX_MEMBERS), sampled: null,
    note: unread > 0 ? `statistics of tensors beyond the first ${fmtMB(CHECKPOINT_STATS_BYTES)} of data are not computed for a hover` : null,
  };
}

/** The summary of `spec` (a .npy path, an .npz path, or file.npz:member). Errors are one-line LensErrors. */
export function summarizeTensorFile(spec: string, policy: SamplingPolicy = DEFAULT_SAMPLING): FileSummary {
  const { path, member } = splitMemberSpec(spec);
  try {
    // A hovered path can name anything: a device or a FIFO would never end.
    const { fd, size } = openRegularFileSync(path);
    try {
      if (isPngPath(path) && member === undefined) return summarizePng(path, fd, size);
      if (SAFETENSORS_PATH.test(path)) return summarizeSafetensors(path, fd, member, size);
      if (TORCH_PATH.test(path)) return summarizeTorch(path, fd, member, size, policy);
      return path.toLowerCase().endsWith('.npz') ? summarizeNpz(path, fd, member, size, policy) : summarizeNpy(path, fd, size, policy);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('io', describeFsError(e));
    throw le.withSource(path);
  }
}
