// Focal and sigmoid-focal: option checks and their one-line messages, the CLI flags, and a few values
// worked out by hand. Parity with PyTorch/torchvision is test/parity/focal.test.ts.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseArgs } from '../../../src/cli/args';
import { LensError } from '../../../src/errors';
import { computeLoss, explainElement, resolveOptions, type LossOptions } from '../../../src/kernel/index';
import type { DType, Tensor } from '../../../src/tensor/tensor';

function f64(shape: number[], data: number[]): Tensor {
  return { dtype: 'float64', shape, data: Float64Array.from(data) };
}
function f32(shape: number[], data: number[]): Tensor {
  return { dtype: 'float32', shape, data: Float32Array.from(data) };
}
function i64(shape: number[], data: number[], dtype: DType = 'int64'): Tensor {
  return { dtype, shape, data: Int32Array.from(data) };
}

function throwsLens(fn: () => unknown, kind: LensError['kind'], ...mentions: RegExp[]): string {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof LensError, `expected a LensError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.doesNotMatch(caught.message, /\n/);
  for (const m of mentions) assert.match(caught.message, m);
  return caught.message;
}

const logits = f64([2, 3], [1, 2, 3, 0, 0, 0]);
const labels = i64([2], [0, 2]);
const binary = f32([2, 3], [1, 0, 1, 0, 0, 1]);

describe('focal options', function () {
  it('defaults: gamma 2, alpha 0.25', function () {
    const o = resolveOptions({ loss: 'focal' });
    assert.equal(o.gamma, 2);
    assert.equal(o.alpha, 0.25);
  });

  it('accepts every loss name and a negative alpha (no alpha weighting, as torchvision)', function () {
    for (const loss of ['ce', 'bce', 'focal', 'sigmoid-focal'] as const) assert.equal(resolveOptions({ loss }).loss, loss);
    assert.equal(resolveOptions({ loss: 'sigmoid-focal', alpha: -1 }).alpha, -1);
    assert.equal(resolveOptions({ loss: 'focal', gamma: 0 }).gamma, 0);
  });

  it('names the focal losses for an unknown loss', function () {
    throwsLens(() => resolveOptions({ loss: 'focall' as LossOptions['loss'] }), 'option', /unknown loss 'focall'/, /focal/, /sigmoid-focal/);
  });

  it('rejects a negative, infinite, NaN or non-numeric gamma', function () {
    for (const gamma of [-1, -0.5, Infinity, NaN]) throwsLens(() => resolveOptions({ loss: 'focal', gamma }), 'option', /gamma must be a finite number >= 0/);
    throwsLens(() => resolveOptions({ loss: 'sigmoid-focal', gamma: '2' as unknown as number }), 'option', /gamma/);
  });

  it('rejects a NaN or infinite alpha', function () {
    for (const alpha of [NaN, Infinity, -Infinity]) throwsLens(() => resolveOptions({ loss: 'sigmoid-focal', alpha }), 'option', /alpha must be a finite number/);
  });

  it('rejects label smoothing with either focal loss', function () {
    throwsLens(() => resolveOptions({ loss: 'focal', labelSmoothing: 0.1 }), 'option', /label_smoothing applies to cross-entropy only; focal has none/);
    throwsLens(() => resolveOptions({ loss: 'sigmoid-focal', labelSmoothing: 0.1 }), 'option', /sigmoid-focal has none/);
  });

  it('sigmoid-focal takes logits only; focal takes every input kind', function () {
    throwsLens(() => resolveOptions({ loss: 'sigmoid-focal', inputKind: 'probs' }), 'option', /sigmoid-focal takes logits/, /'probs'/);
    throwsLens(() => resolveOptions({ loss: 'sigmoid-focal', inputKind: 'log-probs' }), 'option', /sigmoid-focal takes logits/);
    for (const inputKind of ['logits', 'probs', 'log-probs'] as const) assert.equal(resolveOptions({ loss: 'focal', inputKind }).inputKind, inputKind);
  });
});

describe('focal problem checks', function () {
  it('focal refuses probability targets', function () {
    throwsLens(() => computeLoss({ input: logits, target: f64([2, 3], [1, 0, 0, 0, 0, 1]), options: { loss: 'focal' } }), 'option', /focal takes class-index targets/, /argmax/);
  });

  it('focal refuses pos_weight; sigmoid-focal refuses weight and pos_weight', function () {
    throwsLens(() => computeLoss({ input: logits, target: labels, posWeight: f64([3], [1, 1, 1]), options: { loss: 'focal' } }), 'option', /pos_weight/, /--weight/);
    throwsLens(() => computeLoss({ input: logits, target: binary, weight: f64([3], [1, 1, 1]), options: { loss: 'sigmoid-focal' } }), 'option', /no weight/, /alpha/);
    throwsLens(() => computeLoss({ input: logits, target: binary, posWeight: f64([3], [1, 1, 1]), options: { loss: 'sigmoid-focal' } }), 'option', /no pos_weight/);
  });

  it('sigmoid-focal refuses integer and bool targets, as PyTorch does', function () {
    throwsLens(() => computeLoss({ input: logits, target: i64([2, 3], [1, 0, 1, 0, 0, 1]), options: { loss: 'sigmoid-focal' } }), 'dtype', /floating point targets/, /int64/, /\.float\(\)/);
    throwsLens(() => computeLoss({ input: logits, target: i64([2, 3], [1, 0, 1, 0, 0, 1], 'bool'), options: { loss: 'sigmoid-focal' } }), 'dtype', /bool/);
  });

  it('bce and sigmoid-focal refuse integer targets with PyTorch\'s own reason, for each integer dtype', function () {
    this.timeout(60_000);
    const dtypes = ['int64', 'int32', 'int16', 'int8', 'uint8'] as const;
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, torch, torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss
out = {}
for name in ${JSON.stringify(dtypes)}:
    t = torch.tensor([[1, 0, 1], [0, 0, 1]], dtype=getattr(torch, name))
    for loss, fn in (("bce", lambda: F.binary_cross_entropy_with_logits(torch.zeros(2, 3), t)), ("sigmoid-focal", lambda: sigmoid_focal_loss(torch.zeros(2, 3), t))):
        try:
            fn()
            out[name + " " + loss] = None
        except RuntimeError as e:
            out[name + " " + loss] = str(e)
print(json.dumps(out))
`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const torchSays = JSON.parse(r.stdout) as Record<string, string | null>;
    for (const dtype of dtypes) {
      for (const loss of ['bce', 'sigmoid-focal'] as const) {
        const reason = torchSays[`${dtype} ${loss}`];
        assert.ok(reason, `PyTorch computed ${loss} on ${dtype} targets`);
        const escaped = reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        throwsLens(() => computeLoss({ input: logits, target: i64([2, 3], [1, 0, 1, 0, 0, 1], dtype), options: { loss } }), 'dtype', new RegExp(escaped), new RegExp(`got dtype ${dtype}`));
      }
    }
    throwsLens(() => computeLoss({ input: logits, target: i64([2, 3], [1, 0, 1, 0, 0, 1], 'bool'), options: { loss: 'bce' } }), 'dtype', /bool/);
  });

  it('sigmoid-focal names itself in a shape mismatch', function () {
    throwsLens(() => computeLoss({ input: logits, target: f32([2, 1], [1, 0]), options: { loss: 'sigmoid-focal' } }), 'shape', /Target size \[2, 1\] must be the same as input size \[2, 3\]/, /sigmoid_focal_loss/);
  });

  it('the step-by-step breakdown says it covers cross-entropy only', function () {
    throwsLens(() => explainElement({ input: logits, target: labels, options: { loss: 'focal' } }, 0), 'option', /cross-entropy \(loss ce\) only, not focal/);
  });
});

