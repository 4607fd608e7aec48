// Evaluate Folder… end to end in real VS Code: an ADE20K-like set (float32 logits .npy, PNG label masks
// with 255 as "ignore", photos beside the predictions) written by NumPy and PIL; the command run from the
// explorer's context menu on the predictions folder, the labels folder picked from the Quick Pick. The
// dataset view must show the CLI's pooled value (checked against PyTorch over the same folders), its
// reliability diagram and image table, and no progress notification once done; a click on the worst image
// must open a loss panel showing the CLI's (and PyTorch's) single-pair value for that pair.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { DATASET_VIEW, ROOT, VsCode, cleanUpAfterSuite, cliValue, datasetFrame, evaluateFromExplorer, evaluationFrame, fmt6, markBeforeReload, panelShowing, sleep } from '../harness';
import { assertMatchesTorch, torchEval } from '../reference';

const N = 5;
const C = 6;
const H = 32;
const W = 48;
/** Images of the set that is cancelled part way. */
// The Cancel test's set: 60 x [21, 256, 256] float16, evaluated at a pace of one image per 150 ms at most
// (CEL_E2E_EVAL_PACE_MS, read by the extension host), so the run is still going when the test clicks Cancel.
const BIG = 60;
const PACE_MS = 150;

const GENERATE = `
import numpy as np
from PIL import Image
import os
rng = np.random.default_rng(150)
os.makedirs("preds", exist_ok=True)
os.makedirs("labels", exist_ok=True)
N, C, H, W = ${N}, ${C}, ${H}, ${W}
for i in range(1, N + 1):
    stem = f"ADE_val_{i:08d}"
    labels = rng.integers(0, C, (H, W)).astype(np.uint8)
    labels[:4, :] = 255
    logits = rng.standard_normal((C, H, W)).astype(np.float32) * (0.5 + i / 2)
    yy, xx = np.mgrid[0:H, 0:W]
    logits[np.minimum(labels, C - 1), yy, xx] += 1.5 * (i % 3)
    # Alternate the suffixes eval strips: ADE_val_x_logits.npy / ADE_val_x.npy with ADE_val_x_seg.png / ADE_val_x.png.
    np.save(f"preds/{stem}{'_logits' if i % 2 else ''}.npy", logits)
    Image.fromarray(labels, mode="L").save(f"labels/{stem}{'_seg' if i % 2 else ''}.png")
    photo = np.zeros((H, W, 3), np.uint8); photo[..., 0] = 40 * i
    Image.fromarray(photo).save(f"preds/{stem}.jpg")
np.save("preds/orphan_logits.npy", rng.standard_normal((C, H, W)).astype(np.float32))
# A larger set to cancel: float16 logits as models often save them.
os.makedirs("big/scores", exist_ok=True)
os.makedirs("big/annotations", exist_ok=True)
for i in range(${BIG}):
    np.save(f"big/scores/frame{i:04d}.npy", rng.standard_normal((21, 256, 256)).astype(np.float16))
    Image.fromarray(rng.integers(0, 21, (256, 256)).astype(np.uint8), mode="L").save(f"big/annotations/frame{i:04d}.png")
`;

interface EvalJson {
  readonly value: number;
  readonly images: number;
  readonly perImage: ReadonlyArray<{ readonly name: string; readonly value: number }>;
  readonly unmatched: readonly string[];
}

/** No "evaluating …" progress toast left in the workbench within a few seconds. */
async function noEvaluatingToast(page: Page, timeoutMs = 3000): Promise<void> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'evaluating' });
  const deadline = Date.now() + timeoutMs;
  let left = await toast.allInnerTexts();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = await toast.allInnerTexts();
  }
  assert.deepEqual(left.map((t) => t.replace(/\s+/g, ' ').trim()), [], 'the progress notification is gone once the view says done');
}

