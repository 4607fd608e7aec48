// A stand-in for the extension host, for the view's DOM test and the preview page: synthetic
// segmentation logits run through the real kernel, answering the view's messages as the host would.
import { computeLoss, explainElement, type LossOptions, type LossRequest, type LossResult } from '../../../src/kernel/index';
import { explainedForView } from '../../../src/kernel/sample/explainRows';
import { toViewSummary, type ClassMaps, type CompareSummary, type ConfidenceMaps, type ElementDetail, type HostToView, type SampleMaps, type ViewSummary, type ViewToHost } from '../../../src/protocol';
import type { Tensor } from '../../../src/tensor/tensor';
import { pairLabelIssues } from '../../../src/labels/pairIssues';
import { holdConfidence, restOf } from '../../../src/sampleSender';
import { flaggedOfMask, viewLabelIssues } from '../../../src/labels/viewIssues';

export const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

export const VOC_NAMES = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'dining, table', 'dog', 'horse', 'motor"bike', 'person', 'potted\nplant', 'sheep', 'sofa', 'train', HOSTILE_NAME,
];

export interface CaseOptions {
  /** Loss map shape: [N, H, W], [N, D, H, W], or [N] for (N, C) classification. */
  readonly lossShape: readonly number[];
  readonly C: number;
  readonly classNames?: readonly string[];
  readonly options?: Partial<LossOptions>;
  /** Put a NaN logit in sample 0. */
  readonly withNaN?: boolean;
  readonly seed?: number;
  /** Send confidence maps (top-1, margin, entropy) with each sample. */
  readonly confidence?: boolean;
  /**
   * As the panel host sends a sample: its quick maps first (pending), then their rest, the confidence maps
   * held until a confidence mode asks (requestConfidence) and each element's values in its details.
   */
  readonly twoStep?: boolean;
  /** A confidence-maps request fails (the host answers null). */
  readonly confidenceFails?: boolean;
  /** A comparison: run A is the same logits halved, run B these; summaries carry compare, samples delta. */
  readonly compare?: boolean;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Synthetic logits (N, C, ...spatial) and targets with blobs of classes, ignored borders and a confusing patch. */
export function syntheticRequest(o: CaseOptions): LossRequest {
  const [N, ...spatial] = o.lossShape;
  const C = o.C;
  const S = spatial.reduce((a, b) => a * b, 1);
  const W = spatial.length ? spatial[spatial.length - 1] : 1;
  const H = spatial.length >= 2 ? spatial[spatial.length - 2] : 1;
  const rnd = lcg(o.seed ?? 7);
  const x = new Float32Array(N * C * S);
  const t = new Int32Array(N * S);
  const ignoreIndex = o.options?.ignoreIndex ?? 255;
  for (let n = 0; n < N; n++) {
    const seeds = Array.from({ length: 6 }, () => ({ x: rnd() * W, y: rnd() * H, c: Math.floor(rnd() * C) }));
    const patch = { x: rnd() * W, y: rnd() * H, r: Math.max(2, Math.min(W, H) / 5) };
    for (let s = 0; s < S; s++) {
      const px = s % W;
      const py = Math.floor(s / W) % H;
      let best = 0;
      let bestD = Infinity;
      let second = Infinity;
      for (let k = 0; k < seeds.length; k++) {
        const d = Math.hypot(px - seeds[k].x, py - seeds[k].y);
        if (d < bestD) {
          second = bestD;
          bestD = d;
          best = k;
        } else if (d < second) second = d;
      }
      let cls = spatial.length ? seeds[best].c : Math.floor(rnd() * C);
      if (spatial.length >= 2 && second - bestD < 1.2) cls = ignoreIndex; // boundary band
      t[n * S + s] = cls;
      const inPatch = Math.hypot(px - patch.x, py - patch.y) < patch.r;
      const tc = cls === ignoreIndex ? seeds[best].c : cls;
      for (let c = 0; c < C; c++) {
        let v = (rnd() - 0.5) * 1.6;
        if (c === tc) v += inPatch ? -1.5 : 2.5 + Math.sin(px / 7) * 0.8;
        if (inPatch && c === (tc + 1) % C) v += 3;
        x[(n * C + c) * S + s] = v;
      }
    }
  }
  if (o.withNaN) x[3] = NaN;
  const input: Tensor = { dtype: 'float32', shape: [N, C, ...spatial], data: x };
  const target: Tensor = { dtype: 'int64', shape: [N, ...spatial], data: t };
  return { input, target, options: { ignoreIndex, ...o.options }, topK: 10 };
}

export class FakeHost {
  readonly posted: ViewToHost[] = [];
  private req: LossRequest;
  private result: LossResult;
  private weight: number[] | null = null;
  /** Run A of a comparison. */
  private resultA: LossResult | null = null;

