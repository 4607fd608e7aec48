// Command-line front end over the kernel (contract in DESIGN.md): exit 0 on success, exit 2 with one
// `error: …` line for bad input, never a stack trace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, parseInlineList, USAGE, type CliArgs } from './cli/args';
import { jsonReport, tensorInfo, textReport } from './cli/report';
import { isLensError, LensError } from './errors';
import { computeLoss } from './kernel/index';
import { splitMemberSpec } from './tensor/load';
import { encodeNpy } from './tensor/npy';
import type { Tensor } from './tensor/tensor';
import { describeFsError, readCompanionWeight, readTensorFile } from './worker/readTensorFile';

declare const PACKAGE_VERSION: string | undefined;

function readWeight(spec: string, what: string): Tensor {
  // An existing file wins over the inline form, so a file named "1,2" still reads as a file.
  const list = parseInlineList(spec);
  if (list && !fs.existsSync(splitMemberSpec(spec).path)) {
    return { dtype: 'float64', shape: [list.length], data: Float64Array.from(list) };
  }
  try {
    return readTensorFile(spec, 'weight');
  } catch (e) {
    if (isLensError(e) && e.kind === 'io' && !/[\\/.]/.test(spec)) {
      throw new LensError('option', `${what} '${spec}' is neither a file nor a comma-separated list of numbers such as 1,2.5,0.5`);
    }
    throw e;
  }
}

function writeLossMap(file: string, shape: readonly number[], map: Float64Array): void {
  const bytes = encodeNpy({ dtype: 'float32', shape, data: Float32Array.from(map) });
  // Write beside the destination and rename, so an interrupted run never leaves half a file behind.
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing to clean up
    }
    throw new LensError('io', `${file}: cannot write the loss map: ${describeFsError(e)}`);
  }
}

export function run(a: CliArgs): string {
  const started = performance.now();
  const input = readTensorFile(a.input, 'input');
  const target = readTensorFile(a.target, 'target');
  const weight = a.weight === null ? (readCompanionWeight(a.input) ?? null) : readWeight(a.weight, '--weight');
  const posWeight = a.posWeight === null ? null : readWeight(a.posWeight, '--pos-weight');
  let result;
  try {
    result = computeLoss({ input, target, weight, posWeight, options: a.options, topK: a.topK });
  } catch (e) {
    // Kernel errors name shapes but not files; say which pair they came from.
    if (isLensError(e)) throw new LensError(e.kind, `${a.input} vs ${a.target}: ${e.message}`);
    throw e;
  }
  if (a.out) writeLossMap(a.out, result.lossShape, result.lossMap);
  const seconds = (performance.now() - started) / 1000;
  const ii = tensorInfo(a.input, input);
  const ti = tensorInfo(a.target, target);
  return a.json ? jsonReport(result, ii, ti, seconds) : textReport(result, ii, ti, seconds);
}

export function main(argv: readonly string[]): number {
  try {
    const parsed = parseArgs(argv);
    if (parsed.kind === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`${typeof PACKAGE_VERSION === 'string' ? PACKAGE_VERSION : 'dev'}\n`);
      return 0;
    }
    process.stdout.write(run(parsed.args) + '\n');
    return 0;
  } catch (e) {
    if (isLensError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: internal error: ${msg.split('\n')[0]} — please report this with the command line\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
