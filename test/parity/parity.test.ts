// Parity with PyTorch's F.cross_entropy / F.binary_cross_entropy_with_logits.
// 1. The committed fixtures (test/fixtures/parity, written by test/parity/generators/generate.py with seed 0): one test
//    per case, named by the case id.
// 2. Live parity: when /usr/bin/python3 has torch, the generator runs afresh with a seed that changes on every
//    run (printed in the title; PARITY_SEED=N reproduces a run) and every fresh case is checked the same way,
//    by the reference kernel and through the Engine (its SIMD path where it takes it, to that path's bound:
//    engineCheck.ts). engineLive.test.ts draws, with the same seed, what these cases lack for the SIMD path
//    (confident logits, 64+ classes, class-last rows, many pixels).

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../src/errors';
import { Engine } from '../../src/worker/engine/engine';
import { checkComputed, describeWorst, fmt, newWorst } from './engineCheck';
import { checkCase, isErrorExpect, loadCase, loadManifest, type Manifest } from './fixtures';
import { LIVE_SEED, PYTHON, torchAvailable } from './liveSeed';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'parity');
const GENERATOR = path.join(REPO, 'test', 'parity', 'generators', 'generate.py');
const DIST = path.join(REPO, 'dist');

function failureText(id: string, problems: readonly string[]): string {
  return `${id}:\n  ${problems.join('\n  ')}`;
}

describe('PyTorch parity (committed fixtures)', () => {
  let manifest: Manifest | null = null;
  let loadError = '';
  try {
    manifest = loadManifest(FIXTURES);
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
  }

  it('has a fixture manifest with enough cases', () => {
    assert.ok(manifest, `cannot read ${FIXTURES}/cases.json (${loadError}); run npm run parity:generate`);
    const computed = manifest.cases.filter((c) => !isErrorExpect(c.expect)).length;
    assert.ok(computed >= 300, `only ${computed} computed cases`);
  });

  for (const c of manifest?.cases ?? []) {
    const what = isErrorExpect(c.expect) ? `raises like PyTorch: ${c.expect.error}` : `${c.options.loss} ${c.options.reduction}`;
    it(`${c.id} (${what})`, () => {
      const problems = checkCase(FIXTURES, c);
      if (problems.length) assert.fail(failureText(c.id, problems));
    });
  }
});

const liveSeed = LIVE_SEED;
const liveScale = Number(process.env.PARITY_COUNT_SCALE ?? '0.5');

describe(`PyTorch parity (live, seed ${liveSeed}; reproduce with PARITY_SEED=${liveSeed})`, function () {
  this.timeout(180_000);
  let dir = '';
  let manifest: Manifest | null = null;

  before(function () {
    if (!torchAvailable()) {
      // CI installs python3-torch, so this runs there.
      console.log(`      (skipped: ${PYTHON} cannot import torch; apt-get install python3-torch python3-numpy)`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `ce-lens-parity-${liveSeed}-`));
    const r = spawnSync(
      PYTHON,
      [GENERATOR, dir, '--seed', String(liveSeed), '--count-scale', String(liveScale)],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, `generate.py --seed ${liveSeed} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
    manifest = loadManifest(dir);
  });

  after(() => {
    if (dir && !failed) fs.rmSync(dir, { recursive: true, force: true });
  });

  let failed = false;
  it('matches PyTorch on every freshly generated case', () => {
    assert.ok(manifest);
    const failures: string[] = [];
    for (const c of manifest.cases) {
      const problems = checkCase(dir, c);
      if (problems.length) failures.push(failureText(c.id, problems));
    }
    failed = failures.length > 0;
    if (!failed) return;
    assert.fail(
      `${failures.length} of ${manifest.cases.length} cases differ from PyTorch (seed ${liveSeed}, fixtures kept in ${dir}):\n` +
        failures.slice(0, 30).join('\n') +
        (failures.length > 30 ? `\n… and ${failures.length - 30} more` : ''),
    );
  });

  it('matches PyTorch through the Engine on every freshly generated case (in memory, each path to its bound)', async () => {
    assert.ok(manifest);
    const engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    const worst = newWorst();
    const failures: string[] = [];
    let simd = 0;
    try {
      for (const c of manifest.cases) {
        const { request, expectedLoss } = loadCase(dir, c);
        const req = {
          input: { kind: 'tensor' as const, tensor: request.input }, target: { kind: 'tensor' as const, tensor: request.target },
          weight: request.weight ? { kind: 'tensor' as const, tensor: request.weight } : null,
          posWeight: request.posWeight ? { kind: 'tensor' as const, tensor: request.posWeight } : null,
          options: c.options,
        };
        const expect = c.expect;
        if (isErrorExpect(expect)) {
          // PyTorch raises: the engine must refuse with one line of our own (the reference kernel's wording
          // is held to PyTorch's by the test above).
          const outcome = await engine.compute(req).then((r) => `returned ${fmt(r.value)} (${r.engine})`, (e: unknown) =>
            e instanceof LensError && !/[\r\n]/.test(e.message) ? null : `threw ${e instanceof Error ? e.message : String(e)}`);
          if (outcome !== null) failures.push(`${c.id}: ${outcome} where PyTorch raises: ${expect.error}`);
          continue;
        }
        const r = await engine.compute(req);
        if (r.engine === 'wasm-simd') simd++;
        const problems = checkComputed(r, expect, expectedLoss!, c.options.reduction, c.id, worst);
        if (problems.length) failures.push(failureText(`${c.id} (${r.engine})`, problems));
      }
    } finally {
      await engine.dispose();
    }
    console.log(`      through the Engine: ${simd} of ${manifest.cases.length} cases took wasm-simd; ${describeWorst(worst)}`);
    failed ||= failures.length > 0;
    // The generator's float32/float16 class-index cases (about a quarter of them: 55 to 75 at scale 0.5)
    // are the SIMD path's share; none would mean the engine fell back to the reference kernel everywhere.
    assert.ok(simd >= 80 * liveScale, `only ${simd} cases took wasm-simd`);
    if (failures.length) {
      assert.fail(`${failures.length} of ${manifest.cases.length} cases differ from PyTorch through the Engine (seed ${liveSeed}, fixtures kept in ${dir}):\n` +
        failures.slice(0, 30).join('\n'));
    }
  });
});
