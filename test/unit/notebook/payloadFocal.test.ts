// display(..., loss="focal" | "sigmoid-focal", gamma=, alpha=): the helper writes the options, the payload
// decoder keeps them, and the notebook's engines compute PyTorch's / torchvision's value from them.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { computeLoss } from '../../../src/kernel/index';
import { decodePayload } from '../../../src/tensor/text/payload';

const ROOT = path.resolve(__dirname, '../../..');

describe('notebook payloads with focal losses', function () {
  this.timeout(60_000);

  it('carry loss, gamma and alpha, and compute what torch and torchvision compute', function () {
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, numpy as np, torch, torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss
from cross_entropy_lens import to_payload
rng = np.random.default_rng(5)
x = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
t = rng.integers(0, 4, (3, 5, 6)); t[0, 0, :] = 255
w = np.array([0.5, 1.0, 2.0, 0.25])
xd, td = torch.from_numpy(x).double(), torch.from_numpy(t)
logp = F.log_softmax(xd, 1)
keep = td != 255
tt = td.clone(); tt[~keep] = 0
lp = logp.gather(1, tt[:, None])[:, 0]
focal = -(torch.from_numpy(w)[tt]) * (1 - lp.exp()) ** 1.5 * lp
focal_mean = (focal[keep].sum() / keep.sum()).item()
y = (rng.random((3, 4, 5, 6)) > 0.7).astype(np.float32)
sfl = sigmoid_focal_loss(xd, torch.from_numpy(y).double(), alpha=0.4, gamma=2.5, reduction="sum").item()
print(json.dumps({
  "focal": [to_payload(x, t, weight=w, ignore_index=255, loss="focal", gamma=1.5), focal_mean],
  "sfl": [to_payload(x, y, reduction="sum", loss="sigmoid-focal", gamma=2.5, alpha=0.4), sfl],
}))
`], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python') }, maxBuffer: 16 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const cases = JSON.parse(r.stdout) as Record<string, [unknown, number]>;
    const focal = decodePayload(cases.focal[0]);
    assert.deepEqual([focal.options.loss, focal.options.gamma, focal.options.alpha], ['focal', 1.5, undefined]);
    const fv = computeLoss({ input: focal.input, target: focal.target, weight: focal.weight, options: focal.options, topK: 0 }).value as number;
    assert.ok(Math.abs(fv - cases.focal[1]) <= 1e-9 * Math.abs(cases.focal[1]), `${fv} vs torch ${cases.focal[1]}`);
    const sfl = decodePayload(cases.sfl[0]);
    assert.deepEqual([sfl.options.loss, sfl.options.gamma, sfl.options.alpha, sfl.options.reduction], ['sigmoid-focal', 2.5, 0.4, 'sum']);
    const sv = computeLoss({ input: sfl.input, target: sfl.target, weight: null, options: sfl.options, topK: 0 }).value as number;
    assert.ok(Math.abs(sv - cases.sfl[1]) <= 1e-9 * Math.abs(cases.sfl[1]), `${sv} vs torchvision ${cases.sfl[1]}`);
  });

  it('hand-written lists: a binary loss takes 0/1 targets as the floats PyTorch needs (JSON numbers carry no dtype)', function () {
    const x = [[1.5, -2.25, 0.5], [3, -0.75, -4]];
    const t = [[0, 1, 1], [1, 0, 0]];
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, torch, torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss
x = torch.tensor(${JSON.stringify(x)}, dtype=torch.float64)
t = torch.tensor(${JSON.stringify(t)}, dtype=torch.float64)
print(json.dumps({"sfl": sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0, reduction="mean").item(), "bce": F.binary_cross_entropy_with_logits(x, t).item()}))
`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const want = JSON.parse(r.stdout) as { sfl: number; bce: number };
    for (const [loss, expected] of [['sigmoid-focal', want.sfl], ['bce', want.bce]] as const) {
      const p = decodePayload({ input: x, target: t, options: { loss, gamma: 2, alpha: 0.25 } });
      assert.equal(p.target.dtype, 'float64', loss);
      const v = computeLoss({ input: p.input, target: p.target, weight: null, options: p.options, topK: 0 }).value as number;
      assert.ok(Math.abs(v - expected) <= 1e-9 * Math.abs(expected), `${loss}: ${v} vs PyTorch ${expected}`);
    }
    // A record names its dtype: int64 stays int64 (and PyTorch's refusal follows).
    assert.equal(decodePayload({ input: x, target: { dtype: 'int64', shape: [2, 3], data: t.flat() }, options: { loss: 'sigmoid-focal' } }).target.dtype, 'int64');
    // Cross-entropy keeps integer lists as class indices.
    assert.equal(decodePayload({ input: x, target: [1, 0] }).target.dtype, 'int64');
  });

  it('hand-written lists: logits written as whole numbers are the floats they were ([[2.0, 0.0]] reads back as [[2, 0]])', function () {
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, torch, torch.nn.functional as F
x = [[2.0, 0.0, -1.0], [0.0, 3.0, 1.0]]
print(json.dumps({"text": json.dumps({"input": x, "target": [0, 2]}), "ce": F.cross_entropy(torch.tensor(x), torch.tensor([0, 2])).item()}))
`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { text, ce } = JSON.parse(r.stdout) as { text: string; ce: number };
    const p = decodePayload(JSON.parse(text));
    assert.equal(p.input.dtype, 'float64');
    const v = computeLoss({ input: p.input, target: p.target, weight: null, options: p.options, topK: 0 }).value as number;
    assert.ok(Math.abs(v - ce) <= 1e-6 * Math.abs(ce), `${v} vs PyTorch ${ce}`);
    // A record names its dtype: int64 logits stay int64, and are refused as PyTorch refuses them.
    const rec = decodePayload({ input: { dtype: 'int64', shape: [2, 3], data: [2, 0, -1, 0, 3, 1] }, target: [0, 2] });
    assert.equal(rec.input.dtype, 'int64');
    assert.throws(() => computeLoss({ input: rec.input, target: rec.target, weight: null, options: rec.options, topK: 0 }), /input has dtype int64/);
  });

  it('refuse a loss the extension does not know with one line', function () {
    assert.throws(() => decodePayload({ input: [[1, 2]], target: [0], options: { loss: 'hinge' } }), /payload\.options\.loss must be one of ce, bce, focal, sigmoid-focal/);
    assert.throws(() => decodePayload({ input: [[1, 2]], target: [0], options: { loss: 'focal', gamma: 'two' } }), /payload\.options\.gamma must be a number/);
  });
});
