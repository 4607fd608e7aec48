// What `merge` accepts as a part (ShardSums, src/eval/types.ts), checked field by field before anything is
// sized from it. A part is a file anyone can edit or truncate: a claimed 10^8 shards or classes must not
// size an allocation, a count of -3 or "12" must not make a report (it made accuracy -9.29%), and an object
// where an array belongs must not reach the merge loops as an internal error. Each violation is one line,
// `PART.json: <field path> <what is wrong>`. Pure.
//
// Floating sums may be NaN or ±Infinity: logits holding them give such sums in the single run too, and the
// merge must reproduce that run. Counts are exact integers >= 0 and agree with each other the way eval
// writes them (per-class counts add up to the pixels, and so on).
import { LensError, quoteSnippet } from '../errors';
import { MAX_CLASSES } from '../kernel/classLimits';
import { checkSection } from './labelIssueParts';
import { describe, Part, type Obj } from './partFields';
import { compareStems } from './pairing';
import { CONFUSION_MAX_CLASSES, PART_FORMAT, type EvalOptions, type ImageRecord, type ShardSums, type UnreadableEntry } from './types';

export { PART_FORMAT } from './types';
/** eval's own bounds on --bins and --boundary (src/cli/evalCommand.ts). */
const MAX_BINS = 100000;
const MAX_BOUNDARY = 100000;
const WRITE_PARTS = 'write parts with eval ... --shard I/N --json > PART.json';

function options(p: Part, v: unknown, classes: number): EvalOptions {
  const o = p.object('options', v);
  const labelSmoothing = p.num('options.labelSmoothing', o.labelSmoothing);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) p.expected('options.labelSmoothing', labelSmoothing, 'a number in [0, 1]');
  const weight = o.weight === null ? null : p.array('options.weight', o.weight, classes, 'weights (one per class)').map((w, i) => p.num(`options.weight[${i}]`, w));
  return {
    ignoreIndex: p.int('options.ignoreIndex', o.ignoreIndex, -(2 ** 31), 2 ** 31 - 1),
    labelSmoothing,
    classDim: p.int('options.classDim', o.classDim, -4, 3),
    bins: p.int('options.bins', o.bins, 1, MAX_BINS),
    boundary: p.int('options.boundary', o.boundary, 0, MAX_BOUNDARY),
    weight,
  };
}

function sum(a: readonly number[]): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}

function counts(p: Part, v: unknown, C: number, B: number): ShardSums['counts'] {
  const c = p.object('counts', v);
  const images = p.count('counts.images', c.images);
  const pixels = p.count('counts.pixels', c.pixels);
  const correct = p.count('counts.correct', c.correct);
  const count = p.counts('counts.count', c.count, C, 'per-class counts');
  const tp = p.counts('counts.tp', c.tp, C, 'per-class counts');
  const fp = p.counts('counts.fp', c.fp, C, 'per-class counts');
  const fn = p.counts('counts.fn', c.fn, C, 'per-class counts');
  const binCount = p.counts('counts.binCount', c.binCount, B, 'per-bin counts (options.bins)');
  const binCorrect = p.counts('counts.binCorrect', c.binCorrect, B, 'per-bin counts (options.bins)');
  const bandCount = p.count('counts.bandCount', c.bandCount);
  const outsideCount = p.count('counts.outsideCount', c.outsideCount);
  let confusion: Array<readonly [number, number]> | null = null;
  if (C <= CONFUSION_MAX_CLASSES) {
    const cells = p.array('counts.confusion', c.confusion);
    confusion = cells.map((cell, k) => {
      const at = `counts.confusion[${k}]`;
      const pair = p.array(at, cell, 2, '([cell, count])');
      return [p.int(`${at}[0]`, pair[0], 0, C * C - 1), p.count(`${at}[1]`, pair[1])] as const;
    });
  } else if (c.confusion !== null) {
    p.expected('counts.confusion', c.confusion, `null (no confusion cells above ${CONFUSION_MAX_CLASSES} classes)`);
  }
  // How eval counts: each non-ignored pixel once per class, bin, band side and confusion cell.
  if (correct > pixels) p.fail('counts.correct', `${correct} is more than counts.pixels ${pixels}`);
  const agree = (path: string, total: number, what: string): void => {
    if (total !== pixels) p.fail(path, `adds up to ${total}, but counts.pixels is ${pixels} (${what})`);
  };
  agree('counts.count', sum(count), 'each pixel counts for its label');
  agree('counts.binCount', sum(binCount), 'each pixel falls in one bin');
  agree('counts.bandCount', bandCount + outsideCount, 'with counts.outsideCount: each pixel is in the band or outside');
  if (confusion !== null) agree('counts.confusion', sum(confusion.map((x) => x[1])), 'each pixel is one cell');
  if (sum(tp) !== correct) p.fail('counts.tp', `adds up to ${sum(tp)}, but counts.correct is ${correct}`);
  // Each wrong pixel is a false negative of its label and a false positive of its prediction.
  for (const [path, a] of [['counts.fp', fp], ['counts.fn', fn]] as const) {
    if (sum(a) !== pixels - correct) p.fail(path, `adds up to ${sum(a)}, but counts.pixels - counts.correct is ${pixels - correct}`);
  }
  for (let k = 0; k < C; k++) if (tp[k] > count[k]) p.fail(`counts.tp[${k}]`, `${tp[k]} is more than counts.count[${k}] ${count[k]}`);
  for (let b = 0; b < B; b++) if (binCorrect[b] > binCount[b]) p.fail(`counts.binCorrect[${b}]`, `${binCorrect[b]} is more than counts.binCount[${b}] ${binCount[b]}`);
  return { images, pixels, correct, count, tp, fp, fn, confusion, binCount, binCorrect, bandCount, outsideCount };
}

