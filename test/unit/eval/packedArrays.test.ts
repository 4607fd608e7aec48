// Packed arrays of label-issue parts (src/eval/packedArrays.ts): exact round trips, strict refusals with
// one-line reasons, and texts of many millions of characters (a regex with a repeated group overflowed the
// stack on them, so a part with a large image's low-confidence pixels could not be read back).
import { strict as assert } from 'node:assert';
import { packedLength, packF64, packI32, packU8, unpack } from '../../../src/eval/packedArrays';

describe('packed arrays (base64 of little-endian values)', function () {
  it('float64, int32 and uint8 come back exactly, special values included', function () {
    const f = [0, -0, 1.5, -2.25e-308, 5e-324, Number.MAX_VALUE, Infinity, -Infinity, NaN, Math.PI];
    const g = unpack(packF64(f), f.length, 'f64');
    assert.ok(g instanceof Float64Array);
    f.forEach((v, i) => assert.ok(Object.is(g[i], v), `float64 #${i}: ${g[i]} vs ${v}`));
    const i32 = [0, 1, -1, 2147483647, -2147483648, 123456];
    assert.deepEqual([...(unpack(packI32(i32), i32.length, 'i32') as Int32Array)], i32);
    const u8 = [0, 1, 255, 128];
    assert.deepEqual([...(unpack(packU8(u8), u8.length, 'u8') as Uint8Array)], u8);
    // Little-endian bytes, as Node writes them.
    const b = Buffer.alloc(8);
    b.writeDoubleLE(Math.PI);
    assert.equal(packF64([Math.PI]), b.toString('base64'));
  });

  it('refuses what is not exactly the packed form, in one line', function () {
    const good = packF64([1, 2, 3]);
    assert.equal(good.length, packedLength(3, 'f64'));
    const bad: Array<[string, RegExp]> = [
      [good.slice(0, -4), /base64 characters, expected 32/],
      [`${good.slice(0, -5)}*${good.slice(-4)}`, /is not base64/],
      [`=${good.slice(1)}`, /is not base64/],
      [`${good.slice(0, 16)}=${good.slice(17)}`, /is not base64/],
    ];
    for (const [text, why] of bad) {
      const r = unpack(text, 3, 'f64');
      assert.equal(typeof r, 'string', text);
      assert.match(r as string, why);
      assert.ok(!(r as string).includes('\n'));
    }
  });

  it('reads back a million float64 values (10.7 M characters)', function () {
    const n = 1_000_000;
    const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
    const text = packF64(v);
    assert.ok(text.length > 10_000_000);
    const g = unpack(text, n, 'f64') as Float64Array;
    for (let i = 0; i < n; i++) if (!Object.is(g[i], v[i])) assert.fail(`#${i}: ${g[i]} vs ${v[i]}`);
    // A single bad character near the end is still found.
    const broken = `${text.slice(0, text.length - 10)}!${text.slice(text.length - 9)}`;
    assert.match(unpack(broken, n, 'f64') as string, /is not base64/);
  });
});
