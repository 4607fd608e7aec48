// Runs the host-side mocha suite (tests.js beside this file) inside the real extension host, where
// `require('vscode')` is the real API. Two ways in:
// - code-server: this folder is loaded as an extension; activate() runs the suite when CEL_HOST_RESULTS
//   names a results file, and writes the results there for the outer test to read.
// - @vscode/test-electron: run() is the extensionTestsPath entry; it rejects when a test fails.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Result {
  title: string;
  state: 'passed' | 'failed';
  error?: string;
}

interface MochaRunner {
  on(event: 'pass', fn: (t: { fullTitle(): string }) => void): void;
  on(event: 'fail', fn: (t: { fullTitle(): string }, err: unknown) => void): void;
}
interface MochaInstance {
  addFile(file: string): void;
  run(done: (failures: number) => void): MochaRunner;
}
type MochaCtor = new (opts: { ui: string; timeout: number; color: boolean; reporter?: string }) => MochaInstance;

async function loadMocha(): Promise<MochaCtor> {
  const root = process.env.CEL_ROOT ?? path.resolve(__dirname, '../..');
  const mod = (await import(pathToFileURL(path.join(root, 'node_modules/mocha/index.js')).href)) as { default: MochaCtor };
  return mod.default;
}

async function runSuite(): Promise<Result[]> {
  const Mocha = await loadMocha();
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  mocha.addFile(path.join(__dirname, 'tests.js'));
  const results: Result[] = [];
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed' }));
    runner.on('fail', (t, err) => results.push({ title: t.fullTitle(), state: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
  return results;
}

export async function run(): Promise<void> {
  const results = await runSuite();
  const failed = results.filter((r) => r.state === 'failed');
  if (failed.length || results.length === 0) {
    throw new Error(results.length === 0 ? 'no host tests ran' : `${failed.length} host test(s) failed: ${failed.map((f) => f.title).join('; ')}`);
  }
}

export async function activate(): Promise<void> {
  const out = process.env.CEL_HOST_RESULTS;
  if (!out) return;
  let tests: Result[];
  try {
    tests = await runSuite();
  } catch (e) {
    tests = [{ title: 'host runner', state: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }];
  }
  fs.writeFileSync(`${out}.tmp`, JSON.stringify({ tests }));
  fs.renameSync(`${out}.tmp`, out);
}
