// What the view asks after a computation: one sample's maps, class probabilities, and the breakdown of
// one element — checked against the reference kernel's numbers for the same data.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sampleConfidence } from '../../../../src/kernel/sample/confidence';
import { computeLoss, explainElement } from '../../../../src/kernel/index';
import { sampleProbabilities } from '../../../../src/kernel/sample/softmax';
import type { Tensor } from '../../../../src/tensor/tensor';
import { Engine } from '../../../../src/worker/engine/engine';
import { LossSession } from '../../../../src/worker/engine/session';
import { DIST, randomLogits, randomTargets, rng, writeNpy } from '../helpers';

describe('engine: a session serves the view', function () {
  let engine: Engine;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-session-'));
  before(() => (engine = new Engine({ distDir: DIST, maxWorkers: 2 })));
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const input = randomLogits([3, 4, 5, 6], 7);
  const target = randomTargets([3, 5, 6], 4, 8);
  const xf = path.join(dir, 'x.npy');
  const tf = path.join(dir, 't.npy');
  writeNpy(xf, input);
  writeNpy(tf, target);

  it('gives one sample\'s maps with p(target) from a file source', async function () {
    const s = await LossSession.open(engine, { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } });
    const ref = computeLoss({ input, target, options: { ignoreIndex: 255 } });
    const m = await s.sampleMapsWithProbs(2);
    assert.deepEqual(m.shape, [5, 6]);
    for (let i = 0; i < 30; i++) {
      assert.ok(Math.abs(m.loss[i] - ref.lossMap[60 + i]) < 1e-5);
      assert.equal(m.target[i], ref.targetClass[60 + i]);
      assert.equal(m.predicted[i], ref.predicted[60 + i]);
      if (!m.ignored[i]) assert.ok(Math.abs(Math.exp(-ref.lossMap[60 + i]) - (m.pTarget as Float32Array)[i]) < 1e-5, `p(target) at ${i}`);
      else assert.ok(Number.isNaN((m.pTarget as Float32Array)[i]));
    }
    const cm = await s.classMaps(2);
    for (let p = 0; p < 30; p++) {
      let sum = 0;
      for (let c = 0; c < 4; c++) sum += cm.probs[c * 30 + p];
      assert.ok(Math.abs(sum - 1) < 1e-5);
    }
  });

  it('a sample large enough to split between the workers: class maps and confidence as the whole-sample functions give them', async function () {
    // 9216 elements a sample: the probability job is two ranges, one per worker (session.ts sampleProbs).
    const big = randomLogits([2, 5, 96, 96], 11);
    const bigT = randomTargets([2, 96, 96], 5, 12);
    const S = 96 * 96;
    const s = await LossSession.open(engine, { input: { kind: 'tensor', tensor: big }, target: { kind: 'tensor', tensor: bigT }, options: { ignoreIndex: 255 } });
    const m = await s.sampleMapsWithProbs(1);
    const x = (big.data as Float32Array).subarray(5 * S, 10 * S);
    const want = sampleConfidence(x, 5, S, 'logits');
    const probs = sampleProbabilities(x, 5, S, 'logits', 'ce');
    const cm = await s.classMaps(1);
    for (let i = 0; i < 5 * S; i++) assert.ok(Object.is(cm.probs[i], probs[i]), `probability ${i}: ${cm.probs[i]} vs ${probs[i]}`);
    for (const k of ['top1', 'margin', 'entropy'] as const) {
      for (let i = 0; i < S; i++) assert.ok(Object.is(m.confidence![k][i], want[k][i]), `${k}[${i}]: ${m.confidence![k][i]} vs ${want[k][i]}`);
    }
    for (let i = 0; i < S; i++) if (!m.ignored[i]) assert.ok(Object.is((m.pTarget as Float32Array)[i], probs[m.target[i] * S + i]), `p(target) at ${i}`);
  });

  it("confidence on request: the maps the complete sample computed, and a hover's details carry an element's values from them", async function () {
    const s = await LossSession.open(engine, { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } });
    const S = 30;
    const want = sampleConfidence((input.data as Float32Array).subarray(2 * 4 * S, 3 * 4 * S), 4, S, 'logits');
    const at = 1 * 6 + 2;
    // Where the host has not said the job is affordable, a hover's details carry none.
    assert.equal((await s.explain(2, [1, 2])).confidence, undefined);
    s.detailConfidence = true;
    // Before the complete maps: the details run the sample's job (the complete maps then share it).
    assert.deepEqual((await s.explain(2, [1, 2])).confidence, { top1: want.top1[at], margin: want.margin[at], entropy: want.entropy[at] });
    await s.sampleMapsWithProbs(2);
    const c = await s.sampleConfidence(2);
    assert.ok(c);
    for (const k of ['top1', 'margin', 'entropy'] as const) for (let i = 0; i < S; i++) assert.ok(Object.is(c[k][i], want[k][i]), `${k}[${i}]`);
    const want0 = sampleConfidence((input.data as Float32Array).subarray(0, 4 * S), 4, S, 'logits');
    assert.deepEqual((await s.explain(0, [1, 2])).confidence, { top1: want0.top1[at], margin: want0.margin[at], entropy: want0.entropy[at] });
    // bce has no softmax over classes: no confidence maps.
    const b = await LossSession.open(engine, { input: { kind: 'tensor', tensor: randomLogits([4, 3], 5) }, target: { kind: 'tensor', tensor: { dtype: 'float32', shape: [4, 3], data: Float32Array.of(1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1) } }, options: { loss: 'bce' } });
    assert.equal(await b.sampleConfidence(0), null);
  });

  it('explains an element with the kernel\'s own numbers', async function () {
    const s = await LossSession.open(engine, { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255, labelSmoothing: 0.1 } });
    const flat = 1 * 30 + 4 * 6 + 5; // sample 1, y 4, x 5
    const want = explainElement({ input, target, options: { ignoreIndex: 255, labelSmoothing: 0.1 } }, flat);
    const d = await s.explain(1, [4, 5]);
    assert.ok(Math.abs(d.explanation.loss - want.loss) < 1e-6);
    assert.deepEqual(d.explanation.inputs.map((v) => Math.fround(v)), want.inputs.map((v) => Math.fround(v)));
    assert.equal(d.explanation.target, want.target);
    assert.equal(d.top.length, 3);
    assert.ok(d.top[0].prob >= d.top[1].prob && d.top[1].prob >= d.top[2].prob);
  });

  it('serves a classification strip and channels-last data', async function () {
    const x: Tensor = randomLogits([6, 3], 1);
    const t = randomTargets([6], 3, 2, -100, 0);
    const s = await LossSession.open(engine, { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: t } });
    const m = await s.sampleMapsWithProbs(0);
    assert.equal(m.n, -1);
    assert.deepEqual(m.shape, [6]);
    const ref = computeLoss({ input: x, target: t });
    for (let i = 0; i < 6; i++) assert.ok(Math.abs((m.pTarget as Float32Array)[i] - Math.exp(-ref.lossMap[i])) < 1e-6);
    const nhwc = randomLogits([2, 3, 4, 5], 3);
    const tt = randomTargets([2, 3, 4], 5, 4, -100, 0);
    const s2 = await LossSession.open(engine, { input: { kind: 'tensor', tensor: nhwc }, target: { kind: 'tensor', tensor: tt }, options: { classDim: -1 } });
    const m2 = await s2.sampleMapsWithProbs(1);
    const ref2 = computeLoss({ input: nhwc, target: tt, options: { classDim: -1 } });
    for (let i = 0; i < 12; i++) assert.ok(Math.abs((m2.pTarget as Float32Array)[i] - Math.exp(-ref2.lossMap[12 + i])) < 1e-6);
  });
  it('serves a multi-label [N, C] as one map of every sample, for bce and sigmoid focal, in memory and from .npy', async function () {
    const [N, C] = [7, 5];
    const x = randomLogits([N, C], 11);
    const r = rng(12);
    const t: Tensor = { dtype: 'float32', shape: [N, C], data: Float32Array.from({ length: N * C }, () => (r() < 0.3 ? 1 : 0)) };
    const xn = path.join(dir, 'ml_x.npy');
    const tn = path.join(dir, 'ml_t.npy');
    writeNpy(xn, x);
    writeNpy(tn, t);
    for (const loss of ['bce', 'sigmoid-focal'] as const) {
      const ref = computeLoss({ input: x, target: t, options: { loss, reduction: 'none' } });
      for (const [src, input, target] of [
        ['tensors', { kind: 'tensor', tensor: x }, { kind: 'tensor', tensor: t }],
        ['.npy', { kind: 'file', path: xn }, { kind: 'file', path: tn }],
      ] as const) {
        const s = await LossSession.open(engine, { input, target, options: { loss, reduction: 'none' } });
        const what = `${loss}, ${src}`;
        assert.equal(s.geometry.samples, 1, what);
        const m = await s.sampleMapsWithProbs(0);
        assert.equal(m.n, -1, `${what}: one map, no sample index`);
        assert.deepEqual(m.shape, [N, C], what);
        for (let k = 0; k < N * C; k++) {
          const xv = (x.data as Float32Array)[k];
          assert.ok(Math.abs(m.loss[k] - ref.lossMap[k]) <= 2e-6 * Math.abs(ref.lossMap[k]) + 2e-7, `${what}: loss at ${k}`);
          assert.equal(m.target[k], (t.data as Float32Array)[k] >= 0.5 ? 1 : 0, `${what}: target at ${k}`);
          assert.equal(m.predicted[k], xv > 0 ? 1 : 0, `${what}: prediction at ${k}`);
          const p = 1 / (1 + Math.exp(-xv));
          assert.ok(Math.abs((m.pTarget as Float32Array)[k] - ((t.data as Float32Array)[k] ? p : 1 - p)) < 1e-6, `${what}: p(label) at ${k}`);
        }
        const cm = await s.classMaps(0);
        assert.equal(cm.n, -1);
        assert.deepEqual(cm.shape, [N, C]);
        assert.equal(cm.probs.length, N * C);
      }
    }
  });
});
