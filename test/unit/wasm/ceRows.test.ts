// The WebAssembly row kernels (ceRowsF32 / ceRowsF16 / ceRowsBF16: logits [rows, C], classes contiguous)
// against the float64 reference (crossEntropyMaps on the same values): per-row loss, argmax, accumulators
// and confusion for C from 1 to 262144, weights, ignore_index, label smoothing, NaN / ±Inf / all -Inf
// rows, float16 and bfloat16 input; adversarial rows for the error bound; the widening of every 16-bit
// pattern; bad targets; split invariance. Needs the compiled module (dist/ce.wasm, else built on demand).
import * as assert from 'node:assert/strict';
import { crossEntropyMaps } from '../../../src/kernel/losses/crossEntropy';
import { computeLoss, resolveOptions, type LossRequest } from '../../../src/kernel/index';
import { buildProblem, type CeProblem } from '../../../src/kernel/validate';
import { CE_ACC, ceAccLength, instantiateCeKernel, WARM_UP_BYTES, warmUpCeRows } from '../../../src/kernel/wasm/wasmKernel';
import { floatToHalf, halfToFloat } from '../../../src/tensor/float16';
import { Arena, loadModule, rng, runRows, type CeOutputs, type RowCase, type RowDtype } from './wasmHelpers';

const F32_ULP = 2 ** -23;
const FLT_MAX = 3.4028234663852886e38;
const DTYPES: readonly RowDtype[] = ['float32', 'float16', 'bfloat16'];

const f32bits = new Float32Array(1);
const u32bits = new Uint32Array(f32bits.buffer);
function bf16Bits(v: number): number {
  f32bits[0] = v;
  return u32bits[0] >>> 16;
}
function bf16Value(h: number): number {
  u32bits[0] = h << 16;
  return f32bits[0];
}

/** Rounds the values to the dtype (float16: nearest; bfloat16: truncated) and records the bit patterns. */
function quantize(dtype: RowDtype, values: Float32Array): { x: Float32Array; bits: Uint16Array | null } {
  if (dtype === 'float32') return { x: values, bits: null };
  const bits = new Uint16Array(values.length);
  const x = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    bits[i] = dtype === 'float16' ? floatToHalf(values[i]) : bf16Bits(values[i]);
    x[i] = dtype === 'float16' ? halfToFloat(bits[i]) : bf16Value(bits[i]);
  }
  return { x, bits };
}

/** What the kernel should report for rows [r0, r1): the reference's maps, summed as the accumulators are. */
interface Expected {
  loss: Float64Array;
  pred: Int32Array;
  acc: Float64Array;
  /** Non-zero confusion cells, target * C + predicted -> count. */
  confusion: Map<number, number>;
  /** Per accumulator slot: the summed element tolerance (float sums) or 0 (counts, exact). */
  tol: Float64Array;
}

function expected(k: RowCase, r0: number, r1: number): Expected {
  const { C } = k;
  const L = r1 - r0;
  const req: LossRequest = {
    input: { dtype: 'float32', shape: [L, C], data: k.x.subarray(r0 * C, r1 * C) },
    target: { dtype: 'int32', shape: [L], data: k.t.slice(r0, r1) },
    weight: k.w ? { dtype: 'float32', shape: [C], data: k.w } : null,
    options: { ignoreIndex: k.ignoreIndex, labelSmoothing: k.labelSmoothing, reduction: 'none' },
  };
  const m = crossEntropyMaps(buildProblem(req, resolveOptions(req.options)) as CeProblem);
  const acc = new Float64Array(ceAccLength(C));
  const tol = new Float64Array(ceAccLength(C));
  const P = CE_ACC.perClass;
  const confusion = new Map<number, number>();
  acc[CE_ACC.numerator] = m.numerator;
  acc[CE_ACC.denominator] = m.denominator;
  acc[CE_ACC.nllSum] = m.smoothingParts ? m.smoothingParts.nllSum : m.numerator;
  acc[CE_ACC.smoothSum] = m.smoothingParts ? m.smoothingParts.smoothSum : 0;
  let wAbs = C;
  if (k.w) wAbs = k.w.reduce((a, b) => a + Math.abs(b), 0);
  for (let i = 0; i < L; i++) {
    const tc = m.targetClass[i];
    if (m.ignoredMask[i]) {
      acc[CE_ACC.ignored]++;
      if (tc >= 0 && tc < C) acc[P + 3 * C + tc]++;
      continue;
    }
    const loss = m.lossMap[i];
    const pc = m.predicted[i];
    if (loss !== loss) acc[CE_ACC.nan]++;
    else if (Math.abs(loss) === Infinity) acc[CE_ACC.inf]++;
    if (pc === tc) acc[CE_ACC.correct]++;
    acc[P + tc] += loss;
    acc[P + C + tc]++;
    acc[P + 2 * C + pc]++;
    confusion.set(tc * C + pc, (confusion.get(tc * C + pc) ?? 0) + 1);
    const et = elementTol(loss);
    tol[CE_ACC.numerator] += et;
    tol[CE_ACC.nllSum] += et;
    tol[CE_ACC.smoothSum] += 1e-5 * (1 + wAbs);
    tol[P + tc] += et;
  }
  return { loss: m.lossMap, pred: m.predicted, acc, confusion, tol };
}

function elementTol(ref: number): number {
  return Number.isFinite(ref) ? 1e-5 + F32_ULP * Math.abs(ref) : 0;
}

