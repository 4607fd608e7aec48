// How the panel host gets p(target) for the sample it sends to the view (no `vscode` here, so tests run it as
// is). The worker's probability job needs the sample's C x S input values as float64 on the extension host,
// read on the host's thread: a byte range of a .npy whose class axis is 1, but the whole input for the strip
// of an (N, C) input or a class axis elsewhere ([B, T, V]): [50000, 1000] float32 stalled the extension host
// for 13 s and grew it by 1.3 GB on every open. Above MAX_PROB_VALUES values read, the host
// instead takes p(target) from the loss map where the loss alone determines it (cross-entropy of logits,
// class-index targets, no class weights, no label smoothing: loss = -log p(target)), else sends none (the
// view then offers no p(target) mode and its hover omits the line).
import type { SampleMaps } from '../../protocol';
import type { SampleGeometry } from '../../kernel/sample/sampleView';
import { normalizeAxis } from '../../kernel/options';
import type { LossOptions } from '../../kernel/types';

/** Most input values read (and held as float64: 64 MB) to turn one sample into class probabilities on request. */
export const MAX_PROB_VALUES = 1 << 23;

/** worker: the probability job (as before); fromLoss: exp(-loss); none: no p(target). */
export type PTargetPlan = 'worker' | 'fromLoss' | 'none';

export interface ProbsCost {
  readonly options: Pick<LossOptions, 'loss' | 'classDim'>;
  readonly geometry: Pick<SampleGeometry, 'C' | 'S' | 'strip'>;
  readonly inputShape: readonly number[];
}

export interface PTargetInputs extends ProbsCost {
  readonly options: Pick<LossOptions, 'loss' | 'labelSmoothing' | 'inputKind' | 'classDim'>;
  readonly targetKind: string;
  readonly hasWeight: boolean;
}

/**
 * Input values the host reads to get one sample's class probabilities (LossSession.sampleValues): the
 * sample's C x S where it is a range of the file (class axis 1, or bce), else the whole input.
 */
export function probsValuesRead(i: ProbsCost): number {
  const nd = i.inputShape.length;
  const range = !i.geometry.strip && nd >= 2 && (i.options.loss === 'bce' || normalizeAxis(i.options.classDim, nd) === 1);
  return range ? i.geometry.C * i.geometry.S : i.inputShape.reduce((a, b) => a * b, 1);
}

/** One sample's class probabilities are cheap enough to compute on request. */
export function probsAffordable(i: ProbsCost): boolean {
  return probsValuesRead(i) <= MAX_PROB_VALUES;
}

/** Why one sample's p(class c) maps are not computed (over MAX_PROB_VALUES input values read), or null. */
export function classMapsRefusal(i: ProbsCost): string | null {
  if (probsAffordable(i)) return null;
  return `p(class c) maps are not shown here: they would read ${probsValuesRead(i).toLocaleString('en-US')} input values (over ${MAX_PROB_VALUES.toLocaleString('en-US')})`;
}

export function pTargetPlan(i: PTargetInputs): PTargetPlan {
  // Probability targets carry no p(target) (sampleMapsWithProbs returns the maps as they are).
  if (i.targetKind === 'probs' || probsAffordable(i)) return 'worker';
  const o = i.options;
  const lossDetermines = o.loss === 'ce' && i.targetKind === 'index' && o.labelSmoothing === 0 && o.inputKind === 'logits' && !i.hasWeight;
  return lossDetermines ? 'fromLoss' : 'none';
}

/**
 * p(target) = exp(-loss) per element; NaN where ignored or the target is not a class in [0, C), as the
 * probability job's targetProbabilities() gives.
 */
export function pTargetFromLoss(m: Pick<SampleMaps, 'loss' | 'target' | 'ignored'>, C: number): Float32Array {
  const n = m.loss.length;
  const out = new Float32Array(n);
  for (let s = 0; s < n; s++) {
    const t = m.target[s];
    out[s] = m.ignored[s] || t < 0 || t >= C ? NaN : Math.exp(-m.loss[s]);
  }
  return out;
}
