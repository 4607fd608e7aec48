// Runs parts are untrusted input (src/eval/runs/part.ts): every field that a runs part adds to the eval
// parts inside it (shard, names, runs, unmatched, unreadable, losses) set to awkward values, deleted, or
// its arrays cut and grown, gives either a merged report or one line of LensError naming the file — never
// an internal error. (The eval sums inside each run are fuzzed by fuzzMerge.test.ts.)
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromJson, toJson } from '../../../src/cli/json';
import { runRuns } from '../../../src/cli/runsCommand';
import { isLensError } from '../../../src/errors';
import { mergeRunsParts } from '../../../src/eval/runs/merge';
import { checkRunsPart } from '../../../src/eval/runs/part';
import { writeEvalSet } from '../hostile/evalKit';

const DIST = path.resolve(__dirname, '../../../dist');

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

const WILD: JsonValue[] = [null, true, 0, -1, 1.5, NaN, Infinity, 2 ** 53, 1e8, '', 'x', 'NaN', [], [0], ['a'], {}, { file: 'x' }];

describe('runs parts: hostile fields are one line', function () {
  this.timeout(60000);
  let dir = '';
  let parts: string[] = [];
  let single = '';

  before(async () => {
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/ missing: run npm run build first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-part-'));
    const a = writeEvalSet(path.join(dir, 'a'), ['s0', 's1', 's2']);
    const b = writeEvalSet(path.join(dir, 'b'), ['s0', 's1', 's2']);
    single = await runRuns([a.labels, a.pred, b.pred, '--names', 'a,b', '--json'], DIST);
    parts = [];
    for (const i of [0, 1]) {
      const f = path.join(dir, `p${i}.json`);
      fs.writeFileSync(f, await runRuns([a.labels, a.pred, b.pred, '--names', 'a,b', '--shard', `${i}/2`, '--losses', path.join(dir, `p${i}.losses`), '--json'], DIST));
      parts.push(f);
    }
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const merge = (files: readonly string[]): string => toJson(mergeRunsParts(files.map((f) => checkRunsPart(fromJson(fs.readFileSync(f, 'utf8')), f)), files));

  it('the untouched parts merge to the single run', () => {
    assert.equal(merge(parts), single);
  });

  it('every runs-part field set to awkward values, deleted, cut or grown', () => {
    const original = fs.readFileSync(parts[1], 'utf8');
    const base = fromJson(original) as { sums: Record<string, JsonValue> };
    const fields: Array<[string[], JsonValue | undefined]> = [];
    for (const key of ['format', 'version', 'shard', 'names', 'runs', 'unmatched', 'unreadable', 'losses']) {
      for (const v of [...WILD, undefined]) fields.push([[key], v]);
    }
    for (const key of ['index', 'count']) for (const v of [...WILD, undefined]) fields.push([['shard', key], v]);
    for (const key of ['file', 'bytes', 'sha256']) for (const v of [...WILD, undefined, '0'.repeat(64), 4]) fields.push([['losses', key], v]);
    for (const v of [...WILD, undefined]) fields.push([['names', '1'], v], [['runs', '1'], v], [['runs', '0', 'format'], v]);
    let errors = 0;
    let merged = 0;
    const f = parts[1];
    try {
      for (const [at, v] of fields) {
        const json = structuredClone(base) as { sums: Record<string, JsonValue> };
        let o: Record<string, JsonValue> = json.sums;
        for (const k of at.slice(0, -1)) o = o[k] as Record<string, JsonValue>;
        if (v === undefined) delete o[at[at.length - 1]];
        else o[at[at.length - 1]] = v;
        fs.writeFileSync(f, toJson(json));
        try {
          merge(parts);
          merged++;
        } catch (e) {
          assert.ok(isLensError(e), `${at.join('.')} = ${JSON.stringify(v)}: not a LensError: ${(e as Error).stack}`);
          assert.ok(!e.message.includes('\n') && e.message.includes('.json'), `${at.join('.')}: ${e.message}`);
          errors++;
        }
      }
      // Arrays cut and grown.
      for (const key of ['names', 'runs']) {
        for (const len of [0, 1, 3]) {
          const json = structuredClone(base) as { sums: Record<string, JsonValue[]> };
          const a = json.sums[key];
          json.sums[key] = len <= a.length ? a.slice(0, len) : [...a, a[0]];
          fs.writeFileSync(f, toJson(json));
          assert.throws(() => merge(parts), (e: unknown) => isLensError(e) && e.message.startsWith(f), `${key} of ${len}`);
        }
      }
    } finally {
      fs.writeFileSync(f, original);
    }
    assert.ok(errors > 100, `${errors} errors`);
    // Only harmless values merge: an empty unmatched list (the other part's is empty too), an empty or
    // absent unreadable list.
    assert.equal(merged, 3, `${merged} merged`);
  });
});
