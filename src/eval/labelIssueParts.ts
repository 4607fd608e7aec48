// eval --label-issues --shard I/N (DESIGN.md) runs in two stages with a merge between them, and ends in exactly
// the single run's report. Stage 1 parts carry each image's pass 1 (per-class sums of the label's
// probability); `merge --thresholds` adds them in stem order, as the single run's ThresholdPass does, into a
// thresholds file; stage 2 parts (eval ... --thresholds FILE) carry each image's pass 2 under those thresholds,
// and `merge` pools them in stem order (src/eval/merge.ts). Here: the label-issue section of a part and the
// thresholds file, as written and as read back with every field checked (partSchema.ts checks the rest of a
// part the same way), and the checks that a thresholds file fits a run. Pure.
//
// Pass-2 images hold every pixel scoring at most 0.5: their arrays travel packed (base64 of little-endian
// float64 / int32 / uint8, src/eval/packedArrays.ts), exact and about a third the size of decimal text.
import { createHash } from 'node:crypto';
import { LensError } from '../errors';
import { MAX_CLASSES } from '../kernel/classLimits';
import { LOW_SCORE, THRESHOLD_FLOOR, type ImagePass2 } from '../labels/labelIssues';
import { describe, Part, type Obj } from './partFields';
import { packF64, packI32, packU8 } from './packedArrays';
import {
  PART_FORMAT, THRESHOLDS_FORMAT, type EvalOptions, type ImageRecord, type LabelIssuesPart, type LabelIssuesStage1, type LabelIssuesStage2,
  type LabelIssueThresholds, type Pass1Image, type Pass2Image,
} from './types';

/** How to make what each stage needs, for messages. */
export const MAKE_STAGE1 = 'eval PRED_DIR LABEL_DIR --label-issues --shard I/N --json > PART.json';
export const MAKE_THRESHOLDS = 'merge --thresholds PART.json... --json > thresholds.json';
export const MAKE_STAGE2 = 'eval PRED_DIR LABEL_DIR --label-issues --thresholds thresholds.json --shard I/N --json > PART.json';

/** The folder listing the thresholds belong to: a digest of the pairs' stems in stem order. */
export function listingDigest(stems: readonly string[]): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(stems)).digest('hex')}`;
}

/** Stage 1 of a shard: each image's pass 1 (dense per-class sums and counts), kept for the classes with pixels. */
export function stage1Section(pass1: ReadonlyArray<{ readonly sums: ArrayLike<number>; readonly counts: ArrayLike<number> }>, shard: { index: number; count: number }): LabelIssuesStage1 {
  return {
    stage: 1,
    images: pass1.map((p, k) => {
      const sums: Array<readonly [number, number, number]> = [];
      // A class without pixels has a sum of exactly 0: leaving it out adds the same to the thresholds.
      for (let c = 0; c < p.counts.length; c++) if (p.counts[c]! > 0) sums.push([c, p.sums[c]!, p.counts[c]!]);
      return { index: shard.index + k * shard.count, sums };
    }),
  };
}

/** Stage 2 of a shard: each image's pass 2 under `thresholds`. */
export function stage2Section(pass2: readonly ImagePass2[], shard: { index: number; count: number }, thresholds: LabelIssueThresholds): LabelIssuesStage2 {
  return { stage: 2, thresholds, images: pass2.map((p, k) => ({ ...p, index: shard.index + k * shard.count })) };
}

/** The section as it is written into a part's sums (pass-2 arrays packed). */
export function packSection(li: LabelIssuesPart): unknown {
  if (li.stage === 1) return li;
  return {
    stage: 2,
    thresholds: li.thresholds,
    images: li.images.map((im) => ({
      index: im.index,
      pixels: im.pixels,
      T: im.T,
      quality: im.quality,
      lowCount: im.low.length,
      low: packF64(im.low),
      lowReportable: packU8(im.lowReportable),
      lowGiven: packI32(im.lowGiven),
      lowPredicted: packI32(im.lowPredicted),
      lowIndex: packI32(im.lowIndex),
    })),
  };
}

/** What a part's label-issue section is checked against: the rest of the part, already checked. */
export interface SectionContext {
  readonly shard: { readonly index: number; readonly count: number };
  readonly classes: number;
  readonly options: EvalOptions;
  readonly images: readonly ImageRecord[];
}

function imageIndex(p: Part, at: string, v: unknown, k: number, ctx: SectionContext): number {
  const want = ctx.shard.index + k * ctx.shard.count;
  const index = p.int(`${at}.index`, v, 0);
  if (index !== want) p.fail(`${at}.index`, `is ${index}, expected ${want} (the shard's image ${k} is pair ${want} in stem order for shard ${ctx.shard.index}/${ctx.shard.count})`);
  return index;
}

