// One computed loss and what the view asks of it afterwards: the maps of one sample, the class
// probabilities of one sample, and the hand-check of one element. Sample data is read on demand (a range
// of the .npy for large files), so only the selected sample ever crosses to the view.
import { LensError } from '../../errors';
import { normalizeAxis } from '../../kernel/options';
import { softmaxOfLogits } from '../../kernel/sample/softmaxRange';
import { checkSample, flatIndex, sampleGeometry, sampleTensor, targetProbabilities, type SampleGeometry } from '../../kernel/sample/sampleView';
import type { ClassMaps, ConfidenceMaps, ElementDetail, SampleMaps, SharedTensorRef, TokenDetails, TokenRowSource, TokenSummary, ViewLabelIssuesDone } from '../../protocol';
import { flaggedOfMask, viewLabelIssues } from '../../labels/viewIssues';
import { tokenSummary, withDetailStrings } from '../../tokenSummary';
import type { Vocabulary } from '../../tensor/text/vocab';
import { numel, type Tensor } from '../../tensor/tensor';
import type { ComputeControls, ElementMaps, Engine, EngineRequest, EngineResult } from './engine';
import { closeNpy, openRangeSource, readF32, readLittleEndianInto } from '../files/npyFile';
import { pairMaskTarget } from '../files/maskTarget';
import { loadWhole } from './sources';
import { pinOf } from '../files/regularFile';
import { hasMaps } from './resultMaps';
import { allocShared, share, viewOf } from './shared';

/** One sample's softmax probabilities (C, S) and, for class-index cross-entropy, its confidence maps. */
interface SampleProbs {
  readonly probs: Float32Array;
  readonly confidence: ConfidenceMaps | null;
}

/**
 * The job of the key asked for last, shared by every ask for that key until another key is asked for. A
 * failure is not kept: the next ask runs the job again.
 */
class LastJob<T> {
  private last: { readonly key: number; readonly job: Promise<T> } | null = null;

  get(key: number, run: () => Promise<T>): Promise<T> {
    if (this.last?.key === key) return this.last.job;
    const entry = { key, job: run() };
    this.last = entry;
    entry.job.catch(() => {
      if (this.last === entry) this.last = null;
    });
    return entry.job;
  }
}

/** One sample's input values in shared memory, and a view of them for this thread. */
interface SampleValues {
  readonly ref: SharedTensorRef;
  readonly data: Float32Array | Float64Array;
}

export class LossSession {
  private wholeInput: Tensor | null = null;
  private wholeTarget: Tensor | null = null;
  /**
   * The probability job of the sample last asked for: the complete maps, a hover's details and the confidence
   * maps ask for the same sample at about the same time, and share one job (one sample at a time is what the
   * view shows).
   */
  private readonly probsOf = new LastJob<SampleProbs>();
  private readonly sampleCache = new Map<number, SampleValues>();
  /**
   * Whether a hover's details carry the element's confidence values: the host sets it where a sample's
   * probability job is affordable (pTargetPlan 'worker'; a notebook's bounded payload), and the job then runs
   * for the details if the sample's complete maps have not started it yet.
   */
  detailConfidence = false;
  /** The in-memory input in shared memory, once a token's details were asked for (workers read rows there). */
  private sharedInput: SharedTensorRef | null = null;
  /** The class weights in shared memory, for the breakdown's jobs (put there once). */
  private sharedWeight: SharedTensorRef | null = null;
  private weights: Float64Array | null | undefined;
  /** Token strings for the token view (the whole vocabulary; the view is sent subsets), or null. */
  vocabulary: Vocabulary | null = null;
  readonly geometry: SampleGeometry;

  private constructor(
    private readonly engine: Engine,
    readonly request: EngineRequest,
    readonly result: EngineResult,
  ) {
    this.geometry = sampleGeometry(result);
  }

  static async open(engine: Engine, request: EngineRequest, ctl?: ComputeControls): Promise<LossSession> {
    // A PNG mask target is paired once here, so the session reads samples in the shapes it computed with.
    const paired = pairMaskTarget(request)?.req ?? request;
    // Files that are not .npy decoded by a worker once: the session reads samples from the same tensors.
    const loaded = await engine.loadSources(paired, ctl?.signal);
    return new LossSession(engine, loaded, await engine.compute(loaded, ctl));
  }

