// The WebAssembly SIMD kernel against the float64 reference (computeLoss / crossEntropyMaps): per-element
// loss, argmax, accumulators and confusion on random cases with odd sizes, unaligned ranges, weights,
// ignore_index, label smoothing and special values; target range errors; split invariance; concurrency.
// Needs the compiled module (dist/ce.wasm after a build; otherwise the test builds one).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { crossEntropyMaps } from '../../../src/kernel/losses/crossEntropy';
import { computeLoss, resolveOptions, type LossRequest, type LossResult } from '../../../src/kernel/index';
import { buildProblem, type CeProblem } from '../../../src/kernel/validate';
import { blockedLength, CE_ACC, ceAccLength, instantiateCeKernel, sharedMemorySupported, simdSupported, WARM_UP_BYTES, warmUpCeKernel } from '../../../src/kernel/wasm/wasmKernel';
import { Arena, loadModule, rng, runCase, type CeCase, type CeOutputs } from './wasmHelpers';

const F32_ULP = 2 ** -23;

interface Reference {
  r: LossResult;
  nllSum: number;
  smoothSum: number;
}

function reference(k: CeCase, s0: number, s1: number): Reference {
  const { C, S } = k;
  const L = s1 - s0;
  const xs = new Float32Array(C * L);
  for (let c = 0; c < C; c++) xs.set(k.x.subarray(c * S + s0, c * S + s1), c * L);
  const req: LossRequest = {
    input: { dtype: 'float32', shape: [1, C, L], data: xs },
    target: { dtype: 'int32', shape: [1, L], data: k.t.slice(s0, s1) },
    weight: k.w ? { dtype: 'float32', shape: [C], data: k.w } : null,
    options: { ignoreIndex: k.ignoreIndex, labelSmoothing: k.labelSmoothing, reduction: 'none' },
  };
  const r = computeLoss(req);
  const parts = crossEntropyMaps(buildProblem(req, resolveOptions(req.options)) as CeProblem).smoothingParts;
  return { r, nllSum: parts?.nllSum ?? NaN, smoothSum: parts?.smoothSum ?? NaN };
}

