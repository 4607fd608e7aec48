// Real VS Code for end-to-end tests: code-server (the real VS Code server, Node extension host and
// workbench) on a free loopback port, driven from Debian's Chromium with playwright-core.
// Every process started here is stopped by close(), and by an exit hook if a test run dies.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { assertMatchesTorch, torchReport } from './reference';

export const ROOT = path.resolve(__dirname, '../..');
export const CACHE = process.env.CEL_E2E_CACHE ?? path.join(ROOT, '.cache/e2e');
export const RESULTS_DIR = path.join(ROOT, 'test-results');
const CODE_SERVER = path.join(CACHE, 'node_modules/code-server/out/node/entry.js');
const CHROMIUM = process.env.CEL_CHROMIUM ?? '/usr/bin/chromium';
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
export const EXTENSION_ID = `${PKG.publisher}.${PKG.name}`;
/** Where the host-side mocha bundle and its runner extension are built (scripts/build-e2e.mjs). */
export const HOST_RUNNER_BUILD = path.join(ROOT, 'out/e2e-host');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) killGroup(p, 'SIGKILL');
});

function killGroup(p: ChildProcess, signal: NodeJS.Signals): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, signal); // detached: the child leads its own process group
  } catch {
    try {
      p.kill(signal);
    } catch {
      // already gone
    }
  }
}

export function checkPrerequisites(): string | null {
  if (!fs.existsSync(CODE_SERVER)) return `code-server is not provisioned in ${CACHE}: run bash scripts/provision.sh`;
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing: apt-get install -y chromium (scripts/provision.sh does this as root)`;
  if (!fs.existsSync(path.join(ROOT, 'dist/extension.js'))) return 'dist/ is missing: run npm run build';
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Copies what a .vsix would hold into `extensionsDir/publisher.name-version` (a development install). */
export function stageExtension(extensionsDir: string): string {
  const dest = path.join(extensionsDir, `${EXTENSION_ID}-${PKG.version}`);
  fs.mkdirSync(dest, { recursive: true });
  for (const entry of ['package.json', 'dist', 'media', 'python', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    const src = path.join(ROOT, entry);
    if (fs.existsSync(src)) fs.cpSync(src, path.join(dest, entry), { recursive: true, filter: (s) => !s.endsWith('.ts') });
  }
  return dest;
}

function stageHostRunner(extensionsDir: string): void {
  if (!fs.existsSync(path.join(HOST_RUNNER_BUILD, 'tests.js'))) {
    throw new Error(`${HOST_RUNNER_BUILD}/tests.js missing: run node scripts/build-e2e.mjs (npm run test:e2e does)`);
  }
  const dest = path.join(extensionsDir, 'cross-entropy-lens-tests.host-runner-0.0.1');
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'test/e2e/host-runner/package.json'), path.join(dest, 'package.json'));
  for (const f of ['runner.js', 'tests.js']) fs.copyFileSync(path.join(HOST_RUNNER_BUILD, f), path.join(dest, f));
}

/** Copies a test-only extension folder into `extensionsDir/publisher.name-version`. */
function stageExtraExtension(folder: string, extensionsDir: string): void {
  const manifest = path.join(folder, 'package.json');
  if (!fs.existsSync(manifest)) throw new Error(`${folder} is not an extension folder: no package.json`);
  const { publisher, name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { publisher: string; name: string; version: string };
  if (`${publisher}.${name}` === EXTENSION_ID) throw new Error(`${folder} has the product's id ${EXTENSION_ID}`);
  fs.cpSync(folder, path.join(extensionsDir, `${publisher}.${name}-${version}`), { recursive: true });
}

/**
 * A copy of examples/ in a fresh temporary folder, with `crossEntropyLens.ignoreIndex` 255 as the copy's
 * workspace setting: the suites that use it test views of the segmentation sample, whose border is void (255).
 * examples/ itself has no settings (the first minute is tested on it with the defaults, in examples.e2e.ts).
 */
export function copySamples(prefix: string): string {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.cpSync(path.join(ROOT, 'examples'), ws, { recursive: true });
  fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(ws, '.vscode/settings.json'), JSON.stringify({ 'crossEntropyLens.ignoreIndex': 255 }, null, 2));
  return ws;
}

