// .npz archives (np.savez / np.savez_compressed): a zip of .npy members. The central directory is read by our
// own zip reader (src/tensor/binary/zip.ts, shared with torch.save files) rather than fflate's unzip, so that listing
// an archive touches only each member's first bytes (a few hundred inflated bytes for a compressed member)
// and members are decoded only when asked for.

import { Inflate, zipSync } from 'fflate';
import { LensError, fmtShape, quoteSnippet } from '../../errors';
import { decodeNpy, npyHeaderEnd, parseNpyHeader, type NpyHeader } from './npy';
import { type Tensor, isFloatDType, numel } from '../tensor';
import type { ByteView } from '../byteView';
import { ZipReader, type StoredPlace, type ZipEntry, type ZipWording } from './zip';

export interface NpzMember {
  /** The member's name without .npy, as np.load(...).files lists it. */
  name: string;
  header: NpyHeader;
  /** Uncompressed size (.npy header and data) as the zip directory states it. */
  size: number;
  /** Deflated (np.savez_compressed) rather than stored: its bytes can only be read from the start. */
  deflated: boolean;
}

/** Part of a member's bytes, from its first byte. */
export interface NpzMemberHead {
  readonly bytes: Uint8Array;
  /** The whole member, its CRC-32 checked; otherwise a prefix whose integrity nothing vouches for. */
  readonly complete: boolean;
}

export interface NpzSkipped {
  /** The entry's name (without .npy when it has that suffix). */
  name: string;
  /** Why it is not an array we can use; get(name) throws it. */
  error: LensError;
}

export interface NpzArchive {
  readonly members: readonly NpzMember[];
  /** Entries that are not usable arrays: other files, corrupt members, unsupported dtypes. */
  readonly skipped: readonly NpzSkipped[];
  get(name: string): Tensor;
  /**
   * At most `maxBytes` of a member's bytes (its .npy header first), inflating no more than that: a zip bomb
   * (a megabyte that inflates to gigabytes) costs only the bytes asked for. The whole member, CRC-checked,
   * when it fits.
   */
  head(name: string, maxBytes: number): NpzMemberHead;
  /** A stored member's bytes in place (no copy, no CRC check), for reading ranges; undefined when deflated. */
  storedBytes(name: string): Uint8Array | undefined;
  /** Where a stored member's array lies in the file; undefined when deflated or in Fortran order. */
  place(name: string): StoredPlace | undefined;
}

export type TensorRole = 'input' | 'target' | 'weight';

type Entry = ZipEntry;

/** A member's file name for a message: as is when short and printable, else quoted and cut. */
export function memberLabel(fileName: string): string {
  const printable = [...fileName].every((c) => c.charCodeAt(0) >= 0x20 && c !== '\x7f');
  return fileName.length <= 60 && printable ? fileName : quoteSnippet(fileName);
}

const NPZ_WORDING: ZipWording = { what: '.npz (zip) archive', noun: 'member', reader: 'np.load reads only stored and deflated members', whole: 'archive', label: memberLabel };

function corrupt(what: string): LensError {
  return new LensError('format', `not a valid ${NPZ_WORDING.what}: ${what}`);
}

/** The archive's central directory (the zip reader is shared with torch.save files: src/tensor/binary/zip.ts). */
function readCentralDirectory(b: Uint8Array | ByteView): { readonly zip: ZipReader; readonly entries: readonly Entry[] } {
  const zip = new ZipReader(b, NPZ_WORDING);
  return { zip, entries: zip.entries };
}

/**
 * Enough of a stored member for its .npy header (NumPy writes 128 bytes or a few multiples of 64), and the
 * first window of a deflated member's compressed bytes for inflating its header.
 */
const STORED_HEAD_BYTES = 4096;

