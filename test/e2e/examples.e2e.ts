// The sample workspace `npm start` opens (examples/, written by examples/make_examples.py), end to end in real
// VS Code opened on that very folder with default settings (only the harness's start-up settings): the
// walkthrough is contributed and listed by Get Started, and its first step's button runs Compute Loss… on the
// language-model pair into the token view (and scripts/start.mjs, npm start's last step, opens that walkthrough
// at start); each other sample opens with the command that shows it (palette
// and explorer, as a person does) and shows PyTorch's numbers, computed here with /usr/bin/python3. The
// screenshots (test-results/screenshots/examples-*.png, and test-results/walkthrough/*.png of the editor
// area) are the README's and the walkthrough's pictures.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { RESULTS_DIR, ROOT, VsCode, checkPrerequisites, cleanUpAfterSuite, filterPick, fmt6, freePort, lossShown, openFile, outputFrame, outputLossText, panelShowing, panelWithValue, sleep } from './harness';
import { DEBUGPY_EXTENSION, startDebugging, stopDebugging, waitForStop } from './debug/debugHarness';

const EXAMPLES = path.join(ROOT, 'examples');
const CS_STEM = 'frankfurt_000000_000019';
const WALKTHROUGH_TITLE = 'See your loss with Cross-Entropy Lens';

