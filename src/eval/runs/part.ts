// What `runs --shard I/N --losses FILE --json` writes for `merge` (RunsPartSums), and its checks. A runs part
// holds, per run, exactly the sums an `eval --shard I/N` part holds for that run's folder (checked by
// partSchema.ts), and a reference to the shard's per-pixel losses file (lossFiles.ts), which merge needs for
// the percentiles and persistent[]. Parts are untrusted: every field is checked before anything is sized
// from it, each violation one line naming the file and the field. Pure.
import { LensError, quoteSnippet } from '../../errors';
import { checkPart, classless, optionDiff, optionValue, PART_FORMAT, sameStrings, sameUnreadable } from '../partSchema';
import { describe } from '../partFields';
import type { EvalOptions, ShardSums, UnreadableEntry } from '../types';
import type { LossFileRef } from './lossFiles';

export const RUNS_PART_FORMAT = 'cross-entropy-lens-runs-part';
const WRITE_PARTS = 'write parts with runs ... --shard I/N --losses FILE --json > PART.json';

export interface RunsPartSums {
  readonly format: typeof RUNS_PART_FORMAT;
  readonly version: 1;
  readonly shard: { readonly index: number; readonly count: number };
  /** The runs' names, in order. */
  readonly names: readonly string[];
  /** Per run, that run's eval part sums over this shard's images (each with `unmatched` empty). */
  readonly runs: readonly ShardSums[];
  readonly unmatched: readonly string[];
  readonly unreadable?: readonly UnreadableEntry[];
  /** The shard's losses: per image (stem order), its non-ignored pixels' float32 losses in run 0, 1, ... */
  readonly losses: LossFileRef;
}

export interface CheckedRunsPart {
  readonly sums: RunsPartSums;
  /** Where the sums sit in the file: '' or 'sums.'. */
  readonly prefix: string;
}

type Obj = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether parsed JSON is a runs part (a shard's whole runs report, or the sums alone). */
export function isRunsPart(json: unknown): boolean {
  return isObj(json) && (json.format === RUNS_PART_FORMAT || (isObj(json.sums) && json.sums.format === RUNS_PART_FORMAT));
}

export function checkRunsPart(json: unknown, file: string): CheckedRunsPart {
  const whole = isObj(json) && json.format !== RUNS_PART_FORMAT;
  const s = whole ? (json as Obj).sums : json;
  if (!isObj(s) || s.format !== RUNS_PART_FORMAT) throw new LensError('format', `${file}: not a runs part — ${WRITE_PARTS}`);
  const prefix = whole ? 'sums.' : '';
  const fail = (path: string, what: string): never => {
    throw new LensError('format', `${file}: ${prefix}${path} ${what}`);
  };
  const expected = (path: string, v: unknown, what: string): never => fail(path, `is ${describe(v)}, expected ${what}`);
  const strings = (path: string, v: unknown): string[] => {
    if (!Array.isArray(v)) expected(path, v, 'an array of strings');
    return (v as unknown[]).map((x, k) => (typeof x === 'string' ? x : expected(`${path}[${k}]`, x, 'a string')));
  };
  if (s.version !== 1) fail('version', `is ${describe(s.version)}; this build reads runs part version 1`);
  if (!isObj(s.shard)) expected('shard', s.shard, 'an object');
  const sh = s.shard as Obj;
  const count = sh.count;
  const index = sh.index;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) expected('shard.count', count, 'an integer >= 1');
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || index >= (count as number)) expected('shard.index', index, `an integer in [0, ${count as number})`);
  // fromJson reads the strings "NaN", "Infinity", "-Infinity" as numbers; a run may be named so.
  const names = strings('names', Array.isArray(s.names) ? s.names.map((x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) : s.names);
  if (names.length < 2) fail('names', `has ${names.length} entries, expected at least 2 runs`);
  if (!Array.isArray(s.runs)) expected('runs', s.runs, `an array of ${names.length} runs (one per name)`);
  const rawRuns = s.runs as unknown[];
  if (rawRuns.length !== names.length) fail('runs', `has ${rawRuns.length} entries, expected ${names.length} (one per name)`);
  const runs = rawRuns.map((r, k) => {
    if (!isObj(r) || r.format !== PART_FORMAT) expected(`runs[${k}]`, r, 'an eval part\'s sums');
    return checkPart(r, file, `${prefix}runs[${k}].`).sums;
  });
  runs.forEach((r, k) => agreeWithFirst(r, runs[0], k, { index: index as number, count: count as number }, (path, what) => fail(`runs[${k}].${path}`, what)));
  const unmatched = strings('unmatched', s.unmatched);
  let unreadable: UnreadableEntry[] | undefined;
  if (s.unreadable !== undefined) {
    if (!Array.isArray(s.unreadable)) expected('unreadable', s.unreadable, 'an array');
    unreadable = (s.unreadable as unknown[]).map((e, k) => {
      if (!isObj(e) || typeof e.name !== 'string' || typeof e.reason !== 'string') return expected(`unreadable[${k}]`, e, 'an object with name and reason strings');
      return { name: e.name, reason: e.reason };
    });
  }
  if (!isObj(s.losses)) expected('losses', s.losses, 'an object {file, bytes, sha256}');
  const l = s.losses as Obj;
  if (typeof l.file !== 'string' || l.file === '') expected('losses.file', l.file, 'a file name');
  if (typeof l.bytes !== 'number' || !Number.isSafeInteger(l.bytes) || l.bytes < 0) expected('losses.bytes', l.bytes, 'an integer >= 0');
  if (typeof l.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(l.sha256)) expected('losses.sha256', l.sha256, 'a SHA-256 in hex');
  const sums: RunsPartSums = {
    format: RUNS_PART_FORMAT, version: 1, shard: { index: index as number, count: count as number }, names, runs, unmatched,
    ...(unreadable !== undefined ? { unreadable } : {}),
    losses: { file: l.file as string, bytes: l.bytes as number, sha256: l.sha256 as string },
  };
  return { sums, prefix };
}

