// The runs' loss figures in a worker: the losses kept on disk are read back here (twice over every run's
// pixels), so the extension host's thread only waits for the answer. lossFigures is the one implementation:
// the CLI calls it directly, on the same losses, and gets the same numbers.
import { lossFigures, type LossFigures } from '../../eval/runs/figures';
import { LaidOutLosses } from '../../eval/runs/lossFiles';
import { LossHistogram } from '../../eval/runs/percentile';
import type { WorkerRequest } from '../../protocol';

export function runLossFigures(job: Extract<WorkerRequest, { kind: 'loss-figures' }>): LossFigures {
  const src = new LaidOutLosses(job.layout);
  try {
    return lossFigures(src, job.histograms.map((h) => new LossHistogram(h.counts, h.nan)));
  } finally {
    src.close();
  }
}
