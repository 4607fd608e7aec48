// The CLI's --label-issues on one pair: the input and target read in this process (the loss was computed
// first by the engine, so their shapes and labels are PyTorch-valid), the likely label errors found as
// src/labels/pairIssues.ts says, and --issues-out written as a boolean .npy in the target's shape.
import * as fs from 'node:fs';
import type { CliArgs } from './args';
import { LensError } from '../errors';
import type { LossOptions } from '../kernel/types';
import { readPalette } from './inputs';
import { fmt6 } from './report';
import { pairLabelIssues, type PairIssues } from '../labels/pairIssues';
import { encodeNpy } from '../tensor/npy';
import { readMaskTarget, type MaskPairing } from '../worker/maskTarget';
import { readTensorFile } from '../worker/readTensorFile';

export function labelIssuesOfRun(a: CliArgs, options: LossOptions, pairing: MaskPairing | null): PairIssues {
  let input = readTensorFile(a.input, 'input');
  if (pairing?.input) input = { ...input, shape: pairing.input };
  const target = pairing ? readMaskTarget(a.target, a.palette ? readPalette(a.palette) : undefined) : readTensorFile(a.target, 'target');
  const r = pairLabelIssues(input, target, { classDim: options.classDim, ignoreIndex: options.ignoreIndex, inputKind: options.inputKind });
  if (a.issuesOut) {
    try {
      fs.writeFileSync(a.issuesOut, encodeNpy({ dtype: 'bool', shape: target.shape, data: r.mask }));
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
  const q = r.labelQuality.filter((x): x is number => x !== null);
  if (q.length) lines.push(`  lowest label quality: ${fmt6(Math.min(...q.slice(0, 1_000_000)))}`);
  return lines.join('\n');
}