/** PyTorch's F.cross_entropy on each sample (float64, default options unless the sample says otherwise). */
const EXPECTED = `
import glob, json, os, struct, sys
import numpy as np, torch, torch.nn.functional as F
from PIL import Image

def ce(x, t, **kw):
    return F.cross_entropy(torch.from_numpy(np.asarray(x, dtype=np.float64)), torch.from_numpy(np.asarray(t, dtype=np.int64)), **kw).item()

out = {}
x, t = np.load("lm/logits.npy"), np.load("lm/target.npy")
out["lm"] = ce(np.moveaxis(x, -1, 1), t)
t = np.load("segmentation/target.npy")
out["segmentation"] = ce(np.load("segmentation/logits.npy"), t, ignore_index=255)
out["segmentationVoid"] = int((t == 255).sum())
out["segmentationPixels"] = int(t.size)
total, count = 0.0, 0
for p in sorted(glob.glob("ade20k_val/predictions/*_logits.npy")):
    stem = os.path.basename(p)[: -len("_logits.npy")]
    y = np.array(Image.open(f"ade20k_val/labels/{stem}.png"))
    total += ce(np.load(p)[None], y[None], reduction="sum")
    count += y.size
out["ade"] = total / count
out["adeImages"] = len(glob.glob("ade20k_val/predictions/*_logits.npy"))
# Its likely label errors as cleanlab's segmentation functions find them (every pixel pooled as one 1 x M
# image), from the NumPy model of cleanlab that the label-issue fixtures check against cleanlab itself.
sys.path.insert(0, os.environ["CEL_PARITY_DIR"])
import label_issues_reference as lir
stems = [os.path.basename(p)[: -len("_logits.npy")] for p in sorted(glob.glob("ade20k_val/predictions/*_logits.npy"))]
ax = np.stack([np.load(f"ade20k_val/predictions/{s}_logits.npy").astype(np.float64) for s in stems])
ay = np.stack([np.array(Image.open(f"ade20k_val/labels/{s}.png")) for s in stems]).astype(np.int64)
N_, K_, H_, W_ = ax.shape
ap = lir.softmax64(ax, 1)
aiss = lir.segmentation_issues(ay.reshape(1, 1, -1), np.moveaxis(ap, 1, -1).reshape(1, 1, -1, K_).transpose(0, 3, 1, 2))["issues"].reshape(N_, H_, W_)
self_conf = np.take_along_axis(ap, ay[:, None], 1)[:, 0]
quality = [lir.softmin(self_conf[n]) for n in range(N_)]
out["adeIssues"] = {"count": int(aiss.sum()), "perImage": {s: int(aiss[n].sum()) for n, s in enumerate(stems)}, "first": stems[int(np.argmin(quality))]}
# runs/ (steps, not epochs: the Compare test's filters epoch10/epoch30 must not match these files): each checkpoint's pooled loss over the six scenes, and the image whose loss rose most from the first to the last.
runs_pooled, per_image = [], {}
for run in ("step05k", "step15k", "step30k"):
    total, count = 0.0, 0
    for p in sorted(glob.glob(f"runs/checkpoints/{run}/*_logits.npy")):
        stem = os.path.basename(p)[: -len("_logits.npy")]
        y = np.array(Image.open(f"runs/labels/{stem}.png"))
        s = ce(np.load(p)[None], y[None], reduction="sum")
        total += s
        count += y.size
        per_image.setdefault(stem, []).append(s / y.size)
    runs_pooled.append(total / count)
out["runs"] = runs_pooled
out["runsRegressed"] = max(per_image, key=lambda k: per_image[k][-1] - per_image[k][0])
out["runsRegressedLast"] = per_image[out["runsRegressed"]][-1]
cs = torch.load("cityscapes/${CS_STEM}_logits.pt")
out["cityscapes"] = ce(cs.double().numpy(), np.array(Image.open("cityscapes/${CS_STEM}_gtFine_labelIds.png"))[None])
target = np.load("checkpoints/target.npy")
out["epoch10"] = ce(np.load("checkpoints/epoch10_logits.npy"), target)
out["epoch30"] = ce(np.load("checkpoints/epoch30_logits.npy"), target)
state = torch.load("checkpoints/state.pt")
out["pt"] = ce(state["logits"].double().numpy(), state["labels"].numpy())
with open("model_outputs.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
def member(name):
    h = header[name]
    dt = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}[h["dtype"]]
    a, b = h["data_offsets"]
    return np.frombuffer(data[a:b], dtype=dt).reshape(h["shape"])
out["safetensors"] = ce(member("logits"), member("labels"))
nb = json.load(open("notebook/losses.ipynb"))
refs = [o["data"]["application/vnd.cross-entropy-lens+json"] for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
ref = [p for p in refs if "file" in p["input"]][0]
x = np.load(os.path.join("notebook", ref["input"]["file"]))
t = np.load(os.path.join("notebook", ref["target"]["file"]))
out["notebook"] = ce(x, t, ignore_index=ref["options"]["ignoreIndex"])
out["notebookShape"] = list(x.shape)
# The multi-label cell: torchvision's sigmoid_focal_loss (alpha 0.25, gamma 2, mean) on the files it loads.
from torchvision.ops import sigmoid_focal_loss
ml_x = torch.from_numpy(np.load("multilabel/logits.npy").astype(np.float64))
ml_t = torch.from_numpy(np.load("multilabel/labels.npy").astype(np.float64))
out["multilabel"] = sigmoid_focal_loss(ml_x, ml_t, alpha=0.25, gamma=2, reduction="mean").item()
out["multilabelShape"] = list(ml_x.shape)
# debug/train_step.py's first stop, as the program's own PyTorch computes it there (float64).
import runpy
steps = []
def at_breakpoint(*args, **kwargs):
    f = sys._getframe(1).f_locals
    steps.append(F.cross_entropy(f["logits"].detach().double(), f["target"]).item())
sys.breakpointhook = at_breakpoint
try:
    runpy.run_path("debug/train_step.py", run_name="__main__")
except RuntimeError:
    pass
out["debugStep0"] = steps[0]
# The console session's reprs, read back by PyTorch itself: the blocks after >>> lines that are tensors.
import re
blocks = [b.strip() for b in re.split(r"^>>> .*$", open("console_session.txt").read(), flags=re.M)]
cx, ct = [eval(b, {"tensor": torch.tensor}) for b in blocks if b.startswith("tensor(")]
out["console"] = F.cross_entropy(cx.double(), ct).item()
print(json.dumps(out))
`;

interface Expected {
  lm: number;
  segmentation: number;
  segmentationVoid: number;
  segmentationPixels: number;
  ade: number;
  adeImages: number;
  runs: number[];
  runsRegressed: string;
  runsRegressedLast: number;
  cityscapes: number;
  epoch10: number;
  epoch30: number;
  pt: number;
  safetensors: number;
  notebook: number;
  notebookShape: number[];
  multilabel: number;
  multilabelShape: number[];
  debugStep0: number;
  console: number;
  adeIssues: { count: number; perImage: Record<string, number>; first: string };
}

