// Shard parts: what `eval --shard I/N --json` adds to its report (ShardSums), and `merge`, which rebuilds
// from all N parts exactly the report one run over the whole folder gives. Integer counts add up exactly;
// floating sums are per image (ImageRecord) and finalize.ts adds them in stem order, as the single run
// does, so the merged report is bit-identical to it. Pure.
import { LensError } from '../errors';
import { emptyCounts } from './accumulate';
import { finalizeReport } from './finalize';
import { compareStems } from './pairing';
import type { EvalCounts, EvalOptions, EvalReport, ImageRecord, ShardSums } from './types';

export const PART_FORMAT = 'cross-entropy-lens-eval-part';

/** The sums a shard's report carries. */
export function shardSums(
  counts: EvalCounts, records: readonly ImageRecord[], options: EvalOptions, C: number, shard: { index: number; count: number },
  totalPairs: number, unmatched: readonly string[],
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
  };
}

function addArray(dst: Float64Array, src: readonly number[], what: string): void {
  if (src.length !== dst.length) throw new LensError('format', `${what}: ${src.length} entries where ${dst.length} were expected`);
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

function sameOptions(a: EvalOptions, b: EvalOptions): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Merges the parts of one sharded run (any order) into the single run's report, with the integer totals for
 * callers that want more (the confusion matrix). `names` label the parts in error messages.
 */
export function mergeParts(parts: readonly ShardSums[], names: readonly string[]): { report: EvalReport; counts: EvalCounts; classes: number; options: EvalOptions } {
  if (parts.length === 0) throw new LensError('option', 'merge needs at least one PART.json (see --help)');
  const first = parts[0];
  const N = first.shard.count;
  const seen = new Map<number, string>();
  parts.forEach((p, k) => {
    const name = names[k] ?? `part ${k + 1}`;
    if (p.shard.count !== N) throw new LensError('option', `${name}: shard ${p.shard.index}/${p.shard.count}, but ${names[0]} is of ${N} shards — merge parts of one run`);
    if (!sameOptions(p.options, first.options)) throw new LensError('option', `${name}: computed with options ${JSON.stringify(p.options)}, ${names[0]} with ${JSON.stringify(first.options)} — merge parts of one run`);
    if (p.classes !== first.classes) throw new LensError('shape', `${name}: ${p.classes} classes, ${names[0]} has ${first.classes}`);
    if (p.totalPairs !== first.totalPairs || JSON.stringify(p.unmatched) !== JSON.stringify(first.unmatched)) {
      throw new LensError('option', `${name}: made from a different folder listing than ${names[0]} (${p.totalPairs} vs ${first.totalPairs} pairs) — rerun every shard on the same folders`);
    }
    const dup = seen.get(p.shard.index);
    if (dup !== undefined) throw new LensError('option', `${name} and ${dup} are both shard ${p.shard.index}/${N}`);
    seen.set(p.shard.index, name);
  });
  const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) throw new LensError('option', `shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${N}`).join(', ')} missing — merge needs all ${N} parts`);
  const C = first.classes;
  const B = first.options.bins;
  const counts = emptyCounts(C, B);
  const records: ImageRecord[] = [];
  parts.forEach((p, k) => {
    const name = names[k] ?? `part ${k + 1}`;
    const c = p.counts;
    counts.images += c.images;
    counts.pixels += c.pixels;
    counts.correct += c.correct;
    addArray(counts.count, c.count, `${name} count`);
    addArray(counts.tp, c.tp, `${name} tp`);
    addArray(counts.fp, c.fp, `${name} fp`);
    addArray(counts.fn, c.fn, `${name} fn`);
    if (counts.confusion !== null && c.confusion !== null) for (const [i, v] of c.confusion) counts.confusion[i] += v;
    addArray(counts.binCount, c.binCount, `${name} binCount`);
    addArray(counts.binCorrect, c.binCorrect, `${name} binCorrect`);
    counts.bandCount += c.bandCount;
    counts.outsideCount += c.outsideCount;
    records.push(...p.images);
  });
  // Stem order is the global order of the single run; shards interleave in it.
  records.sort((a, b) => compareStems(a.name, b.name));
  return { report: finalizeReport(counts, records, first.options, C, first.unmatched), counts, classes: C, options: first.options };
}

/** Reads a part from parsed JSON: either a shard's whole report (with `sums`) or the sums alone. */
export function partFromJson(json: unknown, name: string): ShardSums {
  const o = json as { sums?: unknown; format?: unknown } | null;
  const sums = (o !== null && typeof o === 'object' && o.format !== PART_FORMAT ? o.sums : o) as Partial<ShardSums> | undefined;
  if (!sums || typeof sums !== 'object' || sums.format !== PART_FORMAT) {
    throw new LensError('format', `${name}: not an eval part — write parts with eval ... --shard I/N --json > PART.json`);
  }
  if (sums.version !== 1) throw new LensError('format', `${name}: eval part version ${String(sums.version)}, this build reads version 1`);
  if (!sums.shard || !sums.counts || !Array.isArray(sums.images) || !sums.options || typeof sums.classes !== 'number') {
    throw new LensError('format', `${name}: an eval part with fields missing (shard, counts, images, options, classes)`);
  }
  return sums as ShardSums;
}
