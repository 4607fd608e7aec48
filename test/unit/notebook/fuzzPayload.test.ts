// Fuzzing notebook payloads ({ input, target, weight?, options? }) as the host decodes them (a parsed value
// from renderer messaging, or JSON text) and as the renderer does (the output's bytes): every tensor
// encoding ({npy}, {dtype, shape, data} with base64 or lists, nested lists, {file, bytes, sha256} refs)
// round-trips, and valid payloads with one part replaced by something hostile decode to well-formed tensors
// or a one-line LensError within the kit's bounds.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { readPayload } from '../../../media/rendererCore';
import { LensError } from '../../../src/errors';
import { encodeNpy, npyHeaderEnd } from '../../../src/tensor/binary/npy';
import { decodePayload, type Payload } from '../../../src/tensor/text/payload';
import { DTYPES, type DType, type Tensor } from '../../../src/tensor/tensor';
import { assertSameTensor, awkwardString, checkTensor, total } from '../tensor/fuzzKit';

/** A payload's tensors are no larger than 8 bytes per byte of its JSON text (base64 stores 0.75). */
const PAYLOAD_GROWTH = 8;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function valuesOf(dtype: DType, n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const r = Math.abs(Math.sin(seed + i * 12.9898)) * 100;
    if (dtype === 'bool') return r > 50 ? 1 : 0;
    // Never integral, so a nested list of them reads as floating.
    if (dtype.startsWith('float')) return Math.round(r * 8) / 8 - 6.0625;
    if (dtype.startsWith('uint') || dtype === 'int8') return Math.floor(r);
    return Math.floor(r) - 50;
  });
}

type Encoding = 'npy' | 'raw' | 'flat' | 'nested' | 'lists';
const ALIASES: Partial<Record<DType, readonly string[]>> = { float32: ['float32', 'torch.float32', 'np.float32', 'float'], float64: ['double', 'numpy.float64'], int64: ['long', 'torch.int64'], bool: ['bool_', 'bool'] };

interface Encoded {
  readonly json: unknown;
  readonly want: Tensor;
}

const tensorArb = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }),
  seed: fc.integer(),
  encoding: fc.constantFrom<Encoding>('npy', 'raw', 'flat', 'nested', 'lists'),
  alias: fc.nat(),
  fortranOrder: fc.boolean(),
  bigEndian: fc.boolean(),
});

type TensorSpec = typeof tensorArb extends fc.Arbitrary<infer T> ? T : never;

/** One tensor in one of the payload encodings, and what it must decode to. */
function encode(s: TensorSpec): Encoded {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const values = valuesOf(s.dtype, n, s.seed);
  const data = s.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  const want: Tensor = { dtype: s.dtype, shape: s.shape, data };
  const names = ALIASES[s.dtype] ?? [s.dtype];
  const dtype = names[s.alias % names.length];
  let k = 0;
  const nested = (d: number): unknown => (d === s.shape.length ? (s.dtype === 'bool' ? data[k++] === 1 : data[k++]) : Array.from({ length: s.shape[d] }, () => nested(d + 1)));
  switch (s.encoding) {
    case 'npy':
      return { json: { npy: b64(encodeNpy(want, { fortranOrder: s.fortranOrder, bigEndian: s.bigEndian })) }, want };
    case 'raw': {
      const file = encodeNpy(want);
      return { json: { dtype, shape: s.shape, data: b64(file.subarray(npyHeaderEnd(file))) }, want };
    }
    case 'flat':
      return { json: { dtype, shape: s.shape, data: Array.from(data) }, want };
    case 'nested':
      return { json: { dtype, shape: s.shape, data: nested(0) }, want };
    case 'lists': {
      // Bare nested lists: their dtype is what the values say (booleans, integers, floats); empty ones float32.
      const value = nested(0);
      if (n === 0) return { json: value, want: { dtype: 'float32', shape: s.shape.slice(0, s.shape.indexOf(0) + 1), data: new Float32Array(0) } };
      const listDtype: DType = s.dtype === 'bool' ? 'bool' : s.dtype.startsWith('float') ? 'float64' : 'int64';
      return { json: value, want: { dtype: listDtype, shape: s.shape, data: Float64Array.from(data) } };
    }
  }
}

const optionsArb = fc.record(
  {
    ignoreIndex: fc.integer({ min: -100, max: 300 }),
    reduction: fc.constantFrom('none', 'mean', 'sum'),
    labelSmoothing: fc.constantFrom(0, 0.1, 0.5),
    inputKind: fc.constantFrom('logits', 'probs', 'log-probs'),
    classDim: fc.integer({ min: -2, max: 2 }),
    classNames: fc.array(awkwardString, { maxLength: 4 }),
  },
  { requiredKeys: [] },
);

