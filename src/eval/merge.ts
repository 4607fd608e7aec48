// Shard parts: what `eval --shard I/N --json` adds to its report (ShardSums), and `merge`, which rebuilds
// from all N parts exactly the report one run over the whole folder gives. Integer counts add up exactly;
// floating sums are per image (ImageRecord) and finalize.ts adds them in stem order, as the single run
// does, so the merged report is bit-identical to it. With --label-issues the same holds in two stages
// (src/eval/labelIssueParts.ts): `merge --thresholds` adds stage-1 parts' per-image sums in stem order into
// the single run's thresholds, and `merge` pools stage-2 parts' images in stem order. Pure.
import { LensError, quoteSnippet } from '../errors';
import { ThresholdPass } from '../labels/labelIssues';
import { emptyCounts } from './accumulate';
import { finalizeReport, folderLabelIssuesOf, withLabelIssues } from './finalize';
import { listingDigest, MAKE_STAGE1, MAKE_STAGE2, MAKE_THRESHOLDS, thresholdsDiff } from './labelIssueParts';
import { compareStems } from './pairing';
import { checkPart, checkPartsAgree, PART_FORMAT, runClasses } from './partSchema';
import {
  THRESHOLDS_FORMAT, type EvalCounts, type EvalOptions, type EvalReport, type FolderLabelIssues, type ImageRecord, type LabelIssuesStage1,
  type LabelIssuesStage2, type LabelIssueThresholds, type ShardSums, type UnreadableEntry,
} from './types';

export { PART_FORMAT } from './partSchema';

/** The sums a shard's report carries. */
export function shardSums(
  counts: EvalCounts, records: readonly ImageRecord[], options: EvalOptions, C: number, shard: { index: number; count: number },
  totalPairs: number, unmatched: readonly string[], unreadable: readonly UnreadableEntry[] = [],
): ShardSums {
  const confusion: Array<readonly [number, number]> | null = counts.confusion === null ? null : [];
  if (counts.confusion !== null) {
    counts.confusion.forEach((v, i) => {
      if (v !== 0) confusion!.push([i, v]);
    });
  }
  return {
    format: PART_FORMAT,
    version: 1,
    shard,
    totalPairs,
    classes: C,
    options,
    counts: {
      images: counts.images,
      pixels: counts.pixels,
      correct: counts.correct,
      count: Array.from(counts.count),
      tp: Array.from(counts.tp),
      fp: Array.from(counts.fp),
      fn: Array.from(counts.fn),
      confusion,
      binCount: Array.from(counts.binCount),
      binCorrect: Array.from(counts.binCorrect),
      bandCount: counts.bandCount,
      outsideCount: counts.outsideCount,
    },
    images: records,
    unmatched,
    ...(unreadable.length > 0 ? { unreadable } : {}),
  };
}

function addArray(dst: Float64Array, src: readonly number[]): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/**
 * Merges the parts of one sharded run (any order) into the single run's report, with the integer totals for
 * callers that want more (the confusion matrix). `names` label the parts in error messages; `prefixes` say
 * where each part's sums sit in its file (checkPart), for the field paths of those messages. Parts read
 * from files go through checkPart first: the arrays here are taken to have the lengths it checks.
 */
export function mergeParts(
  parts: readonly ShardSums[], names: readonly string[], prefixes: readonly string[] = [],
): { report: EvalReport; counts: EvalCounts; classes: number; options: EvalOptions } {
  checkPartsAgree(parts, names, prefixes);
  const first = parts[0];
  const C = runClasses(parts);
  const B = first.options.bins;
  const counts = emptyCounts(C, B);
  const records: ImageRecord[] = [];
  for (const p of parts) {
    const c = p.counts;
    counts.images += c.images;
    counts.pixels += c.pixels;
    counts.correct += c.correct;
    // A shard without images has no per-class counts (0 classes) and nothing to add.
    if (p.classes === C) {
      addArray(counts.count, c.count);
      addArray(counts.tp, c.tp);
      addArray(counts.fp, c.fp);
      addArray(counts.fn, c.fn);
      if (counts.confusion !== null && c.confusion !== null) for (const [i, v] of c.confusion) counts.confusion[i] += v;
    }
    addArray(counts.binCount, c.binCount);
    addArray(counts.binCorrect, c.binCorrect);
    counts.bandCount += c.bandCount;
    counts.outsideCount += c.outsideCount;
    for (const r of p.images) records.push(r);
  }
  // Stem order is the global order of the single run; shards interleave in it.
  records.sort((a, b) => compareStems(a.name, b.name));
  return { report: finalizeReport(counts, records, first.options, C, first.unmatched, first.unreadable ?? []), counts, classes: C, options: first.options };
}

