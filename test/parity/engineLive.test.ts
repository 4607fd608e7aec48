// Live PyTorch parity of the path users get: cases drawn afresh on every run (test/parity/generators/generate_engine.py,
// seed in the title; PARITY_SEED=N reruns one) go through the Engine with its WebAssembly SIMD kernels, from
// in-memory tensors and from .npy files (which the engine lays out differently: 16-pixel blocks from 64
// pixels per sample, float16 rows widened by the row kernel as it reads). Every geometry the engine plans
// apart (rows below and from 64 classes, class-last, 3-d/4-d/5-d spatial with few and many pixels) meets
// every logit regime (plain, confident with losses down to ~1e-7, wide, offset), with weights, ignore_index,
// label smoothing and every reduction drawn per case.
//
// Each element within 2e-6 |l| + 2e-7 of PyTorch's float64 loss, the reduced value within 2e-6 relative, and
// per class the count and argmax count exactly and the loss sum within the element bound summed over the
// class (engineCheck.ts). Class-index cases must take 'wasm-simd'; probability targets take whichever path
// the engine picks, held to that path's bound.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../src/tensor/binary/npy';
import { Engine, type EngineRequest, type TensorSource } from '../../src/worker/engine/engine';
import { checkComputed, describeWorst, newWorst } from './engineCheck';
import { fromJson, isErrorExpect, loadCase, loadManifest, type ComputedExpect, type JsonNumber, type ParityCase } from './fixtures';
import { LIVE_SEED, PYTHON, torchAvailable } from './liveSeed';

const REPO = path.resolve(__dirname, '..', '..');
const GENERATOR = path.join(REPO, 'test', 'parity', 'generators', 'generate_engine.py');
const DIST = path.join(REPO, 'dist');

/** The geometries generate_engine.py draws (one case per regime each, every run). */
const GEOMETRIES = ['rows-narrow', 'rows-wide', 'class-last-narrow', 'class-last-wide', 'spatial-3d', 'spatial-4d-few', 'spatial-4d-blocked', 'spatial-5d'] as const;
const REGIMES = ['plain', 'confident', 'wide', 'offset'] as const;

interface LiveCase extends ParityCase {
  readonly geometry: string;
  readonly regime: string;
  readonly targetKind: 'index' | 'probs';
  readonly shape: readonly number[];
  readonly inputDtype: string;
  /** The smallest non-ignored loss PyTorch computed (null when none). */
  readonly minLoss: JsonNumber | null;
}

describe(`PyTorch parity through the Engine's SIMD path (live, seed ${LIVE_SEED}; reproduce with PARITY_SEED=${LIVE_SEED})`, function () {
  this.timeout(180_000);
  let dir = '';
  let cases: readonly LiveCase[] = [];
  let engine: Engine | null = null;
  let failed = false;
  const worst = newWorst();
  /** Smallest PyTorch loss among confident class-index cases that took the SIMD path, no smoothing. */
  let smallestConfident = Infinity;
  let simdRuns = 0;

  before(function () {
    if (!torchAvailable()) {
      console.log(`      (skipped: ${PYTHON} cannot import torch; apt-get install python3-torch python3-numpy)`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `ce-lens-engine-live-${LIVE_SEED}-`));
    const r = spawnSync(PYTHON, [GENERATOR, dir, '--seed', String(LIVE_SEED)], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `generate_engine.py --seed ${LIVE_SEED} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
    cases = loadManifest(dir).cases as readonly LiveCase[];
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
  });

  after(async () => {
    await engine?.dispose();
    if (dir && !failed) fs.rmSync(dir, { recursive: true, force: true });
    if (cases.length) console.log(`      seed ${LIVE_SEED}, ${simdRuns} SIMD runs: ${describeWorst(worst)}`);
  });

  /** Runs the cases in memory and from .npy files; problems as lines (with the seed and where to look). */
  async function runCases(selected: readonly LiveCase[]): Promise<void> {
    assert.ok(engine);
    const failures: string[] = [];
    for (const c of selected) {
      assert.ok(!isErrorExpect(c.expect));
      const expect = c.expect as ComputedExpect;
      const { request, expectedLoss } = loadCase(dir, c);
      const xFile = path.join(dir, `${c.id}-x.npy`);
      const tFile = path.join(dir, `${c.id}-t.npy`);
      fs.writeFileSync(xFile, encodeNpy(request.input));
      fs.writeFileSync(tFile, encodeNpy(request.target));
      const routes: Array<[string, TensorSource, TensorSource]> = [
        ['in-memory', { kind: 'tensor', tensor: request.input }, { kind: 'tensor', tensor: request.target }],
        ['.npy', { kind: 'file', path: xFile }, { kind: 'file', path: tFile }],
      ];
      const problems: string[] = [];
      for (const [route, input, target] of routes) {
        const req: EngineRequest = {
          input, target, weight: request.weight ? { kind: 'tensor', tensor: request.weight } : null, options: c.options,
        };
        const r = await engine.compute(req);
        if (c.targetKind === 'index' && r.engine !== 'wasm-simd') problems.push(`${route}: took the ${r.engine} path, not wasm-simd`);
        if (r.engine === 'wasm-simd') simdRuns++;
        const where = `${c.id} ${route}`;
        problems.push(...checkComputed(r, expect, expectedLoss!, c.options.reduction, where, worst).map((p) => `${route} (${r.engine}): ${p}`));
        if (r.engine === 'wasm-simd' && c.regime === 'confident' && c.options.labelSmoothing === 0 && c.minLoss !== null) {
          const m = fromJson(c.minLoss);
          if (m > 0) smallestConfident = Math.min(smallestConfident, m);
        }
      }
      if (problems.length) {
        const o = c.options;
        failures.push(`${c.id} ${JSON.stringify(c.shape)} ${c.inputDtype} classDim ${o.classDim}, ${o.reduction}, ignore_index ${o.ignoreIndex}, ` +
          `label_smoothing ${o.labelSmoothing}${c.hasWeight ? ', weighted' : ''}:\n    ${problems.slice(0, 12).join('\n    ')}`);
      }
    }
    if (failures.length) {
      failed = true;
      assert.fail(`${failures.length} of ${selected.length} cases differ from PyTorch (seed ${LIVE_SEED}: rerun with PARITY_SEED=${LIVE_SEED}; cases kept in ${dir}):\n  ${failures.join('\n  ')}`);
    }
  }

  for (const g of GEOMETRIES) {
    it(`${g}: every regime (${REGIMES.join(', ')}), in memory and from .npy`, async () => {
      const selected = cases.filter((c) => c.geometry === g && c.targetKind === 'index');
      assert.deepEqual(selected.map((c) => c.regime).sort(), [...REGIMES].sort(), `${g}: the generator's plan changed`);
      await runCases(selected);
    });
  }

  it('probability targets, on the path the engine takes and to its bound', async () => {
    const selected = cases.filter((c) => c.targetKind === 'probs');
    assert.ok(selected.length >= 3, `only ${selected.length} probability-target cases`);
    await runCases(selected);
  });

  it('reached the losses where an absolute bound says nothing: confident predictions below 1e-5 on the SIMD path', () => {
    // Confident cases without smoothing put target margins of log C + 4..17: their smallest losses are
    // ~1e-6..1e-8 on every seed, so the relative part of the bound is what they test.
    assert.ok(smallestConfident < 1e-5, `smallest confident loss checked ${smallestConfident}`);
    assert.ok(simdRuns >= 64, `only ${simdRuns} runs took wasm-simd`);
  });
});
