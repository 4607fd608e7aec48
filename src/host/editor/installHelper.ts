// *Cross-Entropy Lens: Install Notebook Helper…*: pip-installs the python/ folder shipped in the .vsix into an
// interpreter the user picks, so that `from cross_entropy_lens import display` works in the notebook's kernel.
// The command itself is built in pipInstall.ts (tested without VS Code); this is the picking and the running.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage } from '../notify';
import { interpreterChoices, pipFailureLine, pipInstallCommand, setuptoolsProbe, stageHelper, whichOnPath, type Invocation } from './pipInstall';

export const INSTALL_HELPER_COMMAND = 'crossEntropyLens.installNotebookHelper';

/** The Python extension waits for its environment discovery; the Quick Pick should not wait longer than this. */
const PYTHON_API_WAIT_MS = 3000;
/** pipFailureLine needs the end of the output only. */
const KEEP_OUTPUT_CHARS = 64 * 1024;

let channel: vscode.OutputChannel | undefined;

function output(): vscode.OutputChannel {
  channel ??= vscode.window.createOutputChannel('Cross-Entropy Lens: Notebook Helper');
  return channel;
}

export function disposeInstallHelperOutput(): void {
  channel?.dispose();
  channel = undefined;
}

/** The part of the Python extension's API (ms-python.python) used here; checked at run time. */
interface PythonEnvironmentsApi {
  readonly environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { readonly id: string; readonly path: string };
    resolveEnvironment(env: { readonly id: string; readonly path: string }): Promise<{ readonly executable: { readonly uri: vscode.Uri | undefined } } | undefined>;
  };
}

function isPythonEnvironmentsApi(x: unknown): x is PythonEnvironmentsApi {
  const envs = (x as { environments?: unknown } | undefined)?.environments as Record<string, unknown> | undefined;
  return typeof envs?.getActiveEnvironmentPath === 'function' && typeof envs.resolveEnvironment === 'function';
}

/**
 * The interpreter the Python extension selected for the active notebook (the kernel's, as a rule), or
 * undefined without that extension. The Jupyter extension does not expose a kernel's executable.
 */
async function notebookPython(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) return undefined;
  const find = async (): Promise<string | undefined> => {
    const api: unknown = ext.isActive ? ext.exports : await ext.activate();
    if (!isPythonEnvironmentsApi(api)) return undefined;
    const resource = vscode.window.activeNotebookEditor?.notebook.uri ?? vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    const resolved = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(resource));
    return resolved?.executable.uri?.fsPath || undefined;
  };
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), PYTHON_API_WAIT_MS));
  return Promise.race([find().catch(() => undefined), timeout]);
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

async function pickPython(): Promise<string | undefined> {
  const bare = process.platform === 'win32' ? 'python' : 'python3';
  const choices = interpreterChoices(await notebookPython(), whichOnPath(bare, process.env.PATH, isExecutable), process.platform, (p) => fs.existsSync(p));
  const enter = { label: 'Enter path…', description: 'the python executable of another environment', python: '' };
  const picked = await vscode.window.showQuickPick([...choices, enter], {
    title: 'Install the notebook helper (cross_entropy_lens) into',
    placeHolder: "the Python that runs the notebook's kernel",
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked !== enter) return picked.python;
  const typed = await vscode.window.showInputBox({
    title: 'Path of the python executable',
    placeHolder: process.platform === 'win32' ? 'C:\\path\\to\\venv\\Scripts\\python.exe' : '/path/to/venv/bin/python',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Enter the path of a python executable'),
  });
  return typed?.trim() || undefined;
}

interface RunResult {
  /** The exit code, or null when killed or never started. */
  readonly code: number | null;
  /** The last KEEP_OUTPUT_CHARS of stdout and stderr together. */
  readonly output: string;
  /** Set when the program could not be started (ENOENT: no such interpreter). */
  readonly spawnError?: NodeJS.ErrnoException;
}

function run(inv: Invocation, onText: (s: string) => void, token?: vscode.CancellationToken): Promise<RunResult> {
  return new Promise((resolve) => {
    let out = '';
    // An argument array and no shell: the interpreter path is never parsed as a command line.
    const child = spawn(inv.command, [...inv.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    const onData = (b: Buffer): void => {
      const s = b.toString('utf8');
      onText(s);
      out = (out + s).slice(-KEEP_OUTPUT_CHARS);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const cancel = token?.onCancellationRequested(() => child.kill());
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e));
    child.on('close', (code) => {
      cancel?.dispose();
      resolve({ code, output: out, spawnError });
    });
  });
}

async function fail(text: string): Promise<false> {
  output().appendLine(`\n${text}`);
  const pick = await showErrorMessage(`Cross-Entropy Lens: ${text}`, 'Show Output');
  if (pick === 'Show Output') output().show(true);
  return false;
}

/**
 * Installs the helper into `python` (asked for when not given). True when pip succeeded; a failure is one line
 * in a notification, pip's whole output in the output channel.
 */
export async function installNotebookHelper(extensionPath: string, pythonArg?: string): Promise<boolean> {
  const python = pythonArg ?? (await pickPython());
  if (!python) return false;
  const out = output();
  out.show(true);
  const staged = stageHelper(path.join(extensionPath, 'python'), os.tmpdir());
  let problem: string | undefined;
  try {
    // The notification's progress ends with pip; what went wrong is shown after it, not inside it.
    problem = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Installing the notebook helper into ${python}`, cancellable: true },
      async (_progress, token): Promise<string | undefined> => {
        const probe = await run(setuptoolsProbe(python), () => undefined, token);
        if (probe.spawnError) {
          return probe.spawnError.code === 'ENOENT' ? `${python} was not found` : `${python} could not be started: ${probe.spawnError.message}`;
        }
        const inv = pipInstallCommand(python, staged, { buildIsolation: probe.code !== 0 });
        out.appendLine(`$ ${[inv.command, ...inv.args].map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
        const r = await run(inv, (s) => out.append(s), token);
        if (token.isCancellationRequested) return 'installing the notebook helper was cancelled';
        if (r.spawnError) return `${python} could not be started: ${r.spawnError.message}`;
        if (r.code !== 0) return `pip install failed with ${python} (exit ${r.code}): ${pipFailureLine(r.output)}`;
        return undefined;
      },
    );
  } finally {
    fs.rmSync(staged, { recursive: true, force: true });
  }
  if (problem !== undefined) return fail(problem);
  out.appendLine('\nDone: `from cross_entropy_lens import display` works in kernels that use this Python.');
  void showInformationMessage(`Cross-Entropy Lens: the notebook helper is installed into ${python}. In the notebook: from cross_entropy_lens import display`);
  return true;
}
