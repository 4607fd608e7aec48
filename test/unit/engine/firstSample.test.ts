// ComputeControls.onFirstSample: the fast path hands sample 0's maps over as soon as they are final, while
// the rest of the batch computes (the panel paints them first). They are the result's maps for sample 0,
// handed once, and only where the result has several spatial samples in C order.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import type { Tensor } from '../../../src/tensor/tensor';
import { Engine, type EngineRequest } from '../../../src/worker/engine/engine';
import type { FirstSampleMaps } from '../../../src/worker/engine/engineTypes';
import { DIST, randomLogits, randomTargets } from './helpers';

describe('Engine: sample 0\'s maps before the batch is done', function () {
  this.timeout(180_000);
  let dir: string;
  // The panel's settings, scaled down so that the 6-sample file streams a sample per block.
  const engine = new Engine({ distDir: DIST, maxWorkers: 2, streamFilesOverBytes: 64 << 10, blockBytes: 5 * 64 * 48 * 4, keepStreamedMapsBytes: 64 << 20 });
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-first-'));
  });
  after(async function () {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function file(name: string, t: Tensor, fortranOrder = false): { kind: 'file'; path: string } {
    const p = path.join(dir, name);
    fs.writeFileSync(p, encodeNpy(t, { fortranOrder }));
    return { kind: 'file', path: p };
  }

  async function run(req: EngineRequest): Promise<{ first: FirstSampleMaps[]; progressAtFirst: number[]; result: Awaited<ReturnType<Engine['compute']>> }> {
    const first: FirstSampleMaps[] = [];
    const progressAtFirst: number[] = [];
    let progress = 0;
    const result = await engine.compute(req, { onProgress: (f) => (progress = f), onFirstSample: (m) => (first.push(m), progressAtFirst.push(progress)) });
    return { first, progressAtFirst, result };
  }

  const x = randomLogits([6, 5, 64, 48], 31);
  const t = randomTargets([6, 64, 48], 5, 32);

  it('equal the result\'s maps of sample 0, handed once, before the computation ends (streamed file and tensor)', async function () {
    const S = 64 * 48;
    for (const [label, req] of [
      ['streamed file', { input: file('x.npy', x), target: file('t.npy', t), options: { ignoreIndex: 255 } }],
      ['in-memory tensor', { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: t }, options: { ignoreIndex: 255 } }],
    ] as const) {
      const { first, progressAtFirst, result } = await run(req as EngineRequest);
      assert.equal(first.length, 1, label);
      const m = first[0];
      const maps = result.maps;
      assert.ok(maps, label);
      assert.deepEqual(m.shape, [64, 48], label);
      assert.deepEqual(m.loss, Float32Array.from(maps.loss.subarray(0, S)), label);
      assert.deepEqual(m.target, maps.targetClass.slice(0, S), label);
      assert.deepEqual(m.predicted, maps.predicted.slice(0, S), label);
      assert.deepEqual(m.ignored, maps.ignored.slice(0, S), label);
      assert.equal(m.loss.buffer.byteLength, S * 4, `${label}: a copy, not a view into the batch`);
      assert.ok(progressAtFirst[0] < 1, `${label}: handed over before the end (at ${progressAtFirst[0]})`);
      if (label === 'streamed file') assert.equal(result.streamed, true);
    }
  });

  it('are not handed over for one sample, classification rows, or a Fortran-order file', async function () {
    const cases: Array<[string, EngineRequest]> = [
      ['one sample', { input: { kind: 'tensor', tensor: randomLogits([1, 5, 64, 48], 33) }, target: { kind: 'tensor', tensor: randomTargets([1, 64, 48], 5, 34) }, options: { ignoreIndex: 255 } }],
      ['rows', { input: { kind: 'tensor', tensor: randomLogits([64, 5], 35) }, target: { kind: 'tensor', tensor: randomTargets([64], 5, 36) }, options: { ignoreIndex: 255 } }],
      ['Fortran-order file', { input: file('xf.npy', x, true), target: file('tf.npy', t, true), options: { ignoreIndex: 255 } }],
    ];
    for (const [label, req] of cases) {
      const { first, result } = await run(req);
      assert.ok(result.maps, label);
      assert.equal(first.length, 0, label);
    }
  });
});
