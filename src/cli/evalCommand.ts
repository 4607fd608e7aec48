// `eval PRED_DIR LABEL_DIR` and `merge PART.json...` (DESIGN.md): folder evaluation from the command line
// over the pure core in src/eval/. Each parses its own arguments and returns the text to print.
import { LensError } from '../errors';
import { readTextFileSync } from '../worker/files/regularFile';
import type { WorkerPool } from '../worker/engine/pool';
import { finalizeReport, folderLabelIssuesOf, withLabelIssues } from '../eval/finalize';
import { pairFolders } from '../eval/files';
import {
  checkThresholdsClasses, checkThresholdsFit, checkThresholdsPixels, MAKE_STAGE1, MAKE_THRESHOLDS, packSection, readThresholds, stage1Section, stage2Section,
} from '../eval/labelIssueParts';
import { mergeReport, mergeThresholds, shardSums } from '../eval/merge';
import { checkPart } from '../eval/partSchema';
import { parseShard, shardPairs } from '../eval/pairing';
import { evaluatePairs } from '../eval/runEval';
import { labelIssuesPass1, labelIssuesPass2, type ImagePass1 } from '../eval/labelIssuesRun';
import { thresholdsFromSums } from '../labels/labelIssues';
import type { EvalOptions, EvalPair, EvalReport, FolderLabelIssues, LabelIssuesPart, LabelIssueThresholds } from '../eval/types';
import { checkRunsPart, isRunsPart } from '../eval/runs/part';
import { parseCommandFlags } from './commandFlags';
import { evalWorkers } from './evalWorkers';
import { EVAL_OPTION_FLAGS, evalOptions, optionError } from './evalOptions';
import { fromJson, toJson } from './json';
import { mergeRunsOutput } from './runsCommand';
import { escapeControls, fmt, pct, someNames } from './terminalText';

export const EVAL_USAGE = `usage: cross-entropy-lens eval PRED_DIR LABEL_DIR [options]
       cross-entropy-lens merge PART.json... [--json]   (parts of eval --shard, or of runs --shard)
       cross-entropy-lens merge --thresholds PART.json... [--json]

Evaluates every prediction in PRED_DIR ([C, H, W] or [1, C, H, W] logits: .npy, .npz, .pt, .safetensors)
against the label of the same stem in LABEL_DIR ([H, W]: PNG mask or integer array). Stems drop the
suffixes _logits, _pred, _output (predictions) and _gt, _label, _labels, _mask, _seg, _gtFine_labelIds
(labels).

options:
  --ignore-index N        label value left out everywhere (default -100; 255 for most PNG masks)
  --weight FILE|a,b,c     class weights for the pooled value (F.cross_entropy's weight)
  --label-smoothing F     in [0, 1] (default 0)
  --class-dim D           1 for [1, C, H, W] (default), -1 for channels-last [1, H, W, C]
  --bins B                calibration bins (default 15)
  --boundary W            boundary band half width: a (2W+1) x (2W+1) window (default 3)
  --shard I/N             evaluate pairs I, I+N, I+2N, ... in stem order; merge the parts with merge
  --label-issues          likely label errors, as cleanlab's segmentation functions find them over all the
                          folder's pixels (docs/label-issues.md): two more streaming passes; the report gains
                          labelIssues, each perImage entry labelIssues (count) and labelQuality (softmin)
  --thresholds FILE       with --label-issues: the thresholds of merge --thresholds, for pass 2 only
  --json                  print one JSON object

merge PART.json... combines the --json parts of every shard I/N of one run into the single run's report.

--label-issues with --shard runs in two stages, since the thresholds are the whole folder's:
  1. eval PRED_DIR LABEL_DIR --label-issues --shard I/N --json > stage1-I.json      (each I: pass 1)
  2. merge --thresholds stage1-*.json --json > thresholds.json
  3. eval PRED_DIR LABEL_DIR --label-issues --thresholds thresholds.json --shard I/N --json > stage2-I.json
  4. merge stage2-*.json --json                     (exactly the single run's eval --label-issues --json)
Give every stage the same folders and options.`;

const EVAL_FLAGS = new Set([...EVAL_OPTION_FLAGS, '--shard', '--thresholds']);