/** NaN where the reference is NaN, the same infinity, else within `tol`. */
function close(got: number, want: number, tol: number, what: string): void {
  if (want !== want) {
    assert.ok(got !== got, `${what}: expected NaN, got ${got}`);
  } else if (!Number.isFinite(want)) {
    assert.equal(got, want, what);
  } else {
    assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (|diff| ${Math.abs(got - want)} > ${tol})`);
  }
}

function elementTol(ref: number): number {
  return 1e-5 + F32_ULP * Math.abs(ref);
}

/** Everything the kernel reports for [s0, s1) against the reference; outside the range nothing changed. */
function check(k: CeCase, s0: number, s1: number, out: CeOutputs, label: string, withConfusion = true): void {
  const { C, S } = k;
  assert.equal(out.ret, -1, `${label}: returned ${out.ret}`);
  const { r, nllSum, smoothSum } = reference(k, s0, s1);
  let tolAll = 0;
  const tolClass = new Float64Array(C);
  for (let i = 0; i < s1 - s0; i++) {
    const want = r.lossMap[i];
    close(out.loss[s0 + i], want, elementTol(want), `${label}: loss[${s0 + i}]`);
    assert.equal(out.pred[s0 + i], r.predicted[i], `${label}: pred[${s0 + i}]`);
    if (!r.ignoredMask[i]) {
      tolAll += elementTol(want);
      tolClass[r.targetClass[i]] += elementTol(want);
    }
  }
  for (let s = 0; s < S; s++) {
    if (s >= s0 && s < s1) continue;
    assert.equal(out.loss[s], -12345, `${label}: loss[${s}] outside the range was written`);
    assert.equal(out.pred[s], -7, `${label}: pred[${s}] outside the range was written`);
  }
  const acc = out.acc;
  const st = r.stats;
  close(acc[CE_ACC.numerator], r.numerator, tolAll + 1e-12 * Math.abs(r.numerator), `${label}: numerator`);
  close(acc[CE_ACC.denominator], r.denominator, 1e-12 * Math.abs(r.denominator), `${label}: denominator`);
  if (k.labelSmoothing > 0) {
    close(acc[CE_ACC.nllSum], nllSum, tolAll + 1e-12 * Math.abs(nllSum), `${label}: nllSum`);
    let wAbs = C;
    if (k.w) wAbs = k.w.reduce((a, b) => a + Math.abs(b), 0);
    const valid = s1 - s0 - st.ignoredCount;
    close(acc[CE_ACC.smoothSum], smoothSum, valid * 1e-5 * (1 + wAbs) + 1e-9 * Math.abs(smoothSum), `${label}: smoothSum`);
  }
  assert.equal(acc[CE_ACC.ignored], st.ignoredCount, `${label}: ignored`);
  assert.equal(acc[CE_ACC.nan], st.nanCount, `${label}: nan count`);
  assert.equal(acc[CE_ACC.inf], st.infCount, `${label}: inf count`);
  let correct = 0;
  for (let c = 0; c < C; c++) correct += st.confusion[c * C + c];
  assert.equal(acc[CE_ACC.correct], correct, `${label}: correct`);
  const P = CE_ACC.perClass;
  for (let c = 0; c < C; c++) {
    const pc = st.perClass[c];
    close(acc[P + c], pc.lossSum, tolClass[c] + 1e-12 * Math.abs(pc.lossSum), `${label}: lossSum[${c}]`);
    assert.equal(acc[P + C + c], pc.count, `${label}: count[${c}]`);
    assert.equal(acc[P + 2 * C + c], pc.predicted, `${label}: predicted[${c}]`);
    assert.equal(acc[P + 3 * C + c], pc.ignored, `${label}: ignoredPerClass[${c}]`);
  }
  if (withConfusion) assert.deepEqual(Array.from(out.confusion), Array.from(st.confusion), `${label}: confusion`);
}

interface Specials {
  nan: number;
  posInf: number;
  negInf: number;
  huge: number;
  negInfRows: number;
  negMaxRows: number;
}

const NO_SPECIALS: Specials = { nan: 0, posInf: 0, negInf: 0, huge: 0, negInfRows: 0, negMaxRows: 0 };

function makeCase(rand: () => number, C: number, S: number, o: { weights: boolean; eps: number; ignoreIndex: number; ignoreRate: number; scale: number; sp: Specials }): CeCase {
  const x = new Float32Array(C * S);
  for (let i = 0; i < x.length; i++) {
    // Sums of uniforms: a bell shape without Math.log, and ties now and then at small scales.
    x[i] = (rand() + rand() + rand() - 1.5) * o.scale;
    const u = rand();
    if (u < o.sp.nan) x[i] = NaN;
    else if (u < o.sp.nan + o.sp.posInf) x[i] = Infinity;
    else if (u < o.sp.nan + o.sp.posInf + o.sp.negInf) x[i] = -Infinity;
    else if (u < o.sp.nan + o.sp.posInf + o.sp.negInf + o.sp.huge) x[i] = rand() < 0.5 ? 1e30 : -1e30;
  }
  for (let s = 0; s < S; s++) {
    const u = rand();
    if (u < o.sp.negInfRows) for (let c = 0; c < C; c++) x[c * S + s] = -Infinity;
    else if (u < o.sp.negInfRows + o.sp.negMaxRows) for (let c = 0; c < C; c++) x[c * S + s] = rand() < 0.5 ? -3.4028234663852886e38 : -Infinity;
  }
  const t = new Int32Array(S);
  for (let s = 0; s < S; s++) t[s] = rand() < o.ignoreRate ? o.ignoreIndex : Math.floor(rand() * C);
  let w: Float32Array | null = null;
  if (o.weights) {
    w = new Float32Array(C);
    for (let c = 0; c < C; c++) w[c] = rand() < 0.05 ? 0 : 0.1 + 2 * rand();
  }
  return { C, S, x, t, w, ignoreIndex: o.ignoreIndex, labelSmoothing: o.eps };
}

describe('wasm kernel: feature detection and loading', function () {
  it('reports SIMD and shared memory in Node 20', function () {
    assert.equal(simdSupported(), true);
    assert.equal(sharedMemorySupported(), true);
  });

  it('reserves a multiple of 64 KiB and leaves it untouched', function () {
    const a = new Arena(loadModule());
    const rb = a.kernel.reservedBytes;
    assert.ok(rb >= 65536 && rb % 65536 === 0, `reservedBytes ${rb}`);
    const rand = rng(7);
    const k = makeCase(rand, 21, 1000, { weights: true, eps: 0.1, ignoreIndex: 3, ignoreRate: 0.1, scale: 8, sp: { ...NO_SPECIALS, nan: 0.01 } });
    runCase(a, k, 5, 997);
    assert.ok(new Uint8Array(a.memory.buffer, 0, rb).every((b) => b === 0));
  });

  it('warms up inside the top of the reserved prefix and nowhere else', function () {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const k = instantiateCeKernel(loadModule(), memory);
    warmUpCeKernel(k, memory);
    const bytes = new Uint8Array(memory.buffer);
    const top = k.reservedBytes - WARM_UP_BYTES;
    assert.ok(bytes.subarray(0, top).every((b) => b === 0));
    assert.ok(bytes.subarray(k.reservedBytes).every((b) => b === 0));
    assert.ok(bytes.subarray(top, k.reservedBytes).some((b) => b !== 0));
  });

  it('the unshared module runs on an ordinary memory', function () {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const k = instantiateCeKernel(loadModule('ce.unshared.wasm'), memory);
    const C = 3;
    const S = 5;
    const base = k.reservedBytes;
    new Float32Array(memory.buffer, base, C * S).set([0, 1, 2, 3, 4, 1, 1, 1, 1, 1, 2, 1, 0, -1, -2]);
    new Int32Array(memory.buffer, base + 64, S).set([0, 1, 2, 0, -100]);
    const acc = base + 128;
    const ret = k.ceIndexF32(base, base + 64, 0, C, S, 0, S, -100, 0, base + 1024, base + 2048, acc, 0);
    assert.equal(ret, -1);
    const loss = new Float32Array(memory.buffer, base + 1024, S);
    const x = [[0, 1, 2], [1, 1, 1], [2, 1, 0], [3, 1, -1], [4, 1, -2]];
    for (let s = 0; s < 4; s++) {
      const row = x[s];
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      const tc = [0, 1, 2, 0][s];
      // Unweighted, the kernel's exp keeps the loss within 3.5e-6 (well inside its 1e-5 promise).
      assert.ok(Math.abs(loss[s] - (lse - row[tc])) < 4e-6, `loss[${s}] ${loss[s]}`);
    }
    assert.equal(loss[4], 0);
    assert.deepEqual(Array.from(new Int32Array(memory.buffer, base + 2048, S)), [2, 0, 0, 0, 0]);
    assert.equal(new Float64Array(memory.buffer, acc, ceAccLength(C))[CE_ACC.ignored], 1);
  });
});

describe('wasm kernel: against the float64 reference', function () {
  this.timeout(120000);
  let a: Arena;
  before(function () {
    a = new Arena(loadModule());
  });

  it('random cases: sizes, ranges, weights, ignore_index, label smoothing', function () {
    const rand = rng(20240611);
    const sizes = [1, 2, 3, 4, 5, 7, 16, 21, 33, 100, 257, 1000];
    for (let n = 0; n < 220; n++) {
      const C = rand() < 0.7 ? sizes[Math.floor(rand() * sizes.length)] : 1 + Math.floor(rand() * 1000);
      const maxS = Math.max(1, Math.min(5000, Math.floor(3e5 / C)));
      const S = 1 + Math.floor(rand() * maxS);
      const ignoreChoice = rand();
      const ignoreIndex = ignoreChoice < 0.3 ? -100 : ignoreChoice < 0.5 ? 255 : Math.floor(rand() * C);
      const eps = rand() < 0.5 ? 0 : rand() < 0.1 ? 1 : rand();
      const sp = rand() < 0.4 ? { nan: 0.002, posInf: 0.001, negInf: 0.02, huge: 0.01, negInfRows: 0.01, negMaxRows: 0.005 } : NO_SPECIALS;
      const k = makeCase(rand, C, S, { weights: rand() < 0.5, eps, ignoreIndex, ignoreRate: rand() * 0.2, scale: [0.01, 1, 8, 40][Math.floor(rand() * 4)], sp });
      const s0 = rand() < 0.3 ? 0 : Math.floor(rand() * S);
      const s1 = rand() < 0.3 ? S : s0 + 1 + Math.floor(rand() * (S - s0));
      check(k, s0, s1, runCase(a, k, s0, s1), `case ${n} (C ${C}, S ${S}, [${s0}, ${s1}), w ${k.w !== null}, eps ${eps}, ignore ${ignoreIndex})`);
    }
  });

  it('special values: NaN, +Inf, -Inf at the target, all -Inf rows, rows at -FLT_MAX, huge logits', function () {
    const C = 5;
    const S = 40;
    const x = new Float32Array(C * S);
    const t = new Int32Array(S);
    const rand = rng(3);
    for (let i = 0; i < x.length; i++) x[i] = (rand() - 0.5) * 6;
    for (let s = 0; s < S; s++) t[s] = s % C;
    const set = (s: number, vals: number[]): void => vals.forEach((v, c) => (x[c * S + s] = v));
    set(0, [NaN, 1, 2, 3, 4]);
    set(1, [1, NaN, 2, NaN, 4]);
    set(2, [1, 2, Infinity, 3, 4]);
    set(3, [Infinity, Infinity, 0, 0, 0]);
    set(4, [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
    set(5, [0, -Infinity, 1, 2, 3]); // -Inf at the target (t = 0? no: t[5] = 0), below
    set(6, [1e30, -1e30, 0, 5, -5]);
    set(7, [-1e30, -1e30, -1e30, -1e30, -1e30]);
    set(8, [-3.4028234663852886e38, -Infinity, -3.4028234663852886e38, -Infinity, -Infinity]);
    set(9, [-Infinity, -Infinity, 2, -Infinity, 3]);
    set(10, [3, 3, 3, 3, 3]);
    set(11, [-Infinity, 2, 2, 1, 0]); // t = 1; class 0 is -Inf
    set(12, [-Infinity, -Infinity, 0, 0, 0]); // t = 2
    t[5] = 1;
    set(5, [0, -Infinity, 1, 2, 3]); // -Inf at the target: +Inf loss
    set(13, [3.4028234663852886e38, -3.4028234663852886e38, 0, 0, 0]);
    set(14, [NaN, NaN, NaN, NaN, NaN]);
    t[14] = 255;
    for (const eps of [0, 0.2]) {
      for (const w of [null, Float32Array.from([1, 0, 2, 0.5, 1]), Float32Array.from([1, -1, 2, 0.5, 1])]) {
        const k: CeCase = { C, S, x, t, w, ignoreIndex: 255, labelSmoothing: eps };
        check(k, 0, S, runCase(a, k, 0, S), `specials eps ${eps} w ${w ? Array.from(w).join(',') : 'none'}`);
        check(k, 3, 17, runCase(a, k, 3, 17), `specials [3, 17) eps ${eps}`);
      }
    }
    const k: CeCase = { C, S, x, t, w: null, ignoreIndex: 255, labelSmoothing: 0 };
    const out = runCase(a, k, 0, S);
    assert.ok(Number.isNaN(out.loss[0]) && Number.isNaN(out.loss[4]) && Number.isNaN(out.loss[2]));
    assert.equal(out.loss[5], Infinity);
    assert.equal(out.pred[0], 0);
    assert.equal(out.pred[1], 1);
    assert.equal(out.loss[14], 0);
  });

  it('segment-like maps: runs of one target and one prediction, confident logits far apart', function () {
    const rand = rng(77);
    for (const [C, S] of [[5, 3000], [21, 4099], [3, 64], [150, 2000]]) {
      const k = makeCase(rand, C, S, { weights: C !== 21, eps: C === 3 ? 0.2 : 0, ignoreIndex: 255, ignoreRate: 0, scale: 2, sp: NO_SPECIALS });
      // Runs of 1 to 60 pixels; the target class wins by 5 to 90 (beyond the kernel's rescaling step),
      // sometimes another class does.
      let s = 0;
      while (s < S) {
        const len = 1 + Math.floor(rand() * 60);
        const tc = rand() < 0.05 ? 255 : Math.floor(rand() * C);
        const winner = rand() < 0.8 && tc !== 255 ? tc : Math.floor(rand() * C);
        const margin = 5 + rand() * 85;
        for (let i = s; i < Math.min(S, s + len); i++) {
          k.t[i] = tc;
          k.x[winner * S + i] += margin;
        }
        s += len;
      }
      for (const [s0, s1] of [[0, S], [7, S - 3]]) {
        check(k, s0, s1, runCase(a, k, s0, s1), `segments C ${C} S ${S} [${s0}, ${s1})`);
        check(k, s0, s1, runCase(a, k, s0, s1, { confusion: false }), `segments without confusion C ${C}`, false);
      }
    }
  });

  it('all elements ignored', function () {
    for (const ignoreIndex of [-100, 2]) {
      const C = 7;
      const S = 333;
      const k = makeCase(rng(11), C, S, { weights: true, eps: 0.3, ignoreIndex, ignoreRate: 1, scale: 4, sp: NO_SPECIALS });
      const out = runCase(a, k, 1, 330);
      check(k, 1, 330, out, `all ignored (${ignoreIndex})`);
      assert.equal(out.acc[CE_ACC.numerator], 0);
      assert.equal(out.acc[CE_ACC.denominator], 0);
      assert.equal(out.acc[CE_ACC.ignored], 329);
      assert.equal(out.acc[CE_ACC.perClass + 3 * C + 2], ignoreIndex === 2 ? 329 : 0);
    }
  });

  it('without argmax output and without confusion: the same loss and accumulators', function () {
    const rand = rng(99);
    for (const eps of [0, 0.1]) {
      const k = makeCase(rand, 19, 1234, { weights: true, eps, ignoreIndex: 0, ignoreRate: 0.1, scale: 8, sp: { ...NO_SPECIALS, nan: 0.001 } });
      const full = runCase(a, k, 3, 1201);
      const bare = runCase(a, k, 3, 1201, { pred: false, confusion: false });
      assert.deepEqual(bare.loss, full.loss);
      assert.deepEqual(bare.acc, full.acc);
      assert.ok(bare.pred.every((v) => v === -7));
      assert.ok(bare.confusion.every((v) => v === 0));
      check(k, 3, 1201, { ...bare, pred: full.pred }, `no pred/confusion eps ${eps}`, false);
    }
  });

  it('returns the first out-of-range target and reads nothing outside the logits', function () {
    const C = 6;
    const S = 100;
    const cases: Array<{ bad: Array<[number, number]>; ignore: number; s0: number; s1: number; want: number }> = [
      { bad: [[37, 6]], ignore: -100, s0: 0, s1: S, want: 37 },
      { bad: [[37, -1], [20, 1 << 30]], ignore: -100, s0: 0, s1: S, want: 20 },
      { bad: [[5, 255]], ignore: 2, s0: 0, s1: S, want: 5 },
      { bad: [[5, 255], [50, -100]], ignore: 2, s0: 6, s1: S, want: 50 },
      { bad: [[99, 6]], ignore: -100, s0: 97, s1: S, want: 99 },
      { bad: [[99, -2147483648]], ignore: -100, s0: 0, s1: 99, want: -1 },
      { bad: [[1, 7]], ignore: 7, s0: 0, s1: S, want: -1 },
    ];
    for (const cse of cases) {
      const k = makeCase(rng(5), C, S, { weights: true, eps: 0.1, ignoreIndex: cse.ignore, ignoreRate: 0.1, scale: 3, sp: NO_SPECIALS });
      for (const [s, v] of cse.bad) k.t[s] = v;
      for (const eps of [0, 0.1]) {
        const out = runCase(a, { ...k, labelSmoothing: eps }, cse.s0, cse.s1);
        assert.equal(out.ret, cse.want, `bad ${JSON.stringify(cse.bad)} ignore ${cse.ignore} [${cse.s0}, ${cse.s1})`);
      }
    }
  });

  it('no classes: every element must be ignored', function () {
    const k: CeCase = { C: 0, S: 9, x: new Float32Array(0), t: new Int32Array(9).fill(-100), w: null, ignoreIndex: -100, labelSmoothing: 0 };
    const out = runCase(a, k, 2, 9);
    assert.equal(out.ret, -1);
    assert.deepEqual(Array.from(out.loss.subarray(2)), new Array<number>(7).fill(0));
    assert.equal(out.acc[CE_ACC.ignored], 7);
    k.t[5] = 0;
    assert.equal(runCase(a, k, 2, 9).ret, 5);
  });

  it('adds to the accumulators instead of overwriting them', function () {
    const k = makeCase(rng(12), 4, 77, { weights: false, eps: 0, ignoreIndex: -100, ignoreRate: 0.1, scale: 3, sp: NO_SPECIALS });
    a.reset();
    const { C, S } = k;
    const xAt = a.alloc(C * S * 4);
    const tAt = a.alloc(S * 4);
    const lossAt = a.alloc(S * 4);
    const accAt = a.alloc(ceAccLength(C) * 8);
    const confAt = a.alloc(C * C * 8);
    a.f32(xAt, C * S).set(k.x);
    a.i32(tAt, S).set(k.t);
    a.f64(accAt, ceAccLength(C)).fill(0);
    a.f64(confAt, C * C).fill(0);
    assert.equal(a.kernel.ceIndexF32(xAt, tAt, 0, C, S, 0, S, -100, 0, lossAt, 0, accAt, confAt), -1);
    const once = a.f64(accAt, ceAccLength(C)).slice();
    const confOnce = a.f64(confAt, C * C).slice();
    assert.equal(a.kernel.ceIndexF32(xAt, tAt, 0, C, S, 0, S, -100, 0, lossAt, 0, accAt, confAt), -1);
    sameAccumulators(a.f64(accAt, ceAccLength(C)), once.map((v) => 2 * v), C, 'twice');
    assert.deepEqual(Array.from(a.f64(confAt, C * C)), Array.from(confOnce, (v) => 2 * v));
  });
});

/** Counts exactly, sums to 1e-12 relative (the summation order differs between splits). */
function sameAccumulators(got: Float64Array, want: Float64Array, C: number, what: string): void {
  const sums = new Set<number>([CE_ACC.numerator, CE_ACC.denominator, CE_ACC.nllSum, CE_ACC.smoothSum]);
  for (let c = 0; c < C; c++) sums.add(CE_ACC.perClass + c);
  for (let i = 0; i < got.length; i++) {
    if (sums.has(i)) close(got[i], want[i], 1e-12 * Math.max(1, Math.abs(want[i])), `${what}: acc[${i}]`);
    else assert.equal(got[i], want[i], `${what}: acc[${i}]`);
  }
}

describe('wasm kernel: splitting a range', function () {
  it('any split gives bitwise the same loss and argmax as one call', function () {
    const a = new Arena(loadModule());
    const rand = rng(42);
    for (let n = 0; n < 12; n++) {
      const C = [1, 3, 21, 150][n % 4];
      const S = 500 + Math.floor(rand() * 3000);
      const k = makeCase(rand, C, S, { weights: n % 2 === 0, eps: n % 3 === 0 ? 0.1 : 0, ignoreIndex: 255, ignoreRate: 0.05, scale: 8, sp: { ...NO_SPECIALS, nan: 0.002, negInf: 0.01 } });
      const whole = runCase(a, k, 0, S);
      // Random cut points, each piece its own call into one shared set of outputs.
      const cuts = [0, S];
      for (let i = 0; i < 6; i++) cuts.push(Math.floor(rand() * S));
      cuts.sort((p, q) => p - q);
      a.reset();
      const xAt = a.alloc(C * S * 4);
      const tAt = a.alloc(S * 4);
      const wAt = k.w ? a.alloc(C * 4) : 0;
      const lossAt = a.alloc(S * 4);
      const predAt = a.alloc(S * 4);
      const accAt = a.alloc(ceAccLength(C) * 8);
      const confAt = a.alloc(C * C * 8);
      a.f32(xAt, C * S).set(k.x);
      a.i32(tAt, S).set(k.t);
      if (k.w) a.f32(wAt, C).set(k.w);
      a.f64(accAt, ceAccLength(C)).fill(0);
      a.f64(confAt, C * C).fill(0);
      for (let i = 0; i + 1 < cuts.length; i++) {
        const r = a.kernel.ceIndexF32(xAt, tAt, wAt, C, S, cuts[i], cuts[i + 1], 255, k.labelSmoothing, lossAt, predAt, accAt, confAt);
        assert.equal(r, -1);
      }
      assert.deepEqual(new Uint32Array(a.f32(lossAt, S).slice().buffer), new Uint32Array(whole.loss.buffer), `case ${n}: loss bits`);
      assert.deepEqual(a.i32(predAt, S).slice(), whole.pred, `case ${n}: pred`);
      sameAccumulators(a.f64(accAt, ceAccLength(C)), whole.acc, C, `case ${n}`);
      assert.deepEqual(a.f64(confAt, C * C).slice(), whole.confusion, `case ${n}: confusion`);
    }
  });

  it('two worker threads on one shared memory compute disjoint halves as one call does', async function () {
    this.timeout(60000);
    const module = loadModule();
    const a = new Arena(module);
    const C = 21;
    const S = 256 * 1024 + 37;
    const k = makeCase(rng(2024), C, S, { weights: true, eps: 0, ignoreIndex: 255, ignoreRate: 0.05, scale: 8, sp: { ...NO_SPECIALS, nan: 0.0005 } });
    a.reset();
    const xAt = a.alloc(C * S * 4);
    const tAt = a.alloc(S * 4);
    const wAt = a.alloc(C * 4);
    const lossOne = a.alloc(S * 4);
    const predOne = a.alloc(S * 4);
    const lossTwo = a.alloc(S * 4);
    const predTwo = a.alloc(S * 4);
    const accOne = a.alloc(ceAccLength(C) * 8);
    const confOne = a.alloc(C * C * 8);
    const accW = [a.alloc(ceAccLength(C) * 8), a.alloc(ceAccLength(C) * 8)];
    const confW = [a.alloc(C * C * 8), a.alloc(C * C * 8)];
    const accSeq = [a.alloc(ceAccLength(C) * 8), a.alloc(ceAccLength(C) * 8)];
    const confSeq = [a.alloc(C * C * 8), a.alloc(C * C * 8)];
    a.f32(xAt, C * S).set(k.x);
    a.i32(tAt, S).set(k.t);
    a.f32(wAt, C).set(k.w as Float32Array);
    const half = (S >> 1) + 5; // not a multiple of 16: both sides have partial groups
    const ranges: Array<[number, number]> = [[0, half], [half, S]];

    assert.equal(a.kernel.ceIndexF32(xAt, tAt, wAt, C, S, 0, S, 255, 0, lossOne, predOne, accOne, confOne), -1);
    for (let i = 0; i < 2; i++) {
      const [s0, s1] = ranges[i];
      assert.equal(a.kernel.ceIndexF32(xAt, tAt, wAt, C, S, s0, s1, 255, 0, lossTwo, predTwo, accSeq[i], confSeq[i]), -1);
    }
    a.f32(lossTwo, S).fill(0);
    a.i32(predTwo, S).fill(0);

    const workerFile = path.join(__dirname, 'ceWorker.ts');
    // The worker is TypeScript: a CommonJS bootstrap registers tsx in the worker, then loads it.
    const boot = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(workerFile)});`;
    const workers = [0, 1].map(() => new Worker(boot, { eval: true, workerData: { module, memory: a.memory } }));
    try {
      // Both workers instantiated before either gets its range, so the two calls overlap.
      await Promise.all(workers.map((wk) => new Promise<void>((resolve, reject) => {
        wk.once('message', () => resolve());
        wk.once('error', reject);
      })));
      const results = await Promise.all(workers.map((wk, i) => new Promise<number>((resolve, reject) => {
        wk.once('message', (r: number) => resolve(r));
        wk.once('error', reject);
        const [s0, s1] = ranges[i];
        wk.postMessage([xAt, tAt, wAt, C, S, s0, s1, 255, 0, lossTwo, predTwo, accW[i], confW[i]]);
      })));
      assert.deepEqual(results, [-1, -1]);
    } finally {
      await Promise.all(workers.map((wk) => wk.terminate()));
    }
    assert.deepEqual(new Uint32Array(a.f32(lossTwo, S).slice().buffer), new Uint32Array(a.f32(lossOne, S).slice().buffer), 'loss bits');
    assert.deepEqual(a.i32(predTwo, S).slice(), a.i32(predOne, S).slice(), 'pred');
    const L = ceAccLength(C);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(a.f64(accW[i], L).slice(), a.f64(accSeq[i], L).slice(), `worker ${i} accumulators`);
      assert.deepEqual(a.f64(confW[i], C * C).slice(), a.f64(confSeq[i], C * C).slice(), `worker ${i} confusion`);
    }
    const summed = a.f64(accW[0], L).map((v, i) => v + a.f64(accW[1], L)[i]);
    sameAccumulators(summed, a.f64(accOne, L), C, 'halves vs one call');
    const confSum = a.f64(confW[0], C * C).map((v, i) => v + a.f64(confW[1], C * C)[i]);
    assert.deepEqual(confSum, a.f64(confOne, C * C).slice());
  });
});

