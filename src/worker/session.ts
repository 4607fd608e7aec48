// One computed loss and what the view asks of it afterwards: the maps of one sample, the class
// probabilities of one sample, and the hand-check of one element. Sample data is read on demand (a range
// of the .npy for large files), so only the selected sample ever crosses to the view.
import { LensError, fmtShape } from '../errors';
import { explainElement } from '../kernel/index';
import { moveAxis } from '../kernel/layout';
import { normalizeAxis } from '../kernel/options';
import type { ClassMaps, ElementDetail, SampleMaps } from '../protocol';
import { numel, type Tensor, type TensorData } from '../tensor/tensor';
import type { ComputeControls, Engine, EngineRequest, EngineResult } from './engine';
import { closeNpy, isNpyPath, openNpy, readF32 } from './npyFile';
import { readTensorFile } from './readTensorFile';
import { allocShared, share, viewOf } from './shared';

interface Geometry {
  /** Samples the view can select (1 for a strip or an unbatched input). */
  readonly samples: number;
  /** True for (N, C) classification: one strip holds every sample. */
  readonly strip: boolean;
  /** Shape of one sample's map. */
  readonly shape: readonly number[];
  /** Elements per sample map. */
  readonly S: number;
  readonly C: number;
}

export class LossSession {
  private wholeInput: Tensor | null = null;
  private wholeTarget: Tensor | null = null;
  private readonly probsCache = new Map<number, Float32Array>();
  private readonly sampleCache = new Map<number, Float64Array>();
  readonly geometry: Geometry;

  private constructor(
    private readonly engine: Engine,
    readonly request: EngineRequest,
    readonly result: EngineResult,
  ) {
    this.geometry = geometryOf(result);
  }

  static async open(engine: Engine, request: EngineRequest, ctl?: ComputeControls): Promise<LossSession> {
    return new LossSession(engine, request, await engine.compute(request, ctl));
  }

  sampleMaps(n: number): SampleMaps {
    const g = this.geometry;
    const maps = this.result.maps;
    if (!maps) throw new LensError('io', 'per-pixel maps were not kept for this large input (it streamed); statistics only');
    const at = g.strip ? 0 : this.checkSample(n) * g.S;
    const len = g.S;
    const loss = Float32Array.from(maps.loss.subarray(at, at + len));
    return {
      n: g.strip ? -1 : n,
      shape: g.shape,
      loss,
      target: maps.targetClass.slice(at, at + len),
      predicted: maps.predicted.slice(at, at + len),
      ignored: maps.ignored.slice(at, at + len),
      pTarget: null,
    };
  }

  /** sampleMaps plus p(target), which needs the sample's class probabilities (computed in a worker). */
  async sampleMapsWithProbs(n: number): Promise<SampleMaps> {
    const m = this.sampleMaps(n);
    if (this.result.targetKind === 'probs') return m;
    const probs = await this.probabilities(n);
    const g = this.geometry;
    const pTarget = new Float32Array(g.S);
    if (this.result.targetKind === 'binary') {
      for (let s = 0; s < g.S; s++) pTarget[s] = m.target[s] ? probs[s] : 1 - probs[s];
    } else {
      for (let s = 0; s < g.S; s++) {
        const t = m.target[s];
        pTarget[s] = m.ignored[s] || t < 0 || t >= g.C ? NaN : probs[t * g.S + s];
      }
    }
    return { ...m, pTarget };
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
    const x = await this.sampleValues(g.strip ? 0 : this.checkSample(n));
    const row = new Float64Array(g.C);
    for (let c = 0; c < g.C; c++) row[c] = x[c * g.S + s];
    const input: Tensor = { dtype: 'float64', shape: [1, g.C], data: row };
    let target: Tensor;
    if (this.result.targetKind === 'probs') {
      const tr = new Float64Array(g.C);
      const t = this.sampleTensor(this.targetWhole(), g.strip ? 0 : n);
      for (let c = 0; c < g.C; c++) tr[c] = t[c * g.S + s];
      target = { dtype: 'float64', shape: [1, g.C], data: tr };
    } else {
      const maps = this.result.maps;
      const tv = maps ? maps.targetClass[(g.strip ? 0 : n * g.S) + s] : 0;
      target = { dtype: 'int64', shape: [1], data: Int32Array.of(tv) };
    }
    const weight = this.request.weight ? this.weightTensor() : null;
    const explanation = explainElement({ input, target, weight, options: { ...o, classDim: 1 } }, 0);
    const top = explanation.probs
      .map((p, cls) => ({ cls, input: explanation.inputs[cls], prob: p }))
      .sort((a, b) => (b.prob === b.prob ? b.prob : Infinity) - (a.prob === a.prob ? a.prob : Infinity))
      .slice(0, 3);
    return { n, index: [...index], explanation: { ...explanation, index: [...index] }, top };
  }

