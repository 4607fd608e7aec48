// Command-line front end over the kernel (contract in DESIGN.md): exit 0 on success, exit 2 with one
// `error: …` line for bad input, never a stack trace.
import { parseArgs, USAGE, type CliArgs } from './cli/args';
import { readPalette, readWeight } from './cli/inputs';
import { jsonReport, tensorInfo, textReport } from './cli/report';
import { runCompare } from './cli/compareCommand';
import { runEval, runMerge } from './cli/evalCommand';
import { runRuns } from './cli/runsCommand';
import { escapeControls } from './cli/terminalText';
import { isLensError, LensError } from './errors';
import { Engine, type EngineRequest, type TensorSource } from './worker/engine/engine';
import { describePairing, pairMaskTarget, type MaskPairing } from './worker/files/maskTarget';
import { describeFsError, readCompanionWeight } from './worker/files/readTensorFile';
import { labelIssuesOfRun, labelIssuesText } from './cli/labelIssuesCli';
import type { PairIssues } from './labels/pairIssues';
import { installNativeCrc32 } from './worker/files/nativeCrc';
import { checkOutputPath } from './worker/files/regularFile';
import { readPaths } from './cli/readPaths';

declare const PACKAGE_VERSION: string | undefined;

/**
 * Input files whose logits exceed this stream, in blocks of this size (smaller ones are one block anyway).
 * Measured on 2 cores, end to end: 64 MiB blocks 1.4-1.5 s for [50000, 1000] and [4096, 50257] float32,
 * 16 MiB 0.9-1.0 s, 4-8 MiB about the same again; kept at 16 MiB for fewer, larger jobs per block.
 */
const CLI_BLOCK_BYTES = 16 << 20;

export async function run(a: CliArgs, signal?: AbortSignal): Promise<string> {
  const started = performance.now();
  const file = (spec: string): TensorSource => ({ kind: 'file', path: spec });
  const companion = a.weight === null ? readCompanionWeight(a.input) : undefined;
  const weight: TensorSource | null = a.weight !== null ? { kind: 'tensor', tensor: readWeight(a.weight, '--weight') } : companion ? { kind: 'tensor', tensor: companion } : null;
  const posWeight: TensorSource | null = a.posWeight === null ? null : { kind: 'tensor', tensor: readWeight(a.posWeight, '--pos-weight') };
  // Output paths are checked before any work: a directory, FIFO or device there is refused at once, as is
  // a file the command reads.
  const reads = readPaths([['the input', a.input], ['the target', a.target], ['the --weight file', a.weight], ['the --pos-weight file', a.posWeight], ['the --palette file', a.palette ?? null]]);
  const outTarget = a.out !== null ? checkOutputPath('--out', a.out, reads) : null;
  if (a.issuesOut) checkOutputPath('--issues-out', a.issuesOut, outTarget === null ? reads : [...reads, { what: 'the --out file', path: outTarget }]);
  // Its own error, not one of the pair's.
  const palette = a.palette ? readPalette(a.palette) : undefined;
  // One computation per process: .npy inputs above one block stream through two reused blocks of the
  // working memory instead of staying resident (the panel keeps them for recomputing; here nothing
  // would). The working memory stays near 2 x 16 MiB whatever the file's size, and reads go into pages
  // already mapped: first touching fresh pages (a fault per 4 KiB) cost more than the kernel on large
  // inputs.
  const engine = new Engine({ distDir: __dirname, streamFilesOverBytes: CLI_BLOCK_BYTES, blockBytes: CLI_BLOCK_BYTES });
  let result;
  let pairing: MaskPairing | null = null;
  let issues: PairIssues | null = null;
  try {
    let req: EngineRequest = { input: file(a.input), target: file(a.target), weight, posWeight, options: a.options, topK: a.topK, outFile: a.out ?? undefined };
    // A PNG mask target: read here (with --palette for an RGB mask) so the report can say how it paired.
    const mask = pairMaskTarget(req, palette);
    if (mask) ({ req, pairing } = mask);
    result = await engine.compute(req, { signal });
    // The loss computed first: its checks (shapes, labels in range) are PyTorch's, and come before any flag.
    if (a.labelIssues) issues = await labelIssuesOfRun(engine, a, result.options, pairing, signal);
  } catch (e) {
    // Kernel errors name shapes but not files; say which pair they came from.
    if (isLensError(e) && e.kind !== 'io' && e.kind !== 'cancelled' && !e.message.startsWith(a.input) && !e.message.startsWith(a.target)) {
      throw new LensError(e.kind, `${a.input} vs ${a.target}: ${e.message}`);
    }
    throw e;
  } finally {
    await engine.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const ii = tensorInfo(a.input, result.input, pairing?.input ? { stored: pairing.input.slice(1) } : undefined);
  const ti = tensorInfo(a.target, result.target, pairing ? { stored: pairing.stored, note: describePairing(pairing) } : undefined);
  if (a.json) {
    const json = jsonReport(result, ii, ti, seconds, { engine: result.engine, workers: result.workers, streamed: result.streamed });
    if (!issues) return json;
    // Appended as fields of the same object (the report's own text is kept as it is written).
    const extra = JSON.stringify({ labelIssues: issues.labelIssues, labelQuality: issues.labelQuality });
    return `${json.replace(/\}\s*$/, '')},${extra.slice(1)}`;
  }
  const text = textReport(result, ii, ti, seconds);
  return issues ? `${text}\n${labelIssuesText(issues)}` : text;
}

/** Subcommands (DESIGN.md): each module parses its own arguments and returns what to print. */
async function runSubcommand(name: string, argv: readonly string[], signal: AbortSignal): Promise<string | null> {
  switch (name) {
    case 'compare':
      return runCompare(argv, __dirname, signal);
    case 'eval':
      return runEval(argv, __dirname, signal);
    case 'merge':
      return runMerge(argv);
    case 'runs':
      return runRuns(argv, __dirname, signal);
    default:
      return null;
  }
}

const SUBCOMMANDS = new Set(['compare', 'eval', 'merge', 'runs']);

export async function main(argv: readonly string[]): Promise<number> {
  installNativeCrc32();
  try {
    if (argv.length > 0 && SUBCOMMANDS.has(argv[0])) {
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        const out = await runSubcommand(argv[0], argv.slice(1), abort.signal);
        if (out !== null) process.stdout.write(out + '\n');
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
      return 0;
    }
    const parsed = parseArgs(argv);
    if (parsed.kind === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`${typeof PACKAGE_VERSION === 'string' ? PACKAGE_VERSION : 'dev'}\n`);
      return 0;
    }
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      process.stdout.write((await run(parsed.args, abort.signal)) + '\n');
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    return 0;
  } catch (e) {
    if (isLensError(e)) {
      // Messages quote file names and file contents: nothing in them may drive the terminal.
      process.stderr.write(`error: ${escapeControls(e.message)}\n`);
      return e.kind === 'cancelled' ? 130 : 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: internal error: ${escapeControls(msg.split('\n')[0])} — please report this with the command line\n`);
    return 1;
  }
}

if (require.main === module) {
  // A reader that stopped reading (`| head`) ends the output quietly, as it does for other tools; any other
  // failure to write it (a full disk) is one line, not Node's stack trace of an unhandled 'error' event.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`error: cannot write the output: ${escapeControls(describeFsError(e))}\n`);
    process.exit(e.code === 'EPIPE' ? 0 : 2);
  });
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