  /**
   * Sample n's loss, prediction, target and ignored maps: copies of the kept maps, or computed for this
   * sample alone where the result keeps none (mapsOnDemand; the last sample's are kept for the next ask).
   */
  async sampleMaps(n: number): Promise<SampleMaps> {
    const g = this.geometry;
    const r = this.result;
    if (!hasMaps(r)) throw new LensError('io', 'per-pixel maps were not kept for this large input (it streamed); statistics only');
    const at = g.strip ? 0 : this.checkSample(n) * g.S;
    const len = g.S;
    const head = { n: g.strip ? -1 : n, shape: g.shape, pTarget: null };
    const maps = r.maps;
    if (maps) {
      const loss = Float32Array.from(maps.loss.subarray(at, at + len));
      return { ...head, loss, target: maps.targetClass.slice(at, at + len), predicted: maps.predicted.slice(at, at + len), ignored: maps.ignored.slice(at, at + len) };
    }
    const m = await this.demanded.get(at, () => r.mapsOnDemand!.range(at, len));
    return { ...head, loss: m.loss, target: m.targetClass, predicted: m.predicted, ignored: m.ignored };
  }

  /** The sample maps computed on demand last (sampleMaps then sampleMapsWithProbs ask for the same sample). */
  private readonly demanded = new LastJob<ElementMaps>();

  /**
   * Likely label errors of this pair (cleanlab's rules, src/labels/), found in a worker from the tensors as
   * this session paired them; `origin` says so in the view.
   */
  async labelIssues(origin: string, signal?: AbortSignal): Promise<ViewLabelIssuesDone> {
    const r = this.labelIssueResult();
    const o = r.options;
    const pair = await this.engine.labelIssues({ input: this.request.input, target: this.request.target, classDim: o.classDim, ignoreIndex: o.ignoreIndex, inputKind: o.inputKind }, signal);
    return viewLabelIssues({ flagged: flaggedOfMask(pair.mask), target: r.maps.targetClass, predicted: r.maps.predicted, classes: this.geometry.C, examples: pair.labelIssues.examples, origin, rule: pair.labelIssues.rule });
  }

  /**
   * The view's label issues from reported positions found elsewhere (a folder's pooled cut-off: the dataset
   * view's Find likely label errors), for this single image's loss map.
   */
  labelIssuesAt(flagged: Int32Array, origin: string, show: boolean): ViewLabelIssuesDone {
    const r = this.labelIssueResult();
    const n = r.maps.targetClass.length;
    for (const i of flagged) if (!(i >= 0 && i < n)) throw new LensError('value', `a reported position ${i} is outside this loss map of ${n} elements`);
    return viewLabelIssues({ flagged, target: r.maps.targetClass, predicted: r.maps.predicted, classes: this.geometry.C, examples: r.stats.elementCount - r.stats.ignoredCount, origin, rule: 'segmentation', show });
  }

  private labelIssueResult(): EngineResult & { maps: NonNullable<EngineResult['maps']> } {
    const r = this.result;
    if (r.options.loss !== 'ce' || r.targetKind !== 'index') throw new LensError('option', 'likely label errors need cross-entropy with class-index labels (confident learning flags labels)');
    if (!r.maps) throw new LensError('io', 'likely label errors need the per-element maps, which were not kept for this large input (it streamed): run the CLI with --label-issues');
    return r as EngineResult & { maps: NonNullable<EngineResult['maps']> };
  }

  /**
   * sampleMaps plus p(target) and, for class-index cross-entropy, the confidence maps: both need the sample's
   * input values and come from one worker job.
   */
  async sampleMapsWithProbs(n: number): Promise<SampleMaps> {
    const m = await this.sampleMaps(n);
    if (this.result.targetKind === 'probs') return m;
    const { probs, confidence } = await this.sampleProbs(n);
    const pTarget = targetProbabilities(this.result.targetKind, probs, m.target, m.ignored, this.geometry);
    return { ...m, pTarget, confidence };
  }

  /** Sample n's confidence maps (null: the input has none: not class-index cross-entropy). */
  async sampleConfidence(n: number): Promise<ConfidenceMaps | null> {
    if (!this.wantsConfidence) return null;
    return (await this.sampleProbs(n)).confidence;
  }

  async classMaps(n: number): Promise<ClassMaps> {
    const probs = await this.probabilities(n);
    return { n: this.geometry.strip ? -1 : n, shape: this.geometry.shape, probs };
  }

