// Compare Losses…: what the CLI's `compare` and the panel share once both runs are computed — the shape
// check, the per-element comparison (src/kernel/compare.ts), the summary the view shows and one sample's
// slice of the delta map. No vscode here, so the CLI and tests use it as is.
import { LensError, fmtShape } from '../../errors';
import { compareLossMaps, type CompareMaps } from '../../kernel/compare';
import { classPositions, elementClassAxis } from '../../mapLayout';
import type { SampleGeometry } from '../../kernel/sample/sampleView';
import type { CompareSummary } from '../../protocol';
import type { EngineResult } from './engineTypes';
import { wholeMaps } from './resultMaps';

/** Runs A and B must hold inputs of one shape (the target is shared, so their loss maps line up). */
export function checkSameShape(labelA: string, shapeA: readonly number[], labelB: string, shapeB: readonly number[]): void {
  if (shapeA.length === shapeB.length && shapeA.every((d, i) => d === shapeB[i])) return;
  throw new LensError('shape', `inputs to compare differ in shape: ${labelA} is ${fmtShape(shapeA)} but ${labelB} is ${fmtShape(shapeB)} — compare needs two inputs of one shape against one target`);
}

type Run = Pick<EngineResult, 'input' | 'maps' | 'stats' | 'lossShape'> & Partial<Pick<EngineResult, 'options' | 'targetKind'>>;

/**
 * The class each element's loss counts under in the per-class means: its target class, or for an
 * elementwise loss (0/1 targets) its position on the class axis, as the run's own statistics count it
 * (axis 0 for a 1-D loss map).
 */
export function elementClasses(r: Run & { readonly maps: NonNullable<Run['maps']> }): ArrayLike<number> {
  if (r.targetKind !== 'binary' || !r.options) return r.maps.targetClass;
  return classPositions(r.lossShape, elementClassAxis(r.lossShape, r.options.classDim) ?? 1, 0, r.maps.loss.length);
}

/**
 * compareResults on runs whose maps may be computed on request (EngineResult.mapsOnDemand): both runs' whole
 * maps are computed first, on the engine that computed them (before it is disposed).
 */
export async function compareRuns(
  a: Run & Pick<EngineResult, 'mapsOnDemand'>, b: Run & Pick<EngineResult, 'mapsOnDemand'>, labelA: string, labelB: string, signal?: AbortSignal,
): Promise<CompareMaps> {
  checkSameShape(labelA, a.input.shape, labelB, b.input.shape);
  const mapsA = await wholeMaps(a, signal);
  const mapsB = await wholeMaps(b, signal);
  return compareResults({ ...a, maps: mapsA }, { ...b, maps: mapsB }, labelA, labelB);
}

/** B - A per element, improved/regressed counts and per-class means (labels name the runs in errors). */
export function compareResults(a: Run, b: Run, labelA: string, labelB: string): CompareMaps {
  checkSameShape(labelA, a.input.shape, labelB, b.input.shape);
  for (const [r, label] of [[a, labelA], [b, labelB]] as const) {
    if (!r.maps) {
      // Streaming keeps statistics only; comparing block by block is not built yet.
      throw new LensError('io', `${label}: too large to compare — its per-element losses would take more than the memory a comparison keeps (1 GiB of maps per run, about 80 million elements); compare a slice of the batch`);
    }
  }
  return compareLossMaps({ lossA: a.maps!.loss, lossB: b.maps!.loss, targetClass: elementClasses({ ...a, maps: a.maps! }), ignored: a.maps!.ignored, numClasses: a.stats.numClasses });
}

export function compareSummary(a: Pick<EngineResult, 'value'>, b: Pick<EngineResult, 'value'>, m: CompareMaps, labelA: string, labelB: string): CompareSummary {
  return {
    labelA,
    labelB,
    valueA: a.value,
    valueB: b.value,
    delta: a.value === null || b.value === null ? null : b.value - a.value,
    improved: m.improved,
    regressed: m.regressed,
    perClass: m.perClass,
  };
}

/** The delta of sample n as the view's SampleMaps slices it (the whole strip for an (N, C) input). */
export function sampleDelta(delta: Float32Array, g: Pick<SampleGeometry, 'strip' | 'S'>, n: number): Float32Array {
  const at = g.strip ? 0 : n * g.S;
  return delta.slice(at, at + g.S);
}
