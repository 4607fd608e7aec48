// Compare Losses… (src/kernel/compare.ts): B - A per element, improved/regressed counts and per-class mean
// deltas, against a float64 reference written here element by element, and against real PyTorch on one case
// (test/fixtures/compare, written by make_compare_fixtures.py with torch 1.13).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareLossMaps } from '../../../src/kernel/compare';
import { decodeNpy } from '../../../src/tensor/binary/npy';

const FIX = path.resolve(__dirname, '../../fixtures/compare');

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface Ref {
  delta: number[];
  improved: number;
  regressed: number;
  perClass: Array<{ class: number; meanA: number; meanB: number; deltaMeanLoss: number }>;
}

/** The reference: per class, collect the elements and average them (a different shape of loop on purpose). */
function reference(a: number[], b: number[], t: number[], ign: boolean[], C: number): Ref {
  const delta = a.map((x, i) => (ign[i] ? NaN : b[i] - x));
  let improved = 0;
  let regressed = 0;
  for (let i = 0; i < a.length; i++) {
    if (ign[i] || Number.isNaN(a[i]) || Number.isNaN(b[i])) continue;
    if (b[i] < a[i]) improved++;
    if (b[i] > a[i]) regressed++;
  }
  const perClass = [];
  for (let c = 0; c < C; c++) {
    const idx = t.map((v, i) => (v === c && !ign[i] ? i : -1)).filter((i) => i >= 0);
    const mean = (xs: number[]): number => (idx.length ? idx.reduce((s, i) => s + xs[i], 0) / idx.length : NaN);
    perClass.push({ class: c, meanA: mean(a), meanB: mean(b), deltaMeanLoss: mean(b) - mean(a) });
  }
  return { delta, improved, regressed, perClass };
}

function near(actual: number, want: number, tol: number, what: string): void {
  if (Number.isNaN(want)) assert.ok(Number.isNaN(actual), `${what}: ${actual} should be NaN`);
  else if (!Number.isFinite(want)) assert.equal(actual, want, what);
  else assert.ok(Math.abs(actual - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${actual} != ${want}`);
}

describe('compareLossMaps (src/kernel/compare.ts)', function () {
  it('matches the float64 reference on random maps with ignored, NaN and infinite losses', function () {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = lcg(seed);
      const n = 500 + Math.floor(r() * 500);
      const C = 1 + Math.floor(r() * 12);
      const pick = (): number => {
        const u = r();
        return u < 0.02 ? NaN : u < 0.03 ? Infinity : u < 0.1 ? 0 : r() * 5;
      };
      const a = Array.from({ length: n }, pick);
      // Some elements equal in both runs: neither improved nor regressed.
      const b = a.map((x) => (r() < 0.1 ? x : pick()));
      const ign = Array.from({ length: n }, () => r() < 0.1);
      const t = ign.map((g) => (g ? -100 : Math.floor(r() * C)));
      const got = compareLossMaps({ lossA: Float64Array.from(a), lossB: Float64Array.from(b), targetClass: Int32Array.from(t), ignored: Uint8Array.from(ign, Number), numClasses: C });
      const want = reference(a, b, t, ign, C);
      assert.equal(got.improved, want.improved, `seed ${seed} improved`);
      assert.equal(got.regressed, want.regressed, `seed ${seed} regressed`);
      assert.equal(got.delta.length, n);
      for (let i = 0; i < n; i++) near(got.delta[i], Math.fround(want.delta[i]), 0, `seed ${seed} delta[${i}]`);
      assert.equal(got.perClass.length, C);
      for (let c = 0; c < C; c++) {
        assert.equal(got.perClass[c].class, c);
        near(got.perClass[c].meanA, want.perClass[c].meanA, 1e-12, `seed ${seed} meanA[${c}]`);
        near(got.perClass[c].meanB, want.perClass[c].meanB, 1e-12, `seed ${seed} meanB[${c}]`);
        near(got.perClass[c].deltaMeanLoss, want.perClass[c].deltaMeanLoss, 1e-12, `seed ${seed} delta mean[${c}]`);
      }
    }
  });

  it('counts NaN on either side in neither improved nor regressed, and a class without elements is NaN', function () {
    const got = compareLossMaps({
      lossA: [1, NaN, 2, 3, 5, 1],
      lossB: [0.5, 1, NaN, 4, 5, 9],
      targetClass: [0, 0, 1, 1, 0, 2],
      ignored: [0, 0, 0, 0, 0, 1],
      numClasses: 4,
    });
    assert.equal(got.improved, 1);
    assert.equal(got.regressed, 1);
    assert.ok(Number.isNaN(got.delta[5]), 'ignored element delta');
    assert.equal(got.delta[0], -0.5);
    assert.equal(got.delta[4], 0);
    // Class 2's only element is ignored; class 3 has none.
    assert.ok(Number.isNaN(got.perClass[2].meanA) && Number.isNaN(got.perClass[2].deltaMeanLoss));
    assert.ok(Number.isNaN(got.perClass[3].meanB));
  });

  it('refuses maps of different lengths', function () {
    assert.throws(() => compareLossMaps({ lossA: [1, 2], lossB: [1], targetClass: [0, 0], ignored: [0, 0], numClasses: 1 }), /different lengths/);
  });

  it('handles C = 0 and empty maps', function () {
    const got = compareLossMaps({ lossA: [], lossB: [], targetClass: [], ignored: [], numClasses: 0 });
    assert.deepEqual([got.improved, got.regressed, got.delta.length, got.perClass.length], [0, 0, 0, 0]);
  });

  for (const name of ['plain', 'weighted'] as const) {
    it(`equals PyTorch's numbers on the fixture (${name})`, function () {
      const exp = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as Record<string, unknown>;
      const e = exp[name] as { lossA: number[]; lossB: number[]; deltaMap: Array<number | null>; improved: number; regressed: number; perClass: Array<{ meanA: number | null; meanB: number | null; deltaMeanLoss: number | null }> };
      const t = decodeNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 't.npy'))));
      const ignoreIndex = exp.ignoreIndex as number;
      const tc = Int32Array.from(t.data as ArrayLike<number>);
      const got = compareLossMaps({ lossA: e.lossA, lossB: e.lossB, targetClass: tc, ignored: Uint8Array.from(tc, (v) => Number(v === ignoreIndex)), numClasses: 4 });
      assert.equal(got.improved, e.improved);
      assert.equal(got.regressed, e.regressed);
      e.deltaMap.forEach((d, i) => near(got.delta[i], d === null ? NaN : d, 1e-6, `delta[${i}]`));
      e.perClass.forEach((c, k) => {
        near(got.perClass[k].meanA, c.meanA ?? NaN, 1e-12, `meanA[${k}]`);
        near(got.perClass[k].meanB, c.meanB ?? NaN, 1e-12, `meanB[${k}]`);
        near(got.perClass[k].deltaMeanLoss, c.deltaMeanLoss ?? NaN, 1e-12, `deltaMeanLoss[${k}]`);
      });
    });
  }
});