  async explain(n: number, index: readonly number[]): Promise<ElementDetail> {
    const g = this.geometry;
    const o = this.result.options;
    if (o.loss !== 'ce') throw new LensError('option', 'the step-by-step breakdown covers cross-entropy (loss ce)');
    const s = flatIndex(index, g.shape);
    const at = g.strip ? 0 : this.checkSample(n);
    const maps = this.result.maps;
    const targetClass = maps ? maps.targetClass[at * g.S + s] : 0;
    const probsTarget = this.result.targetKind === 'probs';
    // A strip's element is one row of the (N, C) input: read alone, where the whole input would be read
    // and transposed on this thread (2 s for [20000, 1000] float32) for one hover.
    const x1 = g.strip ? await this.stripRow(this.request.input, this.result.input.shape, s) : null;
    const t1 = x1 && probsTarget ? await this.stripRow(this.request.target, this.result.target.shape, s) : null;
    const row = x1 && (!probsTarget || t1);
    // The breakdown itself runs in a worker: it costs O(C) (160 ms at 262,144 classes).
    const r = await this.engine.runRaw({
      kind: 'explain-element', id: 0, C: g.C, options: o, targetKind: this.result.targetKind, targetClass,
      ...(row
        ? { x: x1.ref, S: 1, s: 0, targetProbs: t1 ? t1.ref : null }
        : { x: (await this.sampleValues(at)).ref, S: g.S, s, targetProbs: probsTarget ? share({ dtype: 'float64', shape: [g.C * g.S], data: sampleTensor(this.targetWhole(), at, o, g) }) : null }),
      weight: this.request.weight ? (this.sharedWeight ??= share(this.weightTensor())) : null,
    });
    if (r.kind === 'error') throw new LensError((r.lensKind as LensError['kind']) ?? 'value', r.message);
    if (r.kind !== 'explain-element-done') throw new LensError('io', `unexpected worker answer ${r.kind}`);
    const { explanation, top } = r;
    // The element's confidence values, from the maps the confidence modes draw (one job with the complete
    // maps' p(target); a failed job gives details without them rather than none).
    const c = this.wantsConfidence && this.detailConfidence ? await this.sampleProbs(n).then((p) => p.confidence, () => null) : null;
    return { n, index: [...index], explanation: { ...explanation, index: [...index] }, top, ...(c ? { confidence: { top1: c.top1[s], margin: c.margin[s], entropy: c.entropy[s] } } : {}) };
  }

  /** A vocabulary file read and parsed in a worker (src/worker/jobs/vocabularyJob.ts). */
  static async readVocabulary(engine: Engine, path: string): Promise<Vocabulary> {
    const r = await engine.runRaw({ kind: 'vocabulary', id: 0, path });
    if (r.kind === 'error') throw new LensError((r.lensKind as LensError['kind']) ?? 'io', r.message);
    if (r.kind !== 'vocabulary-done') throw new LensError('io', `unexpected worker answer ${r.kind}`);
    return r.vocabulary;
  }

  /** The token view's part of the summary: the strings of every target and predicted id (see src/tokenSummary.ts). */
  tokenSummary(where: string): TokenSummary {
    const r = this.result;
    return tokenSummary(this.vocabulary, { targetClass: r.maps?.targetClass, predicted: r.maps?.predicted, perClass: r.stats.perClass, worst: r.stats.worst }, where);
  }

