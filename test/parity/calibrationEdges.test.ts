// ECE / MCE with top-class probabilities exactly on bin edges b / B, through `eval` (runEval: pairing, the
// workers' per-image accumulation, finalize) against NumPy. The eval contract (DESIGN.md) bins the top-class
// softmax probability into equal-width bins (lo, hi]: a pixel at exactly b / B belongs to bin b - 1, and
// the off-by-one rule [lo, hi) would move it to bin b. Random logits never land on an edge, so the
// committed eval fixtures cannot tell the two rules apart; these pixels can (the test asserts that NumPy's
// [lo, hi) counts differ from its (lo, hi] counts for every B, so the rule is what is being tested).
//
// Rows come from test/parity/generators/generate_calibration.py, kept only where NumPy's float64 softmax gives exactly
// b / B; this test then keeps those where the engine's own float64 computation of the top-class probability
// (what evalImage.ts does for float64 predictions: the reference kernel's loss with the argmax as target,
// p = exp(-loss)) also gives exactly b / B. float32 predictions (the SIMD path) store that loss in float32,
// so no probability but 1 lands exactly on an edge there; float64 predictions are the way to put one there.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEval } from '../../src/cli/evalCommand';
import { computeSlice } from '../../src/kernel/partial';
import { encodeNpy } from '../../src/tensor/binary/npy';
import { rng } from '../unit/engine/helpers';
import { LIVE_SEED, PYTHON, torchAvailable } from './liveSeed';

const REPO = path.resolve(__dirname, '..', '..');
const GENERATOR = path.join(REPO, 'test', 'parity', 'generators', 'generate_calibration.py');
const DIST = path.join(REPO, 'dist');
const BINS = [5, 10, 15, 20] as const;
const IGNORE = 255;
/** Images per bin count, and rows per image (H x W, padded with interior rows). */
const IMAGES = 3;
const H = 4;

interface Candidates {
  readonly classes: number;
  readonly edges: Record<string, Array<{ b: number; rows: number[][] }>>;
  readonly interior: number[][];
}

interface Expected {
  readonly pixels: number;
  readonly ece: number;
  readonly mce: number;
  readonly count: number[];
  readonly confidence: Array<number | null>;
  readonly accuracy: Array<number | null>;
  readonly countLeftClosed: number[];
  readonly onInnerEdges: number;
}

interface Report {
  readonly ece: number;
  readonly mce: number;
  readonly calibration: { edges: number[]; count: number[]; confidence: Array<number | null>; accuracy: Array<number | null> };
}

