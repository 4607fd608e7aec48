// `runs LABEL_DIR RUN_DIR...` (DESIGN.md): one validation set across checkpoints, over the pure core in
// src/eval/runs/. Parses its own arguments and returns the text to print; `merge` hands runs parts here.
import * as path from 'node:path';
import { pairRunFolders } from '../eval/files';
import { finalizeReport } from '../eval/finalize';
import { shardSums } from '../eval/merge';
import { parseShard, shardPairs } from '../eval/pairing';
import { evaluateRuns } from '../eval/runs/evaluateRuns';
import { lossFigures } from '../eval/runs/figures';
import { mergeRunsParts } from '../eval/runs/merge';
import { RUNS_PART_FORMAT, type CheckedRunsPart, type RunsPartSums } from '../eval/runs/part';
import { runsReport, type RunsReport } from '../eval/runs/report';
import type { EvalOptions } from '../eval/types';
import { EVAL_OPTION_FLAGS, evalOptions, optionError } from './evalOptions';
import { parseCommandFlags } from './commandFlags';
import { evalWorkers } from './evalWorkers';
import { toJson } from './json';
import { escapeControls, fmt, pct, someNames } from './terminalText';
import { checkOutputPath } from '../worker/files/regularFile';
import { readPaths } from './readPaths';

export const RUNS_USAGE = `usage: cross-entropy-lens runs LABEL_DIR RUN_DIR... [options]

Evaluates one validation set across checkpoints: each RUN_DIR holds one checkpoint's predictions, paired
by stem with LABEL_DIR as eval pairs them (eval --help). Only the stems with a label and a prediction in
every run are evaluated (the other files are listed as unmatched), each run in one streaming pass.
Reports each run's value, pixel accuracy, mIoU, ECE and 90th percentile of per-pixel losses; per class its
mean loss and IoU in each run; per image its value in each run; the images whose value rose most from the
first run to the last; and the images with the largest share of pixels whose loss is above the run's 90th
percentile in every run.

options:
  --names a,b,c           run names (default: the run folders' names)
  --ignore-index N        label value left out everywhere (default -100; 255 for most PNG masks)
  --weight FILE|a,b,c     class weights for the values (F.cross_entropy's weight)
  --label-smoothing F     in [0, 1] (default 0)
  --class-dim D           1 for [1, C, H, W] (default), -1 for channels-last [1, H, W, C]
  --bins B                calibration bins of the ECE (default 15)
  --boundary W            boundary band half width (default 3; eval's, kept in parts)
  --shard I/N             evaluate pairs I, I+N, ... of the common stems; needs --losses; merge the parts
  --losses FILE           with --shard: where the shard's per-pixel losses go (4 bytes per pixel and run);
                          keep it beside the part for merge
  --json                  print one JSON object`;

const RUNS_FLAGS = new Set([...EVAL_OPTION_FLAGS, '--shard', '--names', '--losses']);

interface RunsArgs {
  readonly labelDir: string;
  readonly runs: ReadonlyArray<{ readonly name: string; readonly folder: string }>;
  readonly options: EvalOptions;
  readonly shard: { index: number; count: number } | null;
  readonly losses: string | null;
  readonly json: boolean;
}

function bad(msg: string): never {
  return optionError('runs', msg);
}

function runNames(folders: readonly string[], given: string | undefined): string[] {
  const names = given === undefined ? folders.map((f) => path.basename(path.resolve(f))) : given.split(',').map((n) => n.trim());
  if (given !== undefined && names.length !== folders.length) bad(`--names has ${names.length} name${names.length === 1 ? '' : 's'}, but ${folders.length} RUN_DIRs were given`);
  const empty = names.findIndex((n) => n === '');
  if (empty >= 0) bad(`--names: name ${empty + 1} is empty`);
  const seen = new Map<string, number>();
  names.forEach((n, k) => {
    const other = seen.get(n);
    if (other !== undefined) {
      bad(given === undefined
        ? `RUN_DIRs ${folders[other]} and ${folders[k]} are both named '${n}' — name the runs with --names a,b,...`
        : `--names gives '${n}' twice — each run needs its own name`);
    }
    seen.set(n, k);
  });
  return names;
}

function parseRunsArgs(argv: readonly string[]): RunsArgs | 'help' {
  const flags = parseCommandFlags(argv, { command: 'runs', valued: RUNS_FLAGS, switches: ['--json'], bad });
  if (flags === 'help') return 'help';
  const { positional, get } = flags;
  const json = flags.switches.has('--json');
  if (positional.length < 3) {
    bad(positional.length < 2
      ? `runs expects LABEL_DIR and at least two RUN_DIRs, got ${positional.length} argument${positional.length === 1 ? '' : 's'}`
      : 'runs expects at least two RUN_DIRs after LABEL_DIR, got one (for one folder use eval PRED_DIR LABEL_DIR)');
  }
  const folders = positional.slice(1);
  const names = runNames(folders, get('--names'));
  const options = evalOptions('runs', get);
  const shardText = get('--shard');
  const losses = get('--losses') ?? null;
  if (shardText !== undefined && losses === null) bad('--shard needs --losses FILE: merge reads each shard\'s per-pixel losses from it');
  if (shardText === undefined && losses !== null) bad('--losses goes with --shard I/N (a whole evaluation keeps its losses in a temporary folder)');
  // Refused before the runs are evaluated, not when the file is written at the end.
  if (losses !== null) {
    checkOutputPath('--losses', losses, readPaths([['the label folder', positional[0]], ...folders.map((f): [string, string] => ['the run folder', f]), ['the --weight file', get('--weight') ?? null]]));
  }
  return {
    labelDir: positional[0], runs: folders.map((folder, k) => ({ name: names[k], folder })), options,
    shard: shardText === undefined ? null : parseShard(shardText), losses, json,
  };
}

