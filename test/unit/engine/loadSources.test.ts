// Tensor files that are not .npy (torch.save here) are decoded by a worker into shared memory
// (Engine.loadSources), not on the caller's thread: a 176 MB torch.save batch held the extension host's
// event loop 2.7 s and, as a file, took the general path (3.9 s, against 0.05 s for the same .npy). The
// loss is PyTorch's, the SIMD path takes it, and a session reads its samples from the same tensors.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import { Engine } from '../../../src/worker/engine/engine';
import { LossSession } from '../../../src/worker/engine/session';
import { DIST, longestHold } from './helpers';

describe('engine: torch.save inputs decoded by a worker', function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-load-sources-'));
  let engine: Engine;
  let want: { mean: number; sample1: number[] };
  before(function () {
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    // [4, 21, 160, 160] float32 logits (8.6 MB of data) in a torch.save file, int64 targets with ignored pixels.
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, torch, torch.nn.functional as F
torch.manual_seed(5)
x = torch.randn(4, 21, 160, 160) * 3
t = torch.randint(0, 21, (4, 160, 160)); t[:, :3] = 255
torch.save({"logits": x}, "x.pt"); torch.save(t, "t.pt")
l = F.cross_entropy(x.double(), t, ignore_index=255, reduction="none")
print(json.dumps({"mean": F.cross_entropy(x.double(), t, ignore_index=255).item(), "sample1": l[1, 50, :8].tolist()}))
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    want = JSON.parse(r.stdout) as typeof want;
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const req = { input: { kind: 'file' as const, path: path.join(dir, 'x.pt') }, target: { kind: 'file' as const, path: path.join(dir, 't.pt') }, options: { ignoreIndex: 255 } };

  it('computes PyTorch\'s loss on the SIMD path, with the caller\'s loop never held 50 ms', async function () {
    await engine.compute(req); // workers and kernels started
    const { value: r, heldMs } = await longestHold(() => engine.compute(req));
    assert.equal(r.engine, 'wasm-simd');
    assert.ok(Math.abs((r.value as number) - want.mean) <= 2e-6 * want.mean, `${r.value} vs ${want.mean}`);
    assert.ok(heldMs < 50, `the caller's loop was held ${heldMs.toFixed(0)} ms`);
  });

  it('a session reads its samples from the decoded tensors: sample 1 has the losses and p(target) of PyTorch', async function () {
    const s = await LossSession.open(engine, req);
    const m = await s.sampleMapsWithProbs(1);
    for (let i = 0; i < 8; i++) {
      const l = want.sample1[i];
      assert.ok(Math.abs(m.loss[50 * 160 + i] - l) <= 2e-6 * l + 2e-7, `loss ${i}: ${m.loss[50 * 160 + i]} vs ${l}`);
      assert.ok(Math.abs(m.pTarget![50 * 160 + i] - Math.exp(-l)) <= 1e-6, `p(target) ${i}`);
    }
    const d = await s.explain(1, [50, 3]);
    assert.ok(Math.abs(d.explanation.loss - want.sample1[3]) <= 1e-9 * want.sample1[3]);
  });

  it('a file that does not decode is one line naming it', async function () {
    fs.writeFileSync(path.join(dir, 'bad.pt'), 'PK\u0003\u0004 not really a zip');
    await assert.rejects(engine.compute({ ...req, input: { kind: 'file', path: path.join(dir, 'bad.pt') } }), (e: unknown) => isLensError(e) && e.message.startsWith(path.join(dir, 'bad.pt')) && !e.message.includes('\n'));
  });
});
