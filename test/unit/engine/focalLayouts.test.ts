// Softmax focal through the Engine on every layout of the fast path, where the focal pass finds each job's
// losses, targets and accumulators in a different place: classification rows transposed into blocks, the
// row kernel for wide rows (with a C x C matrix and with (target, predicted) pairs above 1,024 classes), the
// pixel kernel (with pairs too, and a pixel count that is not a multiple of 16), from memory, from files and
// streamed in small blocks by three workers. Against the float64 reference (src/kernel/losses/focal.ts): the value
// and the cross-entropy companion within 2e-6 relative, every per-class sum within 2e-6, every element within
// the SIMD bound.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeLoss } from '../../../src/kernel/index';
import type { Tensor } from '../../../src/tensor/tensor';
import { Engine, type EngineRequest } from '../../../src/worker/engine/engine';
import { wholeMaps } from '../../../src/worker/engine/resultMaps';
import { simdBound } from '../../parity/simdBound';
import { DIST, randomLogits, randomTargets, writeNpy } from './helpers';

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

describe('Engine: softmax focal on every fast layout', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-focal-layouts-'));
  /** streamed: reads files in small blocks (in-memory tensors over its budget are refused, so files only). */
  let engines: Array<{ name: string; engine: Engine; sources: ReadonlyArray<'memory' | 'file'> }> = [];
  before(() => {
    engines = [
      { name: '2 workers', engine: new Engine({ distDir: DIST, maxWorkers: 2 }), sources: ['memory', 'file'] },
      // Files stream in blocks of 32 KiB, with three workers sharing each block's jobs.
      { name: '3 workers, streamed', engine: new Engine({ distDir: DIST, maxWorkers: 3, inMemoryBytes: 1 << 16, streamFilesOverBytes: 1 << 16, blockBytes: 1 << 15 }), sources: ['file'] },
    ];
  });
  after(async () => {
    for (const e of engines) await e.engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cases: ReadonlyArray<readonly [string, readonly number[]]> = [
    ['rows transposed', [3000, 10]],
    ['row kernel', [700, 100]],
    ['row kernel, pairs', [300, 1500]],
    ['pixel kernel', [3, 6, 33, 37]],
    ['pixel kernel, pairs', [2, 1100, 3, 7]],
    ['pixel kernel, 15 pixels', [5, 4, 3, 5]],
  ];
  for (const [name, shape] of cases) {
    it(name, async () => {
      const C = shape[1];
      const x = randomLogits([...shape], 7, 30);
      const t = randomTargets([shape[0], ...shape.slice(2)], C, 8, 255, 0.1);
      const alpha: Tensor = { dtype: 'float32', shape: [C], data: Float32Array.from({ length: C }, (_, c) => 0.25 + (c % 7) / 7) };
      const xf = path.join(dir, `${name}-x.npy`);
      const tf = path.join(dir, `${name}-t.npy`);
      writeNpy(xf, x);
      writeNpy(tf, t);
      for (const gamma of [2, 2.5]) {
        const options = { loss: 'focal' as const, gamma, ignoreIndex: 255, reduction: 'mean' as const };
        const ref = computeLoss({ input: x, target: t, weight: alpha, options });
        for (const { name: en, engine, sources } of engines) {
          for (const src of sources) {
            const what = `${name}, gamma ${gamma}, ${en}, from ${src}`;
            const req: EngineRequest = src === 'memory'
              ? { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: t }, weight: { kind: 'tensor', tensor: alpha }, options }
              : { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, weight: { kind: 'tensor', tensor: alpha }, options };
            const r = await engine.compute(req);
            assert.equal(r.engine, 'wasm-simd', `${what}: the SIMD path`);
            assert.ok(rel(r.value!, ref.value!) <= 2e-6, `${what}: value ${r.value} vs ${ref.value}`);
            assert.ok(rel(r.ceValue!, ref.ceValue!) <= 2e-6, `${what}: cross-entropy ${r.ceValue} vs ${ref.ceValue}`);
            for (const pc of ref.stats.perClass) {
              const got = r.stats.perClass[pc.index].lossSum;
              assert.ok(Math.abs(got - pc.lossSum) <= 2e-6 * Math.abs(pc.lossSum) + 1e-12, `${what}: class ${pc.index} sum ${got} vs ${pc.lossSum}`);
            }
            const m = await wholeMaps(r);
            if (m) {
              for (let i = 0; i < ref.lossMap.length; i++) {
                const w = ref.lossMap[i];
                assert.ok(Math.abs(m.loss[i] - w) <= simdBound(w), `${what}: element ${i} ${m.loss[i]} vs ${w}`);
              }
            }
          }
        }
      }
    });
  }
});
