// Colormap tables and the class palette.
import * as assert from 'node:assert/strict';
import { COLORMAPS, colormapFloats, colormapLUT, gradientCss, lutColor, NAN_RGBA } from '../../../../media/view/render/colormap';
import { classColor, deltaE, hexToRgb, INVALID_CLASS_RGB, PALETTE } from '../../../../media/view/render/palette';

describe('view: colormaps', function () {
  it('has 256 entries per map, opaque', function () {
    for (const name of COLORMAPS) {
      assert.equal(colormapFloats(name).length, 768, name);
      const lut = colormapLUT(name);
      assert.equal(lut.length, 1024, name);
      for (let i = 0; i < 256; i++) assert.equal(lut[i * 4 + 3], 255);
    }
  });

  it('matches the published viridis, magma and turbo values', function () {
    // Float entries as matplotlib's _cm_listed.py (and Google's turbo table) publish them.
    const f = (name: 'viridis' | 'magma' | 'turbo', i: number): number[] => colormapFloats(name).slice(i * 3, i * 3 + 3);
    assert.deepEqual(f('viridis', 0), [0.267004, 0.004874, 0.329415]);
    assert.deepEqual(f('viridis', 128), [0.127568, 0.566949, 0.550556]);
    assert.deepEqual(f('viridis', 255), [0.993248, 0.906157, 0.143936]);
    assert.deepEqual(f('magma', 0), [0.001462, 0.000466, 0.013866]);
    assert.deepEqual(f('magma', 255), [0.987053, 0.991438, 0.749504]);
    assert.deepEqual(f('turbo', 0), [0.18995, 0.07176, 0.23217]);
    assert.deepEqual(f('turbo', 255), [0.4796, 0.01583, 0.01055]);
    // Bytes: the familiar hex values (#440154, #3b528b, #21918c, #fde725) and Google's 8-bit turbo.
    assert.deepEqual(lutColor('viridis', 0), [0x44, 0x01, 0x54]);
    assert.deepEqual(lutColor('viridis', 64), [0x3b, 0x52, 0x8b]);
    assert.deepEqual(lutColor('viridis', 128), [0x21, 0x91, 0x8c]);
    assert.deepEqual(lutColor('viridis', 255), [0xfd, 0xe7, 0x25]);
    assert.deepEqual(lutColor('magma', 0), [0, 0, 4]);
    assert.deepEqual(lutColor('magma', 128), [183, 55, 121]);
    assert.deepEqual(lutColor('magma', 255), [252, 253, 191]);
    assert.deepEqual(lutColor('turbo', 0), [48, 18, 59]);
    assert.deepEqual(lutColor('turbo', 64), [40, 188, 235]);
    assert.deepEqual(lutColor('turbo', 128), [164, 252, 60]);
    assert.deepEqual(lutColor('turbo', 255), [122, 4, 3]);
  });

  it('gray is the identity ramp', function () {
    for (const i of [0, 1, 127, 128, 254, 255]) assert.deepEqual(lutColor('gray', i), [i, i, i]);
  });

  it('viridis and magma rise monotonically in lightness', function () {
    for (const name of ['viridis', 'magma'] as const) {
      let prev = -1;
      for (let i = 0; i < 256; i += 15) {
        const [r, g, b] = lutColor(name, i);
        const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        assert.ok(l > prev, `${name} ${i}`);
        prev = l;
      }
    }
  });

  it('NaN colour is not in any colormap', function () {
    for (const name of COLORMAPS) {
      for (let i = 0; i < 256; i++) assert.ok(deltaE(lutColor(name, i), [NAN_RGBA[0], NAN_RGBA[1], NAN_RGBA[2]]) > 20, `${name} ${i}`);
    }
  });

  it('builds a CSS gradient from the table ends', function () {
    const css = gradientCss('viridis', 3);
    assert.equal(css, 'linear-gradient(to right, rgb(68, 1, 84) 0.00%, rgb(33, 145, 140) 50.00%, rgb(253, 231, 37) 100.00%)');
  });
});

describe('view: class palette', function () {
  it('has at least 20 clearly distinct colours', function () {
    assert.ok(PALETTE.length >= 20);
    let min = Infinity;
    for (let i = 0; i < PALETTE.length; i++) {
      for (let j = i + 1; j < PALETTE.length; j++) min = Math.min(min, deltaE(PALETTE[i], PALETTE[j]));
    }
    assert.ok(min > 10, `closest pair differs by ${min.toFixed(1)} (CIE76)`);
    assert.equal(new Set(PALETTE.map((c) => c.join(','))).size, PALETTE.length);
  });

  it('cycles for more classes and keeps invalid classes black', function () {
    assert.deepEqual(classColor(0), hexToRgb('#1f77b4'));
    assert.deepEqual(classColor(PALETTE.length), classColor(0));
    assert.deepEqual(classColor(PALETTE.length * 3 + 5), classColor(5));
    assert.deepEqual(classColor(-1), INVALID_CLASS_RGB);
    assert.deepEqual(classColor(1.5), INVALID_CLASS_RGB);
  });

  it('measures colour difference as CIE76', function () {
    assert.equal(deltaE([10, 20, 30], [10, 20, 30]), 0);
    assert.ok(Math.abs(deltaE([0, 0, 0], [255, 255, 255]) - 100) < 0.01);
  });
});
