// NumPy 1.24's float64 orderings and sums, bit for bit, so that label-issue results (docs/label-issues.md)
// match cleanlab's even where keys tie or a float total sits one ulp from a rounding boundary.
//
// argsortNumpy: np.argsort(values) with the default kind='quicksort' (an introsort: §8.1), including the
//   order in which equal keys come out (index order for at most 16 items, algorithm-defined beyond).
// pairwiseSumNumpy / meanNumpy: np.sum / np.mean of a contiguous float64 array (§8.2).
// roundHalfEven: np.round / np.rint of a float64.
//
// Pure code: no vscode, no Node modules (it runs in the webview and in workers too).

/** Counters filled by argsortNumpy when asked (tests use them to prove which paths ran). */
export interface ArgsortStats {
  /** Quicksort partition steps. */
  partitions: number;
  /** Ranges handed to the heapsort fallback (depth limit exceeded). */
  heapsortRanges: number;
  /** Elements in those ranges, summed. */
  heapsortItems: number;
  /** Ranges finished by insertion sort. */
  insertionRanges: number;
  /** Most pending ranges held on the explicit stack at once. */
  maxStack: number;
}

export interface ArgsortOptions {
  /** Counters to fill (they are reset first). */
  stats?: ArgsortStats;
  /**
   * The initial depth limit; NumPy's is 2 * floor(log2 n) and that is the default. For tests only:
   * -1 heap-sorts the whole array (NumPy's kind='heapsort'), Infinity never falls back to heapsort.
   */
  depthLimit?: number;
}

/** Fresh zeroed counters for ArgsortOptions.stats. */
export function newArgsortStats(): ArgsortStats {
  return { partitions: 0, heapsortRanges: 0, heapsortItems: 0, insertionRanges: 0, maxStack: 0 };
}

