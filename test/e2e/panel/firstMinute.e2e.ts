// The first minute of a segmentation user, with no crossEntropyLens settings at all: logits [1, 21, H, W] and
// a PNG label mask with 255 on its border (PASCAL VOC's "void"), written by NumPy and PIL. The palette's
// target list says the mask holds 255, PyTorch's "Target 255 is out of bounds" shows in the panel with a
// "Use ignore_index 255" button, and the button gives PyTorch's F.cross_entropy(..., ignore_index=255). A mask
// with two different out-of-range values (254 and 255) gets the error and no button: one click cannot fix it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { VsCode, cleanUpAfterSuite, cliValue, fmt6, sleep } from '../harness';
import { PYTHON } from '../reference';

const C = 21;
const H = 40;
const W = 56;
const BORDER = 3;

const GENERATE = `
import os
import numpy as np
from PIL import Image
rng = np.random.default_rng(2601)
C, H, W, B = ${C}, ${H}, ${W}, ${BORDER}
for folder, outside in (("void", [255]), ("two", [255, 254])):
    os.makedirs(folder, exist_ok=True)
    labels = rng.integers(0, C, (H, W)).astype(np.uint8)
    x = rng.standard_normal((1, C, H, W)).astype(np.float32)
    yy, xx = np.mgrid[0:H, 0:W]
    x[0, labels, yy, xx] += 2.0
    labels[:B, :] = outside[0]
    labels[-B:, :] = outside[0]
    labels[:, :B] = outside[-1]
    labels[:, -B:] = outside[-1]
    np.save(f"{folder}/logits.npy", x)
    Image.fromarray(labels, mode="L").save(f"{folder}/label.png")
`;

/** Pixels on the border: the ones ignore_index 255 leaves out of the void case. */
const VOID_PIXELS = H * W - (H - 2 * BORDER) * (W - 2 * BORDER);

/** The loss panel frame that shows an error (a webview frame that is not a notebook's output). */
async function errorFrame(page: Page, timeoutMs = 90_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('.cel-output').count()) > 0) continue;
        if ((await f.locator('[data-testid="error"]:visible').count()) > 0) return f;
        const value = f.locator('[data-testid="loss-value"]:visible');
        if ((await value.count()) > 0 && /\d/.test(await value.first().innerText())) {
          throw new Error(`the panel shows a loss (${await value.first().innerText()}) where an error was expected`);
        }
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('the panel shows')) throw e;
        // frame navigated away
      }
    }
    await sleep(200);
  }
  throw new Error('no loss panel showed an error');
}

/**
 * Palette → Compute Loss… → `folder`/logits.npy, then `folder`/label.png once its row's description says
 * `note` (filled in a moment after the list shows); returns that row's text.
 */
async function pickPair(vs: VsCode, folder: string, note: RegExp): Promise<string> {
  const page = vs.workbench;
  await vs.runCommand('Cross-Entropy Lens: Compute Loss…');
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  const box = page.locator('.quick-input-widget .quick-input-box input');
  await rows.filter({ hasText: `${folder}/logits.npy` }).first().waitFor({ timeout: 60_000 });
  await box.fill(`${folder}/logits`);
  await rows.first().filter({ hasText: `${folder}/logits.npy` }).waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await rows.filter({ hasText: `${folder}/label.png` }).first().waitFor({ timeout: 30_000 });
  await box.fill(`${folder}/label`);
  const row = rows.first().filter({ hasText: `${folder}/label.png` }).filter({ hasText: note });
  await row.waitFor({ timeout: 30_000 });
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  await page.keyboard.press('Enter');
  return text;
}

describe('the first minute with default settings in real VS Code', function () {
  let vs: VsCode | undefined;
  let ws: string;

  before(async function () {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-first-'));
    const r = spawnSync(PYTHON, ['-c', GENERATE], { cwd: ws, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    vs = await VsCode.launch({ name: 'first-minute', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('a mask with 255 on its border: the picker says so, the panel offers "Use ignore_index 255", and the click gives PyTorch\'s loss', async function () {
    const page = vs!.workbench;
    const expected = fmt6(cliValue(ws, 'void/logits.npy', 'void/label.png', '--ignore-index', '255'));
    const row = await pickPair(vs!, 'void', /holds 255 \(void\?\)/);
    assert.match(row, /void\/label\.png/);

    const frame = await errorFrame(page);
    const error = frame.locator('[data-testid="error"]');
    assert.match(await error.innerText(), /\b255\b.*out of bounds|out of bounds.*\b255\b/s);
    const fix = frame.locator('[data-testid="error-fix"]');
    await fix.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal((await fix.innerText()).trim(), 'Use ignore_index 255');
    await vs!.screenshot('void-error');

    await fix.click();
    const value = frame.locator('[data-testid="loss-value"]');
    const deadline = Date.now() + 60_000;
    while ((await value.innerText().catch(() => '')).trim() !== expected && Date.now() < deadline) await sleep(200);
    assert.equal((await value.innerText()).trim(), expected, 'PyTorch\'s F.cross_entropy(..., ignore_index=255)');
    assert.equal(await error.isVisible(), false, 'the error is gone');
    // The border is what was left out.
    assert.match((await frame.locator('.cel-meta').innerText()).replace(/\u202f/g, ''), new RegExp(`ignore_index 255: ${VOID_PIXELS} of ${H * W} ignored`));
    await vs!.screenshot('void-fixed');
  });

  it('a mask holding 254 and 255: the error, and no fix button', async function () {
    const page = vs!.workbench;
    await vs!.runCommand('View: Close All Editors');
    await page.locator('.tab', { hasText: 'Loss:' }).first().waitFor({ state: 'detached', timeout: 10_000 });
    const row = await pickPair(vs!, 'two', /holds (254, 255|255, 254) outside 0\.\.20/);
    assert.doesNotMatch(row, /void\?/);
    const frame = await errorFrame(page);
    assert.match(await frame.locator('[data-testid="error"]').innerText(), /out of bounds/);
    // The panel posts the error once it has tried the fix, so the button would be there already.
    assert.equal(await frame.locator('[data-testid="error-fix"]').count(), 0, 'no "Use ignore_index" button: ignoring one value leaves the other');
    await vs!.screenshot('two-values-error');
  });
});
