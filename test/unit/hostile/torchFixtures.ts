// Generators for hostile torch.save files: hand-written pickles in a hand-written zip, so every byte the
// reader sees is chosen here (fflate's zipSync would compress what we want stored and could not hold a
// prebuilt deflate stream). Small files that ask for a lot of work: a huge dict key reused, a member path
// over shared dicts, a deflated storage far larger than its tensor.
import * as zlib from 'node:zlib';
import { crc32 } from '../../../src/tensor/binary/crc32';

const enc = new TextEncoder();
const u16 = (n: number): number[] => [n & 255, (n >>> 8) & 255];
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];

/** Pickle opcodes (protocol 2), as byte arrays to concatenate. */
export const P = {
  proto: [0x80, 2],
  str: (s: string): number[] => {
    const b = [...enc.encode(s)];
    return [0x58, ...u32(b.length), ...b];
  },
  int: (n: number): number[] => [0x4a, ...u32(n >>> 0)],
  global: (m: string, n: string): number[] => [0x63, ...enc.encode(`${m}\n${n}\n`)],
  mark: [0x28],
  tuple: [0x74],
  reduce: [0x52],
  emptyDict: [0x7d],
  setitem: [0x73],
  setitems: [0x75],
  put: (i: number): number[] => [0x72, ...u32(i)],
  get: (i: number): number[] => [0x6a, ...u32(i)],
  pop: [0x30],
  stop: [0x2e],
};

/** _rebuild_tensor_v2 over storage `key` ('storage', FloatStorage, key, 'cpu', numel). */
export function tensorOps(o: { numel: number; size: readonly number[]; key?: string; offset?: number }): number[] {
  const stride: number[] = [];
  for (let d = o.size.length - 1, s = 1; d >= 0; d--) {
    stride[d] = s;
    s *= o.size[d];
  }
  return [
    ...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark,
    ...P.mark, ...P.str('storage'), ...P.global('torch', 'FloatStorage'), ...P.str(o.key ?? '0'), ...P.str('cpu'), ...P.int(o.numel), ...P.tuple,
    0x51,
    ...P.int(o.offset ?? 0),
    ...P.mark, ...o.size.flatMap(P.int), ...P.tuple,
    ...P.mark, ...stride.flatMap(P.int), ...P.tuple,
    0x89, ...P.global('collections', 'OrderedDict'), 0x29, ...P.reduce,
    ...P.tuple, ...P.reduce,
  ];
}

export interface ZipMember {
  readonly name: string;
  /** The bytes as they lie in the archive (already deflated when `deflated`). */
  readonly raw: Uint8Array;
  readonly deflated: boolean;
  /** Uncompressed size and CRC-32 as the directory states them. */
  readonly size: number;
  readonly crc: number;
}

export function stored(name: string, data: Uint8Array): ZipMember {
  return { name, raw: data, deflated: false, size: data.length, crc: crc32(data) };
}

export function deflated(name: string, data: Uint8Array): ZipMember {
  return { name, raw: zlib.deflateRawSync(data, { level: 9 }), deflated: true, size: data.length, crc: crc32(data) };
}

/**
 * A raw deflate stream of `mib` MiB of zeros without ever holding them: one sync-flushed, byte-aligned
 * compressed MiB repeated (its back-references reach only zeros, so every copy decodes the same), then a
 * final empty block. About 1 KB per MiB, the format's limit.
 */
