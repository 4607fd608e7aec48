// Fuzzing the binary decoders (.npy, .npz, and the file loader that dispatches to them): random bytes,
// real fixtures mutated (bit flips, overwrites, truncation, splices, grafts from other files, header
// edits), and round trips. The only acceptable outcomes are a well-formed tensor (equal to the known one
// where the input is a valid encoding of it) or a one-line LensError, each case within the kit's time and
// memory bounds. Seeds are fixed: a failure reproduces, and fast-check prints the shrunk counterexample.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeTensorFile } from '../../../../src/tensor/load';
import { decodeNpy, encodeNpy, parseNpyHeader } from '../../../../src/tensor/binary/npy';
import { readNpz, writeNpz } from '../../../../src/tensor/binary/npz';
import { DTYPES, type DType, type Tensor } from '../../../../src/tensor/tensor';
import { applyEdits, assertSameTensor, awkwardString, byteEdit, checkTensor, fixtures, total } from '../fuzzKit';

const npyFiles = fixtures('npy');
const npzFiles = fixtures('npz');
const allFiles = [...npyFiles, ...npzFiles];

// Storage per input byte: float16 is stored as float32 (x2); deflate expands at most about 1032:1.
const NPY_GROWTH = 2;
const NPZ_GROWTH = 2 * 1100;

function npy(bytes: Uint8Array): void {
  total(() => parseNpyHeader(bytes));
  checkTensor(total(() => decodeNpy(bytes)), bytes.length, NPY_GROWTH);
}

function npz(bytes: Uint8Array): void {
  const a = total(() => readNpz(bytes));
  if (a === undefined) return;
  for (const m of a.members) checkTensor(total(() => a.get(m.name)), bytes.length, NPZ_GROWTH);
  for (const s of a.skipped) total(() => a.get(s.name));
  total(() => a.get('no such member'));
}

function loaded(bytes: Uint8Array, names: readonly string[]): void {
  for (const name of names) {
    for (const role of ['input', 'target', 'weight'] as const) checkTensor(total(() => decodeTensorFile(name, bytes, role)), bytes.length, NPZ_GROWTH);
  }
}

/** Deterministic values of a dtype from a seed, exactly representable in it. */
function valuesOf(dtype: DType, n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const r = Math.abs(Math.sin(seed + i * 12.9898)) * 100;
    if (dtype === 'bool') return r > 50 ? 1 : 0;
    if (dtype.startsWith('float')) return dtype === 'float16' ? Math.round(r * 8) / 8 - 6 : r - 50;
    if (dtype.startsWith('uint') || dtype === 'int8') return Math.floor(r);
    return Math.floor(r) - 50;
  });
}

const tensorSpec = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  seed: fc.integer(),
});

function expected(spec: { dtype: DType; shape: number[]; seed: number }): Tensor {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const data = valuesOf(spec.dtype, n, spec.seed);
  return { dtype: spec.dtype, shape: spec.shape, data: spec.dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data) };
}