/** Reads a part from parsed JSON: either a shard's whole report (with `sums`) or the sums alone, every field checked. */
export function partFromJson(json: unknown, name: string): ShardSums {
  return checkPart(json, name).sums;
}

const STAGES = ['a plain eval part (no label issues)', 'a stage-1 label-issue part (pass 1)', 'a stage-2 label-issue part (pass 2, made with --thresholds)'] as const;

/** The label-issue stage of checked parts: 0 for plain parts, 1 or 2; parts of different stages are refused. */
export function labelIssueStage(parts: readonly ShardSums[], names: readonly string[]): 0 | 1 | 2 {
  const stageOf = (p: ShardSums): 0 | 1 | 2 => p.labelIssues?.stage ?? 0;
  const first = parts.length > 0 ? stageOf(parts[0]) : 0;
  parts.forEach((p, k) => {
    if (stageOf(p) !== first) throw new LensError('option', `${names[k]}: is ${STAGES[stageOf(p)]}, but ${names[0]} is ${STAGES[first]} — merge the parts of one stage of one run`);
  });
  return first;
}

/**
 * The parts' images in stem order over the whole folder: image k of shard i/N is pair i + kN (checkPart checks
 * each label-issue image's index says so; checkPartsAgree that every shard is there once with its images).
 * The names must then be in stem order too, or the parts come from different listings.
 */
function inStemOrder<T>(parts: readonly ShardSums[], names: readonly string[], prefixes: readonly string[], pick: (p: ShardSums, k: number) => T): { items: T[]; stems: string[] } {
  const total = parts[0].totalPairs;
  const items = new Array<T>(total);
  const stems = new Array<string>(total);
  const owner = new Int32Array(total);
  parts.forEach((p, j) => {
    p.images.forEach((r, k) => {
      const i = p.shard.index + k * p.shard.count;
      items[i] = pick(p, k);
      stems[i] = r.name;
      owner[i] = j;
    });
  });
  for (let i = 1; i < total; i++) {
    if (compareStems(stems[i - 1]!, stems[i]!) >= 0) {
      const where = (i2: number): string => `${names[owner[i2]!]}'s ${prefixes[owner[i2]!] ?? ''}images[${Math.floor(i2 / parts[0].shard.count)}]`;
      throw new LensError('format', `${where(i)} ${quoteSnippet(stems[i]!)} is pair ${i} in stem order, but ${where(i - 1)} ${quoteSnippet(stems[i - 1]!)} is pair ${i - 1}: the parts were made from different folder listings — rerun every shard on the same folders`);
    }
  }
  return { items, stems };
}

/**
 * `merge --thresholds`: the folder's thresholds from its stage-1 parts (any order), bit for bit the single run's:
 * the images' per-class sums are added in stem order into one batch, as ThresholdPass does there.
 */
