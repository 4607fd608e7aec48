// Softmax focal's pass in the cross-entropy kernel (src/wasm/ce.ts focalInPlace) against the reference's
// float64 expression (src/kernel/losses/focal.ts: alpha[t] * Math.pow(-Math.expm1(-nll), gamma) * nll) on
// adversarial losses: zero, subnormal, tiny (where 1 - p_t must not cancel), the ln 2 / 2 reduction
// boundaries, large, past the clamp, Inf and NaN. Each float32 result is the reference's value rounded to
// float32 (up to 1e-12 of it), each class's float64 sum holds its element's value within a few float64 ulps,
// ignored elements and the memory past n are left alone, and any split into calls gives the same bits.
import { strict as assert } from 'node:assert';
import { Arena, loadModule } from './wasmHelpers';

const IGNORE = 255;

interface Out {
  readonly loss: Float32Array;
  readonly sums: Float64Array;
  readonly scalars: Float64Array;
  /** The float32 words just past the range, which the pass must not touch. */
  readonly after: Uint32Array;
}

function reference(nll: number, a: number, gamma: number): number {
  return a * Math.pow(-Math.expm1(-nll), gamma) * nll;
}

describe('wasm focalInPlace: softmax focal from the kernel\'s cross-entropy', () => {
  const arena = new Arena(loadModule());
  const k = arena.kernel;

  /** One pass over (loss, t) in calls of `split` elements; C classes, alpha per class or null. */
  function run(loss: Float32Array, t: Int32Array, C: number, alpha: Float64Array | null, gamma: number, split = loss.length): Out {
    arena.reset();
    const n = loss.length;
    const L = arena.alloc((n + 4) * 4);
    const T = arena.alloc(n * 4 + 16);
    const A = alpha ? arena.alloc(C * 8) : 0;
    const S = arena.alloc(C * 8);
    const O = arena.alloc(64);
    const l = arena.f32(L, n + 4);
    l.set(loss);
    const guard = new Uint32Array(l.buffer, L + n * 4, 4);
    guard.fill(0xdeadbeef);
    arena.i32(T, n + 4).set(t);
    arena.i32(T + n * 4, 4).fill(3); // targets past n, which must not count
    if (alpha) arena.f64(A, C).set(alpha);
    arena.f64(S, C).fill(0);
    arena.f64(O, 8).fill(0);
    for (let i0 = 0; i0 < n; i0 += split) {
      const m = Math.min(split, n - i0);
      k.focalInPlace(L + i0 * 4, T + i0 * 4, m, IGNORE, A, gamma, S, O);
    }
    return { loss: arena.f32(L, n).slice(), sums: arena.f64(S, C).slice(), scalars: arena.f64(O, 5).slice(), after: Uint32Array.from(guard) };
  }

  /** |got - want| within half a float32 ulp of want, plus 1e-12 of it: want rounded to float32. */
  function roundedFrom(got: number, want: number, what: string): void {
    if (Number.isNaN(want)) return assert.ok(Number.isNaN(got), `${what}: ${got}, want NaN`);
    if (!Number.isFinite(want) || want === 0) return assert.ok(Object.is(got, Math.fround(want)), `${what}: ${got}, want ${want}`);
    const f = Math.fround(Math.abs(want));
    const ulp = f < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(f)) - 23);
    assert.ok(Math.abs(got - want) <= ulp / 2 + 1e-12 * Math.abs(want), `${what}: ${got}, want ${want} (${Math.fround(want)} in float32)`);
  }

  // Losses the kernel can write (always >= 0), and a few it cannot (negative), which must still follow the
  // reference's expression.
  const special = [
    0, -0, 1e-45, 1e-40, 1e-30, 1e-12, 3e-8, 1e-6, 1e-3, 0.1, 0.3465, 0.3466, 0.5, 0.693, 0.6932, 1, 1.0397, 1.0398, 2, 5,
    20, 36.7, 37.5, 40, 63.9, 64, 64.1, 100, 1e30, 3.4e38, Infinity, NaN, -1e-7, -0.01,
  ];
  const C = special.length;
  const loss = Float32Array.from(special);
  const oneEach = Int32Array.from(special, (_, i) => i);
  const alpha = Float64Array.from({ length: C }, (_, c) => 0.25 + c / C);

  for (const gamma of [0, 1, 2, 3, 0.5, 2.5, 7.5, 10, 20.5]) {
    for (const a of [null, alpha]) {
      it(`special losses, one per class, gamma ${gamma}${a ? ', alpha per class' : ''}`, () => {
        const out = run(loss, oneEach, C, a, gamma);
        let nan = 0;
        let inf = 0;
        let num = 0;
        for (let i = 0; i < C; i++) {
          const want = reference(loss[i], a ? a[i] : 1, gamma);
          roundedFrom(out.loss[i], want, `loss ${loss[i]}`);
          // The class's sum is this element's float64 value: 1 - p_t within a few float64 ulps, raised to
          // gamma (exp(gamma ln b), for gamma not an integer up to 8, within a few ulps of max(1, |gamma ln b|);
          // 0 under 1e-300).
          const s = out.sums[i];
          const lnb = Math.log(-Math.expm1(-loss[i]));
          const y = (Number.isInteger(gamma) && gamma <= 8) || !Number.isFinite(lnb) ? 1 : Math.max(1, Math.abs(gamma * lnb));
          if (Number.isFinite(want)) assert.ok(Math.abs(s - want) <= (4 + 4 * gamma) * y * Number.EPSILON * Math.abs(want) + 1e-300, `sum of ${loss[i]}: ${s} vs ${want}`);
          else assert.ok(Object.is(s, want) || (Number.isNaN(s) && Number.isNaN(want)), `sum of ${loss[i]}: ${s} vs ${want}`);
          if (Number.isNaN(want)) nan++;
          else if (!Number.isFinite(want)) inf++;
          else num += want;
        }
        assert.equal(out.scalars[3], nan, 'NaN count');
        assert.equal(out.scalars[4], inf, 'infinite count');
        if (gamma === 0 && !a) {
          // gamma 0 without alpha is cross-entropy, bit for bit.
          for (let i = 0; i < C; i++) assert.ok(Object.is(out.loss[i], loss[i]), `gamma 0 changed ${loss[i]} to ${out.loss[i]}`);
        }
        assert.ok(Number.isNaN(out.scalars[0]), 'the focal sum holds a NaN element');
        // Alpha sum: every element counts once.
        const aSum = a ? a.reduce((x, y) => x + y, 0) : C;
        assert.ok(Math.abs(out.scalars[2] - aSum) <= 1e-12 * aSum, `alpha sum ${out.scalars[2]} vs ${aSum}`);
        assert.ok(num > 0);
        assert.deepEqual([...out.after], [0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef], 'wrote past n');
      });
    }
  }

  it('random batch: ignored elements untouched, sums and counts as the reference, any split the same bits', () => {
    const n = 1003;
    const C2 = 7;
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const l = new Float32Array(n);
    const t = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      // Confident (log-uniform down to 1e-9) and uncertain losses; ignored elements carry a sentinel.
      const ignored = rand() < 0.1;
      t[i] = ignored ? IGNORE : Math.floor(rand() * C2);
      l[i] = ignored ? 7.25 : rand() < 0.5 ? 10 ** (-9 * rand()) : 6 * rand();
    }
    const a = Float64Array.from({ length: C2 }, (_, c) => 1 / (c + 1));
    for (const gamma of [2, 1.5]) {
      const whole = run(l, t, C2, a, gamma);
      const wantSums = new Float64Array(C2);
      let num = 0;
      let ceNum = 0;
      let ceDen = 0;
      for (let i = 0; i < n; i++) {
        if (t[i] === IGNORE) {
          assert.ok(Object.is(whole.loss[i], 7.25), `ignored element ${i} changed to ${whole.loss[i]}`);
          continue;
        }
        const f = reference(l[i], a[t[i]], gamma);
        roundedFrom(whole.loss[i], f, `element ${i} (loss ${l[i]})`);
        wantSums[t[i]] += f;
        num += f;
        ceNum += a[t[i]] * l[i];
        ceDen += a[t[i]];
      }
      for (let c = 0; c < C2; c++) assert.ok(Math.abs(whole.sums[c] - wantSums[c]) <= 1e-13 * wantSums[c], `class ${c}: ${whole.sums[c]} vs ${wantSums[c]}`);
      assert.ok(Math.abs(whole.scalars[0] - num) <= 1e-12 * num, `focal sum ${whole.scalars[0]} vs ${num}`);
      assert.ok(Math.abs(whole.scalars[1] - ceNum) <= 1e-12 * ceNum, `alpha-weighted nll ${whole.scalars[1]} vs ${ceNum}`);
      assert.ok(Math.abs(whole.scalars[2] - ceDen) <= 1e-12 * ceDen, `alpha sum ${whole.scalars[2]} vs ${ceDen}`);
      assert.equal(whole.scalars[3] + whole.scalars[4], 0);
      for (const split of [1, 2, 3, 5, 7, 64]) {
        const parts = run(l, t, C2, a, gamma, split);
        for (let i = 0; i < n; i++) assert.ok(Object.is(parts.loss[i], whole.loss[i]), `split ${split}, element ${i}: ${parts.loss[i]} vs ${whole.loss[i]}`);
        // Per-class sums go in element order, whatever the split.
        assert.deepEqual([...parts.sums], [...whole.sums], `split ${split}: per-class sums`);
        assert.deepEqual([...parts.after], [0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef], `split ${split}: wrote past n`);
      }
    }
  });

  it('n = 0 changes nothing', () => {
    const out = run(new Float32Array(0), new Int32Array(0), 3, null, 2);
    assert.deepEqual([...out.sums], [0, 0, 0]);
    assert.deepEqual([...out.scalars], [0, 0, 0, 0, 0]);
    assert.deepEqual([...out.after], [0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef]);
  });
});
