// The runs' loss figures (90th percentiles, pixels above them in every run) computed in a worker, as the
// runs view does: the same numbers as lossFigures on the calling thread (the CLI's path) on the runs fixture,
// the whole report byte for byte the CLI's, and the calling thread free meanwhile on a spill large enough
// that the synchronous computation holds it for hundreds of milliseconds. A run's start sweeps spill folders
// left by killed evaluations.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evalOptions } from '../../../../src/cli/evalOptions';
import { toJson } from '../../../../src/cli/json';
import { pairRunFolders } from '../../../../src/eval/files';
import { finalizeReport } from '../../../../src/eval/finalize';
import { evaluateRuns } from '../../../../src/eval/runs/evaluateRuns';
import { lossFigures } from '../../../../src/eval/runs/figures';
import { lossFiguresInWorker } from '../../../../src/eval/runs/figuresJob';
import { LaidOutLosses, LossSpill } from '../../../../src/eval/runs/lossFiles';
import { LossHistogram } from '../../../../src/eval/runs/percentile';
import { runsReport } from '../../../../src/eval/runs/report';
import { SPILL_PREFIX, STALE_AFTER_MS } from '../../../../src/eval/runs/staleSpills';
import { WorkerPool } from '../../../../src/worker/engine/pool';
import { DIST, ROOT, longestHold } from '../helpers';

const FIX = path.join(ROOT, 'test/fixtures/runs');
const RUNS = ['ep1', 'ep2', 'ep3', 'ep4'];

/** A pid that was a process and is no more. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

const copyOf = (h: LossHistogram): LossHistogram => new LossHistogram(h.counts.slice(), h.nan);

describe('engine: the runs loss figures in a worker', function () {
  this.timeout(180_000);
  let pool: WorkerPool;
  before(() => {
    pool = new WorkerPool(path.join(DIST, 'worker.js'), 2);
  });
  after(() => pool.dispose());

  it('equal lossFigures on the calling thread on the runs fixture, and the report is the CLI\'s byte for byte', async function () {
    const args = ['--ignore-index', '255'];
    const options = evalOptions('runs', (flag) => (flag === '--ignore-index' ? '255' : undefined));
    const pairing = pairRunFolders(path.join(FIX, 'labels'), RUNS.map((name) => ({ name, folder: path.join(FIX, name) })));
    const wasmPath = path.join(DIST, 'ce.wasm');
    // A spill folder a killed evaluation left a day ago: the evaluation's start removes it.
    const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-runs-figures-'));
    const stale = path.join(tempDir, `${SPILL_PREFIX}${deadPid()}-Ab12Cd`);
    fs.mkdirSync(stale);
    const dayAgo = (Date.now() - STALE_AFTER_MS - 60_000) / 1000;
    fs.utimesSync(stale, dayAgo, dayAgo);
    const outcome = await evaluateRuns({ pairs: pairing.pairs, options, pool, wasmPath, tempDir });
    assert.equal(fs.existsSync(stale), false, 'the stale spill folder was removed');
    const { spill } = outcome;
    try {
      const here = lossFigures(spill, outcome.histograms.map(copyOf));
      const laidOut = new LaidOutLosses(spill.layout());
      try {
        assert.deepEqual(lossFigures(laidOut, outcome.histograms.map(copyOf)), here, 'read through the layout (paths, not descriptors)');
      } finally {
        laidOut.close();
      }
      const inWorker = await lossFiguresInWorker(pool, spill.layout(), outcome.histograms);
      assert.deepEqual(inWorker, here);
      assert.ok(here.above.some((n) => n > 0), 'the fixture has pixels above p90 in every run');
      const reports = outcome.outcomes.map((o) => finalizeReport(o.counts, o.records, options, o.classes, []));
      const report = runsReport(RUNS, reports, inWorker, spill.pixels, pairing.unmatched, pairing.unreadable);
      const cli = spawnSync(process.execPath, [path.join(DIST, 'cli.js'), 'runs', path.join(FIX, 'labels'), ...RUNS.map((r) => path.join(FIX, r)), ...args, '--json'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(cli.status, 0, cli.stderr);
      assert.equal(toJson(report), cli.stdout.trimEnd());
    } finally {
      spill.close();
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
  });

  it('keep the calling thread responsive (ticks at most 100 ms apart) where the synchronous figures would block it', async function () {
    // 8 runs x 40 images x 100,000 pixels (128 MB of losses): each pixel's loss grows by run, so the pixels
    // above p90 in the first run are above it in every run.
    const R = 8;
    const N = 40;
    const P = 100_000;
    const spill = new LossSpill(R, N);
    try {
      const histograms = Array.from({ length: R }, () => new LossHistogram());
      const buf = new Float32Array(P);
      for (let i = 0; i < N; i++) {
        for (let r = 0; r < R; r++) {
          let s = i + 1;
          for (let k = 0; k < P; k++) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            buf[k] = -Math.log(((s >>> 0) + 1) / 4294967297) * (1 + 0.1 * r);
          }
          spill.write(r, i, buf, `image ${i}`);
          histograms[r].add(new Uint32Array(buf.buffer));
        }
      }
      let t = performance.now();
      const here = lossFigures(spill, histograms.map(copyOf));
      const syncMs = performance.now() - t;

      t = performance.now();
      const { value: inWorker, heldMs: gap } = await longestHold(() => lossFiguresInWorker(pool, spill.layout(), histograms));
      const workerMs = performance.now() - t;
      console.log(`      (${R} runs x ${N * P} pixels: on the calling thread ${syncMs.toFixed(0)} ms; in a worker ${workerMs.toFixed(0)} ms, largest gap between ticks ${gap.toFixed(1)} ms)`);
      // Relative to the synchronous time (190 ms on a quiet machine, 900 ms under load): figures run on the
      // calling thread would hold it about that long.
      assert.ok(syncMs > 100, `the synchronous figures took only ${syncMs.toFixed(0)} ms: the spill is too small to show anything`);
      assert.ok(gap < Math.min(100, syncMs / 3), `the calling thread was held ${gap.toFixed(0)} ms (the figures take ${syncMs.toFixed(0)} ms on it)`);
      assert.deepEqual(inWorker, here);
      assert.ok(here.above.every((n) => n > 0.05 * P && n < 0.15 * P), 'about a tenth of each image above p90 in every run');
    } finally {
      spill.close();
    }
  });
});
