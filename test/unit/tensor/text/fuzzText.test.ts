// Fuzzing the text decoders: JSON tensor files and printed tensors (torch/NumPy reprs, NumPy prints, plain
// lists), from grammars (nested lists with deep nesting, huge and odd numbers, NaN/Infinity spellings,
// unicode, records and role objects), from token soup, and from the real prints in printed.json mutated.
// Valid encodings of known tensors must decode to them (JSON.stringify of a nested list, torch and NumPy
// formatting); anything else must be a well-formed tensor or a one-line LensError, within the kit's bounds.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { LensError } from '../../../../src/errors';
import { decodeTensorFile } from '../../../../src/tensor/load';
import { MAX_TENSOR_DIMS, parseJsonDocument, parseJsonTensorFile } from '../../../../src/tensor/text/json';
import { findTensorLiterals, parsePrintedTensor } from '../../../../src/tensor/text/printed';
import type { Tensor } from '../../../../src/tensor/tensor';
import { assertSameTensor, assertUserMessage, awkwardString, checkTensor, jsonNumberText, jsonSpace, oddNumberText, total } from '../fuzzKit';
import { fixtureJson } from '../helpers';

/** Text stores at most 8 bytes (a float64) per character. */
const TEXT_GROWTH = 8;

function jsonFile(text: string): void {
  const r = total(() => parseJsonTensorFile(text, 'f.json'));
  if (r !== undefined) for (const t of [r.input, r.target, r.weight, r.tensor]) checkTensor(t, text.length, TEXT_GROWTH);
  const bytes = new TextEncoder().encode(text);
  for (const role of ['input', 'target'] as const) checkTensor(total(() => decodeTensorFile('f.json', bytes, role)), bytes.length, TEXT_GROWTH);
}

function printed(text: string): void {
  checkTensor(total(() => parsePrintedTensor(text, 'sel')), text.length, TEXT_GROWTH);
  const found = total(() => findTensorLiterals(text)) ?? [];
  let last = 0;
  for (const f of found) {
    assert.ok(f.start >= last && f.end > f.start && f.end <= text.length, 'ordered, non-overlapping spans');
    last = f.end;
    if ('tensor' in f) checkTensor(f.tensor, f.end - f.start, TEXT_GROWTH);
    else {
      assert.ok(f.error instanceof LensError);
      assertUserMessage(f.error);
    }
  }
  const bytes = new TextEncoder().encode(text);
  checkTensor(total(() => decodeTensorFile('sel.txt', bytes, 'input')), bytes.length, TEXT_GROWTH);
}

const join = (parts: readonly string[], seps: readonly string[]): string => parts.map((p, i) => (i === 0 ? p : seps[i % seps.length] + p)).join('');

// ---------------------------------------------------------------------------------------------------------
// JSON grammar: values that are mostly tensor-shaped, with every awkward piece mixed in.

const jsonNumberOrOdd = fc.oneof({ weight: 8, arbitrary: jsonNumberText }, { weight: 1, arbitrary: oddNumberText });
const jsonKey = fc.oneof(
  fc.constantFrom('logits', 'input', 'labels', 'target', 'weight', 'dtype', 'shape', 'data', 'npy', 'Logits', 'y', 'pred'),
  awkwardString.map((s) => s.slice(0, 200)),
).map((k) => JSON.stringify(k));

const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string; list: string; object: string; deep: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 6, withCrossShrink: true },
    { weight: 6, arbitrary: jsonNumberOrOdd },
    { weight: 4, arbitrary: tie('list') },
    { weight: 1, arbitrary: tie('object') },
    { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '"float32"', '"int64"', '"AAAA"', '[]', '{}') },
    { weight: 1, arbitrary: awkwardString.map((s) => JSON.stringify(s)) },
    { weight: 1, arbitrary: tie('deep') },
  ),
  list: fc.tuple(fc.array(tie('value'), { maxLength: 5 }), fc.array(jsonSpace, { minLength: 1, maxLength: 3 })).map(([xs, sp]) => `[${sp[0]}${join(xs, sp.map((s) => `,${s}`))}${sp[sp.length - 1]}]`),
  object: fc.array(fc.tuple(jsonKey, tie('value'), jsonSpace), { maxLength: 4 }).map((kvs) => `{${kvs.map(([k, v, s]) => `${k}:${s}${v}`).join(', ')}}`),
  deep: fc.tuple(fc.integer({ min: 30, max: 120 }), jsonNumberOrOdd, fc.boolean()).map(([d, leaf, obj]) => (obj ? '{"a": '.repeat(d) + leaf + '}'.repeat(d) : '['.repeat(d) + leaf + ']'.repeat(d))),
})).value;

