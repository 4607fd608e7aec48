// The exact 90th percentile of a run's per-pixel losses without holding them: NumPy's default
// `np.percentile(losses, 90)` (method 'linear', NumPy 1.24) needs only the two order statistics at ranks
// floor((n - 1) * 0.9) and the one after, and an order statistic of float32 values is found from two
// histograms over their bit patterns. Pure.
//
// A float32 maps to a 32-bit key whose unsigned order is the numeric order (sign bit flipped for positives,
// all bits flipped for negatives; -0 sorts just below +0, which compare equal anyway). Level 1 counts the
// top 16 bits of the key (sign, exponent, 7 mantissa bits: bins 1/128 of an octave wide) over all values,
// and tells the bin that holds a rank and the rank's place in it; level 2 counts the low 16 bits of the
// values in that bin only, which gives the rank's key, hence its value, exactly. Each level is 65,536
// counts (512 KiB), whatever the number of pixels.
//
// NaN: NumPy's percentile of an array holding a NaN is NaN, and so is ours (NaNs are counted apart).

const HIST = 1 << 16;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The order-preserving key of a float32's bits. */
export function orderKey(bits: number): number {
  return (bits & 0x80000000) !== 0 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/** The float32 value (as a number) of a key. */
export function keyValue(key: number): number {
  u32[0] = (key & 0x80000000) !== 0 ? (key & 0x7fffffff) >>> 0 : ~key >>> 0;
  return f32[0];
}

function isNanBits(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
}

/** Level 1: counts of the top 16 bits of the keys, and the NaNs apart. */
export class LossHistogram {
  /** From counts and a NaN count made elsewhere (a histogram sent to a worker). */
  constructor(readonly counts: Float64Array = new Float64Array(HIST), public nan = 0) {
    if (counts.length !== HIST) throw new RangeError(`a loss histogram has ${HIST} bins, got ${counts.length}`);
  }

  /** Adds float32 values given as their bits (a Uint32Array view of a Float32Array). */
  add(bits: Uint32Array): void {
    const c = this.counts;
    for (let k = 0; k < bits.length; k++) {
      const b = bits[k];
      if (isNanBits(b)) this.nan++;
      else c[orderKey(b) >>> 16]++;
    }
  }

  /** Values counted, NaNs included. */
  total(): number {
    let n = this.nan;
    for (let i = 0; i < HIST; i++) n += this.counts[i];
    return n;
  }
}

/** Where a rank (0-based, among the non-NaN values in ascending order) lies: its level-1 bin and its rank there. */
export interface RankPlace {
  readonly bin: number;
  readonly within: number;
}

export function placeOf(h: LossHistogram, rank: number): RankPlace {
  let below = 0;
  for (let bin = 0; bin < HIST; bin++) {
    const c = h.counts[bin];
    if (rank < below + c) return { bin, within: rank - below };
    below += c;
  }
  throw new RangeError(`rank ${rank} beyond the ${below} values counted`);
}

/** Level 2 for one level-1 bin: counts of the low 16 bits of the values that fall in it. */
export class BinDetail {
  readonly counts = new Float64Array(HIST);
  constructor(readonly bin: number) {}

  add(bits: Uint32Array): void {
    const c = this.counts;
    const bin = this.bin;
    for (let k = 0; k < bits.length; k++) {
      const b = bits[k];
      if (isNanBits(b)) continue;
      const key = orderKey(b);
      if (key >>> 16 === bin) c[key & 0xffff]++;
    }
  }

  /** The value of rank `within` among this bin's values. */
  valueAt(within: number): number {
    let below = 0;
    for (let low = 0; low < HIST; low++) {
      below += this.counts[low];
      if (within < below) return keyValue(((this.bin << 16) | low) >>> 0);
    }
    throw new RangeError(`rank ${within} beyond the ${below} values of bin ${this.bin}`);
  }
}

/**
 * NumPy 1.24's 'linear' percentile q (in [0, 100]) of n values, as the ranks it reads and how it mixes
 * them: virtual index (n - 1) * (q / 100); at or past the last index both ranks are the last.
 */
export interface PercentileRanks {
  readonly lower: number;
  readonly upper: number;
  readonly gamma: number;
}

export function percentileRanks(n: number, q: number): PercentileRanks {
  const v = (n - 1) * (q / 100);
  if (v >= n - 1) return { lower: n - 1, upper: n - 1, gamma: v - Math.floor(v) };
  const lower = Math.floor(v);
  return { lower, upper: lower + 1, gamma: v - lower };
}

/** NumPy's _lerp: a + (b - a) t, taken from b's side where t >= 0.5 (as NumPy does, for the same bits). */
export function numpyLerp(a: number, b: number, t: number): number {
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/**
 * One run's percentile: from its level-1 histogram, the bins its two ranks fall in; the caller passes every
 * value once more through add() (level 2 of those bins only), then result() is NumPy's value. A run without
 * values gives null, one holding a NaN gives NaN, and neither needs the second look.
 */
export class PercentileSelection {
  private readonly details: BinDetail[] = [];
  private readonly ranks: { lo: RankPlace; hi: RankPlace; gamma: number } | null = null;
  private readonly fixed: number | null | undefined;

  constructor(h: LossHistogram, q: number) {
    const n = h.total();
    if (n === 0) this.fixed = null;
    else if (h.nan > 0) this.fixed = NaN;
    else {
      const { lower, upper, gamma } = percentileRanks(n, q);
      this.ranks = { lo: placeOf(h, lower), hi: placeOf(h, upper), gamma };
      this.details.push(new BinDetail(this.ranks.lo.bin));
      if (this.ranks.hi.bin !== this.ranks.lo.bin) this.details.push(new BinDetail(this.ranks.hi.bin));
    }
  }

  /** Whether add() is needed at all. */
  get needsValues(): boolean {
    return this.ranks !== null;
  }

  add(bits: Uint32Array): void {
    for (const d of this.details) d.add(bits);
  }

  result(): number | null {
    if (this.ranks === null) return this.fixed ?? null;
    const { lo, hi, gamma } = this.ranks;
    const a = this.details[0].valueAt(lo.within);
    const b = this.details[this.details.length - 1].valueAt(hi.within);
    return numpyLerp(a, b, gamma);
  }
}