/** NaN where the reference is NaN, the same infinity, else within `tol`. */
function close(got: number, want: number, tol: number, what: string): void {
  if (want !== want) assert.ok(got !== got, `${what}: expected NaN, got ${got}`);
  else if (!Number.isFinite(want)) assert.equal(got, want, what);
  else assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (|diff| ${Math.abs(got - want)} > ${tol})`);
}

/** Everything the kernel reports for [r0, r1) against the reference; outside the range nothing changed. */
function check(k: RowCase, r0: number, r1: number, out: CeOutputs, label: string, opts: { confusion?: boolean; pred?: boolean } = {}): void {
  const { C, R } = k;
  assert.equal(out.ret, -1, `${label}: returned ${out.ret}`);
  const e = expected(k, r0, r1);
  for (let i = 0; i < r1 - r0; i++) {
    // The loss is stored as float32: a float64 loss beyond FLT_MAX is an infinity there.
    close(out.loss[r0 + i], Math.fround(e.loss[i]), elementTol(e.loss[i]), `${label}: loss[${r0 + i}]`);
    if (opts.pred !== false) assert.equal(out.pred[r0 + i], e.pred[i], `${label}: pred[${r0 + i}]`);
  }
  for (let i = 0; i < R; i++) {
    if (i >= r0 && i < r1) continue;
    assert.equal(out.loss[i], -12345, `${label}: loss[${i}] outside the range was written`);
    assert.equal(out.pred[i], -7, `${label}: pred[${i}] outside the range was written`);
  }
  if (opts.pred === false) assert.ok(out.pred.every((v) => v === -7), `${label}: pred written without outPred`);
  for (let j = 0; j < e.acc.length; j++) {
    if (j === CE_ACC.smoothSum && !(k.labelSmoothing > 0)) continue;
    const what = `${label}: acc[${j}]${j >= CE_ACC.perClass ? ` (per-class block ${Math.floor((j - CE_ACC.perClass) / C)}, class ${(j - CE_ACC.perClass) % C})` : ''}`;
    // Float sums within the summed element tolerances (their order differs); counts exactly.
    const floatSum = j < CE_ACC.ignored || (j >= CE_ACC.perClass && j < CE_ACC.perClass + C);
    if (floatSum) close(out.acc[j], e.acc[j], e.tol[j] + 1e-12 * Math.abs(e.acc[j]), what);
    else assert.equal(out.acc[j], e.acc[j], what);
  }
  if (opts.confusion !== false) {
    for (let j = 0; j < out.confusion.length; j++) assert.equal(out.confusion[j], e.confusion.get(j) ?? 0, `${label}: confusion[${Math.floor(j / C)}, ${j % C}]`);
  }
}

type Special = 'nan' | 'posInf' | 'negInf' | 'allNegInf' | 'negMax' | 'huge' | 'seedNegInf' | 'targetNegInf' | 'rising' | 'tiny';
const SPECIALS: readonly Special[] = ['nan', 'posInf', 'negInf', 'allNegInf', 'negMax', 'huge', 'seedNegInf', 'targetNegInf', 'rising', 'tiny'];

interface Gen {
  weights: boolean;
  eps: number;
  ignoreIndex: number;
  ignoreRate: number;
  scale: number;
  /** Share of rows that get one of SPECIALS. */
  specialRows: number;
}

/** A position in a row where the kernel changes path: the ends, the seed's end, a block edge, the tail. */
function somePos(rand: () => number, C: number): number {
  const picks = [0, C - 1, Math.min(C - 1, 63), Math.min(C - 1, 64), Math.min(C - 1, 255), Math.min(C - 1, 256), C - 1 - (C % 16), Math.floor(rand() * C)];
  return Math.max(0, picks[Math.floor(rand() * picks.length)]);
}

function makeRows(rand: () => number, C: number, R: number, dtype: RowDtype, o: Gen): RowCase {
  const v = new Float32Array(R * C);
  for (let i = 0; i < v.length; i++) v[i] = (rand() + rand() + rand() - 1.5) * o.scale;
  const t = new Int32Array(R);
  for (let i = 0; i < R; i++) t[i] = rand() < o.ignoreRate ? o.ignoreIndex : Math.floor(rand() * C);
  for (let i = 0; i < R; i++) {
    if (!(rand() < o.specialRows)) continue;
    const row = v.subarray(i * C, (i + 1) * C);
    const kind = SPECIALS[Math.floor(rand() * SPECIALS.length)];
    const n = 1 + Math.floor(rand() * 3);
    switch (kind) {
      case 'nan': for (let j = 0; j < n; j++) row[somePos(rand, C)] = NaN; break;
      case 'posInf': for (let j = 0; j < n; j++) row[somePos(rand, C)] = Infinity; break;
      case 'negInf': for (let j = 0; j < n; j++) row[somePos(rand, C)] = -Infinity; break;
      case 'allNegInf': row.fill(-Infinity); break;
      case 'negMax': for (let c = 0; c < C; c++) row[c] = rand() < 0.5 ? -FLT_MAX : -Infinity; break;
      case 'huge': for (let j = 0; j < n; j++) row[somePos(rand, C)] = rand() < 0.5 ? 1e30 : -1e30; break;
      case 'seedNegInf': row.fill(-Infinity, 0, Math.min(C, 64 + Math.floor(rand() * 300))); break;
      case 'targetNegInf': if (t[i] >= 0 && t[i] < C) row[t[i]] = -Infinity; break;
      case 'rising': { const d = [1e-3, 0.05, 1, 9][Math.floor(rand() * 4)]; for (let c = 0; c < C; c++) row[c] = c * d - C * d / 2; break; }
      case 'tiny': for (let c = 0; c < C; c++) row[c] *= 1e-5; break;
    }
  }
  const { x, bits } = quantize(dtype, v);
  let w: Float32Array | null = null;
  if (o.weights) {
    w = new Float32Array(C);
    for (let c = 0; c < C; c++) w[c] = rand() < 0.05 ? 0 : 0.1 + 2 * rand();
  }
  return { C, R, dtype, x, bits, t, w, ignoreIndex: o.ignoreIndex, labelSmoothing: o.eps };
}

describe('wasm row kernel: against the float64 reference', function () {
  this.timeout(300000);
  let a: Arena;
  before(function () {
    a = new Arena(loadModule());
  });

  it('the expected accumulators (reference maps, summed) agree with computeLoss statistics', function () {
    // The helper that turns the reference's maps into accumulators is itself checked against the
    // project's statistics code once, so the tests below compare against something independent.
    const rand = rng(1);
    for (const eps of [0, 0.3]) {
      const k = makeRows(rand, 7, 300, 'float32', { weights: true, eps, ignoreIndex: 2, ignoreRate: 0.1, scale: 4, specialRows: 0.2 });
      const e = expected(k, 0, k.R);
      const r = computeLoss({
        input: { dtype: 'float32', shape: [k.R, k.C], data: k.x },
        target: { dtype: 'int32', shape: [k.R], data: k.t },
        weight: { dtype: 'float32', shape: [k.C], data: k.w as Float32Array },
        options: { ignoreIndex: k.ignoreIndex, labelSmoothing: eps, reduction: 'none' },
      });
      const st = r.stats;
      assert.equal(e.acc[CE_ACC.ignored], st.ignoredCount);
      assert.equal(e.acc[CE_ACC.nan], st.nanCount);
      assert.equal(e.acc[CE_ACC.inf], st.infCount);
      for (let c = 0; c < k.C; c++) {
        const pc = st.perClass[c];
        assert.equal(e.acc[CE_ACC.perClass + k.C + c], pc.count);
        assert.equal(e.acc[CE_ACC.perClass + 2 * k.C + c], pc.predicted);
        assert.equal(e.acc[CE_ACC.perClass + 3 * k.C + c], pc.ignored);
        assert.ok(Object.is(e.acc[CE_ACC.perClass + c], pc.lossSum) || Math.abs(e.acc[CE_ACC.perClass + c] - pc.lossSum) <= 1e-9 * Math.abs(pc.lossSum));
        for (let p = 0; p < k.C; p++) assert.equal(e.confusion.get(c * k.C + p) ?? 0, st.confusion[c * k.C + p]);
      }
    }
  });

  for (const C of [1, 2, 3, 5, 17, 1000, 32000, 50257, 262144]) {
    it(`random rows, C = ${C}: dtypes, weights, ignore_index, label smoothing, special rows, ranges`, function () {
      const rand = rng(1000 + C);
      const rounds = C >= 32000 ? 4 : C >= 1000 ? 8 : 16;
      for (let n = 0; n < rounds; n++) {
        const dtype = DTYPES[n % 3];
        const R = Math.max(2, Math.min(400, Math.floor((C >= 32000 ? 1.2e6 : 3e5) / C)));
        const ignoreChoice = rand();
        const ignoreIndex = ignoreChoice < 0.4 ? -100 : ignoreChoice < 0.6 ? 255 : Math.floor(rand() * C);
        const eps = rand() < 0.5 ? 0 : rand() < 0.15 ? 1 : rand();
        const scale = dtype === 'float16' && rand() < 0.2 ? 1e-4 : [0.01, 1, 8, 40][Math.floor(rand() * 4)];
        const k = makeRows(rand, C, R, dtype, { weights: rand() < 0.5, eps, ignoreIndex, ignoreRate: rand() * 0.2, scale, specialRows: rand() < 0.6 ? 0.15 : 0 });
        const r0 = rand() < 0.4 ? 0 : Math.floor(rand() * R);
        const r1 = rand() < 0.4 ? R : r0 + 1 + Math.floor(rand() * (R - r0));
        const confusion = C <= 1000;
        const pred = rand() < 0.85;
        const label = `C ${C} round ${n} (${dtype}, R ${R}, [${r0}, ${r1}), w ${k.w !== null}, eps ${eps}, ignore ${ignoreIndex}, scale ${scale}, pred ${pred})`;
        check(k, r0, r1, runRows(a, k, r0, r1, { confusion, pred, shift: 2 * Math.floor(rand() * 32) }), label, { confusion, pred });
      }
    });
  }

  it('special rows: NaN, +Inf, -Inf at the target, all -Inf, -FLT_MAX rows, huge logits, in every dtype', function () {
    for (const C of [5, 37, 300]) {
      const R = 20;
      const rand = rng(C);
      const v = new Float32Array(R * C);
      for (let i = 0; i < v.length; i++) v[i] = (rand() - 0.5) * 6;
      const t = new Int32Array(R);
      for (let i = 0; i < R; i++) t[i] = i % C;
      const row = (i: number): Float32Array => v.subarray(i * C, (i + 1) * C);
      row(0)[0] = NaN;
      row(1)[1] = NaN;
      row(1)[C - 1] = NaN;
      row(2)[2] = Infinity;
      row(3).fill(Infinity, 0, 2);
      row(4).fill(-Infinity);
      row(5)[t[5]] = -Infinity; // +Inf loss without smoothing
      row(6)[0] = 1e30;
      row(6)[1] = -1e30;
      row(7).fill(-1e30);
      for (let c = 0; c < C; c++) row(8)[c] = c % 2 ? -FLT_MAX : -Infinity;
      row(9).fill(-Infinity, 0, C - 1);
      row(10).fill(3);
      row(11)[0] = -Infinity;
      row(12)[0] = FLT_MAX;
      row(12)[1] = -FLT_MAX;
      row(13).fill(NaN);
      t[13] = 255;
      row(14)[C - 1] = NaN; // ignored row with a NaN: its argmax is the NaN
      t[14] = 255;
      row(15).fill(-Infinity);
      t[15] = 255;
      row(16)[C >> 1] = Infinity;
      row(16)[C - 1] = -Infinity;
      for (const dtype of DTYPES) {
        const { x, bits } = quantize(dtype, v);
        for (const eps of [0, 0.2]) {
          for (const w of [null, Float32Array.from({ length: C }, (_, c) => [1, 0, 2, 0.5, -1][c % 5])]) {
            const k: RowCase = { C, R, dtype, x, bits, t, w, ignoreIndex: 255, labelSmoothing: eps };
            check(k, 0, R, runRows(a, k, 0, R), `specials C ${C} ${dtype} eps ${eps} w ${w !== null}`);
            check(k, 3, 17, runRows(a, k, 3, 17), `specials C ${C} ${dtype} [3, 17) eps ${eps} w ${w !== null}`);
          }
        }
        const k: RowCase = { C, R, dtype, x, bits, t, w: null, ignoreIndex: 255, labelSmoothing: 0 };
        const out = runRows(a, k, 0, R);
        assert.ok(Number.isNaN(out.loss[0]) && Number.isNaN(out.loss[4]), `${dtype}: NaN rows`);
        assert.equal(out.loss[5], Infinity, `${dtype}: -Inf at the target`);
        assert.equal(out.pred[1], 1, `${dtype}: first NaN wins the argmax`);
        assert.equal(out.pred[14], C - 1, `${dtype}: ignored row's argmax is its NaN`);
        assert.equal(out.loss[13], 0);
      }
    }
  });

  it('ignored rows: loss 0, counted per class, argmax only when asked', function () {
    const rand = rng(8);
    for (const dtype of DTYPES) {
      for (const C of [3, 300, 5000]) {
        const k = makeRows(rand, C, 60, dtype, { weights: true, eps: 0.2, ignoreIndex: 1, ignoreRate: 1, scale: 5, specialRows: 0.3 });
        for (const pred of [true, false]) {
          const confusion = C <= 300;
          const out = runRows(a, k, 2, 59, { pred, confusion });
          check(k, 2, 59, out, `all ignored ${dtype} C ${C} pred ${pred}`, { pred, confusion });
          assert.equal(out.acc[CE_ACC.ignored], 57);
          assert.equal(out.acc[CE_ACC.perClass + 3 * C + 1], 57);
          assert.equal(out.acc[CE_ACC.numerator], 0);
          assert.equal(out.acc[CE_ACC.denominator], 0);
        }
      }
    }
  });

  it('adversarial rows stay inside the error bound: rising, staircases across the reference step, one dominant logit, wide offsets', function () {
    // Each row is the worst case of one error source: rescaling (rising rows, staircases of 7.99 and 8.01
    // per block, which move the reference at every block or keep it just below the step), f32 summation
    // (one logit dominating many small ones), the exp polynomial (arguments at its worst), f32 rounding of
    // x - r (large offsets). Bound: |loss - reference| <= 4e-6 max(1, |reference|) (unweighted; weighted
    // rows use the degree-5 exp and stay far below).
    const rand = rng(99);
    const gens: Array<[string, (c: number, C: number) => number]> = [
      ['rise 1e-5', (c) => c * 1e-5], ['rise 1e-3', (c) => c * 1e-3], ['rise 0.03', (c) => c * 0.03], ['rise 1', (c) => c],
      ['rise 100', (c) => c * 100], ['fall 0.03', (c) => -c * 0.03], ['stair 8.01/block', (c) => Math.floor(c / 256) * 8.01],
      ['stair 7.99/block', (c) => Math.floor(c / 256) * 7.99], ['stair 7.99/16', (c) => Math.floor(c / 16) * 7.99],
      ['one dominant last', (c, C) => (c === C - 1 ? 0 : -12)], ['one dominant first', (c) => (c === 0 ? 0 : -12)],
      ['all equal', () => 3.25], ['exp polynomial worst', (c) => -((c % 40) + 0.5) * Math.LN2 * 0.5],
      ['offset 1e4', () => 1e4 + (rand() - 0.5) * 8], ['sawtooth', (c) => (c % 300) * 0.05],
      ['language model', () => (rand() < 0.0005 ? 15 + 10 * rand() : (rand() + rand() + rand() + rand() - 2) * 5)],
    ];
    let worst = 0;
    for (const C of [17, 1000, 50257, 262144]) {
      for (const [name, g] of gens) {
        const variants = C > 100000 ? [[0, false], [0.1, true]] as const : [[0, false], [0, true], [0.1, true], [1, false]] as const;
        for (const [eps, weighted] of variants) {
          {
            const R = 3;
            const v = new Float32Array(R * C);
            for (let c = 0; c < C; c++) v[c] = g(c, C);
            for (let c = 0; c < C; c++) v[C + c] = v[C - 1 - c];
            const off = (rand() - 0.5) * 100;
            for (let c = 0; c < C; c++) v[2 * C + c] = v[c] + off;
            const k: RowCase = {
              C, R, dtype: 'float32', x: v, bits: null, t: Int32Array.from([C - 1, Math.floor(rand() * C), 0]),
              w: weighted ? Float32Array.from({ length: C }, () => 0.1 + 2 * rand()) : null, ignoreIndex: -100, labelSmoothing: eps,
            };
            const out = runRows(a, k, 0, R, { confusion: false });
            const e = expected(k, 0, R);
            for (let i = 0; i < R; i++) {
              const err = Math.abs(out.loss[i] - e.loss[i]) / Math.max(1, Math.abs(e.loss[i]));
              worst = Math.max(worst, err);
              assert.ok(err <= 4e-6, `C ${C} ${name} eps ${eps} weighted ${weighted} row ${i}: loss ${out.loss[i]}, reference ${e.loss[i]} (relative error ${err})`);
              assert.equal(out.pred[i], e.pred[i], `C ${C} ${name} row ${i}: argmax`);
            }
          }
        }
      }
    }
    assert.ok(worst > 0, 'the comparison saw some rounding');
  });

  it('the same loss bits whatever the row length around the 16-logit steps, blocks and the seed', function () {
    // Rows of length C and C + 1..: the loop structure changes (tails, partial blocks); compare each with
    // the reference (the stride between rows changes too, so rows start at every alignment).
    const rand = rng(4);
    for (const dtype of DTYPES) {
      for (const C of [4, 8, 15, 16, 31, 33, 63, 64, 65, 127, 255, 256, 257, 511, 513, 1023]) {
        const k = makeRows(rand, C, 9, dtype, { weights: C % 2 === 0, eps: C % 3 === 0 ? 0.1 : 0, ignoreIndex: -100, ignoreRate: 0.1, scale: 8, specialRows: 0.3 });
        check(k, 0, 9, runRows(a, k, 0, 9, { shift: 2 }), `${dtype} C ${C}`);
      }
    }
  });
});

