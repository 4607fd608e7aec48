// Likely label errors in real VS Code: a folder whose labels were flipped in a rectangle of three images
// (the generator below plants them, and knows which), Evaluate Folder… from the explorer, then Find likely
// label errors in the dataset view: those three images come first, most likely mislabelled, with the counts
// of cleanlab's rules as NumPy computes them (test/parity/generators/label_issues_reference.py, a model of cleanlab that
// the fixture generator checks against cleanlab itself); a click on the first opens the loss panel in its
// label-errors mode, which marks exactly that image's reported pixels, the planted rectangle among them.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { ROOT, VsCode, cleanUpAfterSuite, datasetFrame, evaluateFromExplorer, sleep } from '../harness';

const GENERATE = String.raw`
import json, os, sys
import numpy as np
from PIL import Image
sys.path.insert(0, sys.argv[1])
import label_issues_reference as ref
rng = np.random.default_rng(7)
N, K, H, W = 10, 4, 32, 40
FLIPPED = [2, 5, 7]
RECT = (4, 12, 4, 14)
os.makedirs("preds"); os.makedirs("labels")
all_logits, all_labels = [], []
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
    all_logits.append(logits); all_labels.append(label)
# The folder as cleanlab's segmentation functions see it: every pixel of every image pooled as one 1 x M image.
x = np.stack(all_logits)  # [N, K, H, W]
y = np.stack(all_labels).astype(np.int64)
p = ref.softmax64(x, 1)
M = N * H * W
flat_p = np.moveaxis(p, 1, -1).reshape(1, 1, M, K).transpose(0, 3, 1, 2)  # [1, K, 1, M]
issues = ref.segmentation_issues(y.reshape(1, 1, M), flat_p)["issues"].reshape(N, H, W)
r0, r1, c0, c1 = RECT
print(json.dumps({
    "flipped": ["img%02d" % n for n in FLIPPED],
    "count": int(issues.sum()), "examples": int(M),
    "perImage": {"img%02d" % n: int(issues[n].sum()) for n in range(N)},
    "masks": {"img%02d" % n: np.flatnonzero(issues[n]).tolist() for n in FLIPPED},
    "inRect": {"img%02d" % n: int(issues[n, r0:r1, c0:c1].sum()) for n in FLIPPED},
    "rect": list(RECT), "W": W, "H": H,
}))
`;

interface Reference {
  readonly flipped: string[];
  readonly count: number;
  readonly examples: number;
  readonly perImage: Record<string, number>;
  readonly masks: Record<string, number[]>;
  readonly inRect: Record<string, number>;
  readonly rect: [number, number, number, number];
  readonly W: number;
  readonly H: number;
}

/** The loss panel's frame once it shows the label-errors section's count. */
async function labelIssuesPanel(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('[data-testid="label-issue-count"]').count()) > 0) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error('no loss panel showed its likely label errors');
}

describe('likely label errors in the dataset view (real VS Code)', function () {
  let vs: VsCode;
  let ws: string;
  let flipped: string[];
  let want: Reference;

  before(async function () {
    this.timeout(300_000);
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-label-issues-'));
    const r = spawnSync('/usr/bin/python3', ['-c', GENERATE, path.join(ROOT, 'test/parity/generators')], { cwd: ws, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    want = JSON.parse(r.stdout) as Reference;
    flipped = want.flipped;
    vs = await VsCode.launch({ name: 'label-issues', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('Find likely label errors puts the three images with a flipped rectangle first, with cleanlab\'s counts; a click opens the panel marking that image\'s', async function () {
    const page = vs.workbench;
    const inFlipped = flipped.reduce((a, f) => a + want.perImage[f]!, 0);
    assert.ok(want.count > 0 && inFlipped === want.count, `the issues are in the flipped images (${inFlipped} of ${want.count})`);

    await evaluateFromExplorer(page, 'preds');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'labels' }).first().waitFor({ timeout: 30_000 });
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');

    const frame = await datasetFrame(page);
    await frame.locator('[data-testid="find-label-issues"]').click();
    const line = frame.locator('[data-testid="dataset-label-issues"]');
    await frame.waitForFunction(() => /likely mislabelled/.test(document.querySelector('[data-testid="dataset-label-issues"]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    assert.match(await line.innerText(), new RegExp(`^${want.count.toLocaleString('en-US')} of ${want.examples.toLocaleString('en-US')} labelled pixels likely mislabelled`));
    const names = (await frame.locator('[data-testid="image-table"] .ds-img-row [data-col="name"]').allInnerTexts()).map((t) => t.trim().replace(/_logits\.npy$|\.npy$|\.png$/, ''));
    assert.deepEqual(names.slice(0, 3).sort(), [...flipped].sort(), `most likely mislabelled first: ${names.join(', ')}`);
    const counts = await frame.locator('[data-testid="image-table"] .ds-img-row [data-col="labelIssues"]').allInnerTexts();
    names.forEach((n, i) => assert.equal(Number(counts[i]), want.perImage[n], `${n}: cleanlab's count`));
    await vs.screenshot('label-issues-dataset');

    // The first row opens the loss panel in the label-errors mode, with the folder's cut-off.
    const first = names[0]!;
    await frame.locator('[data-testid="image-table"] .ds-img-row').first().click();
    const panel = await labelIssuesPanel(page);
    assert.equal((await panel.locator('[data-testid="label-issue-count"]').innerText()).trim(), String(want.perImage[first]), `${first}: cleanlab's count in the panel`);
    assert.equal(await panel.locator('select[aria-label="View mode"]').inputValue(), 'labelIssues');
    const table = await panel.locator('[data-testid="label-issue-table"] tbody tr').count();
    assert.ok(table > 0, 'the given → predicted table has rows');
    // The heatmap marks exactly the reported pixels: the planted rectangle's, where cleanlab reports them.
    await panel.waitForFunction(() => {
      const c = document.querySelector('canvas[data-testid="heatmap"]') as HTMLCanvasElement | null;
      return !!c && c.width > 1;
    }, undefined, { timeout: 30_000 });
    const marked = await panel.locator('canvas[data-testid="heatmap"]').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const out: number[] = [];
      for (let i = 0; i < c.width * c.height; i++) if (d[4 * i] === 255 && d[4 * i + 1] === 0 && d[4 * i + 2] === 200 && d[4 * i + 3] === 255) out.push(i);
      return out;
    });
    assert.deepEqual(marked, want.masks[first], `${first}: the marked pixels are the reported ones`);
    const [r0, r1, c0, c1] = want.rect;
    const inRect = marked.filter((i) => Math.floor(i / want.W) >= r0 && Math.floor(i / want.W) < r1 && i % want.W >= c0 && i % want.W < c1).length;
    assert.equal(inRect, want.inRect[first]);
    assert.ok(inRect >= 0.5 * (r1 - r0) * (c1 - c0), `most of the planted rectangle is marked (${inRect})`);
    await vs.screenshot('label-issues-panel');
  });
});