describe('focal values worked out by hand', function () {
  it('two equal logits: p_t = 1/2, loss (1/2)^gamma ln 2, times alpha[t]', function () {
    const x = f64([1, 2], [0, 0]);
    for (const gamma of [0, 1, 2, 5]) {
      const r = computeLoss({ input: x, target: i64([1], [1]), weight: f64([2], [3, 0.5]), options: { loss: 'focal', gamma, reduction: 'sum' } });
      assert.ok(Math.abs((r.value as number) - 0.5 * 0.5 ** gamma * Math.LN2) < 1e-15, `gamma ${gamma}: ${r.value}`);
      // F.cross_entropy beside it: 0.5 ln 2 summed; its mean divides by the weight (0.5): ln 2.
      assert.ok(Math.abs((r.ceValue as number) - 0.5 * Math.LN2) < 1e-15);
    }
    const mean = computeLoss({ input: x, target: i64([1], [1]), weight: f64([2], [3, 0.5]), options: { loss: 'focal', gamma: 2 } });
    // mean divides by the count of non-ignored elements (1), not by the summed weight.
    assert.ok(Math.abs((mean.value as number) - 0.5 * 0.25 * Math.LN2) < 1e-15);
    assert.ok(Math.abs((mean.ceValue as number) - Math.LN2) < 1e-15);
    assert.ok(Math.abs((mean.stats.perClass[1].ceMean as number) - Math.LN2) < 1e-15);
    assert.ok(Number.isNaN(mean.stats.perClass[0].ceMean));
  });

  it('a confident, correct prediction keeps its relative accuracy: 1 - p_t as -expm1(log p_t)', function () {
    // log p_t = -1e-12 (given as log-probs): 1 - p_t = 1e-12 (1 - 5e-13), so the loss is 1e-36 to 12 digits,
    // where 1 - exp(log p_t) would be 1.0000889e-12 (its cancellation costs 4 digits, 8 once squared).
    const r = computeLoss({ input: f64([1, 2], [-1e-12, -27.6]), target: i64([1], [0]), options: { loss: 'focal', gamma: 2, inputKind: 'log-probs', reduction: 'sum' } });
    assert.ok(Math.abs((r.value as number) - 1e-36) <= 1e-11 * 1e-36, `${r.value}`);
  });

  it('ignored elements give 0 and are not counted; all ignored: mean NaN, sum 0', function () {
    const t = i64([2], [-100, 1]);
    const r = computeLoss({ input: f64([2, 2], [5, -5, 0, 0]), target: t, options: { loss: 'focal', gamma: 1 } });
    assert.equal(r.lossMap[0], 0);
    assert.ok(Math.abs((r.value as number) - 0.5 * Math.LN2) < 1e-15);
    const none = i64([2], [-100, -100]);
    assert.ok(Number.isNaN(computeLoss({ input: f64([2, 2], [5, -5, 0, 0]), target: none, options: { loss: 'focal' } }).value));
    assert.equal(computeLoss({ input: f64([2, 2], [5, -5, 0, 0]), target: none, options: { loss: 'focal', reduction: 'sum' } }).value, 0);
  });

  it('sigmoid-focal at logit 0: bce ln 2 times (1/2)^gamma, alpha for positives and 1 - alpha for negatives', function () {
    const x = f64([2], [0, 0]);
    const t = f64([2], [1, 0]);
    const r = computeLoss({ input: x, target: t, options: { loss: 'sigmoid-focal', gamma: 2, alpha: 0.25, reduction: 'none' } });
    assert.ok(Math.abs(r.lossMap[0] - 0.25 * 0.25 * Math.LN2) < 1e-15);
    assert.ok(Math.abs(r.lossMap[1] - 0.75 * 0.25 * Math.LN2) < 1e-15);
    const off = computeLoss({ input: x, target: t, options: { loss: 'sigmoid-focal', gamma: 2, alpha: -1, reduction: 'mean' } });
    assert.ok(Math.abs((off.value as number) - 0.25 * Math.LN2) < 1e-15);
    assert.equal(off.ceValue, undefined);
  });
});

