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

describe('engine: tensors of one .safetensors file decoded by one worker', function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-load-st-'));
  const file = path.join(dir, 'batch.safetensors');
  let want: number;
  before(function () {
    // The format written by hand (8-byte header length, JSON, the tensors' bytes): Python's safetensors
    // package is not installed here; the values and the loss are PyTorch's.
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, struct, torch, torch.nn.functional as F
torch.manual_seed(7)
x = torch.randn(2, 5, 12, 12) * 2
t = torch.randint(0, 5, (2, 12, 12))
xb, tb = x.numpy().tobytes(), t.numpy().tobytes()
h = json.dumps({"logits": {"dtype": "F32", "shape": list(x.shape), "data_offsets": [0, len(xb)]},
                "labels": {"dtype": "I64", "shape": list(t.shape), "data_offsets": [len(xb), len(xb) + len(tb)]}}).encode()
open("batch.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + xb + tb)
print(json.dumps(F.cross_entropy(x.double(), t).item()))
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    want = JSON.parse(r.stdout) as number;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an input and a target of one file take one job on one worker (its header parsed once), with PyTorch\'s loss', async function () {
    const engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    try {
      const req = { input: { kind: 'file' as const, path: `${file}:logits` }, target: { kind: 'file' as const, path: `${file}:labels` }, options: {} };
      const loaded = await engine.loadSources(req);
      // Two jobs would have started both workers, each parsing the header (0.6 s apiece for a million entries).
      assert.equal(engine.evalResources().pool.started, 1);
      assert.equal(loaded.input.kind, 'tensor');
      assert.equal(loaded.target.kind, 'tensor');
      if (loaded.input.kind !== 'tensor' || loaded.target.kind !== 'tensor') return;
      assert.deepEqual([loaded.input.tensor.shape, loaded.target.tensor.shape], [[2, 5, 12, 12], [2, 12, 12]]);
      const r = await engine.compute(req);
      assert.ok(Math.abs((r.value as number) - want) <= 2e-6 * want, `${r.value} vs ${want}`);
    } finally {
      await engine.dispose();
    }
  });

  it('tensors of two different files still load side by side', async function () {
    const other = path.join(dir, 'copy.safetensors');
    fs.copyFileSync(file, other);
    const engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    try {
      const loaded = await engine.loadSources({ input: { kind: 'file', path: `${file}:logits` }, target: { kind: 'file', path: `${other}:labels` }, options: {} });
      assert.equal(engine.evalResources().pool.started, 2);
      assert.equal(loaded.target.kind, 'tensor');
    } finally {
      await engine.dispose();
    }
  });
});
