import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpy, encodeNpy, parseNpyHeader } from '../../../../src/tensor/binary/npy';
import { type DType, DTYPES } from '../../../../src/tensor/tensor';
import { type Expected, assertValues, assertWellFormed, fixture, fixtureJson, hasNumpy, lensError, python } from '../helpers';

interface ValidFixture {
  file: string;
  descr: string;
  dtype: DType;
  shape: number[];
  fortran: boolean;
  version: '1.0' | '2.0' | '3.0';
  values: Expected[];
}
interface InvalidFixture {
  file: string;
  kind: 'dtype' | 'format';
  contains: string;
}

const manifest = fixtureJson<{ valid: ValidFixture[]; invalid: InvalidFixture[] }>('npy', 'manifest.json');

/** A .npy file with a hand-written header (padded like NumPy's). */
function npyWithHeader(dict: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const body = new TextEncoder().encode(dict);
  const total = body.length + 1 + (64 - ((pre + body.length + 1) % 64));
  const out = new Uint8Array(pre + total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, total, true);
  else dv.setUint32(8, total, true);
  out.set(body, pre);
  out.fill(0x20, pre + body.length, pre + total - 1);
  out[pre + total - 1] = 0x0a;
  out.set(data, pre + total);
  return out;
}

describe('npy: fixtures written by NumPy', () => {
  it('covers every dtype, byte order, memory order, 0-d, empty and format version', () => {
    const seen = new Set(manifest.valid.map((f) => f.dtype));
    assert.deepEqual([...seen].sort(), [...DTYPES].sort());
    assert.ok(manifest.valid.some((f) => f.descr.startsWith('>')));
    assert.ok(manifest.valid.some((f) => f.fortran));
    assert.ok(manifest.valid.some((f) => f.shape.length === 0));
    assert.ok(manifest.valid.some((f) => f.shape.includes(0)));
    for (const v of ['1.0', '2.0', '3.0']) assert.ok(manifest.valid.some((f) => f.version === v), v);
  });

  for (const f of manifest.valid) {
    it(`decodes ${f.file} (${f.descr}, ${JSON.stringify(f.shape)}${f.fortran ? ', Fortran order' : ''}, v${f.version})`, () => {
      const bytes = fixture('npy', f.file);
      const h = parseNpyHeader(bytes);
      assert.equal(h.descr, f.descr);
      assert.equal(h.dtype, f.dtype);
      assert.deepEqual(h.shape, f.shape);
      assert.equal(h.fortranOrder, f.fortran);
      assert.equal(h.version, f.version);
      assert.equal(h.littleEndian, !f.descr.startsWith('>'));
      assert.equal(h.dataOffset % 64, 0, 'NumPy aligns data to 64 bytes');
      const t = decodeNpy(bytes);
      assert.equal(t.dtype, f.dtype);
      assert.deepEqual(t.shape, f.shape);
      assertWellFormed(t);
      assertValues(t, f.values, f.file);
      // As Node reads it: a Buffer that may be a view into the shared pool at an odd offset.
      Buffer.allocUnsafe(3);
      const pooled = fs.readFileSync(path.resolve(__dirname, '../../../fixtures/tensor/npy', f.file));
      assertValues(decodeNpy(pooled), f.values, `${f.file} from a pooled Buffer at offset ${pooled.byteOffset}`);
    });
  }

  for (const f of manifest.invalid) {
    it(`rejects ${f.file} with a ${f.kind} error mentioning "${f.contains}"`, () => {
      const e = lensError(() => decodeNpy(fixture('npy', f.file)), f.kind);
      assert.ok(e.message.includes(f.contains), e.message);
    });
  }

  it('suggests a fix for unsupported dtypes', () => {
    assert.match(lensError(() => decodeNpy(fixture('npy', 'c16.npy'))).message, /complex128.*arr\.real\.astype\(np\.float32\)/);
    assert.match(lensError(() => decodeNpy(fixture('npy', 'object.npy'))).message, /object.*arr\.astype\(np\.float32\)/);
    assert.match(lensError(() => decodeNpy(fixture('npy', 'datetime.npy'))).message, /datetime64.*astype\(np\.int64\)/);
    assert.match(lensError(() => decodeNpy(fixture('npy', 'structured.npy'))).message, /structured \(fields "x", "y"\).*arr\["x"\]/);
  });

  it('reads the header from the first bytes of a file', () => {
    const bytes = fixture('npy', 'f4_le_f_2x3x4.npy');
    const h = parseNpyHeader(bytes.subarray(0, 128));
    assert.deepEqual(h.shape, [2, 3, 4]);
    assert.equal(h.dataOffset, 128);
  });
});