describe('wasm kernel: candidates for the worst-elements list', function () {
  it('nextCandidate finds the same elements as a scalar scan, for any start, end and floor', function () {
    const a = new Arena(loadModule());
    const r = rng(11);
    const n = 301;
    const lossAt = a.alloc(n * 4);
    const tAt = a.alloc(n * 4);
    const loss = a.f32(lossAt, n);
    const t = a.i32(tAt, n);
    const specials = [NaN, Infinity, -Infinity, 0, -0];
    for (let i = 0; i < n; i++) {
      loss[i] = r() < 0.05 ? specials[Math.floor(r() * specials.length)] : Math.fround(r() * 10);
      t[i] = r() < 0.2 ? 255 : Math.floor(r() * 5);
    }
    // Ties with the floor qualify: plant some.
    loss[40] = loss[200] = Math.fround(7.25);
    const want = (i0: number, end: number, floor: number): number => {
      for (let i = i0; i < end; i++) if (t[i] !== 255 && !(loss[i] < floor)) return i;
      return end;
    };
    let checked = 0;
    for (const floor of [-Infinity, 0, Math.fround(7.25), 9.5, Infinity]) {
      for (let i0 = 0; i0 <= n; i0 += 7) {
        for (const end of [i0, i0 + 1, i0 + 15, i0 + 16, i0 + 17, n]) {
          if (end > n) continue;
          assert.equal(a.kernel.nextCandidate(lossAt, tAt, i0, end, 255, floor), want(i0, end, floor), `floor ${floor}, [${i0}, ${end})`);
          checked++;
        }
      }
    }
    assert.ok(checked > 1000);
  });
});