describe('wasm row kernel: float16 and bfloat16 widening', function () {
  this.timeout(60000);

  it('widenToF32 turns every float16 and bfloat16 bit pattern into its exact value, in bulk and one at a time', function () {
    const a = new Arena(loadModule());
    const src = a.alloc(65536 * 2 + 64) + 2;
    const dst = a.alloc(65536 * 4);
    const h = new Uint16Array(a.memory.buffer, src, 65536);
    for (let i = 0; i < 65536; i++) h[i] = i;
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const want = (i: number): number => (dtype === 'float16' ? halfToFloat(i) : bf16Value(i));
      a.f32(dst, 65536).fill(12345);
      a.kernel.widenToF32(src, dst, 65536, dtype);
      const got = a.f32(dst, 65536);
      const gotBits = a.i32(dst, 65536);
      for (let i = 0; i < 65536; i++) {
        const wv = want(i);
        if (wv !== wv) assert.ok(got[i] !== got[i], `${dtype} 0x${i.toString(16)}: NaN expected, got ${got[i]}`);
        else assert.ok(Object.is(got[i], wv), `${dtype} 0x${i.toString(16)}: ${got[i]} != ${wv}`);
        if (dtype === 'bfloat16') assert.equal(gotBits[i] >>> 0, (i << 16) >>> 0, `bfloat16 0x${i.toString(16)} bits`);
      }
      // The scalar path (runs shorter than 8), at every position of a vector.
      for (let i = 0; i < 65536; i += 1 + (i % 5)) {
        a.kernel.widenToF32(src + 2 * i, dst, Math.min(7, 65536 - i), dtype);
        for (let j = 0; j < Math.min(7, 65536 - i); j++) {
          const wv = want(i + j);
          if (wv !== wv) assert.ok(got[j] !== got[j]);
          else assert.ok(Object.is(got[j], wv), `${dtype} scalar 0x${(i + j).toString(16)}: ${got[j]} != ${wv}`);
        }
      }
    }
  });

  it('the row kernels read every finite pattern as that value: a lone finite logit among -Inf has loss exactly 0', function () {
    // Row [h, -Inf, ...]: the max comes from the SIMD widening, the target logit from the scalar one, and
    // the loss (max - x[t]) + log(1) is 0 only if both read h as the same number. C = 16 runs the
    // vector loops, C = 3 the tail.
    const a = new Arena(loadModule());
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const finite: number[] = [];
      for (let i = 0; i < 65536; i++) {
        const v = dtype === 'float16' ? halfToFloat(i) : bf16Value(i);
        if (Number.isFinite(v)) finite.push(i);
      }
      const negInf = dtype === 'float16' ? 0xfc00 : 0xff80;
      for (const C of [16, 3]) {
        const R = finite.length;
        const bits = new Uint16Array(R * C).fill(negInf);
        const x = new Float32Array(R * C).fill(-Infinity);
        const t = new Int32Array(R);
        for (let i = 0; i < R; i++) {
          const pos = (i * 7) % C;
          bits[i * C + pos] = finite[i];
          x[i * C + pos] = dtype === 'float16' ? halfToFloat(finite[i]) : bf16Value(finite[i]);
          t[i] = pos;
        }
        const k: RowCase = { C, R, dtype, x, bits, t, w: null, ignoreIndex: -100, labelSmoothing: 0 };
        const out = runRows(a, k, 0, R, { confusion: false });
        assert.equal(out.ret, -1);
        for (let i = 0; i < R; i++) {
          assert.equal(out.loss[i], 0, `${dtype} C ${C} pattern 0x${finite[i].toString(16)}: loss ${out.loss[i]}`);
          assert.equal(out.pred[i], t[i], `${dtype} C ${C} pattern 0x${finite[i].toString(16)}: argmax`);
        }
      }
    }
  });
});

