// Evaluate Checkpoints… end to end in real VS Code: three checkpoints of six images (float32 logits .npy,
// PNG label masks with 255 on the border) written by NumPy and PIL, where every image improves from run to
// run except img04, planted to regress in the last run, under val/ beside a decoy archive/labels with the same
// stems. The command runs from the explorer's context menu on the folder holding the three run folders; the
// labels folder beside them must come first in the Quick Pick. The runs view
// must list img04 first under *regressed*; clicking it opens the loss panel comparing the first run with the
// last, and its run slider, moved to each run, must show that run's loss equal to the CLI's per-image value
// (`runs --json`) and PyTorch's (float64, test/e2e/reference.py over each run folder). Its "Hard in every
// run" mode must mark exactly the pixels NumPy finds above every run's p90 (float64 PyTorch losses), and
// "against" another run must show the delta between PyTorch's values of those two runs.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { ROOT, RUNS_VIEW, VsCode, cleanUpAfterSuite, evaluateFromExplorer, evaluationFrame, fmt6, markBeforeReload, panelShowing, panelWithValue, sleep } from '../harness';
import { assertMatchesTorch, torchEval } from '../reference';

const RUNS = ['ep1', 'ep2', 'ep3'];
const N = 6;
const PLANTED = 'img04';

const GENERATE = `
import numpy as np
from PIL import Image
import os
rng = np.random.default_rng(25)
N, C, H, W = ${N}, 5, 24, 32
runs = ${JSON.stringify(RUNS)}
os.makedirs("val/labels", exist_ok=True)
os.makedirs("archive/labels", exist_ok=True)
labels = []
for i in range(1, N + 1):
    lab = rng.integers(0, C, (H, W)).astype(np.uint8)
    lab[:2, :] = 255
    lab[:, -2:] = 255
    labels.append(lab)
    Image.fromarray(lab, mode="L").save(f"val/labels/img{i:02d}_gt.png")
    # A decoy: another set's labels under the same stems, of another size (evaluating with them fails).
    Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(f"archive/labels/img{i:02d}_gt.png")
noise = [rng.standard_normal((C, H, W)).astype(np.float32) for _ in range(N)]
yy, xx = np.mgrid[0:H, 0:W]
for k, run in enumerate(runs):
    os.makedirs(f"val/checkpoints/{run}", exist_ok=True)
    for i in range(1, N + 1):
        lab = labels[i - 1]
        logits = noise[i - 1].copy()
        # Each run learns more (a larger margin on the true class), except the planted image in the last run,
        # whose margin goes to the wrong class.
        margin = 0.5 + 1.0 * k
        if i == ${Number(PLANTED.slice(3))} and k == len(runs) - 1:
            logits[(np.minimum(lab, C - 1) + 1) % C, yy, xx] += 3.0
        else:
            logits[np.minimum(lab, C - 1), yy, xx] += margin + 0.1 * i
        np.save(f"val/checkpoints/{run}/img{i:02d}_logits.npy", logits.astype(np.float32))

# Hard in every run, as NumPy finds it: per image, the flat positions of its labelled pixels whose float64
# PyTorch loss is above every run's p90 (np.percentile over all labelled pixels of the run).
import json
import torch
import torch.nn.functional as F
losses = []
for run in runs:
    per = []
    for i in range(1, N + 1):
        x = torch.from_numpy(np.load(f"val/checkpoints/{run}/img{i:02d}_logits.npy").astype(np.float64))[None]
        t = torch.from_numpy(labels[i - 1].astype(np.int64))[None]
        per.append(F.cross_entropy(x, t, ignore_index=255, reduction="none")[0].numpy()[labels[i - 1] != 255])
    losses.append(per)
p90 = [float(np.percentile(np.concatenate(per), 90)) for per in losses]
for k, per in enumerate(losses):
    # Our float32 losses (and the CLI's p90 from them) are within ~1e-7 relative: no decision flips.
    gap = float(np.min(np.abs(np.concatenate(per) - p90[k])) / p90[k])
    assert gap > 1e-6, f"{runs[k]}: a loss lies {gap:.1e} (relative) from p90"
hard = {}
for i in range(N):
    alive = np.ones(len(losses[0][i]), dtype=bool)
    for k in range(len(runs)):
        alive &= losses[k][i] > p90[k]
    valid = np.flatnonzero(labels[i].reshape(-1) != 255)
    hard[f"img{i + 1:02d}"] = {"positions": [int(v) for v in valid[alive]], "pixels": int(len(valid))}
with open("hard.json", "w") as f:
    json.dump({"width": W, "hard": hard}, f)
`;

