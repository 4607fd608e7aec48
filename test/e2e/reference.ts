// PyTorch as the oracle of the e2e suites: test/e2e/reference.py computes F.cross_entropy in float64 on the
// files and flags the CLI gets, so an expected value never rests on our engine alone (a CLI bug would
// otherwise agree with the same bug in the view). Node built-ins only: the host-side suites bundle this too.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** Debian's interpreter, which has PyTorch, NumPy and PIL (the python3 first on PATH may not). */
export const PYTHON = '/usr/bin/python3';

/** A JSON number, or how the CLI and reference.py write the non-finite ones. */
export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface TorchReport {
  readonly value: JsonNumber | null;
  readonly lossShape: number[];
  /** With --per-class: mean unreduced loss over each class's non-ignored elements. */
  readonly perClass?: ReadonlyArray<{ readonly class: number; readonly count: number; readonly meanLoss: JsonNumber }>;
}

export interface TorchEval {
  readonly images: number;
  readonly value: JsonNumber;
  readonly perImage: ReadonlyArray<{ readonly name: string; readonly value: JsonNumber }>;
}

export const toNumber = (v: JsonNumber | null | undefined): number => (typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN);

function runReference(root: string, cwd: string, args: readonly string[]): unknown {
  const script = path.join(root, 'test/e2e/reference.py');
  // Two cores shared with VS Code and other runs: PyTorch's import alone can take seconds here.
  const r = spawnSync(PYTHON, [script, ...args], { cwd, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `reference.py ${args.join(' ')}: ${r.error ? String(r.error) : r.stderr}`);
  return JSON.parse(r.stdout);
}

/** PyTorch's result on INPUT TARGET with the CLI's flags (paths relative to `cwd`). */
export function torchReport(root: string, cwd: string, args: readonly string[]): TorchReport {
  return runReference(root, cwd, args) as TorchReport;
}

/** PyTorch's pooled cross-entropy over a predictions folder and a labels folder, paired as `eval` pairs them. */
export function torchEval(root: string, cwd: string, args: readonly string[]): TorchEval {
  return runReference(root, cwd, ['eval', ...args]) as TorchEval;
}

/**
 * Our number agrees with PyTorch's float64 one: |ours - torch| <= 2e-6 |torch| + 2e-7 (float32 inputs and a
 * float32 SIMD kernel with float64 sums stay far inside this), or both are the same non-finite value.
 */
export function assertMatchesTorch(ours: JsonNumber | null | undefined, torch: JsonNumber | null | undefined, what: string): void {
  const a = toNumber(ours);
  const b = toNumber(torch);
  if (!Number.isFinite(b) || !Number.isFinite(a)) {
    assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what}: ours ${String(ours)}, PyTorch ${String(torch)}`);
    return;
  }
  const tol = 2e-6 * Math.abs(b) + 2e-7;
  assert.ok(Math.abs(a - b) <= tol, `${what}: ours ${a}, PyTorch ${b} (|diff| ${Math.abs(a - b)} > ${tol})`);
}
