// `eval` and `merge` through the real CLI functions (src/cli/evalCommand.ts, with dist/worker.js and
// dist/ce.wasm) on the generated sets in test/fixtures/eval/. Expected figures come from
// test/eval/generate_eval.py: PyTorch / NumPy in float64 over all pixels concatenated.
import { compareJson, type Json } from './jsonCompare';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEval, runMerge } from '../../../src/cli/evalCommand';
import { isLensError } from '../../../src/errors';

const ROOT = path.resolve(__dirname, '../../..');
const DIST = path.join(ROOT, 'dist');
const FIX = path.join(ROOT, 'test/fixtures/eval');

/** Relative tolerance of figures that pass through the float32 kernel (losses, confidences). */
const F32 = 2e-6;

/** Fields (by key) that are pure count ratios or counts: held to EXACT. */
const COUNT_FIELDS = new Set(['images', 'count', 'pixelAccuracy', 'iou', 'accuracy', 'dice', 'miou', 'miouPerImage', 'frequency', 'medianFrequency', 'sqrtInverse', 'enet', 'edges', 'worstClass', 'class', 'width']);

function compare(actual: Json, want: Json, where: string, tol: number): void {
  compareJson(actual, want, where, tol, { countFields: COUNT_FIELDS });
}

function expected(set: string, name: string): { args: string[]; ref: Json } {
  const ref = JSON.parse(fs.readFileSync(path.join(FIX, set, `expected_${name}.json`), 'utf8')) as { _args: string[] } & Record<string, Json>;
  return { args: ref._args, ref };
}

async function evalJson(set: string, args: readonly string[]): Promise<string> {
  return runEval([path.join(FIX, set, 'pred'), path.join(FIX, set, 'labels'), ...args, '--json'], DIST);
}

describe('eval CLI against the PyTorch reference', function () {
  this.timeout(60000);
  before(() => {
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/worker.js missing: run npm run build first (npm test does)');
  });

  for (const name of ['default', 'weighted', 'smooth']) {
    it(`basic set, ${name} options: every --json field matches float64 PyTorch`, async () => {
      const { args, ref } = expected('basic', name);
      const out = JSON.parse(await evalJson('basic', args)) as Json;
      compare(out, ref, name, F32);
      // No field beyond the contract's.
      assert.deepEqual(Object.keys(out as object).sort(), Object.keys(ref as object).filter((k) => !k.startsWith('_')).sort());
    });
  }

  it('channels-last logits with --class-dim -1', async () => {
    const { args, ref } = expected('channels_last', 'default');
    compare(JSON.parse(await evalJson('channels_last', args)) as Json, ref, 'channels_last', F32);
  });

  it('two and three shards merged give exactly the single run (bit for bit)', async () => {
    const { args } = expected('basic', 'smooth');
    const single = await evalJson('basic', args);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-shards-'));
    try {
      for (const N of [2, 3]) {
        const files: string[] = [];
        for (let i = N - 1; i >= 0; i--) {
          const part = await evalJson('basic', [...args, '--shard', `${i}/${N}`]);
          const parsed = JSON.parse(part) as { images: number; sums: { shard: { index: number } } };
          assert.equal(parsed.sums.shard.index, i);
          const f = path.join(dir, `part${i}of${N}.json`);
          fs.writeFileSync(f, part);
          files.push(f);
        }
        const merged = await runMerge([...files, '--json']);
        assert.deepEqual(JSON.parse(merged), JSON.parse(single));
        assert.equal(merged, single);
      }
      // A missing part is an error naming it.
      await assert.rejects(runMerge([path.join(dir, 'part0of3.json'), path.join(dir, 'part1of3.json'), '--json']), /shard 2\/3 missing/);
      await assert.rejects(runMerge([path.join(dir, 'part0of3.json'), path.join(dir, 'part0of2.json')]), /of 3 shards/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('text output summarises the run', async () => {
    const out = await runEval([path.join(FIX, 'basic', 'pred'), path.join(FIX, 'basic', 'labels'), '--ignore-index', '255'], DIST);
    assert.match(out, /^images +7; unmatched files: orphan_logits\.npy, lonely_gt\.png/m);
    assert.match(out, /^value +1\.0105/m);
    assert.match(out, /^pixel accuracy +\d+\.\d\d%/m);
    assert.match(out, /^mIoU /m);
    assert.match(out, /^ECE /m);
    assert.match(out, /^worst images/m);
  });

  it('a label outside [0, C) is one line naming the file, the value, its index and the classes', async () => {
    const labels = path.join(FIX, 'bad', 'labels');
    await assert.rejects(
      // Both pairs are bad: the one first in stem order is reported, whichever worker fails first.
      runEval([path.join(FIX, 'bad', 'pred'), labels, '--ignore-index', '255'], DIST),
      (e: unknown) => isLensError(e) && e.message === `${path.join(labels, 'a_gt.png')}: label 7 at [2, 3] is not a class in [0, 6) nor the ignore index 255 (prediction ${path.join(FIX, 'bad', 'pred', 'a_logits.npy')} has 6 classes)`,
    );
    await assert.rejects(
      runEval([path.join(FIX, 'bad', 'pred'), labels, '--shard', '1/2'], DIST),
      (e: unknown) => isLensError(e) && /b_gt\.png: label \[4, 6\] does not match prediction .*b_logits\.npy \[6, 5, 6\] — expected \[5, 6\]/.test(e.message),
    );
  });

  it('refuses bad options and folders with one line', async () => {
    await assert.rejects(runEval(['a'], DIST), /expects PRED_DIR and LABEL_DIR/);
    await assert.rejects(runEval(['/nonexistent-pred', '/nonexistent-labels'], DIST), /nonexistent-pred: no such folder/);
    await assert.rejects(runEval(['a', 'b', '--bins', '0'], DIST), /--bins expects an integer in \[1/);
    await assert.rejects(runEval(['a', 'b', '--label-smoothing', '2'], DIST), /--label-smoothing/);
    await assert.rejects(runEval(['a', 'b', '--shard', '2/2'], DIST), /--shard/);
    await assert.rejects(runEval(['a', 'b', '--nope'], DIST), /unknown option --nope/);
    // One dash is an option too (a mistyped -json was taken as a third folder); after --, a folder name.
    await assert.rejects(runEval(['a', 'b', '-json'], DIST), /unknown option -json for eval/);
    await assert.rejects(runEval(['--', '-a', 'b'], DIST), /-a: no such folder/);
  });

  it('cancels', async () => {
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(runEval([path.join(FIX, 'basic', 'pred'), path.join(FIX, 'basic', 'labels'), '--ignore-index', '255'], DIST, abort.signal), (e: unknown) => isLensError(e) && e.kind === 'cancelled');
  });
});
