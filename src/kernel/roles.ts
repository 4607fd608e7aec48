// Which tensor is the input, which the target, which the weight — decided from headers only (shape and
// dtype), with the kernel's own shape rules, so pickers and explorer selections offer only pairs that
// compute.
import { isLensError } from '../errors';
import { ROLE_NAMES } from '../tensor/binary/npz';
import { pairMaskShapes } from '../tensor/image/pngMask';
import { isFloatDType, type DType } from '../tensor/tensor';
import { resolveOptions } from './options';
import type { LossOptions } from './types';
import { buildProblem, shapeOnly } from './validate';

export interface TensorMeta {
  /** Stable identity (a file spec such as `a.npz:labels`). */
  readonly id: string;
  /** What to show (the file or member name). */
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** A PNG label mask: one sample [H, W], the target only (paired as src/tensor/image/pngMask.ts pairMaskShapes says). */
  readonly mask?: boolean;
}

/** Whether input/target (and weight) form a valid problem; the kernel's error message otherwise. */
export function checkPair(input: TensorMeta, target: TensorMeta, options?: Partial<LossOptions>, weight?: TensorMeta): string | null {
  try {
    const o = resolveOptions(options);
    // A weight is checked by shape only; its values do not matter here.
    const w = weight ? { dtype: weight.dtype, shape: weight.shape, data: new Float32Array(weight.shape.reduce((a, b) => a * b, 1)) } : null;
    if (input.mask || weight?.mask) return `${input.mask ? input.name : weight!.name}: a PNG is a label mask; it can only be the target`;
    if (target.mask) {
      const p = pairMaskShapes(input.shape, target.shape);
      buildProblem({ input: shapeOnly({ dtype: input.dtype, shape: p.input }), target: shapeOnly({ dtype: target.dtype, shape: p.target }), weight: w }, o);
      return null;
    }
    buildProblem({ input: shapeOnly(input), target: shapeOnly(target), weight: w }, o);
    return null;
  } catch (e) {
    if (isLensError(e)) return e.message;
    throw e;
  }
}

/**
 * How a pair computes: with the options as given, or (when only that fits) with the class axis last, found
 * from the shapes: a [B, T, V] input with a [B, T] target, [N, H, W, C] with [N, H, W]. Where both fit the
 * options decide, so a setting is never overridden.
 */
export type PairFit =
  | { readonly kind: 'fits'; readonly classLastFromShapes: boolean }
  | { readonly kind: 'misfit'; readonly reason: string };

export function fitPair(input: TensorMeta, target: TensorMeta, options?: Partial<LossOptions>, weight?: TensorMeta): PairFit {
  const err = checkPair(input, target, options, weight);
  if (err === null) return { kind: 'fits', classLastFromShapes: false };
  if (!input.mask && !target.mask && input.shape.length >= 3 && resolveOptions(options).classDim !== -1 && checkPair(input, target, { ...options, classDim: -1 }, weight) === null) {
    return { kind: 'fits', classLastFromShapes: true };
  }
  return { kind: 'misfit', reason: err };
}

/** A panel request's options for a fitted pair: the caller's, with the class axis last when the shapes said so. */
export function fittedOptions(
  fit: PairFit | { readonly classLastFromShapes: boolean },
  given: Partial<LossOptions> = {},
): { readonly options: Partial<LossOptions>; readonly classLastFromShapes?: true } {
  return 'classLastFromShapes' in fit && fit.classLastFromShapes ? { options: { ...given, classDim: -1 }, classLastFromShapes: true } : { options: given };
}

/**
 * Options for a pair that names its own (a notebook payload, a hover's literals): a class axis it gives is
 * kept; without one, the shapes decide as fitPair says.
 */
export function optionsFromShapes(
  given: Partial<LossOptions>,
  input: Pick<TensorMeta, 'shape' | 'dtype'>,
  target: Pick<TensorMeta, 'shape' | 'dtype'>,
): { readonly options: Partial<LossOptions>; readonly classLastFromShapes?: true } {
  if (given.classDim !== undefined) return { options: given };
  return fittedOptions(fitPair({ id: 'input', name: 'input', ...input }, { id: 'target', name: 'target', ...target }, given), given);
}

