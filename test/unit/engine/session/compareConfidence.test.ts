// The view's new per-sample data through real workers: confidence maps (top-1, margin, entropy) from the
// probability job for class-index cross-entropy, and a comparison's B - A per sample (PanelComparison).
// Expected numbers come from float64 references written here, not from the code under test.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PanelComparison } from '../../../../src/host/panels/comparePanel';
import type { Tensor } from '../../../../src/tensor/tensor';
import { Engine, type EngineRequest } from '../../../../src/worker/engine/engine';
import { LossSession } from '../../../../src/worker/engine/session';
import { DIST, randomLogits, randomTargets, writeNpy } from '../helpers';

/** float64 top-1, margin and entropy of the C values of one element. */
function confidenceRef(v: number[]): [number, number, number] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  const p = e.map((x) => x / z).sort((a, b) => b - a);
  return [p[0], p[0] - (p[1] ?? 0), -p.reduce((s, q) => s + (q > 0 ? q * Math.log(q) : 0), 0)];
}

/** float64 cross-entropy of element (n, s) of logits (N, C, S) with target class t. */
function ceRef(x: Tensor, n: number, s: number, C: number, S: number, t: number): number {
  const v = Array.from({ length: C }, (_, c) => Number(x.data[(n * C + c) * S + s]));
  const m = Math.max(...v);
  return m + Math.log(v.reduce((a, q) => a + Math.exp(q - m), 0)) - v[t];
}

describe('engine: confidence maps and comparison deltas for the view', function () {
  this.timeout(60000);
  let engine: Engine;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cmpconf-'));
  before(() => (engine = new Engine({ distDir: DIST, maxWorkers: 2 })));
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const N = 3;
  const C = 5;
  const H = 4;
  const W = 6;
  const S = H * W;
  const xa = randomLogits([N, C, H, W], 11);
  const xb = randomLogits([N, C, H, W], 12);
  const t = randomTargets([N, H, W], C, 13);
  const af = path.join(dir, 'a.npy');
  const bf = path.join(dir, 'b.npy');
  const tf = path.join(dir, 't.npy');
  writeNpy(af, xa);
  writeNpy(bf, xb);
  writeNpy(tf, t);

  it('fills confidence for class-index cross-entropy (file input, sample 1)', async function () {
    const s = await LossSession.open(engine, { input: { kind: 'file', path: af }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } });
    const m = await s.sampleMapsWithProbs(1);
    assert.ok(m.confidence, 'confidence maps present');
    for (let i = 0; i < S; i++) {
      const want = confidenceRef(Array.from({ length: C }, (_, c) => Number(xa.data[(1 * C + c) * S + i])));
      const got = [m.confidence.top1[i], m.confidence.margin[i], m.confidence.entropy[i]];
      got.forEach((g, k) => assert.ok(Math.abs(g - want[k]) < 1e-6, `element ${i} field ${k}: ${g} vs ${want[k]}`));
    }
  });

  it('fills confidence for an (N, C) strip of probabilities', async function () {
    const probs: Tensor = { dtype: 'float64', shape: [3, 2], data: Float64Array.from([0.9, 0.1, 0.5, 0.5, 0.3, 0.7]) };
    const target: Tensor = { dtype: 'int64', shape: [3], data: Int32Array.from([0, 1, 1]) };
    const s = await LossSession.open(engine, { input: { kind: 'tensor', tensor: probs }, target: { kind: 'tensor', tensor: target }, options: { inputKind: 'probs' } });
    const m = await s.sampleMapsWithProbs(0);
    assert.ok(m.confidence);
    const h = (p: number): number => -p * Math.log(p) - (1 - p) * Math.log(1 - p);
    [[0.9, 0.8, h(0.9)], [0.5, 0, Math.LN2], [0.7, 0.4, h(0.7)]].forEach((w, i) => {
      assert.ok(Math.abs(m.confidence!.top1[i] - w[0]) < 1e-6);
      assert.ok(Math.abs(m.confidence!.margin[i] - w[1]) < 1e-6);
      assert.ok(Math.abs(m.confidence!.entropy[i] - w[2]) < 1e-6);
    });
  });

  it('leaves confidence out for probability targets and bce', async function () {
    const x: Tensor = { dtype: 'float64', shape: [2, 3], data: Float64Array.from([1, 2, 3, 0, 0, 1]) };
    const soft: Tensor = { dtype: 'float64', shape: [2, 3], data: Float64Array.from([0.2, 0.3, 0.5, 1, 0, 0]) };
    const s1 = await LossSession.open(engine, { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: soft } });
    assert.equal((await s1.sampleMapsWithProbs(0)).confidence ?? null, null);
    const s2 = await LossSession.open(engine, { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: { ...soft, data: Float64Array.from([0, 1, 1, 1, 0, 0]) } }, options: { loss: 'bce' } });
    assert.equal((await s2.sampleMapsWithProbs(0)).confidence ?? null, null);
  });

  it('a comparison gives the summary and each sample\'s B - A (NaN where ignored)', async function () {
    const reqB: EngineRequest = { input: { kind: 'file', path: bf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } };
    const b = await LossSession.open(engine, reqB);
    const cmp = await PanelComparison.compute(engine, reqB, b, { kind: 'file', path: af }, { a: 'a.npy', b: 'b.npy' }, new AbortController().signal);
    let improved = 0;
    let regressed = 0;
    const td = t.data as Int32Array;
    for (const n of [0, 2]) {
      const m = cmp.withDelta(await b.sampleMaps(n));
      assert.ok(m.delta);
      assert.equal(m.delta.length, S);
      for (let s = 0; s < S; s++) {
        const tc = td[n * S + s];
        if (tc === 255) {
          assert.ok(Number.isNaN(m.delta[s]));
          continue;
        }
        const want = ceRef(xb, n, s, C, S, tc) - ceRef(xa, n, s, C, S, tc);
        assert.ok(Math.abs(m.delta[s] - want) < 2e-5, `sample ${n} element ${s}: ${m.delta[s]} vs ${want}`);
      }
    }
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const tc = td[n * S + s];
        if (tc === 255) continue;
        const d = ceRef(xb, n, s, C, S, tc) - ceRef(xa, n, s, C, S, tc);
        if (d < 0) improved++;
        if (d > 0) regressed++;
      }
    }
    assert.equal(cmp.summary.improved, improved);
    assert.equal(cmp.summary.regressed, regressed);
    assert.equal(cmp.summary.labelA, 'a.npy');
    assert.ok(cmp.summary.delta !== null && Math.abs(cmp.summary.delta - ((b.result.value ?? NaN) - (cmp.summary.valueA ?? NaN))) < 1e-12);
  });

  it('a comparison of inputs of different shapes fails with both shapes named', async function () {
    const other = path.join(dir, 'c.npy');
    writeNpy(other, randomLogits([N, C + 1, H, W], 14));
    const reqB: EngineRequest = { input: { kind: 'file', path: bf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } };
    const b = await LossSession.open(engine, reqB);
    await assert.rejects(PanelComparison.compute(engine, reqB, b, { kind: 'file', path: other }, { a: 'c.npy', b: 'b.npy' }, new AbortController().signal), /c\.npy is \[3, 6, 4, 6\] but b\.npy is \[3, 5, 4, 6\]/);
  });
});
