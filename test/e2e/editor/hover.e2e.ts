// Hover tooltips end to end in real VS Code: hovering the input of a JSON pair shows its shape and the
// cross-entropy the CLI computes on the same file (checked against PyTorch); the hover's link opens the panel
// with that value; a .npy path in Python source shows the file's header.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { bigJsonPair } from '../../../bench/hover';
import { ROOT, VsCode, cleanUpAfterSuite, cliValue as cliIn, fmt6, openFile, panelShowing, sleep, copySamples } from '../harness';

const EXAMPLES = path.join(ROOT, 'examples');
const cliValue = (...args: string[]): number => cliIn(EXAMPLES, ...args);

/** Puts the cursor at line:column with Go to Line. */
async function goTo(page: Page, line: number, column: number): Promise<void> {
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`:${line}:${column}`);
  await input.press('Enter');
}

/**
 * Shows the hover at the cursor (the keyboard's "Show or Focus Hover") until it holds `want`. A hover asked
 * before the extension has activated holds only VS Code's own parts, so it is asked again, each time
 * waiting longer. `ms` is the time from the last request to the content.
 */
async function hoverWith(vs: VsCode, want: RegExp, timeoutMs = 60_000): Promise<{ text: string; ms: number }> {
  const page = vs.workbench;
  const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content, .monaco-hover:not(.hidden) .hover-contents').first();
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let patience = 2000;
  while (Date.now() < deadline) {
    const asked = Date.now();
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+I');
    try {
      await hover.waitFor({ state: 'visible', timeout: 3000 });
      // VS Code's own hover parts (e.g. a note on long lines) can show before ours arrives.
      const until = Date.now() + patience;
      while (Date.now() < until) {
        last = await hover.innerText();
        if (want.test(last)) return { text: last, ms: Date.now() - asked };
        await sleep(50);
      }
    } catch {
      // no hover yet
    }
    patience *= 2;
    await page.keyboard.press('Escape');
    await sleep(300);
  }
  throw new Error(`no hover matching ${want} within ${timeoutMs} ms; last: ${last}`);
}

async function hoverText(vs: VsCode, want: RegExp, timeoutMs = 60_000): Promise<string> {
  return (await hoverWith(vs, want, timeoutMs)).text;
}

describe('hover tooltips in real VS Code', function () {
  let vs: VsCode;
  let ws: string;

  before(async function () {
    ws = copySamples('cel-hover-');
    fs.writeFileSync(path.join(ws, 'paths.py'), 'import numpy as np\nlogits = np.load("segmentation/logits.npy")\n');
    fs.writeFileSync(path.join(ws, 'big.json'), bigJsonPair(10));
    vs = await VsCode.launch({ name: 'hover', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('hovering the input of a JSON pair shows its shape and the CLI\'s cross-entropy; its link opens the panel', async function () {
    const page = vs.workbench;
    const expected = fmt6(cliValue('classification/pair.json', 'classification/pair.json'));
    await openFile(page, 'pair.json');
    // Line 4 is the first logit of the first row (json.dump with indent=1).
    await goTo(page, 4, 5);
    const text = await hoverText(vs, /Cross-entropy/);
    assert.match(text, /shape \[8, 4\]/);
    assert.match(text, new RegExp(`Cross-entropy \\(mean\\): ${expected.replace('.', '\\.')}`));
    await vs.screenshot('hover-json');

    await page.locator('.monaco-hover a', { hasText: 'Open in Cross-Entropy Lens panel' }).first().click();
    assert.equal(await panelShowing(page, expected), expected);
  });

  it('hovering a .npy path in Python shows the file\'s header and statistics', async function () {
    const page = vs.workbench;
    // Only the Python file open: the cursor and the hover are then surely in it.
    await vs.runCommand('View: Close All Editors');
    await openFile(page, 'paths.py');
    await goTo(page, 2, 25);
    const text = await hoverText(vs, /shape \[2, 5, 64, 64\]/);
    assert.match(text, /float32/);
    assert.match(text, /min .* max .* mean/);
    await vs.screenshot('hover-npy');
  });

  it('a 10 MB JSON pair: hovering its labels shows the cross-entropy of the whole pair', async function () {
    const page = vs.workbench;
    const doc = fs.readFileSync(path.join(ws, 'big.json'), 'utf8');
    const lines = doc.split('\n');
    const labelsLine = lines.findIndex((l) => l.startsWith('  "labels"')) + 1;
    const parsed = JSON.parse(doc) as { labels: number[] };
    const expected = fmt6(cliIn(ws, 'big.json', 'big.json'));
    await vs.runCommand('View: Close All Editors');
    await openFile(page, 'big.json');
    await goTo(page, labelsLine, 16);
    const first = await hoverWith(vs, /Cross-entropy/, 120_000);
    const text = first.text;
    await page.keyboard.press('Escape');
    await sleep(300);
    const second = await hoverWith(vs, /Cross-entropy/, 60_000);
    console.log(`      10 MB JSON: first hover with the loss ${first.ms} ms after it was asked, a second ${second.ms} ms (keyboard round trips included)`);
    assert.match(text, new RegExp(`shape \\[${parsed.labels.length}\\]`));
    assert.match(text, new RegExp(`Cross-entropy \\(mean\\): ${expected.replace('.', '\\.')}`));
  });
});