describe('fuzz: binary decoders', function () {
  this.timeout(30000);

  it('random bytes, with and without a .npy magic, under every file name', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, magic) => {
        const b = bytes.slice();
        if (magic && b.length >= 8) b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1 + (b[6] % 3), 0]);
        npy(b);
        npz(b);
        loaded(b, ['x.npy', 'x.npz', 'x.json', 'x.txt', 'x']);
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('every truncation of every .npy fixture fails', () => {
    for (const { name, bytes } of npyFiles) {
      // Every cut inside the header and the first data bytes, then every fifth (the data cuts all fail alike).
      const lengths = Array.from({ length: bytes.length }, (_, i) => i).filter((i) => i < 160 || i % 5 === 0 || bytes.length - i < 4);
      for (const n of lengths) {
        const t = total(() => decodeNpy(bytes.subarray(0, n)));
        assert.equal(t, undefined, `${name} cut at ${n} must fail`);
      }
    }
  });

  it('every truncation of the small .npz fixtures, evenly spaced ones of the rest', () => {
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

  it('fixtures mutated: flips, overwrites, truncation, splices and grafts from other fixtures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: allFiles.length - 1 }), fc.array(byteEdit, { minLength: 1, maxLength: 6 }), (i, edits) => {
        const f = allFiles[i];
        const b = applyEdits(f.bytes, edits, allFiles);
        npy(b);
        npz(b);
        loaded(b, [f.name, 'x.bin']);
      }),
      { numRuns: 1000, seed: 11 },
    );
  });

  it('.npy headers mutated in their first 128 bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: npyFiles.length - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (i, edits) => {
          const b = npyFiles[i].bytes.slice();
          for (const [pos, v] of edits) if (pos < b.length) b[pos] = v;
          npy(b);
        },
      ),
      { numRuns: 1500, seed: 2 },
    );
  });

  it('.npy header text rewritten with random printable characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: npyFiles.length - 1 }), fc.integer({ min: 10, max: 127 }), fc.string({ minLength: 1, maxLength: 8 }), (i, pos, s) => {
        const b = npyFiles[i].bytes.slice();
        const enc = new TextEncoder().encode(s);
        b.set(enc.subarray(0, Math.max(0, b.length - pos)), pos);
        npy(b);
      }),
      { numRuns: 400, seed: 3 },
    );
  });

  it('.npy header fields replaced by hostile values, with the length field fixed or stale', () => {
    const descrs = ["'<f4'", "'>f8'", "'|b1'", "'<i8'", "'<U5'", "'|O'", "'<c8'", "'<f16'", "'<M8[s]'", "'f4'", "'<f4 '", "'\\x00'", "'x'", "''", '"<f4"', "b'<f4'",
      "[('a', '<f4')]", "('<f4', (2,))", '1', 'None', 'True', "'" + 'x'.repeat(60000) + "'", "'<f4' '<f4'"];
    const shapes = ['()', '(0,)', '(3,)', '(2, 3)', '(2,3,)', '(9999999999,)', '(9007199254740993,)', '(-1,)', '(1.0,)', '(True,)', '(0, 9999999999999)', '[2, 3]', '2',
      '(' + '1, '.repeat(70) + ')', '(1,' + ' '.repeat(5000) + ')', '(1' + ', (1'.repeat(200) + ')'.repeat(201), "('3',)", '(0x10,)', '(1_000,)', '(2**40,)'];
    const orders = ['True', 'False', '1', '0', 'None', "'False'", 'false', 'Tru'];
    const field = fc.oneof(
      fc.record({ key: fc.constant('descr'), value: fc.constantFrom(...descrs) }),
      fc.record({ key: fc.constant('shape'), value: fc.constantFrom(...shapes) }),
      fc.record({ key: fc.constant('fortran_order'), value: fc.constantFrom(...orders) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: npyFiles.length - 1 }), fc.array(field, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.boolean(), (i, fields, fixLength, extraKey) => {
        const b = npyFiles[i].bytes;
        if (b[6] !== 1) return; // version 1.0 headers only: the length field is 2 bytes
        const len = b[8] | (b[9] << 8);
        let text = new TextDecoder('latin1').decode(b.subarray(10, 10 + len));
        for (const { key, value } of fields) {
          const re = key === 'shape' ? /'shape': \([^)]*\)/ : new RegExp(`'${key}': [^,]*`);
          text = text.replace(re, `'${key}': ${value}`);
        }
        if (extraKey) text = text.replace('{', "{'extra': 1, ");
        const header = new Uint8Array([...text].map((c) => c.charCodeAt(0) & 0xff));
        const data = b.subarray(10 + len);
        const out = new Uint8Array(10 + header.length + data.length);
        out.set(b.subarray(0, 10));
        const newLen = fixLength ? header.length : len;
        out[8] = newLen & 0xff;
        out[9] = (newLen >> 8) & 0xff;
        out.set(header, 10);
        out.set(data, 10 + header.length);
        npy(out);
        loaded(out, ['x.npy']);
      }),
      { numRuns: 600, seed: 12 },
    );
  });

  it('random mutations anywhere in small .npz archives', () => {
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
      { numRuns: 800, seed: 4 },
    );
  });

  it('encodeNpy -> decodeNpy (and the file loader) round-trip random tensors in every layout', () => {
    fc.assert(
      fc.property(tensorSpec, fc.boolean(), fc.boolean(), fc.constantFrom('1.0' as const, '2.0' as const, '3.0' as const), (spec, fortranOrder, bigEndian, version) => {
        const want = expected(spec);
        const bytes = encodeNpy({ dtype: spec.dtype, shape: spec.shape, data: want.data }, { fortranOrder, bigEndian, version });
        assertSameTensor(decodeNpy(bytes), want);
        assertSameTensor(decodeTensorFile('t.npy', bytes, 'input'), want);
        assertSameTensor(decodeTensorFile('no-extension', bytes, 'target'), want);
      }),
      { numRuns: 400, seed: 5 },
    );
  });

  it('writeNpz -> readNpz round-trips members, stored and deflated, and the loader picks them by role', () => {
    fc.assert(
      fc.property(fc.array(tensorSpec, { minLength: 1, maxLength: 3 }), fc.boolean(), (specs, compress) => {
        const names = ['logits', 'labels', 'weight'];
        const wants = specs.map(expected);
        const members: Record<string, Uint8Array> = {};
        wants.forEach((t, k) => (members[`${names[k]}.npy`] = encodeNpy(t)));
        const bytes = writeNpz(members, { compress });
        const a = readNpz(bytes);
        assert.deepEqual(a.members.map((m) => m.name), names.slice(0, wants.length));
        wants.forEach((t, k) => assertSameTensor(a.get(names[k]), t, names[k]));
        assertSameTensor(decodeTensorFile('a.npz', bytes, 'input'), wants[0]);
        if (wants.length > 1) assertSameTensor(decodeTensorFile('a.npz', bytes, 'target'), wants[1]);
        assertSameTensor(decodeTensorFile('a.npz', bytes, 'input', names[wants.length - 1]), wants[wants.length - 1]);
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  it('archives with hostile member names (long, unicode, role-like, duplicates) list and fail in one short line', () => {
    fc.assert(
      fc.property(fc.array(awkwardString, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.string({ maxLength: 3000 }), (names, compress, asked) => {
        const members: Record<string, Uint8Array> = {};
        names.forEach((n, k) => (members[n === '' ? `m${k}` : n] = encodeNpy({ dtype: 'float32', shape: [2], data: [k, 0.5] })));
        const bytes = writeNpz(members, { compress });
        npz(bytes);
        for (const role of ['input', 'target', 'weight'] as const) {
          checkTensor(total(() => decodeTensorFile('a.npz', bytes, role)), bytes.length, NPZ_GROWTH);
          checkTensor(total(() => decodeTensorFile('a.npz', bytes, role, asked)), bytes.length, NPZ_GROWTH);
        }
      }),
      { numRuns: 80, seed: 14 },
    );
  });
});