export function writeUserSettings(userDataDir: string, extra: Record<string, unknown> = {}): void {
  const user = path.join(userDataDir, 'User');
  fs.mkdirSync(user, { recursive: true });
  const settings = {
    // The welcome walkthrough is a webview that steals focus right after the palette closes.
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'security.workspace.trust.enabled': false,
    'window.restoreWindows': 'none',
    'git.openRepositoryInParentFolders': 'never',
    ...extra,
  };
  fs.writeFileSync(path.join(user, 'settings.json'), JSON.stringify(settings, null, 2));
}

export type ExtensionSource = { readonly kind: 'dev' } | { readonly kind: 'vsix'; readonly file: string } | { readonly kind: 'none' };

export interface HostTestResult {
  readonly title: string;
  readonly state: 'passed' | 'failed';
  readonly error?: string;
}

export interface LaunchOptions {
  /** Names the logs and screenshots of this instance. */
  readonly name: string;
  readonly workspace: string;
  readonly extension: ExtensionSource;
  /** Load the host-side mocha runner extension (results via hostResults()). */
  readonly hostTests?: boolean;
  readonly settings?: Record<string, unknown>;
  /** Open Chromium on the workbench (default true). */
  readonly browser?: boolean;
  /**
   * Folders of test-only extensions (each with a package.json), staged into the extensions folder before
   * launch as `publisher.name-version`, e.g. test/e2e/debugpy-ext (DEBUGPY_EXTENSION in debug/debugHarness.ts).
   */
  readonly extraExtensions?: readonly string[];
}

export class VsCode {
  private browser: Browser | null = null;
  page: Page | null = null;
  private constructor(
    readonly name: string,
    readonly url: string,
    readonly dir: string,
    readonly logFile: string,
    private readonly server: ChildProcess,
    private readonly resultsFile: string,
  ) {}

  static async launch(o: LaunchOptions): Promise<VsCode> {
    const missing = checkPrerequisites();
    if (missing) throw new Error(missing);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cel-e2e-${o.name}-`));
    const extensionsDir = path.join(dir, 'extensions');
    const userDataDir = path.join(dir, 'user-data');
    fs.mkdirSync(extensionsDir, { recursive: true });
    writeUserSettings(userDataDir, o.settings);
    // Staged folders first: an install writes extensions.json, and VS Code then loads only what it lists
    // plus what it finds on its first scan.
    if (o.hostTests) stageHostRunner(extensionsDir);
    for (const folder of o.extraExtensions ?? []) stageExtraExtension(folder, extensionsDir);
    if (o.extension.kind === 'dev') stageExtension(extensionsDir);
    if (o.extension.kind === 'vsix') installVsix(o.extension.file, extensionsDir, userDataDir, dir);
    const port = await freePort();
    fs.mkdirSync(path.join(RESULTS_DIR, 'logs'), { recursive: true });
    const logFile = path.join(RESULTS_DIR, 'logs', `${o.name}.log`);
    const log = fs.openSync(logFile, 'w');
    const resultsFile = path.join(dir, 'host-results.json');
    const server = spawn(
      process.execPath,
      [
        CODE_SERVER, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--config', path.join(dir, 'config.yaml'),
        '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--disable-telemetry', '--disable-update-check',
        '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened', o.workspace,
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, CEL_HOST_RESULTS: resultsFile, CEL_ROOT: ROOT, CEL_E2E: '1' },
      },
    );
    live.add(server);
    server.once('exit', () => live.delete(server));
    fs.closeSync(log);
    const vs = new VsCode(o.name, `http://127.0.0.1:${port}/`, dir, logFile, server, resultsFile);
    try {
      await vs.waitForServer();
      if (o.browser !== false) await vs.openBrowser();
    } catch (e) {
      await vs.close();
      throw e;
    }
    return vs;
  }