export function zerosBomb(name: string, mib: number): ZipMember {
  const zeros = new Uint8Array(1 << 20);
  const chunk = zlib.deflateRawSync(zeros, { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const tail = zlib.deflateRawSync(new Uint8Array(0));
  const raw = new Uint8Array(chunk.length * mib + tail.length);
  for (let i = 0; i < mib; i++) raw.set(chunk, i * chunk.length);
  raw.set(tail, chunk.length * mib);
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(zeros, crc);
  return { name, raw, deflated: true, size: mib << 20, crc };
}

/** A zip archive (no zip64: sizes under 4 GiB) holding the members in order. */
export function zipOf(members: readonly ZipMember[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: number[] = [];
  let offset = 0;
  for (const m of members) {
    const name = enc.encode(m.name);
    const method = m.deflated ? 8 : 0;
    const local = Uint8Array.from([
      ...u32(0x04034b50), ...u16(20), ...u16(0), ...u16(method), ...u16(0), ...u16(0x21),
      ...u32(m.crc), ...u32(m.raw.length), ...u32(m.size), ...u16(name.length), ...u16(0), ...name,
    ]);
    central.push(
      ...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(0), ...u16(method), ...u16(0), ...u16(0x21),
      ...u32(m.crc), ...u32(m.raw.length), ...u32(m.size), ...u16(name.length), ...u16(0), ...u16(0),
      ...u16(0), ...u16(0), ...u32(0), ...u32(offset), ...name,
    );
    parts.push(local, m.raw);
    offset += local.length + m.raw.length;
  }
  const cd = Uint8Array.from(central);
  const end = Uint8Array.from([
    ...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(members.length), ...u16(members.length),
    ...u32(cd.length), ...u32(offset), ...u16(0),
  ]);
  return Buffer.concat([...parts, cd, end]);
}

/** A torch.save archive around `pkl` (deflated when asked: the hostile pickles are repetitive) and storages. */
export function torchArchive(pkl: readonly number[] | Uint8Array, storages: readonly ZipMember[] = [], deflatePickle = true): Uint8Array {
  const bytes = Uint8Array.from(pkl);
  return zipOf([
    deflatePickle ? deflated('archive/data.pkl', bytes) : stored('archive/data.pkl', bytes),
    ...storages.map((s) => ({ ...s, name: `archive/data/${s.name}` })),
    stored('archive/version', enc.encode('3\n')),
  ]);
}

/** Concatenates opcode arrays and byte blocks (a spread of a 16 MB key would overflow the call stack). */
function bytesOf(parts: ReadonlyArray<readonly number[] | Uint8Array>): Uint8Array {
  return Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));
}

function repeated(ops: readonly number[], times: number): Uint8Array {
  const one = Uint8Array.from(ops);
  const out = new Uint8Array(one.length * times);
  for (let i = 0; i < times; i++) out.set(one, i * one.length);
  return out;
}

/**
 * {'t': tensor, key: 0, key: 0, ...}: one `len`-character string key set `times` times (memoized once, then
 * fetched by LONG_BINGET), so the pickle stays tiny while a naive reader hashes len * times characters.
 */
export function reusedKeyPickle(len: number, times: number): Uint8Array {
  return bytesOf([
    [...P.proto, ...P.emptyDict, ...P.str('t'), ...tensorOps({ numel: 3, size: [1, 3] }), ...P.setitem],
    [0x58, ...u32(len)], new Uint8Array(len).fill(0x6b), [...P.put(0), ...P.pop],
    repeated([...P.get(0), ...P.int(0), ...P.setitem], times),
    P.stop,
  ]);
}

/** The same with a bytes key of `len` bytes, or a tuple key of `len` small integers. */
export function reusedCompoundKeyPickle(kind: 'bytes' | 'tuple', len: number, times: number): Uint8Array {
  const key = kind === 'bytes'
    ? bytesOf([[0x42, ...u32(len)], new Uint8Array(len).fill(0x61)])
    : bytesOf([P.mark, Uint8Array.from(new Array<number>(len).fill(0).flatMap((_, i) => [0x4b, i & 255])), P.tuple]);
  return bytesOf([
    [...P.proto, ...P.emptyDict, ...P.str('t'), ...tensorOps({ numel: 3, size: [1, 3] }), ...P.setitem],
    key, [...P.put(0), ...P.pop],
    repeated([...P.get(0), ...P.int(0), ...P.setitem], times),
    P.stop,
  ]);
}

/**
 * Dicts D_0..D_n where D_k = {'a': D_{k+1}, 'a.a': D_{k+2}} and D_n holds 't': a path of `segs` 'a'
 * segments ending in a name that is nowhere ('zz') has Fibonacci-many ways to split its dots; a resolver
 * that backtracks tries them all.
 */
export function sharedDictsPickle(n: number): number[] {
  const ops: number[] = [...P.proto];
  // Build from the innermost: D_n = {'t': tensor}, memo n; D_k memo k.
  ops.push(...P.emptyDict, ...P.str('t'), ...tensorOps({ numel: 3, size: [1, 3] }), ...P.setitem, ...P.put(n), ...P.pop);
  ops.push(...P.emptyDict, ...P.str('a'), ...P.get(n), ...P.setitem, ...P.put(n - 1), ...P.pop);
  for (let k = n - 2; k >= 0; k--) {
    ops.push(...P.emptyDict, ...P.mark, ...P.str('a'), ...P.get(k + 1), ...P.str('a.a'), ...P.get(k + 2), ...P.setitems, ...P.put(k));
    if (k > 0) ops.push(...P.pop);
  }
  ops.push(...P.stop);
  return ops;
}

/** {'t0': tensor over storage '0', 't1': ...}: `n` [1, 3] float32 tensors whose storages declare `numel` elements. */
export function tensorArchiveWith(n: number, storage: (i: number) => ZipMember, numel = 3): Uint8Array {
  const ops: number[] = [...P.proto, ...P.emptyDict];
  for (let i = 0; i < n; i++) ops.push(...P.str(`t${i}`), ...tensorOps({ numel, size: [1, 3], key: String(i) }), ...P.setitem);
  ops.push(...P.stop);
  return torchArchive(ops, Array.from({ length: n }, (_, i) => storage(i)));
}
