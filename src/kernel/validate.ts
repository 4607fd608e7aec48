// Shape, dtype and value checks for cross-entropy, bce and the focal losses, raising one-line errors that
// name the shapes and the first offending index and suggest the fix. Produces the normalised (N, C, S)
// problem the loops run on.
import { LensError, fmtShape, unravelIndex } from '../errors';
import type { Tensor, TensorData } from '../tensor/tensor';
import { isFloatDType, numel } from '../tensor/tensor';
import { MAX_CLASSES, tooManyClassesError } from './classLimits';
import { broadcastTo, moveAxis } from './layout';
import { normalizeAxis } from './options';
import type { LossOptions, LossRequest } from './types';

export interface CeProblem {
  /** focal shares cross-entropy's layout and checks (class-index targets only). */
  readonly loss: 'ce' | 'focal';
  readonly targetKind: 'index' | 'probs';
  /** Input in (N, C, S) C-order. */
  readonly x: TensorData;
  /** Index targets (N, S) or probability targets (N, C, S). */
  readonly t: TensorData;
  readonly w: Float64Array | null;
  readonly N: number;
  readonly C: number;
  readonly S: number;
  readonly lossShape: readonly number[];
  readonly options: LossOptions;
}

export interface BceProblem {
  /** sigmoid-focal shares bce's elementwise layout (no weights). */
  readonly loss: 'bce' | 'sigmoid-focal';
  readonly targetKind: 'binary';
  readonly x: TensorData;
  readonly t: TensorData;
  /** Broadcast to the input's shape. */
  readonly w: Float64Array | null;
  readonly pw: Float64Array | null;
  /** Statistics group elements by the class axis: element (outer, c, inner). */
  readonly outer: number;
  readonly C: number;
  readonly inner: number;
  readonly lossShape: readonly number[];
  readonly options: LossOptions;
}

export type Problem = CeProblem | BceProblem;

const SQUEEZE_HINT = (axis: number): string => `target.squeeze(${axis}) in PyTorch, np.squeeze(target, ${axis}) in NumPy`;

/**
 * A stand-in with a tensor's dtype and shape but no values, for checking shapes from headers alone: the
 * range scan over an empty array finds nothing, so buildProblem reports only shape and dtype problems.
 */
export function shapeOnly(t: { readonly dtype: Tensor['dtype']; readonly shape: readonly number[] }): Tensor {
  return { dtype: t.dtype, shape: t.shape, data: isFloatDType(t.dtype) ? new Float32Array(0) : new Int32Array(0) };
}

export function buildProblem(req: LossRequest, options: LossOptions): Problem {
  switch (options.loss) {
    case 'bce':
      return buildBce(req, options);
    case 'sigmoid-focal':
      return buildSigmoidFocal(req, options);
    case 'focal': {
      if (req.posWeight) {
        throw new LensError('option', `pos_weight applies to bce only; focal takes per-class alpha as the weight tensor (CLI --weight)`);
      }
      const p = buildCe(req, options);
      if (p.targetKind !== 'index') {
        throw new LensError(
          'option',
          `focal takes class-index targets; probability targets (target of the input's shape ${fmtShape(req.input.shape)}) are not supported — pass target.argmax(${options.classDim}) as class indices, or use loss ce`,
        );
      }
      return p;
    }
    default:
      return buildCe(req, options);
  }
}

function buildSigmoidFocal(req: LossRequest, options: LossOptions): BceProblem {
  if (req.weight || req.posWeight) {
    throw new LensError('option', `sigmoid-focal takes no ${req.weight ? 'weight' : 'pos_weight'} (torchvision's sigmoid_focal_loss has none): balance positives and negatives with alpha (CLI --alpha)`);
  }
  return { ...buildBce(req, options), loss: 'sigmoid-focal' };
}

/** PyTorch's scalar type names in its cast errors ("result type Float can't be cast to ... Long"). */
const TORCH_TYPE_NAME: Partial<Record<Tensor['dtype'], string>> = { int64: 'Long', int32: 'Int', int16: 'Short', int8: 'Char', uint8: 'Byte' };

/** A binary loss by the name its messages use. */
function bceName(loss: 'bce' | 'sigmoid-focal'): string {
  return loss === 'bce' ? 'bce (binary_cross_entropy_with_logits)' : 'sigmoid-focal';
}

