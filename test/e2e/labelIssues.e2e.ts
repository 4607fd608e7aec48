// Likely label errors in real VS Code: a folder whose labels were flipped in a rectangle of three images
// (the generator below plants them, and knows which), Evaluate Folder… from the explorer, then Find likely
// label errors in the dataset view: those three images come first, most likely mislabelled, and the folder's
// count is what eval --label-issues gives (itself equal to cleanlab's on test/fixtures/label-issues).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, VsCode, cleanUpAfterSuite, datasetFrame, evaluateFromExplorer } from './harness';

const GENERATE = String.raw`
import json, os
import numpy as np
from PIL import Image
rng = np.random.default_rng(7)
N, K, H, W = 10, 4, 32, 40
FLIPPED = [2, 5, 7]
os.makedirs("preds"); os.makedirs("labels")
for n in range(N):
    truth = np.zeros((H, W), np.uint8)
    truth[:, W // 3:] = 1
    truth[H // 2:, :] = 2
    truth[H // 2:, 2 * W // 3:] = 3
    # A model that is right and fairly sure everywhere, a little noisy.
    logits = rng.normal(0, 0.5, (K, H, W)).astype(np.float32)
    for k in range(K):
        logits[k][truth == k] += 3.0
    label = truth.copy()
    if n in FLIPPED:
        label[4:12, 4:14] = 3  # a rectangle labelled with a class the model (rightly) does not see there
    np.save("preds/img%02d_logits.npy" % n, logits)
    Image.fromarray(label).save("labels/img%02d.png" % n)
print(json.dumps({"flipped": ["img%02d" % n for n in FLIPPED]}))
`;

describe('likely label errors in the dataset view (real VS Code)', function () {
  let vs: VsCode;
  let ws: string;
  let flipped: string[];

  before(async function () {
    this.timeout(300_000);
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-label-issues-'));
    const r = spawnSync('/usr/bin/python3', ['-c', GENERATE], { cwd: ws, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    flipped = (JSON.parse(r.stdout) as { flipped: string[] }).flipped;
    vs = await VsCode.launch({ name: 'label-issues', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('Find likely label errors puts the three images with a flipped rectangle first, with eval --label-issues\' count', async function () {
    const page = vs.workbench;
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'eval', 'preds', 'labels', '--label-issues', '--json'], { cwd: ws, encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const report = JSON.parse(cli.stdout) as { labelIssues: { count: number; examples: number }; perImage: Array<{ name: string; labelIssues: number }> };
    const inFlipped = report.perImage.filter((p) => flipped.some((f) => p.name.startsWith(f))).reduce((a, p) => a + p.labelIssues, 0);
    assert.ok(report.labelIssues.count > 0 && inFlipped === report.labelIssues.count, `the issues are in the flipped images (${inFlipped} of ${report.labelIssues.count})`);

    await evaluateFromExplorer(page, 'preds');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'labels' }).first().waitFor({ timeout: 30_000 });
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');

    const frame = await datasetFrame(page);
    await frame.locator('[data-testid="find-label-issues"]').click();
    const line = frame.locator('[data-testid="dataset-label-issues"]');
    await frame.waitForFunction(() => /likely mislabelled/.test(document.querySelector('[data-testid="dataset-label-issues"]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    assert.match(await line.innerText(), new RegExp(`^${report.labelIssues.count.toLocaleString('en-US')} of ${report.labelIssues.examples.toLocaleString('en-US')} labelled pixels likely mislabelled`));
    const names = (await frame.locator('[data-testid="image-table"] .ds-img-row [data-col="name"]').allInnerTexts()).map((t) => t.trim().replace(/_logits\.npy$|\.npy$|\.png$/, ''));
    assert.deepEqual(names.slice(0, 3).sort(), [...flipped].sort(), `most likely mislabelled first: ${names.join(', ')}`);
    const counts = await frame.locator('[data-testid="image-table"] .ds-img-row [data-col="labelIssues"]').allInnerTexts();
    const byName = new Map(report.perImage.map((p) => [p.name.replace(/_logits\.npy$|\.npy$|\.png$/, ''), p.labelIssues]));
    names.forEach((n, i) => assert.equal(Number(counts[i]), byName.get(n), `${n}: the CLI's count`));
    await vs.screenshot('label-issues-dataset');
  });
});
