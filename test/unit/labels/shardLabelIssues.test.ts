// eval --label-issues --shard I/N in its two stages, through the CLI process (node dist/cli.js) on the cleanlab
// fixtures written one file pair per image: stage-1 parts merged with `merge --thresholds` give the single run's
// thresholds bit for bit, stage-2 parts merged with `merge` give the single run's --json byte for byte, and
// the merged counts, per-image counts and given → predicted table are cleanlab's (the oracle). The stage-2
// parts' packed pixels are checked against cleanlab's own per-pixel scores: exactly the labelled pixels
// scoring at most 0.5, with their scores, labels and positions.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadFixture, SEGMENTATION_CASES, writeCaseFolders, type SegCase } from './fixtures';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

function cli(args: readonly string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr, '', 'nothing on stderr');
  return r.stdout;
}

interface Report {
  labelIssues: { count: number; numIssuesEstimate: number; examples: number; thresholds: number[]; commonIssues: unknown[] };
  perImage: Array<{ name: string; labelIssues: number; labelQuality: number | null }>;
}

interface Stage2Image {
  index: number;
  pixels: number;
  lowCount: number;
  low: string;
  lowGiven: string;
  lowIndex: string;
}

/** Little-endian values from base64, decoded here without the project's code. */
function decode(b64: string, kind: 'f64' | 'i32'): number[] {
  const bytes = Buffer.from(b64, 'base64');
  const size = kind === 'f64' ? 8 : 4;
  return Array.from({ length: bytes.length / size }, (_, i) => (kind === 'f64' ? bytes.readDoubleLE(i * size) : bytes.readInt32LE(i * size)));
}

/** Shard I's files in the order I = N-1 .. 0 (merge takes parts in any order). */
function stage(dirs: { pred: string; labels: string }, out: string, N: number, name: string, extra: readonly string[]): string[] {
  const files: string[] = [];
  for (let i = N - 1; i >= 0; i--) {
    const f = path.join(out, `${name}-${i}of${N}.json`);
    fs.writeFileSync(f, cli(['eval', dirs.pred, dirs.labels, '--ignore-index', '255', '--label-issues', ...extra, '--shard', `${i}/${N}`, '--json']));
    files.push(f);
  }
  return files;
}

/** The stage-2 part's packed pixels are those cleanlab scores at most 0.5 among the labelled ones. */
function checkPackedPixels(c: SegCase, file: string): void {
  const scores = loadFixture(c.files.pixelScores!);
  const labels = loadFixture(c.files.labels!);
  const [, H, W] = scores.shape as [number, number, number];
  const part = JSON.parse(fs.readFileSync(file, 'utf8')) as { sums: { labelIssues: { stage: number; images: Stage2Image[] } } };
  assert.equal(part.sums.labelIssues.stage, 2);
  for (const im of part.sums.labelIssues.images) {
    const at = im.index * H * W;
    const want: number[] = [];
    let labelled = 0;
    for (let j = 0; j < H * W; j++) {
      const s = (scores.data as Float64Array)[at + j]!;
      if (Number.isNaN(s)) continue;
      labelled++;
      if (s <= 0.5) want.push(j);
    }
    assert.equal(im.pixels, labelled, `image ${im.index}: labelled pixels`);
    const where = decode(im.lowIndex, 'i32');
    assert.deepEqual(where, want, `image ${im.index}: positions of the scores <= 0.5`);
    assert.equal(im.lowCount, want.length);
    const low = decode(im.low, 'f64');
    const given = decode(im.lowGiven, 'i32');
    where.forEach((j, k) => {
      const s = (scores.data as Float64Array)[at + j]!;
      assert.ok(Math.abs(low[k]! - s) <= 1e-12, `image ${im.index} pixel ${j}: score ${low[k]} vs cleanlab ${s}`);
      assert.equal(given[k], (labels.data as Uint8Array)[at + j], `image ${im.index} pixel ${j}: label`);
    });
  }
}

describe('eval --label-issues --shard: two stages merge into the single run, bit for bit', function () {
  this.timeout(180_000);
  for (const id of ['seg-k2', 'seg-k7', 'seg-k19', 'seg-ties-k5']) {
    it(`${id}: 2 and 3 shards, thresholds and report equal the single run's and cleanlab's counts`, function () {
      const c = SEGMENTATION_CASES.find((x) => x.id === id)!;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-shard-li-'));
      try {
        const dirs = writeCaseFolders(c, dir);
        const single = cli(['eval', dirs.pred, dirs.labels, '--ignore-index', '255', '--label-issues', '--json']);
        const singleReport = JSON.parse(single) as Report;
        for (const N of [2, 3]) {
          const stage1 = stage(dirs, dir, N, 'stage1', []);
          const thresholdsText = cli(['merge', '--thresholds', ...stage1, '--json']);
          const t = JSON.parse(thresholdsText) as { format: string; classes: number; images: number; pixels: number; thresholds: number[] };
          assert.equal(t.format, 'cross-entropy-lens-label-issue-thresholds');
          assert.equal(t.classes, c.K);
          assert.equal(t.images, dirs.images);
          assert.equal(t.pixels, singleReport.labelIssues.examples);
          // Bit for bit: the same float64 values, and the same decimal text as the single run writes.
          assert.equal(t.thresholds.length, c.K);
          t.thresholds.forEach((x, k) => assert.ok(Object.is(x, singleReport.labelIssues.thresholds[k]), `N=${N} threshold ${k}: ${x} vs single run ${singleReport.labelIssues.thresholds[k]}`));
          assert.equal(JSON.stringify(t.thresholds), JSON.stringify(singleReport.labelIssues.thresholds));
          // And cleanlab's, to its float64 rounding.
          c.expect.thresholds.forEach((x, k) => assert.ok(Math.abs(t.thresholds[k]! - x) <= 1e-9 * x, `N=${N} threshold ${k}: ${t.thresholds[k]} vs cleanlab ${x}`));
          const thresholdsFile = path.join(dir, `thresholds-${N}.json`);
          fs.writeFileSync(thresholdsFile, thresholdsText);

          const stage2 = stage(dirs, dir, N, 'stage2', ['--thresholds', thresholdsFile]);
          checkPackedPixels(c, stage2[0]!);
          const merged = cli(['merge', ...stage2, '--json']);
          assert.equal(merged, single, `N=${N}: the merged report is the single run's, byte for byte`);
          const r = JSON.parse(merged) as Report;
          assert.equal(r.labelIssues.count, c.expect.numIssues);
          assert.equal(r.labelIssues.numIssuesEstimate, c.expect.numIssuesEstimate);
          assert.deepEqual(r.labelIssues.commonIssues, c.expect.commonLabelIssues);
          assert.deepEqual(r.perImage.map((p) => p.labelIssues), c.expect.issuesPerImage);
          r.perImage.forEach((p, n) => {
            const s = c.expect.imageScores[n];
            if (s === null || s === undefined) assert.equal(p.labelQuality, null);
            else assert.ok(Math.abs(p.labelQuality! - s) <= 1e-9 * s, `image ${n}'s quality`);
          });

          // The merged thresholds given to one run over the whole folder: the single run again.
          assert.equal(cli(['eval', dirs.pred, dirs.labels, '--ignore-index', '255', '--label-issues', '--thresholds', thresholdsFile, '--json']), single);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