/**
 * Why PyTorch refuses a binary loss's operand of an integer or bool dtype: it computes in floats and writes
 * them back into that dtype (boolWhy: its message for bool), or the dtype has no tensors in PyTorch at all.
 */
function bceCastWhy(dtype: Tensor['dtype'], boolWhy: string): string {
  const torchName = TORCH_TYPE_NAME[dtype];
  if (dtype === 'bool') return `PyTorch raises: ${boolWhy}`;
  return torchName === undefined ? NO_TORCH_DTYPE : `PyTorch raises: result type Float can't be cast to the desired output type ${torchName}`;
}

const NO_TORCH_DTYPE = 'PyTorch has no tensors of this dtype';

/**
 * binary_cross_entropy_with_logits (and torchvision's sigmoid_focal_loss on it) mixes the target with float
 * terms in place: PyTorch refuses integer and bool targets, so the extension does too.
 */
function floatTargetOnly(dtype: Tensor['dtype'], loss: 'bce' | 'sigmoid-focal'): void {
  if (isFloatDType(dtype)) return;
  const why = bceCastWhy(dtype, 'subtraction with bool tensors is not supported');
  throw new LensError('dtype', `${bceName(loss)} takes floating point targets (0/1 or soft), got dtype ${dtype} (${why}) — cast with target.float() / target.astype(np.float32)`);
}

/**
 * PyTorch computes these losses in the input's dtype and has no integer kernels for them: cross_entropy and
 * focal fail in log_softmax, nll_loss on log-probabilities in nll_loss itself, and bce when the float result
 * is written back into the integer input's type. Probabilities (inputKind 'probs') go through torch.log
 * first, which returns floats, so integer probabilities are accepted as PyTorch accepts log(p).
 */
function floatInputOnly(dtype: Tensor['dtype'], loss: LossOptions['loss'], inputKind: LossOptions['inputKind']): void {
  if (isFloatDType(dtype) || (inputKind === 'probs' && (loss === 'ce' || loss === 'focal'))) return;
  let what: string;
  let why: string;
  if (loss === 'bce' || loss === 'sigmoid-focal') {
    what = `${bceName(loss)} takes floating point logits`;
    why = bceCastWhy(dtype, 'negation on a bool tensor is not supported');
  } else {
    const name = loss === 'focal' ? 'focal' : 'cross-entropy';
    const logProbs = inputKind === 'log-probs';
    what = logProbs ? `${name} on log-probabilities (nll_loss) takes a floating point input` : `${name} takes floating point logits`;
    const torchName = dtype === 'bool' ? 'Bool' : TORCH_TYPE_NAME[dtype];
    why = torchName === undefined ? NO_TORCH_DTYPE : `PyTorch raises: "${logProbs ? 'nll_loss_out_frame' : 'log_softmax_lastdim_kernel_impl'}" not implemented for '${torchName}'`;
  }
  throw new LensError('dtype', `input has dtype ${dtype}: ${what} (${why}) — cast with input.float() / input.astype(np.float32); in JSON, write 2.0 rather than 2`);
}

