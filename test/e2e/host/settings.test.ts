// Each crossEntropyLens.* setting changes what the panel computes or shows, and the commands' error paths
// show one clear message, checked inside the real extension host. Expected numbers come from the CLI on the
// same files with the same flags, each checked against PyTorch (reference.py), never from the panel itself.
// Runs only in the workspace test/e2e/settings.e2e.ts makes (it holds MARKER): the suite writes files
// into the workspace and changes its settings, restoring them after each test.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CrossEntropyLensApi } from '../../../src/extension';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { assertMatchesTorch, torchReport } from '../reference';

// Both also in settings.e2e.ts (this file imports `vscode`, which only the extension host has).
const SETTINGS_SUITE = 'settings and command errors in the real extension host';
/** The file settings.e2e.ts puts at the root of the workspace it opens. */
const MARKER = 'cel-settings-e2e.json';

const ID = 'cross-entropy-lens.cross-entropy-lens';
const SECTION = 'crossEntropyLens';

type PanelInfo = ReturnType<CrossEntropyLensApi['panels']>[number];

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Deterministic values in [-3, 3) (a fixed LCG), so every run sees the same tensors. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 6 - 3;
  }
  return out;
}

function labels(n: number, classes: number, seed: number): number[] {
  return Array.from(values(n, seed), (v) => Math.min(classes - 1, Math.floor(((v + 3) / 6) * classes)));
}

/** softmax (or log_softmax) over axis 1 of [N, C, ...spatial]. */
function softmaxDim1(x: Float32Array, shape: readonly number[], log: boolean): Float32Array {
  const [N, C] = shape;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, x[(n * C + c) * S + s]);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(x[(n * C + c) * S + s] - max);
      for (let c = 0; c < C; c++) {
        const i = (n * C + c) * S + s;
        out[i] = log ? x[i] - max - Math.log(sum) : Math.exp(x[i] - max) / sum;
      }
    }
  }
  return out;
}

/** [N, C, H, W] to [N, H, W, C]. */
function channelsLast(x: Float32Array, [N, C, H, W]: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < H * W; s++) out[(n * H * W + s) * C + c] = x[(n * C + c) * H * W + s];
  return out;
}

