// When the token view opens without being asked: class-last [B, T, V] always; a [T] strip only with a
// vocabulary, so an ImageNet-shaped [50000, 1000] or ImageNet-21k [N, 21841] classification (default class
// dim 1, or -1: the same axis) stays a classification and is not shown as N "tokens", whatever its class count.
import * as assert from 'node:assert/strict';
import type { ViewSummary } from '../../../../src/protocol';
import { tokenViewAuto, tokenViewCapable } from '../../../../media/view/tokens/tokenView';

function summary(inputShape: number[], lossShape: number[], classDim: number, vocabulary = false): ViewSummary {
  const C = inputShape[((classDim % inputShape.length) + inputShape.length) % inputShape.length];
  return {
    mapsAvailable: true,
    targetKind: 'index',
    options: { loss: 'ce', reduction: 'mean', ignoreIndex: -100, labelSmoothing: 0, inputKind: 'logits', classDim },
    lossShape,
    input: { label: 'x', shape: inputShape, dtype: 'float32' },
    perClass: Array.from({ length: C }, (_, index) => ({ index })),
    tokens: vocabulary ? { vocabulary: { ids: new Int32Array(0) }, note: '' } : undefined,
  } as unknown as ViewSummary;
}

describe('token view: shown by default for language models only (media/view/tokens/tokenView.ts)', function () {
  it('ImageNet-shaped [50000, 1000] and ImageNet-21k [8192, 21841] strips are classifications (class dim 1 or -1)', function () {
    for (const shape of [[50_000, 1000], [8192, 21_841], [4096, 50_257]]) {
      for (const dim of [1, -1]) {
        const s = summary(shape, [shape[0]], dim);
        assert.ok(tokenViewCapable(s), 'it can still be switched on');
        assert.equal(tokenViewAuto(s), false, `${JSON.stringify(shape)} class dim ${dim}`);
      }
    }
  });

  it('a [T, V] strip with a vocabulary, and any class-last [B, T, V], are language models', function () {
    assert.equal(tokenViewAuto(summary([4096, 50_257], [4096], -1, true)), true);
    assert.equal(tokenViewAuto(summary([512, 100], [512], -1, true)), true);
    assert.equal(tokenViewAuto(summary([2, 64, 32_000], [2, 64], -1)), true);
    assert.equal(tokenViewAuto(summary([2, 64, 10], [2, 64], -1)), true);
    assert.equal(tokenViewAuto(summary([2, 32_000, 64], [2, 64], 1)), false, 'class axis 1 of a 3-D input: segmentation-like');
  });
});