function buildCe(req: LossRequest, options: LossOptions): CeProblem {
  let input = req.input;
  let target = req.target;
  const nd = input.shape.length;
  if (nd === 0) {
    throw new LensError('shape', `input is a 0-d tensor (a single number); cross-entropy needs a class axis: shape (C), (N, C) or (N, C, d1, ...)`);
  }
  floatInputOnly(input.dtype, options.loss, options.inputKind);
  // A 1-D input has only its class axis; the default classDim (1) means "PyTorch's layout" there.
  const classAxis = nd === 1 ? (options.classDim === 1 ? 0 : normalizeAxis(options.classDim, 1)) : normalizeAxis(options.classDim, nd);
  if (classAxis === null) {
    throw new LensError('option', `classDim ${options.classDim} out of range for input ${fmtShape(input.shape)} (${nd} axes): use an axis in [${-nd}, ${nd - 1}]`);
  }
  const probShaped = sameShape(input.shape, target.shape);
  const originalInputShape = input.shape;
  if (nd >= 2 && classAxis !== 1) {
    input = moveAxis(input, classAxis, 1);
    if (probShaped) target = moveAxis(target, classAxis, 1);
  }
  const shape = input.shape;
  const C = nd === 1 ? shape[0] : shape[1];
  const N = nd === 1 ? 1 : shape[0];
  const spatial = nd <= 2 ? [] : shape.slice(2);
  const S = numel(spatial);
  const lossShape = nd === 1 ? [] : [N, ...spatial];
  // Without loss elements no per-class figure is needed and any C gives PyTorch's answer (mean NaN, sum 0).
  if (C > MAX_CLASSES && N * S > 0) throw tooManyClassesError(C, originalInputShape);

  const w = weightVector(req.weight ?? null, C, shape);

  if (probShaped) {
    if (!isFloatDType(target.dtype)) {
      throw new LensError(
        'dtype',
        `target has the input's shape ${fmtShape(originalInputShape)} but dtype ${target.dtype}: probability targets must be floating point; class-index targets must not have the class axis (expected ${fmtShape(indexTargetShape(originalInputShape, classAxis))}) — cast probabilities with .float(), or take target.argmax(${classAxis}) for indices`,
      );
    }
    if (options.ignoreIndex >= 0) {
      throw new LensError('option', `ignore_index is not supported for floating point (probability) targets; got ignore_index ${options.ignoreIndex} — set it to a negative value such as -100`);
    }
    return { loss: options.loss === 'focal' ? 'focal' : 'ce', targetKind: 'probs', x: input.data, t: target.data, w, N, C, S, lossShape, options };
  }

  const expected = lossShape;
  if (!sameShape(target.shape, expected)) {
    throw new LensError('shape', targetShapeMessage(originalInputShape, target.shape, expected, classAxis, options.classDim));
  }
  if (isFloatDType(target.dtype)) {
    throw new LensError(
      'dtype',
      `target has dtype ${target.dtype} and shape ${fmtShape(target.shape)}: class-index targets must be integers, probability targets must have the input's shape ${fmtShape(originalInputShape)} — cast indices with target.long() / target.astype(np.int64)`,
    );
  }
  if (target.dtype === 'bool') {
    throw new LensError('dtype', `target has dtype bool: class-index targets must be integers — cast with target.long() / target.astype(np.int64)`);
  }
  // PyTorch's nll_loss views a 3-D or 5-D+ input as (N, C, 1, -1), which for an input without classes becomes
  // (N, 0, 0, 0) and no longer matches a non-empty target: it raises a size mismatch before looking at values.
  if (C === 0 && (nd === 3 || nd >= 5) && numel(target.shape) > 0) {
    throw new LensError(
      'shape',
      `input ${fmtShape(originalInputShape)} has no classes (C = 0) and its target ${fmtShape(target.shape)} is not empty: PyTorch raises a size mismatch for a ${nd}-D input like this (nll_loss sees input [${N}, 0, 0, 0], target [${N}, 1, ${numel(spatial)}]) — check how the logits were produced; an input needs at least one class`,
    );
  }
  checkIndexRange(target, C, options.ignoreIndex);
  return { loss: options.loss === 'focal' ? 'focal' : 'ce', targetKind: 'index', x: input.data, t: target.data, w, N, C, S, lossShape, options };
}

function indexTargetShape(inputShape: readonly number[], classAxis: number): number[] {
  return inputShape.filter((_, d) => d !== classAxis);
}

function targetShapeMessage(
  inputShape: readonly number[],
  targetShape: readonly number[],
  expected: readonly number[],
  classAxis: number,
  classDim: number,
): string {
  const nd = inputShape.length;
  const head = `target shape ${fmtShape(targetShape)} does not fit input ${fmtShape(inputShape)}`;
  // The classic segmentation mistake: a mask kept with its channel axis, [N, 1, H, W].
  if (targetShape.length === nd && nd >= 2 && targetShape[classAxis] === 1) {
    const squeezed = targetShape.filter((_, d) => d !== classAxis);
    if (sameShape(squeezed, indexTargetShape(inputShape, classAxis))) {
      return `${head}: the target has a singleton channel axis (axis ${classAxis}); class-index targets have no class axis — squeeze axis ${classAxis} (${SQUEEZE_HINT(classAxis)}) to get ${fmtShape(squeezed)}`;
    }
  }
  if (nd >= 2 && targetShape.length >= 1 && targetShape[0] !== inputShape[0] && targetShape.length === expected.length) {
    return `${head}: expected input batch_size (${inputShape[0]}) to match target batch_size (${targetShape[0]}); expected target shape ${fmtShape(expected)}`;
  }
  // Channels-last data read with the default class axis.
  if (nd >= 2 && classDim === 1 && sameShape(targetShape, inputShape.slice(0, nd - 1))) {
    return `${head}: it matches the input without its last axis — if the classes are on the last axis (channels-last), set classDim to -1 (CLI --class-dim -1)`;
  }
  if (nd === 1) {
    return `${head}: an unbatched input (C) takes a 0-d class-index target (a single integer) or a probability target of shape ${fmtShape(inputShape)}`;
  }
  return `${head}: expected class-index target ${fmtShape(expected)} (input without its class axis ${classAxis}) or a probability target ${fmtShape(inputShape)}`;
}

