// Channels-last images ([N, H, W, C], class dim -1) take cleanlab's segmentation rule, as eval reads a
// channels-last folder; a single file read them as classification rows (per-pixel thresholds and scores,
// 52 issues where the rule gives 65 on a helper's case). The class-first reading, anchored to cleanlab by
// cleanlabParity.test.ts, is the reference: the same issues, mask, thresholds and image scores.
import * as assert from 'node:assert/strict';
import { pairLabelIssues } from '../../../src/labels/pairIssues';
import type { Tensor } from '../../../src/tensor/tensor';
import { rng } from '../engine/helpers';

describe('label issues: channels-last images', function () {
  it('[N, H, W, C] with class dim -1 gives the segmentation rule, exactly as [N, C, H, W]', function () {
    const N = 3, H = 9, W = 7, C = 4, S = H * W;
    const r = rng(17);
    const last = new Float32Array(N * S * C);
    // Integer logits plus noise: confident pixels, ties and disagreements.
    for (let i = 0; i < last.length; i++) last[i] = Math.floor(r() * 3) + 0.3 * (r() - 0.5);
    const first = new Float32Array(last.length);
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) for (let c = 0; c < C; c++) first[(n * C + c) * S + s] = last[(n * S + s) * C + c];
    const labels = Int32Array.from({ length: N * S }, () => (r() < 0.05 ? 255 : Math.floor(r() * C)));
    const target: Tensor = { dtype: 'int64', shape: [N, H, W], data: labels };
    const o = { ignoreIndex: 255, inputKind: 'logits' as const };
    const a = pairLabelIssues({ dtype: 'float32', shape: [N, H, W, C], data: last }, target, { ...o, classDim: -1 });
    const b = pairLabelIssues({ dtype: 'float32', shape: [N, C, H, W], data: first }, target, { ...o, classDim: 1 });
    assert.equal(a.labelIssues.rule, 'segmentation');
    assert.equal(b.labelIssues.rule, 'segmentation');
    assert.ok(b.labelIssues.count > 0, 'the case has issues to compare');
    assert.deepEqual(a.labelIssues, b.labelIssues);
    assert.deepEqual(a.labelQuality, b.labelQuality);
    assert.equal(a.labelQuality.length, N, 'one softmin score per image');
    assert.deepEqual(Array.from(a.mask), Array.from(b.mask));
  });

  it('a class-last [B, T, V] stays a language model\'s tokens (the classification rule)', function () {
    const r = rng(5);
    const x = Float32Array.from({ length: 2 * 30 * 5 }, () => 3 * (r() - 0.5));
    const t = Int32Array.from({ length: 60 }, () => Math.floor(r() * 5));
    const res = pairLabelIssues({ dtype: 'float32', shape: [2, 30, 5], data: x }, { dtype: 'int64', shape: [2, 30], data: t }, { classDim: -1, ignoreIndex: -100, inputKind: 'logits' });
    assert.equal(res.labelIssues.rule, 'classification');
    assert.equal(res.labelQuality.length, 60);
  });
});
