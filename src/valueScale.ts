// Value scaling for colormapped maps (pure; no DOM): domain from finite values with a percentile clip,
// linear or log mapping to a 0..255 table index, NaN and infinities handled explicitly. The view draws with
// it, and the host makes a map's preview with it (src/mapPreview.ts) so that both pick the same colours.

export type Scale = 'linear' | 'log';

export interface Domain {
  readonly scale: Scale;
  /** Lowest finite value drawn at index 0 (log: lowest positive finite value). */
  readonly min: number;
  /** Value drawn at index 255 (the clip percentile of the finite values). */
  readonly max: number;
  /** Largest finite value in the data (max < dataMax when the clip cut the top). */
  readonly dataMax: number;
  /** Finite values the domain was computed on (0: no finite value, a placeholder domain). */
  readonly finiteCount: number;
  readonly nanCount: number;
  readonly posInfCount: number;
  readonly negInfCount: number;
  /** Fixed domains (probabilities) ignore clipping. */
  readonly fixed: boolean;
}

/** Index returned for NaN by lutIndex. */
export const NAN_INDEX = -1;

/**
 * The p-th percentile (0..100) of ascending sorted values, interpolated linearly between the two
 * nearest ranks (NumPy's default 'linear' method). NaN for an empty array.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const q = Math.min(100, Math.max(0, p)) / 100;
  const rank = q * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  const frac = rank - lo;
  return frac === 0 ? sorted[lo] : sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

/** Percentile of the finite values of an unsorted array (copies; the input is left alone). */
export function percentile(values: ArrayLike<number>, p: number): number {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  return percentileSorted(Float64Array.from(finite).sort(), p);
}

export interface DomainOptions {
  readonly scale: Scale;
  /** Clip percentile in (0, 100]; 100 = the largest finite value. */
  readonly clip: number;
  /** Only elements with include[i] != 0 count (null: all). */
  readonly include?: ArrayLike<number> | null;
  /** Range [offset, offset + count) of `values` to use (default: all). */
  readonly offset?: number;
  readonly count?: number;
}

/** The colour domain of a map: min and clipped max over its finite values (positive ones for log). */
export function computeDomain(values: ArrayLike<number>, opts: DomainOptions): Domain {
  const offset = opts.offset ?? 0;
  const count = opts.count ?? values.length - offset;
  const include = opts.include ?? null;
  const log = opts.scale === 'log';
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  let finite = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = offset; i < offset + count; i++) {
    if (include && !include[i]) continue;
    const v = values[i];
    if (v !== v) nan++;
    else if (v === Infinity) posInf++;
    else if (v === -Infinity) negInf++;
    else if (!log || v > 0) {
      finite++;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const base = { scale: opts.scale, nanCount: nan, posInfCount: posInf, negInfCount: negInf, fixed: false };
  if (finite === 0) {
    return { ...base, min: log ? 1 : 0, max: log ? 10 : 1, dataMax: NaN, finiteCount: 0 };
  }
  let top = max;
  if (opts.clip < 100 && finite > 1) {
    const sorted = new Float64Array(finite);
    let k = 0;
    for (let i = offset; i < offset + count; i++) {
      if (include && !include[i]) continue;
      const v = values[i];
      if (Number.isFinite(v) && (!log || v > 0)) sorted[k++] = v;
    }
    sorted.sort();
    top = percentileSorted(sorted, opts.clip);
  }
  return { ...base, min, max: Math.max(min, top), dataMax: max, finiteCount: finite };
}

/** A fixed linear domain (probabilities: 0..1). */
export function fixedDomain(min: number, max: number): Domain {
  return { scale: 'linear', min, max, dataMax: max, finiteCount: 1, nanCount: 0, posInfCount: 0, negInfCount: 0, fixed: true };
}

/**
 * Table index (0..255) of a value, or NAN_INDEX for NaN. +Inf and values above max go to 255,
 * -Inf and values below min to 0; in log scale zero and negative values go to 0. When min == max,
 * values at or below it take 0 and values above it 255.
 */
export function lutIndex(v: number, d: Domain): number {
  if (v !== v) return NAN_INDEX;
  if (v >= d.max) return v > d.min || d.max > d.min ? 255 : 0;
  if (v <= d.min) return 0;
  let t: number;
  if (d.scale === 'log') {
    const lmin = Math.log(d.min);
    t = (Math.log(v) - lmin) / (Math.log(d.max) - lmin);
  } else {
    t = (v - d.min) / (d.max - d.min);
  }
  // The tiny nudge keeps values that sit exactly on a bin edge (up to rounding) in the upper bin.
  const i = Math.floor(t * 256 + 1e-9);
  return i > 255 ? 255 : i < 0 ? 0 : i;
}

/** The value at the start of table entry i (for legend ticks); inverse of lutIndex. */
export function valueAt(t: number, d: Domain): number {
  if (d.scale === 'log') return Math.exp(Math.log(d.min) + t * (Math.log(d.max) - Math.log(d.min)));
  return d.min + t * (d.max - d.min);
}
