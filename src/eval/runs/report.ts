// The `runs --json` report (DESIGN.md) from each run's `eval` report and the loss figures. Pure.
//
// - runs[k]: that run's value, pixelAccuracy, miou and ece, exactly as `eval` reports them for the run's
//   folder restricted to the images evaluated here, and p90, the run's 90th percentile of per-pixel losses.
// - perClass[c]: meanLoss and iou of class c in each run; perImage[i]: the image's value in each run
//   (stem order).
// - changed: each image's value in the last run minus the first, largest increase first; NaN deltas (an
//   image without pixels, or NaN losses) last; ties in stem order.
// - persistent: per image, the share of its non-ignored pixels whose loss is above the run's p90 in every
//   run; largest first, images without pixels (share null) last, ties in stem order.
import type { EvalReport, UnreadableEntry } from '../types';
import type { LossFigures } from './figures';

export interface RunFigures {
  readonly name: string;
  readonly value: number;
  readonly pixelAccuracy: number | null;
  readonly miou: number | null;
  readonly ece: number | null;
  readonly p90: number | null;
}

export interface RunsReport {
  readonly images: number;
  readonly runs: readonly RunFigures[];
  readonly perClass: ReadonlyArray<{ readonly class: number; readonly meanLoss: ReadonlyArray<number | null>; readonly iou: ReadonlyArray<number | null> }>;
  readonly perImage: ReadonlyArray<{ readonly name: string; readonly value: readonly number[] }>;
  readonly changed: ReadonlyArray<{ readonly name: string; readonly delta: number }>;
  readonly persistent: ReadonlyArray<{ readonly name: string; readonly share: number | null }>;
  /** Files left out: predictions as `RUN_NAME/file`, then labels; see DESIGN.md's runs paragraph. */
  readonly unmatched: readonly string[];
  /** Present only when some entries could not be read (their names are in unmatched too). */
  readonly unreadable?: readonly UnreadableEntry[];
}

/** Descending, with NaN / null last and ties kept in their (stem) order: Array.prototype.sort is stable. */
function largestFirst<T>(items: T[], key: (t: T) => number | null): T[] {
  const rank = (v: number | null): number => (v === null || Number.isNaN(v) ? 1 : 0);
  return items.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (rank(ka) !== rank(kb)) return rank(ka) - rank(kb);
    if (ka === null || kb === null || Number.isNaN(ka)) return 0;
    return kb > ka ? 1 : kb < ka ? -1 : 0;
  });
}

/**
 * reports[k]: run k's eval report over the same images (stem order in each); figures.above[i] and pixels[i]
 * for image i.
 */
export function runsReport(
  names: readonly string[], reports: readonly EvalReport[], figures: LossFigures, pixels: readonly number[],
  unmatched: readonly string[], unreadable: readonly UnreadableEntry[] = [],
): RunsReport {
  const first = reports[0];
  const last = reports[reports.length - 1];
  const classes = Math.max(...reports.map((r) => r.perClass.length));
  const perImage = first.perImage.map((p, i) => ({ name: p.name, value: reports.map((r) => r.perImage[i].value) }));
  const changed = largestFirst(first.perImage.map((p, i) => ({ name: p.name, delta: last.perImage[i].value - p.value })), (c) => c.delta);
  const persistent = largestFirst(first.perImage.map((p, i) => ({ name: p.name, share: pixels[i] === 0 ? null : figures.above[i] / pixels[i] })), (c) => c.share);
  return {
    images: first.images,
    runs: reports.map((r, k) => ({ name: names[k], value: r.value, pixelAccuracy: r.pixelAccuracy, miou: r.miou, ece: r.ece, p90: figures.percentile[k] })),
    perClass: Array.from({ length: classes }, (_, c) => ({
      class: c,
      meanLoss: reports.map((r) => r.perClass[c]?.meanLoss ?? null),
      iou: reports.map((r) => r.perClass[c]?.iou ?? null),
    })),
    perImage,
    changed,
    persistent,
    unmatched: [...unmatched],
    ...(unreadable.length > 0 ? { unreadable: unreadable.map((u) => ({ name: u.name, reason: u.reason })) } : {}),
  };
}
