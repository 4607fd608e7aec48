// `compare INPUT_A INPUT_B TARGET [options]` (contract in DESIGN.md): both inputs against one target with the
// same options, through one engine; prints each run's report and B - A (reduced, per element, per class).
import { fmtShape, isLensError, LensError } from '../errors';
import { Engine, type EngineOptions, type EngineRequest, type EngineResult, type TensorSource } from '../worker/engine/engine';
import { compareRuns, compareSummary, checkSameShape } from '../worker/engine/compareSession';
import { pairMaskTarget } from '../worker/files/maskTarget';
import { closeNpy, isNpyPath, openNpy } from '../worker/files/npyFile';
import { NpyStreamWriter } from '../worker/files/npyStreamWriter';
import { readCompanionWeight, readTensorFile } from '../worker/files/readTensorFile';
import { splitMemberSpec } from '../tensor/load';
import { DEFAULT_SAMPLING } from '../hover/files';
import { summarizeTensorFile } from '../worker/jobs/tensorSummary';
import type { CompareSummary } from '../protocol';
import type { CompareMaps } from '../kernel/compare';
import { parseArgs } from './args';
import { checkOutputPath } from '../worker/files/regularFile';
import { readPaths } from './readPaths';
import { readPalette, readWeight } from './inputs';
import { fmt6, jsonNumber, jsonReport, tensorInfo } from './report';
import { escapeControls } from './terminalText';

/** Per-element maps kept for each run of a comparison: 1 GiB is about 80 million elements. */
export const COMPARE_MAPS_BYTES = 1 << 30;

export const COMPARE_USAGE = `usage: cross-entropy-lens compare INPUT_A INPUT_B TARGET [options]

Computes the loss of two inputs (two checkpoints, two models) against one target with the same options and
shows where B is better or worse than A: B - A reduced, per element and per target class.

options: as for cross-entropy-lens INPUT TARGET (--weight, --ignore-index, --reduction, --label-smoothing,
--input-kind, --class-dim, --loss, --palette, --top-k), and
  --json                       print {a, b, delta, improved, regressed, perClass}
  --out DELTA.npy              write B's unreduced loss minus A's as float32 .npy (NaN where ignored)`;

/**
 * The stored shape of an input from its header alone: a .npy file, or a named member of a torch.save,
 * .safetensors or .npz file (from its listing; no storage is read for large files); null otherwise (the
 * engine reads it and names any problem).
 */
function headerShape(spec: string): readonly number[] | null {
  const { member } = splitMemberSpec(spec);
  if (member !== undefined && /\.(pt|pth|bin|safetensors|npz)$/i.test(splitMemberSpec(spec).path)) {
    try {
      return summarizeTensorFile(spec, { ...DEFAULT_SAMPLING, overBytes: 0 }).arrays[0]?.shape ?? null;
    } catch {
      return null;
    }
  }
  if (!isNpyPath(spec) || member !== undefined) return null;
  let f;
  try {
    f = openNpy(spec);
  } catch {
    return null; // the engine's read names the problem
  }
  try {
    return f.header.shape;
  } finally {
    closeNpy(f);
  }
}

/** Kernel errors name shapes but not files; say which pair they came from (as the main command does). */
function withPair(e: unknown, input: string, target: string): unknown {
  if (isLensError(e) && e.kind !== 'io' && e.kind !== 'cancelled' && !e.message.startsWith(input) && !e.message.startsWith(target)) {
    return new LensError(e.kind, `${input} vs ${target}: ${e.message}`);
  }
  return e;
}

function writeDelta(file: string, shape: readonly number[], delta: Float32Array): void {
  const w = new NpyStreamWriter(file, shape);
  try {
    w.append(delta);
    w.finish();
  } catch (e) {
    w.abort();
    throw isLensError(e) ? e : new LensError('io', `${file}: cannot write the delta map: ${(e as Error).message.split('\n')[0]}`);
  }
}

