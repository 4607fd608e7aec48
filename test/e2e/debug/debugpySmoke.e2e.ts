// Real Python debug sessions in real VS Code: the test-only debugpy extension (test/e2e/debugpy-ext) and
// Debian's python3-debugpy run a PyTorch program under the debugger, and the helpers of debugHarness.ts
// drive it as a person does. This suite proves those helpers on the real workbench: a breakpoint set with F9
// pauses in a function holding a tensor `logits` and a dict `batch`; the Variables view lists them and its
// context menu runs "Copy Value"; hovers work while paused; the program then dies in
// torch.nn.functional.cross_entropy and the session pauses on the uncaught exception with PyTorch's message;
// stopping leaves no debugpy process behind. A program calling breakpoint() pauses too (reason "step").
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VsCode, cleanUpAfterSuite, sleep } from '../harness';
import {
  DEBUGPY_EXTENSION,
  callStackState,
  debugpyProcesses,
  exceptionFilters,
  exceptionWidgetText,
  processesOf,
  setBreakpoint,
  setExceptionFilter,
  showEditorHover,
  startDebugging,
  stopDebugging,
  continueDebugging,
  variableContextMenu,
  variableNames,
  variableValue,
  waitForStop,
  writeLaunchConfig,
} from './debugHarness';
import { PYTHON } from '../reference';

// Line numbers below are the ones the tests use: keep them in step with the program.
const PROGRAM = `import torch
import torch.nn.functional as F

SAVED = "saved_logits.npy"


def loss_step(logits, batch):
    scale = 1.0
    return F.cross_entropy(logits * scale, batch["labels"])


def main():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 3)
    batch = {"labels": torch.randint(0, 4, (2, 3, 3))}
    print("loss", loss_step(logits, batch).item())
    one_hot = F.one_hot(batch["labels"], 4)
    print("never", F.cross_entropy(logits, one_hot))


main()
`;
const BREAK_LINE = 9;
const SAVED_LINE = 4;

const PAUSE_HERE = `import torch


def step(x):
    doubled = x * 2
    breakpoint()
    return doubled


print(step(torch.ones(3)).sum().item())
`;

