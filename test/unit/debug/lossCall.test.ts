// The loss-error classifier (src/debug/lossCall.ts) on the errors PyTorch really raises: for each case a
// Python run makes the tensors, records PyTorch's exception, and reads the target's facts with the very code
// the lens runs in a debuggee (DEBUGGEE_CODE, exec'd here without a debugger); the proposed fix is then
// applied with PyTorch's own ops, and PyTorch must accept the fixed call.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEBUGGEE_CODE } from '../../../src/debug/debuggeeCode';
import { describeCall, extraKeywords, findLossFrame, functionOfModule, optionsOfCall, proposeFix, type LossFunction } from '../../../src/debug/lossCall';
import type { CallArguments, TargetFacts, ValueMeta } from '../../../src/debug/snippet';

const CASES = String.raw`
import json, sys
import torch, torch.nn.functional as F
g = torch.Generator().manual_seed(0)
t = torch.randint(0, 3, (2, 4, 5), generator=g)
void = torch.randint(0, 5, (2, 4, 4), generator=g); void[:, 0, :] = 255
two = void.clone(); two[:, 1, :] = 254
cases = {
  "one_hot_axis1": ("cross_entropy", torch.randn(2, 3, 4, 5, generator=g), F.one_hot(t, 3).permute(0, 3, 1, 2), {}),
  "one_hot_last": ("cross_entropy", torch.randn(2, 3, 4, 5, generator=g), F.one_hot(t, 3), {}),
  "one_hot_rows": ("cross_entropy", torch.randn(4, 5, generator=g), F.one_hot(torch.tensor([0, 4, 2, 1]), 5), {}),
  "float_indices": ("cross_entropy", torch.randn(2, 3, 4, 5, generator=g), t.float(), {}),
  "class_last": ("cross_entropy", torch.randn(2, 7, 11, generator=g), torch.randint(0, 11, (2, 7), generator=g), {}),
  "void_255": ("cross_entropy", torch.randn(2, 5, 4, 4, generator=g), void, {}),
  "void_255_nll": ("nll_loss", torch.randn(2, 5, 4, 4, generator=g).log_softmax(1), void, {"reduction": "sum"}),
  "two_values": ("cross_entropy", torch.randn(2, 5, 4, 4, generator=g), two, {}),
  "bce_trailing_1": ("binary_cross_entropy_with_logits", torch.randn(8, 1, generator=g), torch.randint(0, 2, (8,), generator=g).float(), {}),
  "bce_int": ("binary_cross_entropy_with_logits", torch.randn(8, 3, generator=g), torch.randint(0, 2, (8, 3), generator=g), {}),
}
code = sys.stdin.read()
out = {}
for name, (fn, x, y, kw) in cases.items():
    try:
        getattr(F, fn)(x, y, **kw)
        raised = None
    except Exception as e:
        raised = type(e).__name__ + ": " + str(e)
    C = x.shape[1] if x.dim() > 1 else x.shape[0]
    ns = {"G": {}, "L": {"target": y, "input": x}, "ARG": json.dumps({"op": "facts", "ref": {"root": "target", "steps": []}, "classes": C, "ignoreIndex": kw.get("ignore_index", -100)})}
    exec(code, ns)
    import base64
    facts = json.loads(base64.b64decode(ns["OUT"]))
    ns["ARG"] = json.dumps({"op": "describe", "refs": [{"root": "input", "steps": []}]})
    exec(code, ns)
    inp = json.loads(base64.b64decode(ns["OUT"]))["values"][0]
    out[name] = {"fn": fn, "raised": raised, "facts": facts, "input": inp, "kw": kw}
print(json.dumps(out))
`;

const APPLY = String.raw`
import json, sys
import torch, torch.nn.functional as F
exec(open(sys.argv[1]).read().split("code = sys.stdin.read()")[0])
fixes = json.loads(sys.stdin.read())
def apply(v, trs):
    for tr in trs:
        op = tr["op"]
        v = v.argmax(tr["dim"]) if op == "argmax" else v.long() if op == "long" else v.float() if op == "float" else v.unsqueeze(tr["dim"]) if op == "unsqueeze" else v.movedim(tr["source"], tr["destination"])
    return v
res = {}
for name, fix in fixes.items():
    fn, x, y, kw = cases[name]
    kw = dict(kw)
    if "ignoreIndex" in fix["options"]:
        kw["ignore_index"] = fix["options"]["ignoreIndex"]
    res[name] = getattr(F, fn)(apply(x, fix["inputTransform"]), apply(y, fix["targetTransform"]), **kw).item()
print(json.dumps(res))
`;

interface Case {
  readonly fn: LossFunction;
  readonly raised: string | null;
  readonly facts: TargetFacts;
  readonly input: ValueMeta;
  readonly kw: Record<string, string | number>;
}