/** Rectangular nested lists written by JSON.stringify, with the numbers spelled every way JSON allows. */
const rectangularJson = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }), fc.array(jsonNumberText, { minLength: 1, maxLength: 40 }), fc.array(jsonSpace, { minLength: 1, maxLength: 3 }))
  .map(([shape, pool, spaces]) => {
    let k = 0;
    const build = (d: number): string => (d === shape.length ? pool[k++ % pool.length] : `[${join(Array.from({ length: shape[d] }, () => build(d + 1)), spaces.map((s) => `,${s}`))}]`);
    return build(0);
  });

interface Rectangular {
  readonly shape: number[];
  readonly values: number[];
}

/** Shape and values of what JSON.parse made of a text, when it is a rectangular list of numbers. */
function rectangular(v: unknown): Rectangular | undefined {
  const shape: number[] = [];
  for (let cur = v; Array.isArray(cur); cur = cur[0]) {
    shape.push(cur.length);
    if (cur.length === 0) break;
  }
  const values: number[] = [];
  const walk = (a: unknown, d: number): boolean => {
    if (d === shape.length) {
      if (typeof a !== 'number') return false;
      values.push(a);
      return true;
    }
    return Array.isArray(a) && a.length === shape[d] && a.every((x) => walk(x, d + 1));
  };
  return shape.length > 0 && shape.length <= MAX_TENSOR_DIMS && walk(v, 0) ? { shape, values } : undefined;
}

/** What a JSON tensor file must make of a text that JSON.parse reads as a rectangular numeric list. */
function agreesWithJsonParse(text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  const want = rectangular(parsed);
  if (want === undefined) return;
  const numbers = want.values.length;
  const t: Tensor | undefined = total(() => parseJsonTensorFile(text, 'f.json').tensor);
  if (t === undefined) {
    // Only an integer-written value beyond int32 may refuse (the kernel's integer type), and only when no
    // number is written as a float.
    let error: unknown;
    try {
      parseJsonTensorFile(text, 'f.json');
    } catch (e) {
      error = e;
    }
    assert.match((error as LensError).message, /does not fit the kernel's 32-bit integer type/, text.slice(0, 200));
    return;
  }
  assert.deepEqual(t.shape, want.shape);
  assert.equal(t.data.length, numbers);
  if (numbers === 0) return;
  assert.ok(t.dtype === 'float64' || t.dtype === 'int64', t.dtype);
  // Integers have no -0 (Python's json neither); floats keep it.
  const same = t.dtype === 'int64' ? (a: number, b: number) => a === b : Object.is;
  for (let i = 0; i < numbers; i++) assert.ok(same(t.data[i], want.values[i]), `[${i}]: ${t.data[i]} vs ${want.values[i]} in ${text.slice(0, 200)}`);
}

describe('fuzz: JSON tensors', function () {
  this.timeout(30000);

  it('grammar: nested lists, records and role objects with odd numbers, unicode and deep nesting', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        jsonFile(text);
        agreesWithJsonParse(text);
      }),
      { numRuns: 1000, seed: 21 },
    );
  });

  it('rectangular lists decode to exactly what JSON.parse reads (huge and tiny numbers, -0, exponents)', () => {
    fc.assert(fc.property(rectangularJson, agreesWithJsonParse), { numRuns: 600, seed: 22 });
  });

  it('random strings and token soup', () => {
    const tokens = ['[', ']', ',', ' ', '\n', '1', '-2.5e3', '0', '1.', '.5', 'e5', 'NaN', 'Infinity', '-Infinity', 'true', 'false', 'null', '"s"', '"', '\\', '{', '}', ':', '"logits"', '"labels"', '"dtype"', '"float32"', '"shape"', '"data"', '"npy"', '-', '1e999', '123456789012345678901', '\ufeff', '\u2028', '😀', '\ud800'];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((a) => a.join(''))), jsonFile),
      { numRuns: 2000, seed: 6 },
    );
  });

  it('agrees with JSON.parse on any valid JSON document', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        const ours = parseJsonDocument(text).value;
        assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(text));
        jsonFile(text);
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('JSON.stringify of nested lists of doubles, integers and booleans round-trips, alone and under role keys', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        fc.oneof(
          fc.array(fc.double({ noDefaultInfinity: true, noNaN: true }), { minLength: 64, maxLength: 64 }).map((xs) => ({ kind: 'float64' as const, xs: xs.map((x) => (/[.e]/.test(JSON.stringify(x)) ? x : 0.5)) })),
          fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 64, maxLength: 64 }).map((xs) => ({ kind: 'int64' as const, xs })),
          fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }).map((bs) => ({ kind: 'bool' as const, xs: bs })),
        ),
        (shape, pool) => {
          let k = 0;
          const build = (d: number): unknown => (d === shape.length ? pool.xs[k++] : Array.from({ length: shape[d] }, () => build(d + 1)));
          const value = build(0);
          const flat = (pool.xs.slice(0, k) as Array<number | boolean>).map(Number);
          const want = { dtype: pool.kind, shape, data: flat };
          assertSameTensor(parseJsonTensorFile(JSON.stringify(value), 'f.json').tensor as Tensor, want, 'alone');
          const file = parseJsonTensorFile(JSON.stringify({ logits: value, labels: [0] }, null, 1), 'f.json');
          assertSameTensor(file.input as Tensor, want, 'under logits');
          assertSameTensor(parseJsonTensorFile(JSON.stringify({ dtype: pool.kind, shape, data: value }), 'f.json').tensor as Tensor, want, 'as a record');
        },
      ),
      { numRuns: 300, seed: 8 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Printed tensors

interface PrintedCase {
  readonly name: string;
  readonly text: string;
  readonly dtype?: string;
  readonly shape?: number[];
  readonly values?: Array<number | boolean | string>;
  readonly error?: string;
}
const printedCases = fixtureJson<{ cases: PrintedCase[] }>('printed.json').cases;
const goodCases = printedCases.filter((c) => c.error === undefined && c.text.length < 4000);

function expectedOf(c: PrintedCase): { dtype: string; shape: number[]; data: number[] } {
  const num = (v: number | boolean | string): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));
  return { dtype: c.dtype as string, shape: c.shape as number[], data: (c.values ?? []).map(num) };
}