  constructor(private readonly o: CaseOptions, private readonly send: (m: HostToView) => void) {
    this.req = syntheticRequest(o);
    this.result = computeLoss(this.req);
    if (o.compare) this.resultA = computeLoss({ ...this.req, input: { ...this.req.input, data: (this.req.input.data as Float32Array).map((v) => v / 2) } });
  }

  /** B (this run) against A: per-class means and counts over non-ignored elements. */
  compareSummary(): CompareSummary | null {
    const a = this.resultA;
    if (!a) return null;
    const b = this.result;
    const C = this.o.C;
    const sumA = new Float64Array(C);
    const sumB = new Float64Array(C);
    const n = new Float64Array(C);
    let improved = 0;
    let regressed = 0;
    for (let k = 0; k < b.lossMap.length; k++) {
      if (b.ignoredMask[k]) continue;
      const t = b.targetClass[k];
      sumA[t] += a.lossMap[k];
      sumB[t] += b.lossMap[k];
      n[t]++;
      if (b.lossMap[k] < a.lossMap[k]) improved++;
      else if (b.lossMap[k] > a.lossMap[k]) regressed++;
    }
    const perClass = Array.from({ length: C }, (_, c) => ({ class: c, meanA: sumA[c] / n[c], meanB: sumB[c] / n[c], deltaMeanLoss: (sumB[c] - sumA[c]) / n[c] }));
    return { labelA: 'runs/a.npy', labelB: 'runs/b.npy', valueA: a.value, valueB: b.value, delta: b.value !== null && a.value !== null ? b.value - a.value : null, improved, regressed, perClass };
  }

  get S(): number {
    return this.o.lossShape.slice(1).reduce((a, b) => a * b, 1);
  }

  summary(): ViewSummary {
    const s = toViewSummary(this.result, {
      title: 'Synthetic segmentation',
      input: { label: 'examples/logits.npy', shape: this.req.input.shape, dtype: 'float32' },
      target: { label: 'examples/target.npy', shape: this.req.target.shape, dtype: 'int64' },
      weight: this.weight,
      classNames: this.o.classNames ?? [],
      seconds: 0.042,
      engine: 'pure-ts (fake host)',
      mapsAvailable: true,
    });
    // toViewSummary leaves these to the host: the fake host adds them as the panel host would.
    const compare = this.compareSummary();
    const ceValue = this.result.ceValue;
    return { ...s, ...(compare ? { compare } : {}), ...(ceValue !== undefined ? { ceValue } : {}) } as ViewSummary;
  }

