// How the view slices a computed loss: which samples it can select, the shape of one sample's map, one
// sample's input as (C, S), p(target), and the hand-check of one element. Pure: the worker-backed
// session (extension host) and the in-page session (notebook renderer without a host) both use it.
import { LensError, fmtShape } from '../../errors';
import { numel, type Tensor, type TensorData } from '../../tensor/tensor';
import { explainElement } from '../index';
import { topIndices } from '../topIndices';
import { mapLayout } from '../../mapLayout';
import { moveAxis } from '../layout';
import { normalizeAxis } from '../options';
import type { ElementExplanation, LossOptions, LossResult } from '../types';

export interface SampleGeometry {
  /** Samples the view can select (1 for a strip or an unbatched input). */
  readonly samples: number;
  /** True where one map holds every sample: (N, C) classification's strip, a multi-label [N, C] matrix. */
  readonly strip: boolean;
  /** Shape of one sample's map. */
  readonly shape: readonly number[];
  /** Elements per sample map. */
  readonly S: number;
  readonly C: number;
}

export function sampleGeometry(r: { readonly lossShape: readonly number[]; readonly options: LossOptions; readonly input: { readonly shape: readonly number[] } }): SampleGeometry {
  const ls = r.lossShape;
  const inShape = r.input.shape;
  const o = r.options;
  if (o.loss === 'bce' || o.loss === 'sigmoid-focal') {
    const layout = mapLayout(ls, o.loss);
    if (!layout.perSample) {
      const shape = ls.length ? layout.shape : [1];
      return { samples: 1, strip: true, shape, S: numel(shape), C: 1 };
    }
    return { samples: ls[0], strip: false, shape: layout.shape, S: numel(layout.shape), C: 1 };
  }
  const nd = inShape.length;
  const C = nd === 1 ? inShape[0] : inShape[normalizeAxis(o.classDim, nd) ?? 1];
  if (ls.length === 0) return { samples: 1, strip: true, shape: [1], S: 1, C };
  if (ls.length === 1) return { samples: 1, strip: true, shape: [ls[0]], S: ls[0], C };
  return { samples: ls[0], strip: false, shape: ls.slice(1), S: numel(ls.slice(1)), C };
}

export function checkSample(g: SampleGeometry, n: number): number {
  if (g.samples === 0) throw new LensError('value', `the loss map has no samples (its batch size is 0): there is no sample ${n} to show`);
  if (!Number.isInteger(n) || n < 0 || n >= g.samples) throw new LensError('value', `sample ${n} is outside [0, ${g.samples - 1}]`);
  return n;
}

export function flatIndex(index: readonly number[], shape: readonly number[]): number {
  if (index.length !== shape.length) throw new LensError('value', `index ${fmtShape(index)} does not address a map of shape ${fmtShape(shape)}`);
  let f = 0;
  for (let d = 0; d < shape.length; d++) {
    if (!(index[d] >= 0 && index[d] < shape[d])) throw new LensError('value', `index ${fmtShape(index)} is outside the map of shape ${fmtShape(shape)}`);
    f = f * shape[d] + index[d];
  }
  return f;
}

/** Sample n of a whole tensor, class axis first: (C, S); for a strip, all samples: (C, N) (bce: the whole input). */
export function sampleTensor(t: Tensor, n: number, o: LossOptions, g: SampleGeometry): Float64Array {
  const nd = t.shape.length;
  // An elementwise loss has no class axis to move: the whole input for a strip or matrix, else sample n's block.
  if (nd === 1 || (g.strip && (o.loss === 'bce' || o.loss === 'sigmoid-focal'))) return Float64Array.from(t.data as ArrayLike<number>);
  if (o.loss === 'bce' || o.loss === 'sigmoid-focal') {
    const per = numel(t.shape.slice(1));
    return Float64Array.from((t.data as TensorData).subarray(n * per, (n + 1) * per) as ArrayLike<number>);
  }
  const classAxis = normalizeAxis(o.classDim, nd) ?? 1;
  if (g.strip) return Float64Array.from(moveAxis(t, classAxis, 0).data as ArrayLike<number>);
  const per = numel(t.shape.slice(1));
  const sample: Tensor = { dtype: t.dtype, shape: t.shape.slice(1), data: (t.data as TensorData).subarray(n * per, (n + 1) * per) as TensorData };
  return Float64Array.from(moveAxis(sample, classAxis - 1, 0).data as ArrayLike<number>);
}

/** Softmax probability of each element's target class (NaN where ignored); for bce, p of the label. */
export function targetProbabilities(
  targetKind: LossResult['targetKind'], probs: Float32Array, target: ArrayLike<number>, ignored: Uint8Array, g: SampleGeometry,
): Float32Array {
  const pTarget = new Float32Array(g.S);
  if (targetKind === 'binary') {
    for (let s = 0; s < g.S; s++) pTarget[s] = target[s] ? probs[s] : 1 - probs[s];
  } else {
    for (let s = 0; s < g.S; s++) {
      const t = target[s];
      pTarget[s] = ignored[s] || t < 0 || t >= g.C ? NaN : probs[t * g.S + s];
    }
  }
  return pTarget;
}

/** Everything the breakdown of element `s` of a sample needs, already sliced to that element. */
export interface ElementInputs {
  /** The sample's input as (C, S) (sampleTensor). */
  readonly x: Float64Array | Float32Array;
  /** For probability targets: the sample's target as (C, S); else null. */
  readonly targetProbs: Float64Array | Float32Array | null;
  /** For class-index targets: the element's target class. */
  readonly targetClass: number;
  readonly weight: Tensor | null;
}

/** The hand-check of one element plus its top-3 classes by probability. */
export function explainSampleElement(
  o: LossOptions, targetKind: LossResult['targetKind'], g: SampleGeometry, s: number, e: ElementInputs,
): { readonly explanation: ElementExplanation; readonly top: ReadonlyArray<{ readonly cls: number; readonly input: number; readonly prob: number }> } {
  if (o.loss !== 'ce') throw new LensError('option', 'the step-by-step breakdown covers cross-entropy (loss ce)');
  const row = new Float64Array(g.C);
  for (let c = 0; c < g.C; c++) row[c] = e.x[c * g.S + s];
  const input: Tensor = { dtype: 'float64', shape: [1, g.C], data: row };
  let target: Tensor;
  if (targetKind === 'probs' && e.targetProbs) {
    const tr = new Float64Array(g.C);
    for (let c = 0; c < g.C; c++) tr[c] = e.targetProbs[c * g.S + s];
    target = { dtype: 'float64', shape: [1, g.C], data: tr };
  } else {
    target = { dtype: 'int64', shape: [1], data: Int32Array.of(e.targetClass) };
  }
  const explanation = explainElement({ input, target, weight: e.weight, options: { ...o, classDim: 1 } }, 0);
  // The three most probable, a NaN probability first (it is what went wrong), in one pass over C.
  const top = topIndices(g.C, (c) => (explanation.probs[c] === explanation.probs[c] ? explanation.probs[c] : Infinity), 3)
    .map((cls) => ({ cls, input: explanation.inputs[cls], prob: explanation.probs[cls] }));
  return { explanation, top };
}