describe('the loss-error classifier on PyTorch\'s own errors', function () {
  this.timeout(60_000);
  let cases: Record<string, Case>;
  let script: string;

  before(function () {
    script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cel-losscall-')), 'cases.py');
    fs.writeFileSync(script, CASES);
    const r = spawnSync('/usr/bin/python3', [script], { input: DEBUGGEE_CODE, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    cases = JSON.parse(r.stdout) as Record<string, Case>;
  });

  after(function () {
    fs.rmSync(path.dirname(script), { recursive: true, force: true });
  });

  const args = (c: Case): CallArguments => ({
    tensors: { input: { ...c.input, label: 'input', ref: { root: 'input', steps: [] } }, target: { ...c.facts, label: 'target', ref: { root: 'target', steps: [] } } },
    scalars: { ignore_index: c.fn === 'binary_cross_entropy_with_logits' ? null : -100, reduction: 'mean', ...(c.fn === 'cross_entropy' ? { label_smoothing: 0 } : {}), ...c.kw },
    owner: null,
  });
  const fixOf = (name: string) => {
    const c = cases[name]!;
    const a = args(c);
    const o = optionsOfCall(c.fn, a);
    assert.ok('options' in o, JSON.stringify(o));
    return proposeFix(c.fn, c.input, c.facts, o.options, extraKeywords(a));
  };

  it('every case really raises in PyTorch', function () {
    for (const [name, c] of Object.entries(cases)) assert.ok(c.raised, `${name} does not raise`);
    // PyTorch 1.13 reads a target of the input's shape as class probabilities (later versions say "only batches of spatial targets…").
    assert.match(cases.one_hot_axis1!.raised!, /Expected floating point type for target with class probabilities, got Long|only batches of spatial targets supported/);
    assert.match(cases.void_255!.raised!, /Target 255 is out of bounds|out of bounds/);
  });

  it('proposes the fix each error has, as a line of code', function () {
    const want: Record<string, RegExp | null> = {
      one_hot_axis1: /^F\.cross_entropy\(input, target\.argmax\(1\)\)$/,
      one_hot_last: /^F\.cross_entropy\(input, target\.argmax\(-1\)\)$/,
      one_hot_rows: /^F\.cross_entropy\(input, target\.argmax\(1\)\)$/,
      float_indices: /^F\.cross_entropy\(input, target\.long\(\)\)$/,
      class_last: /^F\.cross_entropy\(input\.movedim\(-1, 1\), target\)$/,
      void_255: /^F\.cross_entropy\(input, target, ignore_index=255\)$/,
      void_255_nll: /^F\.nll_loss\(input, target, reduction='sum', ignore_index=255\)$/,
      two_values: null,
      bce_trailing_1: /^F\.binary_cross_entropy_with_logits\(input, target\.view_as\(input\)\)$/,
      bce_int: /^F\.binary_cross_entropy_with_logits\(input, target\.float\(\)\)$/,
    };
    for (const [name, re] of Object.entries(want)) {
      const fix = fixOf(name);
      if (re === null) assert.equal(fix, null, name);
      else assert.match(fix?.code ?? 'no fix', re, name);
    }
  });

  it('PyTorch accepts every fixed call', function () {
    const fixes: Record<string, unknown> = {};
    for (const name of Object.keys(cases)) {
      const f = fixOf(name);
      if (f) fixes[name] = f;
    }
    const r = spawnSync('/usr/bin/python3', ['-c', APPLY, script], { input: JSON.stringify(fixes), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const values = JSON.parse(r.stdout) as Record<string, number>;
    assert.deepEqual(Object.keys(values).sort(), Object.keys(fixes).sort());
    for (const [name, v] of Object.entries(values)) assert.ok(Number.isFinite(v), `${name}: ${v}`);
  });

  it('finds the loss frame: the functional above a module forward, else the forward', function () {
    const fn = '/usr/lib/python3/dist-packages/torch/nn/functional.py';
    const mod = '/usr/lib/python3/dist-packages/torch/nn/modules/loss.py';
    assert.deepEqual(findLossFrame([{ name: 'cross_entropy', path: fn }, { name: 'forward', path: mod }, { name: 'step', path: '/w/train.py' }]), { index: 0, fn: 'cross_entropy', module: false });
    assert.deepEqual(findLossFrame([{ name: '_call_impl', path: '/x/torch/nn/modules/module.py' }, { name: 'forward', path: mod }]), { index: 1, fn: 'cross_entropy', module: true });
    assert.equal(findLossFrame([{ name: 'cross_entropy', path: '/w/my_losses.py' }]), null, 'a user function of the same name is not PyTorch\'s');
    assert.equal(functionOfModule('BCEWithLogitsLoss'), 'binary_cross_entropy_with_logits');
    assert.equal(functionOfModule('MSELoss'), null);
  });

  it('options and the call description from the frame\'s arguments; the deprecated size_average is refused', function () {
    const c = cases.void_255_nll!;
    const a = args(c);
    assert.deepEqual(optionsOfCall('nll_loss', a), { options: { loss: 'ce', reduction: 'sum', ignoreIndex: -100, labelSmoothing: 0, inputKind: 'log-probs', classDim: 1 } });
    assert.equal(describeCall('nll_loss', a), "F.nll_loss(input [2, 5, 4, 4] float32, target [2, 4, 4] int64, ignore_index=-100, reduction='sum')");
    assert.deepEqual(optionsOfCall('cross_entropy', { ...a, scalars: { ...a.scalars, size_average: false } }), { problem: 'the call passes the deprecated size_average/reduce; the lens reads reduction only' });
  });
});
