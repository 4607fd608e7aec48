// "Hard in every run" of one image as the loss panel opened from the runs view computes it (src/eval/runs/
// imageHard.ts on a worker pool, then hardPixels.ts's raster mapping), against test/fixtures/runs: for every
// image, the count and share equal the fixture's persistent share (NumPy over PyTorch float64 losses, p90
// from NumPy), and the marked positions equal NumPy's (hard.json, written by test/parity/generators/generate_runs.py),
// which cover the planted region of img02.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hardPositions } from '../../../../src/eval/runs/hardPixels';
import { imageHardMask } from '../../../../src/eval/runs/imageHard';
import { decodePngMask } from '../../../../src/tensor/image/pngMask';
import { WorkerPool } from '../../../../src/worker/engine/pool';

const ROOT = path.resolve(__dirname, '../../../..');
const DIST = path.join(ROOT, 'dist');
const FIX = path.join(ROOT, 'test/fixtures/runs');
const RUNS = ['ep1', 'ep2', 'ep3', 'ep4'];

interface Expected {
  readonly runs: ReadonlyArray<{ readonly p90: number }>;
  readonly persistent: ReadonlyArray<{ readonly name: string; readonly share: number }>;
}
interface Hard {
  readonly shape: readonly [number, number];
  readonly region: Readonly<Record<string, readonly [number, number, number, number]>>;
  readonly hard: Readonly<Record<string, readonly number[]>>;
}

describe('runs: hard in every run, one image at a time (engine)', function () {
  this.timeout(120000);
  let pool: WorkerPool;
  const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as Expected;
  const hard = JSON.parse(fs.readFileSync(path.join(FIX, 'hard.json'), 'utf8')) as Hard;
  const wasm = path.join(DIST, 'ce.wasm');

  before(() => {
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/worker.js missing: run npm run build first');
    pool = new WorkerPool(path.join(DIST, 'worker.js'), 2);
  });
  after(() => pool.dispose());

  for (const entry of (JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as Expected).persistent) {
    const stem = entry.name;
    it(`${stem}: count, share and positions are NumPy's`, async () => {
      const label = path.join(FIX, 'labels', `${stem}.png`);
      const mask = await imageHardMask({
        predictions: RUNS.map((r) => path.join(FIX, r, `${stem}_logits.npy`)), label,
        options: { ignoreIndex: 255, labelSmoothing: 0, classDim: 1 },
        percentiles: expected.runs.map((r) => r.p90), pool, wasmPath: fs.existsSync(wasm) ? wasm : null,
      });
      const want = hard.hard[stem];
      assert.equal(mask.count, want.length, `${stem}: hard pixels`);
      assert.equal(mask.count / mask.pixels, entry.share, `${stem}: the share is persistent[]'s`);
      // The panel's maps of this pair under the runs' options: target as read, ignored where it is 255.
      const target = decodePngMask(new Uint8Array(fs.readFileSync(label))).data as ArrayLike<number>;
      const ignored = Uint8Array.from(target, (t) => (t === 255 ? 1 : 0));
      const at = hardPositions(mask, target, ignored, 255);
      assert.equal(at.kind, 'positions', `${stem}: the panel's pixels are the runs'`);
      if (at.kind !== 'positions') return;
      assert.deepEqual(Array.from(at.positions), want, `${stem}: the marked positions are NumPy's`);
      const region = hard.region[stem];
      if (region) {
        const [r0, r1, c0, c1] = region;
        const W = hard.shape[1];
        const inRegion = want.filter((i) => Math.floor(i / W) >= r0 && Math.floor(i / W) < r1 && i % W >= c0 && i % W < c1);
        const labelled = Array.from(target).filter((t, i) => t !== 255 && Math.floor(i / W) >= r0 && Math.floor(i / W) < r1 && i % W >= c0 && i % W < c1).length;
        assert.equal(inRegion.length, labelled, `${stem}: every labelled pixel of the planted region is hard`);
      }
    });
  }

  it('a panel that ignores other pixels gets a note, not positions', async () => {
    const stem = 'img02';
    const label = path.join(FIX, 'labels', `${stem}.png`);
    const mask = await imageHardMask({
      predictions: RUNS.map((r) => path.join(FIX, r, `${stem}_logits.npy`)), label,
      options: { ignoreIndex: 255, labelSmoothing: 0, classDim: 1 }, percentiles: expected.runs.map((r) => r.p90), pool, wasmPath: null,
    });
    const target = decodePngMask(new Uint8Array(fs.readFileSync(label))).data as ArrayLike<number>;
    // ignore_index -100 in the panel: nothing ignored there.
    const none = hardPositions(mask, target, new Uint8Array(target.length), 255);
    assert.equal(none.kind, 'mismatch', 'a different ignored set is refused');
    // Another target (fewer labelled pixels than the runs saw).
    const other = Array.from(target, (t, i) => (i < 200 ? 255 : t));
    const fewer = hardPositions(mask, other, Uint8Array.from(other, (t) => (t === 255 ? 1 : 0)), 255);
    assert.equal(fewer.kind, 'mismatch', 'a count that differs is refused');
    if (fewer.kind === 'mismatch') assert.match(fewer.message, /labelled pixels/);
  });
});
