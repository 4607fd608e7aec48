// Compare Losses… end to end in real VS Code: two checkpoints of the sample segmentation model against one
// target, through the palette's three Quick Picks; the panel shows run B's loss, a drawn B - A map and per-class
// changes equal to `node dist/cli.js compare --json` on the same files, whose values and per-class changes
// are checked against PyTorch first. Then "Compare with…" in an open panel.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { decodeNpy, encodeNpy } from '../../../src/tensor/binary/npy';
import { ROOT, VsCode, cleanUpAfterSuite, filterPick, fmt6, sleep, copySamples } from '../harness';
import { assertMatchesTorch, toNumber, torchReport } from '../reference';


interface CompareJson {
  a: { value: number };
  b: { value: number };
  delta: number;
  improved: number;
  regressed: number;
  perClass: Array<{ class: number; deltaMeanLoss: number | string }>;
}

/**
 * `compare --json` on A, B and the target, once PyTorch (reference.py, float64) has agreed with its A and B
 * values, its delta and every class's change of mean loss. The CLI's numbers are returned: the panel shows
 * the same engine's, to the digit.
 */
function compareJson(cwd: string, a: string, b: string, target: string): CompareJson {
  const flags = ['--ignore-index', '255'];
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'compare', a, b, target, ...flags, '--json'], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const cli = JSON.parse(r.stdout) as CompareJson;
  const ta = torchReport(ROOT, cwd, [a, target, ...flags, '--per-class']);
  const tb = torchReport(ROOT, cwd, [b, target, ...flags, '--per-class']);
  assertMatchesTorch(cli.a.value, ta.value, `compare: A (${a})`);
  assertMatchesTorch(cli.b.value, tb.value, `compare: B (${b})`);
  // The delta of two values each within the tolerance: held to the sum of the two tolerances.
  const tolDelta = 2e-6 * (Math.abs(toNumber(ta.value)) + Math.abs(toNumber(tb.value))) + 4e-7;
  assert.ok(Math.abs(cli.delta - (toNumber(tb.value) - toNumber(ta.value))) <= tolDelta, `compare: delta ${cli.delta}, PyTorch ${toNumber(tb.value) - toNumber(ta.value)}`);
  const classes = ta.perClass ?? [];
  assert.ok(classes.length > 0 && classes.some((c) => c.count > 0), 'PyTorch lists the classes');
  for (const c of classes) {
    const ours = cli.perClass.find((p) => p.class === c.class);
    assert.ok(ours, `compare --json lists class ${c.class}`);
    if (c.count === 0) {
      assert.ok(typeof ours.deltaMeanLoss !== 'number' || Number.isNaN(ours.deltaMeanLoss), `class ${c.class} has no elements: ${ours.deltaMeanLoss}`);
      continue;
    }
    const ma = toNumber(c.meanLoss);
    const mb = toNumber(tb.perClass![c.class].meanLoss);
    const tol = 2e-6 * (Math.abs(ma) + Math.abs(mb)) + 4e-7;
    assert.ok(Math.abs(toNumber(ours.deltaMeanLoss as number) - (mb - ma)) <= tol, `class ${c.class}: change ${ours.deltaMeanLoss}, PyTorch ${mb - ma} (means ${ma} -> ${mb})`);
  }
  return cli;
}

/** The frame of our webview showing a drawn comparison. */
async function compareFrame(page: Page, timeoutMs = 90_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if (await f.$('[data-testid="compare-delta"]:visible')) return f;
        const err = await f.$('[data-testid="error"]:visible');
        if (err) throw new Error(`the panel shows an error: ${await err.innerText()}`);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('the panel shows')) throw e;
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error('no comparison appeared in a panel');
}

/** The frame of a panel showing one run (a loss value and Compare with…, no comparison drawn). */
async function singleRunFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        const single = (await f.$('[data-testid="loss-value"]')) && (await f.$('button:has-text("Compare with…")')) && !(await f.$('[data-testid="compare-delta"]:visible'));
        if (single) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error('no single-run panel with Compare with… appeared');
}

/** Picks the first row matching `want` after typing `filter`, in the stage whose title matches `title`. */
async function pick(page: Page, title: RegExp, filter: string, want: RegExp): Promise<void> {
  await filterPick(page, title, filter, want);
  await sleep(300);
  assert.match(await page.locator('.quick-input-widget .monaco-list-row').first().innerText(), want);
  await page.keyboard.press('Enter');
}

