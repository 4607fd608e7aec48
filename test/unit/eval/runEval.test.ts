// The orchestration the CLI and the dataset view share (src/eval/runEval.ts): streaming callbacks,
// cancellation, and the pure-TS kernel path (no WebAssembly), which computes in float64 and so meets the
// float64 PyTorch reference of test/eval/generate_eval.py to 1e-9.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import { pairFolders } from '../../../src/eval/files';
import { finalizeReport } from '../../../src/eval/finalize';
import { evaluatePairs } from '../../../src/eval/runEval';
import { labelIssuesPass1 } from '../../../src/eval/labelIssuesRun';
import type { EvalOptions } from '../../../src/eval/types';
import { WorkerPool } from '../../../src/worker/engine/pool';

const ROOT = path.resolve(__dirname, '../../..');
const DIST = path.join(ROOT, 'dist');
const BASIC = path.join(ROOT, 'test/fixtures/eval/basic');

function close(a: number | null, w: number | null, rel: number, what: string): void {
  if (w === null) return assert.equal(a, null, what);
  assert.ok(a !== null && Math.abs(a - w) <= rel * Math.abs(w), `${what}: ${a} vs reference ${w}`);
}

describe('eval orchestration (evaluatePairs)', function () {
  this.timeout(60000);
  let pool: WorkerPool;
  before(() => {
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/worker.js missing: run npm run build first (npm test does)');
    pool = new WorkerPool(path.join(DIST, 'worker.js'), 2);
  });
  after(() => pool.dispose());

  const options: EvalOptions = { ignoreIndex: 255, labelSmoothing: 0.1, classDim: 1, bins: 7, boundary: 1, weight: [1, 2, 0.5, 1.5, 3, 0.25] };

  it('without WebAssembly (float64 reference kernel) matches float64 PyTorch to 1e-9, streaming each image once', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(BASIC, 'expected_smooth.json'), 'utf8')) as {
      value: number; ece: number; boundary: { share: number }; weights: { valueEnet: number }; perClass: Array<{ meanLoss: number | null }>; perImage: Array<{ name: string; value: number | string }>;
    };
    const pairing = pairFolders(path.join(BASIC, 'pred'), path.join(BASIC, 'labels'));
    const seen: number[] = [];
    const progress: Array<[number, number]> = [];
    const out = await evaluatePairs({
      pairs: pairing.pairs, options, pool, wasmPath: null,
      onImage: (_r, index) => seen.push(index),
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(progress.map((p) => p[0]), [1, 2, 3, 4, 5, 6, 7]);
    assert.ok(progress.every((p) => p[1] === 7));
    const r = finalizeReport(out.counts, out.records, options, out.classes, pairing.unmatched);
    close(r.value, ref.value, 1e-9, 'value');
    close(r.ece, ref.ece, 1e-9, 'ece');
    close(r.boundary.share, ref.boundary.share, 1e-9, 'boundary.share');
    close(r.weights.valueEnet, ref.weights.valueEnet, 1e-9, 'valueEnet');
    r.perClass.forEach((c, i) => close(c.meanLoss, ref.perClass[i].meanLoss, 1e-9, `perClass[${i}].meanLoss`));
    r.perImage.forEach((im, i) => {
      assert.equal(im.name, ref.perImage[i].name);
      if (ref.perImage[i].value === 'NaN') assert.ok(Number.isNaN(im.value));
      else close(im.value, ref.perImage[i].value as number, 1e-9, `perImage[${i}].value`);
    });
  });

  it('stops when cancelled mid-run, with a cancelled error, and the pool still works afterwards', async () => {
    const pairing = pairFolders(path.join(BASIC, 'pred'), path.join(BASIC, 'labels'));
    const abort = new AbortController();
    await assert.rejects(
      evaluatePairs({ pairs: pairing.pairs, options, pool, wasmPath: null, signal: abort.signal, concurrency: 1, onImage: () => abort.abort() }),
      (e: unknown) => isLensError(e) && e.kind === 'cancelled',
    );
    const again = await evaluatePairs({ pairs: pairing.pairs.slice(0, 2), options, pool, wasmPath: path.join(DIST, 'ce.wasm') });
    assert.equal(again.counts.images, 2);
  });

  it('an empty folder gives an empty report', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-empty-'));
    try {
      const pairing = pairFolders(dir, dir);
      const out = await evaluatePairs({ pairs: pairing.pairs, options: { ...options, weight: null }, pool, wasmPath: null });
      const r = finalizeReport(out.counts, out.records, { ...options, weight: null }, out.classes, pairing.unmatched);
      assert.equal(r.images, 0);
      assert.ok(Number.isNaN(r.value));
      assert.equal(r.ece, null);
      assert.deepEqual(r.perImage, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives label issues\' pass 1 with the evaluation, bit for bit what the label-issues job gives after reading the pair again', async () => {
    // float16 and float32 .npy (read into the kernel's memory), the float64 reference kernel, and channels-last.
    for (const [dir, o, wasm] of [
      [BASIC, options, true], [BASIC, options, false],
      [path.join(ROOT, 'test/fixtures/eval/channels_last'), { ...options, classDim: -1, weight: null }, true],
    ] as const) {
      const pairing = pairFolders(path.join(dir, 'pred'), path.join(dir, 'labels'));
      const sums: unknown[] = new Array(pairing.pairs.length);
      await evaluatePairs({ pairs: pairing.pairs, options: o, pool, wasmPath: wasm ? path.join(DIST, 'ce.wasm') : null, labelSums: true, onImage: (r, i) => void (sums[i] = r.labelSums) });
      const again = await labelIssuesPass1(pairing.pairs, o, pool);
      assert.ok(pairing.pairs.length > 1);
      assert.deepEqual(sums, again, `${path.basename(dir)}, ${wasm ? 'wasm' : 'reference'} kernel`);
    }
  });
});