function timer(): () => string {
  const t0 = Date.now();
  return () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

/** Every file under a folder, with its size and modification time: the suite must leave examples/ as it found it. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = fs.statSync(p);
        out.push(`${path.relative(dir, p)} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Picks in the Quick Pick whose title matches `title` (each stage of a command has its own): types `filter`
 * (the lists are virtualized: a row far down is not in the page until filtered), waits for the first row to
 * show `shown`, and presses Enter. A stage that has not opened yet (the previous one's list still showing)
 * is waited for, never typed into.
 */
async function pick(page: Page, title: RegExp | null, shown: string, filter: string = shown, timeoutMs = 60_000): Promise<void> {
  await filterPick(page, title, filter, shown, timeoutMs);
  await page.keyboard.press('Enter');
}

const INPUT = /input \(logits\)/;
const TARGET = /: target$/;

/** The frame of one of our webviews holding `selector` (visible), or the error it shows instead. */
async function frameWith(page: Page, selector: string, timeoutMs = 90_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('.cel-output').count()) > 0) continue; // a notebook output, not a panel
        if ((await f.locator(`${selector}:visible`).count()) > 0) return f;
        const err = f.locator('[data-testid="error"]:visible');
        // Looked for again: the error may have been the selector, shown between the two looks.
        if ((await err.count()) > 0 && (await f.locator(`${selector}:visible`).count()) === 0) throw new Error(`the panel shows an error: ${await err.first().innerText()}`);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('the panel shows')) throw e;
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error(`no panel with ${selector} within ${timeoutMs} ms`);
}

/** A picture of the editor area for the walkthrough's step media (test-results/walkthrough/NAME.png). */
async function editorShot(page: Page, name: string): Promise<void> {
  const dir = path.join(RESULTS_DIR, 'walkthrough');
  fs.mkdirSync(dir, { recursive: true });
  await page.locator('.part.editor').first().screenshot({ path: path.join(dir, `${name}.png`) });
}

async function closeEditors(vs: VsCode): Promise<void> {
  // A Quick Pick left open by a failed test would take the palette's text.
  for (let i = 0; i < 2; i++) await vs.workbench.keyboard.press('Escape');
  await vs.runCommand('View: Close All Editor Groups');
  await sleep(300);
}