function pass1Image(p: Part, at: string, v: unknown, k: number, ctx: SectionContext): Pass1Image {
  const e = p.object(at, v);
  const index = imageIndex(p, at, e.index, k, ctx);
  let last = -1;
  let pixels = 0;
  const sums = p.array(`${at}.sums`, e.sums).map((x, j) => {
    const here = `${at}.sums[${j}]`;
    const t = p.array(here, x, 3, '([class, sum, count])');
    const c = p.int(`${here}[0]`, t[0], 0, ctx.classes - 1);
    if (c <= last) p.fail(`${here}[0]`, `is ${c}, expected classes in ascending order (after ${last})`);
    last = c;
    const count = p.int(`${here}[2]`, t[2], 1);
    const sum = p.num(`${here}[1]`, t[1]);
    // A sum of `count` probabilities (NaN where the logits held NaN, as in the single run).
    if (!Number.isNaN(sum) && !(sum >= 0 && sum <= count)) p.expected(`${here}[1]`, sum, `a sum of ${count} probabilities, in [0, ${count}]`);
    pixels += count;
    return [c, sum, count] as const;
  });
  const record = ctx.images[k]!;
  if (pixels !== record.pixels) p.fail(`${at}.sums`, `count ${pixels} labelled pixels, but images[${k}] (${record.name}) has ${record.pixels}`);
  return { index, sums };
}

function pass2Image(p: Part, at: string, v: unknown, k: number, ctx: SectionContext): Pass2Image {
  const e = p.object(at, v);
  const index = imageIndex(p, at, e.index, k, ctx);
  const record = ctx.images[k]!;
  const pixels = p.count(`${at}.pixels`, e.pixels);
  if (pixels !== record.pixels) p.fail(`${at}.pixels`, `is ${pixels}, but images[${k}] (${record.name}) has ${record.pixels} labelled pixels`);
  const T = p.int(`${at}.T`, e.T, 0, pixels);
  let quality: number | null = null;
  if (pixels === 0) {
    if (e.quality !== null) p.expected(`${at}.quality`, e.quality, 'null (an image without labelled pixels has no quality)');
  } else {
    quality = p.num(`${at}.quality`, e.quality);
    if (!Number.isNaN(quality) && !(quality >= 0 && quality <= 1)) p.expected(`${at}.quality`, quality, 'a label quality in [0, 1]');
  }
  const n = p.int(`${at}.lowCount`, e.lowCount, 0, pixels);
  const low = p.packed(`${at}.low`, e.low, n, 'f64');
  const lowReportable = p.packed(`${at}.lowReportable`, e.lowReportable, n, 'u8');
  const lowGiven = p.packed(`${at}.lowGiven`, e.lowGiven, n, 'i32');
  const lowPredicted = p.packed(`${at}.lowPredicted`, e.lowPredicted, n, 'i32');
  const lowIndex = p.packed(`${at}.lowIndex`, e.lowIndex, n, 'i32');
  const C = ctx.classes;
  for (let j = 0; j < n; j++) {
    if (!(low[j]! >= 0 && low[j]! <= LOW_SCORE)) p.fail(`${at}.low[${j}]`, `is ${low[j]}, expected a score in [0, ${LOW_SCORE}] (only those are kept)`);
    if (!(lowGiven[j]! >= 0 && lowGiven[j]! < C)) p.fail(`${at}.lowGiven[${j}]`, `is ${lowGiven[j]}, expected a class in [0, ${C})`);
    if (!(lowPredicted[j]! >= 0 && lowPredicted[j]! < C)) p.fail(`${at}.lowPredicted[${j}]`, `is ${lowPredicted[j]}, expected a class in [0, ${C})`);
    // Segmentation's rule: a pixel may be reported exactly when its prediction is not its label.
    const reportable = lowGiven[j] !== lowPredicted[j] ? 1 : 0;
    if (lowReportable[j] !== reportable) p.fail(`${at}.lowReportable[${j}]`, `is ${lowReportable[j]}, expected ${reportable} (given ${lowGiven[j]}, predicted ${lowPredicted[j]})`);
    if (lowIndex[j]! < 0 || (j > 0 && lowIndex[j]! <= lowIndex[j - 1]!)) p.fail(`${at}.lowIndex[${j}]`, `is ${lowIndex[j]}, expected pixel positions >= 0 in ascending order`);
  }
  return { index, pixels, T, quality, low, lowReportable, lowGiven, lowPredicted, lowIndex };
}