function image(p: Part, at: string, v: unknown, C: number, B: number): ImageRecord {
  const r = p.object(at, v);
  let last = -1;
  const classLoss = p.array(`${at}.classLoss`, r.classLoss).map((e, k) => {
    const here = `${at}.classLoss[${k}]`;
    const pair = p.array(here, e, 2, '([class, loss sum])');
    const c = p.int(`${here}[0]`, pair[0], 0, C - 1);
    if (c <= last) p.fail(`${here}[0]`, `is ${c}, expected classes in ascending order (after ${last})`);
    last = c;
    return [c, p.num(`${here}[1]`, pair[1])] as const;
  });
  const w = r.weighted === null ? null : p.object(`${at}.weighted`, r.weighted);
  return {
    name: p.str(`${at}.name`, r.name),
    pixels: p.count(`${at}.pixels`, r.pixels),
    lossSum: p.num(`${at}.lossSum`, r.lossSum),
    classLoss,
    binConfidence: p.array(`${at}.binConfidence`, r.binConfidence, B, 'per-bin sums (options.bins)').map((x, b) => p.num(`${at}.binConfidence[${b}]`, x)),
    bandLoss: p.num(`${at}.bandLoss`, r.bandLoss),
    outsideLoss: p.num(`${at}.outsideLoss`, r.outsideLoss),
    weighted: w === null ? null : { num: p.num(`${at}.weighted.num`, w.num), den: p.num(`${at}.weighted.den`, w.den) },
    value: p.num(`${at}.value`, r.value),
    pixelAccuracy: p.numOrNull(`${at}.pixelAccuracy`, r.pixelAccuracy),
    miou: p.numOrNull(`${at}.miou`, r.miou),
    worstClass: r.worstClass === null ? null : p.int(`${at}.worstClass`, r.worstClass, 0, C - 1),
  };
}

/** Pairs of the whole folder that shard `index` of `count` evaluates (those whose index is index mod count). */
export function shardSize(totalPairs: number, index: number, count: number): number {
  return totalPairs > index ? Math.ceil((totalPairs - index) / count) : 0;
}

export interface CheckedPart {
  readonly sums: ShardSums;
  /** Where the sums sit in the file: '' (the sums alone) or 'sums.' (a shard's whole report). */
  readonly prefix: string;
}

/**
 * A part from parsed JSON (a shard's whole report with `sums`, or the sums alone), every field checked; `at`
 * is where the part sits in its file when it is inside another (a runs part's `runs[k].`), for messages.
 */
