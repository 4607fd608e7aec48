// `runs` as a process (dist/cli.js) on test/fixtures/runs/: four checkpoints of eight images written by
// test/parity/generators/generate_runs.py, whose expected.json holds every field from PyTorch / NumPy in float64. Also:
// each run's figures equal `eval` on that run's folder, --names, shards merged byte for byte, the
// unmatched rule, and bad input as one line.
import { compareJson, type Json } from './jsonCompare';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../../src/tensor/binary/npy';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const FIX = path.join(ROOT, 'test/fixtures/runs');
const RUNS = ['ep1', 'ep2', 'ep3', 'ep4'];

/**
 * Tolerances, as the eval tests use them: figures that pass through the float32 kernel (losses, values,
 * confidences, ECE, deltas) to a relative 2e-6 of float64 PyTorch; ratios of exact counts (accuracy, IoU,
 * persistent shares) to 1e-9. p90 is the linear mix of two float32 per-pixel losses against NumPy's mix of
 * the float64 ones: the same 2e-6 (the generator keeps every loss 1e-5 away from p90, so which pixels are
 * above it does not depend on that error).
 */
const F32 = 2e-6;
const COUNT_FIELDS = new Set(['images', 'class', 'pixelAccuracy', 'miou', 'iou', 'share']);


interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Exit 2, one line `error: …` on stderr naming what `pattern` says, no stack trace, nothing on stdout. */
function oneLineError(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}; stderr ${r.stderr}; stdout ${r.stdout.slice(0, 200)}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
  assert.match(lines[0], pattern);
}

function compare(actual: Json, want: Json, where: string, tol: number): void {
  compareJson(actual, want, where, tol, { countFields: COUNT_FIELDS, sameFields: true });
}

const expected = (): { _args: string[] } & Record<string, Json> => JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as { _args: string[] } & Record<string, Json>;

const folders = (): string[] => [path.join(FIX, 'labels'), ...RUNS.map((r) => path.join(FIX, r))];

