import * as assert from 'node:assert/strict';
import { floatToHalf, halfToFloat, halvesToFloat32, roundToHalf } from '../../../src/tensor/float16';
import { hasNumpy, python } from './helpers';

describe('float16', () => {
  it('widens every half exactly and encodes it back to the same bits', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const wide = halvesToFloat32(all);
    for (let h = 0; h < 65536; h++) {
      const v = halfToFloat(h);
      assert.ok(Object.is(wide[h], v) || (Number.isNaN(v) && Number.isNaN(wide[h])), `table ${h}`);
      if (Number.isNaN(v)) assert.equal(floatToHalf(v), 0x7e00);
      else assert.equal(floatToHalf(v), h, `bits ${h.toString(16)}`);
    }
  });

  it('knows the edges', () => {
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24);
    assert.equal(halfToFloat(0x0400), 2 ** -14);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.equal(halfToFloat(0xfc00), -Infinity);
    assert.ok(Object.is(halfToFloat(0x8000), -0));
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  });

  it('rounds to nearest, ties to even', () => {
    assert.equal(roundToHalf(1 + 2 ** -11), 1); // tie, 1 is even
    assert.equal(roundToHalf(1 + 3 * 2 ** -11), 1 + 2 ** -9); // tie, rounds up to even
    assert.equal(roundToHalf(1 + 2 ** -11 + 2 ** -30), 1 + 2 ** -10); // just above the tie
    assert.equal(roundToHalf(2 ** -25), 0); // tie between 0 and the smallest subnormal
    assert.equal(roundToHalf(3 * 2 ** -25), 2 ** -23);
    assert.equal(roundToHalf(65519), 65504);
    assert.equal(roundToHalf(65520), Infinity);
    assert.equal(roundToHalf(-1e10), -Infinity);
    assert.ok(Object.is(roundToHalf(-1e-10), -0));
    assert.equal(roundToHalf(2 ** -14 - 2 ** -26), 2 ** -14); // subnormal rounding up into the normals
  });

  it('agrees with NumPy astype(np.float16) on many doubles', function () {
    if (!hasNumpy()) this.skip(); // no numpy in /usr/bin/python3
    const out = python(`
import numpy as np, json
rng = np.random.default_rng(1)
x = np.concatenate([rng.standard_normal(3000) * 10.0 ** rng.integers(-9, 6, 3000),
                    (np.arange(2048) + 0.5) * 2.0 ** -24, np.array([65503.9, 65519.99, 65520.0, 6.1e-5])])
h = x.astype(np.float16).view(np.uint16)
print(json.dumps({"x": x.tolist(), "h": h.tolist()}))
`);
    const { x, h } = JSON.parse(out) as { x: number[]; h: number[] };
    for (let i = 0; i < x.length; i++) assert.equal(floatToHalf(x[i]), h[i], `${x[i]}`);
  });
});