describe('wasm kernel: the 16-pixel block layout', function () {
  it('toBlocks puts logit (c, s) of each sample at ((s >> 4) * C + c) * 16 + (s & 15), whole or a few class rows at a time', function () {
    const a = new Arena(loadModule());
    for (const [C, S, samples] of [[1, 1, 1], [3, 5, 2], [21, 16, 1], [21, 100, 3], [7, 1030, 2], [300, 40, 1]]) {
      for (const rowsPer of [C, 2, 1]) {
        a.reset();
        const src = a.alloc(C * S * samples * 4);
        const per = blockedLength(C, S);
        const dst = a.alloc(per * samples * 4);
        const x = a.f32(src, C * S * samples);
        for (let i = 0; i < x.length; i++) x[i] = i + 0.5;
        a.f32(dst, per * samples).fill(-1);
        if (rowsPer === C) a.kernel.toBlocks(src, dst, C, S, samples, 0, C);
        else {
          // One sample at a time, rows [c0, c1) staged alone, as the engine does for large samples.
          const stage = a.alloc(rowsPer * S * 4);
          for (let n = 0; n < samples; n++) {
            for (let c0 = 0; c0 < C; c0 += rowsPer) {
              const c1 = Math.min(C, c0 + rowsPer);
              a.f32(stage, (c1 - c0) * S).set(x.subarray(n * C * S + c0 * S, n * C * S + c1 * S));
              a.kernel.toBlocks(stage, dst + n * per * 4, C, S, 1, c0, c1);
            }
          }
        }
        const out = a.f32(dst, per * samples);
        for (let n = 0; n < samples; n++) {
          for (let c = 0; c < C; c++) {
            for (let s = 0; s < S; s++) {
              assert.equal(out[n * per + (Math.floor(s / 16) * C + c) * 16 + (s % 16)], x[n * C * S + c * S + s], `C ${C} S ${S} rows ${rowsPer} n ${n} c ${c} s ${s}`);
            }
          }
        }
        // Lanes past S in the last block are untouched.
        if (S % 16) assert.equal(out[(Math.floor(S / 16) * C) * 16 + (S % 16)], -1);
      }
    }
  });

  it('gives bitwise the same loss, argmax, accumulators and confusion as the row layout', function () {
    const a = new Arena(loadModule());
    const rand = rng(7);
    for (let n = 0; n < 24; n++) {
      const C = [1, 2, 5, 21, 150][n % 5];
      const S = 1 + Math.floor(rand() * 700);
      const sp = n % 2 ? { nan: 0.003, posInf: 0.002, negInf: 0.02, huge: 0.01, negInfRows: 0.01, negMaxRows: 0.005 } : NO_SPECIALS;
      const k = makeCase(rand, C, S, { weights: n % 4 < 2, eps: n % 3 === 0 ? 0.1 : 0, ignoreIndex: n % 4 === 0 ? 1 : 255, ignoreRate: 0.05, scale: n % 6 === 0 ? 80 : 8, sp });
      const s0 = Math.floor(rand() * S * 0.3);
      const s1 = S - Math.floor(rand() * (S - s0) * 0.3);
      // Now and then a target out of range: both layouts name the same first one.
      if (n % 7 === 3) k.t[s0 + Math.floor(rand() * (s1 - s0))] = C + 3;
      const rows = runCase(a, k, s0, s1);
      const blocks = runCase(a, k, s0, s1, { blocked: true });
      const what = `case ${n} (C ${C}, S ${S}, [${s0}, ${s1}))`;
      assert.equal(blocks.ret, rows.ret, what);
      // After a bad target the outputs are unspecified.
      if (rows.ret >= 0) continue;
      assert.deepEqual(new Uint32Array(blocks.loss.buffer), new Uint32Array(rows.loss.buffer), `${what}: loss bits`);
      assert.deepEqual(blocks.pred, rows.pred, `${what}: pred`);
      // As numbers (NaN equals NaN): a NaN's payload bits may differ between V8's two wasm compilers.
      assert.deepEqual(Array.from(blocks.acc), Array.from(rows.acc), `${what}: accumulators`);
      assert.deepEqual(Array.from(blocks.confusion), Array.from(rows.confusion), `${what}: confusion`);
    }
  });
});

