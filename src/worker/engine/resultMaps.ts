// A result's maps, whether it kept them or computes them on request (EngineResult.mapsOnDemand): what the
// panel, notebook outputs, exports and comparisons read them through.
import { numel } from '../../tensor/tensor';
import type { EngineResult, ResultMaps } from './engineTypes';

type WithMaps = Pick<EngineResult, 'maps' | 'mapsOnDemand' | 'lossShape'>;

/** Whether the result can show per-element maps (kept, or computed when asked). */
export function hasMaps(r: Pick<EngineResult, 'maps' | 'mapsOnDemand'>): boolean {
  return r.maps !== null || r.mapsOnDemand !== undefined;
}

/**
 * The whole maps: the kept ones as they are, or all of them computed now (an export or a comparison asks
 * for this much; a view asks for one sample at a time); null where the input streamed and kept none.
 */
export async function wholeMaps(r: WithMaps, signal?: AbortSignal): Promise<ResultMaps | null> {
  if (r.maps) return r.maps;
  return r.mapsOnDemand ? r.mapsOnDemand.range(0, numel(r.lossShape), signal) : null;
}

/** The whole unreduced loss and its shape (an export of the loss map), or null where none was kept. */
export async function wholeLossMap(r: WithMaps, signal?: AbortSignal): Promise<{ readonly shape: readonly number[]; readonly data: Float32Array | Float64Array } | null> {
  const m = await wholeMaps(r, signal);
  return m ? { shape: r.lossShape, data: m.loss } : null;
}