function textSummary(s: CompareSummary, a: EngineResult, b: EngineResult, inA: string, inB: string, target: string, compared: number): string {
  const o = a.options;
  const name = o.loss === 'ce' ? 'cross-entropy' : o.loss;
  const signed = (v: number): string => (v > 0 ? `+${fmt6(v)}` : fmt6(v));
  const lines: string[] = [];
  lines.push(s.delta === null
    ? `${name} (reduction none), B - A per element`
    : `${name} (${o.reduction}): A ${fmt6(s.valueA)}, B ${fmt6(s.valueB)}, B - A ${signed(s.delta)}`);
  const info = (r: EngineResult['input']): string => `${fmtShape(r.shape)} ${r.dtype}`;
  const file = escapeControls;
  lines.push(`  A       ${file(inA)}  ${info(a.input)}`, `  B       ${file(inB)}  ${info(b.input)}`, `  target  ${file(target)}  ${info(a.target)}`);
  lines.push(`  ${s.improved} of ${compared} elements improved (B lower), ${s.regressed} regressed (B higher)${a.stats.ignoredCount ? `; ${a.stats.ignoredCount} ignored` : ''}`);
  const rows = s.perClass.filter((c) => !Number.isNaN(c.meanA) || !Number.isNaN(c.meanB));
  if (rows.length) {
    const header = ['class', 'mean A', 'mean B', 'B - A'];
    const cells = rows.slice(0, 50).map((c) => [String(c.class), fmt6(c.meanA), fmt6(c.meanB), signed(c.deltaMeanLoss)]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
    const line = (r: string[]): string => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    lines.push(line(header), ...cells.map(line));
    if (rows.length > 50) lines.push(`  … ${rows.length - 50} more classes (use --json for all)`);
  }
  return lines.join('\n');
}

/** engineOptions: tests make the engine stream small files (its in-memory budget), as large ones do. */
export async function runCompare(argv: readonly string[], distDir: string, signal?: AbortSignal, engineOptions: Omit<EngineOptions, 'distDir'> = {}): Promise<string> {
  const parsed = parseArgs(argv, ['INPUT_A', 'INPUT_B', 'TARGET']);
  if (parsed.kind !== 'run') return COMPARE_USAGE;
  const a = parsed.args;
  // Accepted by the shared parser, but compare has no such step: given, it would be dropped.
  if (a.labelIssues) throw new LensError('option', '--label-issues is not a compare option: flag label issues on one input (cli.js INPUT TARGET --label-issues)');
  const [inA, inB, target] = a.files ?? [];
  // Refused before both inputs are computed, not when the delta is written.
  if (a.out !== null) checkOutputPath('--out', a.out, readPaths([['input A', inA], ['input B', inB], ['the target', target], ['the --weight file', a.weight]]));
  // A shape mismatch is named before any computing when both headers say it; else after.
  const shapeA = headerShape(inA);
  const shapeB = headerShape(inB);
  if (shapeA && shapeB) checkSameShape(inA, shapeA, inB, shapeB);
  const started = performance.now();
  const companion = a.weight === null ? readCompanionWeight(inA) : undefined;
  const weight: TensorSource | null = a.weight !== null ? { kind: 'tensor', tensor: readWeight(a.weight, '--weight') } : companion ? { kind: 'tensor', tensor: companion } : null;
  const posWeight: TensorSource | null = a.posWeight === null ? null : { kind: 'tensor', tensor: readWeight(a.posWeight, '--pos-weight') };
  // Both runs keep their per-element losses (13 bytes an element), streamed inputs too, up to this much each.
  const engine = new Engine({ keepStreamedMapsBytes: COMPARE_MAPS_BYTES, ...engineOptions, distDir });
  let ra: EngineResult;
  let rb: EngineResult;
  let m: CompareMaps;
  const palette = a.palette ? readPalette(a.palette) : undefined;
  // A PNG mask target is read and paired for each input (it may reshape a [C, H, W] input to [1, C, H, W]).
  const request = (input: string): EngineRequest => {
    const req: EngineRequest = { input: { kind: 'file', path: input }, target: { kind: 'file', path: target }, weight, posWeight, options: a.options, topK: a.topK };
    return pairMaskTarget(req, palette)?.req ?? req;
  };
  try {
    try {
      ra = await engine.compute(request(inA), { signal });
    } catch (e) {
      throw withPair(e, inA, target);
    }
    try {
      rb = await engine.compute(request(inB), { signal });
    } catch (e) {
      // B failing where A passed is most often a different shape: say that rather than the kernel's words.
      if (isLensError(e) && e.kind === 'shape' && !shapeB) {
        let stored: readonly number[] | null = null;
        try {
          stored = readTensorFile(inB, 'input').shape;
        } catch {
          // the engine's error stands
        }
        if (stored) checkSameShape(inA, ra.input.shape, inB, stored);
      }
      throw withPair(e, inB, target);
    }
    // Maps computed on request (sigmoid focal) come from this engine: before it goes.
    m = await compareRuns(ra, rb, inA, inB, signal);
  } finally {
    await engine.dispose();
  }
  const summary = compareSummary(ra, rb, m, inA, inB);
  if (a.out) writeDelta(a.out, ra.lossShape, m.delta);
  const seconds = (performance.now() - started) / 1000;
  const compared = ra.stats.elementCount - ra.stats.ignoredCount;
  if (!a.json) return textSummary(summary, ra, rb, inA, inB, target, compared) + `\n  ${seconds.toFixed(3)} s`;
  const report = (r: EngineResult, input: string): unknown =>
    JSON.parse(jsonReport(r, tensorInfo(input, r.input), tensorInfo(target, r.target), seconds, { engine: r.engine, workers: r.workers, streamed: r.streamed })) as unknown;
  return JSON.stringify({
    a: report(ra, inA),
    b: report(rb, inB),
    delta: summary.delta,
    improved: summary.improved,
    regressed: summary.regressed,
    perClass: summary.perClass,
    seconds,
  }, jsonNumber);
}