const payloadArb = fc.record({ input: tensorArb, target: tensorArb, weight: fc.option(tensorArb, { nil: undefined }), options: fc.option(optionsArb, { nil: undefined }) });

function build(p: { input: TensorSpec; target: TensorSpec; weight?: TensorSpec; options?: Record<string, unknown> }): { json: Record<string, unknown>; input: Tensor; target: Tensor; weight: Tensor | null } {
  const input = encode(p.input);
  const target = encode(p.target);
  const weight = p.weight === undefined ? undefined : encode(p.weight);
  const json: Record<string, unknown> = { input: input.json, target: target.json };
  if (weight !== undefined) json.weight = weight.json;
  if (p.options !== undefined) json.options = p.options;
  // A bare list of whole numbers as the input is floating point (JSON cannot tell 2.0 from 2; payload.ts floatInput).
  const inputWant: Tensor = p.input.encoding === 'lists' && input.want.dtype === 'int64' ? { ...input.want, dtype: 'float64' } : input.want;
  return { json, input: inputWant, target: target.want, weight: weight?.want ?? null };
}

function checkPayload(p: Payload | undefined, textBytes: number): void {
  if (p === undefined) return;
  for (const t of [p.input, p.target, p.weight ?? undefined]) checkTensor(t, textBytes, PAYLOAD_GROWTH);
  for (const n of p.classNames) assert.ok(typeof n === 'string' && n.length <= 200);
}

function itemOf(text: string): { data: () => Uint8Array; json: () => unknown } {
  const bytes = new TextEncoder().encode(text);
  return { data: () => bytes, json: () => JSON.parse(text) as unknown };
}

/** The message a call throws, or the payload it returns. */
function outcome(fn: () => Payload): Payload | string {
  try {
    return fn();
  } catch (e) {
    if (e instanceof LensError) return e.message;
    throw e;
  }
}

/** Every way a payload arrives must give the same outcome: host value, host text, renderer bytes. */
function decodeEveryWay(value: unknown): void {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return;
  }
  const size = text.length;
  const fromValue = total(() => decodePayload(JSON.parse(text)));
  checkPayload(fromValue, size);
  checkPayload(total(() => decodePayload(text)), size);
  checkPayload(total(() => readPayload(itemOf(text)).payload), size);
  // Both decode or both refuse (the messages may differ: text is refused by its depth before parsing).
  const a = outcome(() => decodePayload(JSON.parse(text)));
  const b = outcome(() => decodePayload(text));
  assert.equal(typeof b, typeof a, `text: ${typeof b === 'string' ? b : 'decodes'}; value: ${typeof a === 'string' ? a : 'decodes'}`);
}

// ---------------------------------------------------------------------------------------------------------
// Hostile parts: what a notebook output can hold where a tensor, an option or a name belongs.

const deep = (levels: number, open: string, close: string, leaf: string): unknown => JSON.parse(open.repeat(levels) + leaf + close.repeat(levels));
const HOSTILE: ReadonlyArray<() => unknown> = [
  () => deep(65, '[', ']', '1'),
  () => deep(67, '[', ']', '1'),
  () => deep(5000, '[', ']', '1'),
  () => deep(2000, '{"a":', '}', '1'),
  () => 'x'.repeat(60000),
  () => ({ toString: 1, valueOf: 2 }),
  () => ({ __proto__: [1] }),
  () => JSON.parse('{"__proto__": [1, 2]}'),
  () => ({ npy: 'not base64!' }),
  () => ({ npy: b64(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0xff])) }),
  () => ({ npy: 12 }),
  () => ({ dtype: 'float32', shape: [1e9], data: '' }),
  () => ({ dtype: 'float32', shape: [2 ** 40, 2 ** 40], data: [] }),
  () => ({ dtype: 'float32', shape: new Array(70).fill(1), data: [1] }),
  () => ({ dtype: 'float32', shape: [-1], data: [] }),
  () => ({ dtype: 'float32', shape: [1.5], data: [1] }),
  () => ({ dtype: 'float32', shape: '3', data: [1, 2, 3] }),
  () => ({ dtype: 'int32', shape: [1], data: [1e308] }),
  () => ({ dtype: 'int64', shape: [2], data: 'AAAAAAAAAIAAAAAAAAAAgA==' }),
  () => ({ dtype: 'complex64', shape: [1], data: 'AAAAAAAAAAA=' }),
  () => ({ dtype: 'x'.repeat(60000), shape: [1], data: [1] }),
  () => ({ dtype: 'float16', shape: [3], data: 'AAAA' }),
  () => ({ dtype: 'float32', shape: [], data: true }),
  () => ({ file: 'x.npy', bytes: 128, sha256: '0'.repeat(64) }),
  () => ({ file: '../../../etc/passwd', bytes: -1, sha256: 'zz' }),
  () => ({ file: '/abs/path.npy', bytes: 1e300, sha256: 'x'.repeat(60000) }),
  () => ({ file: 'x'.repeat(60000) + '.npy', bytes: '12', sha256: null }),
  () => ({ file: { nested: true }, bytes: [], sha256: [] }),
  () => ({ [`${'k'.repeat(60000)}`]: 1 }),
  () => [[1, 2], [3]],
  () => [[1, true]],
  () => [[1, 'x']],
  () => [[1, null]],
  () => [],
  () => [[]],
  () => 1e308,
  () => -0,
  () => true,
  () => null,
  () => Array.from({ length: 1000 }, () => 'ab'.repeat(100)),
];

