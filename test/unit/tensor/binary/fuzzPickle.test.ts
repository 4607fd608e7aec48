// Fuzzing the restricted pickle reader and the torch.save loader around it: the data.pkl of every torch
// fixture mutated at the byte level and at the opcode level (opcodes inserted, repeated, swapped, lengths
// and memo indices rewritten), and pickles generated from a grammar of the opcodes torch.save writes,
// including keys reused through the memo and containers shared between parents. The only acceptable outcomes
// are a listing whose tensors decode or fail in one line, or one line LensError, each case within the kit's
// time and memory bounds. Seeds are fixed.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { unpickle, PyGlobal } from '../../../../src/tensor/binary/pickle';
import { readTorchSave } from '../../../../src/tensor/binary/torchSave';
import { ZipReader } from '../../../../src/tensor/binary/zip';
import { P, stored, tensorOps, torchArchive } from '../../hostile/torchFixtures';
import { applyEdits, byteEdit, checkTensor, total } from '../fuzzKit';
import { FIXTURES } from '../helpers';

interface TorchFixture {
  readonly name: string;
  readonly pkl: Uint8Array;
  readonly storages: ReturnType<typeof stored>[];
}

/** Each zip-format torch fixture taken apart into its pickle and stored storages, to put back together mutated. */
function torchFixtures(): TorchFixture[] {
  const dir = path.join(FIXTURES, 'torch');
  const out: TorchFixture[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => /\.(pt|pth|bin)$/.test(f)).sort()) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, name)));
    let zip: ZipReader;
    try {
      zip = new ZipReader(bytes, 'torch');
    } catch {
      continue; // the legacy-format fixture
    }
    const pklEntry = zip.entries.find((e) => e.name.endsWith('/data.pkl'));
    if (pklEntry === undefined) continue;
    const prefix = pklEntry.name.slice(0, -'data.pkl'.length);
    const storages = zip.entries
      .filter((e) => e.name.startsWith(`${prefix}data/`))
      .map((e) => stored(e.name.slice(`${prefix}data/`.length), zip.read(e).slice()));
    out.push({ name, pkl: zip.read(pklEntry).slice(), storages });
  }
  return out;
}

const fixtures = torchFixtures();

// A tensor holds at most what its storages hold, twice for float16 and bfloat16 (widened to float32), plus
// broadcast views, which the loader caps at 256 MB: the kit's memory bound covers that.
function load(bytes: Uint8Array): void {
  const f = total(() => readTorchSave(bytes, 'x.pt'));
  if (f === undefined) return;
  f.tensors.slice(0, 16).forEach((t, i) => {
    checkTensor(total(() => f.tensorAt(i)), Math.max(bytes.length, numelBytes(t.shape)), 8);
    total(() => f.get(t.name));
  });
  total(() => f.get('no.such.member'));
}

function numelBytes(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1) * 8;
}

// Opcodes worth inserting: containers, memo traffic, marks, strings and the calls torch.save uses.
const OPS: readonly (readonly number[])[] = [
  P.emptyDict, [0x5d], [0x29], P.mark, P.tuple, [0x64], [0x6c], P.setitem, P.setitems, [0x61], [0x65], P.pop, [0x31], [0x32],
  [0x85], [0x86], [0x87], [0x88], [0x89], [0x4e], P.reduce, [0x51], [0x62], [0x94], P.stop,
  P.put(0), P.put(1), P.get(0), P.get(1), [0x71, 0], [0x68, 0], [0x68, 255], [0x6a, 255, 255, 255, 255],
  P.str('k'), P.str(''), P.str('storage'), P.int(0), P.int(-1), P.int(0x7fffffff), [0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80],
  P.global('torch._utils', '_rebuild_tensor_v2'), P.global('collections', 'OrderedDict'), P.global('torch', 'FloatStorage'),
  P.global('builtins', 'eval'), [0x93], [0x42, 4, 0, 0, 0, 1, 2, 3, 4], [0x58, 0xff, 0xff, 0xff, 0x7f],
];

type OpEdit =
  | { readonly op: 'insert'; readonly at: number; readonly which: number; readonly times: number }
  | { readonly op: 'repeat'; readonly at: number; readonly length: number; readonly times: number }
  | { readonly op: 'swap'; readonly a: number; readonly b: number; readonly length: number };

const opEdit: fc.Arbitrary<OpEdit> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), which: fc.nat(OPS.length - 1), times: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }), times: fc.integer({ min: 2, max: 2000 }) }),
  fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
);

function applyOpEdits(pkl: Uint8Array, edits: readonly OpEdit[]): Uint8Array {
  let b = Array.from(pkl);
  for (const e of edits) {
    const n = Math.max(1, b.length);
    if (e.op === 'insert') {
      const add = new Array<number[]>(e.times).fill([...OPS[e.which]]).flat();
      b.splice(e.at % n, 0, ...add);
    } else if (e.op === 'repeat') {
      const at = e.at % n;
      const seg = b.slice(at, at + e.length);
      const add: number[] = [];
      for (let i = 0; i < e.times && add.length < 50_000; i++) add.push(...seg);
      b.splice(at, 0, ...add);
    } else {
      const a = e.a % n;
      const c = e.b % n;
      const x = b.slice(a, a + e.length);
      const y = b.slice(c, c + e.length);
      b.splice(a, x.length, ...y);
      b.splice(c, y.length, ...x);
    }
    if (b.length > 200_000) b = b.slice(0, 200_000);
  }
  return Uint8Array.from(b);
}