describe('the sample workspace of npm start (examples/) in real VS Code', function () {
  let vs: VsCode | undefined;
  let expected: Expected;
  let before0: string[];

  before(async function () {
    this.timeout(300_000);
    before0 = listing(EXAMPLES);
    const r = spawnSync('/usr/bin/python3', ['-c', EXPECTED], { cwd: EXAMPLES, encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, CEL_PARITY_DIR: path.join(ROOT, 'test', 'parity', 'generators') } });
    assert.equal(r.status, 0, r.stderr);
    expected = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Expected;
    // examples/ itself, as npm start opens it; no settings beyond the harness's start-up ones.
    // With the debugpy stand-in npm start stages too (VS Code's Python Debugger cannot be installed here).
    vs = await VsCode.launch({ name: 'examples', workspace: EXAMPLES, extension: { kind: 'dev' }, extraExtensions: [DEBUGPY_EXTENSION] });
  });

  cleanUpAfterSuite(() => ({ vs }));

  after(function () {
    assert.deepEqual(listing(EXAMPLES), before0, 'the suite left examples/ as it found it');
  });

  it('contributes a walkthrough that Get Started lists; its first step\'s button opens the LM pair in the token view with PyTorch\'s loss', async function () {
    const page = vs!.workbench;
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      contributes: { walkthroughs?: Array<{ id: string; title: string; steps: Array<{ id: string; media: { image?: string } }> }> };
    };
    const walkthrough = pkg.contributes.walkthroughs?.find((w) => w.title === WALKTHROUGH_TITLE);
    assert.ok(walkthrough, 'package.json contributes the walkthrough');
    for (const s of walkthrough.steps) if (s.media.image) assert.ok(fs.existsSync(path.join(ROOT, s.media.image)), `${s.id}: ${s.media.image} exists`);
    assert.match(fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), /^!media\/\*\*\/\*\.png$/m, 'the .vsix takes the step pictures');

    let time = timer();
    await vs!.runCommand('Welcome: Open Walkthrough...');
    await pick(page, null, WALKTHROUGH_TITLE, 'Cross-Entropy Lens');
    const step = page.locator('.getting-started-step', { hasText: 'A language model, token by token' }).first();
    await step.waitFor({ timeout: 30_000 });
    for (const title of ['A segmentation over its photo', 'A validation folder', 'Two checkpoints', 'Notebook outputs']) {
      assert.equal(await page.locator('.getting-started-step', { hasText: title }).count(), 1, `the step "${title}" is listed`);
    }
    console.log(`      walkthrough open: ${time()}`);
    await vs!.screenshot('walkthrough');

    // The step's button, as a person clicks it: Compute Loss…, then the two picks.
    time = timer();
    if (!/expanded/.test((await step.getAttribute('class')) ?? '')) await step.locator('.step-title').first().click();
    await step.locator('.monaco-button', { hasText: 'Compute Loss…' }).first().click();
    await pick(page, INPUT, 'lm/logits.npy', 'lm/logits');
    await pick(page, TARGET, 'lm/target.npy', 'lm/target');
    const frame = await frameWith(page, '[data-testid="token-view"]');
    assert.equal(await lossShown(frame, fmt6(expected.lm)), fmt6(expected.lm), 'PyTorch\'s loss');
    assert.equal((await frame.locator('[data-testid="perplexity"]').first().innerText()).trim(), fmt6(Math.exp(expected.lm)));
    // Text from lm/tokenizer.json beside the logits, the padding marked ignored.
    const view = frame.locator('[data-testid="token-view"]');
    await frame.waitForFunction(() => document.querySelectorAll('[data-testid="token-view"] [data-t]').length >= 64, undefined, { timeout: 30_000 });
    const text = await view.evaluate((el) => el.textContent ?? '');
    assert.ok(text.startsWith('Before dawn the baker lit his ovens'), `token view text starts ${JSON.stringify(text.slice(0, 60))}`);
    console.log(`      walkthrough button to token view: ${time()}`);
    // The walkthrough on the left, the panel beside it; without the side bar, for the pictures.
    assert.equal(await page.locator('.part.editor .editor-group-container').count(), 2, 'the panel opened beside the walkthrough');
    await vs!.runCommand('View: Toggle Primary Side Bar Visibility');
    await page.mouse.move(300, 700); // over the walkthrough's picture: no tooltip in ours
    await sleep(800);
    await vs!.screenshot('token-view');
    const dir = path.join(RESULTS_DIR, 'walkthrough');
    fs.mkdirSync(dir, { recursive: true });
    await page.locator('.part.editor .editor-group-container').last().screenshot({ path: path.join(dir, 'token-view.png') });
    // Back: the palette from where the focus is (runCommand's usual click goes to the hidden side bar).
    await vs!.runCommand('View: Toggle Primary Side Bar Visibility', { fromEditor: true });
    await page.locator('.part.sidebar .composite.title').first().waitFor({ state: 'visible', timeout: 10_000 });
  });

  it('segmentation sample, default settings: PyTorch\'s error for its 255 border, and "Use ignore_index 255" gives PyTorch\'s loss', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss…');
    await pick(page, INPUT, 'segmentation/logits.npy', 'segmentation/logits');
    await pick(page, TARGET, 'segmentation/target.npy', 'segmentation/target');
    const frame = await frameWith(page, '[data-testid="error"]');
    const error = frame.locator('[data-testid="error"]');
    await error.waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await error.innerText(), /\b255\b.*out of bounds|out of bounds.*\b255\b/s, 'PyTorch\'s error under ignore_index -100');
    const fix = frame.locator('[data-testid="error-fix"]');
    await fix.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal((await fix.innerText()).trim(), 'Use ignore_index 255');
    await fix.click();
    assert.equal(await lossShown(frame, fmt6(expected.segmentation)), fmt6(expected.segmentation), 'F.cross_entropy(..., ignore_index=255)');
    const meta = (await frame.locator('.cel-meta').innerText()).replace(/\u202f/g, '');
    assert.match(meta, new RegExp(`ignore_index 255: ${expected.segmentationVoid} of ${expected.segmentationPixels} ignored`));
  });

  it('Cityscapes triple (torch.save logits, labelIds PNG) from the palette: PyTorch\'s loss over the photo', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    const time = timer();
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss…');
    await pick(page, INPUT, `${CS_STEM}_logits.pt`, `${CS_STEM}_logits`);
    await pick(page, TARGET, `${CS_STEM}_gtFine_labelIds.png`, 'gtFine_labelIds');
    const frame = await frameWith(page, '[data-testid="heatmap"]');
    assert.equal(await lossShown(frame, fmt6(expected.cityscapes)), fmt6(expected.cityscapes));
    await frame.getByText(`${CS_STEM}_leftImg8bit.png`).first().waitFor({ timeout: 30_000 });
    await frame.locator('[data-testid="overlay-opacity"]').first().waitFor({ state: 'visible', timeout: 30_000 });
    console.log(`      palette to loss over the photo: ${time()}`);
    await sleep(800);
    await vs!.screenshot('cityscapes');
    await editorShot(page, 'panel');
  });

  it('state.pt and model_outputs.safetensors members: the pickers list them, PyTorch\'s loss for each pair', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    let time = timer();
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss…');
    // Members of torch.save and safetensors files, listed from their headers: ":" keeps only them.
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: INPUT }).waitFor({ timeout: 30_000 });
    await page.locator('.quick-input-widget .quick-input-box input').fill(':');
    await rows.filter({ hasText: 'state.pt:logits' }).first().waitFor({ timeout: 60_000 });
    await rows.filter({ hasText: 'model_outputs.safetensors:logits' }).first().waitFor({ timeout: 60_000 });
    await sleep(300);
    await page.screenshot({ path: path.join(RESULTS_DIR, 'walkthrough', 'checkpoint-files.png'), clip: { x: 340, y: 0, width: 720, height: 175 } });
    await pick(page, INPUT, 'state.pt:logits');
    await pick(page, TARGET, 'state.pt:labels');
    let frame = await frameWith(page, '[data-testid="loss-value"]');
    assert.equal(await lossShown(frame, fmt6(expected.pt)), fmt6(expected.pt));
    console.log(`      state.pt: ${time()}`);

    await closeEditors(vs!);
    time = timer();
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss…');
    await pick(page, INPUT, 'model_outputs.safetensors:logits');
    await pick(page, TARGET, 'model_outputs.safetensors:labels');
    frame = await frameWith(page, '[data-testid="loss-value"]');
    assert.equal(await lossShown(frame, fmt6(expected.safetensors)), fmt6(expected.safetensors));
    console.log(`      model_outputs.safetensors: ${time()}`);
  });

  it('checkpoints: Compare Losses… shows epoch 30 with the B − A map', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    const time = timer();
    await vs!.runCommand('Cross-Entropy Lens: Compare Losses…');
    await pick(page, /input A/, 'checkpoints/epoch10_logits.npy', 'epoch10');
    await pick(page, /input B/, 'checkpoints/epoch30_logits.npy', 'epoch30');
    await pick(page, /— target$/, 'checkpoints/target.npy', 'checkpoints/target');
    const frame = await frameWith(page, '[data-testid="compare-delta"]');
    assert.equal(await lossShown(frame, fmt6(expected.epoch30)), fmt6(expected.epoch30), 'run B\'s loss');
    assert.ok(expected.epoch30 < expected.epoch10, 'epoch 30 is better on the whole');
    console.log(`      palette to comparison: ${time()}`);
    await frame.locator('[data-testid="compare-delta"]').first().scrollIntoViewIfNeeded();
    await sleep(800);
    await vs!.screenshot('compare');
    await editorShot(page, 'compare');
  });

  it('ADE20K-like folder: Evaluate Folder… from the explorer, the dataset view with the pooled loss', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    const time = timer();
    const explorerRow = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    const predictions = page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: 'predictions' }).first();
    if (!(await predictions.isVisible())) await explorerRow('ade20k_val').click();
    await predictions.waitFor({ timeout: 10_000 });
    await predictions.click({ button: 'right' });
    const menuItem = page.locator('.monaco-menu .action-label', { hasText: 'Evaluate Folder…' }).first();
    await menuItem.waitFor({ timeout: 10_000 });
    await menuItem.hover();
    await page.keyboard.press('Enter');
    const n = expected.adeImages;
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: `${n} of ${n} predictions have a label here` }).first().waitFor({ timeout: 30_000 });
    assert.match(await rows.first().innerText(), /ade20k_val\/labels/);
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');
    let frame: Frame | null = null;
    for (const deadline = Date.now() + 90_000; !frame && Date.now() < deadline; await sleep(250)) {
      for (const f of page.frames()) {
        try {
          if ((await f.locator('[data-testid="dataset-summary"]').count()) === 0) continue;
          const state = (await f.locator('.ds-progress').first().getAttribute('data-state')) ?? '';
          if (state === 'done') frame = f;
          if (state === 'error') throw new Error(`the evaluation failed: ${await f.locator('.ds-state').first().innerText()}`);
        } catch (e) {
          if (e instanceof Error && e.message.startsWith('the evaluation failed')) throw e;
          // frame navigated away
        }
      }
    }
    assert.ok(frame, 'the dataset view finished');
    await frame.locator('[data-testid="dataset-summary"]').first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal((await frame.locator('[data-testid="dataset-value"]').first().innerText()).trim(), fmt6(expected.ade));
    assert.equal((await frame.locator('[data-testid="dataset-images"]').first().innerText()).trim(), String(n));
    await frame.locator('[data-testid="reliability-diagram"]').first().waitFor({ state: 'visible', timeout: 10_000 });
    console.log(`      explorer to finished dataset view: ${time()}`);
    await sleep(500);
    await vs!.screenshot('dataset');
    await editorShot(page, 'dataset');

    // Find likely label errors: the planted mistake (a car labelled road in image 4) comes first, with
    // cleanlab's counts; its row opens the loss panel marking those pixels.
    const issues = expected.adeIssues;
    await frame.locator('[data-testid="find-label-issues"]').click();
    await frame.waitForFunction(() => /likely mislabelled/.test(document.querySelector('[data-testid="dataset-label-issues"]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    assert.match(await frame.locator('[data-testid="dataset-label-issues"]').innerText(), new RegExp(`^${issues.count.toLocaleString('en-US')} of `));
    const firstRow = frame.locator('[data-testid="image-table"] .ds-img-row').first();
    assert.match(await firstRow.locator('[data-col="name"]').innerText(), new RegExp(issues.first));
    assert.equal(Number(await firstRow.locator('[data-col="labelIssues"]').innerText()), issues.perImage[issues.first]);
    await firstRow.click();
    let panel: Frame | null = null;
    for (const deadline = Date.now() + 60_000; !panel && Date.now() < deadline; await sleep(250)) {
      for (const f of page.frames()) {
        try {
          if ((await f.locator('[data-testid="label-issue-count"]').count()) > 0) panel = f;
        } catch {
          // frame navigated away
        }
      }
    }
    assert.ok(panel, 'the loss panel shows the image\'s likely label errors');
    assert.equal((await panel.locator('[data-testid="label-issue-count"]').innerText()).trim(), String(issues.perImage[issues.first]));
    // The table's top pair (road given where the model sees a car) filters the heatmap and scrolls to it.
    await panel.locator('[data-testid="label-issue-table"] tbody tr').first().click();
    await panel.locator('[data-testid="label-issue-table"] tbody tr[aria-pressed="true"]').waitFor({ timeout: 10_000 });
    await sleep(500);
    await vs!.screenshot('label-issues');
    await editorShot(page, 'label-issues');
  });

  it('runs/: Evaluate Checkpoints… on runs/checkpoints, each checkpoint\'s pooled loss and the regressing image first', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    const runsRow = page.locator('.explorer-folders-view .monaco-list-row[aria-level="1"]', { hasText: /^runs$/ }).first();
    const checkpoints = page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: 'checkpoints' }).first();
    if (!(await checkpoints.isVisible())) await runsRow.click();
    await checkpoints.waitFor({ timeout: 10_000 });
    await checkpoints.click({ button: 'right' });
    const menuItem = page.locator('.monaco-menu .action-label', { hasText: 'Evaluate Checkpoints…' }).first();
    await menuItem.waitFor({ timeout: 10_000 });
    await menuItem.hover();
    await page.keyboard.press('Enter');
    // runs/labels and ade20k_val/labels both hold the six stems: the one beside the runs comes first.
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: '6 of 6 predictions have a label here' }).first().waitFor({ timeout: 30_000 });
    assert.match(await rows.first().innerText(), /runs\/labels/);
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter');
    let frame: Frame | null = null;
    for (const deadline = Date.now() + 90_000; !frame && Date.now() < deadline; await sleep(250)) {
      for (const f of page.frames()) {
        try {
          if ((await f.locator('[data-testid="runs-curves"]').count()) === 0) continue;
          const state = (await f.locator('.rv-progress').first().getAttribute('data-state')) ?? '';
          if (state === 'done') frame = f;
          if (state === 'error') throw new Error(`the evaluation failed: ${await f.locator('.rv-state').first().innerText()}`);
        } catch (e) {
          if (e instanceof Error && e.message.startsWith('the evaluation failed')) throw e;
          // frame navigated away
        }
      }
    }
    assert.ok(frame, 'the runs view finished');
    const values = await frame.locator('[data-testid="runs-curves"] [data-col="value"]').allInnerTexts();
    assert.deepEqual(values.map((v) => v.trim()), expected.runs.map(fmt6));
    assert.equal((await frame.locator('[data-testid="runs-images"] .rv-row[data-pos="0"]').getAttribute('data-name')) ?? '', expected.runsRegressed);
    await sleep(500);
    await vs!.screenshot('runs');
    // The regressing image in the panel (last checkpoint against the first), then its pixels hard in every run.
    await frame.locator('[data-testid="runs-images"] .rv-row[data-pos="0"]').click();
    const last = fmt6(expected.runsRegressedLast);
    assert.equal(await panelShowing(page, last), last, 'the panel opens on the last checkpoint with PyTorch\'s loss');
    const panel = await panelWithValue(page);
    await panel.locator('select[aria-label="View mode"]').selectOption('hardEveryRun');
    const count = panel.locator('[data-testid="hard-every-run-count"]');
    await count.waitFor({ timeout: 60_000 });
    assert.match((await count.innerText()).trim(), /^\d[\d,\s]* of \d[\d,\s]* labelled pixels/);
    await sleep(500);
    await vs!.screenshot('runs-hard');
  });

  it('notebook/losses.ipynb: the batch stored by reference renders PyTorch\'s loss', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    const time = timer();
    await openFile(page, 'losses.ipynb');
    const shape = `[${expected.notebookShape.join(', ')}]`;
    let text = '';
    let frame: Frame | null = null;
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(250)) {
      for (const f of page.frames()) {
        try {
          const el = f.locator('.cel-output', { hasText: shape }).locator('[data-testid="loss-value"]');
          if ((await el.count()) === 0) continue;
          frame = f;
          text = (await el.first().innerText()).trim();
        } catch {
          // frame navigated away
        }
      }
      if (text === fmt6(expected.notebook)) break;
    }
    assert.ok(frame, `an output showing ${shape} rendered`);
    assert.equal(text, fmt6(expected.notebook));
    console.log(`      Quick Open to the by-reference output's loss: ${time()}`);
    // The multi-label cell asks for torchvision's sigmoid focal loss: its output shows torchvision's value.
    const mlShape = `[${expected.multilabelShape.join(', ')}] float32`;
    const mlFrame = await outputFrame(page, 1, mlShape);
    assert.equal(await outputLossText(mlFrame, mlShape), fmt6(expected.multilabel), 'the multi-label output: sigmoid_focal_loss');
    // Bring the last cell (the by-reference batch) into view: focus the cell list, Ctrl+End, then its output.
    await page.locator('.notebook-editor .cell-list-container').first().click({ position: { x: 40, y: 10 } });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+End');
    await sleep(500);
    await page.mouse.move(900, 500);
    await page.mouse.wheel(0, 350);
    await page.mouse.move(150, 700); // off the heatmap: no read-out tooltip in the picture
    await sleep(800);
    await vs!.screenshot('notebook');
    await editorShot(page, 'notebook');
    // The multi-label cell, the one before the last (still focused), with its output in view.
    await page.keyboard.press('Escape');
    await page.keyboard.press('ArrowUp');
    await sleep(500);
    await page.mouse.move(900, 500);
    await page.mouse.wheel(0, 250);
    await page.mouse.move(150, 700);
    await sleep(800);
    await vs!.screenshot('multilabel');
  });

  it('printed_tensors.py: a hover on a printed tensor shows its shape and the pair\'s loss', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    await openFile(page, 'printed_tensors.py');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(':5:25');
    await input.press('Enter');
    const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content, .monaco-hover:not(.hidden) .hover-contents').first();
    let last = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
      try {
        await hover.waitFor({ state: 'visible', timeout: 3000 });
        for (const until = Date.now() + 3000; Date.now() < until; await sleep(100)) {
          last = await hover.innerText();
          if (/\[4, 3\]/.test(last) && /cross-entropy/i.test(last)) break;
        }
      } catch {
        // no hover yet
      }
      if (/\[4, 3\]/.test(last) && /cross-entropy/i.test(last)) break;
      await page.keyboard.press('Escape');
      await sleep(500);
    }
    assert.match(last, /\[4, 3\]/);
    assert.match(last, /cross-entropy/i);
    await editorShot(page, 'hover');
  });
  it('console_session.txt: all of it selected, Cross-Entropy Loss of Selected Text gives PyTorch\'s loss of its two reprs', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    await openFile(page, 'console_session.txt');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await vs!.runCommand('Cross-Entropy Lens: Cross-Entropy Loss of Selected Text', { fromEditor: true });
    const frame = await frameWith(page, '[data-testid="loss-value"]');
    assert.equal(await lossShown(frame, fmt6(expected.console)), fmt6(expected.console), 'F.cross_entropy of the session\'s logits and target');
  });

  it('debug/train_step.py under the debugger (launch.json from the samples): Compute Loss from Debug Variables… gives PyTorch\'s loss of the paused step', async function () {
    const page = vs!.workbench;
    await closeEditors(vs!);
    await startDebugging(vs!);
    try {
      await waitForStop(vs!);
      await vs!.runCommand('Cross-Entropy Lens: Compute Loss from Debug Variables…');
      await filterPick(page, /^Cross-Entropy Lens: input \(logits\) in train_step/, 'logits', 'logits');
      await page.keyboard.press('Enter');
      await filterPick(page, /^Cross-Entropy Lens: target for logits/, '', 'target');
      await page.keyboard.press('Enter');
      const frame = await frameWith(page, '[data-testid="heatmap"]');
      assert.equal(await lossShown(frame, fmt6(expected.debugStep0)), fmt6(expected.debugStep0));
      await frame.locator('[data-testid="follow-stops"]').waitFor({ state: 'visible', timeout: 10_000 });
      await vs!.screenshot('debug-sample');
    } finally {
      await stopDebugging(vs!);
    }
  });
});