/** Every path to a part of a JSON value, parents first. */
function pathsOf(v: unknown): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [[]];
  const stack: Array<[unknown, Array<string | number>]> = [[v, []]];
  while (stack.length > 0) {
    const [x, p] = stack.pop() as [unknown, Array<string | number>];
    if (x === null || typeof x !== 'object' || p.length > 6) continue;
    const entries: Array<[string | number, unknown]> = Array.isArray(x) ? x.map((y, i) => [i, y]) : Object.entries(x);
    for (const [k, y] of entries.slice(0, 8)) {
      out.push([...p, k]);
      stack.push([y, [...p, k]]);
    }
  }
  return out;
}

function replaced(root: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: unknown = JSON.parse(JSON.stringify(root));
  let cur = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  Object.defineProperty(cur, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

describe('fuzz: notebook payloads', function () {
  this.timeout(30000);

  it('every tensor encoding round-trips, as a value, as JSON text and as output bytes', () => {
    fc.assert(
      fc.property(payloadArb, (p) => {
        const b = build(p);
        const text = JSON.stringify(b.json);
        for (const decoded of [decodePayload(b.json), decodePayload(text), readPayload(itemOf(text)).payload]) {
          assertSameTensor(decoded.input, b.input, 'input');
          assertSameTensor(decoded.target, b.target, 'target');
          if (b.weight === null) assert.equal(decoded.weight, null);
          else assertSameTensor(decoded.weight as Tensor, b.weight, 'weight');
          if (p.options !== undefined) {
            const { classNames, ...rest } = p.options;
            assert.deepEqual(decoded.options, rest);
            assert.deepEqual(decoded.classNames, (classNames ?? []).map((n) => n.slice(0, 200)));
          }
        }
      }),
      { numRuns: 300, seed: 31 },
    );
  });

  it('a valid payload with one part replaced by something hostile', () => {
    fc.assert(
      fc.property(payloadArb, fc.nat(), fc.integer({ min: 0, max: HOSTILE.length - 1 }), (p, where, which) => {
        const base = build(p).json;
        const paths = pathsOf(base);
        decodeEveryWay(replaced(base, paths[where % paths.length], HOSTILE[which]()));
      }),
      { numRuns: 500, seed: 32 },
    );
  });

  it('a valid payload with one part replaced by random JSON', () => {
    fc.assert(
      fc.property(payloadArb, fc.nat(), fc.jsonValue({ maxDepth: 3 }), (p, where, v) => {
        const base = build(p).json;
        const paths = pathsOf(base);
        decodeEveryWay(replaced(base, paths[where % paths.length], v));
      }),
      { numRuns: 400, seed: 33 },
    );
  });

  it('{file, bytes, sha256} references never decode to a tensor here (the host loads them, checked)', () => {
    fc.assert(
      fc.property(
        fc.record({ file: fc.oneof(awkwardString, fc.constantFrom('x.npy', '../x.npy', '/etc/passwd', 'C:\\x.npy', 'a/b.npy')), bytes: fc.oneof(fc.nat(), fc.double(), fc.string()), sha256: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), awkwardString) }),
        fc.constantFrom('input', 'target', 'weight'),
        (ref, role) => {
          const json: Record<string, unknown> = { input: [[0.5, 1.5]], target: [1], [role]: ref };
          const text = JSON.stringify(json);
          for (const p of [total(() => decodePayload(json)), total(() => decodePayload(text))]) assert.equal(p, undefined, 'a reference is not a tensor');
        },
      ),
      { numRuns: 200, seed: 34 },
    );
  });

  it('random JSON text and values as whole payloads', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.json({ maxDepth: 4 }), fc.string({ maxLength: 80 })), (v) => {
        checkPayload(total(() => decodePayload(v)), 100_000);
        if (typeof v === 'string') checkPayload(total(() => readPayload(itemOf(v)).payload), 100_000);
      }),
      { numRuns: 800, seed: 35 },
    );
  });
});
