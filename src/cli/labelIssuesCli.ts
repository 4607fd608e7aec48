// The CLI's --label-issues on one pair: the input and target read in this process (the loss was computed
// first by the engine, so their shapes and labels are PyTorch-valid), the likely label errors found as
// src/labels/pairIssues.ts says, and --issues-out written as a boolean .npy in the target's shape.
import * as fs from 'node:fs';
import type { CliArgs } from './args';
import { LensError } from '../errors';
import type { LossOptions } from '../kernel/types';
import { readPalette } from './inputs';
import { fmt6 } from './report';
import type { PairIssues } from '../labels/pairIssues';
import { encodeNpy } from '../tensor/binary/npy';
import type { MaskPairing } from '../worker/files/maskTarget';
import type { Engine } from '../worker/engine/engine';
import { outputTarget } from '../worker/files/regularFile';

/**
 * The pair's label issues, computed in one of the engine's workers (the loss was computed first, so the
 * shapes and labels are PyTorch-valid); --issues-out written here.
 */
export async function labelIssuesOfRun(engine: Engine, a: CliArgs, options: LossOptions, pairing: MaskPairing | null, signal?: AbortSignal): Promise<PairIssues> {
  const r = await engine.labelIssues({
    input: a.input,
    target: a.target,
    classDim: options.classDim,
    ignoreIndex: options.ignoreIndex,
    inputKind: options.inputKind,
    ...(pairing?.input ? { inputShape: pairing.input } : {}),
    ...(pairing ? { mask: true } : {}),
    ...(pairing && a.palette ? { palette: readPalette(a.palette) } : {}),
  }, signal);
  if (a.issuesOut) {
    try {
      fs.writeFileSync(outputTarget(a.issuesOut), encodeNpy({ dtype: 'bool', shape: r.maskShape, data: r.mask }));
    } catch (e) {
      throw new LensError('io', `${a.issuesOut}: cannot write the issue mask (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return r;
}

export function labelIssuesText(r: PairIssues): string {
  const li = r.labelIssues;
  const what = li.rule === 'segmentation' ? 'pixels' : 'examples';
  const lines = [`label issues: ${li.count} of ${li.examples} ${what} likely mislabelled (${li.numIssuesEstimate} confident disagreements; cleanlab's rule)`];
  if (li.commonIssues.length) lines.push(`  given -> predicted: ${li.commonIssues.slice(0, 5).map((c) => `${c.given} -> ${c.predicted} (${c.count})`).join(', ')}`);
  // A loop, not Math.min(...q): a spread of a million scores overflows the call stack.
  let lowest = Infinity;
  for (const x of r.labelQuality) if (x !== null && x < lowest) lowest = x;
  if (lowest !== Infinity) lines.push(`  lowest label quality: ${fmt6(lowest)}`);
  return lines.join('\n');
}
