// Real Python debug sessions in the e2e workbench: the test-only extension in test/e2e/debugpy-ext contributes
// the `debugpy` debug type (Debian's python3-debugpy adapter on stdio), and these helpers drive a session the
// way a person does: F9 in the gutter's line, F5, the floating toolbar, the Run and Debug view.
//
// Sequencing rests on what the adapter said, not on the look of the workbench: the test extension writes
// the DAP events a test waits on (stopped, continued, process, exited, terminated) to dap.jsonl in its log
// folder, so waitForStop() takes the next stop after the last one it returned, however quickly the program
// runs from one pause to the next (the Call Stack header may show "Paused on breakpoint" before and after).
// The workbench is then asked to show it too: "Paused on <reason>" in the Call Stack header, or debugpy's
// description where it gives one (at an exception: the exception's message, not "Paused on exception").
//
// Breakpoints: setBreakpoint() (F9 on the line) gives stops of reason "breakpoint" ("Paused on
// breakpoint"); a program's own breakpoint() call works too with debugpy 1.6, as a stop of reason "step"
// ("Paused on step"). Exceptions: with VS Code's defaults for debugpy's filters (Uncaught Exceptions on,
// Raised and User Uncaught off; see exceptionFilters()), an uncaught exception stops with reason
// "exception"; the top frame of one raised in torch is deemphasized, so VS Code selects the caller's frame.
//
// Launch with `extraExtensions: [DEBUGPY_EXTENSION]` (and extension: { kind: 'dev' } for the product).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { ROOT, VsCode, openFile, sleep } from '../harness';

/** The test-only extension contributing the `debugpy` debug type; pass it in LaunchOptions.extraExtensions. */
export const DEBUGPY_EXTENSION = path.join(ROOT, 'test/e2e/debugpy-ext');
const DEBUGPY_EXTENSION_ID = 'cross-entropy-lens-tests.debugpy';

/** A stop reason of DAP's stopped event, as VS Code's Call Stack header shows it ("Paused on <reason>"). */
export type StopReason = 'breakpoint' | 'exception' | 'step' | 'entry' | 'pause' | 'goto' | 'function breakpoint' | 'data breakpoint';

export interface DapLogEntry {
  readonly t: number;
  readonly kind: 'activated' | 'session' | 'event' | 'failed' | 'error' | 'adapter-exit';
  readonly session?: string;
  readonly event?: string;
  readonly command?: string;
  readonly message?: string;
  // The event's body as the adapter sent it.
  readonly body?: Record<string, unknown>;
  readonly code?: number;
  readonly signal?: string;
}

export interface Stop {
  /** DAP's reason: "breakpoint" (F9), "step" (breakpoint() in the program), "exception", … */
  readonly reason: string;
  /**
   * debugpy's description, which VS Code's Call Stack header shows instead of "Paused on <reason>": at an
   * exception stop, the exception's message; absent at breakpoints and steps.
   */
  readonly description?: string;
  /** At an exception stop, debugpy's text: the exception type (with a note on where the stop is). */
  readonly text?: string;
  readonly threadId?: number;
  /** What the Call Stack header showed: "Paused on breakpoint", or the exception's message. */
  readonly label: string;
  /** From the adapter's stopped event to the header showing it. */
  readonly ms: number;
}

/** Per instance: the session startDebugging() started, its debuggee, and how many of its stops were taken. */
interface DebugState {
  session?: string;
  debuggeePid?: number;
  stopsSeen: number;
}
const states = new WeakMap<VsCode, DebugState>();
function state(vs: VsCode): DebugState {
  let s = states.get(vs);
  if (!s) {
    s = { stopsSeen: 0 };
    states.set(vs, s);
  }
  return s;
}

/**
 * Writes `.vscode/launch.json` with one debugpy launch configuration, "Debug test program" (what F5 starts).
 * `program` is absolute or relative to the workspace.
 */
export function writeLaunchConfig(ws: string, program: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(ws, '.vscode/launch.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const configuration = {
    type: 'debugpy',
    request: 'launch',
    name: 'Debug test program',
    program: path.resolve(ws, program),
    justMyCode: false,
    console: 'internalConsole',
    ...extra,
  };
  fs.writeFileSync(file, JSON.stringify({ version: '0.2.0', configurations: [configuration] }, null, 2));
  return file;
}

