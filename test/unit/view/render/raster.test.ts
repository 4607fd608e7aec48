// Rasterization of every view mode on a tiny hand-made map, checked byte for byte.
import * as assert from 'node:assert/strict';
import { lutColor } from '../../../../media/view/render/colormap';
import { hexToRgb } from '../../../../media/view/render/palette';
import {
  COLORS, geometryFor, modeDomain, multiIndex, probabilityThumbnail, rasterize, sliceAndIndex, wrapWidth, downsample,
  type MapArrays, type RasterOptions, type ViewMode,
} from '../../../../media/view/render/raster';

// 2 x 3 map:   0 1 2
//              3 4 5
const maps: MapArrays = {
  loss: Float32Array.from([0, 1, 2, NaN, Infinity, 0]),
  target: Int32Array.from([0, 1, 1, 2, 0, 255]),
  predicted: Int32Array.from([0, 2, 1, 2, 1, 3]),
  ignored: Uint8Array.from([0, 0, 0, 0, 0, 1]),
  pTarget: Float32Array.from([0.9, 0.1, 0.5, 1, 0, NaN]),
};
const g = geometryFor([2, 3])!;

function draw(mode: ViewMode, extra: Partial<RasterOptions> = {}): (i: number) => number[] {
  const domain = modeDomain(maps, { mode, scale: 'linear', clip: 100, classFilter: extra.classFilter ?? null });
  const rgba = rasterize(maps, g, 0, { mode, colormap: 'viridis', classFilter: null, showIgnored: true, domain, ...extra });
  assert.equal(rgba.length, 6 * 4);
  return (i) => Array.from(rgba.slice(i * 4, i * 4 + 4));
}
const v = (i: number): number[] => [...lutColor('viridis', i), 255];
const pal = (hex: string): number[] => [...hexToRgb(hex), 255];
const MASKED = [0, 0, 0, 0];