// Small losses: the one-pass sum is taken against class 0's logit, not the max, so a confident pixel's loss
// is two large numbers minus each other; the kernel redoes such sums against the max. Every element within
// 2e-6 of the float64 loss plus 2e-7 (float32's own rounding near a loss of 1), weights scaling the floor.
function tinyTol(want: number, wt: number): number {
  return 2e-6 * Math.abs(want) + 2e-7 * Math.max(1, Math.abs(wt));
}

/** Per-element loss of [0, S) in both layouts against the float64 reference within tinyTol; returns the worst error / tolerance. */
function checkTiny(a: Arena, k: CeCase, label: string): number {
  const { r } = reference(k, 0, k.S);
  let worst = 0;
  for (const blocked of [false, true]) {
    const out = runCase(a, k, 0, k.S, { blocked });
    assert.equal(out.ret, -1, label);
    for (let s = 0; s < k.S; s++) {
      const want = r.lossMap[s];
      const tc = k.t[s];
      const tol = tinyTol(want, k.w && tc >= 0 && tc < k.C ? k.w[tc] : 1);
      const err = Math.abs(out.loss[s] - want);
      worst = Math.max(worst, err / tol);
      assert.ok(err <= tol, `${label}${blocked ? ' (blocks)' : ''}: loss[${s}] ${out.loss[s]}, float64 ${want} (|diff| ${err} > ${tol})`);
      assert.equal(out.pred[s], r.predicted[s], `${label}: pred[${s}]`);
    }
  }
  return worst;
}

