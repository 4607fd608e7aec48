// Option normalisation and validation. PyTorch validates some of these lazily (deep inside the loss);
// we check them up front so a bad setting is reported before any work is done.
import { LensError } from '../errors';
import { DEFAULT_OPTIONS, type LossOptions } from './types';

const REDUCTIONS = ['none', 'mean', 'sum'] as const;
const INPUT_KINDS = ['logits', 'probs', 'log-probs'] as const;
const LOSSES = ['ce', 'bce', 'focal', 'sigmoid-focal'] as const;

export function resolveOptions(partial: Partial<LossOptions> | undefined): LossOptions {
  const o: LossOptions = { ...DEFAULT_OPTIONS, ...stripUndefined(partial ?? {}) };
  if (!(LOSSES as readonly string[]).includes(o.loss)) {
    throw new LensError('option', `unknown loss '${String(o.loss)}': use ce (cross_entropy), bce (binary_cross_entropy_with_logits), focal (multi-class focal loss) or sigmoid-focal (torchvision sigmoid_focal_loss)`);
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
  // gamma and alpha are checked whatever the loss: a setting that carries them to a later focal run should
  // not hold a value that fails only then.
  if (typeof o.gamma !== 'number' || !(o.gamma >= 0 && o.gamma < Infinity)) {
    throw new LensError('option', `gamma must be a finite number >= 0, got ${String(o.gamma)} — typical values are 0.5 to 5 (2 is the usual choice; 0 gives back cross-entropy)`);
  }
  if (typeof o.alpha !== 'number' || !Number.isFinite(o.alpha)) {
    throw new LensError('option', `alpha must be a finite number, got ${String(o.alpha)} — typically 0.25; a negative alpha turns alpha weighting off`);
  }
  if (o.loss === 'bce' || o.loss === 'sigmoid-focal') {
    if (o.inputKind !== 'logits') {
      const what = o.loss === 'bce' ? 'bce takes logits (binary_cross_entropy_with_logits)' : 'sigmoid-focal takes logits (torchvision sigmoid_focal_loss applies the sigmoid itself)';
      throw new LensError('option', `${what}; input kind '${o.inputKind}' is not supported — use logits or loss ${o.loss === 'bce' ? 'ce' : 'focal'}`);
    }
  }
  if (o.loss !== 'ce' && ls !== 0) {
    throw new LensError('option', `label_smoothing applies to cross-entropy only; ${o.loss} has none — set it to 0`);
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