describe('CLI flags for the focal losses', function () {
  const run = (...flags: string[]): Partial<LossOptions> => {
    const p = parseArgs(['x.npy', 't.npy', ...flags]);
    assert.equal(p.kind, 'run');
    return p.kind === 'run' ? p.args.options : {};
  };

  it('parses --loss focal|sigmoid-focal, --gamma and --alpha', function () {
    assert.deepEqual(run('--loss', 'focal', '--gamma', '0.5'), { loss: 'focal', gamma: 0.5 });
    assert.deepEqual(run('--loss', 'sigmoid-focal', '--gamma', '3', '--alpha', '-1'), { loss: 'sigmoid-focal', gamma: 3, alpha: -1 });
    assert.deepEqual(run('--loss=sigmoid-focal', '--alpha=0.5'), { loss: 'sigmoid-focal', alpha: 0.5 });
  });

  it('refuses --gamma and --alpha where they do not apply, and non-numbers', function () {
    throwsLens(() => parseArgs(['x.npy', 't.npy', '--gamma', '2']), 'option', /--gamma applies to --loss focal or sigmoid-focal only/);
    throwsLens(() => parseArgs(['x.npy', 't.npy', '--loss', 'focal', '--alpha', '0.5']), 'option', /--alpha applies to --loss sigmoid-focal only/, /--weight/);
    throwsLens(() => parseArgs(['x.npy', 't.npy', '--loss', 'bce', '--alpha', '0.5']), 'option', /--alpha applies to --loss sigmoid-focal only/);
    throwsLens(() => parseArgs(['x.npy', 't.npy', '--loss', 'focal', '--gamma', 'two']), 'option', /--gamma expects a number, got 'two'/);
    throwsLens(() => parseArgs(['x.npy', 't.npy', '--loss', 'focall']), 'option', /--loss expects one of ce, bce, focal, sigmoid-focal/);
  });
});