/** NumPy's float order: NaN after every number, NaNs equal to each other; -0 equals 0. */
function less(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

// Smallest range size that is partitioned rather than insertion-sorted is SMALL_QUICKSORT + 2 = 17 items.
const SMALL_QUICKSORT = 15;
// A pushed range always comes with one more partition on the current path, and partitions stop once the
// depth limit (at most 2 * 30 for an Int32Array result) goes negative, so 64 pending ranges is plenty;
// NumPy reserves 2 * 64 (PYA_QS_STACK).
const STACK = 128;

/**
 * Exactly NumPy 1.24's default `np.argsort(values)` for float64 (npysort/quicksort.cpp, `aquicksort_`):
 * median-of-3 quicksort with an explicit stack (larger side pushed, smaller side continued), insertion sort
 * for ranges of at most 16 items, and heapsort (`aheapsort_`) for a range whose depth limit went negative.
 * O(n log n) worst case, no recursion. NaN sorts last. Equal keys come out in NumPy's order, which is index
 * order for n <= 16 and not stable beyond.
 *
 * The keys travel with the indices (a private copy), which is the same algorithm as NumPy's indirect sort
 * (every decision depends only on the key at a position) but touches memory sequentially.
 */
export function argsortNumpy(values: Float64Array | readonly number[], options?: ArgsortOptions): Int32Array {
  const n = values.length;
  if (n > 0x7fffffff) throw new RangeError(`argsortNumpy: ${n} values do not fit Int32Array indices`);
  const keys = new Float64Array(values);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const stats = options?.stats;
  if (stats) Object.assign(stats, newArgsortStats());

  const stackLo = new Int32Array(STACK);
  const stackHi = new Int32Array(STACK);
  const stackDepth = new Float64Array(STACK); // depthLimit may be Infinity
  let sp = 0;
  let lo = 0;
  let hi = n - 1;
  let depth = options?.depthLimit ?? (n > 0 ? 2 * (31 - Math.clz32(n)) : 0);

  for (;;) {
    if (depth < 0) {
      heapsort(keys, idx, lo, hi - lo + 1);
      if (stats) {
        stats.heapsortRanges++;
        stats.heapsortItems += hi - lo + 1;
      }
    } else {
      while (hi - lo > SMALL_QUICKSORT) {
        // Median of three: order lo, mid, hi; the pivot is the middle one, parked at hi - 1.
        const mid = lo + ((hi - lo) >> 1);
        if (less(keys[mid], keys[lo])) swap(keys, idx, mid, lo);
        if (less(keys[hi], keys[mid])) swap(keys, idx, hi, mid);
        if (less(keys[mid], keys[lo])) swap(keys, idx, mid, lo);
        const pivot = keys[mid];
        let i = lo;
        let j = hi - 1;
        swap(keys, idx, mid, j);
        for (;;) {
          // keys[lo] <= pivot and keys[hi - 1] == pivot are the sentinels.
          do i++; while (less(keys[i], pivot));
          do j--; while (less(pivot, keys[j]));
          if (i >= j) break;
          swap(keys, idx, i, j);
        }
        swap(keys, idx, i, hi - 1);
        depth--;
        if (sp === STACK) throw new Error('argsortNumpy: stack overflow (unreachable)');
        if (i - lo < hi - i) {
          stackLo[sp] = i + 1;
          stackHi[sp] = hi;
          hi = i - 1;
        } else {
          stackLo[sp] = lo;
          stackHi[sp] = i - 1;
          lo = i + 1;
        }
        stackDepth[sp++] = depth;
        if (stats) {
          stats.partitions++;
          if (sp > stats.maxStack) stats.maxStack = sp;
        }
      }
      // Insertion sort: each item moves left past every item it is strictly less than.
      for (let a = lo + 1; a <= hi; a++) {
        const key = keys[a];
        const item = idx[a];
        let b = a;
        while (b > lo && less(key, keys[b - 1])) {
          keys[b] = keys[b - 1];
          idx[b] = idx[b - 1];
          b--;
        }
        keys[b] = key;
        idx[b] = item;
      }
      if (stats) stats.insertionRanges++;
    }
    if (sp === 0) break;
    sp--;
    lo = stackLo[sp];
    hi = stackHi[sp];
    depth = stackDepth[sp];
  }
  return idx;
}

function swap(keys: Float64Array, idx: Int32Array, a: number, b: number): void {
  const k = keys[a];
  keys[a] = keys[b];
  keys[b] = k;
  const t = idx[a];
  idx[a] = idx[b];
  idx[b] = t;
}

/** NumPy's `aheapsort_` of positions lo..lo+count-1: a 1-based binary max-heap, sifted down. */
function heapsort(keys: Float64Array, idx: Int32Array, lo: number, count: number): void {
  const base = lo - 1; // heap slot s lives at base + s
  let m = count;
  for (let top = m >> 1; top > 0; top--) siftDown(keys, idx, base, top, keys[base + top], idx[base + top], m);
  while (m > 1) {
    const k = keys[base + m];
    const t = idx[base + m];
    keys[base + m] = keys[base + 1];
    idx[base + m] = idx[base + 1];
    m--;
    siftDown(keys, idx, base, 1, k, t, m);
  }
}

function siftDown(keys: Float64Array, idx: Int32Array, base: number, top: number, key: number, item: number, m: number): void {
  let i = top;
  let j = top * 2;
  while (j <= m) {
    if (j < m && less(keys[base + j], keys[base + j + 1])) j++;
    if (!less(key, keys[base + j])) break;
    keys[base + i] = keys[base + j];
    idx[base + i] = idx[base + j];
    i = j;
    j *= 2;
  }
  keys[base + i] = key;
  idx[base + i] = item;
}

// NumPy's reduction loop hands the add kernel at most this many values at a time (NPY_BUFSIZE).
const SUM_BLOCK = 8192;
/** SUM_BLOCK, for reductions that stream a long array block by block (ThresholdPass). */
export const NUMPY_SUM_BLOCK = SUM_BLOCK;
// Runs up to this length are summed with 8 partial sums (PW_BLOCKSIZE in loops_utils.h.src).
const PW_BLOCKSIZE = 128;

/**
 * Exactly NumPy 1.24's float64 `np.sum(values[start:end])` for a contiguous array: blocks of 8192 values,
 * each summed pairwise (`pairwise_sum_DOUBLE`), the block sums added left to right to 0.0. An empty range
 * sums to 0; a sum of zeros is +0 (NumPy starts from the identity 0.0, so -0 values give +0).
 */
export function pairwiseSumNumpy(values: Float64Array | readonly number[], start = 0, end: number = values.length): number {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > values.length || start > end) {
    throw new RangeError(`pairwiseSumNumpy: bad range [${start}, ${end}) of ${values.length} values`);
  }
  let total = 0;
  for (let lo = start; lo < end; lo += SUM_BLOCK) total += pairwise(values, lo, Math.min(SUM_BLOCK, end - lo));
  return total;
}

/** NumPy 1.24's float64 `np.mean(values[start:end])`: pairwiseSumNumpy divided by the count (NaN if empty). */
export function meanNumpy(values: Float64Array | readonly number[], start = 0, end: number = values.length): number {
  return pairwiseSumNumpy(values, start, end) / (end - start);
}

function pairwise(a: Float64Array | readonly number[], lo: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = lo; i < lo + n; i++) res += a[i];
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    let r0 = a[lo];
    let r1 = a[lo + 1];
    let r2 = a[lo + 2];
    let r3 = a[lo + 3];
    let r4 = a[lo + 4];
    let r5 = a[lo + 5];
    let r6 = a[lo + 6];
    let r7 = a[lo + 7];
    const whole = n - (n % 8);
    let i = 8;
    for (; i < whole; i += 8) {
      const p = lo + i;
      r0 += a[p];
      r1 += a[p + 1];
      r2 += a[p + 2];
      r3 += a[p + 3];
      r4 += a[p + 4];
      r5 += a[p + 5];
      r6 += a[p + 6];
      r7 += a[p + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[lo + i];
    return res;
  }
  let n2 = n >> 1;
  n2 -= n2 % 8;
  return pairwise(a, lo, n2) + pairwise(a, lo + n2, n - n2);
}

/**
 * NumPy's `np.round(x)` / `np.rint(x)` for a float64: to the nearest integer, halves to the even one. The
 * sign of zero is kept (-0.5 -> -0, -0.2 -> -0); NaN and infinities pass through.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // halves toward +Infinity; exact, and keeps -0 for -0.5 <= x <= -0
  // r - x is exact here (|r - x| <= 0.5 and r, x are within a factor of two or x is an integer).
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