describe('wasm row kernel: contract', function () {
  this.timeout(120000);
  let a: Arena;
  before(function () {
    a = new Arena(loadModule());
  });

  it('returns the first bad target and writes nothing', function () {
    const C = 6;
    const R = 100;
    const cases: Array<{ bad: Array<[number, number]>; ignore: number; r0: number; r1: number; want: number }> = [
      { bad: [[37, 6]], ignore: -100, r0: 0, r1: R, want: 37 },
      { bad: [[37, -1], [20, 1 << 30]], ignore: -100, r0: 0, r1: R, want: 20 },
      { bad: [[5, 255]], ignore: 2, r0: 0, r1: R, want: 5 },
      { bad: [[5, 255], [50, -100]], ignore: 2, r0: 6, r1: R, want: 50 },
      { bad: [[99, 6]], ignore: -100, r0: 97, r1: R, want: 99 },
      { bad: [[99, -2147483648]], ignore: -100, r0: 0, r1: 99, want: -1 },
      { bad: [[1, 7]], ignore: 7, r0: 0, r1: R, want: -1 },
    ];
    for (const dtype of DTYPES) {
      for (const cse of cases) {
        const k = makeRows(rng(5), C, R, dtype, { weights: true, eps: 0.1, ignoreIndex: cse.ignore, ignoreRate: 0.1, scale: 3, specialRows: 0 });
        for (const [i, v] of cse.bad) k.t[i] = v;
        for (const eps of [0, 0.1]) {
          const out = runRows(a, { ...k, labelSmoothing: eps }, cse.r0, cse.r1);
          const what = `${dtype} bad ${JSON.stringify(cse.bad)} ignore ${cse.ignore} [${cse.r0}, ${cse.r1})`;
          assert.equal(out.ret, cse.want, what);
          if (cse.want >= 0) {
            assert.ok(out.loss.every((l) => l === -12345), `${what}: loss written`);
            assert.ok(out.pred.every((p) => p === -7), `${what}: pred written`);
            assert.ok(out.acc.every((s) => s === 0), `${what}: accumulators written`);
            assert.ok(out.confusion.every((s) => s === 0), `${what}: confusion written`);
          }
        }
      }
    }
  });

  it('no classes: every row must be ignored', function () {
    const k: RowCase = { C: 0, R: 9, dtype: 'float32', x: new Float32Array(0), bits: null, t: new Int32Array(9).fill(-100), w: null, ignoreIndex: -100, labelSmoothing: 0 };
    const out = runRows(a, k, 2, 9);
    assert.equal(out.ret, -1);
    assert.deepEqual(Array.from(out.loss.subarray(2)), new Array<number>(7).fill(0));
    assert.equal(out.acc[CE_ACC.ignored], 7);
    k.t[5] = 0;
    assert.equal(runRows(a, k, 2, 9).ret, 5);
  });

  it('any split of [r0, r1) gives bitwise the same loss and argmax, the same accumulators and confusion', function () {
    const rand = rng(42);
    for (let n = 0; n < 12; n++) {
      const dtype = DTYPES[n % 3];
      const C = [1, 5, 300, 3000][n % 4];
      const R = 50 + Math.floor(rand() * 150);
      const k = makeRows(rand, C, R, dtype, { weights: n % 2 === 0, eps: n % 3 === 0 ? 0.1 : 0, ignoreIndex: 255, ignoreRate: 0.05, scale: 8, specialRows: 0.1 });
      const whole = runRows(a, k, 0, R, { confusion: C <= 300 });
      const cuts = [0, R];
      for (let i = 0; i < 6; i++) cuts.push(Math.floor(rand() * R));
      cuts.sort((p, q) => p - q);
      // Pieces into one set of outputs: the same memory layout as runRows, driven by hand.
      a.reset();
      const eb = dtype === 'float32' ? 4 : 2;
      const xAt = a.alloc(C * R * eb + 64) + 6;
      const tAt = a.alloc(R * 4);
      const wAt = k.w ? a.alloc(C * 4) : 0;
      const lossAt = a.alloc(R * 4);
      const predAt = a.alloc(R * 4);
      const accAt = a.alloc(ceAccLength(C) * 8);
      const confAt = C <= 300 ? a.alloc(C * C * 8) : 0;
      const src = dtype === 'float32' ? new Uint8Array(k.x.buffer, k.x.byteOffset, k.x.byteLength) : new Uint8Array((k.bits as Uint16Array).buffer);
      new Uint8Array(a.memory.buffer, xAt, src.length).set(src);
      a.i32(tAt, R).set(k.t);
      if (k.w) a.f32(wAt, C).set(k.w);
      a.f64(accAt, ceAccLength(C)).fill(0);
      if (confAt) a.f64(confAt, C * C).fill(0);
      const fn = dtype === 'float32' ? a.kernel.ceRowsF32 : dtype === 'float16' ? a.kernel.ceRowsF16 : a.kernel.ceRowsBF16;
      for (let i = 0; i + 1 < cuts.length; i++) {
        assert.equal(fn(xAt, tAt, wAt, C, R, cuts[i], cuts[i + 1], 255, k.labelSmoothing, lossAt, predAt, accAt, confAt), -1);
      }
      const what = `case ${n} (${dtype}, C ${C}, R ${R}, cuts ${cuts.join(',')})`;
      assert.deepEqual(new Uint32Array(a.f32(lossAt, R).slice().buffer), new Uint32Array(whole.loss.buffer), `${what}: loss bits`);
      assert.deepEqual(a.i32(predAt, R).slice(), whole.pred, `${what}: pred`);
      const got = a.f64(accAt, ceAccLength(C));
      const sums = new Set<number>([CE_ACC.numerator, CE_ACC.denominator, CE_ACC.nllSum, CE_ACC.smoothSum]);
      for (let c = 0; c < C; c++) sums.add(CE_ACC.perClass + c);
      for (let i = 0; i < got.length; i++) {
        if (sums.has(i)) close(got[i], whole.acc[i], 1e-12 * Math.max(1, Math.abs(whole.acc[i])), `${what}: acc[${i}]`);
        else assert.equal(got[i], whole.acc[i], `${what}: acc[${i}]`);
      }
      if (confAt) assert.deepEqual(a.f64(confAt, C * C).slice(), whole.confusion, `${what}: confusion`);
    }
  });

  it('adds to the accumulators and confusion instead of overwriting them', function () {
    const k = makeRows(rng(12), 40, 77, 'float32', { weights: false, eps: 0.1, ignoreIndex: -100, ignoreRate: 0.1, scale: 3, specialRows: 0.1 });
    a.reset();
    const { C, R } = k;
    const xAt = a.alloc(C * R * 4);
    const tAt = a.alloc(R * 4);
    const lossAt = a.alloc(R * 4);
    const accAt = a.alloc(ceAccLength(C) * 8);
    const confAt = a.alloc(C * C * 8);
    a.f32(xAt, C * R).set(k.x);
    a.i32(tAt, R).set(k.t);
    a.f64(accAt, ceAccLength(C)).fill(0);
    a.f64(confAt, C * C).fill(0);
    assert.equal(a.kernel.ceRowsF32(xAt, tAt, 0, C, R, 0, R, -100, 0.1, lossAt, 0, accAt, confAt), -1);
    const once = a.f64(accAt, ceAccLength(C)).slice();
    const confOnce = a.f64(confAt, C * C).slice();
    assert.equal(a.kernel.ceRowsF32(xAt, tAt, 0, C, R, 0, R, -100, 0.1, lossAt, 0, accAt, confAt), -1);
    const twice = a.f64(accAt, ceAccLength(C));
    for (let i = 0; i < twice.length; i++) close(twice[i], 2 * once[i], 1e-12 * Math.abs(2 * once[i]), `acc[${i}]`);
    assert.deepEqual(Array.from(a.f64(confAt, C * C)), Array.from(confOnce, (v) => 2 * v));
  });

  it('warmUpCeRows writes inside the top of the reserved prefix and nowhere else', function () {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const k = instantiateCeKernel(loadModule(), memory);
    warmUpCeRows(k, memory, DTYPES);
    const bytes = new Uint8Array(memory.buffer);
    const top = k.reservedBytes - WARM_UP_BYTES;
    assert.ok(bytes.subarray(0, top).every((b) => b === 0));
    assert.ok(bytes.subarray(k.reservedBytes).every((b) => b === 0));
    assert.ok(bytes.subarray(top, k.reservedBytes).some((b) => b !== 0));
  });
});

