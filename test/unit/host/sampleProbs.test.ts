// p(target) for the sample the panel sends: the worker's probability job while the sample's C x S values are
// few; above MAX_PROB_VALUES (the strip of an ImageNet-shaped [50000, 1000] input: the whole input, which
// stalled the extension host 13 s and grew it 1.3 GB on every open) exp(-loss) where the loss alone
// determines p(target), else none.
import * as assert from 'node:assert/strict';
import { computeLoss } from '../../../src/kernel';
import { targetProbabilities } from '../../../src/kernel/sample/sampleView';
import { sampleProbabilities } from '../../../src/kernel/sample/softmax';
import { MAX_PROB_VALUES, probsValuesRead, pTargetFromLoss, pTargetPlan, type PTargetInputs } from '../../../src/host/panels/sampleProbs';
import { sampleGeometry } from '../../../src/kernel/sample/sampleView';
import { resolveOptions } from '../../../src/kernel/options';

const LOGITS = { loss: 'ce', labelSmoothing: 0, inputKind: 'logits', classDim: 1 } as const;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('p(target) for the panel\'s sample (src/host/panels/sampleProbs.ts)', function () {
  /** The plan for an input of this shape, with the geometry the session derives (LossSession.geometry). */
  const plan = (inputShape: number[], o: Partial<Omit<PTargetInputs, 'options'>> & { options?: Partial<PTargetInputs['options']> } = {}): string => {
    const options = { ...LOGITS, ...o.options };
    const nd = inputShape.length;
    const axis = ((options.classDim % nd) + nd) % nd;
    const lossShape = options.loss === 'bce' ? inputShape : inputShape.filter((_, d) => d !== axis);
    const geometry = sampleGeometry({ lossShape, options: resolveOptions(options), input: { shape: inputShape } });
    return pTargetPlan({ targetKind: 'index', hasWeight: false, ...o, options, geometry, inputShape });
  };

  it('reads the sample\'s C x S values for class axis 1, the whole input for a strip or a class-last input', function () {
    const cost = (inputShape: number[], classDim: number): number => {
      const nd = inputShape.length;
      const lossShape = inputShape.filter((_, d) => d !== ((classDim % nd) + nd) % nd);
      return probsValuesRead({ options: { loss: 'ce', classDim }, geometry: sampleGeometry({ lossShape, options: resolveOptions({ classDim }), input: { shape: inputShape } }), inputShape });
    };
    assert.equal(cost([8, 21, 512, 512], 1), 21 * 512 * 512);
    assert.equal(cost([50_000, 1000], 1), 50_000 * 1000);
    assert.equal(cost([50_000, 1000], -1), 50_000 * 1000);
    assert.equal(cost([2, 64, 32_000], -1), 2 * 64 * 32_000);
  });

  it('keeps the probability job while it reads up to MAX_PROB_VALUES values (segmentation, a small LM batch)', function () {
    assert.equal(plan([8, 21, 512, 512]), 'worker');
    assert.equal(plan([2, 64, 32_000], { options: { classDim: -1 } }), 'worker');
    assert.equal(plan([MAX_PROB_VALUES / 8, 8]), 'worker');
    assert.equal(plan([50_000, 1000], { targetKind: 'probs' }), 'worker', 'probability targets: the maps as they are');
  });

  it('takes exp(-loss) for an ImageNet-shaped strip or a large class-last batch of logits, and sends none where the loss does not determine p', function () {
    assert.equal(plan([50_000, 1000]), 'fromLoss');
    assert.equal(plan([50_000, 1000], { options: { classDim: -1 } }), 'fromLoss');
    assert.equal(plan([64, 128, 32_000], { options: { classDim: -1 } }), 'fromLoss', 'a 1 GB [B, T, V]: sample 0 alone would read it all');
    assert.equal(plan([MAX_PROB_VALUES / 8 + 1, 8]), 'fromLoss');
    assert.equal(plan([50_000, 1000], { hasWeight: true }), 'none');
    assert.equal(plan([50_000, 1000], { options: { labelSmoothing: 0.1 } }), 'none');
    assert.equal(plan([50_000, 1000], { options: { inputKind: 'probs' } }), 'none');
    assert.equal(plan([50_000, 1000], { options: { inputKind: 'log-probs' } }), 'none');
  });

  it('exp(-loss) of the float32 loss map equals the probability job\'s p(target) (NaN where ignored)', function () {
    const N = 400;
    const C = 257;
    const r = rng(13);
    const x = new Float32Array(N * C);
    for (let i = 0; i < x.length; i++) x[i] = (r() - 0.5) * 16;
    const t = new Int32Array(N);
    for (let n = 0; n < N; n++) t[n] = n % 17 === 3 ? -100 : Math.floor(r() * C);
    // Every fifth element confident in its target (p near 1: exp(-loss) of a tiny loss).
    for (let n = 0; n < N; n += 5) if (t[n] >= 0) x[n * C + t[n]] += 30;
    const res = computeLoss({ input: { dtype: 'float32', shape: [N, C], data: x }, target: { dtype: 'int32', shape: [N], data: t }, options: { reduction: 'none' } });
    // What the panel sends: the loss map as float32, the target classes and the ignored mask of the strip.
    const maps = { loss: Float32Array.from(res.lossMap), target: res.targetClass, ignored: res.ignoredMask };
    const fromLoss = pTargetFromLoss(maps, C);
    // The worker's way: softmax of the (C, S) values, then the target's entry.
    const cs = new Float64Array(C * N);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) cs[c * N + n] = x[n * C + c];
    const job = targetProbabilities('index', sampleProbabilities(cs, C, N, 'logits', 'ce'), res.targetClass, res.ignoredMask, { samples: 1, strip: true, shape: [N], S: N, C });
    let worst = 0;
    for (let n = 0; n < N; n++) {
      if (Number.isNaN(job[n])) {
        assert.ok(Number.isNaN(fromLoss[n]), `element ${n}: ignored, NaN both ways`);
        continue;
      }
      worst = Math.max(worst, Math.abs(fromLoss[n] - job[n]) / job[n]);
    }
    assert.ok(worst < 2e-6, `worst relative difference ${worst}`);
    assert.ok(fromLoss.some((p) => p > 0.5) && fromLoss.some((p) => p < 1e-6), 'the data spans confident and hopeless elements');
  });

  it('gives NaN for targets outside [0, C) as the job does', function () {
    const p = pTargetFromLoss({ loss: new Float32Array([0.5, 0.5, 0.5]), target: new Int32Array([-1, 3, 1]), ignored: new Uint8Array(3) }, 3);
    assert.ok(Number.isNaN(p[0]) && Number.isNaN(p[1]));
    assert.equal(p[2], Math.fround(Math.exp(-0.5)));
  });
});