describe('wasm kernel: small losses against the float64 reference', function () {
  this.timeout(120000);
  let a: Arena;
  before(function () {
    a = new Arena(loadModule());
  });

  it('the parity fixture ce-index-023: logits [-14.74174, -3.0646224], target 1, alone and in a full 16-pixel group', function () {
    for (const S of [1, 5, 16, 37]) {
      const x = new Float32Array(2 * S);
      for (let s = 0; s < S; s++) {
        x[s] = -14.74174;
        x[S + s] = -3.0646224;
      }
      const k: CeCase = { C: 2, S, x, t: new Int32Array(S).fill(1), w: null, ignoreIndex: -100, labelSmoothing: 0 };
      checkTiny(a, k, `fixture S ${S}`);
      // The float64 loss is 8.4858e-6.
      const { r } = reference(k, 0, S);
      assert.ok(Math.abs(r.lossMap[0] - 8.4858e-6) < 1e-9);
    }
  });

  it('confident pixels: the target is the max by 5 to 30, class 0 the max or not, weighted or not', function () {
    const rand = rng(31337);
    for (const C of [2, 3, 5, 10, 21, 150]) {
      for (const zeroMax of ['never', 'always', 'mixed'] as const) {
        for (const weighted of [false, true]) {
          const S = 1000 + Math.floor(rand() * 40);
          const x = new Float32Array(C * S);
          const t = new Int32Array(S);
          for (let s = 0; s < S; s++) {
            for (let c = 0; c < C; c++) x[c * S + s] = (rand() + rand() + rand() - 1.5) * 4 + (rand() - 0.5) * 40;
            let tc = Math.floor(rand() * C);
            if (C > 1 && zeroMax === 'never' && tc === 0) tc = 1 + Math.floor(rand() * (C - 1));
            if (zeroMax === 'always') tc = 0;
            t[s] = tc;
            // The target wins by 5 to 30 over the second largest logit.
            let second = -Infinity;
            for (let c = 0; c < C; c++) if (c !== tc) second = Math.max(second, x[c * S + s]);
            x[tc * S + s] = (C > 1 ? second : 0) + 5 + rand() * 25;
          }
          const w = weighted ? Float32Array.from({ length: C }, () => 0.5 + rand()) : null;
          checkTiny(a, { C, S, x, t, w, ignoreIndex: -100, labelSmoothing: 0 }, `C ${C} class 0 max ${zeroMax} weighted ${weighted}`);
        }
      }
    }
  });

  it('adversarial small losses: exp polynomial worst arguments, the reference far below the max, ties at the max', function () {
    const rand = rng(4242);
    const C = 40;
    const S = 48;
    const gens: Array<[string, (c: number, s: number) => number]> = [
      // Others spaced so that (x - max) log2 e hits every fraction of the polynomial's range.
      ['polynomial worst, class 0 max', (c, s) => (c === 0 ? 0 : -(1 + ((c + s) % 40) * 0.125) * Math.LN2 - 1.5)],
      ['polynomial worst, last class max', (c, s) => (c === C - 1 ? 0 : -(1 + ((c + s) % 40) * 0.125) * Math.LN2 - 1.5)],
      // Class 0 63 below the max (just inside the kernel's JUMP) and 65 below (beyond it).
      ['class 0 63 below', (c, s) => (c === 0 ? -63 : c === 7 ? 0 : -8 - ((c * 7 + s) % 13))],
      ['class 0 65 below', (c, s) => (c === 0 ? -65 : c === 7 ? 0 : -8 - ((c * 7 + s) % 13))],
      ['two at the max', (c, s) => (c === 3 || c === 9 ? 0 : -20 - ((c + s) % 5))],
      ['many tiny others', (c, s) => (c === 5 ? 0 : -10 - (c % 3) * 0.001 * s)],
    ];
    for (const [name, g] of gens) {
      for (const off of [0, 1000, -37.25]) {
        const x = new Float32Array(C * S);
        const t = new Int32Array(S);
        for (let s = 0; s < S; s++) {
          let m = -Infinity;
          for (let c = 0; c < C; c++) {
            x[c * S + s] = g(c, s) + off;
            m = Math.max(m, x[c * S + s]);
          }
          // Mostly the argmax, now and then the runner-up (a loss near 1).
          let am = 0;
          while (x[am * S + s] !== m) am++;
          t[s] = rand() < 0.8 ? am : Math.floor(rand() * C);
        }
        checkTiny(a, { C, S, x, t, w: null, ignoreIndex: -100, labelSmoothing: 0 }, `${name} offset ${off}`);
      }
    }
  });

  it('a batch of 4096 x 10 confident predictions: every element and the mean', function () {
    const rand = rng(5);
    const C = 10;
    const S = 4096;
    const x = new Float32Array(C * S);
    const t = new Int32Array(S);
    for (let s = 0; s < S; s++) {
      for (let c = 0; c < C; c++) x[c * S + s] = (rand() + rand() + rand() - 1.5) * 3;
      t[s] = 1 + Math.floor(rand() * (C - 1));
      x[t[s] * S + s] += 12 + rand() * 6;
    }
    const k: CeCase = { C, S, x, t, w: null, ignoreIndex: -100, labelSmoothing: 0 };
    checkTiny(a, k, 'batch');
    const out = runCase(a, k, 0, S);
    const { r } = reference(k, 0, S);
    assert.ok(r.numerator / S < 1e-3, `mean loss ${r.numerator / S}`);
    assert.ok(Math.abs(out.acc[CE_ACC.numerator] - r.numerator) <= 2e-6 * r.numerator + 1e-12, `sum ${out.acc[CE_ACC.numerator]}, float64 ${r.numerator}`);
  });
});

