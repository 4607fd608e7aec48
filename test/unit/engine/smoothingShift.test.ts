// Label smoothing with a class-0 logit far below the max and a zero weight on class 0 (a live parity seed,
// PARITY_SEED=1393115034, case ce-huge-002): the SIMD kernel's smoothing sum, shifted by x[class 0],
// cancelled to 0 where PyTorch's loss is 0.0357. The sum is now taken against each pixel's max, where no
// term cancels (smoothingWeights.test.ts has the general case); PyTorch's float64 values through the Engine.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Engine } from '../../../src/worker/engine/engine';
import { DIST } from './helpers';

describe('engine: label smoothing when class 0 is far below the max', function () {
  this.timeout(60_000);
  it('gives PyTorch\'s per-pixel losses (weight 0 on class 0, its logit -1e30 or -1e5)', async function () {
    // [1, 3, 16] float32: 16 pixels, some with x0 = -1e30 or -1e5, the rest ordinary.
    const x = new Float32Array(48);
    for (let s = 0; s < 16; s++) {
      x[s] = s % 3 === 0 ? -1e30 : s % 3 === 1 ? -1e5 : 0.25 * s - 2;
      x[16 + s] = Math.sin(s) * 0.5;
      x[32 + s] = Math.cos(s) * 0.4;
    }
    const t = Array.from({ length: 16 }, (_, s) => s % 2);
    const w = [0, 0.42554147, 1.22975622];
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch, torch.nn.functional as F
d = json.load(sys.stdin)
x = torch.tensor(d["x"], dtype=torch.float32).reshape(1, 3, 16).double()
l = F.cross_entropy(x, torch.tensor([d["t"]]), weight=torch.tensor(d["w"], dtype=torch.float32).double(), label_smoothing=0.1, reduction="none")
print(json.dumps(l.reshape(-1).tolist()))
`], { input: JSON.stringify({ x: Array.from(x), t, w }), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const want = JSON.parse(r.stdout) as number[];
    const engine = new Engine({ distDir: DIST, maxWorkers: 1 });
    try {
      const got = await engine.compute({
        input: { kind: 'tensor', tensor: { dtype: 'float32', shape: [1, 3, 16], data: x } },
        target: { kind: 'tensor', tensor: { dtype: 'int32', shape: [1, 16], data: Int32Array.from(t) } },
        weight: { kind: 'tensor', tensor: { dtype: 'float32', shape: [3], data: Float32Array.from(w) } },
        options: { labelSmoothing: 0.1, reduction: 'none' },
      });
      assert.equal(got.engine, 'wasm-simd');
      const loss = got.maps!.loss;
      for (let s = 0; s < 16; s++) assert.ok(Math.abs(loss[s] - want[s]) <= 2e-6 * Math.abs(want[s]) + 2e-7, `pixel ${s}: ${loss[s]} vs PyTorch ${want[s]}`);
    } finally {
      await engine.dispose();
    }
  });
});
