// The notebook renderer's in-page path (media/inPageSession.ts) fills the confidence maps of a sample for
// class-index cross-entropy, and none for probability targets; numbers from a float64 softmax written here.
import * as assert from 'node:assert/strict';
import { openInPage } from '../../../media/inPageSession';
import { sampleConfidence } from '../../../src/kernel/sample/confidence';
import { sampleProbabilities } from '../../../src/kernel/sample/softmax';
import type { Payload } from '../../../src/tensor/text/payload';

describe('in-page session: confidence maps', function () {
  // (N=1, C=3, S=2): element 0 logits [2, 0, -1], element 1 [0.5, 0.5, 0.5].
  const input = { dtype: 'float64' as const, shape: [1, 3, 2], data: Float64Array.from([2, 0.5, 0, 0.5, -1, 0.5]) };

  it('fills top1, margin and entropy for class-index targets', async function () {
    const payload = { input, target: { dtype: 'int64' as const, shape: [1, 2], data: Int32Array.from([0, 2]) } } as unknown as Payload;
    const m = await openInPage(payload, { options: {}, weight: undefined }).sampleMaps(0);
    assert.ok(m.confidence);
    const e = [Math.exp(2), 1, Math.exp(-1)];
    const z = e[0] + e[1] + e[2];
    const p = e.map((v) => v / z);
    const want = [
      [p[0], p[0] - p[1], -p.reduce((s, q) => s + q * Math.log(q), 0)],
      [1 / 3, 0, Math.log(3)],
    ];
    want.forEach((w, s) => {
      assert.ok(Math.abs(m.confidence!.top1[s] - w[0]) < 1e-6, `top1[${s}]`);
      assert.ok(Math.abs(m.confidence!.margin[s] - w[1]) < 1e-6, `margin[${s}]`);
      assert.ok(Math.abs(m.confidence!.entropy[s] - w[2]) < 1e-6, `entropy[${s}]`);
    });
  });

  it('takes the probabilities and confidence maps from one softmax: the bits of each computed apart', async function () {
    // (N=2, C=5, S=7) float32 logits with a NaN element, in the class-index case that asks for both.
    const N = 2, C = 5, S = 7;
    const data = Float32Array.from({ length: N * C * S }, (_, i) => Math.sin(i * 1.7) * 9);
    data[1 * C * S + 3 * S + 4] = NaN;
    const x = { dtype: 'float32' as const, shape: [N, C, S], data };
    const labels = Int32Array.from({ length: N * S }, (_, i) => (i * 3) % C);
    const payload = { input: x, target: { dtype: 'int64' as const, shape: [N, S], data: labels } } as unknown as Payload;
    const session = openInPage(payload, { options: {}, weight: undefined });
    for (const n of [1, 0]) {
      const m = await session.sampleMaps(n);
      const own = Float64Array.from(data.subarray(n * C * S, (n + 1) * C * S));
      const p = sampleProbabilities(own, C, S, 'logits', 'ce');
      const c = sampleConfidence(own, C, S, 'logits');
      for (let s = 0; s < S; s++) {
        const t = labels[n * S + s];
        assert.ok(Object.is(m.pTarget![s], p[t * S + s]), `sample ${n}, p(target)[${s}]: ${m.pTarget![s]} vs ${p[t * S + s]}`);
        for (const k of ['top1', 'margin', 'entropy'] as const) assert.ok(Object.is(m.confidence![k][s], c[k][s]), `sample ${n}, ${k}[${s}]`);
      }
      assert.deepEqual((await session.classMaps(n)).probs, p, `sample ${n}: class probabilities`);
    }
  });

  it('computes no softmax for a probability target\'s sample maps (it has no p(target)): they take a small part of the class maps\' time', async function () {
    // [1, 50, 200000] float32 with one-hot probability targets: the class maps need the softmax (hundreds of
    // ms), the sample maps nothing of it. A session that computed it for the sample maps too would then
    // answer the class maps from its cache, and the ratio would invert.
    const C = 50;
    const S = 200_000;
    const data = Float32Array.from({ length: C * S }, (_, i) => Math.sin(i * 0.37) * 5);
    const onehot = new Float32Array(C * S);
    for (let s = 0; s < S; s++) onehot[(s % C) * S + s] = 1;
    const payload = { input: { dtype: 'float32' as const, shape: [1, C, S], data }, target: { dtype: 'float32' as const, shape: [1, C, S], data: onehot } } as unknown as Payload;
    const session = openInPage(payload, { options: {}, weight: undefined });
    let t0 = performance.now();
    const m = await session.sampleMaps(0);
    const mapsMs = performance.now() - t0;
    t0 = performance.now();
    const probs = (await session.classMaps(0)).probs;
    const classMs = performance.now() - t0;
    assert.equal(m.pTarget ?? null, null);
    assert.equal(m.confidence ?? null, null);
    assert.equal(probs.length, C * S);
    assert.ok(mapsMs < classMs / 3, `sample maps ${mapsMs.toFixed(0)} ms, class maps ${classMs.toFixed(0)} ms`);
  });

  it('leaves them out for probability targets', async function () {
    const payload = { input, target: { dtype: 'float64' as const, shape: [1, 3, 2], data: Float64Array.from([1, 0, 0, 0, 0, 1]) } } as unknown as Payload;
    const m = await openInPage(payload, { options: {}, weight: undefined }).sampleMaps(0);
    assert.equal(m.confidence ?? null, null);
  });
});