export async function runRuns(argv: readonly string[], distDir: string, signal?: AbortSignal): Promise<string> {
  const parsed = parseRunsArgs(argv);
  if (parsed === 'help') return RUNS_USAGE;
  const started = performance.now();
  const { options, shard } = parsed;
  const names = parsed.runs.map((r) => r.name);
  const pairing = pairRunFolders(parsed.labelDir, parsed.runs);
  const pairs = pairing.pairs.map((p) => shardPairs(p, shard));
  const { pool, wasmPath } = evalWorkers(distDir, pairs[0].length);
  // Progress on a terminal only: piped output (--json > part.json) stays clean.
  const onProgress = process.stderr.isTTY === true
    ? (run: number, done: number, total: number): void => void process.stderr.write(`\rruns: ${escapeControls(names[run])} (${run + 1}/${names.length}) ${done}/${total} images${done === total && run === names.length - 1 ? '\n' : ''}`)
    : undefined;
  let outcome;
  try {
    outcome = await evaluateRuns({ pairs, options, pool, wasmPath, signal, onProgress });
  } finally {
    await pool.dispose();
  }
  const { outcomes, spill } = outcome;
  try {
    const reports = outcomes.map((o) => finalizeReport(o.counts, o.records, options, o.classes, []));
    const report = runsReport(names, reports, lossFigures(spill, outcome.histograms), spill.pixels, pairing.unmatched, pairing.unreadable);
    if (shard !== null) {
      const losses = spill.writePartFile(parsed.losses!);
      const sums: RunsPartSums = {
        format: RUNS_PART_FORMAT, version: 1, shard, names,
        runs: outcomes.map((o) => shardSums(o.counts, o.records, options, o.classes, shard, pairing.stems.length, [])),
        unmatched: pairing.unmatched,
        ...(pairing.unreadable.length > 0 ? { unreadable: pairing.unreadable } : {}),
        losses,
      };
      if (parsed.json) return toJson({ ...report, sums });
    } else if (parsed.json) {
      return toJson(report);
    }
    return runsText(report, (performance.now() - started) / 1000, shard);
  } finally {
    spill.close();
  }
}

/** `merge` of runs parts (already checked): the merged report, as JSON or text. */
export function mergeRunsOutput(parts: readonly CheckedRunsPart[], files: readonly string[], json: boolean): string {
  const report = mergeRunsParts(parts, files);
  return json ? toJson(report) : runsText(report, null, null);
}

/** A share as a percentage: two decimals, or three significant digits below 1% (0.00% hides a few pixels). */
function share(v: number): string {
  return v >= 0.01 ? pct(v) : `${(100 * v).toPrecision(3)}%`;
}

function signed(v: number): string {
  return Number.isNaN(v) ? 'NaN' : `${v >= 0 ? '+' : ''}${fmt(v, 4)}`;
}

/** The short human report. */
export function runsText(r: RunsReport, seconds: number | null, shard: { index: number; count: number } | null): string {
  const lines: string[] = [];
  lines.push(`images           ${r.images} in every run${shard ? ` (shard ${shard.index}/${shard.count})` : ''}${r.unmatched.length ? `; unmatched files: ${someNames(r.unmatched)}` : ''}`);
  const unreadable = r.unreadable ?? [];
  if (unreadable.length > 0) lines.push(`unreadable       ${someNames(unreadable.map((u) => `${u.name} (${u.reason})`))}`);
  const shown = r.runs.map((x) => escapeControls(x.name));
  const width = Math.max(3, ...shown.map((n) => n.length));
  lines.push(`${'run'.padEnd(width)}  ${'value'.padEnd(10)}  ${'accuracy'.padEnd(8)}  ${'mIoU'.padEnd(7)}  ${'ECE'.padEnd(7)}  p90 loss`);
  r.runs.forEach((x, k) => {
    lines.push(`${shown[k].padEnd(width)}  ${fmt(x.value).padEnd(10)}  ${pct(x.pixelAccuracy).padEnd(8)}  ${pct(x.miou).padEnd(7)}  ${fmt(x.ece, 4).padEnd(7)}  ${fmt(x.p90, 5)}`);
  });
  const rose = r.changed.filter((c) => c.delta > 0).slice(0, 5);
  lines.push(`loss rose most   ${rose.length === 0 ? 'none (no image\'s value rose from the first run to the last)' : rose.map((c) => `${escapeControls(c.name)} (${signed(c.delta)})`).join(', ')}`);
  const hard = r.persistent.filter((p) => p.share !== null && p.share > 0).slice(0, 5);
  lines.push(`hard in all runs ${hard.length === 0 ? 'none' : hard.map((p) => `${escapeControls(p.name)} (${share(p.share!)} of its pixels)`).join(', ')}  (loss above each run's 90th percentile in every run)`);
  const moved = r.perClass
    .map((c) => ({ c, d: (c.meanLoss[c.meanLoss.length - 1] ?? NaN) - (c.meanLoss[0] ?? NaN) }))
    .filter((x) => !Number.isNaN(x.d))
    .sort((a, b) => Math.abs(b.d) - Math.abs(a.d))
    .slice(0, 5);
  if (moved.length > 0) {
    lines.push(`classes moved    ${moved.map(({ c }) => `${c.class} (loss ${fmt(c.meanLoss[0], 4)} -> ${fmt(c.meanLoss[c.meanLoss.length - 1], 4)}, IoU ${pct(c.iou[0])} -> ${pct(c.iou[c.iou.length - 1])})`).join(', ')}`);
  }
  if (seconds !== null) lines.push(`time             ${seconds.toFixed(2)} s`);
  return lines.join('\n');
}
