// Comparing a CLI's --json output with a reference written by a NumPy/PyTorch generator: numbers within a
// relative tolerance (count-like fields exactly to 1e-9), "NaN"/"Infinity" strings as numbers, keys starting
// with "_" (the generator's notes) skipped. Shared by the eval and runs CLI tests.
import * as assert from 'node:assert/strict';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const EXACT = 1e-9;

export function num(v: Json): number {
  return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : (v as number);
}

export interface CompareRules {
  /** Fields (by key) that are counts or ratios of exact counts: held to EXACT. */
  readonly countFields: ReadonlySet<string>;
  /** Objects must have exactly the reference's fields (no extra ones). */
  readonly sameFields?: boolean;
}

export function compareJson(actual: Json, want: Json, where: string, tol: number, rules: CompareRules): void {
  if (want === null || typeof want === 'boolean' || (typeof want === 'string' && !['NaN', 'Infinity', '-Infinity'].includes(want))) {
    assert.deepEqual(actual, want, where);
    return;
  }
  if (typeof want === 'number' || typeof want === 'string') {
    const a = num(actual);
    const w = num(want);
    assert.equal(typeof a, 'number', `${where}: ${JSON.stringify(actual)} is not a number`);
    if (Number.isNaN(w)) return assert.ok(Number.isNaN(a), `${where}: ${a}, want NaN`);
    const err = Math.abs(a - w) / Math.max(1e-300, Math.abs(w));
    assert.ok(a === w || err <= tol, `${where}: ${a} vs reference ${w} (relative ${err.toExponential(2)} > ${tol})`);
    return;
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(actual), `${where}: not a list`);
    assert.equal((actual as Json[]).length, want.length, `${where}: length`);
    want.forEach((w, i) => compareJson((actual as Json[])[i]!, w, `${where}[${i}]`, tol, rules));
    return;
  }
  assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${where}: not an object`);
  if (rules.sameFields) assert.deepEqual(Object.keys(actual).sort(), Object.keys(want).filter((k) => !k.startsWith('_')).sort(), `${where}: fields`);
  for (const [k, w] of Object.entries(want)) {
    if (k.startsWith('_')) continue;
    compareJson((actual as Record<string, Json>)[k]!, w, `${where}.${k}`, rules.countFields.has(k) ? EXACT : tol, rules);
  }
}