  private async waitForServer(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.server.exitCode !== null) throw new Error(`code-server exited (${this.server.exitCode}); see ${this.logFile}`);
      if (/HTTP server listening/.test(fs.readFileSync(this.logFile, 'utf8'))) return;
      await sleep(100);
    }
    throw new Error(`code-server did not start within 60 s; see ${this.logFile}`);
  }

  private async openBrowser(): Promise<void> {
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const context = await this.browser.newContext({ viewport: { width: 1400, height: 900 } });
    this.page = await context.newPage();
    await this.page.goto(this.url);
    await this.page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  }

  get workbench(): Page {
    if (!this.page) throw new Error('this instance was launched without a browser');
    return this.page;
  }

  /**
   * Runs a command by its palette title, the way a person does. Right after start-up the extension host
   * may not have registered contributions yet ("No matching commands"), so the query is retyped until the
   * command shows up.
   */
  async runCommand(title: string, o: { readonly timeoutMs?: number; readonly fromEditor?: boolean } = {}): Promise<void> {
    const page = this.workbench;
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    // Focus the workbench itself first: keys pressed while a webview has focus go to the webview. Not when
    // the command is run from the focused editor: commands shown only for an editor selection need its focus.
    if (!o.fromEditor) await page.locator('.part.sidebar .composite.title').first().click();
    for (;;) {
      if (!(await input.isVisible())) await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`>${title}`);
      try {
        await row.waitFor({ state: 'visible', timeout: 2000 });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await input.fill('>');
      }
    }
    await input.press('Enter');
  }

  async screenshot(label: string): Promise<string> {
    fs.mkdirSync(path.join(RESULTS_DIR, 'screenshots'), { recursive: true });
    const file = path.join(RESULTS_DIR, 'screenshots', `${this.name}-${label}.png`);
    await this.workbench.screenshot({ path: file });
    return file;
  }

  /** Waits for the host-side mocha run (the runner extension writes its results when done). */
  async hostResults(timeoutMs = 120_000): Promise<HostTestResult[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (fs.existsSync(this.resultsFile)) return (JSON.parse(fs.readFileSync(this.resultsFile, 'utf8')) as { tests: HostTestResult[] }).tests;
      if (this.server.exitCode !== null) break;
      await sleep(200);
    }
    throw new Error(`no host test results within ${timeoutMs} ms; see ${this.logFile} and the extension host log under ${this.dir}/user-data/logs`);
  }

  async close(): Promise<void> {
    try {
      await this.browser?.close();
    } catch {
      // the browser may already be gone
    }
    this.browser = null;
    if (this.server.exitCode === null && this.server.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.server.once('exit', () => resolve()));
      killGroup(this.server, 'SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      killGroup(this.server, 'SIGKILL');
    }
    live.delete(this.server);
    // Keep VS Code's own logs (extension host, our output channel) with the test artifacts.
    try {
      fs.cpSync(path.join(this.dir, 'user-data', 'logs'), path.join(RESULTS_DIR, 'logs', this.name), { recursive: true });
    } catch {
      // no logs written
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function installVsix(file: string, extensionsDir: string, userDataDir: string, dir: string): void {
  const r = spawnSync(
    process.execPath,
    [CODE_SERVER, '--config', path.join(dir, 'config.yaml'), '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', file],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`code-server --install-extension ${file} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/**
 * The hooks of a suite that runs one VS Code: a screenshot of each failed test, then closing the instance
 * and removing its temporary workspace. `current` reads the suite's variables, set in its before hook.
 */
export function cleanUpAfterSuite(current: () => { readonly vs: VsCode | undefined; readonly workspace?: string }): void {
  afterEach(async function () {
    const { vs } = current();
    if (this.currentTest?.state === 'failed' && vs?.page) await vs.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async function () {
    const { vs, workspace } = current();
    await vs?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -----------------------------------------------------------------------------------------------------
// What several suites ask of the workbench and of the CLI.

/** The CLI's --json report on files (paths relative to `cwd`). */
export function cliJson<T = { value: number }>(cwd: string, ...args: string[]): T {
  // --json lists every class: 32,000 of them are several MB, over spawnSync's default 1 MB buffer.
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args, '--json'], { cwd, encoding: 'utf8', maxBuffer: 512 << 20 });
  assert.equal(r.status, 0, r.error ? String(r.error) : r.stderr);
  return JSON.parse(r.stdout) as T;
}

/**
 * The reduced loss on files (paths relative to `cwd`) as the CLI computes it, once PyTorch (reference.py,
 * float64, same arguments) has agreed with it. The CLI's number is the one returned: the view shows the same
 * engine's value, so its 6-digit string must match the CLI's exactly, and the CLI is held to PyTorch here.
 */
export function cliValue(cwd: string, ...args: string[]): number {
  const value = cliJson(cwd, ...args).value;
  assertMatchesTorch(value, torchReport(ROOT, cwd, args).value, `${args.join(' ')}: CLI vs PyTorch`);
  return value;
}

/** Waits until the frame's loss value (data-testid loss-value) reads `want`; returns what it read last. */
export async function lossShown(frame: Frame, want: string, timeoutMs = 60_000): Promise<string> {
  const el = frame.locator('[data-testid="loss-value"]').first();
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = (await el.innerText().catch(() => '')).trim();
    if (seen === want) break;
    await sleep(200);
  }
  return seen;
}

/** How to tell an evaluation view's frame and read its progress (the dataset view, the runs view). */
export interface EvaluationViewMarks {
  /** A selector only that view's page has. */
  readonly marker: string;
  /** The element whose data-state is running / done / error / cancelled, and the one with its message. */
  readonly progress: string;
  readonly stateText: string;
  readonly name: string;
}

export const DATASET_VIEW: EvaluationViewMarks = { marker: '[data-testid="dataset-summary"]', progress: '.ds-progress', stateText: '.ds-state', name: 'dataset view' };
export const RUNS_VIEW: EvaluationViewMarks = { marker: '[data-testid="runs-curves"]', progress: '.rv-progress', stateText: '.rv-state', name: 'runs view' };

/** Marks a view's page so that evaluationFrame(..., { reloaded: true }) passes it over. */
export async function markBeforeReload(frame: Frame): Promise<void> {
  await frame.evaluate('window.celBeforeReload = true');
}

/**
 * The frame of an evaluation view once its evaluation is done (one that failed throws its message); with
 * `reloaded`, only a page loaded after markBeforeReload.
 */
export async function evaluationFrame(page: Page, view: EvaluationViewMarks, o: { timeoutMs?: number; reloaded?: boolean } = {}): Promise<Frame> {
  const deadline = Date.now() + (o.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator(view.marker).count()) === 0) continue;
        if (o.reloaded && (await f.evaluate('window.celBeforeReload === true')) === true) continue;
        const state = (await f.locator(view.progress).first().getAttribute('data-state')) ?? '';
        if (state === 'done') return f;
        if (state === 'error') throw new Error(`the evaluation failed: ${await f.locator(view.stateText).first().innerText()}`);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('the evaluation failed')) throw e;
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error(`no ${view.name} finished within the time${o.reloaded ? ' after the reload' : ''}`);
}

/** The frame of the dataset view once its run is done (an evaluation that failed throws its message). */
export function datasetFrame(page: Page, timeoutMs = 90_000): Promise<Frame> {
  return evaluationFrame(page, DATASET_VIEW, { timeoutMs });
}

/**
 * Explorer → the folder's context menu → Evaluate Folder… (or `command`, another folder command). Right after start-up (or a reload) the extension's
 * menu contributions may not be registered yet: the menu is reopened until they are.
 */
export async function evaluateFromExplorer(page: Page, folder: string, command = 'Evaluate Folder…'): Promise<void> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: folder }).first();
  const menuItem = page.locator('.monaco-menu .action-label', { hasText: command }).first();
  await row.waitFor({ timeout: 30_000 });
  for (const deadline = Date.now() + 60_000; ;) {
    await row.click({ button: 'right' });
    try {
      await menuItem.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await page.keyboard.press('Escape');
    }
  }
  await menuItem.hover();
  await page.keyboard.press('Enter');
}

/** A loss as the view shows it: 6 significant digits. */
export const fmt6 = (v: number): string => Number(v.toPrecision(6)).toString();

/**
 * In the Quick Pick whose title matches `title` (each stage of a command has its own), types `filter` until
 * the first row matches `want`; returns that row's text. Rows below the widget's fold are not in the DOM
 * (the sample workspace lists dozens of tensors), and a stage opens a moment after the previous one was
 * accepted: until then the previous list still shows, and is never typed into. A null `title`: any Quick Pick
 * (one without a title, such as Welcome: Open Walkthrough…'s).
 */
export async function filterPick(page: Page, title: RegExp | null, filter: string, want: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const titleEl = page.locator('.quick-input-widget .quick-input-title');
  const first = page.locator('.quick-input-widget .monaco-list-row').first();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await input.isVisible()) && (title === null || title.test(await titleEl.innerText({ timeout: 1000 })))) {
        if ((await input.inputValue()) !== filter) await input.fill(filter, { timeout: 1000 });
        const text = (await first.innerText({ timeout: 1000 })).replace(/\s+/g, ' ');
        if (typeof want === 'string' ? text.includes(want) : want.test(text)) return text;
      }
    } catch {
      // the widget changed under us: look again
    }
    if (Date.now() > deadline) {
      const rows = await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts().catch(() => []);
      const shown = rows.slice(0, 4).map((r) => r.replace(/\s+/g, ' ')).join(' | ');
      throw new Error(`no Quick Pick ${title ?? "(any)"} listing ${want} first for "${filter}" within ${timeoutMs} ms (rows: ${shown || 'none'})`);
    }
    await sleep(200);
  }
}

/**
 * The notebook output frame that shows at least `count` outputs of ours, one of them holding `text` (outputs
 * are not in cell order in the page; they are told apart by what they show). On failure it says which
 * outputs there were, errors included.
 */
export async function outputFrame(page: Page, count: number, text: string, timeoutMs = 90_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('.cel-output').count()) >= count && (await f.locator('.cel-output', { hasText: text }).count()) > 0) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(250);
  }
  const shown: string[] = [];
  for (const f of page.frames()) shown.push(...(await f.locator('.cel-output').allInnerTexts().catch(() => [])));
  const tabs = await page.locator('.tabs-container .tab').evaluateAll((els) => els.map((e) => `${e.textContent?.trim()}${e.classList.contains('active') ? ' (active)' : ''}`)).catch(() => []);
  throw new Error(`no notebook frame with ${count} Cross-Entropy Lens outputs, one showing ${text} (tabs: ${tabs.join(', ') || 'none'}; outputs: ${shown.map((o) => o.replace(/\s+/g, ' ').slice(0, 300)).join(' | ') || 'none'})`);
}

/** The loss value of the notebook output holding `hasText`, once it shows a number (or what it shows after 60 s). */
export async function outputLossText(frame: Frame, hasText: string): Promise<string> {
  const el = frame.locator('.cel-output', { hasText }).locator('[data-testid="loss-value"]');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const t = (await el.innerText().catch(() => '')).trim();
    if (/\d/.test(t) || Date.now() > deadline) return t;
    await sleep(200);
  }
}

/** Opens a workspace file by name with Quick Open (Ctrl+P), as a person does. */
export async function openFile(page: Page, name: string): Promise<void> {
  const base = name.split('/').pop() ?? name;
  // Quick Open's list follows the typed name a moment later: Enter on a row still first from before opened
  // another file (a notebook test once waited 90 s on the previous notebook). Enter only once the first row
  // is the file, and check that its editor became the active one; once more if not.
  for (let attempt = 1; ; attempt++) {
    await page.locator('.part.sidebar .composite.title').first().click();
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(name);
    await page.locator('.quick-input-widget .monaco-list-row').first().filter({ hasText: name }).waitFor({ timeout: 30_000 });
    await input.press('Enter');
    try {
      await page.locator('.tabs-container .tab.active', { hasText: base }).first().waitFor({ timeout: 15_000 });
      return;
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }
}

/**
 * Waits until a loss panel (a webview frame that is not a notebook's output frame) shows `want` as its
 * loss value; returns the value last seen there, so a mismatch reads well in the assertion.
 */
export async function panelShowing(page: Page, want: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('.cel-output').count()) > 0) continue;
        const el = f.locator('[data-testid="loss-value"]');
        if ((await el.count()) === 0) continue;
        seen = (await el.first().innerText()).trim();
        if (seen === want) return seen;
      } catch {
        // frame navigated away
      }
    }
    await sleep(250);
  }
  return seen;
}

/** The loss panel's frame (a webview frame that is not a notebook's output frame) once it shows a number. */
export async function panelWithValue(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('.cel-output').count()) > 0) continue;
        const el = f.locator('[data-testid="loss-value"]');
        if ((await el.count()) > 0 && /\d/.test(await el.first().innerText())) return f;
      } catch {
        // frame navigated away
      }
    }
    await sleep(250);
  }
  throw new Error('no loss panel with a value');
}
