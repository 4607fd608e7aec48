// What every fuzz case may do, and the mutators and grammars the fuzz suites share. A decoder given any
// input returns a well-formed tensor or throws the project's own one-line LensError; nothing else escapes,
// and each case stays within a wall-time and a memory bound.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import fc from 'fast-check';
import { LensError } from '../../../src/errors';
import type { Tensor } from '../../../src/tensor/tensor';
import { FIXTURES, assertWellFormed } from './helpers';

/**
 * Wall time one case may take. Cases are at most tens of KB and take about a millisecond; half a second
 * holds at three times this machine's load with a garbage collection inside, and still catches a
 * quadratic path (50 KB squared is seconds).
 */
export const CASE_MS = 500;
/**
 * Memory one case may allocate (JS heap and array buffers, garbage included, so generous): the largest
 * fuzz input is a few hundred KB, so more means an allocation sized by a claim in the input.
 */
export const CASE_MEMORY_BYTES = 256 << 20;
/** Messages name places and shapes, never whole inputs (the 60 KB tests ask for less; paths of 64 levels need this). */
export const MAX_MESSAGE = 1000;

// A JavaScript error wrapped into a LensError (new LensError('format', String(e))) is no message of ours.
const ENGINE_ERROR = /RangeError|TypeError|ReferenceError|Maximum call stack|is not a function|Cannot read propert|\[object /;

/** Asserts a LensError is one the user may see: one line, short, not a wrapped engine error. */
export function assertUserMessage(e: LensError): void {
  assert.ok(e.message.length > 0, 'a message');
  assert.doesNotMatch(e.message, /[\r\n]/, 'one line');
  assert.ok(e.message.length <= MAX_MESSAGE, `${e.message.length} characters: ${e.message.slice(0, 200)}…`);
  assert.doesNotMatch(e.message, ENGINE_ERROR, 'a wrapped engine error');
}

/**
 * Runs one case under the bounds: its value, or undefined when it throws a proper LensError. Any other
 * exception fails the property (fast-check then shrinks the input).
 */
// process.memoryUsage() reads /proc (about 20 µs, as long as a small case); V8's own counters cost 1 µs.
function allocated(): number {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

export function total<T>(fn: () => T, ms = CASE_MS): T | undefined {
  const memory = allocated();
  const t0 = performance.now();
  let value: T | undefined;
  try {
    value = fn();
  } catch (e) {
    if (!(e instanceof LensError)) throw e;
    assertUserMessage(e);
  }
  const took = performance.now() - t0;
  assert.ok(took < ms, `case took ${took.toFixed(0)} ms (bound ${ms} ms)`);
  const grew = allocated() - memory;
  assert.ok(grew < CASE_MEMORY_BYTES, `case allocated ${(grew / 2 ** 20).toFixed(0)} MB`);
  return value;
}

/**
 * A decoded tensor is well formed and no larger than its input could hold: `perByte` bytes of storage per
 * input byte (8 for text: every element takes a character and is stored in at most 8 bytes).
 */
export function checkTensor(t: Tensor | undefined, inputBytes: number, perByte: number): void {
  if (t === undefined) return;
  assertWellFormed(t);
  const stored = (t.data as unknown as ArrayBufferView).byteLength;
  assert.ok(stored <= inputBytes * perByte + 4096, `${stored} bytes of tensor from ${inputBytes} bytes of input`);
}

/** Equal shapes, dtypes and values (NaN equals NaN; -0 stays -0 in floating tensors). */
export function assertSameTensor(got: Tensor, want: { dtype: string; shape: readonly number[]; data: ArrayLike<number> }, what = ''): void {
  assert.equal(got.dtype, want.dtype, `${what} dtype`);
  assert.deepEqual(got.shape, [...want.shape], `${what} shape`);
  assert.equal(got.data.length, want.data.length, `${what} length`);
  for (let i = 0; i < want.data.length; i++) {
    const a = got.data[i];
    const b = want.data[i];
    assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what}[${i}]: ${a} vs ${b}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures

export interface Fixture {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export function fixtures(dir: 'npy' | 'npz'): Fixture[] {
  return fs
    .readdirSync(path.join(FIXTURES, dir))
    .filter((f) => f.endsWith('.' + dir))
    .sort()
    .map((f) => ({ name: f, bytes: new Uint8Array(fs.readFileSync(path.join(FIXTURES, dir, f))) }));
}

// ---------------------------------------------------------------------------------------------------------
// Byte mutations: flips, overwrites, truncation, splices (delete, insert random bytes, duplicate a range,
// graft a range of another fixture).

export type ByteEdit =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number; readonly to: number }
  | { readonly op: 'graft'; readonly from: number; readonly at: number; readonly length: number; readonly to: number };

/** Positions are taken modulo the current length, so one edit list applies to any input. */
export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x20, 0x0a, 0x22, 0x27, 0x5b, 0x5d, 0x2c, 0x39) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('graft' as const), from: fc.nat(), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }), to: fc.nat() }) },
);

