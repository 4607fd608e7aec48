// The loss figures of a runs evaluation computed on the worker pool (src/worker/jobs/lossFiguresJob.ts) rather
// than on the calling thread: reading every run's losses back is seconds of synchronous work for a large
// set, which on the extension host would freeze the editor. The histograms are handed to the worker (their
// buffers are unusable here afterwards).
import { LensError } from '../../errors';
import type { WorkerPool } from '../../worker/engine/pool';
import { runOne, unexpected } from '../../worker/engine/schedule';
import type { LossFigures } from './figures';
import type { LossLayout } from './lossFiles';
import type { LossHistogram } from './percentile';

export async function lossFiguresInWorker(pool: WorkerPool, layout: LossLayout, histograms: readonly LossHistogram[], signal?: AbortSignal): Promise<LossFigures> {
  if (histograms.length !== layout.runs) throw new LensError('value', `${histograms.length} loss histograms for ${layout.runs} runs`);
  const transfer = [layout.fileOf.buffer, layout.at.buffer, ...histograms.map((h) => h.counts.buffer)] as ArrayBuffer[];
  const r = await runOne(() => pool, { kind: 'loss-figures', id: 0, layout, histograms: histograms.map((h) => ({ counts: h.counts, nan: h.nan })) }, signal, transfer);
  if (r.kind !== 'loss-figures-done') throw unexpected(r);
  return r.figures;
}
