// "Hard in every run" as the view holds it (a panel opened from the runs view): the host's answer for the
// result on screen, and the sample's 0/1 mask the painter, the legend and the hover read-out share.
import type { ViewHardPixels } from '../../../src/protocol';
import { flaggedInSample } from '../../../src/labels/viewIssues';
import { fmtCount, fmt6 } from '../format';
import type { Geometry } from '../render/raster';

export interface SampleMask {
  readonly mask: Uint8Array;
  readonly count: number;
}

export class HardPixelsState {
  /** null: not asked for since the result on screen arrived. */
  hard: ViewHardPixels | null = null;
  /** Counts updates (the painter's cache key). */
  seq = 0;
  /** The mode asked the host for the result on screen. */
  asked = false;
  private cache: (SampleMask & { readonly seq: number; readonly n: number }) | null = null;

  set(hard: ViewHardPixels | null): void {
    this.hard = hard;
    this.seq++;
    this.cache = null;
  }

  /** A new result: its hard pixels are asked for again when the mode is on. */
  reset(): void {
    this.set(null);
    this.asked = false;
  }

  /** Sample n's hard pixels as a mask over its map (null: not known). */
  ofSample(n: number, g: Geometry | null): SampleMask | null {
    const h = this.hard;
    if (!h || h.state !== 'done' || !g) return null;
    const c = this.cache;
    if (c && c.seq === this.seq && c.n === n) return c;
    const S = g.count * g.slices;
    const mask = new Uint8Array(S);
    let count = 0;
    for (const i of flaggedInSample(h.positions, n, S)) {
      if (i >= 0 && i < S) {
        mask[i] = 1;
        count++;
      }
    }
    this.cache = { seq: this.seq, n, mask, count };
    return this.cache;
  }
}

/** "N of M labelled pixels (x%)": the share is runs --json's persistent[] share of the image. */
export function hardCountText(count: number, pixels: number): string {
  return `${fmtCount(count)} of ${fmtCount(pixels)} labelled pixels (${pixels > 0 ? `${((count / pixels) * 100).toFixed(2)}%` : '-'})`;
}

/** The percentiles a pixel had to exceed, run by run ("ep1 > 3.52503, …"). */
export function percentilesText(runs: readonly string[], percentiles: ReadonlyArray<number | null>): string {
  return percentiles.map((p, r) => `${runs[r] ?? `run ${r + 1}`} > ${fmt6(p)}`).join(', ');
}