function bad(msg: string): never {
  return optionError('eval', msg);
}

interface EvalArgs {
  readonly predDir: string;
  readonly labelDir: string;
  readonly options: EvalOptions;
  readonly shard: { index: number; count: number } | null;
  readonly json: boolean;
  readonly labelIssues: boolean;
  /** --thresholds FILE: pass 2 only, with the thresholds that merge --thresholds wrote. */
  readonly thresholds: string | null;
}

function parseEvalArgs(argv: readonly string[]): EvalArgs | 'help' {
  const flags = parseCommandFlags(argv, { command: 'eval', valued: EVAL_FLAGS, switches: ['--json', '--label-issues'], bad });
  if (flags === 'help') return 'help';
  const { positional, get } = flags;
  const json = flags.switches.has('--json');
  const labelIssues = flags.switches.has('--label-issues');
  if (positional.length !== 2) bad(`eval expects PRED_DIR and LABEL_DIR, got ${positional.length} argument${positional.length === 1 ? '' : 's'}`);
  const options = evalOptions('eval', get);
  const shardText = get('--shard');
  const shard = shardText === undefined ? null : parseShard(shardText);
  const thresholds = get('--thresholds') ?? null;
  if (thresholds !== null && !labelIssues) bad('--thresholds FILE gives --label-issues its thresholds: add --label-issues');
  if (thresholds !== null && thresholds.trim() === '') bad('--thresholds needs a file');
  // The thresholds are the whole folder's: shards write parts for merges between the passes (merge --thresholds).
  if (labelIssues && shard !== null && !json) bad(`--label-issues with --shard writes a part for merge: add --json (${thresholds === null ? MAKE_STAGE1 : 'eval ... --label-issues --thresholds FILE --shard I/N --json > PART.json'})`);
  return { predDir: positional[0], labelDir: positional[1], options, shard, json, labelIssues, thresholds };
}

export { fromJson, toJson } from './json';

export function textSummary(r: EvalReport, seconds: number | null, shard: { index: number; count: number } | null): string {
  const lines: string[] = [];
  const unreadable = r.unreadable ?? [];
  lines.push(`images           ${r.images}${shard ? ` (shard ${shard.index}/${shard.count})` : ''}${r.unmatched.length ? `; unmatched files: ${someNames(r.unmatched)}` : ''}`);
  if (unreadable.length > 0) lines.push(`unreadable       ${someNames(unreadable.map((u) => `${u.name} (${u.reason})`))}`);
  lines.push(`value            ${fmt(r.value)}  (mean cross-entropy over all non-ignored pixels)`);
  lines.push(`pixel accuracy   ${pct(r.pixelAccuracy)}`);
  lines.push(`mIoU             ${pct(r.miou)}  (per-image mean ${pct(r.miouPerImage)})`);
  lines.push(`ECE              ${fmt(r.ece, 4)}  (MCE ${fmt(r.mce, 4)}, ${r.calibration.count.length} bins)`);
  lines.push(`boundary band    ${pct(r.boundary.share)} of the loss (w=${r.boundary.width}; mean ${fmt(r.boundary.meanInside, 4)} inside, ${fmt(r.boundary.meanOutside, 4)} outside)`);
  const worst = [...r.perImage].sort((a, b) => (Number.isNaN(b.value) ? 1 : 0) - (Number.isNaN(a.value) ? 1 : 0) || b.value - a.value).slice(0, 5);
  if (worst.length > 0) {
    lines.push('worst images');
    const shown = worst.map((w) => escapeControls(w.name));
    const width = Math.max(...shown.map((n) => n.length));
    for (const [k, w] of worst.entries()) {
      lines.push(`  ${shown[k].padEnd(width)}  loss ${fmt(w.value)}  accuracy ${pct(w.pixelAccuracy)}  mIoU ${pct(w.miou)}  worst class ${w.worstClass ?? 'n/a'}`);
    }
  }
  const classes = r.perClass.filter((c) => c.count > 0 && c.meanLoss !== null).sort((a, b) => b.meanLoss! - a.meanLoss!).slice(0, 5);
  if (classes.length > 0) lines.push(`worst classes    ${classes.map((c) => `${c.class} (loss ${fmt(c.meanLoss, 4)}, IoU ${pct(c.iou)})`).join(', ')}`);
  if (seconds !== null) lines.push(`time             ${seconds.toFixed(2)} s`);
  return lines.join('\n');
}

