// Assembling results: the maps kept for the view (copied out of the working memory as samples finish),
// confusion counts from the workers' regions, final statistics, Fortran-order maps into C order, and the
// EngineResult of the fast path.
import { ceValueOf, reducedValue } from '../../kernel/index';
import { emptyPartial, finalizeStats, type StatsPartial } from '../../kernel/stats';
import type { LossOptions } from '../../kernel/types';
import type { EngineResult } from '../engine/engineTypes';
import type { FastPlan } from './fastPlan';
import type { Region } from './memoryLayout';

/** The maps of a fast request that is not streamed, in the order they are computed. */
export interface KeptMaps {
  readonly loss: Float32Array;
  readonly predicted: Int32Array;
  readonly target: Int32Array;
  readonly ignored: Uint8Array;
}

export function keptMaps(elements: number): KeptMaps {
  return { loss: new Float32Array(elements), predicted: new Int32Array(elements), target: new Int32Array(elements), ignored: new Uint8Array(elements) };
}

/**
 * Copies samples [n0, n1] of a block that starts at sample b0 out of its region of the working memory
 * (they are contiguous there).
 */
export function copyOut(keep: KeptMaps, buf: SharedArrayBuffer, r: Region, S: number, ignoreIndex: number, b0: number, n0: number, n1: number): void {
  const at = (b0 + n0) * S;
  const len = (n1 - n0 + 1) * S;
  keep.loss.set(new Float32Array(buf, r.loss + n0 * S * 4, len), at);
  keep.predicted.set(new Int32Array(buf, r.pred + n0 * S * 4, len), at);
  const tv = new Int32Array(buf, r.t + n0 * S * 4, len);
  keep.target.set(tv, at);
  const ig = ignoreIndex;
  for (let i = 0; i < len; i++) keep.ignored[at + i] = tv[i] === ig ? 1 : 0;
}

/**
 * Adds compute jobs' accumulators (slots `slots` apart from byte offset `at`; the kernel's layout: 8
 * scalars, then loss sum, count, predicted and ignored per class; then true positives when `withTp`, see
 * memoryLayout.jobAccLength) into merged's per-class arrays, in job order like the partials' scalars, so
 * the float sums are the same for any number of workers.
 */
export function addJobAccumulators(merged: StatsPartial, buf: SharedArrayBuffer, at: number, slotBytes: number, slots: number, withTp: boolean): void {
  const C = merged.C;
  const { lossSum, count, predicted, ignoredPerClass, tp } = merged;
  for (let j = 0; j < slots; j++) {
    const acc = new Float64Array(buf, at + j * slotBytes, 8 + (withTp ? 5 : 4) * C);
    for (let c = 0, o = 8; c < C; c++, o++) lossSum[c] += acc[o];
    for (let c = 0, o = 8 + C; c < C; c++, o++) count[c] += acc[o];
    for (let c = 0, o = 8 + 2 * C; c < C; c++, o++) predicted[c] += acc[o];
    for (let c = 0, o = 8 + 3 * C; c < C; c++, o++) ignoredPerClass[c] += acc[o];
    if (withTp) for (let c = 0, o = 8 + 4 * C; c < C; c++, o++) tp[c] += acc[o];
  }
}

export function toCOrder<T extends Float32Array | Int32Array | Uint8Array>(a: T, toC: (f: number) => number): T {
  const out = new (a.constructor as new (n: number) => T)(a.length);
  for (let f = 0; f < a.length; f++) out[toC(f)] = a[f];
  return out;
}

/** What a finished fast request hands over to be assembled. */
export interface FastOutcome {
  readonly plan: FastPlan;
  readonly options: LossOptions;
  /** The jobs' partials merged in job order (confusion counts still in the workers' regions). */
  readonly merged: StatsPartial;
  /** Each of the W workers' confusion counts, `confLen` apart. */
  readonly confusion: Float64Array;
  readonly confLen: number;
  readonly W: number;
  /** Workers that took part (for the result). */
  readonly workersUsed: number;
  readonly keep: KeptMaps | null;
  readonly streamed: boolean;
  readonly reusedInput: boolean;
}

export function assembleFast(o: FastOutcome): EngineResult {
  const { plan, options, merged, keep } = o;
  const { N, C, S } = plan;
  // Confusion counts from every worker's region: integers, so the sum is exact in any order. Without
  // regions (large C) the jobs counted true positives and pairs into their partials, merged already.
  const { confusion: conf, confLen, W } = o;
  if (confLen > 0) {
    for (let w = 0; w < W; w++) for (let i = 0; i < C * C; i++) merged.confusion[i] += conf[w * confLen + i];
    for (let c = 0; c < C; c++) merged.tp[c] = merged.confusion[c * C + c];
  }
  for (let c = 0; c < C; c++) {
    merged.positives[c] = merged.count[c];
    merged.correct[c] = merged.tp[c];
  }
  if (plan.fortran) {
    const toC = plan.fortran.toC;
    merged.worst = merged.worst.map((w) => ({ ...w, flat: toC(w.flat) }));
  }
  const stats = finalizeStats(merged, plan.lossShape, shownWeight(plan), N * S);
  const value = reducedValue(options, C, 'index', merged);
  const ceValue = ceValueOf(options, merged);
  const maps: EngineResult['maps'] = keep
    ? plan.fortran
      ? { loss: toCOrder(keep.loss, plan.fortran.toC), predicted: toCOrder(keep.predicted, plan.fortran.toC), targetClass: toCOrder(keep.target, plan.fortran.toC), ignored: toCOrder(keep.ignored, plan.fortran.toC) }
      : { loss: keep.loss, predicted: keep.predicted, targetClass: keep.target, ignored: keep.ignored }
    : null;
  return {
    options, value, lossShape: plan.lossShape, numerator: merged.numerator, denominator: merged.denominator,
    targetKind: 'index', stats, maps,
    input: { shape: plan.inputShape, dtype: plan.inputDtype }, target: { shape: plan.lossShape, dtype: plan.targetDtype },
    engine: 'wasm-simd', workers: o.workersUsed, streamed: o.streamed, reusedInput: o.reusedInput,
    ...(ceValue === undefined ? {} : { ceValue }),
  };
}

/** The per-class weights the statistics report: cross-entropy's weight, or focal's alpha (not the kernel's ones). */
function shownWeight(plan: FastPlan): ArrayLike<number> | null {
  if (plan.focal) return plan.focal.alpha;
  return plan.weight ? plan.weight.data : null;
}

/**
 * The result for a loss map without elements: PyTorch's answer — NaN for mean, 0 for sum, an empty map —
 * with statistics that counted nothing.
 */
export function emptyFastResult(plan: FastPlan, options: LossOptions): EngineResult {
  const merged = emptyPartial(plan.C, true, plan.focal !== null, 0);
  const ceValue = ceValueOf(options, merged);
  return {
    ...(ceValue === undefined ? {} : { ceValue }),
    options, value: reducedValue(options, plan.C, 'index', merged), lossShape: plan.lossShape, numerator: 0, denominator: 0,
    targetKind: 'index', stats: finalizeStats(merged, plan.lossShape, shownWeight(plan), 0),
    maps: { loss: new Float32Array(0), predicted: new Int32Array(0), targetClass: new Int32Array(0), ignored: new Uint8Array(0) },
    input: { shape: plan.inputShape, dtype: plan.inputDtype }, target: { shape: plan.lossShape, dtype: plan.targetDtype },
    engine: 'wasm-simd', workers: 0, streamed: false, reusedInput: false,
  };
}
