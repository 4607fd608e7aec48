// Pairing by stem (DESIGN.md, eval): suffix stripping on each side, unmatched files, stem order, shards.
import * as assert from 'node:assert/strict';
import { isLensError } from '../../../src/errors';
import { labelStem, pairFiles, parseShard, predictionStem, shardPairs } from '../../../src/eval/pairing';

const join = (folder: 'prediction' | 'label', name: string): string => `${folder === 'prediction' ? 'P' : 'L'}/${name}`;

describe('eval pairing', () => {
  it('strips one prediction suffix and the extension', () => {
    assert.equal(predictionStem('a_logits.npy'), 'a');
    assert.equal(predictionStem('a_pred.npz'), 'a');
    assert.equal(predictionStem('a_output.safetensors'), 'a');
    assert.equal(predictionStem('a.pt'), 'a');
    // Only one suffix, and never the whole name.
    assert.equal(predictionStem('a_pred_logits.npy'), 'a_pred');
    assert.equal(predictionStem('_logits.npy'), '_logits');
    // Label suffixes are not prediction suffixes.
    assert.equal(predictionStem('a_gt.npy'), 'a_gt');
  });

  it('strips label suffixes, the longest first', () => {
    assert.equal(labelStem('frankfurt_000000_000294_gtFine_labelIds.png'), 'frankfurt_000000_000294');
    assert.equal(labelStem('x_labels.png'), 'x');
    assert.equal(labelStem('x_label.npy'), 'x');
    assert.equal(labelStem('x_mask.png'), 'x');
    assert.equal(labelStem('x_seg.png'), 'x');
    assert.equal(labelStem('x_gt.png'), 'x');
    assert.equal(labelStem('x.PNG'), 'x');
    assert.equal(labelStem('x_logits.png'), 'x_logits');
  });

  it('pairs in stem order, lists unmatched files and skips non-tensor files', () => {
    const p = pairFiles(
      ['b_logits.npy', 'a_pred.npy', 'c_output.npy', 'orphan.npy', 'README.md', '.hidden.npy'],
      ['c_mask.png', 'a_gt.png', 'b_label.npy', 'lonely_seg.png', 'classes.json'],
      join,
    );
    assert.deepEqual(p.pairs, [
      { stem: 'a', prediction: 'P/a_pred.npy', label: 'L/a_gt.png' },
      { stem: 'b', prediction: 'P/b_logits.npy', label: 'L/b_label.npy' },
      { stem: 'c', prediction: 'P/c_output.npy', label: 'L/c_mask.png' },
    ]);
    assert.deepEqual(p.unmatched, ['orphan.npy', 'lonely_seg.png']);
  });

  it('orders stems by code unit, not by locale (upper case before lower case, 10 before 9)', () => {
    const names = ['b', 'B', 'img10', 'img9', 'a'];
    const p = pairFiles(names.map((n) => `${n}.npy`), names.map((n) => `${n}.png`), join);
    assert.deepEqual(p.pairs.map((x) => x.stem), ['B', 'a', 'b', 'img10', 'img9']);
  });

  it('refuses two files of one stem on one side, naming both', () => {
    assert.throws(() => pairFiles(['a.npy', 'a_logits.npy'], ['a.png'], join), (e: unknown) => isLensError(e) && /a\.npy and a_logits\.npy both have the stem 'a'/.test(e.message));
  });

  it('shards take indexes I mod N in stem order', () => {
    assert.deepEqual(parseShard('1/3'), { index: 1, count: 3 });
    assert.throws(() => parseShard('3/3'), /0 <= I < N/);
    assert.throws(() => parseShard('1/0'), /0 <= I < N/);
    assert.throws(() => parseShard('x'), /I\/N/);
    const all = [0, 1, 2, 3, 4, 5, 6];
    assert.deepEqual(shardPairs(all, { index: 1, count: 3 }), [1, 4]);
    assert.deepEqual(shardPairs(all, null), all);
    const union = [0, 1, 2].flatMap((i) => shardPairs(all, { index: i, count: 3 })).sort((a, b) => a - b);
    assert.deepEqual(union, all);
  });
});
