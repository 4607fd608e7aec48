// Structure-aware fuzzing of `merge`'s parts (src/eval/partSchema.ts, src/eval/merge.ts): real parts written
// by `eval --shard I/N --json` on generated sets, then mutated where it hurts — a field's type (string,
// object, array, null, boolean), its sign, NaN and infinities, huge numbers (10^8 shards or classes, 2^53),
// array lengths (cut, emptied, grown), deleted keys and values moved between fields — written and read back
// as a file is (NaN as "NaN"). Every case is a merged report whose counts make sense, or one line of
// LensError, within the fuzz kit's time and memory bounds (nothing is sized by a claimed count). Seeds are
// fixed: a failure reproduces, and fast-check prints the shrunk mutation list.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { fromJson, runEval, toJson } from '../../../src/cli/evalCommand';
import { mergeParts } from '../../../src/eval/merge';
import { checkPart } from '../../../src/eval/partSchema';
import type { EvalReport } from '../../../src/eval/types';
import { writeEvalSet } from '../hostile/evalKit';
import { total } from '../tensor/fuzzKit';

const DIST = path.resolve(__dirname, '../../../dist');

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
type Key = string | number;

/** Every path to a value in a JSON tree (the root excluded), parents before children. */
function paths(v: JsonValue, at: Key[] = [], out: Key[][] = []): Key[][] {
  const visit = (k: Key, x: JsonValue): void => {
    out.push([...at, k]);
    paths(x, [...at, k], out);
  };
  if (Array.isArray(v)) v.forEach((x, i) => visit(i, x));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) visit(k, v[k]);
  return out;
}

function get(root: JsonValue, p: readonly Key[]): JsonValue | undefined {
  let v: JsonValue | undefined = root;
  for (const k of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<Key, JsonValue>)[k];
  }
  return v;
}

/** Awkward values for any field: other types, signs, NaN and infinities, huge and fractional numbers. */
const wildValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(
    NaN, Infinity, -Infinity, -1, -0, 0, 1, 0.5, 2, 3, 15, 1e8, 2 ** 24, 2 ** 24 + 1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308,
    '12', 'NaN', '', 'cross-entropy-lens-eval-part', null, true, false, {}, [], [0], [0, 0], [[0, 1]], { 0: 3 }, { num: 1, den: 0 },
    { index: 0, count: 1 },
  ),
  fc.integer({ min: -5, max: 5 }),
  fc.double(),
);

type Mutation =
  | { readonly op: 'set'; readonly at: number; readonly value: JsonValue }
  | { readonly op: 'tweak'; readonly at: number; readonly how: 'negate' | 'plus1' | 'minus1' | 'times1e8' | 'half' }
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'resize'; readonly at: number; readonly length: number }
  | { readonly op: 'move'; readonly at: number; readonly from: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: wildValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('tweak' as const), at: fc.nat(), how: fc.constantFrom('negate' as const, 'plus1' as const, 'minus1' as const, 'times1e8' as const, 'half' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('resize' as const), at: fc.nat(), length: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('move' as const), at: fc.nat(), from: fc.nat() }) },
);

/** Applies one mutation at a path chosen by index among the tree's current paths. */
function mutate(root: JsonValue, m: Mutation): void {
  const all = paths(root);
  if (all.length === 0) return;
  const p = all[m.at % all.length];
  const parent = get(root, p.slice(0, -1)) as Record<Key, JsonValue> | JsonValue[];
  const key = p[p.length - 1];
  const slot = parent as Record<Key, JsonValue>;
  const here = slot[key];
  switch (m.op) {
    case 'set':
      slot[key] = structuredClone(m.value);
      break;
    case 'tweak':
      if (typeof here === 'number') {
        slot[key] = m.how === 'negate' ? -here : m.how === 'plus1' ? here + 1 : m.how === 'minus1' ? here - 1 : m.how === 'times1e8' ? here * 1e8 : here / 2;
      }
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete slot[key];
      break;
    case 'resize':
      if (Array.isArray(here)) {
        if (m.length < here.length) here.length = m.length;
        else for (let i = here.length; i < m.length && here.length > 0; i++) here.push(structuredClone(here[i % here.length]));
      }
      break;
    case 'move':
      slot[key] = structuredClone(get(root, all[m.from % all.length]) ?? null);
      break;
  }
}

/**
 * Where mutations go: mostly into the sums a part carries (the rest of a shard's report is what a person
 * reads; merge ignores it), sometimes anywhere in the file.
 */
function target(json: JsonValue, where: number): JsonValue {
  const sums = json !== null && typeof json === 'object' && !Array.isArray(json) ? json.sums : undefined;
  return where === 0 || sums === undefined ? json : sums;
}

interface Run {
  readonly name: string;
  /** The parts as eval wrote them. */
  readonly parts: readonly string[];
  readonly single: string;
}

