import * as assert from 'node:assert/strict';
import { encodeNpy } from '../../../../src/tensor/binary/npy';
import { parseJsonDocument, parseJsonTensor, parseJsonTensorFile } from '../../../../src/tensor/text/json';
import { hasNumpy, lensError, python } from '../helpers';

const file = (text: string) => parseJsonTensorFile(text, 'x.json');
const one = (text: string) => {
  const t = file(text).tensor;
  assert.ok(t !== undefined);
  return t;
};

describe('json: tensors from nested lists', () => {
  it('infers dtypes like torch.tensor, keeping 1.0 apart from 1', () => {
    assert.equal(one('[[1, 2], [3, 4]]').dtype, 'int64');
    assert.equal(one('[[1, 2], [3, 4.0]]').dtype, 'float64');
    assert.equal(one('[1e2, 3]').dtype, 'float64');
    assert.equal(one('[true, false]').dtype, 'bool');
    assert.equal(one('[]').dtype, 'float32');
    assert.equal(one('[[], []]').dtype, 'float32');
    const t = one('[[0.1, -2.5e-3], [1.0, 3]]');
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual([...t.data], [0.1, -2.5e-3, 1, 3]);
    assert.ok(t.data instanceof Float64Array);
    const ints = one('[[1, -2, 2147483647, -2147483648]]');
    assert.ok(ints.data instanceof Int32Array);
    assert.deepEqual([...ints.data], [1, -2, 2147483647, -2147483648]);
  });

  it('reads bare numbers as 0-d tensors', () => {
    const f = one('2.5');
    assert.deepEqual(f.shape, []);
    assert.equal(f.dtype, 'float64');
    assert.deepEqual([...one(' 7 ').data], [7]);
    assert.equal(one('7').dtype, 'int64');
    assert.equal(one('true').dtype, 'bool');
    assert.equal(one('1.0').dtype, 'float64');
  });

  it('shapes of empty lists', () => {
    assert.deepEqual(one('[]').shape, [0]);
    assert.deepEqual(one('[[], [], []]').shape, [3, 0]);
    assert.deepEqual(one('[[[]]]').shape, [1, 1, 0]);
  });

  it('accepts NaN, Infinity and -Infinity as Python writes them', () => {
    const t = one('[NaN, Infinity, -Infinity, 1]');
    assert.equal(t.dtype, 'float64');
    assert.ok(Number.isNaN(t.data[0]));
    assert.equal(t.data[1], Infinity);
    assert.equal(t.data[2], -Infinity);
  });

  it('reads numbers exactly (correctly rounded)', () => {
    const texts = ['0.1', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308', '123456789012345678', '0.30000000000000004', '-0.0', '1e23', '9007199254740993.0', '0.000001234567890123456789'];
    const t = one(`[${texts.join(', ')}]`);
    texts.forEach((s, i) => assert.ok(Object.is(t.data[i], Number(s)), s));
  });

  it('names the first ragged element with its JSON path', () => {
    assert.equal(lensError(() => one('[[1, 2, 3], [4, 5]]'), 'format').message, 'x.json: ragged list at $[1]: expected 3 elements like $[0], found 2');
    assert.equal(
      lensError(() => one('[[[1, 2, 3], [1, 2, 3], [1, 2, 3]], [[1, 2, 3], [1, 2, 3], [1, 2]]]')).message,
      'x.json: ragged list at $[1][2]: expected 3 elements like $[0][0], found 2',
    );
    assert.match(lensError(() => one('[[1, 2], 3]')).message, /ragged list at \$\[1\]: expected a list of 2 like \$\[0\], found the number 3/);
    assert.match(lensError(() => one('[1, [2]]')).message, /ragged list at \$\[1\]: expected a number like \$\[0\], found a list of 1/);
  });

  it('rejects non-numbers with their path', () => {
    assert.equal(lensError(() => one('[[1, "a"]]'), 'format').message, 'x.json: expected a number at $[0][1], found the string "a"');
    assert.match(lensError(() => one('[1, null]')).message, /at \$\[1\], found null/);
    assert.match(lensError(() => one('[{"a": 1}]')).message, /at \$\[0\], found an object/);
    assert.match(lensError(() => one('[1, true]')).message, /a boolean among numbers at \$\[1\]/);
    assert.match(lensError(() => one('[false, 0]')).message, /a number among booleans at \$\[1\]/);
    assert.match(lensError(() => file('"hello"')).message, /found the string "hello"/);
  });

  it('names int64 values that do not fit the kernel', () => {
    assert.equal(
      lensError(() => one('[[0, 1, 2, 3, 4, 3000000000]]'), 'dtype').message,
      "x.json: int64 value 3000000000 at index [0, 5] does not fit the kernel's 32-bit integer type",
    );
  });

  it('reports syntax errors with line and column', () => {
    assert.equal(lensError(() => file('[[1, 2],\n [3 4]]'), 'format').message, "x.json: invalid JSON at line 2:5: expected ',' or ']', found '4]]'");
    assert.match(lensError(() => file('[1, 2')).message, /line 1:6: expected ',' or ']', found the end of the text/);
    assert.match(lensError(() => file('')).message, /line 1:1: expected a value/);
    assert.match(lensError(() => file('[1.]')).message, /digits after the decimal point/);
    assert.match(lensError(() => file('[1] x')).message, /unexpected text after the JSON value/);
    assert.match(lensError(() => file('{"a": "\\q"}')).message, /invalid string/);
    assert.match(lensError(() => file('['.repeat(10000))).message, /nested more than 72 levels deep \(a tensor has at most 64 dimensions\)/);
  });

  it('parses already-parsed values (JSON.parse output) with integral numbers as int64', () => {
    assert.equal(parseJsonTensor(JSON.parse('[1.0, 2.0]')).dtype, 'int64');
    assert.equal(parseJsonTensor([1.5, 2]).dtype, 'float64');
    assert.match(lensError(() => parseJsonTensor([[1], [2, 3]], '$.input')).message, /ragged list at \$\.input\[1\]: expected 1 elements like \$\.input\[0\], found 2/);
    const doc = parseJsonDocument('{"x": [1.0, 2]}');
    assert.equal(parseJsonTensor((doc.value as { x: unknown }).x, '$.x', doc.marks).dtype, 'float64');
  });

  it('parses a million numbers quickly, in time linear in the text', function () {
    this.timeout(20000);
    const text = (n: number): string => {
      const rows: string[] = [];
      for (let i = 0; i < n; i++) rows.push('[' + Array.from({ length: 1000 }, (_, j) => ((i * 1000 + j) % 977) / 64 - 7).join(', ') + ']');
      return '[' + rows.join(',\n') + ']';
    };
    const big = text(1000);
    const quarter = text(250);
    one(big); // warm up the JIT
    const time = (s: string): number => {
      const t0 = performance.now();
      one(s);
      return performance.now() - t0;
    };
    const q = time(quarter);
    const t0 = performance.now();
    const t = one(big);
    const ms = performance.now() - t0;
    assert.deepEqual(t.shape, [1000, 1000]);
    // About 0.3 s on an idle 2-vCPU machine; the bound is 3x what the design allows (1 s) for a loaded CI
    // machine, and 4x the text may cost at most 8x the quarter measured just before (quadratic: 16x).
    assert.ok(ms < 3000, `${ms.toFixed(0)} ms for 1M numbers (${(big.length / 1e6).toFixed(1)} MB)`);
    assert.ok(ms < Math.max(8 * q, 100), `1M numbers ${ms.toFixed(0)} ms, 250k ${q.toFixed(0)} ms`);
  });
});

describe('json: files', () => {
  it('reads role objects', () => {
    const r = file('{"logits": [[0.5, 1.5]], "labels": [1], "weight": [1.0, 2.0]}');
    assert.deepEqual(r.input?.shape, [1, 2]);
    assert.equal(r.target?.dtype, 'int64');
    assert.deepEqual([...(r.weight?.data ?? [])], [1, 2]);
    const s = file('{"input": 1.0, "target": 0}');
    assert.equal(s.input?.dtype, 'float64');
    assert.equal(s.target?.dtype, 'int64');
    assert.equal(file('{"input": [1]}').target, undefined);
  });

  it('reads {dtype, shape, data} records and {npy} payloads', () => {
    const t = one('{"dtype": "float32", "shape": [2, 2], "data": [1, 2, 3, 4.5]}');
    assert.equal(t.dtype, 'float32');
    assert.ok(t.data instanceof Float32Array);
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual([...t.data], [1, 2, 3, 4.5]);
    const h = one('{"dtype": "torch.float16", "shape": [1], "data": [0.1]}');
    assert.equal(h.data[0], 0.0999755859375);
    const raw = Buffer.from(new Float32Array([1, -2]).buffer).toString('base64');
    const b = one(`{"dtype": "float32", "shape": [2], "data": "${raw}"}`);
    assert.deepEqual([...b.data], [1, -2]);
    const npy = Buffer.from(encodeNpy({ dtype: 'int64', shape: [3], data: [1, 2, 3] })).toString('base64');
    assert.deepEqual([...(file(`{"input": {"npy": "${npy}"}, "target": [0]}`).input?.data ?? [])], [1, 2, 3]);
    assert.match(lensError(() => one('{"dtype": "float32", "shape": [3], "data": [1, 2]}'), 'shape').message, /holds 2 values, shape \[3\] needs 3/);
    assert.match(lensError(() => one('{"dtype": "int8", "shape": [1], "data": [300]}'), 'dtype').message, /300 .* does not fit int8/);
    assert.match(lensError(() => one('{"dtype": "complex64", "shape": [1], "data": [1]}'), 'dtype').message, /unknown dtype "complex64"/);
    assert.deepEqual([...one('{"dtype": "uint32", "shape": [2], "data": [4000000000, 1]}').data], [4000000000, 1]);
    assert.deepEqual(one('{"dtype": "int64", "shape": [2, 1], "data": [[1], [2]]}').shape, [2, 1]);
    assert.match(lensError(() => one('{"dtype": "int64", "shape": [2], "data": [1, 2.5]}'), 'dtype').message, /value 2\.5 at index \[1\] of \$\.data is not an integer/);
  });

  it('lists the keys of an object it cannot use', () => {
    assert.equal(
      lensError(() => file('{"a": [1], "b": [2]}'), 'format').message,
      'x.json: expected an object holding input (or logits) and target (or labels), optionally weight; found keys: a, b',
    );
    assert.match(lensError(() => file('{"logits": [1], "input": [2]}')).message, /several keys name an input \(logits, input\)/);
  });

  it('reads what Python json.dumps writes, NaN included', function () {
    if (!hasNumpy()) this.skip(); // no numpy in /usr/bin/python3
    const out = python(`
import json, numpy as np
x = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
x[0, 0] = np.nan; x[1, 1] = np.inf
print(json.dumps({"logits": x.tolist(), "target": [0, 3, 2], "expect": [float(v) for v in x.reshape(-1)]}, indent=2))
`);
    const r = file(out);
    assert.deepEqual(r.input?.shape, [3, 4]);
    const expect = (JSON.parse(out.replace(/NaN/g, '"nan"').replace(/Infinity/g, '"inf"')) as { expect: (number | string)[] }).expect;
    expect.forEach((v, i) => {
      const got = r.input?.data[i] ?? 0;
      if (v === 'nan') assert.ok(Number.isNaN(got));
      else assert.equal(got, v === 'inf' ? Infinity : v);
    });
  });
});
