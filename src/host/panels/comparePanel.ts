// The panel's side of Compare Losses…: run A (the baseline) computed with run B's request, target and
// options, compared element by element; the summary gains `compare` and every sample's maps their `delta`.
// Kept apart from lossPanel.ts, which only holds one of these while its request has a baseline.
import * as path from 'node:path';
import type { SampleGeometry } from '../../kernel/sample/sampleView';
import type { CompareSummary, SampleMaps } from '../../protocol';
import type { Engine, EngineRequest, EngineResult, TensorSource } from '../../worker/engine/engine';
import { compareRuns, compareSummary, sampleDelta } from '../../worker/engine/compareSession';

export class PanelComparison {
  private constructor(
    readonly summary: CompareSummary,
    /** B - A over the whole loss map (the view is sent one sample's slice at a time). */
    private readonly delta: Float32Array,
    private readonly geometry: Pick<SampleGeometry, 'strip' | 'S'>,
  ) {}

  /**
   * Computes run A: B's request (as the panel built it, before any mask pairing: the engine pairs again)
   * with A's input. Throws the shape error when A and B differ in shape, and for inputs that streamed.
   */
  static async compute(
    engine: Engine,
    requestB: EngineRequest,
    b: { readonly result: EngineResult; readonly geometry: SampleGeometry },
    baseline: TensorSource,
    labels: { readonly a: string; readonly b: string },
    signal: AbortSignal,
  ): Promise<PanelComparison> {
    const a = await engine.compute({ ...requestB, input: baseline }, { signal });
    const m = await compareRuns(a, b.result, labels.a, labels.b, signal);
    return new PanelComparison(compareSummary(a, b.result, m, labels.a, labels.b), m.delta, b.geometry);
  }

  withDelta(m: SampleMaps): SampleMaps {
    return { ...m, delta: sampleDelta(this.delta, this.geometry, m.n < 0 ? 0 : m.n) };
  }
}

/** The panel's tab title for a comparison: B against A. */
export function compareTitle(labelA: string, labelB: string): string {
  return `Compare: ${path.basename(labelB)} vs ${path.basename(labelA)}`;
}
