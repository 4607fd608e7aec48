// Runs the built CLI in a fresh process on a hostile input and measures what a user would suffer: wall time
// and the process's own peak resident memory (VmHWM; getrusage's maxRSS would carry the forking test
// runner's size over exec). A child that runs away is killed at `killAfterMs`, so a regression fails the
// test instead of taking the machine's memory.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
// CEL_TEST_DIST points the suite at another build (a copy of dist/ that a concurrent build cannot remove).
export const CLI = path.join(process.env.CEL_TEST_DIST ?? path.join(ROOT, 'dist'), 'cli.js');

/** The bound for every hostile file: 3 s and 600 MB. */
export const TIME_LIMIT_MS = 3000;
export const PEAK_LIMIT_MB = 600;

const PEAK_KB = `(() => { try { return Number(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]); } catch { return process.resourceUsage().maxRSS; } })()`;

export interface BoundedRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** stderr without the measurement line. */
  readonly stderr: string;
  readonly ms: number;
  readonly peakMb: number;
}

/** `node dist/cli.js ARGS...` in `cwd`, timed, with its peak RSS. */
export function runCliBounded(args: readonly string[], opts: { cwd?: string; killAfterMs?: number } = {}): BoundedRun {
  // process.exit is wrapped so the peak is reported on every way out (the CLI exits 2 through it).
  const script = `const fs = require('fs'); const peak = () => ${PEAK_KB}; const report = () => fs.writeSync(2, '\\nPEAK_KB ' + peak() + '\\n'); const exit = process.exit.bind(process); process.exit = (c) => { report(); exit(c); }; require(${JSON.stringify(CLI)}).main(${JSON.stringify(args)}).then((code) => { report(); exit(code); }, (e) => { process.stderr.write('UNCAUGHT ' + String(e) + '\\n'); report(); exit(70); });`;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: opts.killAfterMs ?? 30_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
  });
  const ms = performance.now() - t0;
  const m = /\n?PEAK_KB (\d+)\n/.exec(r.stderr ?? '');
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: m === null ? (r.stderr ?? '') : (r.stderr ?? '').replace(m[0], ''),
    ms,
    peakMb: m === null ? Number.NaN : Number(m[1]) / 1024,
  };
}

/** Within the bounds, never an internal error; returns the run for further checks. */
export function assertBounded(r: BoundedRun, what: string): BoundedRun {
  assert.equal(r.signal, null, `${what}: killed by ${String(r.signal)} after ${r.ms.toFixed(0)} ms`);
  assert.doesNotMatch(r.stderr, /internal error|UNCAUGHT|\n\s+at /, `${what}: ${r.stderr.slice(0, 400)}`);
  assert.ok(r.ms < TIME_LIMIT_MS, `${what}: took ${r.ms.toFixed(0)} ms (limit ${TIME_LIMIT_MS})`);
  assert.ok(r.peakMb < PEAK_LIMIT_MB, `${what}: peak RSS ${r.peakMb.toFixed(0)} MB (limit ${PEAK_LIMIT_MB})`);
  return r;
}

/** Exit 2 with one line `error: …` matching `re`, within bounds. */
export function assertOneLineError(r: BoundedRun, re: RegExp, what: string): string {
  assertBounded(r, what);
  assert.equal(r.status, 2, `${what}: exit ${String(r.status)}; stdout ${r.stdout.slice(0, 200)}; stderr ${r.stderr.slice(0, 300)}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got ${r.stderr.slice(0, 400)}`);
  assert.match(lines[0], /^error: /, what);
  assert.match(lines[0], re, what);
  return lines[0];
}

/** Exit 0 within bounds; the parsed --json output. */
export function assertCleanJson<T = Record<string, unknown>>(r: BoundedRun, what: string): T {
  assertBounded(r, what);
  assert.equal(r.status, 0, `${what}: exit ${String(r.status)}: ${r.stderr.slice(0, 400)}`);
  return JSON.parse(r.stdout) as T;
}