describe('runs CLI against the PyTorch / NumPy reference', function () {
  this.timeout(120000);
  let single = '';
  let tmp = '';

  before(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'worker.js'))) throw new Error('dist/ missing: run npm run build first (npm test does)');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-cli-'));
    single = ok(cli('runs', ...folders(), ...expected()._args, '--json'));
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('every --json field matches float64 PyTorch / NumPy, and nothing beyond the contract', () => {
    compare(JSON.parse(single) as Json, expected(), 'runs', F32);
  });

  it('the planted changes come out: class 3 learned at ep3, img05 first in changed, img02 first in persistent', () => {
    const r = JSON.parse(single) as { perClass: Array<{ meanLoss: number[]; iou: number[] }>; changed: Array<{ name: string; delta: number }>; persistent: Array<{ name: string; share: number }> };
    const c3 = r.perClass[3];
    assert.ok(c3.meanLoss[2] < c3.meanLoss[1] / 2 && c3.iou[1] < 0.05 && c3.iou[2] > 0.3, JSON.stringify(c3));
    assert.equal(r.changed[0].name, 'img05');
    assert.ok(r.changed[0].delta > 0 && r.changed.slice(1).every((c) => c.delta < 0));
    assert.equal(r.persistent[0].name, 'img02');
  });

  it('each run\'s figures are eval\'s on that run\'s folder, to the bit', () => {
    const r = JSON.parse(single) as { runs: Array<Record<string, number>>; perClass: Array<{ meanLoss: number[]; iou: number[] }>; perImage: Array<{ name: string; value: number[] }> };
    RUNS.forEach((run, k) => {
      const e = JSON.parse(ok(cli('eval', path.join(FIX, run), path.join(FIX, 'labels'), ...expected()._args, '--json'))) as Record<string, unknown> & {
        perClass: Array<{ meanLoss: number; iou: number }>; perImage: Array<{ name: string; value: number }>;
      };
      for (const f of ['value', 'pixelAccuracy', 'miou', 'ece']) assert.equal(r.runs[k][f], e[f], `${run}.${f}`);
      e.perClass.forEach((c, i) => {
        assert.equal(r.perClass[i].meanLoss[k], c.meanLoss, `${run} class ${i} meanLoss`);
        assert.equal(r.perClass[i].iou[k], c.iou, `${run} class ${i} iou`);
      });
      e.perImage.forEach((p, i) => {
        assert.equal(r.perImage[i].name, p.name);
        assert.equal(r.perImage[i].value[k], p.value, `${run} ${p.name}`);
      });
    });
  });

  it('--names names the runs; the text report says what changed', () => {
    const r = JSON.parse(ok(cli('runs', ...folders(), '--ignore-index', '255', '--names', 'a, b,c,d', '--json'))) as { runs: Array<{ name: string }> };
    assert.deepEqual(r.runs.map((x) => x.name), ['a', 'b', 'c', 'd']);
    const text = ok(cli('runs', ...folders(), '--ignore-index', '255'));
    assert.match(text, /^images +8 in every run$/m);
    assert.match(text, /^ep4 +0\.89\d+ /m);
    assert.match(text, /^loss rose most +img05 \(\+0\.9\d+\)$/m);
    assert.match(text, /^hard in all runs img02 \(7\.\d\d% of its pixels\)/m);
  });

  it('two and three shards merged give exactly the single run (byte for byte), parts moved with their losses files', () => {
    const args = expected()._args;
    for (const N of [2, 3]) {
      const made = path.join(tmp, `made${N}`);
      const moved = path.join(tmp, `moved${N}`);
      fs.mkdirSync(made);
      fs.mkdirSync(moved);
      const parts: string[] = [];
      for (let i = N - 1; i >= 0; i--) {
        const losses = path.join(made, `part${i}.losses`);
        const part = ok(cli('runs', ...folders(), ...args, '--shard', `${i}/${N}`, '--losses', losses, '--json'));
        const parsed = JSON.parse(part) as { images: number; sums: { shard: { index: number }; losses: { bytes: number } } };
        assert.equal(parsed.sums.shard.index, i);
        assert.equal(fs.statSync(losses).size, parsed.sums.losses.bytes);
        // Parts travel: the losses file is found beside its part, wherever the part was written.
        fs.writeFileSync(path.join(moved, `part${i}.json`), part);
        fs.renameSync(losses, path.join(moved, `part${i}.losses`));
        parts.push(path.join(moved, `part${i}.json`));
      }
      assert.equal(ok(cli('merge', ...parts, '--json')), single);
    }
  });

  it('mismatched parts are one line each', () => {
    const d = path.join(tmp, 'bad-parts');
    fs.mkdirSync(d);
    const part = (name: string, ...extra: string[]): string => {
      const file = path.join(d, `${name}.json`);
      fs.writeFileSync(file, ok(cli('runs', ...folders(), '--ignore-index', '255', '--losses', path.join(d, `${name}.losses`), ...extra, '--json')));
      return file;
    };
    const p0 = part('p0', '--shard', '0/2');
    const p1 = part('p1', '--shard', '1/2');
    const smooth = part('smooth', '--shard', '1/2', '--label-smoothing', '0.1');
    const named = part('named', '--shard', '1/2', '--names', 'a,b,c,d');
    oneLineError(cli('merge', p0, '--json'), /shard 1\/2 missing/);
    oneLineError(cli('merge', p0, smooth, '--json'), /smooth\.json: sums\.runs\[0\]\.options\.labelSmoothing is 0\.1, .*p0\.json has 0 — merge parts of one run/);
    oneLineError(cli('merge', p0, named, '--json'), /named\.json: sums\.names is "a", "b", "c", "d", .* has "ep1", "ep2", "ep3", "ep4"/);
    // An eval part with a runs part.
    const evalPart = path.join(d, 'eval.json');
    fs.writeFileSync(evalPart, ok(cli('eval', path.join(FIX, 'ep1'), path.join(FIX, 'labels'), '--ignore-index', '255', '--shard', '1/2', '--json')));
    oneLineError(cli('merge', p0, evalPart, '--json'), /eval\.json is not a runs part, but .*p0\.json is/);
    // A losses file that is not the part's: another part's, or changed.
    fs.copyFileSync(path.join(d, 'p0.losses'), path.join(d, 'keep.losses'));
    fs.copyFileSync(path.join(d, 'smooth.losses'), path.join(d, 'p1.losses'));
    oneLineError(cli('merge', p0, p1, '--json'), /p1\.losses: its SHA-256 is not the one .*p1\.json records/);
    const bytes = fs.readFileSync(path.join(d, 'keep.losses'));
    fs.writeFileSync(path.join(d, 'p0.losses'), bytes.subarray(0, bytes.length - 4));
    oneLineError(cli('merge', p0, p1, '--json'), /p0\.losses: \d+ bytes, but .*p0\.json records \d+ — not this part's losses file/);
    fs.rmSync(path.join(d, 'p0.losses'));
    oneLineError(cli('merge', p0, p1, '--json'), /p0\.json: its losses file p0\.losses is neither beside it nor at /);
    // A part's field tampered with.
    const json = JSON.parse(fs.readFileSync(p1, 'utf8')) as { sums: { runs: Array<{ images: Array<{ pixels: number }> }> } };
    json.sums.runs[2].images[0].pixels += 1;
    fs.writeFileSync(p1, JSON.stringify(json));
    oneLineError(cli('merge', p1, '--json'), /p1\.json: sums\.runs\[2\]\.(images|counts)/);
  });

  it('only stems in every run are evaluated; the others are listed as unmatched', () => {
    const d = path.join(tmp, 'partial');
    for (const f of ['labels', ...RUNS]) fs.cpSync(path.join(FIX, f), path.join(d, f), { recursive: true });
    fs.rmSync(path.join(d, 'ep2', 'img03_logits.npy'));
    fs.copyFileSync(path.join(FIX, 'labels', 'img00.png'), path.join(d, 'labels', 'extra.png'));
    const r = JSON.parse(ok(cli('runs', path.join(d, 'labels'), ...RUNS.map((x) => path.join(d, x)), '--ignore-index', '255', '--json'))) as {
      images: number; unmatched: string[]; perImage: Array<{ name: string }>; runs: Array<Record<string, number>>;
    };
    assert.equal(r.images, 7);
    assert.deepEqual(r.unmatched, ['ep1/img03_logits.npy', 'ep3/img03_logits.npy', 'ep4/img03_logits.npy', 'extra.png', 'img03.png']);
    assert.ok(!r.perImage.some((p) => p.name === 'img03'));
    // The figures are eval's over those seven images.
    fs.rmSync(path.join(d, 'ep1', 'img03_logits.npy'));
    const e = JSON.parse(ok(cli('eval', path.join(d, 'ep1'), path.join(d, 'labels'), '--ignore-index', '255', '--json'))) as Record<string, number>;
    for (const f of ['value', 'pixelAccuracy', 'miou', 'ece']) assert.equal(r.runs[0][f], e[f], f);
  });

  it('bad input is one line, exit 2, no stack trace', () => {
    const [labels, ep1, ep2, ep3] = folders();
    oneLineError(cli('runs', labels, ep1), /runs expects at least two RUN_DIRs after LABEL_DIR, got one/);
    oneLineError(cli('runs', labels), /runs expects LABEL_DIR and at least two RUN_DIRs, got 1 argument/);
    oneLineError(cli('runs', labels, ep1, ep2, ep3, '--names', 'a,b'), /--names has 2 names, but 3 RUN_DIRs were given/);
    oneLineError(cli('runs', labels, ep1, ep2, '--names', 'a,a'), /--names gives 'a' twice/);
    oneLineError(cli('runs', labels, ep1, ep1), /RUN_DIRs .*ep1 and .*ep1 are both named 'ep1' — name the runs with --names/);
    oneLineError(cli('runs', labels, ep1, ep2, '--shard', '0/2'), /--shard needs --losses FILE/);
    oneLineError(cli('runs', labels, ep1, ep2, '--label-issues'), /unknown option --label-issues for runs/);
    oneLineError(cli('runs', labels, ep1, path.join(tmp, 'nope')), /nope: no such folder \(the run nope folder\)/);
    // A run whose predictions have another class count (7 classes: the labels, 0..5, still fit).
    const seven = path.join(tmp, 'seven');
    fs.mkdirSync(seven);
    for (let i = 0; i < 8; i++) {
      const data = Float32Array.from({ length: 7 * 48 * 64 }, (_, k) => Math.sin(k * 0.37 + i));
      fs.writeFileSync(path.join(seven, `img0${i}_logits.npy`), encodeNpy({ dtype: 'float32', shape: [7, 48, 64], data }));
    }
    oneLineError(cli('runs', labels, ep1, seven, '--ignore-index', '255'), /seven\/img0\d_logits\.npy: 7 classes, but .*ep1\/img0\d_logits\.npy has 6 — every run must predict the same classes/);
  });
});
