// tsx bench/focal.ts [--reps R]: Engine time of the focal losses on the segmentation case
// [8, 21, 512, 512] float32 logits, int64 targets with 5% ignore_index 255, per-class alpha weights, against
// cross-entropy on the same data in the same run (both take the SIMD path). In-memory tensors and .npy files, 2 workers. The dist folder: CROSS_ENTROPY_LENS_DIST or
// dist/. Figures vary run to run on a shared machine: compare within one run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../src/tensor/binary/npy';
import type { Tensor } from '../src/tensor/tensor';
import { Engine, type EngineRequest } from '../src/worker/engine/engine';
import { segmentationCase, xorshift } from './random';

const ROOT = path.resolve(__dirname, '..');
const DIST = process.env.CROSS_ENTROPY_LENS_DIST ?? path.join(ROOT, 'dist');
const repsAt = process.argv.indexOf('--reps');
const REPS = repsAt >= 0 ? Number(process.argv[repsAt + 1]) : 3;

async function main(): Promise<void> {
  const [N, C, H, W] = [8, 21, 512, 512];
  const { input, target } = segmentationCase(xorshift(), N, C, H, W);
  const weight: Tensor = { dtype: 'float32', shape: [C], data: Float32Array.from({ length: C }, (_, c) => 0.25 + c / C) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-bench-focal-'));
  const xf = path.join(dir, 'x.npy');
  const tf = path.join(dir, 't.npy');
  fs.writeFileSync(xf, encodeNpy(input));
  fs.writeFileSync(tf, encodeNpy(target));
  const engine = new Engine({ distDir: DIST, maxWorkers: 2 });
  try {
    const cases: Array<[string, EngineRequest]> = [];
    for (const [src, inS, tS] of [
      ['tensors', { kind: 'tensor', tensor: input }, { kind: 'tensor', tensor: target }],
      ['.npy', { kind: 'file', path: xf }, { kind: 'file', path: tf }],
    ] as const) {
      for (const [name, options] of [
        ['ce', { ignoreIndex: 255, reduction: 'none' }],
        ['focal gamma 2', { loss: 'focal', gamma: 2, ignoreIndex: 255, reduction: 'none' }],
        ['focal gamma 2 mean', { loss: 'focal', gamma: 2, ignoreIndex: 255, reduction: 'mean' }],
      ] as const) {
        cases.push([`${name}, ${src}`, { input: inS, target: tS, weight: { kind: 'tensor', tensor: weight }, options }]);
      }
    }
    // One warm-up of each path (workers start, wasm compiles).
    await engine.compute(cases[0][1]);
    await engine.compute(cases[1][1]);
    for (const [name, req] of cases) {
      let best = Infinity;
      let r;
      for (let k = 0; k < REPS; k++) {
        const t0 = performance.now();
        r = await engine.compute(req);
        best = Math.min(best, (performance.now() - t0) / 1000);
      }
      console.log(`${name.padEnd(28)} ${best.toFixed(3)} s  (${r!.engine}, ${r!.workers} workers; value ${r!.value}${r!.ceValue !== undefined ? `, ceValue ${r!.ceValue}` : ''})`);
    }
  } finally {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