describe('Evaluate Folder… in real VS Code', function () {
  let vs: VsCode;
  let ws: string;
  let report: EvalJson;

  before(async function () {
    this.timeout(300_000);
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-dataset-'));
    const r = spawnSync('/usr/bin/python3', ['-c', GENERATE], { cwd: ws, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'eval', 'preds', 'labels', '--ignore-index', '255', '--json'], { cwd: ws, encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    report = JSON.parse(cli.stdout) as EvalJson;
    assert.equal(report.images, N);
    // PyTorch over the same folders, paired by stem: the pooled value (all images as one batch) and each image's.
    const torch = torchEval(ROOT, ws, ['preds', 'labels', '--ignore-index', '255']);
    assert.equal(torch.images, N);
    assertMatchesTorch(report.value, torch.value, 'eval: pooled value, CLI vs PyTorch');
    for (const img of torch.perImage) {
      const ours = report.perImage.find((p) => p.name === img.name);
      assert.ok(ours, `eval --json lists ${img.name}`);
      assertMatchesTorch(ours.value, img.value, `eval: ${img.name}, CLI vs PyTorch`);
    }
    process.env.CEL_E2E_EVAL_PACE_MS = String(PACE_MS);
    try {
      vs = await VsCode.launch({ name: 'dataset', workspace: ws, extension: { kind: 'dev' }, settings: { 'crossEntropyLens.ignoreIndex': 255, 'crossEntropyLens.maxWorkers': 1, 'workbench.list.openMode': 'doubleClick' } });
    } finally {
      delete process.env.CEL_E2E_EVAL_PACE_MS; // the server has it; later suites do not
    }
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('explorer → Evaluate Folder…: the CLI\'s pooled value, a reliability diagram, the images worst first; the worst opens with the CLI\'s loss', async function () {
    const page = vs.workbench;
    await evaluateFromExplorer(page, 'preds');
    // The labels folder: the workspace's folders whose label stems match the predictions, best first.
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: `${N} of ${N + 1} predictions have a label here` }).first().waitFor({ timeout: 30_000 });
    assert.match(await rows.first().innerText(), /labels/);
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');

    const frame = await datasetFrame(page);
    // The progress notification goes once the view says done (a review saw it stay at "10/12 images").
    await noEvaluatingToast(page);
    const text = async (sel: string): Promise<string> => (await frame.locator(sel).first().innerText()).trim();
    assert.equal(await text('[data-testid="dataset-value"]'), fmt6(report.value));
    assert.equal(await text('[data-testid="dataset-images"]'), String(N));
    assert.match(await text('[data-testid="dataset-unmatched"]'), /orphan_logits\.npy/);
    await frame.locator('[data-testid="reliability-diagram"]').first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.ok((await frame.locator('[data-testid="reliability-diagram"] rect.ds-bar').count()) > 0, 'the diagram has bars');
    await frame.locator('[data-testid="image-table"]').first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await frame.locator('[data-testid="image-table"] [data-index]').count(), N);
    // Worst first, as the CLI ranks them.
    const worst = [...report.perImage].sort((a, b) => b.value - a.value)[0];
    const top = frame.locator('[data-testid="image-table"] [data-pos="0"]');
    assert.equal((await top.locator('[data-col="name"]').innerText()).trim(), worst.name);
    assert.equal((await top.locator('[data-col="value"]').innerText()).trim(), fmt6(worst.value));
    // The thumbnail is painted (viridis, not blank).
    const colours = await top.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const s = new Set<number>();
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) s.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return s.size;
    });
    assert.ok(colours > 5, `thumbnail with ${colours} colours`);
    await vs.screenshot('dataset');
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'dataset-readme.png') });

    // The worst image in the loss panel: the CLI's value on that pair alone.
    const num = Number(worst.name.slice('ADE_val_'.length));
    const pred = `preds/${worst.name}${num % 2 ? '_logits' : ''}.npy`;
    const label = `labels/${worst.name}${num % 2 ? '_seg' : ''}.png`;
    const expected = fmt6(cliValue(ws, pred, label, '--ignore-index', '255'));
    await top.click();
    assert.equal(await panelShowing(page, expected), expected);
    // The photo found by stem beside the prediction is offered under the maps.
    let photoSeen = false;
    for (const deadline = Date.now() + 30_000; !photoSeen && Date.now() < deadline; await sleep(250)) {
      for (const f of page.frames()) {
        try {
          if ((await f.getByText(`${worst.name}.jpg`).count()) > 0) photoSeen = true;
        } catch {
          // frame navigated away
        }
      }
    }
    assert.ok(photoSeen, `the photo ${worst.name}.jpg is named in the loss panel`);
    await vs.screenshot('dataset-worst');
  });

  it('Cancel in the view stops the run part way, and says how far it got', async function () {
    const page = vs.workbench;
    await vs.runCommand('View: Close All Editors');
    const explorerRow = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    await explorerRow('big').click();
    await explorerRow('scores').waitFor({ timeout: 10_000 });
    await explorerRow('scores').click({ button: 'right' });
    const menuItem = page.locator('.monaco-menu .action-label', { hasText: 'Evaluate Folder…' }).first();
    await menuItem.waitFor({ timeout: 10_000 });
    await menuItem.hover();
    await page.keyboard.press('Enter');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: `${BIG} of ${BIG} predictions have a label here` }).first().waitFor({ timeout: 30_000 });
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');
    let frame: Frame | null = null;
    for (const deadline = Date.now() + 30_000; frame === null && Date.now() < deadline; await sleep(100)) {
      for (const f of page.frames()) {
        try {
          if (await f.locator('[data-testid="dataset-cancel"]:visible').count()) frame = f;
        } catch {
          // frame navigated away
        }
      }
    }
    assert.ok(frame, 'the dataset view shows Cancel while it runs');
    // The run's progress notification is there while it runs (so the checks that it is gone can fail).
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'evaluating scores' }).first().waitFor({ timeout: 10_000 });
    await frame.locator('[data-testid="dataset-cancel"]').click();
    await frame.waitForFunction(() => document.querySelector('.ds-progress')?.getAttribute('data-state') === 'cancelled', undefined, { timeout: 30_000 });
    await noEvaluatingToast(page);
    const said = (await frame.locator('[data-testid="dataset-state"]').innerText()).trim();
    const m = /cancelled after (\d+) of (\d+) images/.exec(said);
    assert.ok(m, said);
    assert.equal(Number(m[2]), BIG);
    assert.ok(Number(m[1]) < BIG, said);
    // The rows shown are the images that completed.
    assert.equal(await frame.locator('.ds-img-count').innerText(), `(${m[1]})`);
  });

  it('palette → Evaluate Folder…: the predictions folder from the open dialog, the same pooled value', async function () {
    const page = vs.workbench;
    await vs.runCommand('View: Close All Editors');
    await page.locator('.tab', { hasText: 'Dataset:' }).first().waitFor({ state: 'detached', timeout: 10_000 });
    await vs.runCommand('Cross-Entropy Lens: Evaluate Folder…');
    // code-server's open dialog is a quick input holding a path: type the folder and accept.
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await page.locator('.quick-input-widget', { hasText: 'predictions folder' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    // The dialog puts the default folder in its input once it has listed it, over anything typed before:
    // type after that, and again until the input holds the path.
    const want = `${path.join(ws, 'preds')}/`;
    const ready = Date.now() + 30_000;
    while ((await input.inputValue()) === '' && Date.now() < ready) await sleep(100);
    for (let k = 0; k < 10 && (await input.inputValue()) !== want; k++) {
      await input.fill(want);
      await sleep(500);
    }
    assert.equal(await input.inputValue(), want);
    await input.press('Enter');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: `${N} of ${N + 1} predictions have a label here` }).first().waitFor({ timeout: 30_000 });
    await input.press('Enter');
    const frame = await datasetFrame(page);
    await noEvaluatingToast(page);
    assert.equal((await frame.locator('[data-testid="dataset-value"]').first().innerText()).trim(), fmt6(report.value));
  });

  it('survives Developer: Reload Window: the dataset view comes back with the same pooled value and its sort', async function () {
    const page = vs.workbench;
    await vs.runCommand('View: Close All Editors');
    await page.locator('.tab', { hasText: 'Dataset:' }).first().waitFor({ state: 'detached', timeout: 10_000 });
    await evaluateFromExplorer(page, 'preds');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: `${N} of ${N + 1} predictions have a label here` }).first().waitFor({ timeout: 30_000 });
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');
    const frame = await datasetFrame(page);

    const names = (f: Frame): Promise<string[]> =>
      f.locator('[data-testid="image-table"] [data-index]').evaluateAll((els) =>
        els.sort((a, b) => Number(a.getAttribute('data-pos')) - Number(b.getAttribute('data-pos'))).map((e) => e.querySelector('[data-col="name"]')?.textContent?.trim() ?? ''));
    const sortedBy = (f: Frame): Promise<string | null> =>
      f.locator('[data-testid="image-table"] [aria-sort="ascending"], [data-testid="image-table"] [aria-sort="descending"]').first()
        .evaluate((th) => `${th.querySelector('button')?.getAttribute('data-sort')} ${th.getAttribute('aria-sort')}`);
    // Names, descending (a click on the column, another for the direction): neither the default column nor
    // its direction, and an order unlike worst first (which mIoU here would repeat), so a reset would show.
    const byName = frame.locator('[data-testid="image-table"] button[data-sort="name"]');
    await byName.click();
    await frame.waitForFunction(() => document.querySelector('[data-testid="image-table"] [aria-sort="ascending"] button')?.getAttribute('data-sort') === 'name', undefined, { timeout: 10_000 });
    await byName.click();
    await frame.waitForFunction(() => document.querySelector('[data-testid="image-table"] [aria-sort="descending"] button')?.getAttribute('data-sort') === 'name', undefined, { timeout: 10_000 });
    const before = await names(frame);
    assert.deepEqual(before, report.perImage.map((p) => p.name).sort().reverse());
    assert.notDeepEqual(before, [...report.perImage].sort((a, b) => b.value - a.value).map((p) => p.name), 'the order differs from worst first');
    // Only a page loaded after the reload counts.
    await markBeforeReload(frame);

    await vs.runCommand('Developer: Reload Window');
    await page.waitForTimeout(3000);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    const again = await evaluationFrame(page, DATASET_VIEW, { reloaded: true });
    assert.equal((await again.locator('[data-testid="dataset-value"]').first().innerText()).trim(), fmt6(report.value));
    assert.equal((await again.locator('[data-testid="dataset-images"]').first().innerText()).trim(), String(N));
    assert.equal(await sortedBy(again), 'name descending');
    assert.deepEqual(await names(again), before);
    await vs.screenshot('dataset-after-reload');
  });
});