function close(actual: number | null | undefined, want: number, what: string): void {
  assert.equal(typeof actual, 'number', `${what}: the panel shows ${String(actual)}, the CLI ${want}`);
  assert.ok(Math.abs((actual as number) - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${what}: the panel shows ${actual}, the CLI ${want}`);
}

describe(SETTINGS_SUITE, function () {
  let api: CrossEntropyLensApi;
  let dir: string;
  let cliPath: string;
  /** The repository (reference.py lives in its test/e2e). */
  let root: string;
  /** Settings changed by the running test, with their workspace values before it. */
  const changed = new Map<string, unknown>();
  /** The workspace's own values of our settings, cleared for the suite (every test starts from the defaults). */
  const found = new Map<string, unknown>();
  /** How long a rewritten file took to show in the panel with autoRecompute auto (the other modes wait longer). */
  let recomputeMs = 0;

  const file = (name: string): string => path.join(dir, name);
  const uri = (name: string): vscode.Uri => vscode.Uri.file(file(name));

  function writeNpy(name: string, dtype: 'float32' | 'int64', shape: readonly number[], data: ArrayLike<number>): void {
    // Written whole and renamed into place: a watcher never sees half a file.
    fs.writeFileSync(`${file(name)}.tmp`, encodeNpy({ dtype, shape, data }));
    fs.renameSync(`${file(name)}.tmp`, file(name));
  }

  function cli(...args: string[]): { value: number | null; lossShape: number[] } {
    const r = spawnSync(process.execPath, [cliPath, ...args, '--json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    assert.equal(r.status, 0, `CLI ${args.join(' ')}: ${r.error ? String(r.error) : r.stderr}`);
    return JSON.parse(r.stdout) as { value: number | null; lossShape: number[] };
  }
  /** The CLI's value, once PyTorch (reference.py on the same files and flags) has agreed with it. */
  const cliValue = (...args: string[]): number => {
    const v = cli(...args).value;
    assert.equal(typeof v, 'number', `CLI ${args.join(' ')} gave ${String(v)}`);
    assertMatchesTorch(v, torchReport(root, dir, args).value, `${args.join(' ')}: CLI vs PyTorch`);
    return v as number;
  };

  async function setSetting(key: string, value: unknown): Promise<void> {
    const c = vscode.workspace.getConfiguration(SECTION);
    if (!changed.has(key)) changed.set(key, c.inspect(key)?.workspaceValue);
    await c.update(key, value, vscode.ConfigurationTarget.Workspace);
    await until(`${SECTION}.${key} = ${JSON.stringify(value)}`, () => (JSON.stringify(vscode.workspace.getConfiguration(SECTION).get(key)) === JSON.stringify(value) ? true : undefined), 10_000);
  }

  async function closePanels(): Promise<void> {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until('the panels to close', () => (api.panels().length === 0 ? true : undefined), 20_000);
  }

  /** Opens a panel on two files of the test folder (the command's programmatic form) and waits for its result. */
  async function openPanel(input: string, target: string): Promise<PanelInfo> {
    await closePanels();
    await vscode.commands.executeCommand('crossEntropyLens.computeLoss', uri(input), uri(target));
    return panelResult();
  }

  async function panelResult(accept: (p: PanelInfo) => boolean = () => true, timeoutMs = 60_000): Promise<PanelInfo> {
    const p = await until('the panel to show a result', () => api.panels().find((q) => q.error !== null || (q.summary !== null && accept(q))), timeoutMs);
    assert.equal(p.error, null, `the panel shows an error: ${p.error}`);
    return p;
  }

  /** Messages the extension showed since `t0` (Date.now()). */
  const messagesSince = (t0: number): ReturnType<CrossEntropyLensApi['messages']> => api.messages().filter((m) => m.at >= t0);

  /** Exactly one error message since t0, one line, no stack trace, matching `want`. */
  function oneClearError(t0: number, want: RegExp): string {
    const shown = messagesSince(t0);
    assert.equal(shown.length, 1, `expected one message, got ${JSON.stringify(shown)}`);
    const [m] = shown;
    assert.equal(m.severity, 'error');
    assert.match(m.text, want);
    assert.match(m.text, /^Cross-Entropy Lens: /);
    assert.doesNotMatch(m.text, /[\r\n]|\bat .*:\d+:\d+|internal error/, 'one line, no stack trace');
    return m.text;
  }

  before(async function () {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder || !fs.existsSync(path.join(folder.uri.fsPath, MARKER))) {
      this.skip(); // another suite's workspace: leave it as it is
      return;
    }
    const ext = vscode.extensions.getExtension<CrossEntropyLensApi>(ID);
    assert.ok(ext, `${ID} is not installed`);
    api = await ext.activate();
    const c = vscode.workspace.getConfiguration(SECTION);
    const properties = (ext.packageJSON as { contributes: { configuration: { properties: Record<string, unknown> } } }).contributes.configuration.properties;
    for (const key of Object.keys(properties).map((k) => k.slice(SECTION.length + 1))) {
      const value = c.inspect(key)?.workspaceValue;
      if (value === undefined) continue;
      found.set(key, value);
      await c.update(key, undefined, vscode.ConfigurationTarget.Workspace);
    }
    root = process.env.CEL_ROOT ?? ext.extensionPath;
    cliPath = path.join(root, 'dist/cli.js');
    dir = fs.mkdtempSync(path.join(folder.uri.fsPath, 'host-'));

    const shape = [2, 4, 8, 8];
    const x = values(2 * 4 * 64, 1);
    writeNpy('logits.npy', 'float32', shape, x);
    writeNpy('target.npy', 'int64', [2, 8, 8], labels(2 * 64, 4, 2));
    writeNpy('probs.npy', 'float32', shape, softmaxDim1(x, shape, false));
    // Log-probabilities shifted off normalisation: read as logits they would give another loss.
    writeNpy('logprobs.npy', 'float32', shape, softmaxDim1(x, shape, true).map((v) => v - 0.25));
    writeNpy('last.npy', 'float32', [2, 8, 8, 4], channelsLast(x, shape));
    // Enough pixels for several jobs, so that two workers both get work.
    writeNpy('big.npy', 'float32', [2, 4, 32, 32], values(2 * 4 * 1024, 3));
    writeNpy('bigtarget.npy', 'int64', [2, 32, 32], labels(2 * 1024, 4, 4));
  });

  afterEach(async function () {
    for (const [key, value] of changed) await vscode.workspace.getConfiguration(SECTION).update(key, value, vscode.ConfigurationTarget.Workspace);
    changed.clear();
    if (api) await closePanels();
  });

  after(async function () {
    for (const [key, value] of found) await vscode.workspace.getConfiguration(SECTION).update(key, value, vscode.ConfigurationTarget.Workspace);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reduction: mean, sum and none each change the panel value as the CLI computes it', async function () {
    const mean = cliValue('logits.npy', 'target.npy');
    const sum = cliValue('logits.npy', 'target.npy', '--reduction', 'sum');
    assert.ok(Math.abs(sum - mean) > 1, 'sum and mean differ on this data');
    close((await openPanel('logits.npy', 'target.npy')).summary!.value, mean, 'default (mean)');
    await setSetting('reduction', 'sum');
    close((await openPanel('logits.npy', 'target.npy')).summary!.value, sum, 'reduction sum');
    await setSetting('reduction', 'none');
    const none = cli('logits.npy', 'target.npy', '--reduction', 'none');
    const p = await openPanel('logits.npy', 'target.npy');
    assert.equal(none.value, null);
    assert.equal(p.summary!.value, null, 'reduction none has no single value');
    assert.equal(p.summary!.options.reduction, 'none');
    assert.deepEqual(p.summary!.lossShape, none.lossShape);
    assert.deepEqual(none.lossShape, torchReport(root, dir, ['logits.npy', 'target.npy', '--reduction', 'none']).lossShape, 'CLI vs PyTorch');
  });

  it('labelSmoothing changes the value as the CLI computes it', async function () {
    const plain = cliValue('logits.npy', 'target.npy');
    const smoothed = cliValue('logits.npy', 'target.npy', '--label-smoothing', '0.2');
    assert.ok(Math.abs(smoothed - plain) > 1e-3, 'label smoothing changes the loss on this data');
    await setSetting('labelSmoothing', 0.2);
    close((await openPanel('logits.npy', 'target.npy')).summary!.value, smoothed, 'labelSmoothing 0.2');
  });

  it('inputKind: probs and log-probs files read as such', async function () {
    const probs = cliValue('probs.npy', 'target.npy', '--input-kind', 'probs');
    const logprobs = cliValue('logprobs.npy', 'target.npy', '--input-kind', 'log-probs');
    // Read as logits the same files give other numbers, so an ignored setting fails below.
    assert.ok(Math.abs(cliValue('probs.npy', 'target.npy') - probs) > 1e-3);
    assert.ok(Math.abs(cliValue('logprobs.npy', 'target.npy') - logprobs) > 1e-3);
    await setSetting('inputKind', 'probs');
    close((await openPanel('probs.npy', 'target.npy')).summary!.value, probs, 'inputKind probs');
    await setSetting('inputKind', 'log-probs');
    close((await openPanel('logprobs.npy', 'target.npy')).summary!.value, logprobs, 'inputKind log-probs');
  });

  it('classDim -1 reads a channels-last file', async function () {
    const want = cliValue('last.npy', 'target.npy', '--class-dim', '-1');
    // The same numbers as the channels-first file: the class axis really moved.
    close(want, cliValue('logits.npy', 'target.npy'), 'CLI channels-last vs channels-first');
    await setSetting('classDim', -1);
    close((await openPanel('last.npy', 'target.npy')).summary!.value, want, 'classDim -1');
  });

  it('colormap is the colormap the panel starts with', async function () {
    assert.equal((await openPanel('logits.npy', 'target.npy')).colormap, 'viridis');
    for (const name of ['magma', 'gray']) {
      await setSetting('colormap', name);
      assert.equal((await openPanel('logits.npy', 'target.npy')).colormap, name);
    }
  });

  it('classNames name the classes of the summary', async function () {
    assert.deepEqual((await openPanel('logits.npy', 'target.npy')).summary!.classNames, []);
    const names = ['sky', 'road', 'car', 'tree'];
    await setSetting('classNames', names);
    const p = await openPanel('logits.npy', 'target.npy');
    assert.deepEqual(p.summary!.classNames, names);
    assert.equal(p.summary!.perClass.length, names.length);
  });

  it('maxWorkers 1 and 2: the engine line says how many workers ran, the value stays the CLI value', async function () {
    const want = cliValue('big.npy', 'bigtarget.npy');
    for (const [n, line] of [[1, /\b1 worker\b/], [2, /\b2 workers\b/]] as const) {
      await setSetting('maxWorkers', n);
      const p = await openPanel('big.npy', 'bigtarget.npy');
      assert.match(p.summary!.engine, line, `maxWorkers ${n}`);
      close(p.summary!.value, want, `maxWorkers ${n}`);
    }
  });

  /**
   * Rewrites the watched input with other values and returns the CLI value of the new file, checked against
   * PyTorch unless `timed`: PyTorch's start-up (seconds here) would block this extension host inside a timed
   * wait, so the caller checks after it.
   */
  function rewriteInput(seed: number, timed = false): number {
    writeNpy('watched.npy', 'float32', [2, 4, 8, 8], values(2 * 4 * 64, seed));
    return timed ? (cli('watched.npy', 'target.npy').value as number) : cliValue('watched.npy', 'target.npy');
  }

  it('autoRecompute auto: rewriting the input recomputes the panel', async function () {
    const first = rewriteInput(10);
    close((await openPanel('watched.npy', 'target.npy')).summary!.value, first, 'before the rewrite');
    const t0 = Date.now();
    const second = rewriteInput(11, true);
    assert.ok(Math.abs(second - first) > 1e-3);
    await panelResult((p) => Math.abs((p.summary!.value ?? NaN) - second) <= 1e-6 * Math.max(1, second), 30_000);
    recomputeMs = Date.now() - t0;
    assertMatchesTorch(second, torchReport(root, dir, ['watched.npy', 'target.npy']).value, 'watched.npy after the rewrite: CLI vs PyTorch');
  });

  it('autoRecompute off: rewriting the input leaves the panel as it was', async function () {
    await setSetting('autoRecompute', 'off');
    const first = rewriteInput(20);
    close((await openPanel('watched.npy', 'target.npy')).summary!.value, first, 'before the rewrite');
    const t0 = Date.now();
    rewriteInput(21, true);
    // Well past the time the auto mode took to show a rewrite.
    await new Promise((r) => setTimeout(r, Math.max(3000, 3 * recomputeMs)));
    close(api.panels()[0].summary!.value, first, 'after the rewrite');
    assert.deepEqual(messagesSince(t0), [], 'no notification either');
  });

  it('autoRecompute ask: a rewrite asks with a Recompute button and does not recompute on its own', async function () {
    await setSetting('autoRecompute', 'ask');
    const first = rewriteInput(30);
    close((await openPanel('watched.npy', 'target.npy')).summary!.value, first, 'before the rewrite');
    const t0 = Date.now();
    rewriteInput(31, true);
    const asked = await until('the question', () => messagesSince(t0).find((m) => /watched\.npy changed/.test(m.text)), 30_000);
    assert.equal(asked.severity, 'info');
    assert.deepEqual(asked.items, ['Recompute']);
    await new Promise((r) => setTimeout(r, Math.max(1000, recomputeMs)));
    close(api.panels()[0].summary!.value, first, 'unanswered');
  });

  it('Compute Loss for selected files with 1 file: one clear message, then 2 files work', async function () {
    await closePanels();
    const t0 = Date.now();
    await vscode.commands.executeCommand('crossEntropyLens.computeLossForSelectedFiles', uri('logits.npy'), [uri('logits.npy')]);
    oneClearError(t0, /select 2 or 3 tensor files.*\b1\b/);
    assert.equal(api.panels().length, 0, 'no panel');
    await vscode.commands.executeCommand('crossEntropyLens.computeLossForSelectedFiles', uri('logits.npy'), [uri('logits.npy'), uri('target.npy')]);
    close((await panelResult()).summary!.value, cliValue('logits.npy', 'target.npy'), 'then with 2 files');
  });

  it('Compute Loss for selected files with 4 files: one clear message, then 2 files work', async function () {
    await closePanels();
    const four = ['logits.npy', 'target.npy', 'probs.npy', 'last.npy'].map(uri);
    const t0 = Date.now();
    await vscode.commands.executeCommand('crossEntropyLens.computeLossForSelectedFiles', four[0], four);
    oneClearError(t0, /select 2 or 3 tensor files.*\b4\b/);
    assert.equal(api.panels().length, 0, 'no panel');
    await vscode.commands.executeCommand('crossEntropyLens.computeLossForSelectedFiles', four[0], four.slice(0, 2));
    close((await panelResult()).summary!.value, cliValue('logits.npy', 'target.npy'), 'then with 2 files');
  });

  it('Compute Loss from Selection with no editor open: one clear message', async function () {
    await closePanels();
    await until('no active editor', () => (vscode.window.activeTextEditor === undefined ? true : undefined), 10_000);
    const t0 = Date.now();
    await vscode.commands.executeCommand('crossEntropyLens.computeLossFromSelection');
    oneClearError(t0, /open an editor/);
    assert.equal(api.panels().length, 0, 'no panel');
  });

  it('Compute Loss from Selection on text without a tensor: one clear message, then a tensor selection works', async function () {
    fs.writeFileSync(file('notes.txt'), 'These notes hold words only, and no tensor at all.\n');
    const editor = await vscode.window.showTextDocument(uri('notes.txt'));
    editor.selection = new vscode.Selection(0, 0, 0, 30);
    const t0 = Date.now();
    await vscode.commands.executeCommand('crossEntropyLens.computeLossFromSelection');
    oneClearError(t0, /holds no tensor/);
    assert.equal(api.panels().length, 0, 'no panel');

    const logits = [[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.5, -0.5, 0.25]];
    const target = [0, 2, 1];
    fs.writeFileSync(file('sel-logits.json'), JSON.stringify(logits));
    fs.writeFileSync(file('sel-target.json'), JSON.stringify(target));
    fs.writeFileSync(file('tensors.txt'), `logits = ${JSON.stringify(logits)}\ntarget = ${JSON.stringify(target)}\n`);
    const doc = await vscode.window.showTextDocument(uri('tensors.txt'));
    doc.selection = new vscode.Selection(0, 0, 2, 0);
    await vscode.commands.executeCommand('crossEntropyLens.computeLossFromSelection');
    close((await panelResult()).summary!.value, cliValue('sel-logits.json', 'sel-target.json'), 'then a selection with a tensor');
  });
});
