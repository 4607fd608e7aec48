// The boundary band against its definition applied literally (a set of distinct non-ignored labels per
// clipped window), and the cases where min/max of raw labels would go wrong.
import * as assert from 'node:assert/strict';
import { boundaryBand, boundaryBandNaive } from '../../../src/eval/boundary';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('eval boundary band', () => {
  it('equals the literal definition on random maps with ignored pixels, for several widths and shapes', () => {
    const rnd = lcg(42);
    for (const [H, W] of [[1, 1], [1, 9], [7, 1], [5, 8], [13, 11], [16, 16]]) {
      for (const ignoreIndex of [255, -1, 0]) {
        // Blocky maps (long runs of one label) with some ignored pixels.
        const t = new Int32Array(H * W);
        let cur = 0;
        for (let i = 0; i < t.length; i++) {
          if (rnd() < 0.15) cur = Math.floor(rnd() * 4);
          t[i] = rnd() < 0.12 ? ignoreIndex : cur;
        }
        for (const w of [0, 1, 2, 3, 5, 20]) {
          assert.deepEqual(boundaryBand(t, H, W, w, ignoreIndex), boundaryBandNaive(t, H, W, w, ignoreIndex), `H=${H} W=${W} w=${w} ignore=${ignoreIndex}`);
        }
      }
    }
  });

  it('ignored pixels do not make a band (raw min/max would)', () => {
    // One label next to a void region: a single distinct non-ignored label in every window.
    const t = Int32Array.from([3, 3, 255, 255, 3, 3, 255, 255]);
    assert.deepEqual(Array.from(boundaryBand(t, 2, 4, 1, 255)), [0, 0, 0, 0, 0, 0, 0, 0]);
    // Two labels separated by a void column still meet in a window of half width 2, not 1.
    const u = Int32Array.from([1, 255, 2]);
    assert.deepEqual(Array.from(boundaryBand(u, 1, 3, 1, 255)), [0, 1, 0]);
    assert.deepEqual(Array.from(boundaryBand(u, 1, 3, 2, 255)), [1, 1, 1]);
    // The window is clipped at the edge, not padded.
    const v = Int32Array.from([0, 0, 0, 0, 1]);
    assert.deepEqual(Array.from(boundaryBand(v, 1, 5, 1, 255)), [0, 0, 0, 1, 1]);
  });

  it('runs in time independent of w (a 512 x 512 map with w = 50 well under a second)', () => {
    const H = 512;
    const W = 512;
    const t = Int32Array.from({ length: H * W }, (_, i) => ((i % W) >> 5) + ((Math.floor(i / W) >> 6) << 4));
    const t0 = performance.now();
    const band = boundaryBand(t, H, W, 50, 255);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    // Column x: labels change every 32 columns, so with w = 50 every window holds two labels.
    assert.equal(band.reduce((a, b) => a + b, 0), H * W);
  });
});
