// eval PRED_DIR LABEL_DIR --label-issues through the CLI process: each fixture image as its own pair of files,
// the report's counts, per-image counts and qualities, thresholds and table equal cleanlab's on those pixels.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SEGMENTATION_CASES, writeCaseFolders } from './fixtures';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

describe('eval --label-issues (the CLI over a folder) equals cleanlab on the pooled pixels', function () {
  this.timeout(120_000);
  for (const id of ['seg-k2', 'seg-k7', 'seg-k19']) {
    it(`${id}: one file pair per image`, function () {
      const c = SEGMENTATION_CASES.find((x) => x.id === id)!;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-eval-li-'));
      try {
        writeCaseFolders(c, dir);
        const r = spawnSync(process.execPath, [CLI, 'eval', path.join(dir, 'pred'), path.join(dir, 'labels'), '--ignore-index', '255', '--label-issues', '--json'], { encoding: 'utf8', maxBuffer: 16 << 20 });
        assert.equal(r.status, 0, r.stderr);
        const report = JSON.parse(r.stdout) as {
          labelIssues: { count: number; numIssuesEstimate: number; thresholds: number[]; commonIssues: unknown[] };
          perImage: Array<{ name: string; labelIssues: number; labelQuality: number | null }>;
        };
        assert.equal(report.labelIssues.count, c.expect.numIssues);
        assert.equal(report.labelIssues.numIssuesEstimate, c.expect.numIssuesEstimate);
        assert.deepEqual(report.labelIssues.commonIssues, c.expect.commonLabelIssues);
        c.expect.thresholds.forEach((t, k) => assert.ok(Math.abs(report.labelIssues.thresholds[k]! - t) <= 1e-9 * t, `threshold ${k}`));
        report.perImage.forEach((p, n) => {
          assert.equal(p.name.replace(/\.npy$/, ''), `img${n}`);
          assert.equal(p.labelIssues, c.expect.issuesPerImage[n], `image ${n}'s count`);
          const s = c.expect.imageScores[n];
          if (s === null || s === undefined) assert.equal(p.labelQuality, null);
          else assert.ok(Math.abs(p.labelQuality! - s) <= 1e-9 * s, `image ${n}'s quality`);
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('with --shard but without --json: one line saying the part needs --json', function () {
    const r = spawnSync(process.execPath, [CLI, 'eval', '/nonexistent', '/nonexistent', '--label-issues', '--shard', '0/2'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^error: --label-issues with --shard writes a part for merge: add --json \(eval PRED_DIR LABEL_DIR --label-issues --shard I\/N --json > PART\.json\) \(see eval --help\)$/);
  });
});