export function mergeThresholds(parts: readonly ShardSums[], names: readonly string[], prefixes: readonly string[] = []): LabelIssueThresholds {
  if (parts.length === 0) throw new LensError('option', `merge --thresholds needs the stage-1 PART.json files (${MAKE_STAGE1})`);
  const stage = labelIssueStage(parts, names);
  if (stage === 0) throw new LensError('option', `${names[0]}: has no label-issue pass 1 — make stage-1 parts with ${MAKE_STAGE1}`);
  if (stage === 2) throw new LensError('option', `${names[0]}: is ${STAGES[2]}: it already ran with thresholds — merge stage-2 parts without --thresholds`);
  checkPartsAgree(parts, names, prefixes);
  const first = parts[0];
  if (first.totalPairs === 0) throw new LensError('value', `${names[0]}: the folder has no pairs — there are no thresholds to compute`);
  const C = runClasses(parts);
  const pass = new ThresholdPass(C, Infinity);
  const { items, stems } = inStemOrder(parts, names, prefixes, (p, k) => (p.labelIssues as LabelIssuesStage1).images[k]!);
  const sums = new Float64Array(C);
  const counts = new Float64Array(C);
  let pixels = 0;
  for (const im of items) {
    // A class an image has no pixels of adds exactly 0, as its dense sums do in the single run.
    for (const [c, sum, count] of im.sums) {
      sums[c] = sum;
      counts[c] = count;
      pixels += count;
    }
    pass.addSums(sums, counts);
    for (const [c] of im.sums) sums[c] = counts[c] = 0;
  }
  return {
    format: THRESHOLDS_FORMAT,
    version: 1,
    classes: C,
    images: first.totalPairs,
    listing: listingDigest(stems),
    pixels,
    options: { ignoreIndex: first.options.ignoreIndex, classDim: first.options.classDim },
    thresholds: Array.from(pass.finish().thresholds),
  };
}

/** The folder's label issues from its stage-2 parts (checked by checkPart and checkPartsAgree). */
function mergeLabelIssues(parts: readonly ShardSums[], names: readonly string[], prefixes: readonly string[]): FolderLabelIssues {
  const at = (k: number, path: string): string => `${names[k]}: ${prefixes[k] ?? ''}${path}`;
  const t = (parts[0].labelIssues as LabelIssuesStage2).thresholds;
  parts.forEach((p, k) => {
    const d = thresholdsDiff((p.labelIssues as LabelIssuesStage2).thresholds, t);
    if (d !== null) throw new LensError('option', `${at(k, `labelIssues.thresholds.${d}`)} differs from ${names[0]}'s — run every stage-2 shard with the same thresholds file`);
  });
  const total = parts[0].totalPairs;
  if (t.images !== total) throw new LensError('option', `${at(0, 'labelIssues.thresholds.images')} is ${t.images}, but the parts are of a folder of ${total} pairs — rerun stage 1 on these folders`);
  const { items, stems } = inStemOrder(parts, names, prefixes, (p, k) => (p.labelIssues as LabelIssuesStage2).images[k]!);
  if (listingDigest(stems) !== t.listing) throw new LensError('option', `${at(0, 'labelIssues.thresholds.listing')} is of other pairs than the parts' images (the stems differ) — rerun stage 1 on these folders`);
  const pixels = items.reduce((a, im) => a + im.pixels, 0);
  if (pixels !== t.pixels) throw new LensError('value', `${at(0, 'labelIssues.thresholds.pixels')} is ${t.pixels}, but the parts' images have ${pixels} labelled pixels: the labels changed between the stages — rerun both`);
  return folderLabelIssuesOf(items, t.thresholds);
}

/**
 * `merge`: the single run's report from checked parts, with its label issues when the parts are of stage 2.
 * Stage-1 parts are refused with what to run instead.
 */
export function mergeReport(parts: readonly ShardSums[], names: readonly string[], prefixes: readonly string[] = []): EvalReport {
  const stage = labelIssueStage(parts, names);
  if (stage === 1) {
    throw new LensError('option', `${names[0]}: is ${STAGES[1]}: merge its thresholds first (${MAKE_THRESHOLDS}), run stage 2 for each shard (${MAKE_STAGE2}) and merge those parts`);
  }
  const { report } = mergeParts(parts, names, prefixes);
  return stage === 0 ? report : withLabelIssues(report, mergeLabelIssues(parts, names, prefixes));
}
