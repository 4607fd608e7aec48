// src/labels/numpyOrder.ts against real NumPy 1.24 (/usr/bin/python3): np.argsort's order of equal keys
// (default introsort and its heapsort fallback), np.sum / np.mean bit for bit, np.rint. Arrays travel to Python
// as little-endian float64 bytes (base64 in JSON on stdin), results come back as bytes, so every comparison
// is exact (float64 bit patterns, NaN and -0 included). Each cross-check also asserts that a naive
// alternative (a stable sort, a left-to-right sum) would have failed it, so the check is sharp.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { argsortNumpy, meanNumpy, newArgsortStats, pairwiseSumNumpy, roundHalfEven } from '../../../src/labels/numpyOrder';

// ---------------------------------------------------------------------------------------------------- NumPy

type Op = 'argsort' | 'heapsort' | 'sum' | 'mean' | 'rint' | 'round';
interface Task { op: Op; data: Float64Array; start?: number; end?: number }

const NUMPY_SCRIPT = `
import sys, json, base64, numpy as np
req = json.load(sys.stdin)
out = []
for t in req:
    a = np.frombuffer(base64.b64decode(t['data']), dtype='<f8')
    if 'start' in t:
        a = a[t['start']:t['end']]
    op = t['op']
    if op == 'argsort':
        r = np.argsort(a).astype('<i4')
    elif op == 'heapsort':
        r = np.argsort(a, kind='heapsort').astype('<i4')
    elif op == 'sum':
        r = np.array([np.sum(a)], dtype='<f8')
    elif op == 'mean':
        with np.errstate(all='ignore'):
            r = np.array([np.mean(a)], dtype='<f8')
    elif op == 'rint':
        r = np.rint(a).astype('<f8')
    elif op == 'round':
        r = np.round(a).astype('<f8')
    out.append(base64.b64encode(r.tobytes()).decode('ascii'))
json.dump(out, sys.stdout)
`;

let numpyVersion: string | null | undefined;
/** NumPy's version in /usr/bin/python3, or null when there is none. */
function numpy(): string | null {
  if (numpyVersion === undefined) {
    const r = spawnSync('/usr/bin/python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
    numpyVersion = r.status === 0 ? r.stdout.trim() : null;
  }
  return numpyVersion;
}

/** Skips the test without NumPy 1.24 (later NumPy may use SIMD sorts that order equal keys differently). */
function needNumpy124(ctx: Mocha.Context): void {
  const v = numpy();
  if (v === null || !v.startsWith('1.24.')) ctx.skip();
}

const toB64 = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Runs the tasks through NumPy; each result is its raw little-endian bytes. */
function runNumpy(tasks: readonly Task[]): Buffer[] {
  const input = JSON.stringify(tasks.map((t) => ({ op: t.op, data: toB64(t.data), ...(t.start === undefined ? {} : { start: t.start, end: t.end }) })));
  const r = spawnSync('/usr/bin/python3', ['-c', NUMPY_SCRIPT], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as string[]).map((s) => Buffer.from(s, 'base64'));
}

function asInt32(b: Buffer): Int32Array {
  const copy = new Uint8Array(b); // aligned
  return new Int32Array(copy.buffer, 0, copy.byteLength / 4);
}

function asFloat64(b: Buffer): Float64Array {
  const copy = new Uint8Array(b);
  return new Float64Array(copy.buffer, 0, copy.byteLength / 8);
}

/** A float64's bit pattern as hex (tells -0 from 0 and keeps NaN payloads). */
function bits(x: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}

/** Index of the first difference, or -1. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

// ------------------------------------------------------------------------------------------------ generators

/** mulberry32: a small seeded generator of uniform [0, 1) doubles. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0];

/** n values from a small set (many ties), optionally with NaN, infinities and both zeros mixed in. */
function tiesArray(n: number, distinct: number, special: number, r: () => number): Float64Array {
  const pool = Array.from({ length: distinct }, (_, i) => (i - (distinct >> 1)) * 0.25 + (r() < 0.5 ? 0 : 1e-3 * i));
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = r() < special ? SPECIAL[Math.floor(r() * SPECIAL.length)] : pool[Math.floor(r() * distinct)];
  return a;
}

/** n values of mixed sign and magnitudes 2^-60 .. 2^60, some exact zeros and small integers. */
function mixedArray(n: number, r: () => number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.02) a[i] = r() < 0.5 ? 0 : -0;
    else if (u < 0.1) a[i] = Math.floor(r() * 200) - 100;
    else a[i] = (r() - 0.5) * 2 ** Math.floor(r() * 121 - 60);
  }
  return a;
}