// ceIndexF32Top: folder evaluation's one pass, which also gives each pixel's top-class loss. It replaces
// two calls (the loss, then the argmax as target), so it must give their results bit for bit, whatever the
// values (specials, confident pixels that take the refinement, class 0 far below the max), layout and range.
describe('wasm kernel: the top-class loss in the same pass', function () {
  /** The two calls ceIndexF32Top replaces, and ceIndexF32Top itself, on one case and range. */
  function both(a: Arena, k: CeCase, s0: number, s1: number, blocked: boolean): { two: { first: CeOutputs; top: Float32Array }; one: { ret: number; loss: Float32Array; pred: Int32Array; top: Float32Array; acc: Float64Array } } {
    const first = runCase(a, k, s0, s1, { blocked, confusion: false });
    const t2 = Int32Array.from(k.t, (v, s) => (v === k.ignoreIndex || s < s0 || s >= s1 ? -1 : first.pred[s]));
    const second = runCase(a, { ...k, t: t2, w: null, ignoreIndex: -1, labelSmoothing: 0 }, s0, s1, { blocked, confusion: false });
    a.reset();
    const { C, S } = k;
    const xAt = a.alloc(C * S * 4 + 64) + 4 * ((C * 7 + S) % 16);
    const blockAt = blocked ? a.alloc(blockedLength(C, S) * 4) : 0;
    const tAt = a.alloc(S * 4);
    const lossAt = a.alloc(S * 4);
    const predAt = a.alloc(S * 4);
    const topAt = a.alloc(S * 4);
    const accAt = a.alloc(ceAccLength(C) * 8);
    a.f32(xAt, C * S).set(k.x);
    if (blocked) {
      a.f32(blockAt, blockedLength(C, S)).fill(NaN);
      a.kernel.toBlocks(xAt, blockAt, C, S, 1, 0, C);
    }
    a.i32(tAt, S).set(k.t);
    a.f32(lossAt, S).fill(-12345);
    a.i32(predAt, S).fill(-7);
    a.f32(topAt, S).fill(-12345);
    a.f64(accAt, ceAccLength(C)).fill(0);
    const ret = a.kernel.ceIndexF32Top(blocked ? blockAt : xAt, tAt, C, S, s0, s1, k.ignoreIndex, k.labelSmoothing, lossAt, predAt, topAt, accAt, blocked);
    const one = { ret, loss: a.f32(lossAt, S).slice(), pred: a.i32(predAt, S).slice(), top: a.f32(topAt, S).slice(), acc: a.f64(accAt, ceAccLength(C)).slice() };
    return { two: { first, top: second.loss }, one };
  }

  function sameBits(k: CeCase, s0: number, s1: number, r: ReturnType<typeof both>, what: string): void {
    assert.equal(r.one.ret, r.two.first.ret, `${what}: return`);
    if (r.one.ret >= 0) return;
    assert.deepEqual(new Uint32Array(r.one.loss.buffer), new Uint32Array(r.two.first.loss.buffer), `${what}: loss bits`);
    assert.deepEqual(r.one.pred, r.two.first.pred, `${what}: pred`);
    assert.deepEqual(Array.from(r.one.acc), Array.from(r.two.first.acc), `${what}: accumulators`);
    for (let s = 0; s < k.S; s++) {
      const inside = s >= s0 && s < s1;
      if (!inside) {
        assert.equal(r.one.top[s], -12345, `${what}: top[${s}] outside the range was written`);
        continue;
      }
      // Bits, except that NaN equals NaN (its payload may differ between V8's two wasm compilers).
      const a = r.one.top[s];
      const b = r.two.top[s];
      if (a !== a || b !== b) assert.ok(a !== a && b !== b, `${what}: top[${s}] ${a}, two calls ${b}`);
      else assert.equal(new Uint32Array(Float32Array.of(a).buffer)[0], new Uint32Array(Float32Array.of(b).buffer)[0], `${what}: top[${s}] ${a}, two calls ${b}`);
    }
  }

  it('random cases with special values, label smoothing and ignore_index: both layouts, any range', function () {
    const a = new Arena(loadModule());
    const rand = rng(2024);
    for (let n = 0; n < 60; n++) {
      const C = [1, 2, 5, 21, 150][n % 5];
      const S = 1 + Math.floor(rand() * 700);
      const sp = n % 2 ? { nan: 0.003, posInf: 0.002, negInf: 0.02, huge: 0.01, negInfRows: 0.01, negMaxRows: 0.005 } : NO_SPECIALS;
      const k = makeCase(rand, C, S, { weights: false, eps: n % 3 === 0 ? 0.1 : 0, ignoreIndex: n % 4 === 0 ? 1 : 255, ignoreRate: 0.05, scale: [80, 8, 0.01][n % 3], sp });
      const s0 = n % 5 === 1 ? 0 : Math.floor(rand() * S * 0.3);
      const s1 = n % 5 === 1 ? S : S - Math.floor(rand() * (S - s0) * 0.3);
      if (n % 11 === 3) k.t[s0 + Math.floor(rand() * (s1 - s0))] = C + 3;
      for (const blocked of [false, true]) sameBits(k, s0, s1, both(a, k, s0, s1, blocked), `case ${n} (C ${C}, S ${S}, [${s0}, ${s1}))${blocked ? ' blocks' : ''}`);
    }
  });

  it('confident pixels (the refinement), class 0 far below the max (the moving reference), ties at the max', function () {
    const a = new Arena(loadModule());
    const rand = rng(99);
    const C = 150;
    const S = 333;
    for (const kind of ['confident', 'far', 'ties', 'mixed']) {
      const x = new Float32Array(C * S);
      const t = new Int32Array(S);
      for (let s = 0; s < S; s++) {
        for (let c = 0; c < C; c++) x[c * S + s] = (rand() + rand() + rand() - 1.5) * 4;
        const am = Math.floor(rand() * C);
        const pick = kind === 'mixed' ? ['confident', 'far', 'ties', 'plain'][s % 4] : kind;
        if (pick === 'confident') x[am * S + s] += 8 + rand() * 30;
        else if (pick === 'far') {
          x[s] = -70 - rand() * 10;
          x[am * S + s] += 2 + rand() * 20;
        } else if (pick === 'ties') {
          x[am * S + s] = 9;
          x[((am + 17) % C) * S + s] = 9;
        }
        t[s] = rand() < 0.05 ? 255 : rand() < 0.7 ? am : Math.floor(rand() * C);
      }
      const k: CeCase = { C, S, x, t, w: null, ignoreIndex: 255, labelSmoothing: kind === 'far' ? 0.2 : 0 };
      for (const blocked of [false, true]) sameBits(k, 0, S, both(a, k, 0, S, blocked), `${kind}${blocked ? ' blocks' : ''}`);
    }
  });
});