/** Largest part or thresholds file read: V8's longest string is 512 MB, and a part of a million images is far less. */
const MAX_JSON_BYTES = 256 * 2 ** 20;

/** A JSON file that `merge` or `eval --thresholds` reads: one line naming it when it cannot be read or parsed. */
function readJsonFile(file: string, notJson: string): unknown {
  let text: string;
  try {
    text = readTextFileSync(file, MAX_JSON_BYTES);
  } catch (e) {
    throw e instanceof LensError ? e.withSource(file) : e;
  }
  try {
    return fromJson(text);
  } catch {
    throw new LensError('format', `${file}: not JSON — ${notJson}`);
  }
}

/**
 * eval --label-issues over `pairs`: both passes (a single run), pass 2 with given thresholds, or, for a shard,
 * the section its part carries (stage 1: pass 1; stage 2: pass 2 under the thresholds file).
 */
async function labelIssuesOf(
  parsed: EvalArgs, pairs: readonly EvalPair[], classes: number, given: LabelIssueThresholds | null, pass1: readonly ImagePass1[] | null, pool: WorkerPool, signal?: AbortSignal,
): Promise<{ issues: FolderLabelIssues | null; section: LabelIssuesPart | null }> {
  const { options, shard } = parsed;
  const file = parsed.thresholds ?? '';
  if (given !== null && pairs.length > 0) checkThresholdsClasses(given, file, classes);
  // Pass 1 came with the evaluation itself (EvalRun.labelSums); it is read again only if it did not.
  const firstPass = async (): Promise<readonly ImagePass1[]> => pass1 ?? labelIssuesPass1(pairs, options, pool, signal);
  if (shard !== null) {
    if (given === null) return { issues: null, section: stage1Section(await firstPass(), shard) };
    return { issues: null, section: stage2Section(await labelIssuesPass2(pairs, options, given.thresholds, pool, signal), shard, given) };
  }
  if (pairs.length === 0) return { issues: null, section: null };
  if (given === null) {
    const thresholds = Array.from(thresholdsFromSums(await firstPass(), classes));
    return { issues: folderLabelIssuesOf(await labelIssuesPass2(pairs, options, thresholds, pool, signal), thresholds), section: null };
  }
  const pass2 = await labelIssuesPass2(pairs, options, given.thresholds, pool, signal);
  checkThresholdsPixels(given, file, pass2.reduce((a, im) => a + im.pixels, 0));
  return { issues: folderLabelIssuesOf(pass2, given.thresholds), section: null };
}

