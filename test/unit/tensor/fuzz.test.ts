// Robustness: on any input every decoder returns a well-formed Tensor or throws a one-line LensError;
// nothing else escapes and nothing hangs (mocha's timeout catches a hang). Runs are bounded so the whole
// file stays within a few seconds.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { LensError } from '../../../src/errors';
import { decodeTensorFile } from '../../../src/tensor/load';
import { decodeNpy, encodeNpy, parseNpyHeader } from '../../../src/tensor/npy';
import { readNpz } from '../../../src/tensor/npz';
import { parseJsonDocument, parseJsonTensorFile } from '../../../src/tensor/json';
import { findTensorLiterals, parsePrintedTensor } from '../../../src/tensor/printed';
import { DTYPES, type Tensor } from '../../../src/tensor/tensor';
import { FIXTURES, assertWellFormed } from './helpers';

function total<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof LensError)) throw e;
    assert.ok(!/[\r\n]/.test(e.message), 'one-line message');
    assert.ok(e.message.length > 0);
    return undefined;
  }
}

function checkTensor(t: Tensor | undefined): void {
  if (t !== undefined) assertWellFormed(t);
}

function npz(bytes: Uint8Array): void {
  const a = total(() => readNpz(bytes));
  if (a === undefined) return;
  for (const m of a.members) checkTensor(total(() => a.get(m.name)));
  for (const s of a.skipped) total(() => a.get(s.name));
}

const read = (dir: string) =>
  fs
    .readdirSync(path.join(FIXTURES, dir))
    .filter((f) => f.endsWith('.' + dir))
    .map((f) => ({ name: f, bytes: new Uint8Array(fs.readFileSync(path.join(FIXTURES, dir, f))) }));
const npyFiles = read('npy');
const npzFiles = read('npz');