/** A part's `labelIssues` section, every field checked against the rest of the part. */
export function checkSection(p: Part, v: unknown, ctx: SectionContext): LabelIssuesPart {
  const o = p.object('labelIssues', v);
  if (o.stage !== 1 && o.stage !== 2) p.expected('labelIssues.stage', o.stage, '1 (pass 1, eval --label-issues --shard) or 2 (pass 2, with --thresholds)');
  const list = p.array('labelIssues.images', o.images, ctx.images.length, 'entries (one per image of the part)');
  if (o.stage === 1) return { stage: 1, images: list.map((x, k) => pass1Image(p, `labelIssues.images[${k}]`, x, k, ctx)) };
  const thresholds = checkThresholds(p, 'labelIssues.thresholds', o.thresholds);
  if (ctx.images.length > 0 && thresholds.classes !== ctx.classes) p.fail('labelIssues.thresholds.classes', `is ${thresholds.classes}, but the part has ${ctx.classes} classes`);
  const optionDiff = thresholdOptionDiff(thresholds, ctx.options);
  if (optionDiff !== null) p.fail(`labelIssues.thresholds.options.${optionDiff}`, `is ${thresholds.options[optionDiff]}, but the part's options.${optionDiff} is ${ctx.options[optionDiff]}`);
  return { stage: 2, thresholds, images: list.map((x, k) => pass2Image(p, `labelIssues.images[${k}]`, x, k, ctx)) };
}

/** The first option the thresholds depend on that differs from a run's, or null. */
export function thresholdOptionDiff(t: LabelIssueThresholds, o: EvalOptions): 'ignoreIndex' | 'classDim' | null {
  if (t.options.ignoreIndex !== o.ignoreIndex) return 'ignoreIndex';
  if (t.options.classDim !== o.classDim) return 'classDim';
  return null;
}

/** A thresholds object at `path` ('' for a whole file). */
function checkThresholds(p: Part, path: string, v: unknown): LabelIssueThresholds {
  const at = (f: string): string => (path === '' ? f : `${path}.${f}`);
  const o = p.object(path === '' ? '(the file)' : path, v);
  if (o.format !== THRESHOLDS_FORMAT) p.expected(at('format'), o.format, `"${THRESHOLDS_FORMAT}"`);
  if (o.version !== 1) p.fail(at('version'), `is ${describe(o.version)}; this build reads thresholds version 1`);
  const classes = p.int(at('classes'), o.classes, 2, MAX_CLASSES);
  const images = p.int(at('images'), o.images, 1);
  const listing = p.str(at('listing'), o.listing);
  if (!/^sha256:[0-9a-f]{64}$/.test(listing)) p.expected(at('listing'), listing, '"sha256:" and 64 hex digits');
  const pixels = p.count(at('pixels'), o.pixels);
  const opts = p.object(at('options'), o.options);
  const options = { ignoreIndex: p.int(at('options.ignoreIndex'), opts.ignoreIndex, -(2 ** 31), 2 ** 31 - 1), classDim: p.int(at('options.classDim'), opts.classDim, -4, 3) };
  const thresholds = p.array(at('thresholds'), o.thresholds, classes, 'thresholds (one per class)').map((x, k) => {
    const t = p.num(at(`thresholds[${k}]`), x);
    if (!Number.isNaN(t) && !(t >= THRESHOLD_FLOOR && t <= 1)) p.expected(at(`thresholds[${k}]`), t, `a threshold in [${THRESHOLD_FLOOR}, 1]`);
    return t;
  });
  return { format: THRESHOLDS_FORMAT, version: 1, classes, images, listing, pixels, options, thresholds };
}

