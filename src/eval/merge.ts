// Shard parts: what `eval --shard I/N --json` adds to its report (ShardSums), and `merge`, which rebuilds
// from all N parts exactly the report one run over the whole folder gives. Integer counts add up exactly;
// floating sums are per image (ImageRecord) and finalize.ts adds them in stem order, as the single run
// does, so the merged report is bit-identical to it. Pure.
import { emptyCounts } from './accumulate';
import { finalizeReport } from './finalize';
import { compareStems } from './pairing';
import { checkPart, checkPartsAgree, PART_FORMAT, runClasses } from './partSchema';
import type { EvalCounts, EvalOptions, EvalReport, ImageRecord, ShardSums, UnreadableEntry } from './types';

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