  /**
   * The token view's hover for loss-map element `row` (flat over [B, T] or [T]): top-5 classes, p(target),
   * the target's rank and its loss, in float64 from that row's C input values, computed in a worker. A .npy
   * input is read by the row's byte range only; an in-memory input is put in shared memory once.
   */
  async tokenDetails(row: number): Promise<TokenDetails> {
    const r = this.result;
    const o = r.options;
    if (o.loss !== 'ce' || r.targetKind !== 'index') throw new LensError('option', 'token details cover cross-entropy with class-index targets');
    const rows = r.lossShape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(row) || row < 0 || row >= rows) throw new LensError('value', `token ${row} is outside [0, ${rows - 1}]`);
    const target = r.maps ? r.maps.targetClass[row] : Number((this.targetWhole().data as ArrayLike<number>)[row]);
    const src = this.request.input;
    let source: TokenRowSource;
    if (src.kind === 'file') source = { kind: 'file', path: src.path, pin: pinOf(src) };
    else {
      this.sharedInput ??= share(src.tensor);
      source = { kind: 'shared', x: this.sharedInput };
    }
    const nd = r.input.shape.length;
    const terms = { weight: this.weightValues(), labelSmoothing: o.labelSmoothing, ignoreIndex: o.ignoreIndex };
    const reply = await this.engine.runRaw({ kind: 'token-details', id: 0, source, classDim: nd === 1 ? 0 : o.classDim, row, target, inputKind: o.inputKind, topK: 5, terms });
    if (reply.kind === 'error') throw new LensError((reply.lensKind as LensError['kind']) ?? 'io', reply.message);
    if (reply.kind !== 'token-details-done') throw new LensError('io', `unexpected worker answer ${reply.kind}`);
    return withDetailStrings(reply.details, row, target, this.geometry.C, this.vocabulary);
  }

  private checkSample(n: number): number {
    return checkSample(this.geometry, n);
  }

  private async probabilities(n: number): Promise<Float32Array> {
    return (await this.sampleProbs(n)).probs;
  }

  /** Confidence maps describe a softmax over classes: class-index cross-entropy only. */
  private get wantsConfidence(): boolean {
    return this.result.options.loss === 'ce' && this.result.targetKind === 'index';
  }

  private sampleProbs(n: number): Promise<SampleProbs> {
    const key = this.geometry.strip ? 0 : this.checkSample(n);
    return this.probsOf.get(key, () => this.runProbs(key));
  }

  private async runProbs(key: number): Promise<SampleProbs> {
    const g = this.geometry;
    const xs = (await this.sampleValues(key)).ref;
    const out = allocShared('float32', [g.C * g.S], 'f32');
    const conf = this.wantsConfidence ? allocShared('float32', [3 * g.S], 'f32') : undefined;
    const o = this.result.options;
    // A softmax of logits is split between the workers by element ranges (multiples of 16 elements, so no
    // two workers write one cache line); other inputs are one job.
    const parts = softmaxOfLogits(o.inputKind, o.loss) ? Math.max(1, Math.min(this.engine.maxWorkers, Math.floor(g.S / 4096))) : 1;
    const span = Math.ceil(g.S / parts / 16) * 16;
    const replies = await Promise.all(Array.from({ length: parts }, (_, i) => this.engine.runRaw({
      kind: 'probs', id: i, x: xs, C: g.C, S: g.S, inputKind: o.inputKind, loss: o.loss, out, confidence: conf,
      ...(parts > 1 ? { s0: Math.min(g.S, i * span), s1: Math.min(g.S, (i + 1) * span) } : {}),
    })));
    for (const r of replies) if (r.kind === 'error') throw new LensError((r.lensKind as LensError['kind']) ?? 'io', r.message);
    const probs = viewOf(out).data as Float32Array;
    let confidence: ConfidenceMaps | null = null;
    if (conf) {
      // Three arrays of their own (slice copies), so the view is sent S values per map, not one shared block.
      const c = viewOf(conf).data as Float32Array;
      confidence = { top1: c.slice(0, g.S), margin: c.slice(g.S, 2 * g.S), entropy: c.slice(2 * g.S, 3 * g.S) };
    }
    return { probs, confidence };
  }

  /**
   * The input values of sample n as (C, S) (for bce: the sample's own layout), in shared memory for the
   * probability job. Sample n is one contiguous block of the input in C order whatever its class axis, so a
   * .npy is read by that block's byte range (float32/float16 as float32, float64 as it is) straight into
   * shared memory, with no copy on this thread; a class axis that is not first in the sample (class-last
   * [B, T, V]) is moved first by a worker. The host thread then spends no time proportional to the input:
   * reading a whole [2, 64, 32000] .npy and moving its axis here took 0.7 s of it.
   */
  private async sampleValues(n: number): Promise<SampleValues> {
    const hit = this.sampleCache.get(n);
    if (hit) return hit;
    const g = this.geometry;
    const o = this.result.options;
    const shape = this.result.input.shape;
    const nd = shape.length;
    let out: SampleValues | null = null;
    if (!g.strip && nd >= 2) {
      const stored = await this.storedSample(n);
      const classAxis = o.loss === 'bce' || o.loss === 'sigmoid-focal' ? 1 : normalizeAxis(o.classDim, nd) ?? 1;
      if (stored) out = classAxis === 1 ? stored : await this.classAxisFirst(stored, shape.slice(1), classAxis - 1);
    }
    if (out === null) {
      const ref = share({ dtype: 'float64', shape: [g.C * g.S], data: sampleTensor(this.inputWhole(), n, o, g) });
      out = { ref, data: viewOf(ref).data as Float64Array };
    }
    this.sampleCache.clear();
    this.sampleCache.set(n, out);
    return out;
  }

  /** Sample n's block of the input as stored (see storedRange). */
  private storedSample(n: number): Promise<SampleValues | null> {
    const per = numel(this.result.input.shape.slice(1));
    return this.storedRange(this.request.input, per * this.geometry.samples, n * per, per);
  }

  /**
   * Row s of a strip's (N, C) input or probability target (see storedRange): its C class values (a 1-d input
   * is its one row). Null also where a row's classes are not contiguous (class axis 0).
   */
  private stripRow(src: EngineRequest['input'], shape: readonly number[], s: number): Promise<SampleValues | null> {
    const nd = shape.length;
    if (nd > 2 || (nd === 2 && normalizeAxis(this.result.options.classDim, 2) !== 1)) return Promise.resolve(null);
    const C = this.geometry.C;
    return this.storedRange(src, numel(shape), nd === 1 ? 0 : s * C, C);
  }

  /**
   * Elements [start, start + count) of a source of `total` elements as stored, flat, in shared memory: a range
   * read of a C-order float .npy (float16 as float32), or a copy of an in-memory float tensor's range; null
   * where neither applies (other formats are read whole).
   */
  private async storedRange(src: EngineRequest['input'], total: number, start: number, count: number): Promise<SampleValues | null> {
    if (src.kind === 'tensor') {
      const d = src.tensor.data;
      if (!(d instanceof Float32Array || d instanceof Float64Array) || d.length !== total) return null;
      const ref = share({ dtype: d instanceof Float32Array ? 'float32' : 'float64', shape: [count], data: d.subarray(start, start + count) });
      return { ref, data: viewOf(ref).data as Float32Array | Float64Array };
    }
    const f = openRangeSource(src);
    if (f === null) return null;
    try {
      const h = f.header;
      // A mask target may have paired a [C, H, W] file as [1, C, H, W]: the same values, the same offsets.
      if ((h.fortranOrder && h.shape.length > 1) || numel(h.shape) !== total) return null;
      if (h.dtype === 'float32' || h.dtype === 'float16') {
        const ref = allocShared('float32', [count], 'f32');
        const data = viewOf(ref).data as Float32Array;
        await readF32(f, start, count, data, 0);
        return { ref, data };
      }
      if (h.dtype === 'float64') {
        const ref = allocShared('float64', [count], 'f64');
        await readLittleEndianInto(f, start, count, new Uint8Array(ref.buffer, 0, count * 8));
        return { ref, data: viewOf(ref).data as Float64Array };
      }
      return null;
    } finally {
      closeNpy(f);
    }
  }

  /** `stored` (one sample of `sampleShape`) with its axis `axis` moved first, by a worker. */
  private async classAxisFirst(stored: SampleValues, sampleShape: readonly number[], axis: number): Promise<SampleValues> {
    const ref = allocShared(stored.ref.dtype, [stored.data.length], stored.ref.storage);
    const r = await this.engine.runRaw({ kind: 'move-axis', id: 0, x: { ...stored.ref, shape: sampleShape }, from: axis, out: ref });
    if (r.kind === 'error') throw new LensError((r.lensKind as LensError['kind']) ?? 'io', r.message);
    if (r.kind !== 'move-axis-done') throw new LensError('io', `unexpected worker answer ${r.kind}`);
    return { ref, data: viewOf(ref).data as Float32Array | Float64Array };
  }

  private inputWhole(): Tensor {
    const src = this.request.input;
    this.wholeInput ??= loadWhole(src, 'input');
    return this.wholeInput;
  }

  private targetWhole(): Tensor {
    const src = this.request.target;
    this.wholeTarget ??= loadWhole(src, 'target');
    return this.wholeTarget;
  }

  /** The class weights as float64 (read once: every hover sends them with its job), or null. */
  private weightValues(): Float64Array | null {
    if (this.weights === undefined) this.weights = this.request.weight ? Float64Array.from(this.weightTensor().data as ArrayLike<number>) : null;
    return this.weights;
  }

  private weightTensor(): Tensor {
    const w = this.request.weight!;
    return loadWhole(w, 'weight');
  }
}