/** Inflates only as much of a member as its .npy header needs. */
function memberHead(zip: ZipReader, e: Entry): Uint8Array {
  zip.checkMethod(e);
  if (e.method === 0) {
    // A stored member's first bytes, as far as its header says: a file read in ranges (FileBytes) reads no
    // member whole to list it.
    const first = zip.raw(e, STORED_HEAD_BYTES);
    const end = npyHeaderEnd(first);
    return end !== undefined && end > first.length ? zip.raw(e, end) : first;
  }
  // The compressed bytes in a window that grows as the inflating needs them: a header is near the start.
  const total = e.compressedSize;
  let comp = zip.raw(e, STORED_HEAD_BYTES);
  const chunks: Uint8Array[] = [];
  let got = 0;
  const inf = new Inflate((chunk) => {
    chunks.push(chunk);
    got += chunk.length;
  });
  const joined = (): Uint8Array => {
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(got);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    chunks.length = 0;
    chunks.push(out);
    return out;
  };
  // Small steps: one deflate byte can expand to about a thousand, and a header is a few hundred bytes.
  const step = 128;
  try {
    for (let off = 0; off < total; off += step) {
      if (off + step > comp.length && comp.length < total) comp = zip.raw(e, Math.max(4 * comp.length, off + step));
      const last = off + step >= total;
      inf.push(comp.subarray(off, off + step), last);
      if (got === 0) continue;
      const head = joined();
      const end = npyHeaderEnd(head);
      if (end !== undefined && head.length >= end) return head;
    }
  } catch (err) {
    if (err instanceof LensError) throw err;
    throw corrupt(`member ${memberLabel(e.name)} does not inflate (${err instanceof Error ? err.message : String(err)})`);
  }
  return joined();
}

function memberBytes(zip: ZipReader, e: Entry): Uint8Array {
  return zip.read(e);
}

/** The first `maxBytes` of a member (all of it, CRC-checked, when that is no more than its size). */
function memberPrefix(zip: ZipReader, e: Entry, maxBytes: number): NpzMemberHead {
  return zip.prefix(e, maxBytes);
}

function stripNpy(fileName: string): string {
  return fileName.endsWith('.npy') ? fileName.slice(0, -4) : fileName;
}

/** Lists an archive's arrays from their headers; get() decodes one member on demand. */
export function readNpz(bytes: Uint8Array | ByteView, source?: string): NpzArchive {
  const src = (e: LensError): LensError => (source === undefined ? e : e.withSource(source));
  let entries: readonly Entry[];
  let zip: ZipReader;
  try {
    ({ zip, entries } = readCentralDirectory(bytes));
  } catch (e) {
    throw src(e instanceof LensError ? e : corrupt(String(e)));
  }
  const members: NpzMember[] = [];
  const skipped: NpzSkipped[] = [];
  // With duplicate names np.load (zipfile) reads the last entry; list each name once, in first order.
  const byName = new Map<string, Entry>();
  for (const e of entries) if (!e.name.endsWith('/')) byName.set(stripNpy(e.name), e);
  for (const [name, e] of byName) {
    if (!e.name.endsWith('.npy')) {
      skipped.push({ name, error: new LensError('format', `member ${memberLabel(e.name)} is not a .npy array`) });
      continue;
    }
    try {
      members.push({ name, header: parseNpyHeader(memberHead(zip, e)), size: e.size, deflated: e.method === 8 });
    } catch (err) {
      skipped.push({ name, error: aboutMember(err, e.name) });
    }
  }
  if (members.length === 0) {
    if (skipped.length > 0) throw src(skipped[0].error);
    throw src(new LensError('format', 'the .npz archive holds no arrays'));
  }
  /** The entry of a usable member, or the error that says why there is none. */
  const entry = (name: string): Entry => {
    const key = byName.has(name) ? name : stripNpy(name);
    const e = byName.get(key);
    if (e === undefined) {
      throw src(new LensError('option', `no member named ${name === memberLabel(name) ? `'${name}'` : memberLabel(name)}; members: ${describeMembers(archive)}`));
    }
    const bad = skipped.find((s) => s.name === key);
    if (bad !== undefined) throw src(bad.error);
    return e;
  };
  const archive: NpzArchive = {
    members,
    skipped,
    get(name: string): Tensor {
      const e = entry(name);
      try {
        return decodeNpy(memberBytes(zip, e));
      } catch (err) {
        throw src(aboutMember(err, e.name));
      }
    },
    head(name: string, maxBytes: number): NpzMemberHead {
      const e = entry(name);
      try {
        return memberPrefix(zip, e, maxBytes);
      } catch (err) {
        throw src(aboutMember(err, e.name));
      }
    },
    place(name: string): StoredPlace | undefined {
      const e = entry(name);
      if (e.method !== 0 || (e.flags & 1) !== 0 || e.compressedSize !== e.size) return undefined;
      try {
        const entryStart = zip.dataStart(e);
        const header = parseNpyHeader(memberHead(zip, e));
        // A Fortran-order member is decoded whole instead: a session reads a sample of a range only in C order.
        if (header.dataOffset + numel(header.shape) * header.itemSize > e.size || (header.fortranOrder && header.shape.length > 1)) return undefined;
        return { header: { ...header, dataOffset: entryStart + header.dataOffset }, zip, entry: e, entryStart };
      } catch (err) {
        throw src(aboutMember(err, e.name));
      }
    },
    storedBytes(name: string): Uint8Array | undefined {
      const e = entry(name);
      if (e.method !== 0) return undefined;
      try {
        return zip.raw(e);
      } catch (err) {
        throw src(aboutMember(err, e.name));
      }
    },
  };
  return archive;
}

