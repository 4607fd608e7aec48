// Loss at a breakpoint, end to end: real VS Code (code-server + Chromium), a real debugpy session (Debian's
// python3-debugpy through the test-only extension test/e2e/debugpy-ext) over a real torch program. The
// expected values are written by the debuggee's own PyTorch (float64), never by our CLI.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { VsCode, cleanUpAfterSuite, filterPick, fmt6, lossShown, sleep } from '../harness';
import {
  DEBUGPY_EXTENSION, continueDebugging, debugpyProcesses, showEditorHover, startDebugging, stopDebugging, variableContextMenu, waitForStop, writeLaunchConfig,
} from './debugHarness';

const PROGRAM = String.raw`
import dataclasses, json, os, sys
import torch
import torch.nn.functional as F

OUT = sys.argv[1]
expected = {}


def record(key, value):
    expected[key] = value
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)


@dataclasses.dataclass
class CausalLMOutput:
    loss: object = None
    logits: torch.Tensor = None


def segmentation_step(g):
    logits = torch.randn(4, 21, 64, 64, generator=g).requires_grad_()
    target = torch.randint(0, 21, (4, 64, 64), generator=g)
    record("segmentation", F.cross_entropy(logits.double(), target).item())
    breakpoint()
    return F.cross_entropy(logits, target)


def lm_step(g):
    outputs = CausalLMOutput(logits=torch.randn(2, 16, 1000, generator=g))
    batch = {"input_ids": torch.randint(0, 1000, (2, 16), generator=g), "labels": torch.randint(0, 1000, (2, 16), generator=g)}
    batch["labels"][1, 10:] = -100
    record("lm", F.cross_entropy(outputs.logits.double().transpose(1, 2), batch["labels"]).item())
    breakpoint()
    return outputs


def train_step(step, g):
    logits = torch.randn(8, 5, 6, 6, generator=g) * (1 + step)
    target = torch.randint(0, 5, (8, 6, 6), generator=g)
    record("step%d" % step, F.cross_entropy(logits.double(), target).item())
    breakpoint()
    return logits


def big_step(g):
    logits = torch.randn(8, 21, 512, 512, generator=g).requires_grad_()
    target = torch.randint(0, 21, (8, 512, 512), generator=g)
    record("big", F.cross_entropy(logits.detach().double(), target).item())
    breakpoint()
    return logits


def one_hot_step(g):
    logits = torch.randn(2, 4, 8, 8, generator=g)
    one_hot = F.one_hot(torch.randint(0, 4, (2, 8, 8), generator=g), 4).permute(0, 3, 1, 2)
    record("one_hot_fixed", F.cross_entropy(logits.double(), one_hot.argmax(1)).item())
    return F.cross_entropy(logits, one_hot)


g = torch.Generator().manual_seed(0)
segmentation_step(g)
lm_step(g)
for step in range(3):
    train_step(step, g)
big_step(g)
one_hot_step(g)
`;

/** The frame of our loss panel (not a notebook output), once it shows `selector`. */
async function panelFrame(page: Page, selector: string, timeoutMs = 90_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator(`${selector}:visible`).count()) > 0) return f;
      } catch {
        // a frame that navigated away
      }
    }
    await sleep(250);
  }
  throw new Error(`no panel showing ${selector} within ${timeoutMs} ms`);
}

