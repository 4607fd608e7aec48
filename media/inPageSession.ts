// The notebook renderer's fallback when it cannot reach the extension host (renderer messaging is
// optional): the same pure kernel as the engine's reference path, run in the page. Payloads are bounded
// (MAX_PAYLOAD_BYTES), so this stays in the seconds range at worst.
import { optionsFromShapes } from '../src/kernel/roles';
import { computeLoss } from '../src/kernel/index';
import { sampleProbabilities } from '../src/kernel/sample/softmax';
import { sampleConfidence } from '../src/kernel/sample/confidence';
import { explainedForView } from '../src/kernel/sample/explainRows';
import { softmaxOfLogits, softmaxRange } from '../src/kernel/sample/softmaxRange';
import { checkSample, explainSampleElement, flatIndex, sampleGeometry, sampleTensor, targetProbabilities, type SampleGeometry } from '../src/kernel/sample/sampleView';
import { tokenRowDetails, tokenRowLayout } from '../src/kernel/sample/tokenRow';
import type { LossResult } from '../src/kernel/types';
import { OUTPUT_ISSUES_ORIGIN, outputLabels, outputWeight, type OutputOverrides, type OutputSession } from '../src/outputController';
import { pairLabelIssues } from '../src/labels/pairIssues';
import { flaggedOfMask, viewLabelIssues } from '../src/labels/viewIssues';
import { toViewSummary, type ClassMaps, type ConfidenceMaps, type ElementDetail, type SampleMaps, type TokenDetails, type ViewLabelIssuesDone, type ViewSummary } from '../src/protocol';
import { tokenSummary, withDetailStrings } from '../src/tokenSummary';
import type { Payload } from '../src/tensor/text/payload';
import type { Tensor } from '../src/tensor/tensor';

export const IN_PAGE_ENGINE = 'typescript, in the notebook page';

export function openInPage(payload: Payload, overrides: OutputOverrides, now: () => number = () => performance.now()): OutputSession {
  const started = now();
  const weight = outputWeight(payload, overrides);
  const fitted = optionsFromShapes({ ...payload.options, ...overrides.options }, payload.input, payload.target);
  const result = computeLoss({ input: payload.input, target: payload.target, weight, options: fitted.options, topK: 20 });
  const seconds = (now() - started) / 1000;
  const base = toViewSummary(result, outputLabels(payload, weight, { seconds, engine: IN_PAGE_ENGINE, mapsAvailable: true, ...(fitted.classLastFromShapes ? { classLastFromShapes: true } : {}) }));
  const tokens = tokenSummary(payload.tokenizer ?? null, { targetClass: result.targetClass, predicted: result.predicted, perClass: result.stats.perClass, worst: result.stats.worst }, 'from the notebook output');
  const summary: ViewSummary = { ...base, tokens };
  return new InPageSession(payload, weight, result, summary);
}

class InPageSession implements OutputSession {
  private readonly g: SampleGeometry;
  private probs: { readonly n: number; readonly p: Float32Array; readonly conf: ConfidenceMaps | null } | null = null;

  constructor(
    private readonly payload: Payload,
    private readonly weight: Tensor | null,
    private readonly result: LossResult,
    readonly summary: ViewSummary,
  ) {
    this.g = sampleGeometry({ ...result, input: payload.input });
  }

  lossMap(): { readonly shape: readonly number[]; readonly data: ArrayLike<number> } {
    return { shape: this.result.lossShape, data: this.result.lossMap };
  }

  private at(n: number): number {
    return this.g.strip ? 0 : checkSample(this.g, n);
  }