/** Names the member in an error unless the message already does. */
function aboutMember(err: unknown, fileName: string): LensError {
  const le = err instanceof LensError ? err : corrupt(String(err));
  const name = memberLabel(fileName);
  return le.message.includes(`member ${name}`) ? le : new LensError(le.kind, `member ${name}: ${le.message}`);
}

function describeMembers(a: { readonly members: readonly NpzMember[]; readonly skipped?: readonly NpzSkipped[] }): string {
  const usable = a.members.map((m) => `${memberLabel(m.name)} ${fmtShape(m.header.shape)} ${m.header.dtype}`);
  const other = (a.skipped ?? []).map((s) => `${memberLabel(s.name)} (not usable)`);
  return [...usable, ...other].join(', ');
}

export const ROLE_NAMES: Readonly<Record<TensorRole, readonly string[]>> = {
  input: ['logits', 'input', 'inputs', 'pred', 'preds', 'outputs', 'output'],
  target: ['target', 'targets', 'labels', 'label', 'mask', 'gt', 'y'],
  weight: ['weight', 'weights'],
};

const ROLE_ARTICLE: Record<TensorRole, string> = { input: 'an input', target: 'a target', weight: 'a weight' };

/** The member most likely meant for a role, only to make the suggestion in an error concrete. */
function guessMember(a: { readonly members: readonly NpzMember[] }, role: TensorRole): string | undefined {
  const ms = a.members;
  if (ms.length === 0) return undefined;
  if (role === 'input') {
    const floats = ms.filter((m) => isFloatDType(m.header.dtype));
    const pool = floats.length > 0 ? floats : ms;
    return pool.reduce((best, m) => (m.header.shape.length > best.header.shape.length ? m : best)).name;
  }
  if (role === 'target') {
    const ints = ms.filter((m) => !isFloatDType(m.header.dtype));
    return (ints[0] ?? ms[ms.length - 1]).name;
  }
  return (ms.find((m) => m.header.shape.length === 1 && isFloatDType(m.header.dtype)) ?? ms[0]).name;
}

/** Picks the member for a role when the user named none; the error lists what the archive holds. */
export function resolveNpzMember(
  archive: { readonly members: readonly NpzMember[]; readonly skipped?: readonly NpzSkipped[] },
  role: TensorRole,
  source: string,
): string {
  const names = ROLE_NAMES[role];
  const skipped = archive.skipped ?? [];
  const all = [...archive.members.map((m) => m.name), ...skipped.map((s) => s.name)];
  const hits = all.filter((n) => names.includes(n.toLowerCase()));
  if (hits.length === 1) return hits[0];
  const suggestion = hits[0] ?? guessMember(archive, role) ?? all[0];
  const tail = `members: ${describeMembers(archive)} — name one as ${source}:${memberLabel(suggestion)}`;
  if (hits.length > 1) {
    throw new LensError('format', `${source}: several members named like ${ROLE_ARTICLE[role]} (${hits.map(memberLabel).join(', ')}); ${tail}`);
  }
  throw new LensError('format', `${source}: no member named like ${ROLE_ARTICLE[role]} (${names.join(', ')}); ${tail}`);
}

// A fixed timestamp (the zip epoch) keeps archives byte-identical from run to run.
const ZIP_EPOCH = new Date(1980, 0, 1);

/** Zips .npy files into an .npz; names get '.npy' appended unless they already end with it. */
export function writeNpz(members: Record<string, Uint8Array>, opts: { compress?: boolean } = {}): Uint8Array {
  const level = opts.compress === true ? 6 : 0;
  const files: Record<string, [Uint8Array, { level: 0 | 6 }]> = {};
  for (const [name, data] of Object.entries(members)) {
    files[name.endsWith('.npy') ? name : `${name}.npy`] = [data, { level }];
  }
  return zipSync(files, { mtime: ZIP_EPOCH });
}