// ---------------------------------------------------------------------------------------------------------
// A grammar of well-formed pickles: nested dicts, lists and tuples of tensors and scalars, with keys and
// containers fetched again from the memo (the sharing a hostile file uses).

interface Gen {
  ops: number[];
  memo: number;
}

type Node = { k: 'tensor'; numel: number; size: number[] } | { k: 'int'; v: number } | { k: 'str'; v: string } | { k: 'dict'; items: [Node, Node][] } | { k: 'list'; items: Node[] } | { k: 'tuple'; items: Node[] } | { k: 'again'; back: number };

const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ k: fc.constant('tensor' as const), numel: fc.integer({ min: 0, max: 64 }), size: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }) }),
  fc.record({ k: fc.constant('int' as const), v: fc.integer() }),
  fc.record({ k: fc.constant('str' as const), v: fc.string({ maxLength: 12 }) }),
  fc.record({ k: fc.constant('again' as const), back: fc.nat(50) }),
);
const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ k: fc.constant('dict' as const), items: fc.array(fc.tuple(fc.oneof(leaf, tie('node')), tie('node')), { maxLength: 5 }) }),
    fc.record({ k: fc.constant('list' as const), items: fc.array(tie('node'), { maxLength: 5 }) }),
    fc.record({ k: fc.constant('tuple' as const), items: fc.array(tie('node'), { maxLength: 5 }) }),
  ),
})).node;

function emit(g: Gen, n: Node): void {
  switch (n.k) {
    case 'tensor':
      g.ops.push(...tensorOps({ numel: n.numel, size: n.size }));
      break;
    case 'int':
      g.ops.push(...P.int(n.v));
      break;
    case 'str':
      g.ops.push(...P.str(n.v));
      break;
    case 'again':
      // A memo entry fetched again (or a refused get of one never stored).
      g.ops.push(...P.get(g.memo === 0 ? n.back : n.back % g.memo));
      return;
    case 'dict':
      g.ops.push(...P.emptyDict, ...P.mark);
      for (const [k, v] of n.items) {
        emit(g, k);
        emit(g, v);
      }
      g.ops.push(...P.setitems);
      break;
    case 'list':
      g.ops.push(0x5d, ...P.mark);
      for (const v of n.items) emit(g, v);
      g.ops.push(0x65);
      break;
    case 'tuple':
      g.ops.push(...P.mark);
      for (const v of n.items) emit(g, v);
      g.ops.push(...P.tuple);
      break;
  }
  g.ops.push(...P.put(g.memo++));
}

function generated(root: Node): Uint8Array {
  const g: Gen = { ops: [...P.proto], memo: 0 };
  emit(g, root);
  g.ops.push(...P.stop);
  return Uint8Array.from(g.ops);
}

const storage0 = stored('0', new Uint8Array(64 * 4).map((_, i) => (i * 37) & 255));

describe('fuzz: torch.save pickles', function () {
  this.timeout(60000);

  it('has the zip-format torch fixtures to mutate', () => {
    assert.ok(fixtures.length >= 10, `${fixtures.length} fixtures`);
    for (const f of fixtures) load(torchArchive(f.pkl, f.storages, false));
  });

  it('data.pkl mutated byte by byte (flips, overwrites, truncation, splices)', () => {
    fc.assert(
      fc.property(fc.nat(fixtures.length - 1), fc.array(byteEdit, { minLength: 1, maxLength: 6 }), fc.boolean(), (i, edits, deflate) => {
        const f = fixtures[i];
        load(torchArchive(applyEdits(f.pkl, edits), f.storages, deflate));
      }),
      { numRuns: 600, seed: 21 },
    );
  });

  it('data.pkl mutated opcode-wise: inserted, repeated (up to 2,000 times) and swapped runs', () => {
    fc.assert(
      fc.property(fc.nat(fixtures.length - 1), fc.array(opEdit, { minLength: 1, maxLength: 4 }), (i, edits) => {
        const f = fixtures[i];
        load(torchArchive(applyOpEdits(f.pkl, edits), f.storages, true));
      }),
      { numRuns: 600, seed: 22 },
    );
  });

  it('generated pickles of nested, shared and memo-reused containers and keys', () => {
    fc.assert(
      fc.property(node, (root) => {
        load(torchArchive(generated(root), [storage0], true));
      }),
      { numRuns: 800, seed: 23 },
    );
  });

  it('raw unpickle of random opcode soup never escapes as anything but a one-line LensError', () => {
    const findGlobal = (m: string, n: string): PyGlobal | undefined => (m === 'collections' && n === 'OrderedDict' ? new PyGlobal(m, n, () => null) : undefined);
    fc.assert(
      fc.property(fc.array(fc.nat(OPS.length - 1), { maxLength: 200 }), (seq) => {
        const bytes = Uint8Array.from([...P.proto, ...seq.flatMap((k) => [...OPS[k]]), ...P.stop]);
        total(() => unpickle(bytes, { findGlobal }));
      }),
      { numRuns: 1500, seed: 24 },
    );
  });
});