describe('loss at a breakpoint: real debugpy sessions in real VS Code', function () {
  this.timeout(600_000);
  let vs: VsCode | undefined;
  let ws: string;
  let out: string;
  const expected = (): Record<string, number> => JSON.parse(fs.readFileSync(path.join(out, 'expected.json'), 'utf8')) as Record<string, number>;

  before(async function () {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-debug-ws-'));
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-debug-out-'));
    fs.writeFileSync(path.join(ws, 'train.py'), PROGRAM);
    // The debuggee's temporary folder (where the lens's private folder goes) is the suite's own.
    fs.mkdirSync(path.join(out, 'tmp'));
    writeLaunchConfig(ws, 'train.py', { args: [out], env: { TMPDIR: path.join(out, 'tmp') } });
    vs = await VsCode.launch({ name: 'debug', workspace: ws, extension: { kind: 'dev' }, extraExtensions: [DEBUGPY_EXTENSION] });
    await startDebugging(vs);
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  after(function () {
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('a paused segmentation step: Variables view → "Cross-Entropy Loss of This Variable…" on logits → PyTorch\'s loss', async function () {
    await waitForStop(vs!);
    const page = vs!.workbench;
    const items = await variableContextMenu(vs!, 'logits', 'Cross-Entropy Loss of This Variable…');
    assert.ok(items.includes('Cross-Entropy Loss of This Variable…'), items.join(' | '));
    // The target list: values of the frame that fit, `target` first.
    const row = await filterPick(page, /^Cross-Entropy Lens: target for logits/, '', 'target');
    assert.match(row, /\[4, 64, 64\] int64/);
    await page.keyboard.press('Enter');
    const frame = await panelFrame(page, '[data-testid="heatmap"]');
    const want = fmt6(expected().segmentation!);
    assert.equal(await lossShown(frame, want), want, 'PyTorch\'s F.cross_entropy in the debuggee');
    const head = (await frame.locator('.cel-debug-head').innerText()).trim();
    assert.match(head, /^From the debugger: segmentation_step \(train\.py:\d+\)$/);
    await vs!.screenshot('debug-variable');
  });

  it('a debug hover on logits shows its shape, device, requires_grad and the cross-entropy with target', async function () {
    await vs!.runCommand('View: Close All Editors');
    const line = PROGRAM.split('\n').findIndex((l) => l.includes('return F.cross_entropy(logits, target)')) + 1;
    const text = await showEditorHover(vs!, 'train.py', line, 29, { want: /Cross-entropy/ });
    assert.match(text, /logits.*\[4, 21, 64, 64\] float32 · cpu · requires_grad/s);
    assert.match(text, /NaN 0 · Inf 0/);
    const m = /Cross-entropy with target \(mean\): ([-\d.e]+)/.exec(text);
    assert.ok(m, text);
    assert.equal(m[1], fmt6(expected().segmentation!));
    await vs!.screenshot('debug-hover');
    await vs!.workbench.keyboard.press('Escape');
  });

  it('an HF-style outputs.logits with batch["labels"] (-100 padding) from the palette: the token view with PyTorch\'s loss', async function () {
    await vs!.runCommand('View: Close All Editors');
    await continueDebugging(vs!);
    await waitForStop(vs!);
    const page = vs!.workbench;
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss from Debug Variables…');
    const input = await filterPick(page, /^Cross-Entropy Lens: input \(logits\) in lm_step/, 'outputs.logits', 'outputs.logits');
    assert.match(input, /\[2, 16, 1000\] float32/);
    await page.keyboard.press('Enter');
    const target = await filterPick(page, /^Cross-Entropy Lens: target for outputs\.logits/, '', 'batch["labels"]');
    assert.match(target, /class axis: last, from the shapes/);
    await page.keyboard.press('Enter');
    const frame = await panelFrame(page, '[data-testid="token-view"]');
    const want = fmt6(expected().lm!);
    assert.equal(await lossShown(frame, want), want);
    await vs!.screenshot('debug-lm');
  });

  it('"Update on each stop": three stops in a loop give three history entries, each PyTorch\'s loss of its step', async function () {
    await vs!.runCommand('View: Close All Editors');
    await continueDebugging(vs!);
    await waitForStop(vs!);
    const page = vs!.workbench;
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss from Debug Variables…');
    await filterPick(page, /^Cross-Entropy Lens: input \(logits\) in train_step/, 'logits', 'logits');
    await page.keyboard.press('Enter');
    await filterPick(page, /^Cross-Entropy Lens: target for logits/, '', 'target');
    await page.keyboard.press('Enter');
    const frame = await panelFrame(page, '[data-testid="heatmap"]');
    assert.equal(await lossShown(frame, fmt6(expected().step0!)), fmt6(expected().step0!));
    const follow = frame.locator('[data-testid="follow-stops"]');
    await follow.check();
    await frame.waitForFunction(() => (document.querySelector('[data-testid="follow-stops"]') as HTMLInputElement | null)?.checked === true);
    for (const step of [1, 2]) {
      await continueDebugging(vs!);
      await waitForStop(vs!);
      const want = fmt6(expected()[`step${step}`]!);
      assert.equal(await lossShown(frame, want), want, `the panel follows to step ${step}`);
    }
    const history = frame.locator('[data-testid="stop-history"] li[data-stop]');
    const deadline = Date.now() + 30_000;
    while ((await history.count()) < 3 && Date.now() < deadline) await sleep(200);
    const lines = (await history.allInnerTexts()).map((t) => t.trim());
    assert.equal(lines.length, 3, lines.join('\n'));
    lines.forEach((l, i) => assert.match(l, new RegExp(`^stop ${i + 1}: ${fmt6(expected()[`step${i}`]!).replace('.', '\\.')} — train_step \\(train\\.py:\\d+\\)$`), l));
    await vs!.screenshot('debug-follow');
  });

  it('a [8, 21, 512, 512] float32 batch that requires grad: from choosing the target to the painted heatmap (timed)', async function () {
    await vs!.runCommand('View: Close All Editors');
    await continueDebugging(vs!);
    await waitForStop(vs!);
    const page = vs!.workbench;
    await vs!.runCommand('Cross-Entropy Lens: Compute Loss from Debug Variables…');
    await filterPick(page, /^Cross-Entropy Lens: input \(logits\) in big_step/, 'logits', 'logits');
    await page.keyboard.press('Enter');
    await filterPick(page, /^Cross-Entropy Lens: target for logits/, '', 'target');
    const t0 = Date.now();
    await page.keyboard.press('Enter');
    const frame = await panelFrame(page, '[data-testid="heatmap"]');
    const want = fmt6(expected().big!);
    assert.equal(await lossShown(frame, want), want);
    await frame.waitForFunction(() => {
      const c = document.querySelector('[data-testid="heatmap"]') as HTMLCanvasElement | null;
      return c !== null && c.width > 0 && c.height > 0;
    });
    console.log(`      debug target chosen to painted heatmap, [8, 21, 512, 512] float32 requiring grad: ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  });

  it('F.cross_entropy with a one-hot [N, C, H, W] target stops on the exception; Explain shows the message, the fix target.argmax(1) and PyTorch\'s loss after it', async function () {
    await vs!.runCommand('View: Close All Editors');
    await continueDebugging(vs!);
    const stop = await waitForStop(vs!, 'exception');
    const page = vs!.workbench;
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'raised in a PyTorch loss call' }).first();
    await toast.waitFor({ timeout: 30_000 });
    await toast.locator('.monaco-button', { hasText: 'Explain with Cross-Entropy Lens' }).click();
    const frame = await panelFrame(page, '[data-testid="debug-explain"]');
    const raised = (await frame.locator('[data-testid="debug-raised"]').innerText()).trim();
    assert.match(raised, /^RuntimeError: /);
    assert.equal(stop.reason, 'exception');
    assert.equal((await frame.locator('[data-testid="debug-fix-code"]').innerText()).trim(), 'F.cross_entropy(input, target.argmax(1))');
    assert.match(await frame.locator('[data-testid="debug-lens-message"]').innerText(), /^Cross-Entropy Lens: /);
    const want = fmt6(expected().one_hot_fixed!);
    assert.equal(await lossShown(frame, want), want, 'PyTorch\'s loss after the fix');
    await vs!.screenshot('debug-explain');
  });

  it('the session\'s end leaves no debugpy process and no temporary file behind', async function () {
    const tmp = path.join(out, 'tmp');
    assert.ok(fs.readdirSync(tmp).some((d) => d.startsWith('cross-entropy-lens-debug-')), 'the debuggee wrote its values there');
    await stopDebugging(vs!);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (fs.readdirSync(tmp).length > 0 || debugpyProcesses(vs!).length > 0)) await sleep(250);
    assert.deepEqual(fs.readdirSync(tmp), [], 'the session\'s folder is gone');
    assert.deepEqual(debugpyProcesses(vs!), []);
  });
});
