// `compare INPUT_A INPUT_B TARGET` (src/cli/compareCommand.ts), run in-process on the built workers in dist/:
// --json against PyTorch's numbers (test/fixtures/compare, written by make_compare_fixtures.py with torch 1.13)
// and against a float64 cross-entropy written here; --out; shape mismatch; the exit code and the one error
// line through dist/cli.js as a process.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCompare } from '../../../src/cli/compareCommand';
import { isLensError } from '../../../src/errors';
import { decodeNpy, encodeNpy } from '../../../src/tensor/binary/npy';
import { compareResults } from '../../../src/worker/engine/compareSession';

const ROOT = path.resolve(__dirname, '../../..');
const DIST = path.join(ROOT, 'dist');
const FIX = path.join(ROOT, 'test/fixtures/compare');
const fix = (f: string): string => path.join(FIX, f);

interface TorchCase {
  valueA: number;
  valueB: number;
  delta: number;
  improved: number;
  regressed: number;
  perClass: Array<{ class: number; meanA: number | null; meanB: number | null; deltaMeanLoss: number | null }>;
  deltaMap: Array<number | null>;
}

type Json = Record<string, unknown>;

/** NaN comes back as the string "NaN" (the CLI's JSON contract). */
function num(v: unknown): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  assert.equal(typeof v, 'number', `expected a number, got ${JSON.stringify(v)}`);
  return v as number;
}

