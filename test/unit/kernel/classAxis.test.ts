// The class axis found from shapes (#26): a target that fits only with the classes on the input's last
// axis is offered and computed with class dim -1, saying so; where both fit, the setting decides; the CLI
// stays PyTorch and names --class-dim -1. The loss computed that way is PyTorch's on the permuted input.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { computeLoss } from '../../../src/kernel/index';
import { assignRoles, fitPair, fittedOptions, optionsFromShapes, rankTargets, type TensorMeta } from '../../../src/kernel/roles';
import { hoverReport } from '../../../src/hover/report';
import { literalHoverMarkdown } from '../../../src/hover/markdown';
import { CLASS_LAST_NOTE } from '../../../src/protocol';

const m = (name: string, shape: number[], dtype: TensorMeta['dtype']): TensorMeta => ({ id: name, name, shape, dtype });

describe('class axis from shapes', function () {
  const lm = m('logits.npy', [2, 64, 32000], 'float32');
  const tokens = m('target.npy', [2, 64], 'int64');
  const nhwc = m('seg_logits.npy', [2, 8, 8, 5], 'float32');
  const mask = m('mask.npy', [2, 8, 8], 'uint8');

  it('fits [B, T, V] with [B, T] and [N, H, W, C] with [N, H, W] only with the class axis last', function () {
    assert.deepEqual(fitPair(lm, tokens, {}), { kind: 'fits', classLastFromShapes: true });
    assert.deepEqual(fitPair(nhwc, mask, { classDim: 1 }), { kind: 'fits', classLastFromShapes: true });
    assert.deepEqual(fitPair(lm, tokens, { classDim: -1 }), { kind: 'fits', classLastFromShapes: false });
    // NCHW data fits as it is.
    assert.deepEqual(fitPair(m('x.npy', [2, 5, 8, 8], 'float32'), mask, {}), { kind: 'fits', classLastFromShapes: false });
    const bad = fitPair(lm, m('t.npy', [2, 63], 'int64'), {});
    assert.equal(bad.kind, 'misfit');
  });

  it('where both axes fit, the setting decides ([4, 4, 4] with [4, 4])', function () {
    const cube = m('x.npy', [4, 4, 4], 'float32');
    const t = m('t.npy', [4, 4], 'int64');
    assert.deepEqual(fitPair(cube, t, {}), { kind: 'fits', classLastFromShapes: false });
    assert.deepEqual(fitPair(cube, t, { classDim: -1 }), { kind: 'fits', classLastFromShapes: false });
  });

  it('pickers offer such targets, and explorer selections assign them', function () {
    assert.deepEqual(rankTargets(lm, [tokens, m('other.npy', [3, 64], 'int64')]).map((t) => t.name), ['target.npy']);
    const a = assignRoles([tokens, lm], {});
    assert.equal(a.kind, 'ok');
    if (a.kind === 'ok') {
      assert.equal(a.input.name, 'logits.npy');
      assert.equal(a.classLastFromShapes, true);
      assert.deepEqual(fittedOptions(a, { reduction: 'sum' }), { options: { reduction: 'sum', classDim: -1 }, classLastFromShapes: true });
    }
  });

  it('a payload without a class axis takes it from the shapes; one that names it keeps it', function () {
    assert.deepEqual(optionsFromShapes({ ignoreIndex: -100 }, lm, tokens), { options: { ignoreIndex: -100, classDim: -1 }, classLastFromShapes: true });
    assert.deepEqual(optionsFromShapes({ classDim: 1 }, lm, tokens), { options: { classDim: 1 } });
  });

  it('computed with class dim -1, the loss is PyTorch\'s on the permuted input', function () {
    const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i * 1.7) * 3);
    const t = Int32Array.from([0, 3, 2, 1, 3, 0]);
    const { options } = optionsFromShapes({}, { shape: [2, 3, 4], dtype: 'float32' }, { shape: [2, 3], dtype: 'int64' });
    const ours = computeLoss({ input: { dtype: 'float32', shape: [2, 3, 4], data: x }, target: { dtype: 'int64', shape: [2, 3], data: t }, weight: null, options, topK: 0 });
    const py = spawnSync('/usr/bin/python3', ['-c', `import torch, torch.nn.functional as F, json, sys
x = torch.tensor(json.loads(sys.argv[1]), dtype=torch.float64).reshape(2, 3, 4)
t = torch.tensor(json.loads(sys.argv[2])).reshape(2, 3)
print(repr(F.cross_entropy(x.permute(0, 2, 1), t).item()))`, JSON.stringify(Array.from(x)), JSON.stringify(Array.from(t))], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const want = Number(py.stdout.trim());
    assert.ok(Math.abs((ours.value ?? Number.NaN) - want) <= 1e-9 * Math.abs(want), `${ours.value} vs PyTorch ${want}`);
  });

  it('a hover on an [B, T, V] / [B, T] pair computes with the last axis and says so', function () {
    const report = hoverReport({
      literals: [
        { text: '[[[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]]]', syntax: 'json', name: 'logits' },
        { text: '[[1, 2]]', syntax: 'json', name: 'labels' },
      ],
      hovered: 0,
      pair: { input: 0, target: 1, weight: null },
      options: {},
    });
    assert.ok(report.loss?.ok === true, JSON.stringify(report.loss));
    if (report.loss?.ok === true) {
      assert.equal(report.loss.classLastFromShapes, true);
      assert.equal(report.loss.options.classDim, -1);
    }
    assert.match(literalHoverMarkdown('logits', report, null), new RegExp(CLASS_LAST_NOTE));
  });
});