describe('npy: header parsing', () => {
  it('accepts keys in any order, odd spacing, trailing commas and double quotes', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    for (const dict of [
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
      '{ "descr" : "<f4" ,"fortran_order":False,"shape":(2,3,),}',
      "{'fortran_order':False,\n 'shape':(2 ,3) , 'descr':'<f4', }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", // Python 2's longs
    ]) {
      const t = decodeNpy(npyWithHeader(dict, data));
      assert.deepEqual(t.shape, [2, 3], dict);
      assert.deepEqual([...t.data], [1, 2, 3, 4, 5, 6], dict);
    }
  });

  it('reads () and (5,) shapes, and "=" and "|" byte orders as little-endian', () => {
    const one = new Uint8Array(new Float64Array([2.5]).buffer);
    assert.deepEqual(decodeNpy(npyWithHeader("{'descr': '=f8', 'fortran_order': False, 'shape': ()}", one)).shape, []);
    const five = new Uint8Array(new Int16Array([1, -2, 3, -4, 5]).buffer);
    const t = decodeNpy(npyWithHeader("{'descr': '<i2', 'fortran_order': False, 'shape': (5,)}", five));
    assert.deepEqual([...t.data], [1, -2, 3, -4, 5]);
    const u = decodeNpy(npyWithHeader("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2)}", new Uint8Array([1, 2, 3, 4])));
    assert.deepEqual([...u.data], [1, 3, 2, 4]);
  });

  it('rejects a bad magic, version, or header', () => {
    assert.equal(lensError(() => parseNpyHeader(new TextEncoder().encode('hello world, not numpy')), 'format').message, 'not a .npy file (missing \\x93NUMPY magic)');
    const v9 = npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': ()}");
    v9[6] = 9;
    assert.match(lensError(() => parseNpyHeader(v9), 'format').message, /version 9\.0/);
    for (const [dict, re] of [
      ["{'descr': '<f4', 'shape': ()}", /lacks 'fortran_order'/],
      ["{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", /fortran_order "0"/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", /non-negative/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", /non-negative integers/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': 7}", /expected a tuple/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': ()", /not a valid Python dict/],
      ["['descr', '<f4']", /not a Python dict/],
      ["{'descr': '<f4', 'fortran_order': Nope, 'shape': ()}", /unknown name 'Nope'/],
      ["{'descr': '<q9', 'fortran_order': False, 'shape': ()}", /unknown dtype "<q9"/],
    ] as const) {
      const e = lensError(() => parseNpyHeader(npyWithHeader(dict)));
      assert.match(e.message, re, dict);
    }
  });

  it('says the header is truncated when the bytes end inside it', () => {
    const bytes = fixture('npy', 'f8_le_c_2x3.npy');
    for (const n of [0, 3, 6, 8, 9, 10, 50, 127]) {
      const e = lensError(() => parseNpyHeader(bytes.subarray(0, n)), 'format');
      assert.match(e.message, /truncated \.npy header/, `${n} bytes: ${e.message}`);
    }
  });

  it('reads a version 3.0 header as UTF-8', () => {
    const e = lensError(() => decodeNpy(fixture('npy', 'structured_v3.npy')), 'dtype');
    assert.match(e.message, /fields "été"/);
  });
});

