// Label issues of one pair, in a worker (the CLI's --label-issues, the panel's and notebook's label-errors
// mode): the tensors read here, the issues found as src/labels/pairIssues.ts says.
import type { LabelIssuesJob, WorkerRequest } from '../../protocol';
import { imagePass2, imageThresholdSums, pairLabelIssues, type PairIssues } from '../../labels/pairIssues';
import { readMaskTarget } from '../files/maskTarget';
import { readTensorFile } from '../files/readTensorFile';
import { loadWhole } from '../engine/sources';

export function runLabelIssues(job: LabelIssuesJob): PairIssues {
  let input = typeof job.input === 'string' ? readTensorFile(job.input, 'input') : loadWhole(job.input, 'input');
  if (job.inputShape) input = { ...input, shape: job.inputShape };
  const target = typeof job.target !== 'string' ? loadWhole(job.target, 'target') : job.mask ? readMaskTarget(job.target, job.palette) : readTensorFile(job.target, 'target');
  return pairLabelIssues(input, target, { classDim: job.classDim, ignoreIndex: job.ignoreIndex, inputKind: job.inputKind });
}

/** eval --label-issues, one image: [C, H, W] or [1, C, H, W] logits (or channels-last) and its [H, W] label. */
export function runLabelIssuesImage(job: Extract<WorkerRequest, { kind: 'label-issues-image' }>): { pass1: { sums: number[]; counts: number[] } | null; pass2: ReturnType<typeof imagePass2> | null } {
  const pred = readTensorFile(job.prediction, 'input');
  const input = pred.shape.length === 3 ? { ...pred, shape: [1, ...pred.shape] } : pred;
  const label = readMaskTarget(job.label);
  const target = label.shape.length === 2 ? { ...label, shape: [1, ...label.shape] } : label;
  const o = { classDim: job.classDim, ignoreIndex: job.ignoreIndex, inputKind: 'logits' as const };
  return job.thresholds === null ? { pass1: imageThresholdSums(input, target, o), pass2: null } : { pass1: null, pass2: imagePass2(input, target, o, job.thresholds) };
}
