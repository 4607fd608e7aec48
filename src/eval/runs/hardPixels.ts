// One image's pixels that are "hard in every run": its non-ignored pixels whose loss is above, in every run,
// that run's percentile (runs --json's persistent[] counts them; figures.ts). The loss panel of an image
// opened from the runs view marks them, so the decision here is figures.ts's own (keepAbove), over the same
// losses (the eval-image job's keepLosses: float32, non-ignored pixels in raster order), and the positions
// are mapped back to the raster by the runs' ignore index, never the panel's (which the user may change).

/**
 * Clears alive[k] for each of the first n losses that is not above p: strict >, the float32 loss against
 * the float64 percentile; a NaN loss is never above.
 */
export function keepAbove(alive: Uint8Array, losses: ArrayLike<number>, n: number, p: number): void {
  for (let k = 0; k < n; k++) if (!(losses[k] > p)) alive[k] = 0;
}

export interface HardMask {
  /** 1 for each non-ignored pixel (raster order) above every run's percentile. */
  readonly alive: Uint8Array;
  readonly count: number;
  /** Non-ignored pixels of the image (the share's denominator, as persistent[]'s). */
  readonly pixels: number;
}

/**
 * The AND over runs. losses[r] are run r's non-ignored losses of the image (the same pixels in every run:
 * one label); percentiles[r] is run r's. A null or NaN percentile marks nothing, as in figures.ts.
 */
export function hardInEveryRun(losses: readonly ArrayLike<number>[], percentiles: ReadonlyArray<number | null>): HardMask {
  if (losses.length !== percentiles.length) throw new RangeError(`hardInEveryRun: ${losses.length} runs of losses but ${percentiles.length} percentiles`);
  const n = losses[0]?.length ?? 0;
  for (const l of losses) if (l.length !== n) throw new RangeError(`hardInEveryRun: runs with ${n} and ${l.length} non-ignored pixels`);
  const alive = new Uint8Array(n);
  const comparable = losses.length > 0 && percentiles.every((p) => p !== null && !Number.isNaN(p));
  if (!comparable) return { alive, count: 0, pixels: n };
  alive.fill(1);
  losses.forEach((l, r) => keepAbove(alive, l, n, percentiles[r]!));
  let count = 0;
  for (let k = 0; k < n; k++) count += alive[k];
  return { alive, count, pixels: n };
}

export type HardPositions =
  /** Flat positions in the map, ascending. */
  | { readonly kind: 'positions'; readonly positions: Int32Array }
  | { readonly kind: 'mismatch'; readonly message: string };

/**
 * Where the hard pixels sit in a loss map of the same image: the k-th pixel whose target is not the runs'
 * ignore index is the k-th loss. `ignored` is the map's own ignored mask (the panel's options): when it is
 * not the runs' one, marking would show pixels the panel ignores, or judge pixels the runs never saw.
 */
export function hardPositions(mask: HardMask, target: ArrayLike<number>, ignored: ArrayLike<number>, ignoreIndex: number): HardPositions {
  let labelled = 0;
  let differs = 0;
  for (let i = 0; i < target.length; i++) {
    const valid = target[i] !== ignoreIndex;
    if (valid) labelled++;
    if (valid === (ignored[i] !== 0)) differs++;
  }
  if (labelled !== mask.pixels) {
    return { kind: 'mismatch', message: `the runs evaluated ${mask.pixels.toLocaleString('en-US')} labelled pixels of this image, this panel's target has ${labelled.toLocaleString('en-US')} (ignore index ${ignoreIndex})` };
  }
  if (differs > 0) {
    return { kind: 'mismatch', message: `this panel ignores other pixels than the runs did (their ignore index is ${ignoreIndex}): set it back to compare` };
  }
  const positions = new Int32Array(mask.count);
  let k = 0;
  let j = 0;
  for (let i = 0; i < target.length; i++) {
    if (target[i] === ignoreIndex) continue;
    if (mask.alive[k++]) positions[j++] = i;
  }
  return { kind: 'positions', positions };
}
