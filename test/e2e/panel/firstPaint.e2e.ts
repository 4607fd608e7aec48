// First paint in real VS Code: from choosing the target in the palette to a painted heatmap on a
// [8, 21, 512, 512] float32 segmentation batch, the first time (cold: workers, kernel and panel start) and
// after (warm). The figures are printed for the README. The goal is 1.0 s; the bounds are three times the
// figures measured before this test existed (1.9 s cold, 1.4 s warm), so a loaded machine does not fail it
// while a regression far beyond them still shows.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { VsCode, cleanUpAfterSuite, cliValue, fmt6, sleep } from '../harness';

const N = 8;
const C = 21;
const H = 512;
const W = 512;

/** The goal (seconds), and the bounds a test run on a shared machine holds the figures to. */
const GOAL_S = 1.0;
const COLD_BOUND_S = 3 * 1.9;
const WARM_BOUND_S = 3 * 1.4;

function writeBatch(dir: string): void {
  // A fixed xorshift stream: the same batch every run, no Python needed for a timing case.
  let s = 0x9e3779b9;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const x = new Float32Array(N * C * H * W);
  for (let i = 0; i < x.length; i++) x[i] = (next() - 0.5) * 8;
  const t = new Int32Array(N * H * W);
  for (let i = 0; i < t.length; i++) t[i] = next() < 0.05 ? 255 : Math.floor(next() * C);
  fs.writeFileSync(path.join(dir, 'batch_logits.npy'), encodeNpy({ dtype: 'float32', shape: [N, C, H, W], data: x }));
  fs.writeFileSync(path.join(dir, 'batch_target.npy'), encodeNpy({ dtype: 'int64', shape: [N, H, W], data: t }));
}

/** The loss panel's frame, as soon as it exists (before it has a result). */
async function panelFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('canvas[data-testid="heatmap"]').count()) > 0 && (await f.locator('.cel-output').count()) === 0) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(20);
  }
  throw new Error('no loss panel');
}

/**
 * Date.now() at the view's first heatmap paint of a W x H map, on a canvas the user can see (sample 0's map is
 * painted alone before the batch's summary: view.ts preview): the view marks each paint with the User
 * Timing mark 'cel-heatmap-painted' (timeOrigin + startTime is the wall clock the test's Date.now() uses),
 * so finding the frame late does not delay the figure. Page source, not a function: the test runner's
 * transform would wrap named inner functions in a helper the page does not have.
 */
const PAINTED_AT = `new Promise((resolve, reject) => {
  const until = Date.now() + 60000;
  function check() {
    const c = document.querySelector('canvas[data-testid="heatmap"]');
    const marks = performance.getEntriesByName('cel-heatmap-painted');
    if (c && c.width === ${W} && c.height === ${H} && marks.length > 0 && (!c.checkVisibility || c.checkVisibility())) {
      const d = c.getContext('2d').getImageData(0, 0, ${W}, ${H}).data;
      const colours = new Set();
      for (let i = 0; i < d.length && colours.size <= 10; i += 4 * 997) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if (colours.size > 10) return resolve(performance.timeOrigin + marks[0].startTime);
    }
    if (Date.now() > until) return reject(new Error('the heatmap was not painted within 60 s'));
    requestAnimationFrame(check);
  }
  check();
})`;

async function paintedAt(frame: Frame): Promise<number> {
  return (await frame.evaluate(PAINTED_AT)) as number;
}

async function pickAndPaint(vs: VsCode): Promise<{ seconds: number; frame: Frame }> {
  const page = vs.workbench;
  await vs.runCommand('Cross-Entropy Lens: Compute Loss…');
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await rows.filter({ hasText: 'batch_logits.npy' }).first().waitFor({ timeout: 30_000 });
  await input.fill('batch_logits');
  await page.keyboard.press('Enter');
  await rows.filter({ hasText: 'batch_target.npy' }).first().waitFor({ timeout: 30_000 });
  await input.fill('batch_target');
  await rows.first().filter({ hasText: 'batch_target.npy' }).waitFor({ timeout: 10_000 });
  const chosen = Date.now();
  await page.keyboard.press('Enter');
  const frame = await panelFrame(page);
  const painted = await paintedAt(frame);
  return { seconds: (painted - chosen) / 1000, frame };
}