describe('view: rasterization', function () {
  it('loss: colormap over non-ignored finite values, NaN magenta, +Inf at the top', function () {
    const px = draw('loss');
    assert.deepEqual(px(0), v(0));
    assert.deepEqual(px(1), v(128));
    assert.deepEqual(px(2), v(255));
    assert.deepEqual(px(3), [255, 0, 255, 255]);
    assert.deepEqual(px(4), v(255));
    assert.deepEqual(px(5), [...COLORS.ignoredDark]); // (x 2 + y 1) & 2 set: dark stripe
    const plain = draw('loss', { showIgnored: false });
    assert.deepEqual(plain(5), v(0));
  });

  it('ignored stripes alternate along diagonals', function () {
    const all = { ...maps, ignored: Uint8Array.from([1, 1, 1, 1, 1, 1]) };
    const rgba = rasterize(all, g, 0, { mode: 'loss', colormap: 'gray', classFilter: null, showIgnored: true, domain: null });
    const at = (i: number): number[] => Array.from(rgba.slice(i * 4, i * 4 + 4));
    assert.deepEqual(at(0), [...COLORS.ignoredLight]); // x0 y0
    assert.deepEqual(at(1), [...COLORS.ignoredLight]); // x1 y0
    assert.deepEqual(at(2), [...COLORS.ignoredDark]); // x2 y0
    assert.deepEqual(at(3), [...COLORS.ignoredLight]); // x0 y1
    assert.deepEqual(at(4), [...COLORS.ignoredDark]); // x1 y1
  });

  it('loss restricted to a class: domain within the class, other classes transparent', function () {
    const px = draw('classLoss', { classFilter: 1 });
    assert.deepEqual(px(0), MASKED);
    assert.deepEqual(px(1), v(0)); // loss 1 is the class minimum
    assert.deepEqual(px(2), v(255)); // loss 2 the class maximum
    assert.deepEqual(px(3), MASKED);
    assert.deepEqual(px(5), MASKED);
    // The same filter in plain loss mode keeps the global domain.
    const global = draw('loss', { classFilter: 1 });
    assert.deepEqual(global(1), v(128));
    assert.deepEqual(global(0), MASKED);
  });

  it('p(target): fixed 0..1 scale', function () {
    const px = draw('pTarget', { showIgnored: false });
    assert.deepEqual(px(0), v(230));
    assert.deepEqual(px(1), v(25));
    assert.deepEqual(px(2), v(128));
    assert.deepEqual(px(3), v(255));
    assert.deepEqual(px(4), v(0));
    assert.deepEqual(px(5), [255, 0, 255, 255]);
  });

  it('predicted and target classes use the palette', function () {
    const p = draw('predicted');
    assert.deepEqual(p(0), pal('#1f77b4'));
    assert.deepEqual(p(1), pal('#2ca02c'));
    assert.deepEqual(p(2), pal('#ff7f0e'));
    assert.deepEqual(p(5), [...COLORS.ignoredDark]);
    const t = draw('target', { showIgnored: false });
    assert.deepEqual(t(3), pal('#2ca02c'));
    assert.deepEqual(t(5), pal('#c49c94')); // 255 cycles to palette entry 15
  });

  it('error map: correct, wrong, ignored', function () {
    const px = draw('error');
    assert.deepEqual(px(0), [...COLORS.correct]);
    assert.deepEqual(px(1), [...COLORS.wrong]);
    assert.deepEqual(px(2), [...COLORS.correct]);
    assert.deepEqual(px(4), [...COLORS.wrong]);
    assert.deepEqual(px(5), [...COLORS.ignoredDark]);
    assert.deepEqual(draw('error', { showIgnored: false })(5), MASKED);
  });

  it('probability of a class from the class maps', function () {
    const plane = Float32Array.from([0, 0.25, 0.5, 0.75, 1, NaN]);
    const px = draw('classProb', { classProb: plane, showIgnored: false, classFilter: 1 });
    assert.deepEqual(px(0), v(0)); // the class filter does not mask class probabilities
    assert.deepEqual(px(1), v(64));
    assert.deepEqual(px(3), v(192));
    assert.deepEqual(px(4), v(255));
    assert.deepEqual(px(5), [255, 0, 255, 255]);
  });

  it('log scale and clipping reach the pixels', function () {
    const m: MapArrays = { ...maps, loss: Float32Array.from([0.01, 0.1, 1, 10, 100, 0]), ignored: new Uint8Array(6) };
    const d = modeDomain(m, { mode: 'loss', scale: 'log', clip: 100, classFilter: null });
    const rgba = rasterize(m, g, 0, { mode: 'loss', colormap: 'gray', classFilter: null, showIgnored: true, domain: d });
    assert.deepEqual(Array.from(rgba.slice(8, 12)), [128, 128, 128, 255]); // 1 is the geometric middle
    assert.deepEqual(Array.from(rgba.slice(20, 24)), [0, 0, 0, 255]); // 0 sits below a log scale
    const clipped = modeDomain(m, { mode: 'loss', scale: 'linear', clip: 50, classFilter: null });
    assert.ok(Math.abs((clipped?.max ?? 0) - 0.55) < 1e-6); // median of [0.01, 0.1, 1, 10, 100, 0] in float32
  });

  it('3-D samples draw the chosen slice', function () {
    const g3 = geometryFor([2, 2, 3])!;
    assert.equal(g3.slices, 2);
    assert.equal(g3.count, 6);
    const m: MapArrays = {
      loss: Float32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2]), target: new Int32Array(12), predicted: new Int32Array(12),
      ignored: new Uint8Array(12), pTarget: null,
    };
    const d = modeDomain(m, { mode: 'loss', scale: 'linear', clip: 100, classFilter: null });
    const rgba = rasterize(m, g3, 1, { mode: 'loss', colormap: 'gray', classFilter: null, showIgnored: true, domain: d });
    assert.deepEqual(Array.from(rgba.slice(0, 4)), [128, 128, 128, 255]);
    assert.deepEqual(Array.from(rgba.slice(20, 24)), [255, 255, 255, 255]);
    assert.deepEqual(multiIndex(g3, 1, 5), [1, 1, 2]);
    assert.deepEqual(sliceAndIndex(g3, [1, 1, 2]), [1, 5]);
  });

  it('wraps 1-D maps (the classification strip) and leaves the tail transparent', function () {
    assert.equal(wrapWidth(5), 5);
    assert.equal(wrapWidth(64), 64);
    assert.equal(wrapWidth(100), 20);
    const gs = geometryFor([70])!;
    assert.equal(gs.wrapped, true);
    assert.equal(gs.width, 17);
    assert.equal(gs.height, 5);
    assert.equal(gs.count, 70);
    const m: MapArrays = { loss: new Float32Array(70).fill(1), target: new Int32Array(70), predicted: new Int32Array(70), ignored: new Uint8Array(70), pTarget: null };
    const rgba = rasterize(m, gs, 0, { mode: 'error', colormap: 'viridis', classFilter: null, showIgnored: true, domain: null });
    assert.equal(rgba.length, 17 * 5 * 4);
    assert.deepEqual(Array.from(rgba.slice(69 * 4, 70 * 4)), [...COLORS.correct]);
    assert.deepEqual(Array.from(rgba.slice(70 * 4, 71 * 4)), [0, 0, 0, 0]);
    assert.deepEqual(multiIndex(gs, 0, 42), [42]);
    assert.deepEqual(sliceAndIndex(gs, [42]), [0, 42]);
  });

  it('rejects empty shapes', function () {
    assert.equal(geometryFor([]), null);
    assert.equal(geometryFor([0, 4]), null);
  });

  it('draws thumbnails by nearest neighbour', function () {
    const g8 = geometryFor([8, 8])!;
    const plane = Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 0 : 1));
    const t = probabilityThumbnail(plane, g8, 0, 'gray', 4);
    assert.equal(t.width, 4);
    assert.equal(t.height, 4);
    assert.deepEqual(Array.from(t.rgba.slice(0, 4)), [0, 0, 0, 255]);
    assert.deepEqual(Array.from(t.rgba.slice(12, 16)), [255, 255, 255, 255]);
    const d = downsample(new Uint8ClampedArray(8 * 8 * 4).fill(9), 8, 8, 2);
    assert.equal(d.width, 2);
    assert.equal(d.rgba[0], 9);
  });

  it('reuses an output buffer of the right size', function () {
    const buf = new Uint8ClampedArray(24).fill(7);
    const out = rasterize(maps, g, 0, { mode: 'error', colormap: 'viridis', classFilter: null, showIgnored: false, domain: null }, buf);
    assert.equal(out, buf);
    assert.deepEqual(Array.from(out.slice(20, 24)), [0, 0, 0, 0]);
  });

  it('rasterizes a 512 x 512 map quickly, in time linear in the pixels', function () {
    const n = 512 * 512;
    const big: MapArrays = {
      loss: Float32Array.from({ length: n }, (_, i) => (i % 977) / 97), target: Int32Array.from({ length: n }, (_, i) => i % 21),
      predicted: Int32Array.from({ length: n }, (_, i) => (i * 7) % 21), ignored: Uint8Array.from({ length: n }, (_, i) => (i % 50 === 0 ? 1 : 0)),
      pTarget: null,
    };
    const time = (maps: MapArrays, side: number): number => {
      const g = geometryFor([side, side])!;
      let best = Infinity;
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        const d = modeDomain(maps, { mode: 'loss', scale: 'linear', clip: 99, classFilter: null });
        rasterize(maps, g, 0, { mode: 'loss', colormap: 'turbo', classFilter: null, showIgnored: true, domain: d });
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const m = 256 * 256;
    const quarter: MapArrays = {
      loss: Float32Array.from({ length: m }, (_, i) => (i % 977) / 97), target: Int32Array.from({ length: m }, (_, i) => i % 21),
      predicted: Int32Array.from({ length: m }, (_, i) => (i * 7) % 21), ignored: Uint8Array.from({ length: m }, (_, i) => (i % 50 === 0 ? 1 : 0)),
      pTarget: null,
    };
    const small = time(quarter, 256);
    const ms = time(big, 512);
    // 400 ms is the design's figure; the bound is 3x that (a loaded CI machine), and 4x the pixels may cost
    // at most 8x the time of the quarter-size map measured just before (a quadratic step would cost 16x).
    assert.ok(ms < 1200, `took ${ms.toFixed(0)} ms`);
    assert.ok(ms < Math.max(8 * small, 40), `512x512 took ${ms.toFixed(1)} ms, 256x256 ${small.toFixed(1)} ms`);
  });
});
