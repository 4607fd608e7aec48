// Label smoothing with class weights concentrated on one class, or of both signs, through the Engine, against
// PyTorch's float64 losses. The smoothed loss is W log(sum) + sum_c w[c] (max - x[c]); with all the weight on the
// max class it is tiny. Both SIMD kernels used to sum w[c] (x[c] - shift) with the shift far from the max
// (class 0's logit in the (C, S) kernel, the first 64 logits' max in the row kernel), rounded each term in
// float32 and subtracted W (max - shift): the result cancelled to noise, up to 6e22 where PyTorch gives 0.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Engine } from '../../../src/worker/engine/engine';
import { DIST, rng } from './helpers';

interface Case {
  readonly name: string;
  readonly shape: readonly number[];
  readonly x: Float32Array;
  readonly t: readonly number[];
  readonly w: readonly number[];
  readonly eps: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  // (C, S) layout [1, 5, 32]: class 2 the max, weighted 1000, the rest weight 0; class 0 `span` below.
  for (const span of [10.3, 300.7, 3000.1]) {
    const C = 5, S = 32, r = rng(7 + span);
    const x = new Float32Array(C * S);
    for (let s = 0; s < S; s++) {
      const m = 0.123 + r();
      for (let c = 0; c < C; c++) x[c * S + s] = m - 40 - 30 * r();
      x[s] = m - span - r();
      x[2 * S + s] = m;
    }
    out.push({ name: `[1, 5, 32], class 0 ${span} below the max`, shape: [1, C, S], x, t: new Array(S).fill(2), w: [0, 0, 1000, 0, 0], eps: 0.9 });
  }
  // Rows [8, 300]: the first 64 logits (the row kernel's first reference) `span` below, the max at class
  // 280 in the second block of 256 (the reference moves there), weighted 1000, the rest weight 0.
  for (const span of [6.3, 9.7, 100.3, 1e4 + 0.3, 1e30]) {
    for (const eps of [0.9, 1]) {
      const C = 300, N = 8, r = rng(11 + span);
      const x = new Float32Array(C * N);
      const w = new Array<number>(C).fill(0);
      w[280] = 1000;
      for (let i = 0; i < N; i++) {
        const m = 0.1234 + r() * 3;
        for (let c = 0; c < C; c++) x[i * C + c] = c < 64 ? m - span - r() : m - 40 - 30 * r();
        x[i * C + 280] = m;
      }
      out.push({ name: `[8, 300] rows, first 64 logits ${span} below, eps ${eps}`, shape: [N, C], x, t: Array.from({ length: N }, (_, i) => (i % 2 ? 280 : 5)), w, eps });
    }
  }
  // Rows [4, 3000] rising by 50.3 a block of 256 (the reference moves in every block), weights 0 but on
  // three classes (1e-4) and on the last, the max (500).
  {
    const C = 3000, N = 4, r = rng(3);
    const x = new Float32Array(C * N);
    for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) x[i * C + c] = 50.3 * Math.floor(c / 256) + 0.3 * r() - 17.1;
    const w = Array.from({ length: C }, (_, c) => (c === C - 1 ? 500 : c % 997 === 5 ? 1e-4 : 0));
    for (let i = 0; i < N; i++) x[i * C + C - 1] = x[i * C + C - 2] + 5;
    out.push({ name: '[4, 3000] rows rising by 50.3 a block', shape: [N, C], x, t: [C - 1, 10, C - 1, 2000], w, eps: 0.5 });
  }
  // Weights of both signs (PyTorch allows them): the classes' shares of the smoothed loss cancel, so each
  // x[c] - max must be exact (an f32 rounding of it gave 17x the bound on the first case, 87x on random).
  out.push({ name: '[1, 3, 1], weights 1, -1, 0', shape: [1, 3, 1], x: Float32Array.from([0.3, 0.7, 1000.1]), t: [2], w: [1, -1, 0], eps: 1 });
  out.push({
    name: '[1, 4, 1], weights of both signs', shape: [1, 4, 1],
    x: Float32Array.from([156.3917236328125, -172.76901245117188, -23.149559020996094, 513.06591796875]), t: [1],
    w: [-1.043239712715149, 1.0661472082138062, -0.6687968969345093, 1.7633558511734009], eps: 1,
  });
  {
    const C = 16, S = 20, r = rng(9);
    const normal = (): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    out.push({
      name: '[1, 16, 20], logits ~ N(0, 300^2), weights ~ N(0, 1)', shape: [1, C, S],
      x: Float32Array.from({ length: C * S }, () => 300 * normal()), t: Array.from({ length: S }, () => Math.floor(r() * C)),
      w: Array.from({ length: C }, () => Math.fround(normal())), eps: 0.7,
    });
  }
  return out;
}

function pytorch(all: readonly Case[]): number[][] {
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch, torch.nn.functional as F
out = []
for d in json.load(sys.stdin):
    sh = d["shape"]
    x = torch.tensor(d["x"], dtype=torch.float32).reshape(sh).double()
    w = torch.tensor(d["w"], dtype=torch.float32).double()
    t = torch.tensor(d["t"]).reshape([sh[0]] + sh[2:])
    out.append(F.cross_entropy(x, t, weight=w, label_smoothing=d["eps"], reduction="none").reshape(-1).tolist())
print(json.dumps(out))
`], { input: JSON.stringify(all.map((c) => ({ ...c, x: Array.from(c.x) }))), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as number[][];
}

describe('engine: label smoothing with the class weight on the max class, or of both signs', function () {
  this.timeout(120_000);
  const all = cases();
  let want: number[][] = [];
  let engine: Engine;
  before(function () {
    want = pytorch(all);
    engine = new Engine({ distDir: DIST, maxWorkers: 1 });
  });
  after(async function () {
    await engine.dispose();
  });
  all.forEach((c, k) => {
    it(`${c.name}: PyTorch's float64 losses to 2e-6 |l| + 2e-7`, async function () {
      const got = await engine.compute({
        input: { kind: 'tensor', tensor: { dtype: 'float32', shape: [...c.shape], data: c.x } },
        target: { kind: 'tensor', tensor: { dtype: 'int32', shape: [c.shape[0], ...c.shape.slice(2)], data: Int32Array.from(c.t) } },
        weight: { kind: 'tensor', tensor: { dtype: 'float32', shape: [c.w.length], data: Float32Array.from(c.w) } },
        options: { labelSmoothing: c.eps, reduction: 'none' },
      });
      assert.equal(got.engine, 'wasm-simd');
      const loss = got.maps!.loss;
      assert.equal(loss.length, want[k].length);
      for (let i = 0; i < loss.length; i++) {
        const l = want[k][i];
        assert.ok(Math.abs(loss[i] - l) <= 2e-6 * Math.abs(l) + 2e-7, `element ${i}: ${loss[i]} vs PyTorch ${l}`);
      }
    });
  });
});
