// Parity with PyTorch's F.cross_entropy / F.binary_cross_entropy_with_logits.
// 1. The committed fixtures (test/fixtures/parity, written by test/parity/generate.py with seed 0): one test
//    per case, named by the case id.
// 2. Live parity: when /usr/bin/python3 has torch, the generator runs afresh with a seed that changes daily
//    (printed in the title; PARITY_SEED=N reproduces a run) and every fresh case is checked the same way.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkCase, isErrorExpect, loadManifest, type Manifest } from './fixtures';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'parity');
const GENERATOR = path.join(REPO, 'test', 'parity', 'generate.py');
const PYTHON = process.env.PARITY_PYTHON ?? '/usr/bin/python3';

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

function torchAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

const envSeed = process.env.PARITY_SEED;
const liveSeed = envSeed !== undefined && envSeed !== '' ? Number(envSeed) : Math.floor(Date.now() / 86_400_000);
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
});
