// The loss panel end to end in real VS Code: the palette flow, the explorer flow, the selection flow and
// an error case, each checked against the CLI's numbers on the same files (each checked against PyTorch).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { ROOT, VsCode, cleanUpAfterSuite, cliValue as cliIn, filterPick, fmt6, openFile, sleep, copySamples } from '../harness';

const EXAMPLES = path.join(ROOT, 'examples');

/** The CLI's value on the same files, with the sample workspace's setting (ignore_index 255), PyTorch agreeing. */
const cliValue = (...args: string[]): number => cliIn(EXAMPLES, ...args, '--ignore-index', '255');

/** The titles of Compute Loss…'s two Quick Picks. */
const INPUT_PICK = /^Cross-Entropy Lens: input/;
const TARGET_PICK = /^Cross-Entropy Lens: target/;

/** The frame of our webview (VS Code nests it in two iframes). */
async function viewFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if (await f.$('[data-testid="loss-value"], [data-testid="error"]')) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error('the loss panel did not appear');
}

/** The frame whose error element is showing, or null after the timeout. */
async function frameShowingError(page: Page, timeoutMs: number): Promise<Frame | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if (await f.$('[data-testid="error"]:visible')) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(100);
  }
  return null;
}

async function lossText(frame: Frame): Promise<string> {
  const el = frame.locator('[data-testid="loss-value"]');
  await el.waitFor({ timeout: 60_000 });
  // The value replaces a placeholder once the computation is done.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const t = (await el.innerText()).trim();
    if (/\d/.test(t) || Date.now() > deadline) return t;
    await sleep(200);
  }
}

async function canvasIsNotBlank(frame: Frame): Promise<{ distinct: number; w: number; h: number }> {
  return frame.locator('canvas[data-testid="heatmap"]').evaluate((c: HTMLCanvasElement) => {
    const ctx = c.getContext('2d')!;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const colors = new Set<number>();
    for (let i = 0; i < d.length; i += 4 * 7) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return { distinct: colors.size, w: c.width, h: c.height };
  });
}

