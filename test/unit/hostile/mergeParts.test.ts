// `merge` over tampered parts (issue #21, round two). Parts are made by the real `eval --shard I/N --json` on
// a small generated set, then edited: 10^8 shards ran out of memory; `classes: -1`, a confusion object and
// non-array fields were "internal error"; NaN, negative and string counts exited 0 with a nonsense report
// (accuracy -9.29%). Each edit is now one line `error: PART.json: <field path> …` (exit 2) naming the file
// and the field, within 3 s and 600 MB; the untouched parts still merge into the single run's report.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertCleanJson, assertOneLineError, runCliBounded } from './boundedCli';
import { assertClose, torchPooledMean, writeEvalSet } from './evalKit';

type Json = Record<string, unknown>;
type Edit = (sums: Json) => void;

const STEMS = ['a', 'b', 'c', 'd', 'e'];

describe('hostile merge parts: every field is checked before merging', function () {
  this.timeout(120000);
  let root: string;
  let single: string;
  /** The shard parts' text, shard 0 and 1 of 2. */
  let partText: [string, string];
  let binsPart: string;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-merge-'));
    const { pred, labels } = writeEvalSet(root, STEMS);
    const run = (args: string[]): string => {
      const r = runCliBounded(['eval', pred, labels, ...args, '--json'], { killAfterMs: 15000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    single = run([]);
    partText = [run(['--shard', '0/2']), run(['--shard', '1/2'])];
    binsPart = run(['--shard', '1/2', '--bins', '10']);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  /** Writes the parts, part1 edited, and merges them. */
  function mergeEdited(edit: Edit | null, which: 0 | 1 = 1, extra: readonly string[] = []): ReturnType<typeof runCliBounded> {
    const files = partText.map((text, k) => {
      const json = JSON.parse(text) as Json;
      if (edit !== null && k === which) edit(json.sums as Json);
      const f = path.join(root, `part${k}.json`);
      fs.writeFileSync(f, JSON.stringify(json));
      return f;
    });
    return runCliBounded(['merge', ...files, ...extra, '--json'], { cwd: root, killAfterMs: 15000 });
  }

  const counts = (s: Json): Json => s.counts as Json;

  it('untouched parts merge into the single run (PyTorch\'s pooled value)', () => {
    const r = assertCleanJson(mergeEdited(null), 'untouched');
    assert.equal(JSON.stringify(r), single.trim());
    assertClose(r.value, torchPooledMean(STEMS.map((_, k) => k + 1)), 'value');
  });

  it('parts declaring 10^8 shards: one line naming shard.count, no allocation by the claim', () => {
    const both = partText.map((text, k) => {
      const json = JSON.parse(text) as { sums: { shard: { count: number } } };
      json.sums.shard.count = 1e8;
      const f = path.join(root, `huge${k}.json`);
      fs.writeFileSync(f, JSON.stringify(json));
      return f;
    });
    const line = assertOneLineError(
      runCliBounded(['merge', ...both], { killAfterMs: 15000 }),
      /huge0\.json: sums\.shard\.count is 100000000, but 2 parts were given: shards 2\/100000000, 3\/100000000, 4\/100000000, … \(99999998 in all\) missing/,
      '10^8 shards',
    );
    assert.ok(line.length < 400, line);
    // One part of a claimed 10^8 beside one of 2.
    assertOneLineError(mergeEdited((s) => void ((s.shard as Json).count = 1e8), 0), /part1\.json: sums\.shard\.count is 2 \(shard 1\/2\), but .*part0\.json is of 100000000 shards/, '10^8 shards, one part');
  });

  it('classes -1, a confusion object, non-array fields: one line naming the field', () => {
    const cases: Array<[string, Edit, RegExp]> = [
      ['classes -1', (s) => void (s.classes = -1), /part1\.json: sums\.classes is -1, expected an integer in \[0, 16777216\]/],
      ['classes 10^9', (s) => void (s.classes = 1e9), /part1\.json: sums\.classes is 1000000000, expected an integer in \[0, 16777216\]/],
      ['confusion as an object', (s) => void (counts(s).confusion = { 0: 3 }), /part1\.json: sums\.counts\.confusion is an object, expected an array/],
      ['count as a number', (s) => void (counts(s).count = 5), /part1\.json: sums\.counts\.count is 5, expected an array of 3 per-class counts/],
      ['tp as a string', (s) => void (counts(s).tp = '1,2,3'), /part1\.json: sums\.counts\.tp is the string "1,2,3", expected an array of 3/],
      ['images as an object', (s) => void (s.images = {}), /part1\.json: sums\.images is an object, expected an array/],
      ['unmatched as a string', (s) => void (s.unmatched = 'x'), /part1\.json: sums\.unmatched is the string "x", expected an array/],
      ['counts as an array', (s) => void (s.counts = []), /part1\.json: sums\.counts is an array of 0, expected an object/],
      ['options missing', (s) => void delete s.options, /part1\.json: sums\.options is missing, expected an object/],
      ['classLoss as an object', (s) => void (((s.images as Json[])[0]).classLoss = {}), /part1\.json: sums\.images\[0\]\.classLoss is an object, expected an array/],
      ['a count array too short', (s) => void (counts(s).fn = [0]), /part1\.json: sums\.counts\.fn has 1 entries, expected 3 per-class counts/],
    ];
    for (const [what, edit, re] of cases) assertOneLineError(mergeEdited(edit), re, what);
  });

  it('NaN, negative, string and fractional counts: one line naming the count', () => {
    const cases: Array<[string, Edit, RegExp]> = [
      ['NaN pixels', (s) => void (counts(s).pixels = 'NaN'), /part1\.json: sums\.counts\.pixels is NaN, expected an integer >= 0/],
      ['negative correct', (s) => void (counts(s).correct = -40), /part1\.json: sums\.counts\.correct is -40, expected an integer >= 0/],
      ['string count', (s) => void ((counts(s).count as unknown[])[1] = '12'), /part1\.json: sums\.counts\.count\[1\] is the string "12", expected an integer >= 0/],
      ['fractional binCount', (s) => void ((counts(s).binCount as number[])[0] = 0.5), /part1\.json: sums\.counts\.binCount\[0\] is 0.5, expected an integer >= 0/],
      ['Infinity images', (s) => void (counts(s).images = 'Infinity'), /part1\.json: sums\.counts\.images is Infinity, expected an integer >= 0/],
      ['a count that does not add up', (s) => void ((counts(s).count as number[])[0] += 7), /part1\.json: sums\.counts\.count adds up to \d+, but counts\.pixels is \d+/],
      ['correct above pixels', (s) => void (counts(s).correct = 10 ** 6), /part1\.json: sums\.counts\.correct 1000000 is more than counts\.pixels/],
      ['a string loss sum', (s) => void (((s.images as Json[])[0]).lossSum = 'x'), /part1\.json: sums\.images\[0\]\.lossSum is the string "x", expected a number/],
    ];
    for (const [what, edit, re] of cases) assertOneLineError(mergeEdited(edit), re, what);
  });

  it('shard index >= count, a duplicate shard, mismatched bins and classes: one line naming the field', () => {
    assertOneLineError(mergeEdited((s) => void ((s.shard as Json).index = 2)), /part1\.json: sums\.shard\.index is 2, expected an index below shard\.count 2/, 'index 2 of 2');
    assertOneLineError(mergeEdited((s) => void ((s.shard as Json).index = -1)), /part1\.json: sums\.shard\.index is -1, expected an integer >= 0/, 'index -1');
    assertOneLineError(mergeEdited((s) => void ((s.shard as Json).count = 0)), /part1\.json: sums\.shard\.count is 0, expected an integer >= 1/, 'count 0');
    assertOneLineError(mergeEdited((s) => void ((s.shard as Json).index = 0)), /part1\.json: sums\.shard\.index is 0, and .*part0\.json is shard 0\/2 too/, 'shard 0 twice');
    // An image dropped from a part.
    assertOneLineError(mergeEdited((s) => void (s.images as unknown[]).pop()), /part1\.json: sums\.counts\.images is 2, but images has 1/, 'an image dropped');
    // bins differing from the part's own arrays, and a part of a run with other bins.
    assertOneLineError(mergeEdited((s) => void ((s.options as Json).bins = 10)), /part1\.json: sums\.counts\.binCount has 15 entries, expected 10 per-bin counts/, 'bins vs arrays');
    const other = path.join(root, 'bins10.json');
    fs.writeFileSync(other, binsPart);
    fs.writeFileSync(path.join(root, 'p0.json'), partText[0]);
    assertOneLineError(runCliBounded(['merge', path.join(root, 'p0.json'), other], { killAfterMs: 15000 }), /bins10\.json: sums\.options\.bins is 10, .*p0\.json has 15 — merge parts of one run/, 'bins across parts');
    assertOneLineError(mergeEdited((s) => void ((s.options as Json).labelSmoothing = 2)), /part1\.json: sums\.options\.labelSmoothing is 2, expected a number in \[0, 1\]/, 'label smoothing 2');
  });
});
