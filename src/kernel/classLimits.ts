// How many classes the kernel takes, and how many per-class figures a result carries. Per-class sums are
// arrays of length C; a header is free to claim any C, so C alone must never size an allocation: a 128-byte
// .npy of shape [0, 2^27] used to allocate gigabytes of per-class arrays for a loss map without elements.
import { fmtShape, LensError } from '../errors';

/**
 * Most classes of a cross-entropy input with at least one loss element: 2^24 (16,777,216), the largest
 * token id vocabularies use (src/tensor/text/vocab.ts) and far above any real vocabulary (262,144). It keeps
 * confusion pair keys (target * C + predicted) exact and float32 weights distinct per class. An input
 * without loss elements is not bounded: it needs no per-class figures (see perClassLength).
 */
export const MAX_CLASSES = 2 ** 24;

/**
 * Largest C for which a loss map without elements still lists its (empty) classes, the confusion matrix's
 * limit: a small empty result reads like a non-empty one; above, per-class figures are left out.
 */
export const EMPTY_PER_CLASS_MAX = 1024;

/** Length of per-class arrays and lists for C classes over `elements` loss elements. */
export function perClassLength(C: number, elements: number): number {
  return elements > 0 || C <= EMPTY_PER_CLASS_MAX ? C : 0;
}

/** The one-line error for an input over MAX_CLASSES (C counted along the class axis). */
export function tooManyClassesError(C: number, inputShape: readonly number[]): LensError {
  return new LensError(
    'shape',
    `input ${fmtShape(inputShape)} has ${C} classes, more than the ${MAX_CLASSES} (2^24) this tool computes per-class figures for — check the class axis (--class-dim) or the file's shape`,
  );
}
