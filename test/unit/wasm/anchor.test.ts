// The bench's arithmetic anchor (src/wasm/anchor.ts): its exp is the cross-entropy kernel's polynomial
// (the same coefficients as ce.ts's exp2c, read from both sources) evaluated as float32 operations, and its
// sum is the sum of those values, so `npm run bench`'s kernel-to-anchor ratio compares like with like.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

/** The numeric literals of the function `name` in an AssemblyScript source, in order. */
function literalsOf(file: string, name: string): number[] {
  const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const at = src.indexOf(`function ${name}(`);
  assert.ok(at >= 0, `${file} has no function ${name}`);
  const end = src.indexOf('\n}', at);
  return [...src.slice(at, end).matchAll(/splat\((-?[\d.]+(?:e-?\d+)?)\)/g)].map((m) => Number(m[1]));
}

const f = Math.fround;

/** exp2c of ce.ts for one lane, each float32 operation rounded as the SIMD one is. */
function exp2cLane(y0: number, c: readonly number[], deg5: boolean): number {
  const y = Math.max(y0, -125);
  const r = f(y + 12582912);
  const n = r - 12582912;
  const fr = f(y - n);
  let q: number;
  if (deg5) {
    q = f(f(f(c[0]) * fr) + f(c[1]));
    for (const k of [2, 3, 4]) q = f(f(q * fr) + f(c[k]));
  } else {
    q = f(f(f(c[0]) * fr) + f(c[1]));
    for (const k of [2, 3]) q = f(f(q * fr) + f(c[k]));
  }
  q = f(f(q * fr) + 1);
  return f(q * 2 ** n);
}

describe('wasm arithmetic anchor (bench)', function () {
  this.timeout(60_000);
  let exports: { expSum(p: number, n: number, deg5: number): number; expEach(s: number, d: number, n: number, deg5: number): void };
  let memory: WebAssembly.Memory;

  before(function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-anchor-'));
    const file = path.join(dir, 'anchor.wasm');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-wasm.mjs'), '--anchor', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `building the anchor failed: ${r.stderr}`);
    memory = new WebAssembly.Memory({ initial: 16 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), { env: { memory } });
    exports = inst.exports as unknown as typeof exports;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uses the coefficients of the kernel\'s exp2c, both degrees', function () {
    const ce = literalsOf('src/wasm/ce.ts', 'exp2c');
    const anchor = literalsOf('src/wasm/anchor.ts', 'exp2c');
    assert.ok(ce.length >= 12, `ce.ts exp2c's literals: ${ce.join(', ')}`);
    assert.deepEqual(anchor, ce, 'anchor.ts exp2c has the literals of ce.ts exp2c, in order');
  });

  it('computes each exp as the polynomial in float32 does, and sums them', function () {
    const lits = literalsOf('src/wasm/anchor.ts', 'exp2c');
    // splat literals in order: 1, -125, 1.5*2^23 (twice), then degree 5's five and degree 4's four.
    const deg5 = lits.slice(4, 9);
    const deg4 = lits.slice(9, 13);
    assert.equal(deg5.length, 5, `degree-5 coefficients ${deg5.join(', ')}`);
    assert.equal(deg4.length, 4, `degree-4 coefficients ${deg4.join(', ')}`);
    const n = 4096;
    const x = new Float32Array(memory.buffer, 1024, n);
    let s = 0x9e3779b9;
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      // The kernel calls exp2c with arguments up to 127 (x up to 88): larger ones are outside its contract.
      x[i] = ((s >>> 0) / 2 ** 32 - 0.5) * (i < 64 ? 170 : 30);
    }
    x.set([0, -0, 1, -1, 88, -87, -100, -1e30], 0);
    const out = new Float32Array(memory.buffer, 1024 + n * 4, n);
    for (const [deg, c] of [[1, deg5], [0, deg4]] as const) {
      exports.expEach(x.byteOffset, out.byteOffset, n, deg);
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) if (!Object.is(out[i], exp2cLane(f(x[i] * f(Math.LOG2E)), c, deg === 1))) bad = i;
      assert.equal(bad, -1, bad < 0 ? '' : `degree ${deg ? 5 : 4}: exp(${x[bad]}) = ${out[bad]}, the float32 polynomial gives ${exp2cLane(f(x[bad] * f(Math.LOG2E)), c, deg === 1)}`);
      let want = 0;
      for (let i = 0; i < n; i++) want += out[i];
      const got = exports.expSum(x.byteOffset, n, deg);
      assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want), `degree ${deg ? 5 : 4}: sum ${got} against ${want}`);
      assert.ok(Math.abs(want / [...x].reduce((a, v) => a + Math.exp(v), 0) - 1) < 1e-5, `degree ${deg ? 5 : 4}: the sum is the sum of exp`);
    }
  });
});