/** A thresholds file from parsed JSON, every field checked; a part or other JSON is told what to run instead. */
export function readThresholds(json: unknown, file: string): LabelIssueThresholds {
  const top = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Obj) : null;
  if (top === null || top.format !== THRESHOLDS_FORMAT) {
    const part = top !== null && (top.format === PART_FORMAT || (top.sums !== null && typeof top.sums === 'object' && (top.sums as Obj).format === PART_FORMAT));
    throw new LensError('format', `${file}: ${part ? 'is an eval part' : 'not a label-issue thresholds file'}, not thresholds — make them from the stage-1 parts with ${MAKE_THRESHOLDS}`);
  }
  return checkThresholds(new Part(file, ''), '', json);
}

/** Thresholds with every field equal (numbers bit for bit), or the first field that differs. */
export function thresholdsDiff(a: LabelIssueThresholds, b: LabelIssueThresholds): string | null {
  for (const key of ['classes', 'images', 'listing', 'pixels'] as const) if (a[key] !== b[key]) return key;
  for (const key of ['ignoreIndex', 'classDim'] as const) if (a.options[key] !== b.options[key]) return `options.${key}`;
  for (let k = 0; k < a.thresholds.length; k++) if (!Object.is(a.thresholds[k], b.thresholds[k])) return `thresholds[${k}]`;
  return null;
}

/**
 * That a thresholds file fits a run over a folder: the same options the thresholds depend on, and the same
 * folder listing (the same stems in stem order). The classes are checked once a prediction has been read.
 */
export function checkThresholdsFit(t: LabelIssueThresholds, file: string, options: EvalOptions, stems: readonly string[]): void {
  const diff = thresholdOptionDiff(t, options);
  if (diff !== null) {
    const flag = diff === 'ignoreIndex' ? '--ignore-index' : '--class-dim';
    throw new LensError('option', `${file}: made with ${flag} ${t.options[diff]}, this run has ${flag} ${options[diff]} — give both stages the same options`);
  }
  if (t.images !== stems.length) throw new LensError('option', `${file}: thresholds of a folder of ${t.images} pairs, this one has ${stems.length} — rerun stage 1 (${MAKE_STAGE1}) on these folders`);
  if (listingDigest(stems) !== t.listing) throw new LensError('option', `${file}: thresholds of other pairs (the stems differ) — rerun stage 1 (${MAKE_STAGE1}) on these folders`);
}

/** That the thresholds are for the predictions' classes. */
export function checkThresholdsClasses(t: LabelIssueThresholds, file: string, classes: number): void {
  if (t.classes !== classes) throw new LensError('shape', `${file}: thresholds for ${t.classes} classes, but the predictions have ${classes} — use the thresholds of this folder's stage 1`);
}

/** That pass 2 saw the labelled pixels that pass 1 did (labels edited between the stages would not). */
export function checkThresholdsPixels(t: LabelIssueThresholds, file: string, pixels: number): void {
  if (t.pixels !== pixels) throw new LensError('value', `${file}: thresholds from ${t.pixels} labelled pixels, but the folder now has ${pixels}: the labels changed since stage 1 — rerun both stages`);
}
