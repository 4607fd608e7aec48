// What the runs view is sent, made from `runs`' report, and the request it keeps for a window reload (pure;
// no VS Code import, so unit tests use it too). Webview messages are JSON: NaN and infinities become null.
import * as path from 'node:path';
import type { RunsReport } from '../../eval/runs/report';
import type { EvalOptions, EvalReport, LossThumbnail } from '../../eval/types';
import type { HostToRuns, RunsPooledFigures, RunsRequest, RunsViewReport } from '../../protocol';
import { parseDatasetRequest } from './datasetMessages';

const finite = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

/** The report in the view's form; changed[] and persistent[] keep the CLI's order and point at perImage. */
export function toRunsView(r: RunsReport): RunsViewReport {
  const indexOf = new Map(r.perImage.map((p, i) => [p.name, i]));
  // Stems are unique within a pairing, so every name has its index.
  const at = (name: string): number => indexOf.get(name) ?? -1;
  return {
    images: r.images,
    runs: r.runs.map((x) => ({ ...pooledFigures(x.name, x), p90: finite(x.p90) })),
    perClass: r.perClass.map((c) => ({ class: c.class, meanLoss: c.meanLoss.map(finite), iou: c.iou.map(finite) })),
    perImage: r.perImage.map((p) => ({ name: p.name, value: p.value.map(finite) })),
    changed: r.changed.map((c) => ({ index: at(c.name), delta: finite(c.delta) })),
    persistent: r.persistent.map((p) => ({ index: at(p.name), share: finite(p.share) })),
    unmatched: r.unmatched,
  };
}

/** A run's pooled figures from its eval report, for the view while the other runs are still evaluated. */
export function pooledFigures(name: string, r: Pick<EvalReport, 'value' | 'pixelAccuracy' | 'miou' | 'ece'>): RunsPooledFigures {
  return { name, value: finite(r.value), pixelAccuracy: finite(r.pixelAccuracy), miou: finite(r.miou), ece: finite(r.ece) };
}

export function toRunsRequest(run: { readonly labelDir: string; readonly runs: RunsRequest['runs']; readonly options: EvalOptions }): RunsRequest {
  return { labelDir: run.labelDir, runs: run.runs.map((r) => ({ name: r.name, folder: r.folder })), options: { ...run.options, weight: run.options.weight ? [...run.options.weight] : null } };
}

/**
 * A saved request read back after a window reload, or null where it is not one (an older version's state,
 * or edited): the serializer then closes the view rather than evaluate something nobody asked for.
 */
export function parseRunsRequest(v: unknown): RunsRequest | null {
  if (v === null || typeof v !== 'object') return null;
  const r = v as { labelDir?: unknown; runs?: unknown; options?: unknown };
  if (!Array.isArray(r.runs) || r.runs.length < 2) return null;
  const runs: Array<{ name: string; folder: string }> = [];
  for (const x of r.runs as unknown[]) {
    const run = x as { name?: unknown; folder?: unknown } | null;
    if (run === null || typeof run !== 'object' || typeof run.name !== 'string' || run.name === '' || typeof run.folder !== 'string' || run.folder === '') return null;
    runs.push({ name: run.name, folder: run.folder });
  }
  if (new Set(runs.map((x) => x.name)).size !== runs.length) return null;
  // The options and label folder under the dataset view's rules (the same eval options).
  const checked = parseDatasetRequest({ predDir: runs[0].folder, labelDir: r.labelDir, options: r.options });
  if (!checked) return null;
  return { labelDir: checked.labelDir, runs, options: checked.options };
}

/**
 * Run names from the run folders: each folder's name, with its parent's where two share one (run1/ckpt,
 * run2/ckpt), and its position where even that repeats: the report's names must be unique.
 */
export function runNamesOf(folders: readonly string[]): string[] {
  const base = folders.map((f) => path.basename(f));
  const named = folders.map((f, k) => (base.filter((b) => b === base[k]).length > 1 ? `${path.basename(path.dirname(f))}/${base[k]}` : base[k]));
  return named.map((n, k) => (named.filter((m) => m === n).length > 1 ? `${n} (${k + 1})` : n));
}

/**
 * An image's thumbnail in the last run minus the first: the loss thumbnails are means over each cell's
 * non-ignored pixels, the same pixels in every run (one label), so the difference of the means is the mean of
 * the per-pixel differences. Null where the two do not have the same size (they always do for one label).
 */
export function deltaThumbnail(first: LossThumbnail | undefined, last: LossThumbnail | undefined): LossThumbnail | null {
  if (!first || !last || first.h !== last.h || first.w !== last.w) return null;
  const data = new Float32Array(first.data.length);
  for (let k = 0; k < data.length; k++) data[k] = last.data[k] - first.data[k];
  return { h: first.h, w: first.w, data };
}

export function thumbnailRow(index: number, t: LossThumbnail): { index: number; h: number; w: number; base64: string } {
  return { index, h: t.h, w: t.w, base64: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64') };
}

export interface DeltaRow {
  readonly index: number;
  readonly thumbnail: LossThumbnail;
}

/** Rows per deltaThumbnails message: 256 x 32 x 32 float32 in base64 is about 1.4 MB. */
export const DELTA_ROWS_PER_MESSAGE = 256;

/**
 * The delta thumbnails as messages of at most DELTA_ROWS_PER_MESSAGE rows (2,000 images in one would be an
 * 11 MB message), each with the colour scale of them all (the largest |change|), so every row is drawn on
 * the same scale whichever messages the view has so far.
 */
export function deltaThumbnailMessages(rows: readonly DeltaRow[], perMessage = DELTA_ROWS_PER_MESSAGE): Array<HostToRuns & { type: 'deltaThumbnails' }> {
  let scale = 0;
  for (const r of rows) for (const v of r.thumbnail.data) if (Number.isFinite(v) && Math.abs(v) > scale) scale = Math.abs(v);
  const out: Array<HostToRuns & { type: 'deltaThumbnails' }> = [];
  for (let k = 0; k < rows.length; k += perMessage) {
    out.push({ type: 'deltaThumbnails', scale, rows: rows.slice(k, k + perMessage).map((r) => thumbnailRow(r.index, r.thumbnail)) });
  }
  return out;
}
