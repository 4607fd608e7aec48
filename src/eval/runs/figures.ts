// The two figures of a runs evaluation that need a whole run before any pixel can be judged: each run's
// 90th percentile of its per-pixel losses, and per image how many of its pixels lie above that value in
// every run. From the losses kept on disk (lossFiles.ts), read back image by image:
//   1. level-1 histograms of each run (skipped when the pass over the logits already built them),
//   2. level-2 detail of the one or two bins holding the percentile's ranks -> exact percentiles,
//   3. per image, the pixels whose loss is above the percentile in every run (strict >, the float32 loss
//      against the float64 percentile).
// Memory: one image's losses and the histograms (512 KiB per run and level), whatever the set's size.
//
// The losses are the per-pixel losses that `eval` sums (F.cross_entropy(reduction='none') with
// --label-smoothing, without --weight), as the float32 kernel gives them (float64 logits: rounded to
// float32). Integer counts only: the figures do not depend on the order images are read in.
import { LossHistogram, PercentileSelection } from './percentile';
import { largest, type LossSource } from './lossFiles';
import { keepAbove } from './hardPixels';

/** The percentile of DESIGN.md's persistent[] (NumPy's default method). */
export const PERSISTENT_PERCENTILE = 90;

export interface LossFigures {
  /** Per run: the percentile (null: no pixels; NaN: a loss is NaN). */
  readonly percentile: ReadonlyArray<number | null>;
  /** Per image (stem order): pixels above every run's percentile. */
  readonly above: readonly number[];
}

function bitsOf(a: Float32Array, n: number): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, n);
}

/** Level-1 histograms of every run, from the source. */
export function histogramsOf(src: LossSource): LossHistogram[] {
  const h = Array.from({ length: src.runs }, () => new LossHistogram());
  const buf = new Float32Array(Math.max(1, largest(src.pixels)));
  src.pixels.forEach((n, i) => {
    for (let r = 0; r < src.runs; r++) {
      src.read(i, r, buf);
      h[r].add(bitsOf(buf, n));
    }
  });
  return h;
}

export function lossFigures(src: LossSource, histograms: readonly LossHistogram[] = histogramsOf(src)): LossFigures {
  const R = src.runs;
  const buf = new Float32Array(Math.max(1, largest(src.pixels)));
  const sel = histograms.map((h) => new PercentileSelection(h, PERSISTENT_PERCENTILE));
  if (sel.some((s) => s.needsValues)) {
    src.pixels.forEach((n, i) => {
      for (let r = 0; r < R; r++) {
        if (!sel[r].needsValues) continue;
        src.read(i, r, buf);
        sel[r].add(bitsOf(buf, n));
      }
    });
  }
  const percentile = sel.map((s) => s.result());
  // Nothing is above a NaN percentile (and a null one has no pixels): no need to look.
  const comparable = percentile.every((p) => p !== null && !Number.isNaN(p));
  const alive = new Uint8Array(buf.length);
  const above = src.pixels.map((n, i) => {
    if (!comparable || n === 0) return 0;
    alive.fill(1, 0, n);
    for (let r = 0; r < R; r++) {
      src.read(i, r, buf);
      keepAbove(alive, buf, n, percentile[r]!);
    }
    let count = 0;
    for (let k = 0; k < n; k++) count += alive[k];
    return count;
  });
  return { percentile, above };
}
