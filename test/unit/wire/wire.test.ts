// The wire form of host <-> renderer messages survives JSON with typed arrays and non-finite numbers intact.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { base64ToBytes, bytesToBase64, bytesToBase64ByBtoa } from '../../../src/base64';
import { fromWire, toWire } from '../../../src/wire';

const roundTrip = (v: unknown): unknown => fromWire(JSON.parse(JSON.stringify(toWire(v))));

describe('wire form', function () {
  it('keeps typed arrays bit-exact, with their kind, through JSON', function () {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 300 }), fc.int32Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.float64Array({ maxLength: 50 }), (f, i, u, d) => {
        const back = roundTrip({ f, nested: [{ i }], u, d }) as { f: Float32Array; nested: Array<{ i: Int32Array }>; u: Uint8Array; d: Float64Array };
        assert.ok(back.f instanceof Float32Array && back.nested[0].i instanceof Int32Array && back.u instanceof Uint8Array && back.d instanceof Float64Array);
        assert.deepEqual(new Uint8Array(back.f.buffer), new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
        assert.deepEqual(Array.from(back.nested[0].i), Array.from(i));
        assert.deepEqual(Array.from(back.u), Array.from(u));
        assert.deepEqual(new Uint8Array(back.d.buffer), new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      }),
    );
  });

  it('keeps the narrow integer arrays of compacted sample maps, with their kind', function () {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -0x8000, max: 0xffff }), { maxLength: 200 }), (values) => {
        const arrays = { i8: Int8Array.from(values), u8: Uint8Array.from(values), i16: Int16Array.from(values), u16: Uint16Array.from(values) };
        const back = roundTrip(arrays) as typeof arrays;
        for (const [k, a] of Object.entries(arrays) as Array<[keyof typeof arrays, (typeof arrays)[keyof typeof arrays]]>) {
          assert.equal(back[k].constructor, a.constructor, k);
          assert.deepEqual(Array.from(back[k]), Array.from(a), k);
        }
      }),
    );
  });

  it('keeps a subarray view to its own elements', function () {
    const whole = Float32Array.of(1, 2, 3, 4, 5);
    assert.deepEqual(Array.from(roundTrip(whole.subarray(1, 3)) as Float32Array), [2, 3]);
  });

  it('keeps NaN and ±Infinity, which JSON alone turns into null', function () {
    const back = roundTrip({ value: NaN, list: [Infinity, -Infinity, 0, -1.5], s: 'NaN' }) as { value: number; list: number[]; s: string };
    assert.ok(Number.isNaN(back.value));
    assert.deepEqual(back.list, [Infinity, -Infinity, 0, -1.5]);
    assert.equal(back.s, 'NaN', 'a string stays a string');
    assert.equal(JSON.stringify({ x: NaN }), '{"x":null}', 'the reason for the wire form');
  });

  it('encodes base64 like Node does, on the host (Buffer) and in a webview (btoa), also across its chunk size', function () {
    for (const n of [0, 1, 2, 3, 0x8000 - 1, 0x8000, 0x8000 + 1, 100_000]) {
      const b = Uint8Array.from({ length: n }, (_, k) => (k * 131 + 7) & 255);
      const want = Buffer.from(b).toString('base64');
      assert.equal(bytesToBase64(b), want);
      assert.equal(bytesToBase64ByBtoa(b), want);
      assert.deepEqual(base64ToBytes(want), b);
      // A view into a larger buffer: its own bytes only, both ways.
      const big = new Uint8Array(n + 13);
      big.set(b, 5);
      const view = big.subarray(5, 5 + n);
      assert.equal(bytesToBase64(view), want);
      assert.equal(bytesToBase64ByBtoa(view), want);
    }
    // Decoding: strict text natively, anything else by atob's rules (unpadded accepted, garbage refused).
    assert.deepEqual(base64ToBytes('AQID'), Uint8Array.of(1, 2, 3));
    assert.deepEqual(base64ToBytes('AQI'), Uint8Array.of(1, 2));
    assert.throws(() => base64ToBytes('A*=='));
    assert.equal(base64ToBytes(Buffer.alloc(3000, 7).toString('base64')).byteOffset, 0);
  });

  it('decodes exactly what atob decodes, to the same bytes, and refuses what it refuses', function () {
    const byAtob = (t: string): Uint8Array | 'refused' => {
      try {
        return Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
      } catch {
        return 'refused';
      }
    };
    const long = Buffer.from(Uint8Array.from({ length: 70_001 }, (_, k) => (k * 37) & 255)).toString('base64');
    const cases = ['', 'Q', 'QQ', 'QQ=', 'QQ==', 'QQ===', 'QUI', 'QUI=', 'QUI==', 'QUJD', 'QR==', 'QUJ=', '=', '==', '====', 'QQ=Q', 'Q===', 'A*==',
      '-_-_', 'QU I=', long, long.replace(/=+$/, ''), `${long}=`, long.slice(0, -1), long.slice(0, -2)];
    for (const t of cases) {
      const want = byAtob(t);
      let got: Uint8Array | 'refused';
      try {
        got = base64ToBytes(t);
      } catch {
        got = 'refused';
      }
      assert.deepEqual(got, want, `${JSON.stringify(t.length > 20 ? `${t.slice(0, 8)}…${t.slice(-8)} (${t.length})` : t)}`);
    }
  });
});
