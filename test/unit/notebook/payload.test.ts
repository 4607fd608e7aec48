// The notebook payload: every tensor encoding, every malformed case, and the Python helper's output
// (written by /usr/bin/python3 with NumPy) decoded bit-exactly.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { LensError } from '../../../src/errors';
import { decodePayload, MAX_PAYLOAD_BYTES } from '../../../src/tensor/text/payload';
import { encodeNpy } from '../../../src/tensor/binary/npy';

const ROOT = path.resolve(__dirname, '../../..');

function lensError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof LensError && re.test(e.message) && !/\n/.test(e.message));
}

describe('notebook payload decoding', function () {
  it('accepts nested lists, {npy} and {dtype, shape, data} tensors', function () {
    const npy = Buffer.from(encodeNpy({ dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] })).toString('base64');
    const raw = Buffer.from(new Int32Array([0, 2]).buffer).toString('base64');
    const p = decodePayload({ input: { npy }, target: { dtype: 'int32', shape: [2], data: raw }, weight: [1, 2, 0.5], options: { ignoreIndex: 255, reduction: 'sum', labelSmoothing: 0.1, inputKind: 'logits', classDim: 1, classNames: ['a', 'b', 'c'] } });
    assert.deepEqual(p.input.shape, [2, 3]);
    assert.equal(p.input.dtype, 'float32');
    assert.deepEqual(Array.from(p.target.data), [0, 2]);
    assert.deepEqual(Array.from(p.weight!.data), [1, 2, 0.5]);
    assert.deepEqual(p.options, { ignoreIndex: 255, reduction: 'sum', labelSmoothing: 0.1, inputKind: 'logits', classDim: 1 });
    assert.deepEqual(p.classNames, ['a', 'b', 'c']);
    const fromText = decodePayload(JSON.stringify({ input: [[0.5, 1.5]], target: [1] }));
    assert.deepEqual(fromText.input.shape, [1, 2]);
  });

  it('rejects malformed payloads with one line naming the place', function () {
    lensError(() => decodePayload(null), /must be an object/);
    lensError(() => decodePayload('{nope'), /not valid JSON/);
    lensError(() => decodePayload({ target: [1] }), /no input/);
    lensError(() => decodePayload({ input: [[1, 2]], target: 'x' }), /payload\.target/);
    lensError(() => decodePayload({ input: [[1, 2], [3]], target: [1] }), /ragged/);
    lensError(() => decodePayload({ input: { npy: '!!!' }, target: [1] }), /base64|npy|NUMPY/i);
    lensError(() => decodePayload({ input: { dtype: 'complex64', shape: [1], data: 'AAAA' }, target: [0] }), /dtype/);
    lensError(() => decodePayload({ input: [[1]], target: [0], options: { reduction: 'avg' } }), /reduction/);
    lensError(() => decodePayload({ input: [[1]], target: [0], options: { ignoreIndex: '5' } }), /ignoreIndex must be a number/);
    lensError(() => decodePayload({ input: [[1]], target: [0], options: { classNames: 'abc' } }), /classNames/);
    lensError(() => decodePayload({ input: { npy: 'A'.repeat(MAX_PAYLOAD_BYTES + 4) }, target: [0] }), /over the 64 MB limit/);
  });

  it('keeps hostile class names as plain strings, cut to a bounded length', function () {
    const p = decodePayload({ input: [[1, 2]], target: [0], options: { classNames: ['<img src=x onerror=alert(1)>', 'x'.repeat(5000)] } });
    assert.equal(p.classNames[0], '<img src=x onerror=alert(1)>');
    assert.equal(p.classNames[1].length, 200);
  });
});

describe('python/cross_entropy_lens.py (run with /usr/bin/python3 and NumPy)', function () {
  before(function () {
    if (spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status !== 0) this.skip();
  });

  it('writes payloads that decode bit-exactly, with the text/plain fallback', function () {
    const py = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})
import numpy as np
from cross_entropy_lens import to_payload, display, MIME
rng = np.random.default_rng(3)
x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
x[0, 0, 0, 0] = np.nan
t = rng.integers(0, 3, size=(2, 4, 5))
cases = {
  "f32": to_payload(x, t, weight=np.array([1, 2, 0.5]), ignore_index=255, class_names=["a", "<b>", "c"]),
  "f16be": to_payload(x.astype(">f2"), t.astype(np.uint8)),
  "f64fortran": to_payload(np.asfortranarray(x.astype(np.float64)), t.astype(np.int16), reduction="none"),
}
expect = {"x": x.astype(np.float64).tolist(), "x16": x.astype(np.float16).astype(np.float64).tolist(), "t": t.tolist()}
import io, contextlib
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    display(x, t)
print(json.dumps({"cases": cases, "expect": expect, "printed": buf.getvalue()}).replace("NaN", "null"))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { cases: Record<string, unknown>; expect: { x: unknown; x16: unknown; t: unknown }; printed: string };
    const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v === null ? NaN : (v as number)]);
    const same = (a: ArrayLike<number>, b: number[]): void => {
      assert.equal(a.length, b.length);
      for (let i = 0; i < b.length; i++) assert.ok(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i])), `element ${i}: ${a[i]} vs ${b[i]}`);
    };
    const f32 = decodePayload(out.cases.f32);
    assert.equal(f32.input.dtype, 'float32');
    same(f32.input.data, flat(out.expect.x));
    same(f32.target.data, flat(out.expect.t));
    assert.deepEqual(Array.from(f32.weight!.data), [1, 2, 0.5]);
    assert.deepEqual(f32.classNames, ['a', '<b>', 'c']);
    assert.equal(f32.options.ignoreIndex, 255);
    const f16 = decodePayload(out.cases.f16be);
    assert.equal(f16.input.dtype, 'float16');
    same(f16.input.data, flat(out.expect.x16));
    const f64 = decodePayload(out.cases.f64fortran);
    assert.equal(f64.input.dtype, 'float64');
    same(f64.input.data, flat(out.expect.x));
    assert.equal(f64.options.reduction, 'none');
    assert.match(out.printed, /^Cross-Entropy Lens: input \[2, 3, 4, 5\] float32, target \[2, 4, 5\] int64/);
  });
});