describe('npy: data', () => {
  it('says how many data bytes are missing', () => {
    const bytes = fixture('npy', 'f8_le_c_2x3.npy');
    const e = lensError(() => decodeNpy(bytes.subarray(0, bytes.length - 8)), 'format');
    assert.equal(e.message, 'file holds 40 of 48 data bytes for shape [2, 3] float64 — truncated?');
  });

  it('guards absurd shapes without allocating', () => {
    const e = lensError(() => decodeNpy(npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000000000)}")));
    assert.match(e.message, /larger than any file/);
    const e2 = lensError(() => decodeNpy(npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,)}")));
    assert.match(e2.message, /file holds 0 of 8000000000 data bytes/);
    const e3 = lensError(() => decodeNpy(npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}")));
    assert.match(e3.message, /non-negative integers/);
  });

  it('reads an empty array with a huge other axis', () => {
    const t = decodeNpy(npyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (0, 4000000000)}"));
    assert.deepEqual(t.shape, [0, 4000000000]);
    assert.equal(t.data.length, 0);
  });

  it('normalizes bool bytes to 0/1', () => {
    const t = decodeNpy(npyWithHeader("{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}", new Uint8Array([0, 7, 255])));
    assert.deepEqual([...t.data], [0, 1, 1]);
  });

  it('names the first int64 value (in C order) that does not fit int32, in Fortran-order files too', () => {
    assert.equal(
      lensError(() => decodeNpy(fixture('npy', 'i8_overflow.npy')), 'dtype').message,
      "int64 value 3000000000 at index [0, 5] does not fit the kernel's 32-bit integer type",
    );
    assert.match(lensError(() => decodeNpy(fixture('npy', 'i8_be_f_overflow.npy'))).message, /8589934592 at index \[0, 3\]/);
  });
});

describe('npy: encodeNpy', () => {
  const samples: Record<DType, number[]> = {
    bool: [1, 0, 1, 1, 0, 0],
    int8: [-128, 127, 0, 1, -1, 5],
    uint8: [0, 255, 1, 2, 3, 4],
    int16: [-32768, 32767, 0, 1, -1, 300],
    uint16: [0, 65535, 1, 2, 3, 4],
    int32: [-(2 ** 31), 2 ** 31 - 1, 0, 1, -1, 7],
    uint32: [0, 2 ** 32 - 1, 1, 2, 3, 4],
    int64: [-(2 ** 31), 2 ** 31 - 1, 0, 1, -1, -100],
    uint64: [0, 2 ** 31 - 1, 1, 2, 3, 4],
    float16: [0, -0, 65504, 2 ** -24, NaN, -Infinity],
    float32: [0.5, -0, 3.4028234663852886e38, 1e-45, NaN, Infinity],
    float64: [0.1, -0, 1.7976931348623157e308, 5e-324, NaN, -Infinity],
  };

  for (const dtype of DTYPES) {
    it(`round-trips ${dtype} through decodeNpy in every order and version`, () => {
      for (const shape of [[2, 3], [6], [3, 1, 2]]) {
        for (const fortranOrder of [false, true]) {
          for (const bigEndian of [false, true]) {
            for (const version of ['1.0', '2.0', '3.0'] as const) {
              const bytes = encodeNpy({ dtype, shape, data: samples[dtype] }, { fortranOrder, bigEndian, version });
              const h = parseNpyHeader(bytes);
              assert.equal(h.dataOffset % 64, 0);
              assert.equal(h.version, version);
              assert.equal(h.fortranOrder, fortranOrder);
              const t = decodeNpy(bytes);
              assert.equal(t.dtype, dtype);
              assert.deepEqual(t.shape, shape);
              const want = samples[dtype].map((v) => (dtype === 'float32' ? Math.fround(v) : v));
              assertValues(t, want, `${dtype} ${shape} F=${fortranOrder} BE=${bigEndian} v${version}`);
            }
          }
        }
      }
    });
  }

  it('writes byte-identical files to np.save for C- and Fortran-order arrays', () => {
    for (const f of manifest.valid.filter((x) => x.version === '1.0' && x.dtype !== 'float16' && !x.values.includes('nan'))) {
      const bytes = fixture('npy', f.file);
      const t = decodeNpy(bytes);
      const ours = encodeNpy(t, { fortranOrder: f.fortran, bigEndian: f.descr.startsWith('>') });
      assert.deepEqual(Buffer.from(ours), Buffer.from(bytes), f.file);
    }
  });

  it('rounds float16 to nearest even', () => {
    const t = decodeNpy(encodeNpy({ dtype: 'float16', shape: [5], data: [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519.99, 65520, 2 ** -25] }));
    assert.deepEqual([...t.data], [1, 1 + 2 ** -9, 65504, Infinity, 0]);
  });

  it('rejects values that do not fit the dtype and data of the wrong length', () => {
    assert.match(lensError(() => encodeNpy({ dtype: 'uint8', shape: [2], data: [1, 256] }), 'value').message, /256 at index \[1\] as uint8/);
    assert.match(lensError(() => encodeNpy({ dtype: 'int64', shape: [1], data: [NaN] }), 'value').message, /NaN/);
    assert.match(lensError(() => encodeNpy({ dtype: 'int64', shape: [1], data: [2 ** 63] }), 'value').message, /int64/);
    assert.match(lensError(() => encodeNpy({ dtype: 'float32', shape: [2, 2], data: [1, 2, 3] }), 'shape').message, /3 values/);
  });

  it('writes files NumPy reads back (checked with /usr/bin/python3)', function () {
    if (!hasNumpy()) {
      this.skip(); // /usr/bin/python3 has no numpy here: the cross-check cannot run
    }
    this.timeout(30000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'npy-roundtrip-'));
    try {
      const cases: { file: string; dtype: DType; shape: number[]; fortran: boolean; values: number[] }[] = [];
      for (const dtype of DTYPES) {
        for (const fortran of [false, true]) {
          for (const big of [false, true]) {
            for (const version of ['1.0', '2.0', '3.0'] as const) {
              const file = `${dtype}_${fortran ? 'f' : 'c'}_${big ? 'be' : 'le'}_v${version[0]}.npy`;
              fs.writeFileSync(path.join(dir, file), encodeNpy({ dtype, shape: [2, 3], data: samples[dtype] }, { fortranOrder: fortran, bigEndian: big, version }));
              cases.push({ file, dtype, shape: [2, 3], fortran, values: samples[dtype] });
            }
          }
        }
      }
      fs.writeFileSync(path.join(dir, 'scalar.npy'), encodeNpy({ dtype: 'float64', shape: [], data: [2.5] }));
      fs.writeFileSync(path.join(dir, 'empty.npy'), encodeNpy({ dtype: 'int64', shape: [0, 3], data: [] }, { fortranOrder: true }));
      const out = python(
        `
import json, os, sys, math
import numpy as np
d = sys.argv[1]
res = {}
for f in sorted(os.listdir(d)):
    a = np.load(os.path.join(d, f))
    vals = [("nan" if isinstance(v, float) and math.isnan(v) else v) for v in a.reshape(-1).tolist()]
    res[f] = {"dtype": a.dtype.name, "shape": list(a.shape), "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous), "values": vals}
print(json.dumps(res, allow_nan=True))
`,
        [dir],
      );
      const got = JSON.parse(out.replace(/\bInfinity\b/g, "1e999")) as Record<string, { dtype: string; shape: number[]; fortran: boolean; values: (number | boolean | string)[] }>;
      for (const c of cases) {
        const g = got[c.file];
        assert.equal(g.dtype, c.dtype, c.file);
        assert.deepEqual(g.shape, c.shape, c.file);
        assert.equal(g.fortran, c.fortran, c.file);
        const want = c.values.map((v) => (c.dtype === 'bool' ? v === 1 : Number.isNaN(v) ? 'nan' : c.dtype === 'float32' ? Math.fround(v) : v));
        assert.deepEqual(g.values, want, c.file);
      }
      assert.deepEqual(got['scalar.npy'], { dtype: 'float64', shape: [], fortran: false, values: [2.5] });
      assert.deepEqual(got['empty.npy'].shape, [0, 3]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
