// .safetensors: files written by the reference writer in make_torch_fixtures.py (the format spec, from
// PyTorch tensors; there is no safetensors package here), values compared with PyTorch's, names, roles,
// and hostile headers. The CLI case is in torchSave.test.ts.
import * as assert from 'node:assert/strict';
import { LensError } from '../../../../src/errors';
import { decodeTensorFile, splitMemberSpec } from '../../../../src/tensor/load';
import { MAX_SAFETENSORS_HEADER, parseSafetensorsHeader, readSafetensors } from '../../../../src/tensor/binary/safetensors';
import { type Expected, assertValues, fixture, fixtureJson, lensError } from '../helpers';

interface Want {
  shape: number[];
  dtype: string;
  torchDType: string;
  values: Expected[];
}
const manifest = fixtureJson<{ files: Record<string, Record<string, Want>> }>('torch', 'manifest.json');
const st = (name: string): Uint8Array => fixture('safetensors', name);

/** A file from a header object and data bytes, as the format lays it out. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: string): Uint8Array {
  const h = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const ST_NAME: Record<string, string> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

describe('safetensors: values as PyTorch holds them', () => {
  for (const [key, members] of Object.entries(manifest.files)) {
    if (!key.startsWith('safetensors/')) continue;
    const file = key.slice('safetensors/'.length);
    it(`${file}: ${Object.keys(members).join(', ')}`, () => {
      const f = readSafetensors(st(file), file);
      assert.deepEqual(f.tensors.map((t) => t.name), Object.keys(members));
      for (const [name, want] of Object.entries(members)) {
        const info = f.tensors.find((t) => t.name === name)!;
        assert.equal(info.stDType, ST_NAME[want.torchDType], name);
        const t = f.get(name);
        assert.deepEqual(t.shape, want.shape, `${name}: shape`);
        assert.equal(t.dtype, want.dtype, `${name}: dtype`);
        assertValues(t, want.values, `${file}:${name}`);
      }
    });
  }

  it('reads BF16 as float32 exactly, F16 as float16 widened', () => {
    const f = readSafetensors(st('dtypes.safetensors'));
    const bf = f.get('bf16');
    assert.ok(bf.data instanceof Float32Array);
    assert.equal(bf.dtype, 'float32');
    assert.equal(f.get('f16').dtype, 'float16');
  });
});

describe('safetensors: names and roles through decodeTensorFile', () => {
  const want = manifest.files;

  it('picks logits/labels by role, the only tensor for any role, and a dotted name as given', () => {
    assertValues(decodeTensorFile('pair.safetensors', st('pair.safetensors'), 'input'), want['safetensors/pair.safetensors'].logits.values, 'logits');
    assertValues(decodeTensorFile('pair.safetensors', st('pair.safetensors'), 'target'), want['safetensors/pair.safetensors'].labels.values, 'labels');
    for (const role of ['input', 'target'] as const) {
      assertValues(decodeTensorFile('single.safetensors', st('single.safetensors'), role), want['safetensors/single.safetensors'].x.values, 'x');
    }
    const { path, member } = splitMemberSpec('dtypes.safetensors:model.layers.0.weight');
    assertValues(decodeTensorFile(path, st('dtypes.safetensors'), 'input', member), want['safetensors/dtypes.safetensors']['model.layers.0.weight'].values, 'dotted');
  });

  it('says which tensors exist when the name or the role does not match', () => {
    assert.match(lensError(() => decodeTensorFile('d.safetensors', st('dtypes.safetensors'), 'input', 'nope'), 'option').message, /^d\.safetensors: no tensor named nope; tensors: f32 \[12\] F32, f64 \[6\] F64, .*… 1 more$/);
    assert.match(lensError(() => decodeTensorFile('d.safetensors', st('dtypes.safetensors'), 'input'), 'format').message, /^d\.safetensors: no member named like an input \(logits, .*\); members: .* — name one as d\.safetensors:/);
  });

  it('is recognized by its bytes under another extension', () => {
    assertValues(decodeTensorFile('pair.data', st('pair.safetensors'), 'target'), want['safetensors/pair.safetensors'].labels.values, 'sniffed');
  });
});

describe('safetensors: hostile files', () => {
  const f32 = new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer);
  const ok = { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };

  it('reads a minimal file built here (the checks below start from a valid one)', () => {
    assert.deepEqual([...readSafetensors(build(ok, f32)).get('a').data], [1, 2, 3, 4]);
  });

  it('caps the header length and checks it against the file', () => {
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, BigInt(MAX_SAFETENSORS_HEADER + 1), true);
    assert.match(lensError(() => decodeTensorFile('h.safetensors', big, 'input'), 'format').message, /^h\.safetensors: not a valid \.safetensors file: the header claims 100000001 bytes, more than the 100000000 allowed/);
    const huge = new Uint8Array(16).fill(0xff);
    assert.match(lensError(() => readSafetensors(huge, 'h.st')).message, /more than the 100000000 allowed/);
    const past = build(ok, f32).subarray(0, 30);
    assert.match(lensError(() => readSafetensors(past, 'p.st')).message, /^p\.st: not a valid \.safetensors file: the header claims \d+ bytes but the file holds 22 after the length — truncated\?$/);
    assert.match(lensError(() => readSafetensors(new Uint8Array(3), 's.st')).message, /shorter than its 8-byte header length/);
  });

  it('rejects bad JSON, a non-object header and malformed entries', () => {
    const m = (bytes: Uint8Array, kind: LensError['kind'] = 'format'): string => lensError(() => readSafetensors(bytes, 'x.st'), kind).message;
    assert.match(m(build(null, f32, '{"a": ')), /^x\.st: not a valid \.safetensors file: the header is not UTF-8 JSON/);
    assert.match(m(build([1, 2], f32)), /the header is not a JSON object$/);
    assert.match(m(build({ a: 3 }, f32)), /tensor a is not an object$/);
    assert.match(m(build({ a: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, f32), 'dtype'), /^x\.st: tensor a has dtype "F8_E4M3", which is not read here/);
    assert.match(m(build({ a: { dtype: 'F32', shape: [2, -2], data_offsets: [0, 16] } }, f32)), /tensor a has no valid shape$/);
    assert.match(m(build({ a: { dtype: 'F32', shape: [2.5], data_offsets: [0, 16] } }, f32)), /tensor a has no valid shape$/);
    assert.match(m(build({ a: { dtype: 'F32', shape: [4], data_offsets: [0] } }, f32)), /tensor a has no valid data_offsets$/);
    assert.match(m(build({ a: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, f32)), /tensor a has data_offsets \[8, 24\] outside the 16 data bytes — truncated\?$/);
    assert.match(m(build({ a: { dtype: 'F32', shape: [4], data_offsets: [12, 4] } }, f32)), /outside the 16 data bytes/);
    assert.match(m(build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, f32)), /tensor a has 16 data bytes, but shape \[3\] F32 needs 12$/);
    assert.match(m(build({ a: { dtype: 'F32', shape: [1e15, 1e15], data_offsets: [0, 16] } }, f32)), /needs 4e\+30$/);
    const longName = 'n'.repeat(5000);
    const e = m(build({ [longName]: { dtype: 'X', shape: [], data_offsets: [0, 0] } }), 'dtype');
    assert.ok(e.length < 300, e);
  });

  it('ignores __metadata__ and a __proto__ key cannot reach Object.prototype', () => {
    const f = readSafetensors(build({ __metadata__: { format: 'pt' }, ['__proto__']: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32, JSON.stringify({ __metadata__: { format: 'pt' } }).slice(0, -1) + ',"__proto__":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'));
    assert.deepEqual(f.tensors.map((t) => t.name), ['__proto__']);
    assert.deepEqual([...f.get('__proto__').data], [1, 2, 3, 4]);
    assert.equal(({} as Record<string, unknown>).dtype, undefined);
  });

  describe('names made to share the uniqueness table\'s hash slot', function () {
    // The table hashes names with FNV-1a, whose low bits anyone can aim: each name here lands in one slot
    // of the table sized for n names (a letter prefix, then two bytes tried for the hash's middle bits and a
    // last one for its low byte). Probed one by one, 80 000 such names took 8.8 s, growing with the square.
    const n = 160_000;
    let list: string[] = [];
    before(function () {
      this.timeout(60_000);
      let size = 16;
      while (size < n * 2) size *= 2;
      const mask = size - 1;
      const P = 0x01000193;
      const fnv = (h: number, b: number): number => Math.imul(h ^ b, P) >>> 0;
      let inv = 1;
      for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(P, inv)) >>> 0;
      const need = Math.imul(0x1234 & mask, inv) >>> 0;
      const usable: number[] = [];
      for (let c = 0x30; c <= 0x7a; c++) if (c !== 0x5c) usable.push(c);
      let seed = 12345;
      const names = new Set<string>();
      while (names.size < n) {
        let h = 0x811c9dc5;
        let prefix = '';
        for (let k = 0; k < 6; k++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          const c = 0x61 + ((seed >>> 16) % 26);
          prefix += String.fromCharCode(c);
          h = fnv(h, c);
        }
        for (const b0 of usable) {
          const h0 = fnv(h, b0);
          for (const b1 of usable) {
            const h1 = fnv(h0, b1);
            const b2 = (h1 ^ need) & 0xff;
            if (((h1 ^ need) & mask & ~0xff) === 0 && b2 >= 0x30 && b2 <= 0x7a && b2 !== 0x5c) names.add(prefix + String.fromCharCode(b0, b1, b2));
          }
        }
      }
      list = [...names].slice(0, n);
    });
    const header = (ns: readonly string[]): string => `{${ns.map((nm) => `"${nm}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`).join(',')}}`;

    it('take linear time (160 000 within 5 s; about 1 s here, building the files included), and a repeated one among them is still found', function () {
      this.timeout(5_000);
      assert.equal(readSafetensors(build(null, undefined, header(list)), 'flood.st').tensors.length, n);
      const twice = [...list.slice(0, n - 1), list[n / 2]];
      assert.ok(lensError(() => readSafetensors(build(null, undefined, header(twice)), 'flood.st')).message.endsWith(`tensor ${list[n / 2]} is listed twice in the header`));
    });
  });

  it('every prefix of a real file fails with a one-line LensError or reads a complete header', () => {
    const bytes = st('dtypes.safetensors');
    for (let n = 0; n < bytes.length; n++) {
      try {
        const f = readSafetensors(bytes.subarray(0, n), 't.st');
        for (const t of f.tensors) f.get(t.name);
        assert.fail(`prefix ${n} decoded`);
      } catch (e) {
        assert.ok(e instanceof LensError, String(e));
        assert.match(e.message, /^t\.st: /);
      }
    }
    assert.equal(parseSafetensorsHeader(bytes).length, 13);
  });
});