function close(actual: unknown, want: number | null, tol: number, what: string): void {
  const a = num(actual);
  if (want === null || Number.isNaN(want)) assert.ok(Number.isNaN(a), `${what}: ${a} should be NaN`);
  else assert.ok(Math.abs(a - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${a} != ${want}`);
}

async function compareJson(...args: string[]): Promise<Json> {
  return JSON.parse(await runCompare([...args, '--json'], DIST)) as Json;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** float64 cross-entropy per element of x (N, C, S) and t (N, S) with class weights; NaN where ignored. */
function ceReference(x: Float64Array, t: Int32Array, N: number, C: number, S: number, w: number[], ignore: number): { loss: number[]; value: number } {
  const loss: number[] = [];
  let num = 0;
  let den = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const tc = t[n * S + s];
      if (tc === ignore) {
        loss.push(NaN);
        continue;
      }
      const v = Array.from({ length: C }, (_, c) => x[(n * C + c) * S + s]);
      const m = Math.max(...v);
      const lse = m + Math.log(v.reduce((acc, q) => acc + Math.exp(q - m), 0));
      const l = w[tc] * (lse - v[tc]);
      loss.push(l);
      num += l;
      den += w[tc];
    }
  }
  return { loss, value: num / den };
}

describe('compare (src/cli/compareCommand.ts, in-process)', function () {
  this.timeout(60000);
  before(function () {
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/worker.js missing: run npm run build first (npm test does)');
  });

  const expected = JSON.parse(fs.readFileSync(fix('expected.json'), 'utf8')) as { ignoreIndex: number; plain: TorchCase; weighted: TorchCase & { weight: number[]; labelSmoothing: number } };

  function checkAgainstTorch(out: Json, e: TorchCase, tol: number): void {
    const a = out.a as Json;
    const b = out.b as Json;
    close(a.value, e.valueA, tol, 'a.value');
    close(b.value, e.valueB, tol, 'b.value');
    close(out.delta, e.delta, tol * 10, 'delta');
    assert.equal(out.improved, e.improved);
    assert.equal(out.regressed, e.regressed);
    const per = out.perClass as Json[];
    assert.equal(per.length, e.perClass.length);
    per.forEach((c, k) => {
      assert.equal(c.class, k);
      close(c.deltaMeanLoss, e.perClass[k].deltaMeanLoss, tol * 10, `perClass[${k}].deltaMeanLoss`);
      close(c.meanA, e.perClass[k].meanA, tol, `perClass[${k}].meanA`);
      close(c.meanB, e.perClass[k].meanB, tol, `perClass[${k}].meanB`);
    });
  }

  it('--json equals PyTorch on float32 checkpoints with ignore_index (a and b are the single-pair reports)', async function () {
    const out = await compareJson(fix('a.npy'), fix('b.npy'), fix('t.npy'), '--ignore-index', '255');
    checkAgainstTorch(out, expected.plain, 1e-5);
    const a = out.a as Json;
    // The single-pair report's fields, as the main command prints them.
    assert.deepEqual(a.lossShape, [2, 3, 5]);
    assert.equal((a.input as Json).path, fix('a.npy'));
    assert.equal((out.b as Json).elementCount, 30);
  });

  it('--json equals PyTorch with class weights and label smoothing', async function () {
    const e = expected.weighted;
    const out = await compareJson(fix('a.npy'), fix('b.npy'), fix('t.npy'), '--ignore-index', '255', '--weight', e.weight.join(','), '--label-smoothing', String(e.labelSmoothing));
    checkAgainstTorch(out, e, 1e-5);
  });

  it('--out writes B - A as float32 (NaN where ignored), as PyTorch has it', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cmp-'));
    try {
      const file = path.join(dir, 'delta.npy');
      const out = await compareJson(fix('a.npy'), fix('b.npy'), fix('t.npy'), '--ignore-index', '255', '--reduction', 'none', '--out', file);
      assert.equal(out.delta, null, 'reduction none has no reduced delta');
      assert.equal((out.a as Json).value, null);
      const d = decodeNpy(new Uint8Array(fs.readFileSync(file)));
      assert.equal(d.dtype, 'float32');
      assert.deepEqual(d.shape, [2, 3, 5]);
      expected.plain.deltaMap.forEach((v, i) => close(d.data[i], v, 2e-5, `delta[${i}]`));
      assert.deepEqual(fs.readdirSync(dir), ['delta.npy'], 'no temporary file left behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('equals a float64 reference on float64 inputs (general path), element by element', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cmp-'));
    try {
      const r = lcg(7);
      const N = 3;
      const C = 6;
      const S = 40;
      const xa = Float64Array.from({ length: N * C * S }, () => (r() - 0.5) * 8);
      const xb = xa.map((v) => v + (r() - 0.5) * 3);
      const t = Int32Array.from({ length: N * S }, () => (r() < 0.1 ? -100 : Math.floor(r() * (C - 1))));
      const w = [1, 0.5, 2, 1.5, 3, 1];
      fs.writeFileSync(path.join(dir, 'a.npy'), encodeNpy({ dtype: 'float64', shape: [N, C, S], data: xa }));
      fs.writeFileSync(path.join(dir, 'b.npy'), encodeNpy({ dtype: 'float64', shape: [N, C, S], data: xb }));
      fs.writeFileSync(path.join(dir, 't.npy'), encodeNpy({ dtype: 'int64', shape: [N, S], data: t }));
      const outFile = path.join(dir, 'd.npy');
      const out = await compareJson(path.join(dir, 'a.npy'), path.join(dir, 'b.npy'), path.join(dir, 't.npy'), '--weight', w.join(','), '--out', outFile);
      const A = ceReference(xa, t, N, C, S, w, -100);
      const B = ceReference(xb, t, N, C, S, w, -100);
      close((out.a as Json).value, A.value, 1e-12, 'a.value');
      close((out.b as Json).value, B.value, 1e-12, 'b.value');
      close(out.delta, B.value - A.value, 1e-11, 'delta');
      let improved = 0;
      let regressed = 0;
      A.loss.forEach((la, i) => {
        if (B.loss[i] < la) improved++;
        if (B.loss[i] > la) regressed++;
      });
      assert.equal(out.improved, improved);
      assert.equal(out.regressed, regressed);
      const d = decodeNpy(new Uint8Array(fs.readFileSync(outFile)));
      A.loss.forEach((la, i) => close(d.data[i], Math.fround(B.loss[i] - la), 1e-6, `delta[${i}]`));
      const per = out.perClass as Json[];
      for (let c = 0; c < C; c++) {
        const idx = A.loss.map((_, i) => i).filter((i) => t[i] === c);
        const mean = (l: number[]): number => idx.reduce((s, i) => s + l[i], 0) / idx.length;
        // Class C - 1 never occurs as a target: NaN.
        close(per[c].deltaMeanLoss, idx.length ? mean(B.loss) - mean(A.loss) : NaN, 1e-11, `class ${c}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints a short readable summary without --json', async function () {
    const text = await runCompare([fix('a.npy'), fix('b.npy'), fix('t.npy'), '--ignore-index', '255'], DIST);
    assert.match(text, /cross-entropy \(mean\): A 2\.5755\d, B 3\.5574\d, B - A \+0\.98189\d/);
    assert.match(text, new RegExp(`${expected.plain.improved} of 17 elements improved \\(B lower\\), ${expected.plain.regressed} regressed`));
  });

  it('refuses inputs of different shapes, naming both files and shapes', async function () {
    await assert.rejects(runCompare([fix('a.npy'), fix('b_wrong_shape.npy'), fix('t.npy')], DIST), (e: unknown) => {
      assert.ok(isLensError(e) && e.kind === 'shape');
      assert.match(e.message, /a\.npy is \[2, 4, 3, 5\] but .*b_wrong_shape\.npy is \[2, 4, 3, 4\]/);
      return true;
    });
  });

  it('asks for three files', async function () {
    await assert.rejects(runCompare([fix('a.npy'), fix('t.npy')], DIST), /expected INPUT_A, INPUT_B and TARGET files, got 2 files/);
  });

  it('compares inputs that stream (over the engine\'s in-memory budget) as it compares resident ones: PyTorch\'s numbers', async function () {
    // A 64 KiB budget makes the 480-byte logits stream in blocks, the path a file over 1 GiB takes.
    const streamed = JSON.parse(await runCompare([fix('a.npy'), fix('b.npy'), fix('t.npy'), '--ignore-index', '255', '--json'], DIST, undefined, { inMemoryBytes: 64, streamFilesOverBytes: 64 })) as Json;
    assert.equal((streamed.a as Json).streamed, true, 'run A streamed');
    assert.equal((streamed.b as Json).streamed, true, 'run B streamed');
    checkAgainstTorch(streamed, expected.plain, 1e-5);
  });

  it('refuses runs whose maps were not kept (beyond the memory a comparison keeps), in one line', function () {
    const run = { input: { shape: [2, 3], dtype: 'float32' }, lossShape: [2], stats: { numClasses: 3 }, maps: null } as unknown as Parameters<typeof compareResults>[0];
    assert.throws(() => compareResults(run, run, 'big_a.npy', 'big_b.npy'), /big_a\.npy: too large to compare — .*1 GiB of maps per run/);
  });

  it('checks both inputs\' shapes from their headers before computing run A (torch.save members)', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cmp-pt-'));
    try {
      // Run A alone would fail on its labels (9 is out of bounds for 4 classes): the shape error must come first.
      const py = spawnSync('/usr/bin/python3', ['-c', `import torch
torch.save({'logits': torch.zeros(2, 4, 3, 5)}, 'a.pt')
torch.save({'logits': torch.zeros(2, 4, 3, 4)}, 'b.pt')
import numpy as np
np.save('t.npy', np.full((2, 3, 5), 9, dtype=np.int64))`], { cwd: dir, encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      await assert.rejects(runCompare([path.join(dir, 'a.pt:logits'), path.join(dir, 'b.pt:logits'), path.join(dir, 't.npy')], DIST), (e: unknown) => {
        assert.ok(isLensError(e) && e.kind === 'shape', String(e));
        assert.match(e.message, /a\.pt:logits is \[2, 4, 3, 5\] but .*b\.pt:logits is \[2, 4, 3, 4\]/);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('as a process: exit 2 and one error line for a shape mismatch', function () {
    const cli = path.join(DIST, 'cli.js');
    const r = spawnSync(process.execPath, [cli, 'compare', 'a.npy', 'b_wrong_shape.npy', 't.npy'], { cwd: FIX, encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^error: inputs to compare differ in shape: a\.npy is \[2, 4, 3, 5\] but b_wrong_shape\.npy is \[2, 4, 3, 4\]/);
  });

  it('as a process: --label-issues, which compare has no step for, is one error line, not dropped', function () {
    const r = spawnSync(process.execPath, [path.join(DIST, 'cli.js'), 'compare', 'a.npy', 'b.npy', 't.npy', '--label-issues'], { cwd: FIX, encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, 'error: --label-issues is not a compare option: flag label issues on one input (cli.js INPUT TARGET --label-issues)\n');
  });
});