function python(args: readonly string[]): string {
  const r = spawnSync(PYTHON, [GENERATOR, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `generate_calibration.py ${args.join(' ')} failed (status ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** The engine's top-class probability of each row, computed as evalImage.ts does for float64 logits. */
function engineTopProbs(rows: readonly number[][], C: number): number[] {
  const K = rows.length;
  const x = new Float64Array(C * K);
  rows.forEach((row, k) => row.forEach((v, c) => (x[c * K + k] = v)));
  const argmax = Int32Array.from(rows, (row) => row.indexOf(Math.max(...row)));
  const s = computeSlice({
    input: { dtype: 'float64', shape: [1, C, 1, K], data: x },
    target: { dtype: 'int32', shape: [1, 1, K], data: argmax },
    weight: null,
    options: { ignoreIndex: -1, labelSmoothing: 0, classDim: 1, reduction: 'none' },
  }, 0, 1, 0);
  return Array.from(s.maps.lossMap, (l) => Math.exp(-l));
}

/** Relative closeness for float64 sums taken in another order (NumPy's bincount, the report's pixel order). */
function near(got: number | null, want: number | null): boolean {
  if (got === null || want === null) return got === want;
  return Math.abs(got - want) <= 1e-12 * Math.max(1e-300, Math.abs(want));
}

describe(`ECE / MCE with confidences exactly on bin edges b / B, eval against NumPy (seed ${LIVE_SEED}; PARITY_SEED=${LIVE_SEED} reruns)`, function () {
  this.timeout(120_000);
  let tmp = '';
  let cand: Candidates;
  const kept = new Map<number, Array<{ b: number; row: number[] }>>();

  before(function () {
    if (!torchAvailable()) {
      console.log(`      (skipped: ${PYTHON} cannot import numpy)`);
      this.skip();
    }
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/worker.js missing: run npm run build first');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-calibration-edges-'));
    cand = JSON.parse(python(['candidates', '--seed', String(LIVE_SEED), '--classes', '24', '--bins', BINS.join(',')])) as Candidates;
    for (const B of BINS) {
      const list = cand.edges[String(B)].flatMap((e) => e.rows.map((row) => ({ b: e.b, row })));
      const probs = engineTopProbs(list.map((e) => e.row), cand.classes);
      kept.set(B, list.filter((e, k) => probs[k] === e.b / B));
    }
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('has edge rows on most inner edges of every B, exact for NumPy and for the engine alike', () => {
    const tally = BINS.map((B) => `B ${B}: ${kept.get(B)!.length} of ${cand.edges[String(B)].reduce((n, e) => n + e.rows.length, 0)}`);
    console.log(`      rows exactly on an edge for NumPy that the engine also puts exactly there: ${tally.join(', ')}`);
    for (const B of BINS) {
      const inner = new Set(kept.get(B)!.filter((e) => e.b < B).map((e) => e.b));
      assert.ok(inner.size >= Math.ceil((B - 1) / 2), `B ${B}: exact rows on only ${inner.size} of ${B - 1} inner edges (${[...inner].join(', ')})`);
    }
  });

  for (const B of BINS) {
    it(`--bins ${B}: bin counts, per-bin confidence and accuracy, ECE and MCE as NumPy's (lo, hi] bins give them`, async () => {
      const random = rng(LIVE_SEED + B);
      const C = cand.classes;
      // Every exact edge row twice (once predicted right, once wrong), interior rows around them.
      const pixels: Array<{ row: number[]; label: number }> = [];
      const argmaxOf = (row: number[]): number => row.indexOf(Math.max(...row));
      for (const e of kept.get(B)!) {
        const a = argmaxOf(e.row);
        pixels.push({ row: e.row, label: a }, { row: e.row, label: (a + 1 + Math.floor(random() * (C - 1))) % C });
      }
      let next = Math.floor(random() * cand.interior.length);
      const interior = (): number[] => cand.interior[next++ % cand.interior.length];
      for (let k = 0; k < 40; k++) {
        const row = interior();
        pixels.push({ row, label: random() < 0.6 ? argmaxOf(row) : Math.floor(random() * C) });
      }
      for (let k = 0; k < 8; k++) pixels.push({ row: interior(), label: IGNORE });
      const W = Math.ceil(pixels.length / IMAGES / H);
      while (pixels.length < IMAGES * H * W) pixels.push({ row: interior(), label: Math.floor(random() * C) });
      // Shuffled, so edge pixels sit in every image and next to each other's labels.
      for (let i = pixels.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [pixels[i], pixels[j]] = [pixels[j], pixels[i]];
      }
      const pred = path.join(tmp, `b${B}`, 'pred');
      const labels = path.join(tmp, `b${B}`, 'labels');
      fs.mkdirSync(pred, { recursive: true });
      fs.mkdirSync(labels, { recursive: true });
      for (let m = 0; m < IMAGES; m++) {
        const x = new Float64Array(C * H * W);
        const t = new Int32Array(H * W);
        for (let s = 0; s < H * W; s++) {
          const p = pixels[m * H * W + s];
          for (let c = 0; c < C; c++) x[c * H * W + s] = p.row[c];
          t[s] = p.label;
        }
        fs.writeFileSync(path.join(pred, `img${m}.npy`), encodeNpy({ dtype: 'float64', shape: [C, H, W], data: x }));
        fs.writeFileSync(path.join(labels, `img${m}.npy`), encodeNpy({ dtype: 'int64', shape: [H, W], data: t }));
      }

      const want = JSON.parse(python(['expect', pred, labels, '--bins', String(B), '--ignore-index', String(IGNORE)])) as Expected;
      // The rule matters here: NumPy puts these pixels in other bins under [lo, hi).
      assert.ok(want.onInnerEdges >= 2 * Math.ceil((B - 1) / 2), `B ${B}: only ${want.onInnerEdges} pixels on inner edges`);
      assert.notDeepEqual(want.countLeftClosed, want.count, `B ${B}: [lo, hi) and (lo, hi] give the same counts`);

      const got = JSON.parse(await runEval([pred, labels, '--bins', String(B), '--ignore-index', String(IGNORE), '--json'], DIST)) as Report;
      const where = `B ${B} (seed ${LIVE_SEED}; PARITY_SEED=${LIVE_SEED} reruns)`;
      assert.deepEqual(got.calibration.edges, Array.from({ length: B + 1 }, (_, k) => k / B), `${where}: edges`);
      assert.deepEqual(got.calibration.count, want.count, `${where}: bin counts (NumPy's [lo, hi) counts would be ${JSON.stringify(want.countLeftClosed)})`);
      for (let k = 0; k < B; k++) {
        assert.ok(near(got.calibration.confidence[k], want.confidence[k]), `${where}: bin ${k} confidence ${got.calibration.confidence[k]}, NumPy ${want.confidence[k]}`);
        assert.ok(near(got.calibration.accuracy[k], want.accuracy[k]), `${where}: bin ${k} accuracy ${got.calibration.accuracy[k]}, NumPy ${want.accuracy[k]}`);
      }
      assert.ok(near(got.ece, want.ece), `${where}: ece ${got.ece}, NumPy ${want.ece}`);
      assert.ok(near(got.mce, want.mce), `${where}: mce ${got.mce}, NumPy ${want.mce}`);
    });
  }
});