export function checkPart(json: unknown, file: string, at = ''): CheckedPart {
  const top = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Obj) : null;
  const whole = top !== null && top.format !== PART_FORMAT;
  const o = whole ? top.sums : top;
  if (o === null || typeof o !== 'object' || Array.isArray(o) || (o as Obj).format !== PART_FORMAT) {
    throw new LensError('format', `${file}: not an eval part — ${WRITE_PARTS}`);
  }
  const s = o as Obj;
  const prefix = at + (whole ? 'sums.' : '');
  const p = new Part(file, prefix);
  if (s.version !== 1) p.fail('version', `is ${describe(s.version)}; this build reads eval part version 1`);
  const sh = p.object('shard', s.shard);
  const count = p.int('shard.count', sh.count, 1);
  const index = p.int('shard.index', sh.index, 0);
  if (index >= count) p.fail('shard.index', `is ${index}, expected an index below shard.count ${count}`);
  const totalPairs = p.count('totalPairs', s.totalPairs);
  const classes = p.int('classes', s.classes, 0, MAX_CLASSES);
  const opts = options(p, s.options, classes);
  const c = counts(p, s.counts, classes, opts.bins);
  // How many images the shard must hold is checked with the other parts (checkPartsAgree): a wrong
  // shard.count is better told as such than as a wrong number of images.
  const images = p.array('images', s.images).map((r, k) => image(p, `images[${k}]`, r, classes, opts.bins));
  if (c.images !== images.length) p.fail('counts.images', `is ${c.images}, but images has ${images.length}`);
  const pixels = sum(images.map((r) => r.pixels));
  if (pixels !== c.pixels) p.fail('images', `hold ${pixels} pixels, but counts.pixels is ${c.pixels}`);
  for (let k = 1; k < images.length; k++) {
    if (compareStems(images[k - 1].name, images[k].name) >= 0) p.fail(`images[${k}].name`, `${quoteSnippet(images[k].name)} is not after ${quoteSnippet(images[k - 1].name)} in stem order`);
  }
  const unmatched = p.array('unmatched', s.unmatched).map((n, k) => p.str(`unmatched[${k}]`, n));
  let unreadable: UnreadableEntry[] | undefined;
  if (s.unreadable !== undefined) {
    unreadable = p.array('unreadable', s.unreadable).map((e, k) => {
      const u = p.object(`unreadable[${k}]`, e);
      return { name: p.str(`unreadable[${k}].name`, u.name), reason: p.str(`unreadable[${k}].reason`, u.reason) };
    });
  }
  // eval --label-issues --shard: pass 1 or pass 2 of each image (src/eval/labelIssueParts.ts).
  const labelIssues = s.labelIssues === undefined ? undefined : checkSection(p, s.labelIssues, { shard: { index, count }, classes, options: opts, images });
  const sums: ShardSums = {
    format: PART_FORMAT, version: 1, shard: { index, count }, totalPairs, classes, options: opts, counts: c, images, unmatched,
    ...(unreadable !== undefined ? { unreadable } : {}),
    ...(labelIssues !== undefined ? { labelIssues } : {}),
  };
  return { sums, prefix };
}

/** The first option two parts differ in, as a field path, or null. */
export function optionDiff(a: EvalOptions, b: EvalOptions): string | null {
  for (const key of ['ignoreIndex', 'labelSmoothing', 'classDim', 'bins', 'boundary'] as const) {
    if (!Object.is(a[key], b[key])) return key;
  }
  if ((a.weight === null) !== (b.weight === null)) return 'weight';
  if (a.weight !== null && b.weight !== null) {
    if (a.weight.length !== b.weight.length) return 'weight';
    for (let i = 0; i < a.weight.length; i++) if (!Object.is(a.weight[i], b.weight[i])) return `weight[${i}]`;
  }
  return null;
}

export function optionValue(o: EvalOptions, path: string): unknown {
  const m = /^weight\[(\d+)\]$/.exec(path);
  return m ? o.weight?.[Number(m[1])] : o[path as keyof EvalOptions];
}

export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function sameUnreadable(a: readonly UnreadableEntry[] = [], b: readonly UnreadableEntry[] = []): boolean {
  return a.length === b.length && a.every((x, i) => x.name === b[i].name && x.reason === b[i].reason);
}

/**
 * A shard without images (more shards than pairs) never saw a prediction: it says 0 classes (unless a
 * weight gave them), which agrees with any class count.
 */