  private checkSample(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n >= this.geometry.samples) {
      throw new LensError('value', `sample ${n} is outside [0, ${this.geometry.samples - 1}]`);
    }
    return n;
  }

  private async probabilities(n: number): Promise<Float32Array> {
    const key = this.geometry.strip ? 0 : this.checkSample(n);
    const hit = this.probsCache.get(key);
    if (hit) return hit;
    const g = this.geometry;
    const x = await this.sampleValues(key);
    const xs = share({ dtype: 'float64', shape: [g.C * g.S], data: x });
    const out = allocShared('float32', [g.C * g.S], 'f32');
    const o = this.result.options;
    const r = await this.engine.runRaw({ kind: 'probs', id: 0, x: xs, C: g.C, S: g.S, inputKind: o.inputKind, loss: o.loss, out });
    if (r.kind === 'error') throw new LensError((r.lensKind as LensError['kind']) ?? 'io', r.message);
    const probs = viewOf(out).data as Float32Array;
    this.probsCache.clear(); // one sample at a time is what the view shows
    this.probsCache.set(key, probs);
    return probs;
  }

  /** The input values of sample n as (C, S) float64 (for bce: the sample's own layout). */
  private async sampleValues(n: number): Promise<Float64Array> {
    const hit = this.sampleCache.get(n);
    if (hit) return hit;
    const g = this.geometry;
    let out: Float64Array | null = null;
    const src = this.request.input;
    const o = this.result.options;
    const nd = this.result.input.shape.length;
    const standard = !g.strip && nd >= 2 && (o.loss === 'bce' || normalizeAxis(o.classDim, nd) === 1);
    if (src.kind === 'file' && standard && isNpyPath(src.path)) {
      const f = openNpy(src.path);
      try {
        if (!f.header.fortranOrder && (f.header.dtype === 'float32' || f.header.dtype === 'float16')) {
          const tmp = new Float32Array(g.C * g.S);
          await readF32(f, n * g.C * g.S, g.C * g.S, tmp, 0);
          out = Float64Array.from(tmp);
        }
      } finally {
        closeNpy(f);
      }
    }
    out ??= this.sampleTensor(this.inputWhole(), n);
    this.sampleCache.clear();
    this.sampleCache.set(n, out);
    return out;
  }

  /** Sample n of a whole tensor, class axis first: (C, S); for a strip, all samples: (C, N). */
  private sampleTensor(t: Tensor, n: number): Float64Array {
    const o = this.result.options;
    const g = this.geometry;
    const nd = t.shape.length;
    if (nd === 1) return Float64Array.from(t.data as ArrayLike<number>);
    if (o.loss === 'bce') {
      const per = numel(t.shape.slice(1));
      return Float64Array.from((t.data as TensorData).subarray(n * per, (n + 1) * per) as ArrayLike<number>);
    }
    const classAxis = normalizeAxis(o.classDim, nd) ?? 1;
    if (g.strip) return Float64Array.from(moveAxis(t, classAxis, 0).data as ArrayLike<number>);
    const per = numel(t.shape.slice(1));
    const sample: Tensor = { dtype: t.dtype, shape: t.shape.slice(1), data: (t.data as TensorData).subarray(n * per, (n + 1) * per) as TensorData };
    return Float64Array.from(moveAxis(sample, classAxis - 1, 0).data as ArrayLike<number>);
  }

  private inputWhole(): Tensor {
    const src = this.request.input;
    this.wholeInput ??= src.kind === 'tensor' ? src.tensor : readTensorFile(src.path, 'input');
    return this.wholeInput;
  }

  private targetWhole(): Tensor {
    const src = this.request.target;
    this.wholeTarget ??= src.kind === 'tensor' ? src.tensor : readTensorFile(src.path, 'target');
    return this.wholeTarget;
  }

  private weightTensor(): Tensor {
    const w = this.request.weight!;
    return w.kind === 'tensor' ? w.tensor : readTensorFile(w.path, 'weight');
  }
}

function geometryOf(r: EngineResult): Geometry {
  const ls = r.lossShape;
  const inShape = r.input.shape;
  const o = r.options;
  if (o.loss === 'bce') {
    if (ls.length <= 1) return { samples: 1, strip: true, shape: ls.length ? [ls[0]] : [1], S: ls.length ? ls[0] : 1, C: 1 };
    return { samples: ls[0], strip: false, shape: ls.slice(1), S: numel(ls.slice(1)), C: 1 };
  }
  const nd = inShape.length;
  const C = nd === 1 ? inShape[0] : inShape[normalizeAxis(o.classDim, nd) ?? 1];
  if (ls.length === 0) return { samples: 1, strip: true, shape: [1], S: 1, C };
  if (ls.length === 1) return { samples: 1, strip: true, shape: [ls[0]], S: ls[0], C };
  return { samples: ls[0], strip: false, shape: ls.slice(1), S: numel(ls.slice(1)), C };
}

function flatIndex(index: readonly number[], shape: readonly number[]): number {
  if (index.length !== shape.length) throw new LensError('value', `index ${fmtShape(index)} does not address a map of shape ${fmtShape(shape)}`);
  let f = 0;
  for (let d = 0; d < shape.length; d++) {
    if (!(index[d] >= 0 && index[d] < shape[d])) throw new LensError('value', `index ${fmtShape(index)} is outside the map of shape ${fmtShape(shape)}`);
    f = f * shape[d] + index[d];
  }
  return f;
}
