// Fixture access and value comparison shared by the tensor-format tests.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LensError } from '../../../src/errors';
import type { Tensor } from '../../../src/tensor/tensor';

export const FIXTURES = path.resolve(__dirname, '../../fixtures/tensor');

export type Expected = number | boolean | 'nan' | 'inf' | '-inf';

export function fixture(...parts: string[]): Uint8Array {
  const b = fs.readFileSync(path.join(FIXTURES, ...parts));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function fixtureJson<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, ...parts), 'utf8')) as T;
}

function expectedNumber(e: Expected): number {
  if (e === 'nan') return NaN;
  if (e === 'inf') return Infinity;
  if (e === '-inf') return -Infinity;
  if (typeof e === 'boolean') return e ? 1 : 0;
  return e;
}

/** Exact comparison: NaN matches NaN, and -0 must stay -0 in float tensors. */
export function assertValues(t: Tensor, expected: readonly Expected[], what: string): void {
  assert.equal(t.data.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const want = expectedNumber(expected[i]);
    const got = t.data[i];
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `${what}[${i}]: expected nan, got ${got}`);
    else assert.ok(Object.is(got, want), `${what}[${i}]: expected ${Object.is(want, -0) ? '-0' : want}, got ${Object.is(got, -0) ? '-0' : got}`);
  }
}

/** Runs fn and returns the LensError it throws; fails on success or on any other exception. */
export function lensError(fn: () => unknown, kind?: LensError['kind']): LensError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LensError, `expected a LensError, got ${e instanceof Error ? e.stack : String(e)}`);
    if (kind !== undefined) assert.equal(e.kind, kind, e.message);
    assert.ok(!/[\r\n]/.test(e.message), 'message is one line');
    return e;
  }
  assert.fail('expected a LensError, but the call succeeded');
}

let numpyChecked: boolean | undefined;
/** Whether /usr/bin/python3 can import numpy (the cross-check tests need it). */
export function hasNumpy(): boolean {
  if (numpyChecked === undefined) {
    const r = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    numpyChecked = r.status === 0;
  }
  return numpyChecked;
}

export function python(script: string, args: string[] = []): string {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

/** A tensor's invariants: data length matches the shape, storage fits the dtype. */
export function assertWellFormed(t: Tensor): void {
  let n = 1;
  for (const d of t.shape) {
    assert.ok(Number.isSafeInteger(d) && d >= 0, `bad dim ${d}`);
    n *= d;
  }
  assert.equal(t.data.length, n, 'data length matches the shape');
  const storage: Record<string, string> = {
    bool: 'Uint8Array', int8: 'Int8Array', uint8: 'Uint8Array', int16: 'Int16Array', uint16: 'Uint16Array',
    int32: 'Int32Array', uint32: 'Uint32Array', int64: 'Int32Array', uint64: 'Int32Array', float16: 'Float32Array',
    float32: 'Float32Array', float64: 'Float64Array',
  };
  assert.equal(t.data.constructor.name, storage[t.dtype], `storage of ${t.dtype}`);
}