export function classless(p: ShardSums): boolean {
  return p.classes === 0 && p.images.length === 0;
}

/** The run's class count: that of any part that saw a prediction (they agree, see checkPartsAgree). */
export function runClasses(parts: readonly ShardSums[]): number {
  return parts.find((p) => !classless(p))?.classes ?? 0;
}

/**
 * Checks that checked parts are the shards of one run: the same shard count, options, classes and folder
 * listing, each shard once, none missing. Nothing here is sized by a claimed count.
 */
export function checkPartsAgree(parts: readonly ShardSums[], names: readonly string[], prefixes: readonly string[] = []): void {
  if (parts.length === 0) throw new LensError('option', 'merge needs at least one PART.json (see --help)');
  const first = parts[0];
  const N = first.shard.count;
  const C = runClasses(parts);
  const withClasses = Math.max(0, parts.findIndex((p) => !classless(p)));
  const at = (k: number, path: string): string => `${names[k] ?? `part ${k + 1}`}: ${prefixes[k] ?? ''}${path}`;
  const seen = new Map<number, number>();
  const imageNames = new Map<string, number>();
  parts.forEach((p, k) => {
    if (p.shard.count !== N) throw new LensError('option', `${at(k, 'shard.count')} is ${p.shard.count} (shard ${p.shard.index}/${p.shard.count}), but ${names[0]} is of ${N} shards — merge parts of one run`);
    const diff = optionDiff(p.options, first.options);
    if (diff !== null) {
      const show = (o: EvalOptions): string => describe(optionValue(o, diff));
      throw new LensError('option', `${at(k, `options.${diff}`)} is ${show(p.options)}, ${names[0]} has ${show(first.options)} — merge parts of one run`);
    }
    if (p.classes !== C && !classless(p)) throw new LensError('shape', `${at(k, 'classes')} is ${p.classes}, ${names[withClasses]} has ${C} — merge parts of one run`);
    if (p.totalPairs !== first.totalPairs) {
      throw new LensError('option', `${at(k, 'totalPairs')} is ${p.totalPairs}, ${names[0]} has ${first.totalPairs}: made from a different folder listing — rerun every shard on the same folders`);
    }
    if (!sameStrings(p.unmatched, first.unmatched) || !sameUnreadable(p.unreadable, first.unreadable)) {
      throw new LensError('option', `${at(k, sameStrings(p.unmatched, first.unmatched) ? 'unreadable' : 'unmatched')} differs from ${names[0]}'s: made from a different folder listing — rerun every shard on the same folders`);
    }
    const dup = seen.get(p.shard.index);
    if (dup !== undefined) throw new LensError('option', `${at(k, 'shard.index')} is ${p.shard.index}, and ${names[dup]} is shard ${p.shard.index}/${N} too — merge each shard once`);
    seen.set(p.shard.index, k);
    for (const r of p.images) {
      const other = imageNames.get(r.name);
      if (other !== undefined) throw new LensError('format', `${at(k, 'images')} has ${quoteSnippet(r.name)}, and so has ${names[other]} — each image belongs to one shard`);
      imageNames.set(r.name, k);
    }
  });
  // Each index is below N and none repeats, so N parts are all of them; fewer leave some missing. The
  // missing ones are found by walking up from 0, never by listing N indices (N may claim 10^8).
  if (N > parts.length) {
    const missing: number[] = [];
    for (let i = 0; missing.length < 3 && i < N; i++) if (!seen.has(i)) missing.push(i);
    const absent = N - parts.length;
    const list = missing.map((i) => `${i}/${N}`).join(', ') + (absent > missing.length ? `, … (${absent} in all)` : '');
    throw new LensError('option', `${at(0, 'shard.count')} is ${N}, but ${parts.length} part${parts.length === 1 ? ' was' : 's were'} given: shard${absent > 1 ? 's' : ''} ${list} missing — merge needs all ${N} parts of one run`);
  }
  parts.forEach((p, k) => {
    const { index } = p.shard;
    const want = shardSize(p.totalPairs, index, N);
    if (p.images.length !== want) {
      throw new LensError('format', `${at(k, 'images')} has ${p.images.length} entries, expected ${want} images (pairs ${index}, ${index + N}, … of totalPairs ${p.totalPairs} for shard ${index}/${N})`);
    }
  });
}