async function checkPanel(frame: Frame, expected: CompareJson): Promise<void> {
  const value = frame.locator('[data-testid="loss-value"]');
  const deadline = Date.now() + 60_000;
  while ((await value.innerText()).trim() !== fmt6(expected.b.value) && Date.now() < deadline) await sleep(200);
  assert.equal((await value.innerText()).trim(), fmt6(expected.b.value), 'the panel shows run B');
  // The delta map is drawn: more than a couple of colours.
  const canvas = frame.locator('canvas[data-testid="compare-delta"]');
  const distinct = await canvas.evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colors = new Set<number>();
    for (let i = 0; i < d.length; i += 4 * 5) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return colors.size;
  });
  assert.ok(distinct > 10, `the delta map has ${distinct} colours: not drawn?`);
  for (const c of expected.perClass) {
    if (typeof c.deltaMeanLoss !== 'number') continue;
    const row = frame.locator(`[data-testid="compare-classes"] tr[data-class="${c.class}"]`);
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[cells.length - 1].trim(), fmt6(c.deltaMeanLoss), `class ${c.class}: change B - A`);
  }
}

describe('Compare Losses… in real VS Code', function () {
  let vs: VsCode;
  let ws: string;

  before(async function () {
    ws = copySamples('cel-cmp-ws-');
    // A second "checkpoint": the sample logits, shifted per pixel so some pixels get better and some worse.
    const a = decodeNpy(new Uint8Array(fs.readFileSync(path.join(ws, 'segmentation/logits.npy'))));
    const data = Float32Array.from(a.data as ArrayLike<number>, (v, i) => v + 1.5 * Math.sin(i * 0.37) + (i % 7 === 0 ? 2 : 0));
    fs.writeFileSync(path.join(ws, 'segmentation/logits_epoch2.npy'), encodeNpy({ dtype: 'float32', shape: a.shape, data }));
    vs = await VsCode.launch({ name: 'compare', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('palette: A, B (same shape first) and target; the panel shows B, the delta map and compare --json\'s per-class changes', async function () {
    const page = vs.workbench;
    const expected = compareJson(ws, 'segmentation/logits.npy', 'segmentation/logits_epoch2.npy', 'segmentation/target.npy');
    assert.ok(expected.improved > 0 && expected.regressed > 0, 'the fixture moves pixels both ways');
    await vs.runCommand('Cross-Entropy Lens: Compare Losses…');
    await pick(page, /input A/, 'segmentation/logits.npy', /segmentation\/logits\.npy/);
    // B: the other checkpoint of A's shape is listed first.
    await pick(page, /input B/, 'logits_epoch2', /segmentation\/logits_epoch2\.npy.*same shape/s);
    await pick(page, /compare losses — target/, 'segmentation/target', /segmentation\/target\.npy/);
    const frame = await compareFrame(page);
    await checkPanel(frame, expected);
    const counts = await frame.locator('[data-testid="compare-counts"]').innerText();
    assert.match(counts.replace(/[,\s]/g, ''), new RegExp(String(expected.improved)));
    await vs.screenshot('compare');
  });

  it('Compare with… turns an open panel into a comparison of its input with the one picked', async function () {
    const page = vs.workbench;
    // Start from the palette's plain Compute Loss… on the second checkpoint, then compare it with the first.
    await vs.runCommand('View: Close All Editor Groups');
    const expected = compareJson(ws, 'segmentation/logits_epoch2.npy', 'segmentation/logits.npy', 'segmentation/target.npy');
    await vs.runCommand('Cross-Entropy Lens: Compute Loss…');
    await pick(page, /^Cross-Entropy Lens: input/, 'logits_epoch2', /segmentation\/logits_epoch2\.npy/);
    await pick(page, /^Cross-Entropy Lens: target/, 'segmentation/target', /segmentation\/target\.npy/);
    const frame = await singleRunFrame(page);
    await frame.locator('button:has-text("Compare with…")').click();
    await pick(page, /compare \S+ with/, 'segmentation/logits.npy', /segmentation\/logits\.npy/);
    await checkPanel(await compareFrame(page), expected);
  });
});