export async function runEval(argv: readonly string[], distDir: string, signal?: AbortSignal): Promise<string> {
  const parsed = parseEvalArgs(argv);
  if (parsed === 'help') return EVAL_USAGE;
  const started = performance.now();
  const { options, shard } = parsed;
  const given = parsed.thresholds === null ? null : readThresholds(readJsonFile(parsed.thresholds, `make it with ${MAKE_THRESHOLDS}`), parsed.thresholds);
  const pairing = pairFolders(parsed.predDir, parsed.labelDir);
  // Before any image is read: the thresholds must be of this folder's pairs, with these options.
  if (given !== null) checkThresholdsFit(given, parsed.thresholds!, options, pairing.pairs.map((p) => p.stem));
  const pairs = shardPairs(pairing.pairs, shard);
  const { pool, wasmPath } = evalWorkers(distDir, pairs.length);
  let outcome;
  let issues: FolderLabelIssues | null = null;
  let section: LabelIssuesPart | null = null;
  try {
    // Progress on a terminal only: piped output (--json > part.json) stays clean.
    const tty = process.stderr.isTTY === true;
    const onProgress = tty ? (done: number, total: number): void => void process.stderr.write(`\reval: ${done}/${total} images${done === total ? '\n' : ''}`) : undefined;
    const wantSums = parsed.labelIssues && given === null;
    const sums: Array<ImagePass1 | undefined> = new Array<ImagePass1 | undefined>(pairs.length);
    outcome = await evaluatePairs({ pairs, options, pool, wasmPath, signal, onProgress, labelSums: wantSums, onImage: (r, i) => void (sums[i] = r.labelSums) });
    const pass1 = wantSums && sums.every((x) => x !== undefined) ? (sums as ImagePass1[]) : null;
    if (parsed.labelIssues) ({ issues, section } = await labelIssuesOf(parsed, pairs, outcome.classes, given, pass1, pool, signal));
  } finally {
    await pool.dispose();
  }
  const plain = finalizeReport(outcome.counts, outcome.records, options, outcome.classes, pairing.unmatched, pairing.unreadable);
  const report = issues === null ? plain : withLabelIssues(plain, issues);
  if (parsed.json) {
    if (shard === null) return toJson(report);
    const sums = shardSums(outcome.counts, outcome.records, options, outcome.classes, shard, pairing.pairs.length, pairing.unmatched, pairing.unreadable);
    // A shard's report has no label issues of its own (they are the whole folder's): its part carries the pass.
    return toJson({ ...report, sums: section === null ? sums : { ...sums, labelIssues: packSection(section) } });
  }
  const text = textSummary(report, (performance.now() - started) / 1000, shard);
  if (issues === null) return text;
  const worst = report.perImage.map((p, i) => ({ name: p.name, q: issues!.quality[i] ?? null, n: issues!.perImage[i] ?? 0 })).filter((x) => x.q !== null).sort((a, b) => a.q! - b.q!).slice(0, 5);
  return `${text}\nlabel issues     ${issues.count} of ${issues.examples} pixels likely mislabelled; most likely first: ${worst.map((w) => `${escapeControls(w.name)} (${w.n}, quality ${fmt(w.q, 4)})`).join(', ')}`;
}

/** What merge --thresholds prints without --json. */
function thresholdsText(t: LabelIssueThresholds): string {
  const shown = t.thresholds.slice(0, 20).map((x) => String(Number(x.toPrecision(4)))).join(' ');
  return [
    `thresholds       ${t.classes} classes from ${t.images} images (${t.pixels} labelled pixels)`,
    `                 ${shown}${t.classes > 20 ? ` … (${t.classes} in all)` : ''}`,
    `write the file with --json (${MAKE_THRESHOLDS}) and give it to each shard's stage 2: eval ... --label-issues --thresholds thresholds.json --shard I/N --json`,
  ].join('\n');
}

export async function runMerge(argv: readonly string[]): Promise<string> {
  let json = false;
  let thresholds = false;
  const files: string[] = [];
  for (const a of argv) {
    if (a === '-h' || a === '--help') return EVAL_USAGE;
    if (a === '--json') json = true;
    else if (a === '--thresholds') thresholds = true;
    else if (a.startsWith('--')) throw new LensError('option', `unknown option ${a} for merge (see merge --help)`);
    else files.push(a);
  }
  const parsed = files.map((f) => readJsonFile(f, 'write parts with eval ... --shard I/N --json (or runs ... --shard I/N --losses FILE --json) > PART.json'));
  // Parts of `runs --shard` merge as runs; one kind per merge.
  const runs = parsed.map(isRunsPart);
  if (runs.some((r) => r)) {
    if (thresholds) throw new LensError('option', `${files[runs.indexOf(true)]} is a runs part: merge --thresholds takes the stage-1 parts of eval --label-issues --shard`);
    const other = runs.findIndex((r) => !r);
    if (other >= 0) throw new LensError('option', `${files[other]} is not a runs part, but ${files[runs.indexOf(true)]} is — merge the parts of one evaluation`);
    return mergeRunsOutput(parsed.map((p, k) => checkRunsPart(p, files[k])), files, json);
  }
  const parts = parsed.map((p, k) => checkPart(p, files[k]));
  const sums = parts.map((p) => p.sums);
  const prefixes = parts.map((p) => p.prefix);
  if (thresholds) {
    const t = mergeThresholds(sums, files, prefixes);
    return json ? toJson(t) : thresholdsText(t);
  }
  const report = mergeReport(sums, files, prefixes);
  return json ? toJson(report) : textSummary(report, null, null);
}