function checkIndexRange(target: Tensor, C: number, ignoreIndex: number): void {
  const t = target.data;
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    if (v !== ignoreIndex && (v < 0 || v >= C)) throw targetRangeError(v, i, target.shape, C, ignoreIndex);
  }
}

/** The error for a class-index target outside [0, C) (also raised by the engine for its fast path). */
export function targetRangeError(v: number, flat: number, shape: readonly number[], C: number, ignoreIndex: number): LensError {
  const at = shape.length ? ` at index ${fmtShape(unravelIndex(flat, shape))}` : '';
  if (C === 0) {
    return new LensError('value', `target value ${v}${at} is out of bounds: the input has no classes (C = 0), so every target must equal ignore_index (${ignoreIndex}) — check how the logits were produced`);
  }
  const hint = v === 255 || v < 0 ? ` — if ${v} marks elements to skip, set ignore_index to ${v}` : ` — check the number of classes or the label encoding`;
  return new LensError('value', `target value ${v}${at} is out of bounds for ${C} classes (valid 0..${C - 1}, ignore_index ${ignoreIndex})${hint}`);
}

function weightVector(weight: Tensor | null, C: number, inputShape: readonly number[]): Float64Array | null {
  if (!weight) return null;
  if (weight.shape.length !== 1 || weight.shape[0] !== C) {
    throw new LensError(
      'shape',
      `weight tensor should be defined either for all ${C} classes or no classes but got weight of shape ${fmtShape(weight.shape)} (input ${fmtShape(inputShape)} has ${C} classes) — pass one weight per class`,
    );
  }
  return Float64Array.from(weight.data as ArrayLike<number>);
}

function buildBce(req: LossRequest, options: LossOptions): BceProblem {
  const { input, target } = req;
  if (!sameShape(input.shape, target.shape)) {
    const what = options.loss === 'sigmoid-focal' ? 'sigmoid-focal (torchvision sigmoid_focal_loss)' : 'bce (binary_cross_entropy_with_logits)';
    throw new LensError('shape', `Target size ${fmtShape(target.shape)} must be the same as input size ${fmtShape(input.shape)} for ${what}: one 0/1 (or soft) target per logit`);
  }
  floatTargetOnly(target.dtype, options.loss === 'sigmoid-focal' ? 'sigmoid-focal' : 'bce');
  floatInputOnly(input.dtype, options.loss, options.inputKind);
  const nd = input.shape.length;
  let axis = 0;
  if (nd >= 2) {
    const a = normalizeAxis(options.classDim, nd);
    if (a === null) {
      throw new LensError('option', `classDim ${options.classDim} out of range for input ${fmtShape(input.shape)} (${nd} axes): use an axis in [${-nd}, ${nd - 1}]`);
    }
    axis = a;
  }
  const C = nd === 0 ? 1 : input.shape[axis];
  const outer = nd === 0 ? 1 : numel(input.shape.slice(0, axis));
  const inner = nd === 0 ? 1 : numel(input.shape.slice(axis + 1));
  const bcast = (t: Tensor | null | undefined, what: string): Float64Array | null => {
    if (!t) return null;
    const out = broadcastTo(t, input.shape);
    if (!out) {
      const hint = t.shape.length === 1 && nd >= 2 ? ` — a 1-D ${what} broadcasts along the last axis; for per-class values on axis ${axis} reshape it to ${fmtShape([C, ...new Array<number>(nd - axis - 1).fill(1)])}` : '';
      throw new LensError('shape', `${what} of shape ${fmtShape(t.shape)} does not broadcast to the input's shape ${fmtShape(input.shape)}${hint}`);
    }
    return out;
  };
  return {
    loss: 'bce',
    targetKind: 'binary',
    x: input.data,
    t: target.data,
    w: bcast(req.weight, 'weight'),
    pw: bcast(req.posWeight, 'pos_weight'),
    outer,
    C,
    inner,
    lossShape: [...input.shape],
    options,
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