/** A torch-style repr of a float32 tensor (4 decimals, rows wrapped like torch's), or NumPy's, or its print. */
const floatTensor = fc.tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: -1600, max: 1600 }), { minLength: 27, maxLength: 27 }), fc.array(fc.constantFrom('nan', 'inf', '-inf', ''), { minLength: 27, maxLength: 27 }));

function nestedText(shape: readonly number[], leaves: readonly string[], sep: (depth: number) => string): string {
  let k = 0;
  const build = (d: number): string => (d === shape.length ? leaves[k++] : `[${Array.from({ length: shape[d] }, () => build(d + 1)).join(sep(d))}]`);
  return build(0);
}

describe('fuzz: printed tensors', function () {
  this.timeout(30000);

  it('random strings and token soup', () => {
    const tokens = ['tensor(', 'array(', 'np.array(', 'torch.tensor(', '[', ']', '(', ')', ',', ' ', '\n', '1', '-0.5', '1e-3', '2.', 'nan', '-inf', '...', '…', 'True', 'False', 'dtype=torch.float16', 'dtype=float32', 'dtype=torch.int8', "device='cuda:0'", 'grad_fn=<AddBackward0>', 'size=(0, 3)', 'shape=(2,)', 'x', '"', "'", '#', 'j', '=', '300', '3000000000', '1e999', '\u2028', '１', '😀'];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((a) => a.join(''))), printed),
      { numRuns: 2000, seed: 9 },
    );
  });

  it('real torch and NumPy prints, mutated character by character', () => {
    const pieces = ['', ' ', '\n', ',', '[', ']', '(', ')', '.', '-', 'e', 'nan', '...', 'dtype=', '1', '"', '#'];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: printedCases.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 5 }),
        (i, edits) => {
          let text = printedCases[i].text;
          for (const [at, del, add] of edits) {
            const p = at % (text.length + 1);
            text = text.slice(0, p) + add + text.slice(p + del);
          }
          printed(text);
          jsonFile(text);
        },
      ),
      { numRuns: 1000, seed: 23 },
    );
  });

  it('real torch and NumPy prints keep their values with extra whitespace after separators and brackets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: goodCases.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom(' ', '  ', '\n', '\n  ', '\t')), { minLength: 1, maxLength: 4 }), (i, inserts) => {
        const c = goodCases[i];
        // Spots right after '[' or ',' and right before ']', where Python and the printers allow space.
        const spots: number[] = [];
        for (let p = 0; p < c.text.length; p++) {
          if (c.text[p] === '[' || c.text[p] === ',') spots.push(p + 1);
          if (c.text[p] === ']') spots.push(p);
        }
        if (spots.length === 0) return;
        const at = [...new Set(inserts.map(([k, s]) => `${spots[k % spots.length]}\u0000${s}`))].map((x) => x.split('\u0000')).map(([p, s]) => [Number(p), s] as const).sort((a, b) => b[0] - a[0]);
        let text = c.text;
        for (const [p, s] of at) text = text.slice(0, p) + s + text.slice(p);
        assertSameTensor(parsePrintedTensor(text), expectedOf(c), `${c.name}: ${JSON.stringify(text).slice(0, 200)}`);
      }),
      { numRuns: 600, seed: 24 },
    );
  });

  it('integer lists round-trip with commas, without, and as torch and NumPy reprs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 27, maxLength: 27 }), (shape, pool) => {
        const json = nestedText(shape, pool.map(String), () => ',');
        const values = pool.slice(0, shape.reduce((a, b) => a * b, 1));
        for (const text of [json, json.replace(/,/g, ' '), json.replace(/\],\[/g, '],\n [').replace(/,/g, ', '), `tensor(${json})`, `array(${json}, dtype=int32)`]) {
          const t = parsePrintedTensor(text);
          assert.deepEqual(t.shape, shape, text);
          assert.deepEqual([...t.data], values, text);
        }
      }),
      { numRuns: 200, seed: 10 },
    );
  });

  it('float lists with nan and inf round-trip as torch reprs (float32), NumPy reprs (float64) and NumPy prints', () => {
    fc.assert(
      fc.property(floatTensor, ([shape, pool, specials]) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const values = pool.slice(0, n).map((k, i) => (specials[i] === 'nan' ? NaN : specials[i] === 'inf' ? Infinity : specials[i] === '-inf' ? -Infinity : k / 16));
        const spell = (digits: number) => (x: number): string => (Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x.toFixed(digits));
        const indent = (prefix: string) => (d: number): string => `,${'\n'.repeat(shape.length - 1 - d)}${' '.repeat(prefix.length + d + 1)}`;
        const torch = `tensor(${nestedText(shape, values.map(spell(4)), (d) => (d === shape.length - 1 ? ', ' : indent('tensor(')(d)))})`;
        const torch64 = `tensor(${nestedText(shape, values.map(spell(4)), () => ', ')}, dtype=torch.float64)`;
        const numpyRepr = `array(${nestedText(shape, values.map(spell(4)), (d) => (d === shape.length - 1 ? ', ' : indent('array(')(d)))})`;
        const numpyPrint = nestedText(shape, values.map(spell(4)), (d) => (d === shape.length - 1 ? ' ' : `${'\n'.repeat(shape.length - 1 - d)}${' '.repeat(d + 1)}`));
        const cases: Array<[string, string]> = [[torch, 'float32'], [torch64, 'float64'], [numpyRepr, 'float64'], [numpyPrint, 'float64'], [`array(${nestedText(shape, values.map(spell(4)), () => ', ')}, dtype=float32)`, 'float32']];
        for (const [text, dtype] of cases) {
          const want = { dtype, shape, data: dtype === 'float32' ? Array.from(Float32Array.from(values)) : values };
          assertSameTensor(parsePrintedTensor(text), want, text);
          const found = findTensorLiterals(`x = ${text}\n`);
          assert.equal(found.length, 1, text);
          assert.ok('tensor' in found[0], text);
        }
      }),
      { numRuns: 300, seed: 25 },
    );
  });
});