describe('fuzz: binary decoders', function () {
  this.timeout(20000);

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, magic) => {
        const b = bytes.slice();
        if (magic && b.length >= 8) b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1 + (b[6] % 3), 0]);
        total(() => parseNpyHeader(b));
        checkTensor(total(() => decodeNpy(b)));
        npz(b);
        for (const name of ['x.npy', 'x.npz', 'x.json', 'x.txt', 'x']) checkTensor(total(() => decodeTensorFile(name, b, 'input')));
      }),
      { numRuns: 1000, seed: 1 },
    );
  });

  it('every truncation of every .npy fixture', () => {
    for (const { name, bytes } of npyFiles) {
      const lengths = bytes.length <= 700 ? Array.from({ length: bytes.length }, (_, i) => i) : Array.from({ length: 120 }, (_, i) => Math.floor((i * bytes.length) / 120));
      for (const n of lengths) {
        const cut = bytes.subarray(0, n);
        const t = total(() => decodeNpy(cut));
        assert.equal(t, undefined, `${name} cut at ${n} must fail`);
      }
    }
  });

  it('every truncation of the small .npz fixtures, random ones of the rest', () => {
    for (const { name, bytes } of npzFiles) {
      const lengths = bytes.length <= 1100 ? Array.from({ length: bytes.length }, (_, i) => i) : Array.from({ length: 40 }, (_, i) => Math.floor((i * bytes.length) / 40));
      for (const n of lengths) {
        try {
          npz(bytes.subarray(0, n));
        } catch (e) {
          assert.fail(`${name} cut at ${n}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  });

  it('random mutations of .npy headers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: npyFiles.length - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (i, edits) => {
          const b = npyFiles[i].bytes.slice();
          for (const [pos, v] of edits) if (pos < b.length) b[pos] = v;
          total(() => parseNpyHeader(b));
          checkTensor(total(() => decodeNpy(b)));
        },
      ),
      { numRuns: 4000, seed: 2 },
    );
  });

  it('header text rewritten with random printable characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: npyFiles.length - 1 }), fc.integer({ min: 10, max: 127 }), fc.string({ minLength: 1, maxLength: 8 }), (i, pos, s) => {
        const b = npyFiles[i].bytes.slice();
        const enc = new TextEncoder().encode(s);
        b.set(enc.subarray(0, Math.max(0, b.length - pos)), pos);
        checkTensor(total(() => decodeNpy(b)));
      }),
      { numRuns: 800, seed: 3 },
    );
  });

  it('random mutations anywhere in .npz archives', () => {
    const small = npzFiles.filter((f) => f.bytes.length < 2000);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: small.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (i, edits) => {
          const b = small[i].bytes.slice();
          for (const [pos, v] of edits) b[pos % b.length] = v;
          npz(b);
        },
      ),
      { numRuns: 2000, seed: 4 },
    );
  });

  it('encodeNpy -> decodeNpy round-trips random tensors', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DTYPES),
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('1.0' as const, '2.0' as const, '3.0' as const),
        fc.integer(),
        (dtype, shape, fortranOrder, bigEndian, version, seed) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const data = Array.from({ length: n }, (_, i) => {
            const r = Math.abs(Math.sin(seed + i * 12.9898)) * 100;
            if (dtype === 'bool') return r > 50 ? 1 : 0;
            if (dtype.startsWith('float')) return dtype === 'float16' ? Math.round(r * 8) / 8 : r - 50;
            if (dtype.startsWith('uint') || dtype === 'int8') return Math.floor(r);
            return Math.floor(r) - 50;
          });
          const t = decodeNpy(encodeNpy({ dtype, shape, data }, { fortranOrder, bigEndian, version }));
          assert.deepEqual(t.shape, shape);
          assert.equal(t.dtype, dtype);
          assert.deepEqual([...t.data], dtype === 'float32' ? data.map(Math.fround) : data);
        },
      ),
      { numRuns: 500, seed: 5 },
    );
  });
});

const jsonTokens = ['[', ']', ',', ' ', '\n', '1', '-2.5e3', '0', '1.', '.5', 'e5', 'NaN', 'Infinity', '-Infinity', 'true', 'false', 'null', '"s"', '"', '\\', '{', '}', ':', '"logits"', '"labels"', '"dtype"', '"float32"', '"shape"', '"data"', '-', '1e999', '123456789012345678901'];
const printedTokens = ['tensor(', 'array(', 'np.array(', 'torch.tensor(', '[', ']', '(', ')', ',', ' ', '\n', '1', '-0.5', '1e-3', '2.', 'nan', '-inf', '...', 'True', 'False', 'dtype=torch.float16', 'dtype=float32', 'dtype=torch.int8', "device='cuda:0'", 'grad_fn=<AddBackward0>', 'size=(0, 3)', 'shape=(2,)', 'x', '"', "'", '#', 'j', '=', '300', '3000000000'];
const soup = (tokens: string[]) => fc.array(fc.constantFrom(...tokens), { maxLength: 40 }).map((a) => a.join(''));

describe('fuzz: text parsers', function () {
  this.timeout(20000);

  it('JSON: random strings and token soup', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), soup(jsonTokens)), (text) => {
        const r = total(() => parseJsonTensorFile(text, 'f.json'));
        if (r !== undefined) for (const t of [r.input, r.target, r.weight, r.tensor]) checkTensor(t);
      }),
      { numRuns: 6000, seed: 6 },
    );
  });

  it('JSON: agrees with JSON.parse on valid JSON', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        const ours = parseJsonDocument(text).value;
        assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(text));
        const r = total(() => parseJsonTensorFile(text, 'f.json'));
        if (r !== undefined) for (const t of [r.input, r.target, r.weight, r.tensor]) checkTensor(t);
      }),
      { numRuns: 1500, seed: 7 },
    );
  });

  it('JSON: nested numeric lists round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.double({ noDefaultInfinity: true, noNaN: true }), { minLength: 64, maxLength: 64 }),
        (shape, pool) => {
          let k = 0;
          const build = (d: number): unknown => (d === shape.length ? pool[k++ % pool.length] : Array.from({ length: shape[d] }, () => build(d + 1)));
          const value = build(0);
          const t = parseJsonTensorFile(JSON.stringify(value), 'f.json').tensor;
          assert.ok(t !== undefined);
          assert.deepEqual(t.shape, shape);
          const flat = (JSON.stringify(value).match(/-?[\d.e+-]+/g) ?? []).map(Number);
          assert.deepEqual([...t.data], flat);
        },
      ),
      { numRuns: 300, seed: 8 },
    );
  });

  it('printed: random strings and token soup', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), soup(printedTokens)), (text) => {
        checkTensor(total(() => parsePrintedTensor(text, 'sel')));
        const found = findTensorLiterals(text);
        let last = 0;
        for (const f of found) {
          assert.ok(f.start >= last && f.end > f.start && f.end <= text.length, 'ordered, non-overlapping spans');
          last = f.end;
          if ('tensor' in f) assertWellFormed(f.tensor);
          else assert.ok(f.error instanceof LensError && !/[\r\n]/.test(f.error.message));
        }
        checkTensor(total(() => decodeTensorFile('sel.txt', new TextEncoder().encode(text), 'input')));
      }),
      { numRuns: 6000, seed: 9 },
    );
  });

  it('printed: integer lists round-trip with commas, without, and as torch reprs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 27, maxLength: 27 }), (shape, pool) => {
        let k = 0;
        const build = (d: number): unknown => (d === shape.length ? pool[k++] : Array.from({ length: shape[d] }, () => build(d + 1)));
        const json = JSON.stringify(build(0));
        const values = pool.slice(0, k);
        for (const text of [json, json.replace(/,/g, ' '), json.replace(/\],\[/g, '],\n [').replace(/,/g, ', '), `tensor(${json})`, `array(${json}, dtype=int32)`]) {
          const t = parsePrintedTensor(text);
          assert.deepEqual(t.shape, shape, text);
          assert.deepEqual([...t.data], values, text);
        }
      }),
      { numRuns: 300, seed: 10 },
    );
  });
});

describe('fuzz: pathological inputs finish quickly', function () {
  this.timeout(10000);
  const texts: [string, string][] = [
    ['100k open brackets', '['.repeat(100000)],
    ['100k open calls', 'tensor(['.repeat(20000)],
    ['50k broken bare lists', '[1 x]\n'.repeat(50000)],
    ['50k summarized lists', 'a = [1 ... 2]\n'.repeat(50000)],
    ['50k tiny tensors', 'tensor([1])'.repeat(50000)],
    ['deep then long', '[1 '.repeat(60) + '1 '.repeat(200000)],
    ['closers only', ')]'.repeat(100000)],
  ];
  for (const [name, text] of texts) {
    it(name, () => {
      const t0 = performance.now();
      const found = findTensorLiterals(text);
      total(() => parsePrintedTensor(text));
      total(() => parseJsonTensorFile(text, 'x.json'));
      const ms = performance.now() - t0;
      assert.ok(ms < 3000, `${ms.toFixed(0)} ms`);
      for (const f of found) if ('tensor' in f) assertWellFormed(f.tensor);
    });
  }
});