describe('real debugpy sessions in real VS Code (the debug harness)', function () {
  let vs: VsCode | undefined;
  let ws: string;
  let leftover: () => Array<{ pid: number; cmd: string }> = () => [];

  before(async function () {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-debugpy-'));
    fs.writeFileSync(path.join(ws, 'train.py'), PROGRAM);
    fs.writeFileSync(path.join(ws, 'pause_here.py'), PAUSE_HERE);
    // A saved tensor the program names: its path gets the extension's .npy hover (a language hover).
    const r = spawnSync(PYTHON, ['-c', 'import numpy as np; np.save("saved_logits.npy", np.zeros((2, 4, 3, 3), np.float32))'], { cwd: ws, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    writeLaunchConfig(ws, 'train.py');
    vs = await VsCode.launch({ name: 'debugpy-smoke', workspace: ws, extension: { kind: 'dev' }, extraExtensions: [DEBUGPY_EXTENSION] });
    const instance = vs;
    leftover = () => processesOf(instance);
    // "Copy Value" writes the system clipboard; reading it back needs the permission.
    await vs.workbench.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  after(async function () {
    // Runs after cleanUpAfterSuite's close(): nothing this VS Code started may outlive it (VS Code's own
    // helpers, such as its file watcher, take a moment to notice their parent is gone).
    const deadline = Date.now() + 10_000;
    while (leftover().length > 0 && Date.now() < deadline) await sleep(200);
    assert.deepEqual(leftover(), [], 'processes left behind by the suite');
  });

  it('pauses at an F9 breakpoint; the Variables view lists logits and batch; "Copy Value" copies the tensor', async function () {
    const page = vs!.workbench;
    await setBreakpoint(vs!, 'train.py', BREAK_LINE);
    const started = await startDebugging(vs!);
    assert.ok(started.pid, 'the debuggee process');
    console.log(`      session up ${started.ms} ms after F5 (debuggee pid ${started.pid})`);

    const stop = await waitForStop(vs!, 'breakpoint');
    assert.equal(stop.label, 'Paused on breakpoint');
    assert.equal(await callStackState(vs!), 'Paused on breakpoint');
    // VS Code's defaults with debugpy's filters: uncaught exceptions pause, raised ones do not.
    assert.deepEqual(await exceptionFilters(vs!), { 'Raised Exceptions': false, 'Uncaught Exceptions': true, 'User Uncaught Exceptions': false });

    const names = await variableNames(vs!);
    for (const name of ['logits', 'batch', 'scale']) assert.ok(names.includes(name), `${name} in the Variables view: ${names.join(', ')}`);
    assert.match(await variableValue(vs!, 'logits'), /^tensor\(\[\[\[\[-1\.1258,/);
    assert.match(await variableValue(vs!, 'batch'), /^\{'labels': tensor\(/);
    await vs!.screenshot('paused-on-breakpoint');

    const items = await variableContextMenu(vs!, 'logits', 'Copy Value');
    assert.ok(items.includes('Copy as Expression'), items.join(' | '));
    // Copy Value asks the adapter for the whole value (an evaluate in the "clipboard" context) before it writes.
    let copied = '';
    for (const deadline = Date.now() + 10_000; copied === '' && Date.now() < deadline; await sleep(100)) {
      copied = await page.evaluate(() => navigator.clipboard.readText());
    }
    assert.match(copied, /^tensor\(\[\[\[\[-1\.1258, -1\.1524, -0\.2506\],/, `the whole value of logits on the clipboard, not ${JSON.stringify(copied.slice(0, 200))}`);
  });

  it('while paused: "Show or Focus Hover" gives language hovers, Ctrl+K Ctrl+I the debug hover', async function () {
    // The extension's .npy hover on the path in the source: language hovers still come while paused.
    const npy = await showEditorHover(vs!, 'train.py', SAVED_LINE, 14, { want: /shape \[2, 4, 3, 3\]/ });
    assert.match(npy, /float32/);
    await vs!.workbench.keyboard.press('Escape');
    // In a debug session Ctrl+K Ctrl+I is "Debug: Show Hover": the value of the expression under the cursor.
    const debugHover = await showEditorHover(vs!, 'train.py', BREAK_LINE, 28, { via: 'keyboard', want: /^tensor\(/ });
    assert.match(debugHover, /-1\.1258/);
    await vs!.screenshot('debug-hover');
    await vs!.workbench.keyboard.press('Escape');
  });

  it('continues, pauses on the uncaught exception raised in F.cross_entropy, and stops leaving no process behind', async function () {
    await continueDebugging(vs!);
    const stop = await waitForStop(vs!, 'exception');
    // debugpy describes the stop with the exception's message, which VS Code shows instead of "Paused on exception".
    assert.match(stop.label, /only batches of spatial targets supported \(3D tensors\) but got targets of dimension: 4/);
    assert.match(stop.text ?? '', /^RuntimeError/);
    const widget = await exceptionWidgetText(vs!);
    assert.match(widget, /Exception has occurred: RuntimeError/);
    assert.match(widget, /only batches of spatial targets supported/);
    assert.match(widget, /torch\/nn\/functional\.py/);
    await vs!.screenshot('paused-on-exception');
    // The caller's frame shows its locals, one_hot among them.
    assert.ok((await variableNames(vs!)).length > 0);

    assert.equal(debugpyProcesses(vs!).length, 3, 'adapter, launcher and debuggee while the session runs');
    await stopDebugging(vs!);
    // The launcher exits after the debuggee and the adapter (stopDebugging waits for those two): on a loaded
    // machine it was still there a moment later (CI, load 4), so it gets a few seconds, not forever.
    let left = debugpyProcesses(vs!);
    for (const deadline = Date.now() + 10_000; left.length > 0 && Date.now() < deadline; await sleep(200)) left = debugpyProcesses(vs!);
    assert.deepEqual(left, [], 'no debugpy process after the session stopped');
  });

  it('a program calling breakpoint() pauses there (DAP reason "step", "Paused on step")', async function () {
    writeLaunchConfig(ws, 'pause_here.py');
    await startDebugging(vs!);
    const stop = await waitForStop(vs!, 'step');
    assert.equal(stop.label, 'Paused on step');
    assert.deepEqual((await variableNames(vs!)).sort(), ['doubled', 'x']);
    // The filters' checkboxes (remembered by VS Code for the workspace): on and off again.
    await setExceptionFilter(vs!, 'Raised Exceptions', true);
    assert.equal((await exceptionFilters(vs!))['Raised Exceptions'], true);
    await setExceptionFilter(vs!, 'Raised Exceptions', false);
    assert.equal((await exceptionFilters(vs!))['Raised Exceptions'], false);
    await continueDebugging(vs!);
    await stopDebugging(vs!);
    assert.deepEqual(debugpyProcesses(vs!), []);
  });
});