function baseName(name: string): string {
  const file = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'), name.lastIndexOf(':')) + 1);
  const dot = file.lastIndexOf('.');
  return (dot > 0 ? file.slice(0, dot) : file).toLowerCase();
}

/** How much a name suggests a role: 2 an exact role name, 1 a role name inside it, 0 none. */
export function roleScore(name: string, role: keyof typeof ROLE_NAMES): number {
  const b = baseName(name);
  const words = b.split(/[^a-z0-9]+/).filter(Boolean);
  const names = ROLE_NAMES[role];
  if (names.includes(b)) return 2;
  if (words.some((w) => names.includes(w))) return 1;
  return 0;
}

/** Target candidates that compute with `input`, likely names first (then class indices before probabilities). */
export function rankTargets<T extends TensorMeta>(input: TensorMeta, candidates: readonly T[], options?: Partial<LossOptions>): T[] {
  return candidates
    .filter((c) => c.id !== input.id && fitPair(input, c, options).kind === 'fits')
    .map((c, i) => ({ c, i, score: roleScore(c.name, 'target') * 2 + (isFloatDType(c.dtype) ? 0 : 1) }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map((x) => x.c);
}

/** Input candidates: tensors with a class axis (at least 1-D floating, or anything with 2+ axes). */
export function isInputCandidate(m: TensorMeta): boolean {
  if (m.mask) return false;
  return (isFloatDType(m.dtype) && m.shape.length >= 1) || m.shape.length >= 2;
}

export interface RoleChoice {
  readonly input: TensorMeta;
  readonly target: TensorMeta;
  readonly weight: TensorMeta | null;
  /** The pair fits only with the class axis last (see fitPair). */
  readonly classLastFromShapes: boolean;
}

export type RoleAssignment =
  | ({ readonly kind: 'ok' } & RoleChoice)
  | { readonly kind: 'ambiguous'; readonly options: readonly RoleChoice[] }
  | { readonly kind: 'none'; readonly reason: string };

/**
 * Assigns roles to 2 or 3 tensors (an explorer selection): every ordering that the kernel accepts is a
 * candidate; names break ties (logits/pred vs target/labels/mask); more than one survivor is ambiguous.
 */
export function assignRoles(metas: readonly TensorMeta[], options?: Partial<LossOptions>): RoleAssignment {
  if (metas.length < 2 || metas.length > 3) return { kind: 'none', reason: `select 2 or 3 tensor files (input, target and optionally weight), not ${metas.length}` };
  const found: Array<RoleChoice & { score: number }> = [];
  let firstError = '';
  for (const input of metas) {
    for (const target of metas) {
      if (target === input) continue;
      const rest = metas.filter((m) => m !== input && m !== target);
      const weight = rest[0] ?? null;
      const fit = fitPair(input, target, options, weight ?? undefined);
      if (fit.kind === 'fits') {
        // A pair that needs no change of the class axis is the likelier reading.
        const score = roleScore(input.name, 'input') + roleScore(target.name, 'target') + (weight ? roleScore(weight.name, 'weight') : 0) - (fit.classLastFromShapes ? 0.5 : 0);
        found.push({ input, target, weight, classLastFromShapes: fit.classLastFromShapes, score });
      } else if (!firstError) firstError = fit.reason;
    }
  }
  if (found.length === 0) return { kind: 'none', reason: firstError || 'no input/target pair among the selected tensors' };
  found.sort((a, b) => b.score - a.score);
  const best = found.filter((f) => f.score === found[0].score);
  const choice = ({ input, target, weight, classLastFromShapes }: RoleChoice): RoleChoice => ({ input, target, weight, classLastFromShapes });
  if (best.length === 1) return { kind: 'ok', ...choice(best[0]) };
  return { kind: 'ambiguous', options: found.map(choice) };
}