export function applyEdits(input: Uint8Array, edits: readonly ByteEdit[], donors: readonly Fixture[] = []): Uint8Array {
  let b: Uint8Array = input.slice();
  const splice = (at: number, del: number, add: Uint8Array): Uint8Array => {
    const out = new Uint8Array(b.length - del + add.length);
    out.set(b.subarray(0, at));
    out.set(add, at);
    out.set(b.subarray(at + del), at + add.length);
    return out;
  };
  for (const e of edits) {
    const n = b.length;
    switch (e.op) {
      case 'flip':
        if (n > 0) b[e.at % n] ^= 1 << e.bit;
        break;
      case 'set':
        if (n > 0) b[e.at % n] = e.value;
        break;
      case 'truncate':
        b = b.slice(0, e.at % (n + 1));
        break;
      case 'delete': {
        if (n === 0) break;
        const at = e.at % n;
        b = splice(at, Math.min(e.length, n - at), new Uint8Array(0));
        break;
      }
      case 'insert':
        b = splice(e.at % (n + 1), 0, e.bytes);
        break;
      case 'duplicate': {
        if (n === 0) break;
        const at = e.at % n;
        b = splice(e.to % (n + 1), 0, b.slice(at, at + e.length));
        break;
      }
      case 'graft': {
        if (donors.length === 0) break;
        const d = donors[e.from % donors.length].bytes;
        const at = e.at % Math.max(1, d.length);
        b = splice(e.to % (n + 1), 0, d.slice(at, at + e.length));
        break;
      }
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------------------
// Text pieces for grammars: numbers as people and programs spell them, and the awkward characters.

/** Numbers JSON.parse reads (some beyond float or int32 range, some with many digits). */
export const jsonNumberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -300, max: 300 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.integer({ min: -1e6, max: 1e6 }).map((x) => (x / 64).toFixed(3)),
  fc.constantFrom('0', '-0', '0.0', '-0.0', '1e999', '-1e999', '1e-999', '4.9e-324', '2.5e-324', '1.7976931348623157e308',
    '2147483647', '-2147483648', '2147483648', '4294967296', '9007199254740993', '123456789012345678901234567890',
    '1' + '0'.repeat(300), '0.' + '0'.repeat(400) + '1', '1E5', '1e+5', '1.5E-3', '2e0'),
);

/** Tokens that are numbers somewhere (Python, NumPy, JavaScript) but not in JSON, or not at all. */
export const oddNumberText: fc.Arbitrary<string> = fc.constantFrom(
  'NaN', '-NaN', '+NaN', 'nan', 'NAN', 'Infinity', '-Infinity', '+Infinity', 'inf', '-inf', 'Inf', 'infinity', 'INF', 'Infinit', 'NaNx',
  '+1', '.5', '1.', '01', '-', '--1', '1e', '1e+', '0x1F', '1_000', '1j', '2+3j', '１', '−1', '1,5', '١', 'None', 'null', 'True', 'true', 'False',
);

/** Strings with quotes, escapes, unicode (astral, lone surrogates, line separators, BOM) for keys and values. */
export const awkwardString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', '"', '\\', '\u2028', '\u2029', '\ufeff', '\ud800', '\udc00x', '😀', 'é', '\u0000', '\n', 'logits', 'labels', 'target', 'input', 'weight', '__proto__', 'constructor', 'toString', 'x'.repeat(2000)),
);

/** Whitespace JSON allows, and some it does not. */
export const jsonSpace: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('', ' ', '\n', '\t', '\r\n', '  ') },
  { weight: 1, arbitrary: fc.constantFrom('\u00a0', '\u2028', '\ufeff', '\v', '\f', '/* c */', '// c\n') },
);