/** Index order among equal keys: what a stable sort (and NumPy for n <= 16) gives. */
function stableArgsort(a: Float64Array): Int32Array {
  const key = (x: number): number => (Number.isNaN(x) ? Infinity : x);
  const rank = (x: number): number => (Number.isNaN(x) ? 1 : 0);
  return Int32Array.from(Array.from(a.keys()).sort((i, j) => key(a[i]) - key(a[j]) || rank(a[i]) - rank(a[j]) || i - j));
}

/** Left-to-right float64 sum (what np.sum is NOT). */
function naiveSum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/**
 * McIlroy's "killer adversary" (A Killer Adversary for Quicksort, 1999) run on NumPy's partition loop: every
 * item starts as "gas" (above every solid value); when two gas items are compared, one is frozen to the next
 * solid value, preferring the current pivot candidate, so partitions stay lopsided. The values decided up to
 * the point where every range has reached the depth limit form an input on which the real introsort makes the
 * same comparisons, hence runs out of depth and heap-sorts; the items left as gas all tie (many equal keys in
 * the heap-sorted range). This copy of the partition loop is only an input generator: the test proves what
 * the generated input does through argsortNumpy's counters and through NumPy itself.
 */
function adversarialInput(n: number): Float64Array {
  const GAS = n;
  const val = new Float64Array(n).fill(GAS);
  const frozen = new Uint8Array(n);
  let solid = 0;
  let candidate = -1;
  const less = (x: number, y: number): boolean => {
    if (!frozen[x] && !frozen[y]) {
      const f = x === candidate ? x : y;
      frozen[f] = 1;
      val[f] = solid++;
    }
    if (!frozen[x]) candidate = x;
    else if (!frozen[y]) candidate = y;
    return val[x] < val[y];
  };
  const idx = Array.from({ length: n }, (_, i) => i);
  const swap = (a: number, b: number): void => {
    const t = idx[a];
    idx[a] = idx[b];
    idx[b] = t;
  };
  const stack: Array<[number, number, number]> = [];
  let lo = 0;
  let hi = n - 1;
  let depth = 2 * Math.floor(Math.log2(n));
  for (;;) {
    while (depth >= 0 && hi - lo > 15) {
      const mid = lo + ((hi - lo) >> 1);
      if (less(idx[mid], idx[lo])) swap(mid, lo);
      if (less(idx[hi], idx[mid])) swap(hi, mid);
      if (less(idx[mid], idx[lo])) swap(mid, lo);
      const pivot = idx[mid];
      let i = lo;
      let j = hi - 1;
      swap(mid, j);
      for (;;) {
        do i++; while (less(idx[i], pivot));
        do j--; while (less(pivot, idx[j]));
        if (i >= j) break;
        swap(i, j);
      }
      swap(i, hi - 1);
      depth--;
      if (i - lo < hi - i) {
        stack.push([i + 1, hi, depth]);
        hi = i - 1;
      } else {
        stack.push([lo, i - 1, depth]);
        lo = i + 1;
      }
    }
    const next = stack.pop();
    if (next === undefined) break;
    [lo, hi, depth] = next;
  }
  return val;
}

// ------------------------------------------------------------------------------------------------- argsort