describe('the loss panel in real VS Code', function () {
  let vs: VsCode;
  let tmpWorkspace: string;

  before(async function () {
    // A copy of the examples, so the tests can rewrite files without touching the repository.
    tmpWorkspace = copySamples('cel-ws-');
    // Single clicks in the explorer only select (no editor steals focus between the clicks of a multi-select).
    vs = await VsCode.launch({ name: 'panel', workspace: tmpWorkspace, extension: { kind: 'dev' }, settings: { 'workbench.list.openMode': 'doubleClick' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: tmpWorkspace }));

  it('palette: pick input and target, see the CLI\'s loss, a heatmap, the class table and a hover read-out', async function () {
    const page = vs.workbench;
    const expected = cliValue('segmentation/logits.npy', 'segmentation/target.npy');
    await vs.runCommand('Cross-Entropy Lens: Compute Loss…');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    const listed = await filterPick(page, INPUT_PICK, 'segmentation/logits', 'segmentation/logits.npy');
    assert.match(listed, /\[2, 5, 64, 64\] float32/, 'shape and dtype from the header');
    await page.keyboard.press('Enter');
    await rows.filter({ hasText: 'segmentation/target.npy' }).first().waitFor({ timeout: 30_000 });
    const first = await rows.first().innerText();
    assert.match(first, /segmentation\/target\.npy/, 'the likely target comes first');
    await page.keyboard.press('Enter');

    const frame = await viewFrame(page);
    assert.equal(await lossText(frame), fmt6(expected));
    const canvas = await canvasIsNotBlank(frame);
    assert.ok(canvas.w >= 64 && canvas.h >= 64, `canvas ${canvas.w}x${canvas.h}`);
    assert.ok(canvas.distinct > 10, `only ${canvas.distinct} colours: blank heatmap?`);
    const table = frame.locator('[data-testid="class-table"]');
    for (const name of ['background', 'road', 'car', 'person', 'sky']) await table.getByText(name, { exact: true }).first().waitFor({ timeout: 10_000 });
    await vs.screenshot('panel');
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'panel-readme.png') });

    // Hover a pixel: the tooltip shows its target, prediction and loss.
    const box = await frame.locator('canvas[data-testid="heatmap"]').boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    const tip = frame.locator('[data-testid="tooltip"]');
    await tip.waitFor({ state: 'visible', timeout: 10_000 });
    const tipText = await tip.innerText();
    assert.match(tipText, /target/i);
    assert.match(tipText, /loss/i);
    await vs.screenshot('hover');
  });

  it('options edited in the panel recompute: label_smoothing 0.1 gives the CLI\'s value with --label-smoothing 0.1', async function () {
    const page = vs.workbench;
    const expected = cliValue('segmentation/logits.npy', 'segmentation/target.npy', '--label-smoothing', '0.1');
    const frame = await viewFrame(page);
    const field = frame.locator('input[name="labelSmoothing"]');
    await field.fill('0.1');
    await field.press('Enter');
    await field.evaluate((el: HTMLInputElement) => el.dispatchEvent(new Event('change', { bubbles: true })));
    const value = frame.locator('[data-testid="loss-value"]');
    await frame.waitForFunction((want) => document.querySelector('[data-testid="loss-value"]')?.textContent?.trim() === want, fmt6(expected), { timeout: 30_000 });
    assert.equal((await value.innerText()).trim(), fmt6(expected));
    // Back to the settings' value for the tests that follow.
    await field.fill('0');
    await field.evaluate((el: HTMLInputElement) => el.dispatchEvent(new Event('change', { bubbles: true })));
    await frame.waitForFunction((want) => document.querySelector('[data-testid="loss-value"]')?.textContent?.trim() === want, fmt6(cliValue('segmentation/logits.npy', 'segmentation/target.npy')), { timeout: 30_000 });
  });

  it('survives Developer: Reload Window: the panel comes back and recomputes from its saved request', async function () {
    const page = vs.workbench;
    await vs.runCommand('Developer: Reload Window');
    await page.waitForTimeout(3000);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    const frame = await viewFrame(page, 90_000);
    assert.equal(await lossText(frame), fmt6(cliValue('segmentation/logits.npy', 'segmentation/target.npy')));
    await vs.screenshot('after-reload');
  });

  it('explorer: two selected files, context menu, same loss as the CLI', async function () {
    const page = vs.workbench;
    const expected = cliValue('segmentation/logits.npy', 'segmentation/target.npy');
    // No panel may be open already: the one this test reads must come from the menu.
    await vs.runCommand('View: Close All Editors');
    await page.locator('.tab', { hasText: 'Loss:' }).first().waitFor({ state: 'detached', timeout: 10_000 });
    const explorerRow = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    await explorerRow('segmentation').click();
    await explorerRow('logits.npy').waitFor({ timeout: 10_000 });
    await explorerRow('logits.npy').click();
    await explorerRow('target.npy').click({ modifiers: ['Control'] });
    await page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: 'target.npy' }).waitFor({ timeout: 5000 });
    await explorerRow('target.npy').click({ button: 'right' });
    const menuItem = page.locator('.monaco-menu .action-label', { hasText: 'Cross-Entropy Loss of Selected Files' }).first();
    await menuItem.waitFor({ timeout: 10_000 });
    await menuItem.hover();
    await page.keyboard.press('Enter');
    const frame = await viewFrame(page);
    assert.equal(await lossText(frame), fmt6(expected));
  });

  it('selection: printed tensors selected in an editor, same loss as the CLI on the same numbers', async function () {
    const page = vs.workbench;
    const json = path.join(tmpWorkspace, 'printed_pair.json');
    fs.writeFileSync(json, JSON.stringify({ logits: [[2.1, -0.3, 0.5], [0.2, 1.7, -1.1], [-0.4, 0.3, 2.2], [1.0, 1.0, 1.0]], labels: [0, 1, 1, 2] }));
    const expected = cliValue(json, json);
    await vs.runCommand('Go to File');
    await page.keyboard.type('printed_tensors.py');
    await sleep(500);
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await vs.runCommand('Cross-Entropy Lens: Cross-Entropy Loss of Selected Text', { fromEditor: true });
    const frame = await viewFrame(page);
    assert.equal(await lossText(frame), fmt6(expected));
  });

  it('selection of one tensor asks for the other: a typed target list gives the CLI\'s value', async function () {
    const page = vs.workbench;
    const json = path.join(tmpWorkspace, 'printed_pair.json');
    const expected = cliValue(json, json);
    await vs.runCommand('Go to File');
    await page.keyboard.type('printed_tensors.py');
    await sleep(500);
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines').first().click();
    // Lines 5-8 hold the logits literal only.
    await page.keyboard.press('Control+G');
    await page.keyboard.type('5');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Home');
    for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+ArrowDown');
    await vs.runCommand('Cross-Entropy Lens: Cross-Entropy Loss of Selected Text', { fromEditor: true });
    const how = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Type a list' }).first();
    await how.waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    await box.fill('[0, 1, 1, 2]');
    await page.keyboard.press('Enter');
    const deadline = Date.now() + 30_000;
    let text = '';
    while (Date.now() < deadline && text !== fmt6(expected)) {
      for (const f of page.frames()) {
        try {
          const el = await f.$('[data-testid="loss-value"]');
          const t = el ? ((await el.textContent()) ?? '').trim() : '';
          if (t === fmt6(expected)) text = t;
        } catch {
          // frame navigated away
        }
      }
      await sleep(200);
    }
    assert.equal(text, fmt6(expected));
  });

  it('watch + error: a training script rewrites the target with a channel axis; the panel recomputes and shows a readable error', async function () {
    const page = vs.workbench;
    const targetFile = path.join(tmpWorkspace, 'segmentation', 'target.npy');
    const bytes = fs.readFileSync(targetFile);
    // Same data, header shape (2, 64, 64) -> (2, 1, 64, 64): the classic [N, 1, H, W] mask.
    const text = bytes.subarray(0, 128).toString('latin1').replace('(2, 64, 64)', '(2, 1, 64, 64)');
    const header = Buffer.from(text.slice(0, 127).padEnd(127, ' ') + '\n', 'latin1');
    fs.writeFileSync(targetFile, Buffer.concat([header, bytes.subarray(128)]));
    // Bring the segmentation panel to the front (other panels opened since).
    await page.locator('.tab', { hasText: 'Loss: logits.npy' }).first().click();
    const frame = await frameShowingError(page, 60_000);
    assert.ok(frame, 'no error shown after the target changed');
    const msg = await frame.locator('[data-testid="error"]').innerText();
    assert.match(msg, /singleton channel axis/);
    assert.match(msg, /squeeze axis 1/);
    await vs.screenshot('error');
  });

  it('palette: typing the main title runs the main command, also while an editor has a selection; the selection command shows only then', async function () {
    const page = vs.workbench;
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    const labels = async (query: string): Promise<string[]> => {
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`>${query}`);
      await rows.first().waitFor({ timeout: 10_000 });
      await sleep(300); // the list settles after the filter
      return (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    };
    fs.writeFileSync(path.join(tmpWorkspace, 'lonely.json'), '[[0.5, 1.5], [2.0, -1.0]]');
    await vs.runCommand('View: Close All Editors');
    await openFile(page, 'printed_tensors.py');
    const editor = page.locator('.monaco-editor .view-lines').first();
    await editor.click();
    await page.keyboard.press('Control+Home'); // no selection

    const without = await labels('Cross-Entropy Lens');
    await page.keyboard.press('Escape');
    assert.ok(without.some((l) => l.includes('Compute Loss…')), without.join(' | '));
    // Neither the selection command nor the explorer's is offered without a selection.
    assert.ok(!without.some((l) => /Select/.test(l)), `listed without a selection: ${without.join(' | ')}`);

    // The title typed out, then Enter, as a person does: the input Quick Pick of the main command opens.
    await editor.click();
    await page.keyboard.press('Control+A');
    const typed = await labels('Cross-Entropy Lens: Compute Loss');
    assert.match(typed[0] ?? '', /Compute Loss…/, `first row: ${typed.join(' | ')}`);
    await input.press('Enter');
    await filterPick(page, INPUT_PICK, 'segmentation/logits', 'segmentation/logits.npy');
    await page.keyboard.press('Escape');

    await editor.click();
    await page.keyboard.press('Control+A');
    const withSel = await labels('Cross-Entropy Lens');
    await page.keyboard.press('Escape');
    assert.ok(withSel.some((l) => l.includes('Selected Text')), `selection command missing with a selection: ${withSel.join(' | ')}`);

    // The explorer command is offered for a multi-selection of tensor files, not for one file.
    const explorerRow = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    await explorerRow('lonely.json').click();
    await explorerRow('lonely.json').click({ button: 'right' });
    await page.locator('.monaco-menu .action-label').first().waitFor({ timeout: 10_000 });
    const single = await page.locator('.monaco-menu .action-label').allInnerTexts();
    await page.keyboard.press('Escape');
    assert.ok(single.length > 3, single.join(' | '));
    assert.ok(!single.some((l) => l.includes('Selected Files')), `explorer command on a single file: ${single.join(' | ')}`);
  });

  it('long work: a progress notification with Cancel appears, and Cancel stops it with a readable message', async function () {
    const page = vs.workbench;
    // 1.5 GiB of zero logits (a sparse file): long enough to cancel, free to create.
    const dir = path.join(tmpWorkspace, 'big');
    fs.mkdirSync(dir, { recursive: true });
    const sparse = (file: string, descr: string, shape: number[], item: number): void => {
      const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
      const pad = 128 - 10 - dict.length - 1;
      const text = dict + ' '.repeat(pad) + '\n';
      const buf = Buffer.alloc(10);
      buf.write('\x93NUMPY', 0, 'latin1');
      buf[6] = 1;
      buf[7] = 0;
      buf.writeUInt16LE(text.length, 8);
      fs.writeFileSync(file, Buffer.concat([buf, Buffer.from(text, 'latin1')]));
      fs.truncateSync(file, 128 + shape.reduce((a, b) => a * b, 1) * item);
    };
    sparse(path.join(dir, 'logits.npy'), '<f4', [24, 16, 1024, 1024], 4);
    sparse(path.join(dir, 'target.npy'), '<i8', [24, 1024, 1024], 8);
    await vs.runCommand('View: Close All Editors');
    await vs.runCommand('Cross-Entropy Lens: Compute Loss…');
    await filterPick(page, INPUT_PICK, 'big/logits', 'big/logits.npy');
    await page.keyboard.press('Enter');
    await filterPick(page, TARGET_PICK, 'big/target', 'big/target.npy');
    await page.keyboard.press('Enter');
    const toast = page.locator('.notification-toast', { hasText: 'computing loss' }).first();
    await toast.waitFor({ timeout: 15_000 });
    await vs.screenshot('progress');
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
    const frame = await frameShowingError(page, 20_000);
    assert.ok(frame, 'no message after Cancel');
    assert.match(await frame.locator('[data-testid="error"]').innerText(), /cancelled/);
    await toast.waitFor({ state: 'detached', timeout: 5000 });
  });
});

