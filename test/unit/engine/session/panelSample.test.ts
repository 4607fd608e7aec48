// What the loss panel sends of a sample (src/host/panels/panelSample.ts) on a real session: the quick maps
// without p(target), then complete maps whose confidence maps the session holds until asked.
import * as assert from 'node:assert/strict';
import { panelSampleSource } from '../../../../src/host/panels/panelSample';
import type { SampleMaps } from '../../../../src/protocol';
import { Engine } from '../../../../src/worker/engine/engine';
import { LossSession } from '../../../../src/worker/engine/session';
import { DIST, randomLogits, randomTargets } from '../helpers';

describe('engine: the loss panel sends a sample in two steps', function () {
  let engine: Engine;
  before(() => (engine = new Engine({ distDir: DIST, maxWorkers: 2 })));
  after(async () => {
    await engine.dispose();
  });

  const input = randomLogits([2, 4, 5, 6], 3);
  const target = randomTargets([2, 5, 6], 4, 4);
  const identity = (m: SampleMaps): SampleMaps => m;

  it('quick maps without p(target); complete maps with it, the confidence maps held by the session', async function () {
    const s = await LossSession.open(engine, { input: { kind: 'tensor', tensor: input }, target: { kind: 'tensor', tensor: target }, options: { ignoreIndex: 255 } });
    const src = panelSampleSource(s, 1, identity, false);
    assert.ok(src.quick);
    const quick = await src.quick();
    assert.equal(quick.pTarget, null);
    assert.equal(quick.n, 1);
    const complete = await src.complete();
    assert.ok(complete.pTarget && complete.pTarget.length === 30);
    assert.equal(complete.confidence, null, 'not sent with the sample');
    assert.equal(complete.confidenceOnRequest, true);
    const held = await s.sampleConfidence(1);
    assert.ok(held && held.top1.length === 30);
    // The view holds the quick maps already: no quick step.
    assert.equal(panelSampleSource(s, 1, identity, true).quick, undefined);
  });

  it('probability targets: no quick step, no confidence maps to hold', async function () {
    const probs = randomLogits([2, 4, 5, 6], 5, 0.5);
    const p = probs.data as Float32Array;
    // Rows of class probabilities per pixel: normalise each pixel's 4 values.
    for (let n = 0; n < 2; n++) for (let k = 0; k < 30; k++) {
      let z = 0;
      for (let c = 0; c < 4; c++) z += (p[(n * 4 + c) * 30 + k] = Math.abs(p[(n * 4 + c) * 30 + k]) + 0.01);
      for (let c = 0; c < 4; c++) p[(n * 4 + c) * 30 + k] /= z;
    }
    const s = await LossSession.open(engine, { input: { kind: 'tensor', tensor: input }, target: { kind: 'tensor', tensor: probs }, options: {} });
    const src = panelSampleSource(s, 0, identity, false);
    assert.equal(src.quick, undefined);
    const m = await src.complete();
    assert.equal(m.confidenceOnRequest, undefined);
  });
});