interface RunsJson {
  readonly images: number;
  readonly runs: ReadonlyArray<{ readonly name: string; readonly value: number }>;
  readonly perImage: ReadonlyArray<{ readonly name: string; readonly value: readonly number[] }>;
  readonly changed: ReadonlyArray<{ readonly name: string; readonly delta: number }>;
  readonly persistent: ReadonlyArray<{ readonly name: string; readonly share: number }>;
}

/** NumPy's hard-in-every-run pixels (GENERATE's hard.json). */
interface HardJson {
  readonly width: number;
  readonly hard: Readonly<Record<string, { readonly positions: readonly number[]; readonly pixels: number }>>;
}

/** The runs view's frame once its evaluation is done (a failed one throws its message). */
const runsFrame = (page: Page, o: { reloaded?: boolean } = {}): Promise<Frame> => evaluationFrame(page, RUNS_VIEW, { timeoutMs: 120_000, ...o });

describe('Evaluate Checkpoints… in real VS Code', function () {
  let vs: VsCode;
  let ws: string;
  let cli: RunsJson;
  /** PyTorch's per-image values, per run (reference.py eval over each run folder). */
  let torch: Array<Map<string, number>>;
  let hard: HardJson;

  before(async function () {
    this.timeout(400_000);
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-runs-'));
    const g = spawnSync('/usr/bin/python3', ['-c', GENERATE], { cwd: ws, encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'runs', 'val/labels', ...RUNS.map((x) => `val/checkpoints/${x}`), '--ignore-index', '255', '--json'], { cwd: ws, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    cli = JSON.parse(r.stdout) as RunsJson;
    assert.equal(cli.images, N);
    assert.equal(cli.changed[0].name, PLANTED, 'the planted image rose most (CLI)');
    torch = RUNS.map((run) => {
      const t = torchEval(ROOT, ws, [`val/checkpoints/${run}`, 'val/labels', '--ignore-index', '255']);
      return new Map(t.perImage.map((p) => [p.name, typeof p.value === 'number' ? p.value : NaN]));
    });
    cli.perImage.forEach((img) => img.value.forEach((v, k) => assertMatchesTorch(v, torch[k].get(img.name), `runs: ${img.name} in ${RUNS[k]}, CLI vs PyTorch`)));
    hard = JSON.parse(fs.readFileSync(path.join(ws, 'hard.json'), 'utf8')) as HardJson;
    for (const p of cli.persistent) assert.equal(p.share, hard.hard[p.name].positions.length / hard.hard[p.name].pixels, `${p.name}: the CLI's persistent share is NumPy's`);
    assert.ok(hard.hard[PLANTED].positions.length > 0, 'the planted image has hard pixels');
    vs = await VsCode.launch({ name: 'runs', workspace: ws, extension: { kind: 'dev' }, settings: { 'crossEntropyLens.ignoreIndex': 255, 'crossEntropyLens.maxWorkers': 1, 'workbench.list.openMode': 'doubleClick' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('explorer → Evaluate Checkpoints… on the run folders: the planted image first in regressed; the run slider shows each run\'s CLI and PyTorch value', async function () {
    const page = vs.workbench;
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'val' }).first().click();
    await evaluateFromExplorer(page, 'checkpoints', 'Evaluate Checkpoints…');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: `${N} of ${N} predictions have a label here` }).nth(1).waitFor({ timeout: 30_000 });
    // Both label folders match every stem: the one beside the runs comes first.
    assert.match(await rows.first().innerText(), /val\/labels/);
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');

    const frame = await runsFrame(page);
    // The pooled curves carry the CLI's per-run values.
    const values = await frame.locator('[data-testid="runs-curves"] [data-col="value"]').allInnerTexts();
    assert.deepEqual(values.map((v) => v.trim()), cli.runs.map((x) => fmt6(x.value)));
    assert.equal(await frame.locator('[data-testid="runs-curves"] svg').count(), 3);
    assert.ok((await frame.locator('[data-testid="runs-classes"] .rv-multiple').count()) >= 5, 'one multiple per class');

    const regressedTab = frame.locator('[data-testid="runs-images"] [data-tab="regressed"]');
    assert.equal(await regressedTab.getAttribute('aria-selected'), 'true');
    const top = frame.locator('[data-testid="runs-images"] .rv-row[data-pos="0"]');
    assert.equal((await top.getAttribute('data-name')) ?? '', PLANTED);
    const planted = cli.perImage.find((p) => p.name === PLANTED)!;
    assert.equal((await top.locator('[data-col="delta"]').innerText()).trim(), `+${fmt6(cli.changed[0].delta)}`);
    // Its delta thumbnail is painted, mostly red (the loss rose nearly everywhere), and an improved one mostly blue.
    const redMinusBlue = (row: ReturnType<Frame['locator']>): Promise<number> => row.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let s = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) s += d[i] - d[i + 2];
      return s;
    });
    await frame.locator('[data-testid="runs-delta-thumb"]').first().waitFor({ timeout: 10_000 });
    assert.ok((await redMinusBlue(top)) > 0, 'the regressed image\'s delta thumbnail is red');
    await vs.screenshot('runs');
    await frame.locator('[data-testid="runs-images"] [data-tab="improved"]').click();
    assert.ok((await redMinusBlue(top)) < 0, 'the most improved image\'s delta thumbnail is blue');
    await frame.locator('[data-testid="runs-images"] [data-tab="regressed"]').click();
    assert.equal((await top.getAttribute('data-name')) ?? '', PLANTED);

    // The image in the loss panel: last run against the first, with the run slider on the last run.
    await top.click();
    const lastValue = fmt6(planted.value[RUNS.length - 1]);
    assert.equal(await panelShowing(page, lastValue), lastValue, 'the panel opens on the last run');
    const panel = await panelWithValue(page);
    await panel.locator('[data-testid="compare-delta"]').first().waitFor({ timeout: 30_000 });
    const slider = panel.locator('[data-testid="run-slider"]');
    await slider.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await slider.inputValue(), String(RUNS.length - 1));
    // Step through the runs with the keyboard, as a person does: Home to the first, then right.
    for (let k = 0; k < RUNS.length; k++) {
      await slider.focus();
      await page.keyboard.press(k === 0 ? 'Home' : 'ArrowRight');
      const want = fmt6(planted.value[k]);
      assert.equal(want, fmt6(torch[k].get(PLANTED)!), `PyTorch agrees on ${RUNS[k]} to 6 digits`);
      assert.equal(await panelShowing(page, want), want, `run ${RUNS[k]}: the panel shows the CLI's per-image value`);
      assert.equal(await slider.inputValue(), String(k));
      assert.match(await panel.locator('[data-testid="run-name"]').innerText(), new RegExp(`^${RUNS[k]} \\(${k + 1} of ${RUNS.length}\\)`));
    }
    await vs.screenshot('runs-slider');

    // Hard in every run: exactly NumPy's pixels, marked in their colour, and its count and share.
    await panel.locator('select[aria-label="View mode"]').selectOption('hardEveryRun');
    const want = hard.hard[PLANTED];
    const wantText = `${want.positions.length} of ${want.pixels} labelled pixels (${((want.positions.length / want.pixels) * 100).toFixed(2)}%)`;
    const count = panel.locator('[data-testid="hard-every-run-count"]');
    await count.waitFor({ timeout: 60_000 });
    assert.equal((await count.innerText()).trim(), wantText);
    assert.equal(await panel.locator('[data-testid="hard-every-run"]').getAttribute('data-share'), String(cli.persistent.find((p) => p.name === PLANTED)!.share), 'the runs view\'s share');
    const markedPixels = (): Promise<number[]> => panel.locator('canvas[data-testid="heatmap"]').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const out: number[] = [];
      for (let i = 0; i < c.width * c.height; i++) if (d[4 * i] === 0 && d[4 * i + 1] === 255 && d[4 * i + 2] === 0 && d[4 * i + 3] === 255) out.push(i);
      return out;
    });
    // The count and the marks, once painted (the answer comes after the summary, the paint after it).
    const settled = async (): Promise<void> => {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
        if ((await count.count()) > 0 && (await count.innerText()).trim() === wantText && (await markedPixels()).length === want.positions.length) return;
      }
    };
    await settled();
    assert.deepEqual(await markedPixels(), want.positions, 'the marked pixels are NumPy\'s');
    await vs.screenshot('runs-hard');

    // Against ep2 instead of ep1: the delta is PyTorch's ep3 minus ep2 on this image; the mode and its pixels stay.
    await panel.locator('[data-testid="run-baseline"]').selectOption('1');
    const delta = torch[2].get(PLANTED)! - torch[1].get(PLANTED)!;
    const head = panel.locator('.cel-compare-head');
    let shown = NaN;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
      const m = /B − A: (\S+)$/.exec((await head.innerText()).trim());
      if (m && (await head.innerText()).includes('A: val/checkpoints/ep2/')) {
        shown = Number(m[1]);
        break;
      }
    }
    assert.ok(Math.abs(shown - delta) <= 1e-5 * Math.abs(delta), `B − A against ep2: ${shown}, PyTorch ${delta}`);
    assert.equal(await panel.locator('[data-testid="run-baseline"]').inputValue(), '1');
    await page.locator('.tab', { hasText: `${PLANTED}_logits: ep2 vs ep3` }).first().waitFor({ timeout: 10_000 });
    await settled();
    assert.equal((await count.innerText()).trim(), wantText, 'the same hard pixels against another run');
    assert.deepEqual(await markedPixels(), want.positions, 'the same marked pixels against another run');
  });
  it('explorer multi-selection of the three run folders → Evaluate Checkpoints…: the same runs, in name order', async function () {
    const page = vs.workbench;
    await vs.runCommand('View: Close All Editors');
    const row = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    if (!(await row('ep1').isVisible())) await row('checkpoints').click();
    await row('ep1').waitFor({ timeout: 10_000 });
    // Selected out of order: the runs still go ep1, ep2, ep3.
    await row('ep3').click();
    await row('ep1').click({ modifiers: ['Control'] });
    await row('ep2').click({ modifiers: ['Control'] });
    await evaluateFromExplorer(page, 'ep2', 'Evaluate Checkpoints…');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: `${N} of ${N} predictions have a label here` }).first().waitFor({ timeout: 30_000 });
    assert.match(await rows.first().innerText(), /val\/labels/);
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');
    const frame = await runsFrame(page);
    assert.deepEqual((await frame.locator('[data-testid="runs-curves"] tbody td:first-child').allInnerTexts()).map((t) => t.trim()), RUNS);
    const values = await frame.locator('[data-testid="runs-curves"] [data-col="value"]').allInnerTexts();
    assert.deepEqual(values.map((v) => v.trim()), cli.runs.map((x) => fmt6(x.value)));
    assert.equal((await frame.locator('[data-testid="runs-images"] .rv-row[data-pos="0"]').getAttribute('data-name')) ?? '', PLANTED);
  });
  it('survives Developer: Reload Window: the runs view comes back with the same values, its tab and its sort', async function () {
    const page = vs.workbench;
    const frame = await runsFrame(page);
    await frame.locator('[data-testid="runs-images"] [data-tab="improved"]').click();
    await frame.locator('[data-testid="runs-classes"] [data-sort="drop"]').click();
    await markBeforeReload(frame);
    await vs.runCommand('Developer: Reload Window');
    await page.waitForTimeout(3000);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    const again = await runsFrame(page, { reloaded: true });
    const values = await again.locator('[data-testid="runs-curves"] [data-col="value"]').allInnerTexts();
    assert.deepEqual(values.map((v) => v.trim()), cli.runs.map((x) => fmt6(x.value)));
    assert.equal(await again.locator('[data-testid="runs-images"] [data-tab="improved"]').getAttribute('aria-selected'), 'true');
    assert.equal(await again.locator('[data-testid="runs-classes"] [data-sort="drop"]').getAttribute('aria-pressed'), 'true');
    const improved = cli.changed.filter((c) => c.delta < 0).reverse();
    assert.equal((await again.locator('[data-testid="runs-images"] .rv-row[data-pos="0"]').getAttribute('data-name')) ?? '', improved[0].name, 'the most improved first');
  });
});