// Small losses: the row's reference (the max of its first 64 logits, moved up by blocks more than 8 above
// it) may lie below the max, so a confident row's loss is two larger numbers minus each other; the kernel
// redoes such sums against the max. Every row within 2e-6 of the float64 loss plus 2e-7 (float32's own
// rounding near a loss of 1), weights scaling the floor.
function tinyTol(want: number, wt: number): number {
  return 2e-6 * Math.abs(want) + 2e-7 * Math.max(1, Math.abs(wt));
}

function checkTiny(a: Arena, k: RowCase, label: string): void {
  const out = runRows(a, k, 0, k.R, { confusion: false });
  assert.equal(out.ret, -1, label);
  const e = expected(k, 0, k.R);
  for (let i = 0; i < k.R; i++) {
    const tc = k.t[i];
    const tol = tinyTol(e.loss[i], k.w ? k.w[tc] : 1);
    const err = Math.abs(out.loss[i] - e.loss[i]);
    assert.ok(err <= tol, `${label}: row ${i} loss ${out.loss[i]}, float64 ${e.loss[i]} (|diff| ${err} > ${tol})`);
    assert.equal(out.pred[i], e.pred[i], `${label}: row ${i} argmax`);
  }
}

describe('wasm row kernel: small losses against the float64 reference', function () {
  this.timeout(300000);
  let a: Arena;
  before(function () {
    a = new Arena(loadModule());
  });

  it('confident rows: the target is the max by 5 to 30, inside the seed or past it, every dtype, weighted or not', function () {
    const rand = rng(8080);
    for (const dtype of DTYPES) {
      for (const C of [2, 10, 100, 1000, 50257]) {
        for (const weighted of [false, true]) {
          const R = C > 10000 ? 6 : 64;
          const v = new Float32Array(R * C);
          const t = new Int32Array(R);
          for (let i = 0; i < R; i++) {
            const row = v.subarray(i * C, (i + 1) * C);
            for (let c = 0; c < C; c++) row[c] = (rand() + rand() + rand() - 1.5) * 4;
            // Some rows with a logit up to 7.9 above the seed's max past the seed (the reference stays
            // below the row's max without a block redone), the target past or inside the seed.
            if (i % 3 === 1 && C > 64) row[64 + Math.floor(rand() * (C - 64))] += 7.9 * rand();
            const tc = i % 2 && C > 64 ? 64 + Math.floor(rand() * (C - 64)) : Math.floor(rand() * Math.min(C, 64));
            t[i] = tc;
            let second = -Infinity;
            for (let c = 0; c < C; c++) if (c !== tc) second = Math.max(second, row[c]);
            row[tc] = second + 5 + rand() * 25;
          }
          const { x, bits } = quantize(dtype, v);
          const w = weighted ? Float32Array.from({ length: C }, () => 0.5 + rand()) : null;
          checkTiny(a, { C, R, dtype, x, bits, t, w, ignoreIndex: -100, labelSmoothing: 0 }, `${dtype} C ${C} weighted ${weighted}`);
        }
      }
    }
  });

  it('adversarial small losses: the reference up to 8 below the max, exp polynomial worst arguments, ties at the max, the parity fixture', function () {
    // The parity fixture ce-index-023 (logits [-14.74174, -3.0646224], target 1) as rows: the seed holds
    // the max there, so it only checks that nothing changed.
    for (const dtype of DTYPES) {
      const q = quantize(dtype, Float32Array.from([-14.74174, -3.0646224, -3.0646224, -14.74174]));
      checkTiny(a, { C: 2, R: 2, dtype, x: q.x, bits: q.bits, t: Int32Array.from([1, 0]), w: null, ignoreIndex: -100, labelSmoothing: 0 }, `fixture ${dtype}`);
    }
    const C = 300;
    const gens: Array<[string, (c: number) => number]> = [
      // The seed's max 7.99 below a later logit (no block redone) which is the max.
      ['reference 7.99 below', (c) => (c === 200 ? 7.99 : c === 10 ? 0 : -12 - (c % 7))],
      ['reference 7.99 below, one in the seed close', (c) => (c === 200 ? 7.99 : c === 10 ? 0 : c === 11 ? -1 : -14)],
      ['polynomial worst, max in the seed', (c) => (c === 3 ? 0 : -(1 + (c % 40) * 0.125) * Math.LN2 - 5)],
      ['polynomial worst, max past the seed', (c) => (c === 250 ? 0 : -(1 + (c % 40) * 0.125) * Math.LN2 - 5)],
      ['two at the max', (c) => (c === 100 || c === 290 ? 0 : -20 - (c % 5))],
    ];
    for (const [name, g] of gens) {
      for (const off of [0, 1000, -37.25]) {
        const R = 4;
        const v = new Float32Array(R * C);
        for (let i = 0; i < R; i++) for (let c = 0; c < C; c++) v[i * C + c] = g(c) + off + (i === 3 ? (c % 11) * 1e-3 : 0);
        let am = 0;
        for (let c = 1; c < C; c++) if (v[c] > v[am]) am = c;
        const t = Int32Array.from([am, am, (am + 1) % C, am]);
        checkTiny(a, { C, R, dtype: 'float32', x: v, bits: null, t, w: null, ignoreIndex: -100, labelSmoothing: 0 }, `${name} offset ${off}`);
      }
    }
  });

  it('a batch of 4096 x 10 confident rows: every row and the sum', function () {
    const rand = rng(6);
    const C = 10;
    const R = 4096;
    const v = new Float32Array(R * C);
    const t = new Int32Array(R);
    for (let i = 0; i < R; i++) {
      for (let c = 0; c < C; c++) v[i * C + c] = (rand() + rand() + rand() - 1.5) * 3;
      t[i] = 1 + Math.floor(rand() * (C - 1));
      v[i * C + t[i]] += 12 + rand() * 6;
    }
    const k: RowCase = { C, R, dtype: 'float32', x: v, bits: null, t, w: null, ignoreIndex: -100, labelSmoothing: 0 };
    checkTiny(a, k, 'batch');
    const out = runRows(a, k, 0, R, { confusion: false });
    const e = expected(k, 0, R);
    const sum = e.acc[CE_ACC.numerator];
    assert.ok(sum / R < 1e-3, `mean loss ${sum / R}`);
    assert.ok(Math.abs(out.acc[CE_ACC.numerator] - sum) <= 2e-6 * sum, `sum ${out.acc[CE_ACC.numerator]}, float64 ${sum}`);
  });
});