describe('argsortNumpy: NumPy 1.24 np.argsort (introsort), equal keys included', function () {
  this.timeout(120_000);

  it('gives the documented order of [1,0,1,0,...] (20 values, docs/label-issues.md §8)', () => {
    const a = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const want = [9, 17, 15, 13, 11, 7, 19, 5, 3, 1, 8, 18, 10, 4, 12, 14, 2, 16, 6, 0];
    assert.deepEqual(Array.from(argsortNumpy(a)), want);
    assert.deepEqual(Array.from(argsortNumpy(Float64Array.from(a))), want, 'same from a Float64Array');
    assert.notDeepEqual(Array.from(stableArgsort(Float64Array.from(a))), want, 'index order differs here');
  });

  it('keeps index order among equal keys for at most 16 items, sorts NaN last, leaves its input alone', () => {
    const a = Float64Array.from([3, NaN, 1, -0, 1, 0, NaN, -Infinity, Infinity, 3, 1, 0, 2, NaN, -1, 1]);
    const before = Array.from(a, bits);
    const got = Array.from(argsortNumpy(a));
    assert.deepEqual(got, [7, 14, 3, 5, 11, 2, 4, 10, 15, 12, 0, 9, 8, 1, 6, 13]);
    assert.deepEqual(Array.from(a, bits), before, 'input unchanged');
    assert.deepEqual(Array.from(argsortNumpy([])), []);
    assert.deepEqual(Array.from(argsortNumpy([NaN])), [0]);
    assert.deepEqual(Array.from(argsortNumpy([2, 1])), [1, 0]);
    assert.deepEqual(Array.from(argsortNumpy([NaN, Infinity])), [1, 0]);
  });

  it('equals np.argsort on thousands of arrays with ties, NaN, ±inf and ±0 (sizes 0..1000 and 100000)', function () {
    needNumpy124(this);
    const r = rng(1);
    const tasks: Task[] = [];
    const sizes = [0, 1, 2, 3, 15, 16, 17, 18, 20, 31, 32, 33, 100, 257, 1000];
    for (const n of sizes) {
      for (let t = 0; t < 150; t++) tasks.push({ op: 'argsort', data: tiesArray(n, 1 + (t % 12), t % 3 === 0 ? 0 : t % 3 === 1 ? 0.05 : 0.4, r) });
    }
    for (let t = 0; t < 1500; t++) tasks.push({ op: 'argsort', data: tiesArray(Math.floor(r() * 400), 1 + (t % 7), t % 4 === 0 ? 0.1 : 0, r) });
    for (let t = 0; t < 6; t++) tasks.push({ op: 'argsort', data: tiesArray(100_000, [1, 2, 3, 10, 100, 1000][t], t % 2 ? 0.01 : 0, r) });
    const want = runNumpy(tasks).map(asInt32);
    let differsFromStable = 0;
    tasks.forEach((task, k) => {
      const got = argsortNumpy(task.data);
      const d = firstDiff(got, want[k]);
      assert.equal(d, -1, `array ${k} (n = ${task.data.length}): first difference at ${d}, got ${got[d]}, NumPy ${want[k][d]}`);
      if (firstDiff(stableArgsort(task.data), want[k]) !== -1) {
        differsFromStable++;
        assert.ok(task.data.length > 16, `NumPy is stable up to 16 items (array ${k})`);
      }
    });
    assert.ok(tasks.length >= 3000, `${tasks.length} arrays`);
    assert.ok(differsFromStable > tasks.length / 3, `the tie order matters: ${differsFromStable} of ${tasks.length} arrays differ from index order`);
  });

  it('equals np.argsort on sorted, reverse-sorted, all-equal, organ-pipe and all-NaN arrays', function () {
    needNumpy124(this);
    const tasks: Array<Task & { shape: string }> = [];
    for (const n of [17, 20, 100, 1000, 100_000]) {
      const shapes: Record<string, (i: number) => number> = {
        sorted: (i) => i,
        reverse: (i) => n - i,
        allEqual: () => 7,
        sortedTies: (i) => Math.floor(i / 7),
        reverseTies: (i) => Math.floor((n - i) / 5),
        organPipe: (i) => Math.min(i, n - 1 - i), // 0,1,2,...,2,1,0: pairs of equal keys
        nanInSortedTies: (i) => (i % 3 === 0 ? NaN : Math.floor(i / 4)),
        allNaN: () => NaN,
      };
      for (const [shape, f] of Object.entries(shapes)) tasks.push({ shape, op: 'argsort', data: Float64Array.from({ length: n }, (_, i) => f(i)) });
    }
    const want = runNumpy(tasks).map(asInt32);
    tasks.forEach((task, k) => {
      const n = task.data.length;
      const stats = newArgsortStats();
      const got = argsortNumpy(task.data, { stats });
      assert.equal(firstDiff(got, want[k]), -1, `${task.shape}, n = ${n}`);
      if (task.shape === 'organPipe' && n >= 1000) {
        // Organ pipes defeat median-of-3: most items end up heap-sorted, and NumPy's order of the equal pairs
        // is the one with the heapsort fallback, not the one without it.
        assert.ok(stats.heapsortItems > n / 2, `organ pipe n = ${n}: ${stats.heapsortItems} items heap-sorted`);
        assert.notEqual(firstDiff(argsortNumpy(task.data, { depthLimit: Infinity }), want[k]), -1, `organ pipe n = ${n} without the fallback`);
      } else {
        assert.equal(stats.heapsortRanges, 0, `${task.shape}, n = ${n} stays in quicksort`);
      }
    });
  });

  it('its heapsort alone (depth limit -1) equals np.argsort(kind="heapsort") on arrays with ties', function () {
    needNumpy124(this);
    const r = rng(2);
    const tasks: Task[] = [];
    for (let t = 0; t < 800; t++) tasks.push({ op: 'heapsort', data: tiesArray(Math.floor(r() * 300), 1 + (t % 9), t % 5 === 0 ? 0.2 : 0, r) });
    tasks.push({ op: 'heapsort', data: tiesArray(100_000, 4, 0.01, r) });
    const want = runNumpy(tasks).map(asInt32);
    tasks.forEach((task, k) => {
      const stats = newArgsortStats();
      const got = argsortNumpy(task.data, { depthLimit: -1, stats });
      assert.equal(firstDiff(got, want[k]), -1, `array ${k} (n = ${task.data.length})`);
      assert.equal(stats.heapsortRanges, 1);
      assert.equal(stats.partitions, 0);
    });
  });

  it('reaches the heapsort fallback on an adversarial input, as NumPy does (and stays O(n log n))', function () {
    needNumpy124(this);
    // How we know the fallback ran: (1) argsortNumpy's counters report heap-sorted ranges covering most
    // items; (2) the same input with the fallback disabled (depth limit Infinity) gives a different order of
    // the tied items, and NumPy's order is the one WITH the fallback, so NumPy took that path too; (3) the
    // adversary is real: without the fallback the quicksort needs on the order of n partitions.
    const tasks: Task[] = [1000, 10_000, 100_000].map((n) => ({ op: 'argsort' as const, data: adversarialInput(n) }));
    const want = runNumpy(tasks).map(asInt32);
    tasks.forEach((task, k) => {
      const n = task.data.length;
      const stats = newArgsortStats();
      const got = argsortNumpy(task.data, { stats });
      assert.equal(firstDiff(got, want[k]), -1, `n = ${n}: equals NumPy`);
      assert.ok(stats.heapsortRanges >= 1, `n = ${n}: heap-sorted ${stats.heapsortRanges} ranges`);
      assert.ok(stats.heapsortItems > n / 2, `n = ${n}: ${stats.heapsortItems} items heap-sorted`);
      assert.ok(stats.partitions <= 4 * Math.log2(n), `n = ${n}: ${stats.partitions} partitions`);
      const noFallback = newArgsortStats();
      const quick = argsortNumpy(task.data, { depthLimit: Infinity, stats: noFallback });
      assert.equal(noFallback.heapsortRanges, 0);
      assert.notEqual(firstDiff(quick, want[k]), -1, `n = ${n}: without the fallback the order differs from NumPy's`);
      assert.ok(noFallback.partitions > n / 20, `n = ${n}: the input is adversarial (${noFallback.partitions} partitions without the fallback)`);
      // same multiset of positions either way
      assert.deepEqual(Float64Array.from(quick, (i) => task.data[i]), Float64Array.from(got, (i) => task.data[i]));
    });
  });

  it('handles 10^6 items (CEL_ARGSORT_BENCH_N=10000000 for 10^7) with a shallow explicit stack; time against Float64Array sort and np.argsort', function () {
    const n = Number(process.env.CEL_ARGSORT_BENCH_N ?? 1_000_000);
    const r = rng(3);
    const a = Float64Array.from({ length: n }, () => r());
    const stats = newArgsortStats();
    let t0 = performance.now();
    const got = argsortNumpy(a, { stats });
    const ours = performance.now() - t0;
    t0 = performance.now();
    const sorted = a.slice().sort();
    const native = performance.now() - t0;
    for (let i = 0; i < n; i++) assert.equal(a[got[i]], sorted[i]);
    assert.ok(stats.maxStack <= Math.log2(n) + 1, `stack ${stats.maxStack}`);
    assert.equal(stats.heapsortRanges, 0);
    let line = `      n = ${n}: argsortNumpy ${ours.toFixed(0)} ms, Float64Array.prototype.sort ${native.toFixed(0)} ms`;
    if (numpy() !== null) {
      const py = spawnSync('/usr/bin/python3', ['-c', `import numpy as np, time\na = np.random.default_rng(0).random(${n})\nt = time.perf_counter(); np.argsort(a); print(round((time.perf_counter() - t) * 1000))`], { encoding: 'utf8' });
      if (py.status === 0) line += `, np.argsort ${py.stdout.trim()} ms`;
    }
    console.log(line);
    assert.ok(ours < 10 * native + 200, `${ours} ms vs native ${native} ms`);
  });
});

