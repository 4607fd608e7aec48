// Label issues of one pair of files, in a worker (the CLI's --label-issues; the panel's mode next): the
// tensors read here, the issues found as src/labels/pairIssues.ts says.
import type { LabelIssuesJob } from '../protocol';
import { pairLabelIssues, type PairIssues } from '../labels/pairIssues';
import { readMaskTarget } from './maskTarget';
import { readTensorFile } from './readTensorFile';

export function runLabelIssues(job: LabelIssuesJob): PairIssues {
  let input = readTensorFile(job.input, 'input');
  if (job.inputShape) input = { ...input, shape: job.inputShape };
  const target = job.mask ? readMaskTarget(job.target, job.palette) : readTensorFile(job.target, 'target');
  return pairLabelIssues(input, target, { classDim: job.classDim, ignoreIndex: job.ignoreIndex, inputKind: job.inputKind });
}