/** The DAP log the test extension writes (empty until it has activated). */
export function dapLog(vs: VsCode): DapLogEntry[] {
  const file = dapLogFile(vs);
  if (!file) return [];
  const entries: DapLogEntry[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as DapLogEntry);
    } catch {
      // a line being written as we read: the next read has it whole
      break;
    }
  }
  return entries;
}

function dapLogFile(vs: VsCode): string | null {
  const logs = path.join(vs.dir, 'user-data', 'logs');
  if (!fs.existsSync(logs)) return null;
  for (const stamp of fs.readdirSync(logs)) {
    const dir = path.join(logs, stamp);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const host of fs.readdirSync(dir).filter((d) => d.startsWith('exthost'))) {
      const file = path.join(dir, host, DEBUGPY_EXTENSION_ID, 'dap.jsonl');
      if (fs.existsSync(file)) return file;
    }
  }
  return null;
}

/** The events `event` of session `session` in the log. */
const events = (log: readonly DapLogEntry[], session: string | undefined, event: string): DapLogEntry[] =>
  log.filter((e) => e.kind === 'event' && e.event === event && e.session === session);
const sessionIds = (log: readonly DapLogEntry[]): string[] => log.filter((e) => e.kind === 'session').map((e) => e.session ?? '');
const ended = (log: readonly DapLogEntry[], session: string | undefined): boolean =>
  log.some((e) => e.session === session && (e.kind === 'adapter-exit' || (e.kind === 'event' && e.event === 'terminated')));

function failures(log: readonly DapLogEntry[], session: string | undefined): string {
  return log
    .filter((e) => e.session === session && (e.kind === 'failed' || e.kind === 'error'))
    .map((e) => `${e.command ?? e.kind}: ${e.message ?? ''} ${e.body ? JSON.stringify(e.body) : ''}`)
    .join('\n');
}

/** Focus on the workbench itself (keys pressed while a webview has focus go to the webview). */
async function focusWorkbench(page: Page): Promise<void> {
  await page.locator('.part.sidebar .composite.title').first().click();
}

/** Opens the Run and Debug view (Ctrl+Shift+D) unless its Call Stack section is already on screen. */
export async function showRunAndDebug(vs: VsCode): Promise<void> {
  const page = vs.workbench;
  const callStack = page.locator('.pane-header[aria-label="Call Stack Section"]');
  if (await callStack.isVisible()) return;
  await focusWorkbench(page);
  await page.keyboard.press('Control+Shift+D');
  await callStack.waitFor({ state: 'visible', timeout: 10_000 });
}

/** Expands a section of the Run and Debug view ("Variables", "Call Stack", "Breakpoints") if collapsed. */
async function expandSection(page: Page, section: string): Promise<void> {
  const header = page.locator(`.pane-header[aria-label="${section} Section"]`);
  await header.waitFor({ state: 'visible', timeout: 10_000 });
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
}

/** Puts the cursor of the focused editor at line:column with Go to Line (Ctrl+G). */
export async function goToLine(page: Page, line: number, column = 1): Promise<void> {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`:${line}:${column}`);
  await input.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10_000 });
  const status = page.locator('.statusbar-item[id="status.editor.selection"]');
  const deadline = Date.now() + 10_000;
  while (!(await status.innerText().catch(() => '')).includes(`Ln ${line}, Col ${column}`)) {
    if (Date.now() > deadline) throw new Error(`the cursor did not get to ${line}:${column} (status bar: ${await status.innerText().catch(() => '?')})`);
    await sleep(100);
  }
}

/**
 * Opens `file` (Quick Open by name), puts the cursor on `line` and toggles a breakpoint there with F9, as a
 * person does; waits for the Breakpoints view to list it (nothing is toggled when it lists it already).
 * Set before startDebugging(): VS Code sends the breakpoints when the session starts (and at once to a
 * running session). Breakpoints live in the workspace's VS Code state, so they last for the instance.
 */
export async function setBreakpoint(vs: VsCode, file: string, line: number): Promise<void> {
  const page = vs.workbench;
  const row = breakpointRow(page, path.basename(file), line);
  await showRunAndDebug(vs);
  await expandSection(page, 'Breakpoints');
  if (await row.isVisible()) return;
  await openFile(page, path.basename(file));
  const tab = page.locator('.tab.active', { hasText: path.basename(file) });
  await tab.waitFor({ timeout: 30_000 });
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
  await goToLine(page, line);
  await page.keyboard.press('F9');
  await row.waitFor({ state: 'visible', timeout: 10_000 });
}

