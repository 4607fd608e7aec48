// The analysis views end to end in real VS Code, on the sample segmentation pair: clicking a confusion-matrix
// cell filters the heatmap to those pixels (the count NumPy gives for sample 0), and the confidence threshold
// changes the marked count as NumPy's softmax says it must.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Frame } from 'playwright-core';
import { fmtCount } from '../../../media/view/format';
import { VsCode, cleanUpAfterSuite, copySamples, filterPick, panelWithValue, sleep } from '../harness';


interface Expected {
  readonly C: number;
  /** The most frequent off-diagonal (target, predicted) pair of sample 0 and its pixel count there. */
  readonly pair: { readonly target: number; readonly predicted: number; readonly count: number };
  /** Non-ignored pixels of sample 0, those whose top-class probability is below 0.6 / 0.9, and the confidently wrong above 0.6. */
  readonly total: number;
  readonly below06: number;
  readonly below09: number;
  readonly wrongAbove06: number;
  /** Sample 0's width, and its top-class probability, margin and entropy per pixel (row-major). */
  readonly W: number;
  readonly top1: readonly number[];
  readonly margin: readonly number[];
  readonly entropy: readonly number[];
}

const NUMPY = `
import json, numpy as np
x = np.load("segmentation/logits.npy").astype(np.float64)[0]
t = np.load("segmentation/target.npy")[0]
C = x.shape[0]
p = np.exp(x - x.max(0)); p /= p.sum(0)
pred = x.argmax(0); top1 = p.max(0)
ps = np.sort(p, 0); margin = ps[-1] - ps[-2]
entropy = -(p * np.log(p)).sum(0)
keep = t != 255
counts = {}
for a in range(C):
    for b in range(C):
        if a != b:
            counts[(a, b)] = int(((t == a) & (pred == b) & keep).sum())
(a, b), n = max(counts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
print(json.dumps({"C": C, "pair": {"target": a, "predicted": b, "count": n}, "total": int(keep.sum()),
  "below06": int(((top1 < 0.6) & keep).sum()), "below09": int(((top1 < 0.9) & keep).sum()),
  "wrongAbove06": int(((pred != t) & (top1 > 0.6) & keep).sum()),
  "W": int(x.shape[2]), "top1": top1.ravel().tolist(), "margin": margin.ravel().tolist(), "entropy": entropy.ravel().tolist()}))
`;

async function heatmapColours(frame: Frame): Promise<number> {
  return frame.locator('canvas[data-testid="heatmap"]').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]);
    return seen.size;
  });
}

async function textWith(frame: Frame, testid: string, want: RegExp, timeoutMs = 20_000): Promise<string> {
  const el = frame.locator(`[data-testid="${testid}"]`).first();
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await el.innerText().catch(() => '')).trim();
    if (want.test(text)) return text;
    await sleep(100);
  }
  return text;
}

