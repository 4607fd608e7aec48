// Role recognition from headers: what the pickers and the explorer command offer.
import * as assert from 'node:assert/strict';
import { assignRoles, checkPair, rankTargets, roleScore, type TensorMeta } from '../../../src/kernel/roles';

const m = (name: string, shape: number[], dtype: TensorMeta['dtype']): TensorMeta => ({ id: name, name, shape, dtype });

describe('roles: input, target and weight from shapes, dtypes and names', function () {
  const logits = m('run/logits.npy', [2, 5, 8, 8], 'float32');
  const mask = m('run/mask.npy', [2, 8, 8], 'uint8');
  const other = m('run/other.npy', [2, 8, 8], 'int64');
  const channel = m('run/gt.npy', [2, 1, 8, 8], 'int64');
  const weights = m('run/weights.npy', [5], 'float32');

  it('checkPair returns the kernel message for a bad pair and null for a good one', function () {
    assert.equal(checkPair(logits, mask), null);
    assert.match(checkPair(logits, channel) ?? '', /singleton channel axis/);
  });

  it('ranks compatible targets, likely names first, and leaves out incompatible ones', function () {
    const ranked = rankTargets(logits, [other, channel, logits, mask, weights]);
    assert.deepEqual(ranked.map((r) => r.name), ['run/mask.npy', 'run/other.npy']);
  });

  it('assigns roles for 2 or 3 selected files', function () {
    const a = assignRoles([mask, weights, logits]);
    assert.equal(a.kind, 'ok');
    if (a.kind === 'ok') {
      assert.equal(a.input.name, 'run/logits.npy');
      assert.equal(a.target.name, 'run/mask.npy');
      assert.equal(a.weight?.name, 'run/weights.npy');
    }
  });

  it('uses names to break a tie between two float tensors of one shape, else reports ambiguity', function () {
    const p = m('preds.npy', [4, 3], 'float32');
    const t = m('labels.npy', [4, 3], 'float32');
    const a = assignRoles([t, p]);
    assert.equal(a.kind, 'ok');
    if (a.kind === 'ok') assert.equal(a.input.name, 'preds.npy');
    const b = assignRoles([m('a.npy', [4, 3], 'float32'), m('b.npy', [4, 3], 'float32')]);
    assert.equal(b.kind, 'ambiguous');
  });

  it('explains why nothing fits', function () {
    const a = assignRoles([logits, channel]);
    assert.equal(a.kind, 'none');
    if (a.kind === 'none') assert.match(a.reason, /squeeze/);
    assert.equal(assignRoles([logits]).kind, 'none');
  });

  it('scores names', function () {
    assert.equal(roleScore('x/target.npy', 'target'), 2);
    assert.equal(roleScore('x/val_labels.npy', 'target'), 1);
    assert.equal(roleScore('x/data.npz:logits', 'input'), 2);
    assert.equal(roleScore('x/image.npy', 'target'), 0);
  });
});