// ---------------------------------------------------------------------------------------------------- sums

describe('pairwiseSumNumpy / meanNumpy: NumPy 1.24 np.sum / np.mean of float64, bit for bit', function () {
  this.timeout(120_000);

  it('works without NumPy on small known cases', () => {
    assert.ok(Object.is(pairwiseSumNumpy(new Float64Array(0)), 0));
    assert.ok(Object.is(pairwiseSumNumpy(Float64Array.from([-0, -0, -0])), 0), 'starts from +0 like np.sum');
    assert.equal(pairwiseSumNumpy([1, 2, 3]), 6);
    // 8 partial sums: 1e16 and 1 land in different partial sums, so the 1s survive until the final combine
    const a = new Float64Array(16).fill(1);
    a[0] = 1e16;
    assert.equal(pairwiseSumNumpy(a), 1e16 + 8 + 6); // r0 = 1e16+1 = 1e16 (rounds); r1..r7 = 2: 1e16 + 14
    assert.equal(naiveSum(a), 1e16, 'left to right every 1 is lost');
    assert.equal(pairwiseSumNumpy(a, 1, 16), 15);
    assert.equal(meanNumpy(a, 1, 16), 1);
    assert.ok(Number.isNaN(meanNumpy([])));
    assert.throws(() => pairwiseSumNumpy(a, 3, 2), RangeError);
    assert.throws(() => pairwiseSumNumpy(a, 0, 17), RangeError);
  });

  it('equals np.sum exactly for every size 0..300 and for 8191, 8192, 8193, 16385, 100000, 10^6', function () {
    needNumpy124(this);
    const r = rng(4);
    const tasks: Task[] = [];
    for (let n = 0; n <= 300; n++) {
      for (let t = 0; t < 5; t++) tasks.push({ op: 'sum', data: mixedArray(n, r) });
      for (let t = 0; t < 12; t++) tasks.push({ op: 'sum', data: Float64Array.from({ length: n }, () => r()) });
    }
    for (const n of [1000, 8191, 8192, 8193, 16383, 16384, 16385, 100_000, 1_000_000]) for (let t = 0; t < 2; t++) tasks.push({ op: 'sum', data: mixedArray(n, r) });
    // values of one sign, where a different order only moves the last bits
    for (const n of [8191, 8192, 8193, 100_000, 1_000_000]) tasks.push({ op: 'sum', data: Float64Array.from({ length: n }, () => r()) });
    const want = runNumpy(tasks).map((b) => asFloat64(b)[0]);
    let differsFromNaive = 0;
    tasks.forEach((task, k) => {
      const got = pairwiseSumNumpy(task.data);
      assert.equal(bits(got), bits(want[k]), `array ${k} (n = ${task.data.length}): ${got} vs np.sum ${want[k]}`);
      if (bits(naiveSum(task.data)) !== bits(want[k])) differsFromNaive++;
    });
    assert.ok(differsFromNaive > tasks.length / 8, `the summation order matters: ${differsFromNaive} of ${tasks.length} differ from a left-to-right sum`);
  });

  it('equals np.sum / np.mean of slices a[start:end], NaN and infinities included', function () {
    needNumpy124(this);
    const r = rng(5);
    const tasks: Task[] = [];
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(r() * (t % 10 === 0 ? 40_000 : 600));
      const data = mixedArray(n, r);
      if (t % 25 === 0) data[Math.floor(r() * n)] = SPECIAL[t % 3];
      const start = Math.floor(r() * n);
      const end = start + Math.floor(r() * (n - start + 1));
      tasks.push({ op: t % 2 ? 'sum' : 'mean', data, start, end });
    }
    const want = runNumpy(tasks).map((b) => asFloat64(b)[0]);
    tasks.forEach((task, k) => {
      const got = task.op === 'sum' ? pairwiseSumNumpy(task.data, task.start, task.end) : meanNumpy(task.data, task.start, task.end);
      assert.equal(bits(got), bits(want[k]), `task ${k} (${task.op} of [${task.start}, ${task.end})): ${got} vs NumPy ${want[k]}`);
    });
  });
});

