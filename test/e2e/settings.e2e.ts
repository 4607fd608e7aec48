// Settings that take effect, in real VS Code (code-server + Chromium): the host-side suite
// (test/e2e/host/settings.test.ts) in a workspace of its own, then what needs the workbench itself: the
// autoRecompute "ask" notification's Recompute button, the colormap and class names the panel shows, and an
// export whose write fails. Expected values come from the CLI on the same files, checked against PyTorch.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { decodeNpy, encodeNpy } from '../../src/tensor/binary/npy';
import { VsCode, cleanUpAfterSuite, cliValue, fmt6, panelShowing, sleep } from './harness';

/** The host suite's title and the marker that lets it run (both as in host/settings.test.ts). */
const HOST_SUITE = 'settings and command errors in the real extension host';
const MARKER = 'cel-settings-e2e.json';
const CLASS_NAMES = ['sky', 'road', 'car', 'tree'];

/** Deterministic values in [-3, 3) (a fixed LCG). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 6 - 3;
  }
  return out;
}

/** The frame of a loss panel showing a number. */
async function viewFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        const el = f.locator('[data-testid="loss-value"]');
        if ((await el.count()) > 0 && /\d/.test(await el.first().innerText())) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error('the loss panel did not show a value');
}

describe('settings that take effect in real VS Code', function () {
  let vs: VsCode | undefined;
  let ws: string;
  const writeInput = (seed: number): void => {
    // Written whole and renamed into place, as a training script's np.save to a temporary name would.
    fs.writeFileSync(path.join(ws, 'ask/logits.tmp'), encodeNpy({ dtype: 'float32', shape: [2, 4, 8, 8], data: values(2 * 4 * 64, seed) }));
    fs.renameSync(path.join(ws, 'ask/logits.tmp'), path.join(ws, 'ask/logits.npy'));
  };
  const cli = (...args: string[]): number => cliValue(ws, ...args);

  before(async function () {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-settings-'));
    fs.writeFileSync(path.join(ws, MARKER), '{}\n');
    fs.mkdirSync(path.join(ws, 'ask'));
    writeInput(1);
    const target = Array.from(values(2 * 64, 2), (v) => Math.min(3, Math.floor(((v + 3) / 6) * 4)));
    fs.writeFileSync(path.join(ws, 'ask/target.npy'), encodeNpy({ dtype: 'int64', shape: [2, 8, 8], data: target }));
    // A file where the export below wants a folder.
    fs.writeFileSync(path.join(ws, 'blocker'), 'not a folder\n');
    // For the browser tests; the host suite clears these for its own tests and puts them back after.
    fs.mkdirSync(path.join(ws, '.vscode'));
    fs.writeFileSync(
      path.join(ws, '.vscode/settings.json'),
      JSON.stringify({ 'crossEntropyLens.autoRecompute': 'ask', 'crossEntropyLens.colormap': 'magma', 'crossEntropyLens.classNames': CLASS_NAMES }, null, 2),
    );
    vs = await VsCode.launch({ name: 'settings', workspace: ws, extension: { kind: 'dev' }, hostTests: true });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('runs the host-side settings suite in the real extension host, all passing', async function () {
    this.timeout(420_000);
    const results = (await vs!.hostResults(400_000)).filter((r) => r.title.startsWith(HOST_SUITE) || r.title === 'host runner');
    const failed = results.filter((r) => r.state === 'failed');
    assert.deepEqual(failed, [], failed.map((f) => `${f.title}: ${f.error}`).join('\n'));
    assert.ok(results.length >= 14, `only ${results.length} host settings tests ran: ${results.map((r) => r.title).join('; ')}`);
  });

  it('autoRecompute ask: the notification asks, and its Recompute button recomputes; colormap and class names show in the panel', async function () {
    const page = vs!.workbench;
    // Toasts the host suite left (its error paths) would cover the one this test waits for.
    await vs!.runCommand('Notifications: Clear All Notifications');
    const first = fmt6(cli('ask/logits.npy', 'ask/target.npy'));
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss…');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.fill('ask/logits');
    await rows.filter({ hasText: 'ask/logits.npy' }).first().waitFor({ timeout: 60_000 });
    await page.keyboard.press('Enter');
    await rows.filter({ hasText: 'ask/target.npy' }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    assert.equal(await panelShowing(page, first), first);
    const frame = await viewFrame(page);
    assert.equal(await frame.getByLabel('Colormap', { exact: true }).inputValue(), 'magma', 'crossEntropyLens.colormap');
    const table = (await frame.locator('[data-testid="class-table"]').innerText()).replace(/\s+/g, ' ');
    for (const name of CLASS_NAMES) assert.ok(table.includes(name), `class table without ${name}: ${table}`);

    writeInput(3);
    const second = fmt6(cli('ask/logits.npy', 'ask/target.npy'));
    assert.notEqual(second, first);
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'ask/logits.npy changed' });
    await toast.first().waitFor({ timeout: 30_000 });
    assert.equal(await toast.count(), 1, 'one question');
    // Still the old value while the question is open.
    assert.equal(await panelShowing(page, second, 1500), first);
    await toast.first().locator('.monaco-button', { hasText: 'Recompute' }).click();
    assert.equal(await panelShowing(page, second), second);
    await toast.first().waitFor({ state: 'hidden', timeout: 10_000 });
  });

  it('an export whose write fails shows one clear message, and the next export works', async function () {
    const page = vs!.workbench;
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const proposed = async (want: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      let value = await input.inputValue();
      while (!want.test(value) && Date.now() < deadline) {
        await sleep(100);
        value = await input.inputValue();
      }
      assert.match(value, want, 'the save dialog proposes the input\'s folder and name');
    };
    await vs!.runCommand('Notifications: Clear All Notifications');
    const frame = await viewFrame(page);
    await frame.getByRole('button', { name: 'Export .npy' }).click();
    await input.waitFor({ state: 'visible', timeout: 20_000 });
    // The dialog shows the folder first and then completes it with the proposed name: typed before that,
    // a path would be replaced.
    await proposed(/ask\/logits-loss\.npy$/);
    // A folder under `blocker`, which is a file: VS Code offers to create the folder, then the write fails.
    const blocked = path.join(ws, 'blocker', 'out', 'loss.npy');
    await input.fill(blocked);
    await input.press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'does not exist' }).first().waitFor({ timeout: 10_000 });
    await input.press('Enter');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Cross-Entropy Lens' });
    await toast.first().waitFor({ timeout: 30_000 });
    await sleep(500); // a second message would come right after the first
    assert.equal(await toast.count(), 1, 'one message');
    const text = (await toast.first().locator('.notification-list-item-message').innerText()).trim();
    assert.match(text, /^Cross-Entropy Lens: could not write blocker\/out\/loss\.npy: /);
    assert.doesNotMatch(text, /\n|\bat .*:\d+:\d+|internal error/, 'one line, no stack trace');
    assert.ok(!fs.existsSync(path.join(ws, 'blocker', 'out')));

    // Still usable: the same button saves where VS Code proposes.
    await frame.getByRole('button', { name: 'Export .npy' }).click();
    await input.waitFor({ state: 'visible', timeout: 20_000 });
    await proposed(/ask\/logits-loss\.npy$/);
    await input.press('Enter');
    const saved = path.join(ws, 'ask', 'logits-loss.npy');
    const until = Date.now() + 20_000;
    while (!(fs.existsSync(saved) && fs.statSync(saved).size > 0) && Date.now() < until) await sleep(200);
    assert.deepEqual(decodeNpy(new Uint8Array(fs.readFileSync(saved))).shape, [2, 8, 8]);
  });
});
