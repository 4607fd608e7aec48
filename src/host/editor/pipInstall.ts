// How *Install Notebook Helper…* installs python/ into an interpreter, without vscode, so that the unit tests
// run the very command the extension runs (test/unit/pythonPackage.test.ts installs it into a real venv).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The files of the bundled python/ folder that make the package (what .vscodeignore ships). */
export const HELPER_FILES = ['pyproject.toml', 'cross_entropy_lens.py'] as const;

/** A program and its arguments, for child_process.spawn without a shell. */
export interface Invocation {
  readonly command: string;
  readonly args: readonly string[];
}

export interface PipInstallOptions {
  /**
   * False when the interpreter already has setuptools >= 61 (see setuptoolsProbe): pip then builds with it
   * instead of fetching a fresh setuptools from the index, so the install works offline.
   */
  readonly buildIsolation: boolean;
}

/** `<python> -m pip install <folder>`. NumPy, the only requirement, is left to pip's resolver. */
export function pipInstallCommand(python: string, folder: string, options: PipInstallOptions): Invocation {
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input'];
  if (!options.buildIsolation) args.push('--no-build-isolation');
  args.push(folder);
  return { command: python, args };
}

/** Exits 0 when the interpreter can build the package itself: setuptools 61 or later importable. */
export function setuptoolsProbe(python: string): Invocation {
  return {
    command: python,
    args: ['-c', "import sys, setuptools; sys.exit(0 if int(setuptools.__version__.split('.')[0]) >= 61 else 1)"],
  };
}

/**
 * Copies the package's files into a new folder under tmpRoot and returns it. pip builds a local folder in
 * place, writing build/ and *.egg-info into it; the installed extension's folder may be read-only and should
 * not collect them either.
 */
export function stageHelper(bundledDir: string, tmpRoot: string): string {
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'cross-entropy-lens-helper-'));
  for (const name of HELPER_FILES) fs.copyFileSync(path.join(bundledDir, name), path.join(dir, name));
  return dir;
}

/** One interpreter offered in the Quick Pick. */
export interface InterpreterChoice {
  readonly label: string;
  readonly description: string;
  /** What is spawned: a path, or a bare name looked up on PATH. */
  readonly python: string;
}

/**
 * The interpreters to offer, most likely first: the notebook's environment when known, then the python on
 * PATH and the system's /usr/bin/python3 (when present), without repeating one path.
 */
export function interpreterChoices(notebookPython: string | undefined, pathPython: string | undefined, platform: NodeJS.Platform, exists: (p: string) => boolean): InterpreterChoice[] {
  const out: InterpreterChoice[] = [];
  const seen = new Set<string>();
  const add = (c: InterpreterChoice, resolved: string | undefined): void => {
    if (resolved !== undefined && seen.has(resolved)) return;
    if (resolved !== undefined) seen.add(resolved);
    out.push(c);
  };
  if (notebookPython) add({ label: notebookPython, description: 'the Python environment selected for the notebook', python: notebookPython }, notebookPython);
  const bare = platform === 'win32' ? 'python' : 'python3';
  add({ label: bare, description: pathPython ? `on PATH: ${pathPython}` : 'on PATH', python: bare }, pathPython);
  if (platform !== 'win32' && exists('/usr/bin/python3')) add({ label: '/usr/bin/python3', description: 'the system Python', python: '/usr/bin/python3' }, '/usr/bin/python3');
  return out;
}

/** The first executable file named `name` in the PATH list, as spawn would find it (Unix rules). */
export function whichOnPath(name: string, pathVar: string | undefined, isExecutable: (p: string) => boolean): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** The line of pip's output that says what went wrong, for a one-line notification. */
export function pipFailureLine(output: string): string {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.some((l) => /externally-managed-environment/.test(l))) {
    return 'this Python is managed by the operating system (PEP 668); pick a virtual environment\'s python';
  }
  if (lines.some((l) => /No module named pip\b/.test(l))) return 'this Python has no pip';
  const error = lines.find((l) => /^(ERROR|error):/.test(l));
  return error ?? lines[lines.length - 1] ?? 'no output';
}
