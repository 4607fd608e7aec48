// Label issues against cleanlab 2.9.0's own outputs (test/fixtures/label-issues, written by
// test/parity/generators/label_issues_generate.py; docs/label-issues.md): the issue mask exactly, thresholds and scores
// within 1e-9 relative, the given → predicted table equal; through the pure module and through the CLI process.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pairLabelIssues } from '../../../src/labels/pairIssues';
import { decodeNpy } from '../../../src/tensor/binary/npy';
import { CASES, FIXTURES as DIR, loadFixture, type Case } from './fixtures';
import type { Tensor } from '../../../src/tensor/tensor';

const ROOT = path.resolve(__dirname, '../../..');
const load = (c: Case, key: string): Tensor => loadFixture(c.files[key]!);
const indicesOf = (mask: Uint8Array): number[] => Array.from(mask.keys()).filter((i) => mask[i]);

function closeRel(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-9 * Math.abs(want), `${what}: ${got} vs cleanlab ${want}`);
}

describe('label issues equal cleanlab\'s (fixtures written by cleanlab 2.9.0)', function () {
  this.timeout(120_000);
  for (const c of CASES) {
    it(`${c.id} (${c.kind}, K = ${c.K}): the issues exactly, thresholds and quality scores within 1e-9, the swap table`, function () {
      const logits = load(c, 'logits');
      const labels = load(c, 'labels');
      const ignoreIndex = c.ignoreIndex ?? (c.kind === 'segmentation' ? 255 : -100);
      const r = pairLabelIssues(logits, labels, { classDim: c.classAxis, ignoreIndex, inputKind: 'logits' });
      if (c.kind === 'segmentation') {
        const want = load(c, 'issues').data as ArrayLike<number>;
        assert.deepEqual(indicesOf(r.mask), Array.from(want as ArrayLike<number>, Number).flatMap((v, i) => (v ? [i] : [])), 'the issue mask');
        c.expect.thresholds!.forEach((t, k) => closeRel(r.labelIssues.thresholds[k]!, t, `threshold ${k}`));
        assert.equal(r.labelIssues.numIssuesEstimate, c.expect.numIssuesEstimate);
        c.expect.imageScores!.forEach((s, n) => (s === null ? assert.equal(r.labelQuality[n], null, `image ${n}`) : closeRel(r.labelQuality[n] as number, s, `image ${n} score`)));
        assert.deepEqual(r.labelIssues.commonIssues.map((x) => ({ ...x })), c.expect.commonLabelIssues);
      } else {
        const want = Array.from(load(c, 'batchedIssues').data as ArrayLike<number>, Number);
        const got = indicesOf(r.mask);
        const cut = (c.expect.batched as { tieAtCutoff?: unknown }).tieAtCutoff;
        const tie = cut !== undefined && cut !== null && cut !== false;
        if (!tie) assert.deepEqual(got, want, 'the issues (find_label_issues_batched)');
        else {
          // Equal scores at the cut-off come out of NumPy's introsort in an order that depends on every
          // comparison made before: from the logits, our softmax (Math.exp) can differ from NumPy's in the last
          // bit elsewhere, which may change which of the tied examples is taken. Only those may differ; with
          // NumPy's own probabilities (below) the issues are cleanlab's exactly.
          const q = load(c, 'qualityScores').data as ArrayLike<number>;
          const differ = [...got.filter((i) => !want.includes(i)), ...want.filter((i) => !got.includes(i))];
          assert.equal(got.length, want.length);
          const tied = new Set(differ.map((i) => q[i]));
          assert.ok(tied.size <= 1, `only examples tied at the cut-off may differ: ${differ.join(', ')}`);
          assert.ok(c.files.predProbs, 'a tie case stores NumPy\'s probabilities');
          const exact = pairLabelIssues(load(c, 'predProbs'), labels, { classDim: c.classAxis, ignoreIndex, inputKind: 'probs' });
          assert.deepEqual(indicesOf(exact.mask), want, 'from NumPy\'s probabilities: cleanlab\'s issues exactly, its tie order included');
        }
        const b = c.expect.batched!;
        b.thresholds.forEach((t, k) => closeRel(r.labelIssues.thresholds[k]!, t, `threshold ${k}`));
        assert.equal(r.labelIssues.numIssuesEstimate, b.numIssuesEstimate);
        assert.equal(r.labelIssues.count, b.numIssues);
        const q = load(c, 'qualityScores').data as ArrayLike<number>;
        for (let i = 0; i < q.length; i++) {
          if (Number.isNaN(q[i]!)) assert.equal(r.labelQuality[i], null, `example ${i} is ignored`);
          else closeRel(r.labelQuality[i] as number, q[i]!, `example ${i} self-confidence`);
        }
      }
    });
  }

  it('the CLI process: --label-issues --json and --issues-out give cleanlab\'s mask and table (segmentation and LM tokens)', function () {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-li-'));
    try {
      for (const id of ['seg-k7', 'lm-4x64x1000', 'cls-n1000-k10']) {
        const c = CASES.find((x) => x.id === id)!;
        const maskFile = path.join(out, `${id}.npy`);
        const args = [path.join(ROOT, 'dist/cli.js'), path.join(DIR, c.files.logits!), path.join(DIR, c.files.labels!), '--label-issues', '--issues-out', maskFile, '--json'];
        if (c.kind === 'segmentation') args.push('--ignore-index', '255');
        if (c.kind === 'lm-tokens') args.push('--class-dim', '-1');
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
        assert.equal(r.status, 0, r.stderr);
        const report = JSON.parse(r.stdout) as { labelIssues: { count: number; thresholds: number[]; commonIssues: unknown[] }; labelQuality: Array<number | null> };
        const mask = decodeNpy(new Uint8Array(fs.readFileSync(maskFile)));
        assert.equal(mask.dtype, 'bool');
        assert.deepEqual(mask.shape, load(c, 'labels').shape, 'the mask has the target\'s shape');
        const got = Array.from(mask.data as ArrayLike<number>, Number).flatMap((v, i) => (v ? [i] : []));
        if (c.kind === 'segmentation') {
          assert.deepEqual(got, Array.from(load(c, 'issues').data as ArrayLike<number>, Number).flatMap((v, i) => (v ? [i] : [])));
          assert.deepEqual(report.labelIssues.commonIssues, c.expect.commonLabelIssues);
          assert.equal(report.labelQuality.length, 8);
        } else {
          assert.deepEqual(got, Array.from(load(c, 'batchedIssues').data as ArrayLike<number>, Number));
          assert.equal(report.labelIssues.count, got.length);
        }
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