describe('first paint in real VS Code', function () {
  let vs: VsCode;
  let ws: string;

  before(async function () {
    this.timeout(300_000);
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-paint-'));
    writeBatch(ws);
    fs.mkdirSync(path.join(ws, '.vscode'));
    fs.writeFileSync(path.join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'crossEntropyLens.ignoreIndex': 255 }));
    vs = await VsCode.launch({ name: 'paint', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it(`palette target to painted heatmap on [${N}, ${C}, ${H}, ${W}] float32: cold and warm (goal ${GOAL_S} s)`, async function () {
    const cold = await pickAndPaint(vs);
    const expected = fmt6(cliValue(ws, 'batch_logits.npy', 'batch_target.npy', '--ignore-index', '255'));
    const value = cold.frame.locator('[data-testid="loss-value"]');
    const deadline = Date.now() + 30_000;
    while (!/\d/.test(await value.innerText()) && Date.now() < deadline) await sleep(10);
    assert.equal((await value.innerText()).trim(), expected);
    // The sample's later maps (p(target), for class indices the confidence maps) come in a second message:
    // until it arrives, anything else the host sends the view (a hover's top classes, another sample)
    // queues behind it.
    const shown = Date.now();
    await cold.frame.locator('select[aria-label="View mode"] option[value="pTarget"]:not([disabled])').waitFor({ state: 'attached', timeout: 60_000 });
    const laterSeconds = (Date.now() - shown) / 1000;
    // Stepping through samples as a user does: Next as soon as the sample shown is painted. Each step's maps
    // queue behind the previous sample's second message while it is still on its way.
    const steps: number[] = [];
    for (let k = 1; k <= 3; k++) {
      const marks = (await cold.frame.evaluate("performance.getEntriesByName('cel-heatmap-painted').length")) as number;
      const clicked = Date.now();
      await cold.frame.locator('button[aria-label="Next sample"]').click();
      // Polled with evaluate: waitForFunction evaluates a string in the page, which the webview's CSP forbids.
      const painted = `(() => {
        const input = document.querySelector('input[aria-label="Sample index"]');
        const loading = document.querySelector('.cel-loading');
        return !!input && input.value === '${k}' && !!loading && loading.hidden && performance.getEntriesByName('cel-heatmap-painted').length > ${marks};
      })()`;
      for (const until = Date.now() + 60_000; !(await cold.frame.evaluate(painted)); await sleep(10)) assert.ok(Date.now() < until, `sample ${k} was not painted within 60 s`);
      steps.push((Date.now() - clicked) / 1000);
    }
    // Warm means a second computation once the first is complete: its p(target) and confidence maps (the
    // second message for the sample, from a worker job) have arrived, so no work of the first is in flight.
    await cold.frame.locator('select[aria-label="View mode"] option[value="top1"]:not([disabled])').waitFor({ state: 'attached', timeout: 60_000 });
    await vs.runCommand('View: Close All Editors');
    // A panel opened right after one was closed waits seconds for its webview here (measured 6.5 s warm with
    // a 0.5 s pause, 1.7 s with 5 s, the extension's own work done in both); the pause keeps that
    // workbench effect out of the figure.
    await sleep(5000);
    const warm = await pickAndPaint(vs);
    console.log(`      first paint: ${cold.seconds.toFixed(2)} s cold, ${warm.seconds.toFixed(2)} s warm (goal ${GOAL_S} s; load average ${os.loadavg()[0].toFixed(1)}); p(target) ${laterSeconds.toFixed(2)} s after the loss value; Next sample painted in ${steps.map((t) => t.toFixed(2)).join(', ')} s`);
    assert.ok(cold.seconds <= COLD_BOUND_S, `cold first paint ${cold.seconds.toFixed(2)} s`);
    assert.ok(warm.seconds <= WARM_BOUND_S, `warm first paint ${warm.seconds.toFixed(2)} s`);

    // The host does not send the result again for a page's first 'ready' (what it posted while the page
    // loaded reaches it); a page that loads again later (here Developer: Reload Webviews, no hide before
    // it) does get it again.
    // The page before the reload is marked, so only a page loaded since counts.
    await warm.frame.evaluate('window.celBeforeReload = true');
    await vs.runCommand('Developer: Reload Webviews');
    const reloadDeadline = Date.now() + 60_000;
    let again = '';
    while (Date.now() < reloadDeadline && again !== expected) {
      await sleep(250);
      for (const f of vs.workbench.frames()) {
        try {
          const v = f.locator('[data-testid="loss-value"]');
          if ((await f.locator('.cel-output').count()) > 0 || (await v.count()) === 0) continue;
          if ((await f.evaluate('window.celBeforeReload === true')) === true) continue;
          again = (await v.first().innerText()).trim();
        } catch {
          // frame navigated away
        }
        if (again === expected) break;
      }
    }
    assert.equal(again, expected, 'the reloaded panel shows the loss again');
  });
});
