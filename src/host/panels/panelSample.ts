// What the loss panel sends of one sample where its probability job is affordable (pTargetPlan 'worker'):
// the maps the heatmap paints from first, then their rest with p(target), the confidence maps held by the
// session until a confidence mode asks. No `vscode` here, so tests run it on a real session.
import type { SampleMaps } from '../../protocol';
import { holdConfidence, type SampleSource } from '../../sampleSender';
import type { LossSession } from '../../worker/engine/session';

/**
 * Sample n of the session as SampleSender sends it. quickSent: the view holds the sample's quick maps from
 * the computation already. withDelta: a comparison's B - A added to the maps (identity outside one).
 */
export function panelSampleSource(s: LossSession, n: number, withDelta: (m: SampleMaps) => SampleMaps, quickSent: boolean): SampleSource {
  // Probability targets have no p(target) and no confidence maps: the complete maps are the quick ones.
  const quick = s.result.targetKind === 'probs' || quickSent ? undefined : async (): Promise<SampleMaps> => withDelta(await s.sampleMaps(n));
  return {
    quick,
    complete: async () => withDelta(holdConfidence(await s.sampleMapsWithProbs(n))),
    quickSent,
  };
}
