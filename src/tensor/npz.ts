// .npz archives (np.savez / np.savez_compressed): a zip of .npy members. The central directory is read here
// rather than through fflate's unzip so that listing an archive touches only each member's first bytes
// (a few hundred inflated bytes for a compressed member) and members are decoded only when asked for.

import { Inflate, inflateSync, zipSync } from 'fflate';
import { LensError, fmtShape, quoteSnippet } from '../errors';
import { crc32 } from './crc32';
import { decodeNpy, npyHeaderEnd, parseNpyHeader, type NpyHeader } from './npy';
import { type Tensor, isFloatDType } from './tensor';

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
}

export type TensorRole = 'input' | 'target' | 'weight';

interface Entry {
  fileName: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function corrupt(what: string): LensError {
  return new LensError('format', `not a valid .npz (zip) archive: ${what}`);
}

/** A member's file name for a message: as is when short and printable, else quoted and cut. */
export function memberLabel(fileName: string): string {
  const printable = [...fileName].every((c) => c.charCodeAt(0) >= 0x20 && c !== '\x7f');
  return fileName.length <= 60 && printable ? fileName : quoteSnippet(fileName);
}

const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/** NumPy (zipfile) raises BadZipFile "Bad CRC-32" here; a silently altered member would give a wrong loss. */
function checkCrc(e: Entry, bytes: Uint8Array): void {
  const computed = crc32(bytes);
  if (computed !== e.crc) {
    throw new LensError(
      'format',
      `member ${memberLabel(e.fileName)}: bad CRC-32 (stored ${hex32(e.crc)}, computed ${hex32(computed)}) — the archive is corrupt; re-save it`,
    );
  }
}

class Reader {
  constructor(private readonly b: Uint8Array) {}
  u16(o: number): number {
    if (o < 0 || o + 2 > this.b.length) throw corrupt('an offset points past the end of the file — truncated?');
    return this.b[o] | (this.b[o + 1] << 8);
  }
  u32(o: number): number {
    return this.u16(o) + this.u16(o + 2) * 65536;
  }
  u64(o: number): number {
    const hi = this.u32(o + 4);
    if (hi >= 2 ** 21) throw corrupt('a 64-bit size or offset is out of range');
    return this.u32(o) + hi * 2 ** 32;
  }
}

function readCentralDirectory(b: Uint8Array): Entry[] {
  const r = new Reader(b);
  if (b.length < 22) throw corrupt(b.length === 0 ? 'the file is empty' : 'too short for a zip file — truncated?');
  // The end record sits in the last 22 bytes plus a comment of at most 64 KiB.
  let eocd = -1;
  for (let o = b.length - 22; o >= Math.max(0, b.length - 22 - 65535); o--) {
    if (b[o] === 0x50 && b[o + 1] === 0x4b && b[o + 2] === 0x05 && b[o + 3] === 0x06) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) {
    const isZip = b[0] === 0x50 && b[1] === 0x4b;
    throw corrupt(isZip ? 'no end-of-central-directory record — truncated?' : 'missing the PK zip signature');
  }
  let count = r.u16(eocd + 10);
  let cdSize = r.u32(eocd + 12);
  let cdOffset = r.u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc >= 0 && r.u32(loc) === 0x07064b50) {
      const z = r.u64(loc + 8);
      if (r.u32(z) !== 0x06064b50) throw corrupt('bad zip64 end record');
      count = r.u64(z + 32);
      cdSize = r.u64(z + 40);
      cdOffset = r.u64(z + 48);
    }
  }
  if (cdOffset + cdSize > b.length) throw corrupt('the central directory lies past the end of the file — truncated?');
  const entries: Entry[] = [];
  let p = cdOffset;
  const end = cdOffset + cdSize;
  const utf8 = new TextDecoder('utf-8');
  for (let i = 0; i < count; i++) {
    if (p + 46 > end || r.u32(p) !== 0x02014b50) throw corrupt('bad central directory entry');
    const flags = r.u16(p + 8);
    const method = r.u16(p + 10);
    const crc = r.u32(p + 16);
    let compressedSize = r.u32(p + 20);
    let size = r.u32(p + 24);
    const nameLen = r.u16(p + 28);
    const extraLen = r.u16(p + 30);
    const commentLen = r.u16(p + 32);
    let localOffset = r.u32(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > end) throw corrupt('bad central directory entry');
    const fileName = utf8.decode(b.subarray(p + 46, p + 46 + nameLen));
    // Zip64 sizes live in extra field 0x0001, in this order, only for the fields that overflowed.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = r.u16(e);
      const len = r.u16(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw corrupt('bad zip64 extra field');
          const v = r.u64(q);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    entries.push({ fileName, method, flags, crc, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function memberData(b: Uint8Array, e: Entry): Uint8Array {
  const r = new Reader(b);
  if (r.u32(e.localOffset) !== 0x04034b50) throw corrupt(`bad local header for ${memberLabel(e.fileName)}`);
  const start = e.localOffset + 30 + r.u16(e.localOffset + 26) + r.u16(e.localOffset + 28);
  if (start + e.compressedSize > b.length) throw corrupt(`member ${memberLabel(e.fileName)} runs past the end of the file — truncated?`);
  return b.subarray(start, start + e.compressedSize);
}

function checkMethod(e: Entry): void {
  if (e.flags & 1) throw new LensError('format', `member ${memberLabel(e.fileName)} is encrypted`);
  if (e.method !== 0 && e.method !== 8) {
    throw new LensError('format', `member ${memberLabel(e.fileName)} uses zip compression method ${e.method}; np.load reads only stored and deflated members`);
  }
}

/** Inflates only as much of a member as its .npy header needs. */
function memberHead(b: Uint8Array, e: Entry): Uint8Array {
  checkMethod(e);
  const comp = memberData(b, e);
  if (e.method === 0) return comp;
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
    for (let off = 0; off < comp.length; off += step) {
      const last = off + step >= comp.length;
      inf.push(comp.subarray(off, off + step), last);
      if (got === 0) continue;
      const head = joined();
      const end = npyHeaderEnd(head);
      if (end !== undefined && head.length >= end) return head;
    }
  } catch (err) {
    if (err instanceof LensError) throw err;
    throw corrupt(`member ${memberLabel(e.fileName)} does not inflate (${err instanceof Error ? err.message : String(err)})`);
  }
  return joined();
}

function memberBytes(b: Uint8Array, e: Entry): Uint8Array {
  checkMethod(e);
  const comp = memberData(b, e);
  if (e.method === 0) {
    if (e.size !== e.compressedSize) throw corrupt(`stored member ${memberLabel(e.fileName)} has mismatched sizes`);
    checkCrc(e, comp);
    return comp;
  }
  // Deflate expands at most about 1032:1; a larger claim is a corrupt directory, not a reason to allocate.
  if (e.size > comp.length * 1100 + 1024) throw corrupt(`member ${memberLabel(e.fileName)} claims an impossible size`);
  let out: Uint8Array;
  try {
    out = inflateSync(comp, { out: new Uint8Array(e.size) });
  } catch (err) {
    throw corrupt(`member ${memberLabel(e.fileName)} does not inflate (${err instanceof Error ? err.message : String(err)})`);
  }
  if (out.length !== e.size) throw corrupt(`member ${memberLabel(e.fileName)} inflates to ${out.length} of ${e.size} bytes`);
  checkCrc(e, out);
  return out;
}

// Compressed bytes per push while inflating a prefix. Deflate expands at most about 1032:1, so the first
// push yields at most about 4 MB whatever the stream holds; later pushes are sized from the ratio seen so
// far, so that the last one overshoots the bytes asked for by little.
const FIRST_STEP = 4 << 10;
const MAX_STEP = 1 << 20;

/** The first `maxBytes` of a member (all of it, CRC-checked, when that is no more than its size). */
function memberPrefix(b: Uint8Array, e: Entry, maxBytes: number): NpzMemberHead {
  if (maxBytes >= e.size) return { bytes: memberBytes(b, e), complete: true };
  checkMethod(e);
  const comp = memberData(b, e);
  const want = Math.max(0, Math.floor(maxBytes));
  if (e.method === 0) {
    if (e.size !== e.compressedSize) throw corrupt(`stored member ${memberLabel(e.fileName)} has mismatched sizes`);
    return { bytes: comp.subarray(0, want), complete: false };
  }
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
    throw corrupt(`member ${memberLabel(e.fileName)} does not inflate (${err instanceof Error ? err.message : String(err)})`);
  }
  if (got < want) throw corrupt(`member ${memberLabel(e.fileName)} inflates to ${got} of ${e.size} bytes`);
  return { bytes: out, complete: false };
}

function stripNpy(fileName: string): string {
  return fileName.endsWith('.npy') ? fileName.slice(0, -4) : fileName;
}

/** Lists an archive's arrays from their headers; get() decodes one member on demand. */
export function readNpz(bytes: Uint8Array, source?: string): NpzArchive {
  const src = (e: LensError): LensError => (source === undefined ? e : e.withSource(source));
  let entries: Entry[];
  try {
    entries = readCentralDirectory(bytes);
  } catch (e) {
    throw src(e instanceof LensError ? e : corrupt(String(e)));
  }
  const members: NpzMember[] = [];
  const skipped: NpzSkipped[] = [];
  // With duplicate names np.load (zipfile) reads the last entry; list each name once, in first order.
  const byName = new Map<string, Entry>();
  for (const e of entries) if (!e.fileName.endsWith('/')) byName.set(stripNpy(e.fileName), e);
  for (const [name, e] of byName) {
    if (!e.fileName.endsWith('.npy')) {
      skipped.push({ name, error: new LensError('format', `member ${memberLabel(e.fileName)} is not a .npy array`) });
      continue;
    }
    try {
      members.push({ name, header: parseNpyHeader(memberHead(bytes, e)), size: e.size, deflated: e.method === 8 });
    } catch (err) {
      skipped.push({ name, error: aboutMember(err, e.fileName) });
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
        return decodeNpy(memberBytes(bytes, e));
      } catch (err) {
        throw src(aboutMember(err, e.fileName));
      }
    },
    head(name: string, maxBytes: number): NpzMemberHead {
      const e = entry(name);
      try {
        return memberPrefix(bytes, e, maxBytes);
      } catch (err) {
        throw src(aboutMember(err, e.fileName));
      }
    },
    storedBytes(name: string): Uint8Array | undefined {
      const e = entry(name);
      if (e.method !== 0) return undefined;
      try {
        return memberData(bytes, e);
      } catch (err) {
        throw src(aboutMember(err, e.fileName));
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
