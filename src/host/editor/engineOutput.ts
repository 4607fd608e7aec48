// The engine side of a notebook output: its checked tensors (inline, or files by reference) computed by the
// worker-thread engine, and the OutputSession that answers its view. No vscode here: tests open it as the
// renderer's host does.
import { LensError } from '../../errors';
import { optionsFromShapes } from '../../kernel/roles';
import { OUTPUT_ISSUES_ORIGIN, outputLabels, outputWeight, type OutputOverrides, type OutputSession, type OutputTensors } from '../../outputController';
import { toViewSummary } from '../../protocol';
import type { PayloadWithRefs } from '../../tensor/text/payload';
import type { Tensor } from '../../tensor/tensor';
import type { Engine } from '../../worker/engine/engine';
import type { TensorSource } from '../../worker/engine/engineTypes';
import { hasMaps, wholeLossMap } from '../../worker/engine/resultMaps';
import { LossSession } from '../../worker/engine/session';
import type { FileIdentity } from '../../worker/files/regularFile';
import { classMapsRefusal, pTargetFromLoss, pTargetPlan } from '../panels/sampleProbs';

/**
 * An output's input or target: inline, or a reference's checked file with its .npy header and its identity
 * (the engine refuses any other file at that path: see FileIdentity).
 */
export type Resolved =
  | { readonly kind: 'tensor'; readonly tensor: Tensor }
  | { readonly kind: 'file'; readonly path: string; readonly pin: FileIdentity; readonly meta: { dtype: Tensor['dtype']; shape: number[] } };

/** The payload with its references checked and located (once per output: hashing a batch takes a while). */
export interface ResolvedPayload {
  readonly payload: PayloadWithRefs;
  readonly input: Resolved;
  readonly target: Resolved;
}

function engineSource(r: Resolved, label: string): TensorSource {
  return r.kind === 'tensor' ? { kind: 'tensor', tensor: r.tensor, label } : { kind: 'file', path: r.path, pin: r.pin };
}

export function tensorsOf(rp: ResolvedPayload): OutputTensors {
  const meta = (r: Resolved): Pick<Tensor, 'shape' | 'dtype'> => (r.kind === 'tensor' ? r.tensor : r.meta);
  return { input: meta(rp.input), target: meta(rp.target), classNames: rp.payload.classNames };
}

/** An output's session on the worker-thread engine: its summary, and its maps, details and issues on request. */
export async function openWithEngine(engine: Engine, rp: ResolvedPayload, o: OutputOverrides, signal: AbortSignal): Promise<OutputSession> {
  const started = performance.now();
  const payload = rp.payload;
  const weight = outputWeight(payload, o);
  const tensors = tensorsOf(rp);
  const fitted = optionsFromShapes({ ...payload.options, ...o.options }, tensors.input, tensors.target);
  const session = await LossSession.open(
    engine,
    {
      input: engineSource(rp.input, 'input'),
      target: engineSource(rp.target, 'target'),
      weight: weight ? { kind: 'tensor', tensor: weight, label: 'weight' } : null,
      // The output describes itself: its options, with PyTorch's defaults for the rest (not settings, so a
      // notebook shows the same numbers on every machine).
      options: fitted.options,
      topK: 20,
    },
    { signal },
  );
  const r = session.result;
  session.vocabulary = payload.tokenizer ?? null;
  // As in the panel (sampleProbs.ts): p(target) and the confidence maps from the probability job only while
  // the input values it reads are few (for an (N, C) strip or a class-last input they are the whole input);
  // above, p(target) from the loss where it determines it, and no confidence maps.
  const cost = { options: r.options, geometry: session.geometry, inputShape: r.input.shape };
  const plan = pTargetPlan({ ...cost, targetKind: r.targetKind, hasWeight: weight !== null });
  // Every sample's complete maps run its probability job here (sampleMapsWithProbs): a hover's details share it.
  session.detailConfidence = plan === 'worker';
  const base = toViewSummary(r, outputLabels(tensors, weight, {
    seconds: (performance.now() - started) / 1000,
    engine: `${r.engine}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`,
    mapsAvailable: hasMaps(r),
    ...(fitted.classLastFromShapes ? { classLastFromShapes: true } : {}),
  }));
  const summary = { ...base, tokens: session.tokenSummary('from the notebook output') };
  return {
    summary,
    lossMap: () => wholeLossMap(r),
    ...(plan === 'worker'
      ? {
        sampleMaps: (n: number) => session.sampleMapsWithProbs(n),
        // Probability targets have nothing more to compute: one message.
        ...(r.targetKind === 'probs' ? {} : { quickSampleMaps: (n: number) => session.sampleMaps(n) }),
        confidence: (n: number) => session.sampleConfidence(n),
      }
      : {
        sampleMaps: async (n: number) => {
          const m = await session.sampleMaps(n);
          return { ...m, pTarget: plan === 'fromLoss' ? pTargetFromLoss(m, session.geometry.C) : null, confidence: null };
        },
      }),
    classMaps: (n) => {
      const refused = classMapsRefusal(cost);
      return refused === null ? session.classMaps(n) : Promise.reject(new LensError('value', refused));
    },
    explain: (n, index) => session.explain(n, index),
    tokenDetails: (row) => session.tokenDetails(row),
    labelIssues: (signal) => session.labelIssues(OUTPUT_ISSUES_ORIGIN, signal),
  };
}