describe('wasm kernel: rowsToBlocks', function () {
  it('stages float32, float16 and bfloat16 rows a few at a time, or a tile of pixels, into the block layout, as toBlocks and widenToF32 do', function () {
    const a = new Arena(loadModule());
    const rand = rng(31);
    for (const [C, S] of [[1, 1], [3, 5], [21, 16], [21, 100], [7, 1030], [150, 333]]) {
      for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
        for (const rowsPer of [C, 4, 1]) {
          a.reset();
          const eb = dtype === 'float32' ? 4 : 2;
          const raw = a.alloc(C * S * eb);
          const wide = a.alloc(C * S * 4);
          const per = blockedLength(C, S);
          const want = a.alloc(per * 4);
          const got = a.alloc(per * 4);
          const stage = a.alloc(rowsPer * S * eb);
          if (dtype === 'float32') {
            const x = a.f32(raw, C * S);
            for (let i = 0; i < x.length; i++) x[i] = (rand() - 0.5) * 100;
            a.f32(wide, C * S).set(x);
          } else {
            // Every bit pattern now and then: subnormals, infinities and NaN (payloads) included.
            const h = new Uint16Array(a.memory.buffer, raw, C * S);
            for (let i = 0; i < h.length; i++) h[i] = Math.floor(rand() * 65536);
            a.kernel.widenToF32(raw, wide, C * S, dtype);
          }
          a.f32(want, per).fill(-1);
          a.f32(got, per).fill(-1);
          a.kernel.toBlocks(wide, want, C, S, 1, 0, C);
          for (let c0 = 0; c0 < C; c0 += rowsPer) {
            const c1 = Math.min(C, c0 + rowsPer);
            new Uint8Array(a.memory.buffer, stage, (c1 - c0) * S * eb).set(new Uint8Array(a.memory.buffer, raw + c0 * S * eb, (c1 - c0) * S * eb));
            a.kernel.rowsToBlocks(stage, S * eb, got, C, S, c0, c1, dtype);
          }
          assert.deepEqual(new Uint32Array(a.memory.buffer, got, per), new Uint32Array(a.memory.buffer, want, per), `C ${C} S ${S} ${dtype} rows ${rowsPer}`);
        }
        // Tiles: pixels [s0, s0 + n) of the whole image's rows (row = S elements), each into a block layout
        // of n pixels, as toBlocks lays out those pixels alone.
        for (const n of [1, 16, 17, 48, S]) {
          for (const s0 of [0, 16, S - n].filter((v) => v >= 0 && v + n <= S)) {
            a.reset();
            const eb = dtype === 'float32' ? 4 : 2;
            const raw = a.alloc(C * S * eb);
            const part = a.alloc(C * n * 4);
            const per = blockedLength(C, n);
            const want = a.alloc(per * 4);
            const got = a.alloc(per * 4);
            const h = new Uint8Array(a.memory.buffer, raw, C * S * eb);
            for (let i = 0; i < h.length; i++) h[i] = Math.floor(rand() * 256);
            // The tile's float32 values, row by row, widened one at a time the way widenToF32 does.
            const tmp = a.alloc(S * 4);
            for (let c = 0; c < C; c++) {
              if (dtype === 'float32') new Uint8Array(a.memory.buffer, tmp, S * 4).set(h.subarray(c * S * 4, (c + 1) * S * 4));
              else a.kernel.widenToF32(raw + c * S * 2, tmp, S, dtype);
              a.f32(part + c * n * 4, n).set(a.f32(tmp, S).subarray(s0, s0 + n));
            }
            a.f32(want, per).fill(-1);
            a.f32(got, per).fill(-1);
            a.kernel.toBlocks(part, want, C, n, 1, 0, C);
            a.kernel.rowsToBlocks(raw + s0 * eb, S * eb, got, C, n, 0, C, dtype);
            assert.deepEqual(new Uint32Array(a.memory.buffer, got, per), new Uint32Array(a.memory.buffer, want, per), `tile C ${C} S ${S} ${dtype} [${s0}, ${s0 + n})`);
          }
        }
      }
    }
  });
});