describe('fuzz: pathological text finishes quickly', function () {
  this.timeout(20000);
  // Linear work on a few hundred KB: a second is ample even at three times this machine's load.
  const BIG_CASE_MS = 3000;
  const texts: Array<[string, string]> = [
    ['100k open brackets', '['.repeat(100000)],
    ['100k nested lists', '['.repeat(100000) + '1' + ']'.repeat(100000)],
    ['100k nested objects', '{"a":'.repeat(100000) + '1' + '}'.repeat(100000)],
    ['100k open calls', 'tensor(['.repeat(20000)],
    ['50k broken bare lists', '[1 x]\n'.repeat(50000)],
    ['50k summarized lists', 'a = [1 ... 2]\n'.repeat(50000)],
    ['50k tiny tensors', 'tensor([1])'.repeat(50000)],
    ['deep then long', '[1 '.repeat(60) + '1 '.repeat(200000)],
    ['closers only', ')]'.repeat(100000)],
    ['one number of 300k digits', '[' + '7'.repeat(300000) + ']'],
    ['300k commas', '[' + ','.repeat(300000) + ']'],
    ['100k strings', '[' + '"a",'.repeat(100000) + '1]'],
    ['200k-character key', `{"${'k'.repeat(200000)}": [1]}`],
  ];
  for (const [name, text] of texts) {
    it(name, () => {
      const found = total(() => findTensorLiterals(text), BIG_CASE_MS) ?? [];
      for (const f of found) if ('tensor' in f) checkTensor(f.tensor, text.length, TEXT_GROWTH);
      checkTensor(total(() => parsePrintedTensor(text), BIG_CASE_MS), text.length, TEXT_GROWTH);
      jsonFileWithin(text, BIG_CASE_MS);
    });
  }
});

function jsonFileWithin(text: string, ms: number): void {
  const r = total(() => parseJsonTensorFile(text, 'x.json'), ms);
  if (r !== undefined) for (const t of [r.input, r.target, r.weight, r.tensor]) checkTensor(t, text.length, TEXT_GROWTH);
}
