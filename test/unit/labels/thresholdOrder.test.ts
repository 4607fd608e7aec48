// Per-class thresholds are np.mean of each class's probabilities, as cleanlab computes them: NumPy sums
// pairwise (in blocks of 8192), and a left-to-right sum differed in the last bit, which decides an example
// whose probability lies exactly on its threshold minus 1e-6 (a helper's probe: T 0 where cleanlab gives 1).
// NumPy writes the case and computes the thresholds; the CLI's must equal them bit for bit.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ThresholdPass } from '../../../src/labels/labelIssues';
import { meanNumpy } from '../../../src/labels/numpyOrder';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

describe('label issues: thresholds summed in NumPy\'s order', function () {
  this.timeout(60_000);
  let dir: string;
  let want: { thresholds: number[]; T: number };
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-thr-'));
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, numpy as np
rng = np.random.default_rng(5)
while True:  # 40 probabilities whose np.mean and left-to-right mean differ
    v = rng.uniform(0.6, 0.99, 40)
    s = 0.0
    for a in v:
        s += a
    if s / 40 != np.mean(v):
        break
b = np.mean(v) - 1e-6  # one example of label 1 exactly on class 0's threshold minus 1e-6: confident
P = np.array([[a, 1 - a] for a in v] + [[b, 1 - b]] + [[1 - a, a] for a in rng.uniform(0.6, 0.9, 10)])
Y = np.array([0] * 40 + [1] * 11)
np.save("p.npy", P); np.save("y.npy", Y)
np.save("p_seg.npy", np.ascontiguousarray(P.T.reshape(1, 2, 1, 51))); np.save("y_seg.npy", Y.reshape(1, 1, 51))
t = [float(np.mean(P[:, k][Y == k])) for k in range(2)]
T = int(sum(1 for i in range(len(Y)) if P[i].argmax() != Y[i] and P[i, P[i].argmax()] >= t[P[i].argmax()] - 1e-6))
print(json.dumps({"thresholds": t, "T": T}))
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    want = JSON.parse(r.stdout) as { thresholds: number[]; T: number };
    assert.equal(want.T, 1, 'the case has its one example on the threshold');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [rule, files] of [['classification', ['p.npy', 'y.npy']], ['segmentation', ['p_seg.npy', 'y_seg.npy']]] as const) {
    it(`${rule}: np.mean's thresholds to the bit, and the example on the threshold counted`, function () {
      const r = spawnSync(process.execPath, [CLI, ...files, '--input-kind', 'probs', '--label-issues', '--json'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const li = (JSON.parse(r.stdout) as { labelIssues: { rule: string; thresholds: number[]; numIssuesEstimate: number } }).labelIssues;
      assert.equal(li.rule, rule);
      assert.deepEqual(li.thresholds, want.thresholds);
      assert.equal(li.numIssuesEstimate, want.T);
    });
  }

  it('streams blocks of 8192 as NumPy reduces them: one batch of 30,000 values per class equals meanNumpy', function () {
    let seed = 7;
    const next = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const pass = new ThresholdPass(2, Infinity);
    const byClass: number[][] = [[], []];
    for (let i = 0; i < 60_000; i++) {
      const k = i % 3 === 0 ? 1 : 0;
      const p = 0.5 + 0.5 * next();
      byClass[k]!.push(p);
      pass.add(k, p);
    }
    const { thresholds } = pass.finish();
    assert.equal(thresholds[0], meanNumpy(byClass[0]!));
    assert.equal(thresholds[1], meanNumpy(byClass[1]!));
  });
});
