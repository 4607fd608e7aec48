// Option normalisation and validation. PyTorch validates some of these lazily (deep inside the loss);
// we check them up front so a bad setting is reported before any work is done.
import { LensError } from '../errors';
import { DEFAULT_OPTIONS, type LossOptions } from './types';

const REDUCTIONS = ['none', 'mean', 'sum'] as const;
const INPUT_KINDS = ['logits', 'probs', 'log-probs'] as const;
const LOSSES = ['ce', 'bce'] as const;

export function resolveOptions(partial: Partial<LossOptions> | undefined): LossOptions {
  const o: LossOptions = { ...DEFAULT_OPTIONS, ...stripUndefined(partial ?? {}) };
  if (!(LOSSES as readonly string[]).includes(o.loss)) {
    throw new LensError('option', `unknown loss '${String(o.loss)}': use ce (cross_entropy) or bce (binary_cross_entropy_with_logits)`);
  }
  if (!(REDUCTIONS as readonly string[]).includes(o.reduction)) {
    throw new LensError('option', `unknown reduction '${String(o.reduction)}': use none, mean or sum`);
  }
  if (!(INPUT_KINDS as readonly string[]).includes(o.inputKind)) {
    throw new LensError('option', `unknown input kind '${String(o.inputKind)}': use logits, probs or log-probs`);
  }
  if (typeof o.ignoreIndex !== 'number' || !Number.isSafeInteger(o.ignoreIndex)) {
    throw new LensError('option', `ignore_index must be an integer, got ${String(o.ignoreIndex)}`);
  }
  if (typeof o.classDim !== 'number' || !Number.isInteger(o.classDim)) {
    throw new LensError('option', `classDim must be an integer axis, got ${String(o.classDim)}`);
  }
  const ls = o.labelSmoothing;
  if (typeof ls !== 'number' || !(ls >= 0 && ls <= 1)) {
    throw new LensError(
      'option',
      `label_smoothing must be between 0.0 and 1.0, got ${String(ls)} — typical values are 0.05 to 0.2`,
    );
  }
  if (o.loss === 'bce') {
    if (o.inputKind !== 'logits') {
      throw new LensError('option', `bce takes logits (binary_cross_entropy_with_logits); input kind '${o.inputKind}' is not supported — use logits or loss ce`);
    }
    if (ls !== 0) {
      throw new LensError('option', `label_smoothing applies to cross-entropy only; bce has none — set it to 0`);
    }
  }
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Resolves a possibly negative axis against ndim; null when out of range. */
export function normalizeAxis(axis: number, ndim: number): number | null {
  const a = axis < 0 ? axis + ndim : axis;
  return a >= 0 && a < ndim ? a : null;
}
