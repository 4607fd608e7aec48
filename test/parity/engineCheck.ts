// One Engine result against PyTorch's float64 answer, with the bound of the path the engine reports:
// 'wasm-simd' (the float32 kernels users get) within simdBound.ts's 2e-6 |l| + 2e-7 per element and 2e-6
// relative for reduced values (plus 1e-14 per element for PyTorch's own float64 rounding, which only a
// reduced value below ~1e-8 can notice); 'typescript' (the float64 reference kernel in workers) within the reference
// comparator's 1e-9. Shared by the committed-fixture runs (engineParity.test.ts) and the live runs
// (parity.test.ts, engineLive.test.ts), so all of them hold the engine to the same figures.
import { numel, type Tensor } from '../../src/tensor/tensor';
import type { EngineResult } from '../../src/worker/engine/engine';
import { close, fromJson, type ComputedExpect } from './fixtures';
import { boundShare, REFERENCE_ABS, SIMD_ABS, SIMD_REL, simdElementOk, simdValueOk } from './simdBound';

type Path = EngineResult['engine'];

/** The largest deviations the SIMD path showed, each as a share of its bound (1 = at the bound). */
export interface Worst {
  element: number;
  elementAt: string;
  /** A reduced value's error as a share of its bound. */
  value: number;
  valueAt: string;
  classSum: number;
  classSumAt: string;
}

export function newWorst(): Worst {
  return { element: 0, elementAt: '', value: 0, valueAt: '', classSum: 0, classSumAt: '' };
}

export function describeWorst(w: Worst): string {
  return `worst element ${w.element.toExponential(2)} of the bound 2e-6 |l| + 2e-7 (${w.elementAt || 'none'}); ` +
    `worst reduced value ${w.value.toExponential(2)} of the bound 2e-6 |v| (+1e-14 per element) (${w.valueAt || 'none'}); ` +
    `worst per-class loss sum ${w.classSum.toExponential(2)} of its bound (${w.classSumAt || 'none'})`;
}

export function fmt(v: number | null | undefined): string {
  return v === null || v === undefined ? String(v) : Number.isFinite(v) ? v.toPrecision(17) : String(v);
}

function elementOk(engine: Path, got: number, want: number): boolean {
  if (engine === 'typescript' || !Number.isFinite(want)) return close(got, want);
  return simdElementOk(got, want);
}

function valueOk(engine: Path, got: number, want: number, referenceSlack: number): boolean {
  if (engine === 'typescript' || !Number.isFinite(want)) return close(got, want);
  return simdValueOk(got, want, referenceSlack);
}

/**
 * Checks one computed result against PyTorch; problems as lines, empty when it matches. `want` is PyTorch's
 * reduction='none' output; `expect` the reduced value and, for class-index targets, per-class counts, loss
 * sums and argmax counts (and optionally the confusion matrix).
 */
export function checkComputed(r: EngineResult, expect: ComputedExpect, want: Tensor, reduction: string, where: string, worst: Worst): string[] {
  const problems: string[] = [];
  const e = r.engine;
  const simd = e === 'wasm-simd';
  if (JSON.stringify(r.lossShape) !== JSON.stringify(want.shape)) problems.push(`lossShape ${JSON.stringify(r.lossShape)}, PyTorch ${JSON.stringify(want.shape)}`);
  if (expect.value === null) {
    if (r.value !== null) problems.push(`value ${fmt(r.value)} for reduction 'none' (want null)`);
  } else {
    const v = fromJson(expect.value);
    const slack = REFERENCE_ABS * (reduction === 'sum' ? numel(want.shape) : 1);
    const share = r.value === null ? NaN : Math.abs(r.value - v) / (SIMD_REL * Math.abs(v) + slack);
    if (simd && Number.isFinite(v) && share > worst.value) {
      worst.value = share;
      worst.valueAt = `${where}: ${fmt(r.value)} vs ${fmt(v)}, relative ${(Math.abs(r.value! - v) / Math.abs(v)).toExponential(2)}`;
    }
    if (r.value === null || !valueOk(e, r.value, v, slack)) {
      const rel = r.value === null ? NaN : Math.abs(r.value - v) / Math.abs(v);
      problems.push(`value (${reduction}): ${fmt(r.value)}, PyTorch ${fmt(v)} (relative ${rel.toExponential(2)}${simd ? `, ${share.toFixed(2)} x the bound` : ''})`);
    }
  }
  if (!r.maps) {
    problems.push('no loss map (the result streamed)');
    return problems;
  }
  const n = numel(want.shape);
  if (r.maps.loss.length !== n) {
    problems.push(`loss map has ${r.maps.loss.length} elements, PyTorch ${n}`);
    return problems;
  }
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const got = r.maps.loss[i];
    const w = want.data[i];
    if (simd && Number.isFinite(w) && boundShare(got, w) > worst.element) {
      worst.element = boundShare(got, w);
      worst.elementAt = `${where}, element ${i}: ${fmt(got)} vs ${fmt(w)}`;
    }
    if (elementOk(e, got, w)) continue;
    const share = Number.isFinite(w) ? ` (${boundShare(got, w).toFixed(2)} x the bound)` : '';
    if (++bad <= 5) problems.push(`element ${i}: ${fmt(got)}, PyTorch ${fmt(w)}${simd ? share : ''}`);
  }
  if (bad > 5) problems.push(`${bad} of ${n} elements differ in all`);
  // Counts (exact): per-class targets and argmax predictions, and the confusion matrix, from torch.argmax.
  // Per-class loss sums: on the SIMD path the element bound summed over the class's elements (losses are
  // >= 0 with weights >= 0, so the sum of |l| is |sum l|).
  if (expect.perClass) {
    const pc = expect.perClass;
    for (let k = 0; k < pc.count.length; k++) {
      const s = r.stats.perClass.find((x) => x.index === k);
      if (!s || s.count !== pc.count[k] || s.predicted !== pc.predicted[k]) {
        problems.push(`class ${k}: count ${s?.count} predicted ${s?.predicted}, PyTorch ${pc.count[k]} and ${pc.predicted[k]}`);
        continue;
      }
      const ls = fromJson(pc.lossSum[k]);
      if (simd && Number.isFinite(ls)) {
        const bound = SIMD_REL * Math.abs(ls) + SIMD_ABS * pc.count[k];
        const share = bound === 0 ? (s.lossSum === ls ? 0 : Infinity) : Math.abs(s.lossSum - ls) / bound;
        if (share > worst.classSum) {
          worst.classSum = share;
          worst.classSumAt = `${where}, class ${k} (${pc.count[k]} elements): ${fmt(s.lossSum)} vs ${fmt(ls)}`;
        }
        if (!(share <= 1)) problems.push(`class ${k}: loss sum ${fmt(s.lossSum)}, PyTorch ${fmt(ls)} (${share.toFixed(2)} x the bound)`);
      } else if (!close(s.lossSum, ls)) {
        problems.push(`class ${k}: loss sum ${fmt(s.lossSum)}, PyTorch ${fmt(ls)}`);
      }
    }
  }
  if (expect.confusion && JSON.stringify([...r.stats.confusion]) !== JSON.stringify(expect.confusion)) {
    problems.push(`confusion ${JSON.stringify([...r.stats.confusion])}, expected ${JSON.stringify(expect.confusion)}`);
  }
  return problems;
}