describe('analysis views in real VS Code', function () {
  let vs: VsCode;
  let ws: string;
  let expected: Expected;

  before(async function () {
    this.timeout(300_000);
    ws = copySamples('cel-analysis-');
    const r = spawnSync('/usr/bin/python3', ['-c', NUMPY], { cwd: ws, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    expected = JSON.parse(r.stdout) as Expected;
    assert.ok(expected.pair.count > 0 && expected.below06 !== expected.below09, 'the sample has confusions and confidence spread');
    vs = await VsCode.launch({ name: 'analysis', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('a confusion-matrix cell click filters the heatmap; the confidence threshold changes the marked count', async function () {
    const page = vs.workbench;
    await vs.runCommand('Cross-Entropy Lens: Compute Loss…');
    // The sample workspace lists dozens of tensors: filter until the wanted row leads, then accept it.
    await filterPick(page, /^Cross-Entropy Lens: input/, 'segmentation/logits', 'segmentation/logits.npy');
    await page.keyboard.press('Enter');
    await filterPick(page, /^Cross-Entropy Lens: target/, 'segmentation/target', 'segmentation/target.npy');
    await page.keyboard.press('Enter');
    const frame = await panelWithValue(page);

    // The confusion matrix: open it, click the (target, predicted) cell NumPy found most frequent in sample 0.
    const before = await heatmapColours(frame);
    const cm = frame.locator('[data-testid="confusion-matrix"]');
    await cm.locator('summary').click();
    const canvas = cm.locator('canvas').first();
    await canvas.waitFor({ state: 'visible', timeout: 10_000 });
    const box = await canvas.boundingBox();
    assert.ok(box);
    const { C, pair } = expected;
    await canvas.click({ position: { x: ((pair.predicted + 0.5) / C) * box.width, y: ((pair.target + 0.5) / C) * box.height } });
    const filter = await textWith(frame, 'pair-filter', /pixels? in this sample/);
    assert.match(filter, new RegExp(`\\(${pair.count} pixels? in this sample\\)`), filter);
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await sleep(100);
      after = await heatmapColours(frame);
    }
    assert.notEqual(after, before, 'the heatmap is redrawn with the other pixels faded');
    await vs.screenshot('analysis-confusion');
    await frame.locator('[data-testid="pair-filter"] button').click();

    // A pixel's read-out (the status line a keyboard selection fills, as screen readers hear it): its top-1,
    // margin and entropy are NumPy's softmax at that pixel. The host keeps the confidence maps until a
    // confidence mode asks, so these come with the pixel's details.
    const viewport = frame.locator('.cel-viewport');
    for (const key of ['Home', 'ArrowRight', 'ArrowRight', 'ArrowRight']) await viewport.press(key);
    const status = frame.locator('.cel-status');
    let read = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !/top-1 p/.test(read); await sleep(100)) read = (await status.textContent()) ?? '';
    const at = read.match(/\(n, y, x\) = \(0, (\d+), (\d+)\)/);
    const values = read.match(/top-1 p (\S+) · margin (\S+) · entropy ([^\s;]+)/);
    assert.ok(at && values, read);
    const k = Number(at[1]) * expected.W + Number(at[2]);
    for (const [j, name] of (['top1', 'margin', 'entropy'] as const).entries()) {
      const shown = Number(values[j + 1]);
      assert.ok(Math.abs(shown - expected[name][k]) <= 1e-5 * Math.max(1, Math.abs(expected[name][k])), `${name} ${shown} vs NumPy's ${expected[name][k]} at ${at[0]}`);
    }

    // Confidence: top-class probability with the threshold at 0.6, then 0.9; then confidently wrong above 0.6.
    const mode = frame.locator('select[aria-label="View mode"]').first();
    await frame.locator('select[aria-label="View mode"] option[value="top1"]:not([disabled])').waitFor({ state: 'attached', timeout: 30_000 });
    await mode.selectOption('top1');
    const slide = async (v: number): Promise<void> => {
      await frame.locator('[data-testid="confidence-threshold"]').evaluate((el: HTMLInputElement, value: number) => {
        el.value = String(value);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, v);
    };
    await slide(0.6);
    // The view writes counts as fmtCount does (thin-space thousands).
    const counted = (marked: number): string => `${fmtCount(marked)} of ${fmtCount(expected.total)} pixels`;
    const at06 = await textWith(frame, 'confidence-count', new RegExp(`^${counted(expected.below06)}`));
    assert.ok(at06.startsWith(counted(expected.below06)), `${at06} vs NumPy's ${counted(expected.below06)}`);
    await slide(0.9);
    const at09 = await textWith(frame, 'confidence-count', new RegExp(`^${counted(expected.below09)}`));
    assert.ok(at09.startsWith(counted(expected.below09)), `${at09} vs NumPy's ${counted(expected.below09)}`);
    await mode.selectOption('confWrong');
    await slide(0.6);
    const wrong = await textWith(frame, 'confidence-count', new RegExp(`^${counted(expected.wrongAbove06)}`));
    assert.ok(wrong.startsWith(counted(expected.wrongAbove06)), `${wrong} vs NumPy's ${counted(expected.wrongAbove06)}`);
    await vs.screenshot('analysis-confidence');
  });
});