describe('npm start (scripts/start.mjs) in real VS Code', function () {
  it('opens examples/ with the walkthrough showing', async function () {
    this.timeout(300_000);
    const missing = checkPrerequisites();
    if (missing) throw new Error(missing);
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-start-'));
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs')], {
      env: { ...process.env, CEL_START_STATE: state, PORT: String(await freePort()) },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let browser: Browser | null = null;
    try {
      const time = timer();
      let url = '';
      for (const deadline = Date.now() + 90_000; !url && Date.now() < deadline; await sleep(200)) {
        url = /running in VS Code at (http:\/\/\S+)/.exec(output)?.[1] ?? '';
        if (child.exitCode !== null) break;
      }
      assert.ok(url, `start.mjs announced no address: ${output}`);
      browser = await chromium.launch({
        executablePath: process.env.CEL_CHROMIUM ?? '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      });
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      await page.goto(url);
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'ade20k_val' }).first().waitFor({ timeout: 60_000 });
      await page.locator('.getting-started-step', { hasText: 'A language model, token by token' }).first().waitFor({ timeout: 90_000 });
      await page.locator('.tab', { hasText: 'Walkthrough: Cross-Entropy Lens' }).first().waitFor({ timeout: 10_000 });
      console.log(`      npm start to the walkthrough: ${time()}`);
      await sleep(1500); // the step's picture
      fs.mkdirSync(path.join(RESULTS_DIR, 'screenshots'), { recursive: true });
      await page.screenshot({ path: path.join(RESULTS_DIR, 'screenshots', 'examples-npm-start.png') });
    } finally {
      await browser?.close().catch(() => undefined);
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      try {
        process.kill(-(child.pid as number), 'SIGTERM'); // start.mjs stops the code-server it started
      } catch {
        // already gone
      }
      await Promise.race([exited, sleep(8000)]);
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
