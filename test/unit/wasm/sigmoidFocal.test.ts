// The sigmoid focal kernel (src/wasm/focal.ts, dist/focal.wasm) against the float64 reference
// (src/kernel/losses/focal.ts sigmoidFocalMaps, torchvision's sigmoid_focal_loss term by term) on adversarial
// inputs: every element within the SIMD bound 2e-6 |l| + 2e-7, NaN and Inf where the reference has them,
// the maps and per-class sums exact, and results independent of how ranges are split.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sigmoidFocalMaps } from '../../../src/kernel/losses/focal';
import { instantiateSigmoidFocal, sigmoidFocalAccLength, SF_PER_CLASS, SF_SCALARS } from '../../../src/kernel/wasm/focalKernel';
import { resolveOptions } from '../../../src/kernel/options';
import { simdBound } from '../../parity/simdBound';
import { wasmPath } from './wasmHelpers';

function focalModule(): WebAssembly.Module {
  // Built beside ce.wasm (wasmPath builds both when dist/ has none).
  return new WebAssembly.Module(fs.readFileSync(path.join(path.dirname(wasmPath()), 'focal.wasm')));
}

interface Run {
  loss: Float32Array;
  pred: Uint8Array;
  tc: Uint8Array;
  acc: Float64Array;
}

/** Bytes around each byte map that the kernel must leave alone (a wide store past n would land there). */
const GUARD = 16;
const GUARD_BYTE = 0xab;

/** One kernel run over x, t (C classes, `inner` after the class axis), in calls of `split` elements. */
function run(module: WebAssembly.Module, x: Float32Array, t: Float32Array, C: number, inner: number, gamma: number, alpha: number, split = x.length): Run {
  const n = x.length;
  const accLen = sigmoidFocalAccLength(C);
  const bytes = 65536 + n * 14 + 4 * GUARD + accLen * 8 + 1024;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536), maximum: 65536, shared: true });
  const k = instantiateSigmoidFocal(module, memory);
  const X = 65536;
  const T = X + n * 4;
  const L = T + n * 4;
  const P = L + n * 4 + GUARD;
  const TC = P + n + 2 * GUARD;
  const A = Math.ceil((TC + n + GUARD) / 8) * 8;
  new Uint8Array(memory.buffer, P - GUARD, A - (P - GUARD)).fill(GUARD_BYTE);
  new Float32Array(memory.buffer, X, n).set(x);
  new Float32Array(memory.buffer, T, n).set(t);
  k.setSigmoidFocal(gamma, alpha);
  for (let i0 = 0; i0 < n; i0 += split) {
    const m = Math.min(split, n - i0);
    k.sigmoidFocalF32(X + i0 * 4, T + i0 * 4, L + i0 * 4, P + i0, TC + i0, m, i0, inner, C, A);
  }
  for (const [at, len] of [[P - GUARD, GUARD], [P + n, 2 * GUARD], [TC + n, GUARD]]) {
    const g = new Uint8Array(memory.buffer, at, len);
    assert.ok(g.every((v) => v === GUARD_BYTE), `split ${split}: a byte map was written outside its ${n} bytes (at ${at - P})`);
  }
  return {
    loss: new Float32Array(memory.buffer, L, n).slice(),
    pred: new Uint8Array(memory.buffer, P, n).slice(),
    tc: new Uint8Array(memory.buffer, TC, n).slice(),
    acc: new Float64Array(memory.buffer, A, accLen).slice(),
  };
}

function referenceMaps(x: Float32Array, t: Float32Array, shape: number[], gamma: number, alpha: number): ReturnType<typeof sigmoidFocalMaps> {
  const options = resolveOptions({ loss: 'sigmoid-focal', gamma, alpha });
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  return sigmoidFocalMaps({ loss: 'sigmoid-focal', targetKind: 'binary', x, t, w: null, pw: null, outer: shape[0], C: shape[1], inner, lossShape: shape, options });
}

function reference(x: Float32Array, t: Float32Array, shape: number[], gamma: number, alpha: number): Float64Array {
  return referenceMaps(x, t, shape, gamma, alpha).lossMap;
}

/** The kernel's byte maps hold the reference's predicted and targetClass, element for element. */
function checkClassMaps(r: Run, x: Float32Array, t: Float32Array, shape: number[], gamma: number, alpha: number, what: string): void {
  const ref = referenceMaps(x, t, shape, gamma, alpha);
  for (let i = 0; i < x.length; i++) {
    if (r.pred[i] !== ref.predicted[i] || r.tc[i] !== ref.targetClass[i]) {
      assert.fail(`${what} #${i} x=${x[i]} t=${t[i]}: pred ${r.pred[i]} tc ${r.tc[i]}, reference ${ref.predicted[i]} ${ref.targetClass[i]}`);
    }
  }
}

/** Worst share of the bound; fails with the first elements outside it. */
function check(got: Float32Array, want: Float64Array, x: Float32Array, t: Float32Array, what: string): number {
  let worst = 0;
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(w) && Number.isNaN(g))) bad.push(`#${i} x=${x[i]} t=${t[i]}: ${g} vs ${w}`);
      continue;
    }
    const share = Math.abs(g - w) / simdBound(w);
    if (!(share <= 1)) bad.push(`#${i} x=${x[i]} t=${t[i]}: ${g} vs ${w} (${share.toFixed(2)} of the bound)`);
    else worst = Math.max(worst, share);
  }
  assert.equal(bad.length, 0, `${what}: ${bad.length} elements outside 2e-6 |l| + 2e-7; first: ${bad.slice(0, 5).join('; ')}`);
  return worst;
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Logits over every regime: around 0, moderate, large (p rounds to 0 or 1), near overflow of exp. */
function adversarialLogits(n: number, rnd: () => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const k = i % 8;
    x[i] = k === 0 ? (r - 0.5) * 1e-6 : k === 1 ? (r - 0.5) * 2 : k === 2 ? (r - 0.5) * 16 : k === 3 ? (r - 0.5) * 60 : k === 4 ? (r - 0.5) * 200 : k === 5 ? (r < 0.5 ? -1 : 1) * (80 + r * 20) : k === 6 ? (r - 0.5) * 1e30 : (r - 0.5) * 40;
  }
  return x;
}

