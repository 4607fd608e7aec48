// Naming an out-of-range class index found by a fast job: the job reports where it saw one in the block's
// memory order; the error names the first one in C order, as the reference path does.
import type { LensError } from '../../errors';
import { targetRangeError } from '../../kernel/validate';
import type { FastPlan } from '../fast/fastPlan';
import { loadTarget } from './staging';

/** A fast job's report of a class index outside [0, C) (flat in the block's memory order), before it is named. */
export class BadTargetFound extends Error {
  constructor(
    readonly flat: number,
    readonly value: number,
  ) {
    super(`target value ${value} out of range`);
  }
}

/**
 * The error naming the first out-of-range class index of block [b0, b0 + nb): in C order, earlier blocks were
 * clean (in a Fortran-order file, the first in the file's order among blocks, the first in C order within
 * one). The block's targets are read again from their source: when a job finds a bad one, later pieces of
 * the block may not have arrived yet, and the working memory there still holds another request's targets.
 */
export async function firstBadTarget(plan: FastPlan, ignoreIndex: number, b0: number, nb: number, found: BadTargetFound): Promise<LensError> {
  const { C, S } = plan;
  const t = new Int32Array(nb * S);
  await loadTarget(plan.target, b0 * S, nb * S, t, () => undefined);
  let first = -1;
  let value = 0;
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    if (v === ignoreIndex || (v >= 0 && v < C)) continue;
    const flat = plan.fortran ? plan.fortran.toC(b0 * S + i) : b0 * S + i;
    if (first < 0 || flat < first) {
      first = flat;
      value = v;
    }
    if (!plan.fortran) break;
  }
  // The file no longer holds it (rewritten meanwhile): name what the job saw.
  if (first < 0) return targetRangeError(found.value, plan.fortran ? plan.fortran.toC(found.flat) : found.flat, plan.lossShape, C, ignoreIndex);
  return targetRangeError(value, first, plan.lossShape, C, ignoreIndex);
}