/** Merges part texts as `merge` does: read back, checked, merged. */
function merge(texts: readonly string[]): EvalReport {
  const names = texts.map((_, k) => `part${k}.json`);
  const checked = texts.map((t, k) => checkPart(fromJson(t), names[k]));
  return mergeParts(checked.map((c) => c.sums), names, checked.map((c) => c.prefix)).report;
}

const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;
const isRatio = (v: number | null): boolean => v === null || (v >= 0 && v <= 1);

/** What a merged report of checked parts guarantees whatever the parts said. */
function assertSane(r: EvalReport): void {
  assert.ok(isCount(r.images), `images ${r.images}`);
  assert.equal(r.perImage.length, r.images);
  assert.ok(isRatio(r.pixelAccuracy), `pixelAccuracy ${String(r.pixelAccuracy)}`);
  assert.ok(isRatio(r.miou), `miou ${String(r.miou)}`);
  for (const c of r.perClass) {
    assert.ok(isCount(c.count), `class ${c.class} count ${c.count}`);
    assert.ok(isRatio(c.iou) && isRatio(c.accuracy) && isRatio(c.dice), `class ${c.class} ratios`);
  }
  for (const n of r.calibration.count) assert.ok(isCount(n), `bin count ${n}`);
  for (const a of r.calibration.accuracy) assert.ok(isRatio(a), `bin accuracy ${String(a)}`);
  assert.ok(toJson(r).length > 0);
}

describe('fuzz: merge parts', function () {
  this.timeout(120000);
  let root: string;
  const runs: Run[] = [];

  before(async () => {
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/worker.js missing: run npm run build first (npm test does)');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-fuzz-merge-'));
    const { pred, labels } = writeEvalSet(root, ['a', 'b', 'c']);
    fs.writeFileSync(path.join(pred, 'orphan_logits.npy'), fs.readFileSync(path.join(pred, 'a_logits.npy')));
    const variants: Array<[string, string[], number]> = [
      ['2 shards', [], 2],
      ['3 shards, weight and smoothing, 5 bins', ['--weight', '1,2,0.5', '--label-smoothing', '0.1', '--bins', '5'], 3],
      // More shards than pairs: shard 3 has no image (0 classes).
      ['4 shards over 3 pairs', ['--ignore-index', '2'], 4],
    ];
    for (const [name, args, N] of variants) {
      const parts: string[] = [];
      for (let i = 0; i < N; i++) parts.push(await runEval([pred, labels, ...args, '--shard', `${i}/${N}`, '--json'], DIST));
      runs.push({ name, parts, single: await runEval([pred, labels, ...args, '--json'], DIST) });
    }
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('the untouched parts merge into the single run, bit for bit', () => {
    for (const r of runs) assert.equal(toJson(merge(r.parts)), r.single, r.name);
  });

  it('mutated fields of one part: a sane merged report or one line of LensError', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.nat(9), (which, part, edits, where) => {
        const run = runs[which % runs.length];
        const k = part % run.parts.length;
        const texts = [...run.parts];
        const json = fromJson(texts[k]) as JsonValue;
        for (const m of edits) mutate(target(json, where), m);
        texts[k] = toJson(json);
        const report = total(() => merge(texts));
        if (report !== undefined) assertSane(report);
      }),
      { numRuns: 400, seed: 21 },
    );
  });

  it('the same mutation on every part (a claimed shard or class count in all of them)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 2 }), (which, edits) => {
        const run = runs[which % runs.length];
        const texts = run.parts.map((t) => {
          const json = fromJson(t) as JsonValue;
          for (const m of edits) mutate(target(json, 1), m);
          return toJson(json);
        });
        const report = total(() => merge(texts));
        if (report !== undefined) assertSane(report);
      }),
      { numRuns: 300, seed: 2121 },
    );
  });

  it('claims of huge counts in the sums: refused without allocating by them', () => {
    const run = runs[0];
    const edits: Array<[string, (s: Record<string, JsonValue>) => void]> = [
      ['shard.count 10^8', (s) => void ((s.shard as Record<string, JsonValue>).count = 1e8)],
      ['classes 2^24', (s) => void (s.classes = 2 ** 24)],
      ['classes 10^9', (s) => void (s.classes = 1e9)],
      ['bins 10^5', (s) => void ((s.options as Record<string, JsonValue>).bins = 1e5)],
      ['totalPairs 2^53', (s) => void (s.totalPairs = 2 ** 53)],
      ['a confusion cell far out', (s) => void (((s.counts as Record<string, JsonValue>).confusion as JsonValue[]).push([2 ** 40, 1]))],
    ];
    for (const [what, edit] of edits) {
      const texts = run.parts.map((t) => {
        const json = fromJson(t) as { sums: Record<string, JsonValue> };
        edit(json.sums);
        return toJson(json);
      });
      // total() returns undefined for a proper one-line LensError, within its time and memory bounds.
      assert.equal(total(() => merge(texts)), undefined, what);
    }
  });
});