// -------------------------------------------------------------------------------------------------- rounding

describe('roundHalfEven: np.rint / np.round of float64', () => {
  const cases: Array<[number, number]> = [
    [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, -0], [-1.5, -2], [-2.5, -2], [-0.2, -0], [0.2, 0],
    [0.49999999999999994, 0], [2 ** 52 - 0.5, 2 ** 52], [2 ** 52 - 1.5, 2 ** 52 - 2], [2 ** 53 + 2, 2 ** 53 + 2], [-0, -0],
  ];

  it('rounds halves to even and keeps the sign of zero', () => {
    for (const [x, want] of cases) assert.ok(Object.is(roundHalfEven(x), want), `${x} -> ${roundHalfEven(x)}, want ${want}`);
    assert.ok(Number.isNaN(roundHalfEven(NaN)));
    assert.equal(roundHalfEven(Infinity), Infinity);
    assert.equal(roundHalfEven(-Infinity), -Infinity);
  });

  it('equals np.rint and np.round bit for bit on halves, near-halves and random values', function () {
    needNumpy124(this);
    const r = rng(6);
    const xs: number[] = [NaN, Infinity, -Infinity, 0, -0, 2 ** 52, 2 ** 52 + 1, -(2 ** 52) - 1, 1.7976931348623157e308, 5e-324];
    for (let k = -2000; k <= 2000; k++) xs.push(k + 0.5, k - 0.5, k + 0.49999999999999994, k + 0.5000000000000001, k + r());
    for (let k = 0; k < 5000; k++) xs.push((r() - 0.5) * 2 ** Math.floor(r() * 70 - 10));
    const data = Float64Array.from(xs);
    const [rint, round] = runNumpy([{ op: 'rint', data }, { op: 'round', data }]).map(asFloat64);
    let differsFromMathRound = 0;
    data.forEach((x, i) => {
      assert.equal(bits(roundHalfEven(x)), bits(rint[i]), `rint(${x})`);
      assert.equal(bits(roundHalfEven(x)), bits(round[i]), `round(${x})`);
      if (bits(Math.round(x)) !== bits(rint[i])) differsFromMathRound++;
    });
    assert.ok(differsFromMathRound > 1000, `Math.round differs on ${differsFromMathRound} values`);
  });
});
