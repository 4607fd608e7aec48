// The exact percentile of src/eval/runs/percentile.ts against NumPy 1.24's np.percentile (default method) of
// the same float32 values as float64, which must agree to the bit: both take the same two order statistics
// and mix them with the same _lerp. Sets are made to hit the corners: one value, two, heavy ties, the two
// ranks in different level-1 bins and in one, negative values and both zeros, infinities, a NaN.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { keyValue, LossHistogram, orderKey, PercentileSelection } from '../../../src/eval/runs/percentile';

const PY = '/usr/bin/python3';

function numpyPercentiles(sets: readonly Float32Array[], q: number): Array<number | null> {
  const code = [
    'import json, sys, numpy as np',
    'sets = json.loads(sys.stdin.read())',
    'out = []',
    'for s in sets:',
    '    a = np.array([float(v) for v in s], dtype=np.float32).astype(np.float64)',
    `    out.append(None if a.size == 0 else repr(float(np.percentile(a, ${q}))))`,
    'print(json.dumps(out))',
  ].join('\n');
  // Values as strings: JSON has no NaN or infinities, and float(repr) is exact for a float32 as a double.
  const input = JSON.stringify(sets.map((s) => Array.from(s, (v) => String(v).replace('Infinity', 'inf'))));
  const r = spawnSync(PY, ['-c', code], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as Array<string | null>).map((v) => (v === null ? null : Number(v.replace('inf', 'Infinity').replace('nan', 'NaN'))));
}

/** Ours, with the values split into "images" that are passed through twice as the CLI does. */
function ours(values: Float32Array, q: number, pieces = 3): number | null {
  const parts: Uint32Array[] = [];
  const step = Math.max(1, Math.ceil(values.length / pieces));
  for (let i = 0; i < values.length; i += step) parts.push(new Uint32Array(values.slice(i, i + step).buffer));
  const h = new LossHistogram();
  for (const p of parts) h.add(p);
  const sel = new PercentileSelection(h, q);
  if (sel.needsValues) for (const p of parts) sel.add(p);
  return sel.result();
}

/** A deterministic generator (no Math.random: failures reproduce). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sets(): Float32Array[] {
  const r = rng(7);
  const out: Float32Array[] = [
    Float32Array.of(2.5),
    Float32Array.of(1, 3),
    Float32Array.of(3, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2),
    Float32Array.of(-0, 0, -0, 0, 1e-30, 5),
    Float32Array.of(-3, -1.5, -2, -7, 0.25),
    Float32Array.of(0.1, 0.2, Infinity, Infinity, Infinity, Infinity, Infinity, Infinity, Infinity, Infinity),
    Float32Array.of(1, 2, 3, Infinity),
    Float32Array.of(1, 2, NaN, 3),
  ];
  // Losses-like: most values small, a long tail; sizes whose (n - 1) * 0.9 has every kind of fraction.
  for (const n of [10, 11, 12, 19, 101, 1000, 4097, 20001]) out.push(Float32Array.from({ length: n }, () => -Math.log(1 - r() * 0.999)));
  // Few distinct values (ties at the ranks).
  out.push(Float32Array.from({ length: 5000 }, () => Math.floor(r() * 4) * 0.5));
  // The two ranks one ulp apart in one level-1 bin, and in two bins (a gap at the 90th percentile).
  out.push(Float32Array.from({ length: 1001 }, (_, i) => 1 + i * 2 ** -23));
  out.push(Float32Array.from({ length: 1001 }, (_, i) => (i < 901 ? 1 + r() * 1e-3 : 3 + r())));
  return out;
}

describe('runs: exact percentile from float32 bit histograms', () => {
  it('orderKey orders float32 values as numbers and keyValue inverts it', () => {
    const vals = Float32Array.of(-Infinity, -3.5, -1e-30, -0, 0, 1e-45, 1e-30, 1, 1.0000001, 3.4e38, Infinity);
    const bits = new Uint32Array(vals.buffer);
    for (let i = 1; i < vals.length; i++) assert.ok(orderKey(bits[i - 1]) < orderKey(bits[i]), `${vals[i - 1]} before ${vals[i]}`);
    for (let i = 0; i < vals.length; i++) assert.ok(Object.is(keyValue(orderKey(bits[i])), vals[i]), `${vals[i]} round trip`);
  });

  for (const q of [90, 50, 0, 100, 37.5]) {
    it(`np.percentile(a, ${q}) to the bit on ${sets().length} sets`, () => {
      const all = sets();
      const want = numpyPercentiles(all, q);
      all.forEach((s, k) => {
        const got = ours(s, q);
        if (want[k] === null) assert.equal(got, null);
        else assert.ok(Object.is(got, want[k]) || (Number.isNaN(got) && Number.isNaN(want[k])), `set ${k} (n=${s.length}): ${got} vs NumPy ${want[k]}`);
      });
    });
  }

  it('no values: null', () => {
    assert.equal(ours(new Float32Array(0), 90), null);
  });
});