  private softmaxAt(n: number, s: number): number[] {
    const C = this.o.C;
    const S = this.S;
    const x = this.req.input.data as Float32Array;
    const v: number[] = [];
    for (let c = 0; c < C; c++) v.push(x[(n * C + c) * S + s]);
    const m = Math.max(...v);
    const e = v.map((a) => Math.exp(a - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((a) => a / z);
  }

  sample(n: number): SampleMaps {
    const r = this.result;
    const strip = this.o.lossShape.length === 1;
    const S = strip ? this.o.lossShape[0] : this.S;
    const base = strip ? 0 : n * S;
    const pTarget = new Float32Array(S);
    for (let s = 0; s < S; s++) {
      const k = base + s;
      const tc = r.targetClass[k];
      pTarget[s] = r.ignoredMask[k] ? NaN : this.softmaxAt(strip ? s : n, strip ? 0 : s)[tc];
    }
    let confidence: ConfidenceMaps | null = null;
    if (this.o.confidence) {
      const top1 = new Float32Array(S);
      const margin = new Float32Array(S);
      const entropy = new Float32Array(S);
      for (let s = 0; s < S; s++) {
        const p = this.softmaxAt(strip ? s : n, strip ? 0 : s);
        const sorted = [...p].sort((a, b) => b - a);
        top1[s] = sorted[0];
        margin[s] = sorted[0] - (sorted[1] ?? 0);
        entropy[s] = -p.reduce((acc, q) => acc + (q > 0 ? q * Math.log(q) : 0), 0);
      }
      confidence = { top1, margin, entropy };
    }
    const a = this.resultA;
    const delta = a ? Float32Array.from({ length: S }, (_, s) => (r.ignoredMask[base + s] ? NaN : r.lossMap[base + s] - a.lossMap[base + s])) : null;
    return {
      ...(confidence ? { confidence } : {}),
      ...(delta ? { delta } : {}),
      n: strip ? -1 : n,
      shape: strip ? [S] : this.o.lossShape.slice(1),
      loss: Float32Array.from(r.lossMap.subarray(base, base + S)),
      target: r.targetClass.slice(base, base + S),
      predicted: r.predicted.slice(base, base + S),
      ignored: r.ignoredMask.slice(base, base + S),
      pTarget,
    };
  }

  classMaps(n: number): ClassMaps {
    const strip = this.o.lossShape.length === 1;
    const S = strip ? this.o.lossShape[0] : this.S;
    const C = this.o.C;
    const probs = new Float32Array(C * S);
    for (let s = 0; s < S; s++) {
      const p = this.softmaxAt(strip ? s : n, strip ? 0 : s);
      for (let c = 0; c < C; c++) probs[c * S + s] = p[c];
    }
    return { n, shape: strip ? [S] : this.o.lossShape.slice(1), probs };
  }

  detail(n: number, index: readonly number[]): ElementDetail {
    const spatial = this.o.lossShape.slice(1);
    let flat = n < 0 ? (index.length ? index[0] : 0) : n;
    if (n >= 0) for (let a = 0; a < spatial.length; a++) flat = flat * spatial[a] + index[a];
    const full = explainElement(this.req, flat);
    const explanation = explainedForView(full);
    const top = full.probs
      .map((prob, cls) => ({ cls, input: full.inputs[cls], prob }))
      .sort((a, b) => b.prob - a.prob)
      .slice(0, 5);
    if (!this.o.twoStep || !this.o.confidence) return { n, index: [...index], explanation, top };
    const c = this.sample(n).confidence;
    const k = n < 0 ? flat : flat - n * this.S;
    return { n, index: [...index], explanation, top, ...(c ? { confidence: { top1: c.top1[k], margin: c.margin[k], entropy: c.entropy[k] } } : {}) };
  }

  /** Sample n as the host sends it: whole, or (twoStep) its quick maps, then their rest. */
  private sendSample(n: number): void {
    const full = this.sample(n);
    if (!this.o.twoStep) return this.send({ type: 'sample', maps: full });
    const { confidence: _c, ...quick } = full;
    this.send({ type: 'sample', maps: { ...quick, pTarget: null, pending: true } });
    this.send({ type: 'sampleRest', rest: restOf(holdConfidence(full)) });
  }

  /** As the real hosts do: every summary is followed by sample 0's maps (the strip's), unasked. */
  private sendSummary(): void {
    const summary = this.summary();
    this.send({ type: 'summary', summary });
    if (summary.mapsAvailable && summary.elementCount > 0 && summary.lossShape.length >= 1) this.sendSample(summary.lossShape.length >= 2 ? 0 : -1);
  }

  /** Handle one message from the view, answering synchronously through send. */
  handle(m: ViewToHost): void {
    this.posted.push(m);
    switch (m.type) {
      case 'ready':
        this.send({ type: 'progress', fraction: 0.5, message: 'Computing' });
        this.sendSummary();
        return;
      case 'selectSample':
        this.sendSample(m.n);
        return;
      case 'requestConfidence':
        this.send({ type: 'confidence', n: m.n, confidence: this.o.confidenceFails ? null : this.sample(m.n).confidence ?? null });
        return;
      case 'requestClassMaps':
        this.send({ type: 'classMaps', maps: this.classMaps(m.n) });
        return;
      case 'explain':
        this.send({ type: 'detail', detail: this.detail(m.n, m.index) });
        return;
      case 'setOptions':
        try {
          if (m.weight !== undefined) this.weight = m.weight ? [...m.weight] : null;
          const options = { ...this.req.options, ...m.options };
          const weight: Tensor | null = this.weight ? { dtype: 'float32', shape: [this.weight.length], data: Float32Array.from(this.weight) } : null;
          this.req = { ...this.req, options, weight };
          this.result = computeLoss(this.req);
          this.sendSummary();
        } catch (e) {
          this.send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
        }
        return;
      case 'findLabelIssues': {
        // The host's own code path: cleanlab's rules on the request's tensors, laid out for the view.
        this.send({ type: 'labelIssues', issues: { state: 'running' } });
        const o = this.result.options;
        const pair = pairLabelIssues(this.req.input, this.req.target, { classDim: o.classDim, ignoreIndex: o.ignoreIndex, inputKind: o.inputKind });
        this.send({ type: 'labelIssues', issues: viewLabelIssues({ flagged: flaggedOfMask(pair.mask), target: this.result.targetClass, predicted: this.result.predicted, classes: this.o.C, examples: pair.labelIssues.examples, origin: 'this batch', rule: pair.labelIssues.rule }) });
        return;
      }
      default:
        return;
    }
  }
}