/** The Breakpoints view's row of a source breakpoint (aria-label "prog.py 7, /abs/path/prog.py"). */
function breakpointRow(page: Page, basename: string, line: number): Locator {
  return page.locator(`.debug-breakpoints .monaco-list-row[aria-label^="${`${basename} ${line}, `.replace(/["\\]/g, '\\$&')}"]`).first();
}

/** The visible floating debug toolbar (shown while a session is up). */
function toolbar(page: Page): Locator {
  return page.locator('.debug-toolbar:visible');
}

/**
 * Starts the selected launch configuration (one session at a time: F5 continues a paused one) with F5 and waits until the session is up: the floating debug
 * toolbar is shown and the adapter has started the debuggee (its `process` event). Returns the debuggee's pid.
 * F5, not the palette: its "Debug: Start Debugging" row also matches js-debug's "Debug: Start Debugging and
 * Stop on Entry", which runCommand() may pick (it then pauses "on entry"). F5 early after start-up may find
 * no debugger registered yet (nothing happens), so it is pressed again while no session has started.
 */
export async function startDebugging(vs: VsCode, timeoutMs = 90_000): Promise<{ pid: number | undefined; ms: number }> {
  const page = vs.workbench;
  const s = state(vs);
  const started = Date.now();
  const deadline = started + timeoutMs;
  const known = new Set(sessionIds(dapLog(vs)));
  let pressed = 0;
  for (;;) {
    const log = dapLog(vs);
    const session = sessionIds(log).find((id) => !known.has(id));
    if (pressed === 0 || (session === undefined && Date.now() - pressed > 10_000 && !(await toolbar(page).isVisible()))) {
      await focusWorkbench(page);
      await page.keyboard.press('F5');
      pressed = Date.now();
    }
    if (session !== undefined) {
      const proc = events(log, session, 'process');
      if (proc.length > 0 && (await toolbar(page).isVisible())) {
        s.session = session;
        s.debuggeePid = proc[0].body?.systemProcessId as number | undefined;
        s.stopsSeen = 0;
        return { pid: s.debuggeePid, ms: Date.now() - started };
      }
      if (ended(log, session)) throw new Error(`the debug session ended as it started:\n${failures(log, session)}\n${JSON.stringify(log.slice(-6), null, 1)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`no debug session within ${timeoutMs} ms (toolbar ${await toolbar(page).isVisible()}); DAP log:\n${JSON.stringify(log.slice(-10), null, 1)}`);
    }
    await sleep(200);
  }
}

/** The Call Stack header's state ("Paused on breakpoint", "Paused on exception", "Running"), or ''. */
export async function callStackState(vs: VsCode): Promise<string> {
  const label = vs.workbench.locator('.pane-header[aria-label="Call Stack Section"] .call-stack-state-message');
  if (!(await label.isVisible().catch(() => false))) return '';
  return (await label.innerText().catch(() => '')).trim();
}

/**
 * Waits for the next stop of the session (the stopped event after the last one this returned), checks its
 * reason is `want` when given, and waits for the Call Stack header to show it ("Paused on <reason>" or
 * debugpy's own description), opening the Run and Debug view if needed. A stop of another reason throws
 * with what the adapter said (an exception's message, say); so does the end of the session.
 */
export async function waitForStop(vs: VsCode, want?: StopReason, timeoutMs = 120_000): Promise<Stop> {
  const page = vs.workbench;
  const s = state(vs);
  const deadline = Date.now() + timeoutMs;
  let stop: DapLogEntry | undefined;
  while (!stop) {
    if (s.session === undefined) throw new Error('no debug session: startDebugging() first');
    const log = dapLog(vs);
    const stopped = events(log, s.session, 'stopped');
    if (stopped.length > s.stopsSeen) {
      stop = stopped[s.stopsSeen];
      s.stopsSeen += 1;
      break;
    }
    if (ended(log, s.session)) throw new Error(`the session ended without stopping${want ? ` on ${want}` : ''}; DAP log:\n${JSON.stringify(log.slice(-8), null, 1)}`);
    if (Date.now() > deadline) throw new Error(`no stop${want ? ` on ${want}` : ''} within ${timeoutMs} ms; DAP log:\n${JSON.stringify(log.slice(-8), null, 1)}`);
    await sleep(100);
  }
  const body = (stop.body ?? {}) as { reason?: string; description?: string; text?: string; threadId?: number };
  const reason = body.reason ?? '?';
  if (want && reason !== want) {
    throw new Error(`stopped on ${reason}, not ${want}${body.text ? `: ${body.text}` : ''}${body.description ? ` (${body.description})` : ''}`);
  }
  await showRunAndDebug(vs);
  const expected = body.description ? body.description : `Paused on ${reason}`;
  let label = '';
  while (label.toLowerCase() !== expected.toLowerCase()) {
    if (Date.now() > deadline) throw new Error(`the adapter stopped on ${reason} but the Call Stack header shows "${label}", not "${expected}"`);
    await sleep(100);
    label = await callStackState(vs);
  }
  // The top frame is selected and shown once the call stack has been fetched.
  await page.locator('.debug-call-stack .monaco-list-row').first().waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
  return { reason, description: body.description, text: body.text, threadId: body.threadId, label, ms: Date.now() - stop.t };
}

/** Clicks a button of the floating debug toolbar by its aria-label's start ("Continue", "Stop", "Step Over"). */
async function clickToolbar(page: Page, name: string): Promise<void> {
  const button = page.locator(`.debug-toolbar .action-label[aria-label^="${name}"]`).first();
  await button.waitFor({ state: 'visible', timeout: 10_000 });
  await button.click();
}

/**
 * Continues the paused session (the toolbar's Continue) and waits until the adapter has resumed it: a
 * `continued` event, a new stop, or the end of the session, whichever comes first.
 */
export async function continueDebugging(vs: VsCode, timeoutMs = 30_000): Promise<void> {
  const page = vs.workbench;
  const s = state(vs);
  await closeContextMenu(page);
  const before = dapLog(vs);
  const marks = ['continued', 'stopped'].map((e) => events(before, s.session, e).length);
  await clickToolbar(page, 'Continue');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = dapLog(vs);
    const now = ['continued', 'stopped'].map((e) => events(log, s.session, e).length);
    if (now.some((n, i) => n > marks[i]) || ended(log, s.session)) return;
    if (Date.now() > deadline) throw new Error(`the session did not resume within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Stops the session (the toolbar's Stop) and waits until it is over: the toolbar is gone, the adapter has
 * exited, and the debuggee process is gone.
 */
export async function stopDebugging(vs: VsCode, timeoutMs = 30_000): Promise<void> {
  const page = vs.workbench;
  const s = state(vs);
  await closeContextMenu(page);
  if (await toolbar(page).isVisible()) await clickToolbar(page, 'Stop');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = dapLog(vs);
    const adapterGone = s.session === undefined || log.some((e) => e.session === s.session && e.kind === 'adapter-exit');
    const debuggeeGone = s.debuggeePid === undefined || !alive(s.debuggeePid);
    if (adapterGone && debuggeeGone && !(await toolbar(page).isVisible())) break;
    if (Date.now() > deadline) {
      throw new Error(`the session did not end within ${timeoutMs} ms (adapter gone ${adapterGone}, debuggee ${s.debuggeePid} gone ${debuggeeGone})`);
    }
    await sleep(200);
  }
  s.session = undefined;
  s.debuggeePid = undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers; /proc says whether it has exited.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Processes started by this VS Code instance (they inherit its CEL_HOST_RESULTS), with their command lines. */
export function processesOf(vs: VsCode): Array<{ pid: number; cmd: string }> {
  const marker = `CEL_HOST_RESULTS=${path.join(vs.dir, 'host-results.json')}`;
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!env.includes(marker)) continue;
      if (!alive(Number(entry))) continue;
      found.push({ pid: Number(entry), cmd: fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

/** This instance's debugpy processes (adapter, launcher, debuggee). */
export function debugpyProcesses(vs: VsCode): Array<{ pid: number; cmd: string }> {
  return processesOf(vs).filter((p) => /^\S*python[\d.]*\s.*debugpy/.test(p.cmd));
}

/**
 * The row of variable `name` in the Run and Debug view's Variables section (Locals first, then the other
 * scopes), opening the view and expanding the section if needed; waits for it. The tree is virtual: a row
 * scrolled out of the section is not in the DOM, so keep the frames small.
 */
export async function variableRow(vs: VsCode, name: string, timeoutMs = 30_000): Promise<Locator> {
  const page = vs.workbench;
  await showRunAndDebug(vs);
  await expandSection(page, 'Variables');
  const row = page
    .locator('.debug-variables .monaco-list-row[role="treeitem"]')
    .filter({ has: page.locator('.expression > .name', { hasText: new RegExp(`^\\s*${escapeRe(name)}(\\s*=)?\\s*$`) }) })
    .first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  return row;
}

/** The names the Variables section shows (the rows in the DOM), scopes excluded. */
export async function variableNames(vs: VsCode): Promise<string[]> {
  const page = vs.workbench;
  await showRunAndDebug(vs);
  await expandSection(page, 'Variables');
  const name = page.locator('.debug-variables .monaco-list-row .expression > .name');
  await name.first().waitFor({ state: 'visible', timeout: 30_000 });
  const names = await name.allInnerTexts();
  return names.map((n) => n.replace(/\s*=\s*$/, '').trim());
}

/** The value a variable's row shows (VS Code shortens long values there; its aria-label has the whole). */
export async function variableValue(vs: VsCode, name: string): Promise<string> {
  const row = await variableRow(vs, name);
  const aria = (await row.getAttribute('aria-label')) ?? '';
  const prefix = `${name}, value `;
  return aria.startsWith(prefix) ? aria.slice(prefix.length) : (await row.locator('.value').innerText()).trim();
}

/** The workbench's open context menu. */
function contextMenu(page: Page): Locator {
  return page.locator('.context-view .monaco-menu');
}

/** Labels of the open context menu's items. */
export async function contextMenuItems(page: Page): Promise<string[]> {
  const labels = await contextMenu(page).locator('.action-item:not(.disabled) .action-label').allInnerTexts();
  return labels.map((l) => l.trim()).filter((l) => l !== '');
}

/**
 * Closes the open context menu, if any: Escape, else a click on the block behind it (a menu left open
 * takes every click in the workbench).
 */
export async function closeContextMenu(page: Page): Promise<void> {
  const menu = contextMenu(page);
  if (!(await menu.isVisible())) return;
  await page.keyboard.press('Escape');
  try {
    await menu.waitFor({ state: 'hidden', timeout: 1000 });
  } catch {
    await page.locator('.context-view-block').first().click({ position: { x: 2, y: 2 }, force: true }).catch(() => undefined);
    await menu.waitFor({ state: 'hidden', timeout: 5000 });
  }
}

/**
 * Right-clicks the Variables row of `name` and clicks the context menu item labelled `item` (e.g. "Copy
 * Value"); waits for the menu to close, the sign that the item ran. Returns the labels the menu held.
 * A menu item takes clicks only 100 ms after it is rendered (VS Code registers its mouseup listener then),
 * so the click waits a moment, and is repeated while the menu stays open.
 */
export async function variableContextMenu(vs: VsCode, name: string, item: string): Promise<string[]> {
  const page = vs.workbench;
  const row = await variableRow(vs, name);
  const menu = contextMenu(page);
  const entry = menu.locator('.action-item:not(.disabled) .action-menu-item', { has: page.locator('.action-label', { hasText: new RegExp(`^\\s*${escapeRe(item)}\\s*$`) }) }).first();
  await closeContextMenu(page);
  for (let attempt = 1; ; attempt++) {
    await row.click({ button: 'right' });
    try {
      await menu.waitFor({ state: 'visible', timeout: 5000 });
      await entry.waitFor({ state: 'visible', timeout: 5000 });
      break;
    } catch (e) {
      // The menu opened on a row that was re-rendered, or not at all: close it and ask again.
      const items = await contextMenuItems(page).catch(() => []);
      await closeContextMenu(page);
      if (attempt >= 3) throw new Error(`no "${item}" in the context menu of variable ${name} (items: ${items.join(' | ')})`, { cause: e });
    }
  }
  const items = await contextMenuItems(page);
  for (let attempt = 1; ; attempt++) {
    await sleep(250);
    await entry.hover();
    await entry.click();
    try {
      await menu.waitFor({ state: 'hidden', timeout: 2000 });
      return items;
    } catch (e) {
      if (attempt >= 3) {
        await closeContextMenu(page);
        throw new Error(`clicking "${item}" in the context menu of variable ${name} did not run it (the menu stayed open)`, { cause: e });
      }
    }
  }
}

export interface HoverOptions {
  /** Ask again (waiting longer each time) until the hover matches. */
  readonly want?: RegExp;
  readonly timeoutMs?: number;
  /**
   * 'language' (default): the palette's "Show or Focus Hover" (editor.action.showHover), the language
   * hovers of the extensions. 'keyboard': Ctrl+K Ctrl+I, which in a debug session is bound to "Debug: Show
   * Hover" (the debug hover, the value of the expression under the cursor), and to "Show or Focus Hover"
   * outside of one.
   */
  readonly via?: 'language' | 'keyboard';
}

/**
 * Opens `file` (Quick Open by name), puts the cursor at line:column and asks for the hover there; returns
 * its text, '' when none shows. With `want`, asks again until the hover matches it (throws at the timeout).
 */
export async function showEditorHover(vs: VsCode, file: string, line: number, column: number, o: HoverOptions = {}): Promise<string> {
  const page = vs.workbench;
  const base = path.basename(file);
  await closeContextMenu(page);
  const tab = page.locator('.editor-group-container.active .tab.active', { hasText: base });
  if (!(await tab.isVisible())) {
    await openFile(page, base);
    await tab.waitFor({ timeout: 30_000 });
  }
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
  await goToLine(page, line, column);
  const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content, .monaco-hover:not(.hidden) .hover-contents, .debug-hover-widget .debug-hover-tree, .debug-hover-widget .value').first();
  const deadline = Date.now() + (o.timeoutMs ?? (o.want ? 60_000 : 10_000));
  let last = '';
  let patience = 2000;
  for (;;) {
    if (o.via === 'keyboard') {
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
    } else {
      await vs.runCommand('Show or Focus Hover', { fromEditor: true });
    }
    try {
      await hover.waitFor({ state: 'visible', timeout: 3000 });
      const until = Date.now() + patience;
      for (;;) {
        last = (await hover.innerText()).trim();
        if (!o.want || o.want.test(last)) return last;
        if (Date.now() > until) break;
        await sleep(50);
      }
    } catch {
      // no hover (yet)
    }
    if (!o.want && Date.now() > deadline - 7000) return last;
    if (Date.now() > deadline) throw new Error(`no hover matching ${o.want} at ${base}:${line}:${column} within ${o.timeoutMs ?? 60_000} ms; last: "${last}"`);
    patience *= 2;
    await page.keyboard.press('Escape');
    await sleep(300);
  }
}

/**
 * The checkboxes of the exception filters in the Breakpoints view (shown once the adapter has said which it
 * has): label → checked. debugpy's: "Raised Exceptions" (off by default), "Uncaught Exceptions" (on),
 * "User Uncaught Exceptions" (off).
 */
export async function exceptionFilters(vs: VsCode): Promise<Record<string, boolean>> {
  const page = vs.workbench;
  await showRunAndDebug(vs);
  await expandSection(page, 'Breakpoints');
  const rows = page.locator('.debug-breakpoints .monaco-list-row').filter({ has: page.locator('.exception') });
  const out: Record<string, boolean> = {};
  for (const row of await rows.all()) {
    const label = (await row.locator('.name').innerText()).trim();
    out[label] = await row.locator('input[type="checkbox"]').isChecked();
  }
  return out;
}

/** Sets an exception filter's checkbox in the Breakpoints view ("Uncaught Exceptions", …). */
export async function setExceptionFilter(vs: VsCode, label: string, checked: boolean): Promise<void> {
  const page = vs.workbench;
  await showRunAndDebug(vs);
  await expandSection(page, 'Breakpoints');
  const box = page.locator('.debug-breakpoints .monaco-list-row').filter({ has: page.locator('.name', { hasText: label }) }).locator('input[type="checkbox"]').first();
  await box.waitFor({ state: 'visible', timeout: 30_000 });
  if ((await box.isChecked()) !== checked) await box.click();
}

/**
 * The exception widget VS Code shows in the editor at an exception stop ("Exception has occurred: …"). VS
 * Code shows it on the top frame only, and focuses the first frame that is not deemphasized: for an
 * exception raised in a library (torch/nn/functional.py, shown greyed), that is the user's caller, so the
 * top frame is clicked first when the widget is not up.
 */
export async function exceptionWidgetText(vs: VsCode, timeoutMs = 30_000): Promise<string> {
  const page = vs.workbench;
  const widget = page.locator('.exception-widget').first();
  try {
    await widget.waitFor({ state: 'visible', timeout: 2000 });
  } catch {
    await showRunAndDebug(vs);
    await page.locator('.debug-call-stack .monaco-list-row').first().click();
    await widget.waitFor({ state: 'visible', timeout: timeoutMs });
  }
  return (await widget.innerText()).trim();
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