  /** Sample n's class probabilities, and its confidence maps when asked for (in the same softmax pass). */
  private softmax(n: number, confidence: boolean): { readonly p: Float32Array; readonly conf: ConfidenceMaps | null } {
    const at = this.at(n);
    if (this.probs?.n === at && (!confidence || this.probs.conf)) return this.probs;
    const o = this.result.options;
    const { C, S } = this.g;
    const x = sampleTensor(this.payload.input, at, o, this.g);
    let p: Float32Array;
    let conf: ConfidenceMaps | null = null;
    if (confidence && softmaxOfLogits(o.inputKind, o.loss)) {
      // Each logit's exp once for both, as the engine's probability job takes them (same bits as apart).
      p = new Float32Array(C * S);
      conf = { top1: new Float32Array(S), margin: new Float32Array(S), entropy: new Float32Array(S) };
      softmaxRange(x, C, S, 0, S, p, conf);
    } else {
      p = sampleProbabilities(x, C, S, o.inputKind, o.loss);
      if (confidence) conf = sampleConfidence(x, C, S, o.inputKind);
    }
    this.probs = { n: at, p, conf };
    return this.probs;
  }

  async sampleMaps(n: number): Promise<SampleMaps> {
    const g = this.g;
    const r = this.result;
    const from = this.at(n) * g.S;
    const to = from + g.S;
    const target = r.targetClass.slice(from, to);
    const ignored = r.ignoredMask.slice(from, to);
    // Confidence maps: class-index cross-entropy only (a softmax over classes), as the host's session.
    // Probability targets have no p(target): no softmax for them.
    const sm = r.targetKind === 'probs' ? null : this.softmax(n, r.options.loss === 'ce' && r.targetKind === 'index');
    return {
      n: g.strip ? -1 : n,
      shape: g.shape,
      loss: Float32Array.from(r.lossMap.subarray(from, to)),
      target,
      predicted: r.predicted.slice(from, to),
      ignored,
      pTarget: sm ? targetProbabilities(r.targetKind, sm.p, target, ignored, g) : null,
      confidence: sm?.conf ?? null,
    };
  }

  async classMaps(n: number): Promise<ClassMaps> {
    return { n: this.g.strip ? -1 : n, shape: this.g.shape, probs: this.softmax(n, false).p };
  }

  async tokenDetails(row: number): Promise<TokenDetails> {
    const r = this.result;
    const o = r.options;
    if (o.loss !== 'ce' || r.targetKind !== 'index') throw new Error('token details cover cross-entropy with class-index targets');
    const x = this.payload.input;
    const at = tokenRowLayout(x.shape, x.shape.length === 1 ? 0 : o.classDim, row);
    const target = r.targetClass[row];
    const d = tokenRowDetails(x.data, at.offset, at.stride, at.C, target, o.inputKind, 5, { weight: this.weight ? this.weight.data : null, labelSmoothing: o.labelSmoothing, ignoreIndex: o.ignoreIndex });
    return withDetailStrings(d, row, target, at.C, this.payload.tokenizer ?? null);
  }

  /** cleanlab's rules on the payload's own tensors, in the page (payloads are bounded: MAX_PAYLOAD_BYTES). */
  async labelIssues(): Promise<ViewLabelIssuesDone> {
    const r = this.result;
    const o = r.options;
    if (o.loss !== 'ce' || r.targetKind !== 'index') throw new Error('likely label errors need cross-entropy with class-index labels (confident learning flags labels)');
    const pair = pairLabelIssues(this.payload.input, this.payload.target, { classDim: o.classDim, ignoreIndex: o.ignoreIndex, inputKind: o.inputKind });
    return viewLabelIssues({ flagged: flaggedOfMask(pair.mask), target: r.targetClass, predicted: r.predicted, classes: this.g.C, examples: pair.labelIssues.examples, origin: OUTPUT_ISSUES_ORIGIN, rule: pair.labelIssues.rule });
  }

  async explain(n: number, index: readonly number[]): Promise<ElementDetail> {
    const g = this.g;
    const o = this.result.options;
    const s = flatIndex(index, g.shape);
    const at = this.at(n);
    const { explanation, top } = explainSampleElement(o, this.result.targetKind, g, s, {
      x: sampleTensor(this.payload.input, at, o, g),
      targetProbs: this.result.targetKind === 'probs' ? sampleTensor(this.payload.target, at, o, g) : null,
      targetClass: this.result.targetClass[at * g.S + s],
      weight: this.weight,
    });
    return { n, index: [...index], explanation: explainedForView({ ...explanation, index: [...index] }), top };
  }
}