describe('sigmoid focal SIMD kernel (dist/focal.wasm) against the float64 reference', function () {
  this.timeout(120_000);
  const module = focalModule();
  const shapes: number[][] = [[3, 5, 7, 11], [2, 21, 97], [64, 3]];
  const targets: Array<[string, (i: number, r: number) => number]> = [
    ['0/1', (_i, r) => (r < 0.5 ? 0 : 1)],
    ['soft', (_i, r) => r],
    ['near 0/1', (i, r) => (i % 2 ? 1 - r * 1e-4 : r * 1e-4)],
  ];
  const worst: string[] = [];
  for (const gamma of [0, 0.5, 1, 2, 3, 5, 2.5]) {
    for (const alpha of [-1, 0.25]) {
      it(`gamma ${gamma}, alpha ${alpha}: every element within the bound, maps and sums exact`, () => {
        let w = 0;
        for (const shape of shapes) {
          const n = shape.reduce((a, b) => a * b, 1);
          const C = shape[1];
          const inner = shape.slice(2).reduce((a, b) => a * b, 1);
          for (const [name, tf] of targets) {
            const rnd = xorshift(1 + n + C + Math.round(gamma * 10));
            const x = adversarialLogits(n, rnd);
            const t = Float32Array.from({ length: n }, (_, i) => tf(i, rnd()));
            const want = reference(x, t, shape, gamma, alpha);
            const r = run(module, x, t, C, inner, gamma, alpha);
            w = Math.max(w, check(r.loss, want, x, t, `${JSON.stringify(shape)} ${name}`));
            checkClassMaps(r, x, t, shape, gamma, alpha, `${JSON.stringify(shape)} ${name}`);
            // Maps and per-class sums.
            let sum = 0;
            const per = new Float64Array(SF_PER_CLASS * C);
            for (let i = 0; i < n; i++) {
              const c = Math.floor(i / inner) % C;
              const pc = x[i] > 0 ? 1 : 0;
              const tc = t[i] >= 0.5 ? 1 : 0;
              assert.ok(r.pred[i] === pc && r.tc[i] === tc, `${name} #${i}: pred ${r.pred[i]} tc ${r.tc[i]}, want ${pc} ${tc}`);
              sum += r.loss[i];
              per[c * 6] += r.loss[i];
              per[c * 6 + 1]++;
              per[c * 6 + 2] += pc;
              per[c * 6 + 3] += tc;
              per[c * 6 + 4] += pc === tc ? 1 : 0;
              per[c * 6 + 5] += pc && tc ? 1 : 0;
            }
            assert.ok(Math.abs(r.acc[0] - sum) <= 1e-12 * Math.max(1, Math.abs(sum)), `${name}: loss sum ${r.acc[0]} vs ${sum}`);
            for (let j = 0; j < per.length; j++) {
              const g = r.acc[SF_SCALARS + j];
              assert.ok(j % 6 === 0 ? Math.abs(g - per[j]) <= 1e-12 * Math.max(1, Math.abs(per[j])) : g === per[j], `${name}: accumulator ${j} (class ${Math.floor(j / 6)}) ${g} vs ${per[j]}`);
            }
            // Any split into calls gives the same bits.
            for (const split of [1, 3, 5, 16]) {
              const s = run(module, x, t, C, inner, gamma, alpha, split);
              for (let i = 0; i < n; i++) {
                assert.ok(Object.is(s.loss[i], r.loss[i]) && s.pred[i] === r.pred[i] && s.tc[i] === r.tc[i], `${name} split ${split} #${i}: ${s.loss[i]} ${s.pred[i]} ${s.tc[i]} vs ${r.loss[i]} ${r.pred[i]} ${r.tc[i]}`);
              }
            }
          }
        }
        worst.push(`gamma ${gamma} alpha ${alpha}: ${w.toFixed(3)}`);
      });
    }
  }

  it('NaN and infinite logits and targets land where the reference puts them', () => {
    const xs = [NaN, Infinity, -Infinity, 0, 1, -1, 50, -50, 3.4e38, -3.4e38];
    const ts = [0, 1, 0.5, NaN, Infinity, -Infinity, 0.25];
    const x = new Float32Array(xs.length * ts.length);
    const t = new Float32Array(x.length);
    let i = 0;
    for (const a of xs) for (const b of ts) { x[i] = a; t[i] = b; i++; }
    for (const gamma of [0, 2, 0.5]) {
      for (const alpha of [-1, 0.25]) {
        const want = reference(x, t, [1, x.length], gamma, alpha);
        const r = run(module, x, t, x.length, 1, gamma, alpha);
        check(r.loss, want, x, t, `gamma ${gamma} alpha ${alpha}`);
        checkClassMaps(r, x, t, [1, x.length], gamma, alpha, `gamma ${gamma} alpha ${alpha}`);
        let nan = 0;
        let inf = 0;
        for (const v of want) {
          if (Number.isNaN(v)) nan++;
          else if (!Number.isFinite(v)) inf++;
        }
        assert.ok(r.acc[1] === nan && r.acc[2] === inf, `NaN/Inf counts ${r.acc[1]}/${r.acc[2]}, want ${nan}/${inf}`);
      }
    }
  });

  after(() => {
    console.log(`      worst share of the bound: ${worst.join('; ')}`);
  });
});