/** A run's sums in a part agree with the part's first run: one shard of the same images, options and classes. */
function agreeWithFirst(r: ShardSums, first: ShardSums, k: number, shard: { index: number; count: number }, fail: (path: string, what: string) => never): void {
  if (r.shard.index !== shard.index || r.shard.count !== shard.count) fail('shard', `is ${r.shard.index}/${r.shard.count}, but the part is shard ${shard.index}/${shard.count}`);
  if (k === 0) return;
  if (r.totalPairs !== first.totalPairs) fail('totalPairs', `is ${r.totalPairs}, runs[0] has ${first.totalPairs}`);
  const diff = optionDiff(r.options, first.options);
  if (diff !== null) {
    const show = (o: EvalOptions): string => describe(optionValue(o, diff));
    fail(`options.${diff}`, `is ${show(r.options)}, runs[0] has ${show(first.options)}`);
  }
  if (r.classes !== first.classes && !(classless(r) && classless(first))) fail('classes', `is ${r.classes}, runs[0] has ${first.classes} — every run must predict the same classes`);
  if (r.images.length !== first.images.length) fail('images', `has ${r.images.length} entries, runs[0] has ${first.images.length}`);
  r.images.forEach((im, i) => {
    const f = first.images[i];
    if (im.name !== f.name) fail(`images[${i}].name`, `is ${quoteSnippet(im.name)}, runs[0] has ${quoteSnippet(f.name)} — every run holds the same images`);
    if (im.pixels !== f.pixels) fail(`images[${i}].pixels`, `is ${im.pixels}, runs[0] has ${f.pixels} for ${quoteSnippet(f.name)}`);
  });
  if (!sameStrings(r.unmatched, first.unmatched)) fail('unmatched', 'differs from runs[0]\'s');
}

/** Parts of one sharded runs evaluation: the same runs, listing and losses files apart (the per-run sums are checked by mergeParts). */
export function checkRunsPartsAgree(parts: readonly CheckedRunsPart[], files: readonly string[]): void {
  if (parts.length === 0) throw new LensError('option', 'merge needs at least one PART.json (see --help)');
  const first = parts[0].sums;
  parts.forEach((p, k) => {
    const at = (path: string): string => `${files[k]}: ${p.prefix}${path}`;
    if (!sameStrings(p.sums.names, first.names)) {
      throw new LensError('option', `${at('names')} is ${p.sums.names.map((n) => quoteSnippet(n)).join(', ')}, ${files[0]} has ${first.names.map((n) => quoteSnippet(n)).join(', ')} — merge parts of one runs evaluation`);
    }
    if (!sameStrings(p.sums.unmatched, first.unmatched) || !sameUnreadable(p.sums.unreadable, first.unreadable)) throw new LensError('option', `${at(sameStrings(p.sums.unmatched, first.unmatched) ? 'unreadable' : 'unmatched')} differs from ${files[0]}'s: made from a different folder listing — rerun every shard on the same folders`);
  });
}
