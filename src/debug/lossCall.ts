// A PyTorch loss call seen from a paused debuggee: which frame of a stack is one (an exception raised inside
// F.cross_entropy, nll_loss, binary_cross_entropy_with_logits, or the forward of nn.CrossEntropyLoss /
// nn.NLLLoss / nn.BCEWithLogitsLoss), the lens options its arguments mean, and a mechanical fix for the
// error it raised. Pure: the facts come from the debuggee (debuggeeCode.ts), the checking from the engine.
import type { LossOptions } from '../kernel/types';
import type { CallArguments, TargetFacts, Transform, ValueMeta } from './snippet';

export type LossFunction = 'cross_entropy' | 'nll_loss' | 'binary_cross_entropy_with_logits';

export interface LossFrame {
  /** Index of the frame in the stack (0 = top). */
  readonly index: number;
  readonly fn: LossFunction;
  /** The frame is an nn module's forward (arguments partly from `self`), not the functional. */
  readonly module: boolean;
}

const FUNCTIONAL = /(^|[/\\])torch[/\\]nn[/\\]functional\.py$/;
const MODULES = /(^|[/\\])torch[/\\]nn[/\\]modules[/\\]loss\.py$/;
const FUNCTIONS: readonly LossFunction[] = ['cross_entropy', 'nll_loss', 'binary_cross_entropy_with_logits'];

/**
 * The loss call an exception was raised in: the topmost functional frame of torch.nn.functional, else the
 * topmost forward of torch.nn.modules.loss (its class named by `moduleClass`, read in the debuggee).
 */
export function findLossFrame(frames: ReadonlyArray<{ readonly name: string; readonly path?: string }>): LossFrame | null {
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (FUNCTIONAL.test(f.path ?? '') && (FUNCTIONS as readonly string[]).includes(f.name)) return { index: i, fn: f.name as LossFunction, module: false };
  }
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (MODULES.test(f.path ?? '') && f.name === 'forward') return { index: i, fn: 'cross_entropy', module: true };
  }
  return null;
}

/** The functional a loss module's forward calls: its class, or the first of its bases, that the lens knows. */
export function functionOfModule(classNames: string | readonly string[]): LossFunction | null {
  for (const name of typeof classNames === 'string' ? [classNames] : classNames) {
    if (name === 'CrossEntropyLoss') return 'cross_entropy';
    if (name === 'NLLLoss') return 'nll_loss';
    if (name === 'BCEWithLogitsLoss') return 'binary_cross_entropy_with_logits';
  }
  return null;
}

/** The loss function of a call read in the debuggee (its functional, or its module's class and bases). */
export function functionOfCall(call: { readonly function?: string | null; readonly owner: string | null; readonly ownerMro?: readonly string[] }, frameFn: LossFunction | null, module: boolean): LossFunction | null {
  if (call.function && (FUNCTIONS as readonly string[]).includes(call.function)) return call.function as LossFunction;
  if (module || call.owner) return functionOfModule(call.ownerMro?.length ? call.ownerMro : call.owner ?? '');
  return frameFn;
}

export type CallOptions = Pick<LossOptions, 'loss' | 'reduction' | 'ignoreIndex' | 'labelSmoothing' | 'inputKind' | 'classDim'>;

/**
 * The lens options of the call, or why the lens cannot take it (the deprecated size_average/reduce, a
 * reduction it does not know). classDim is PyTorch's: 1 (0 for an unbatched 1-D input).
 */
export function optionsOfCall(fn: LossFunction, args: CallArguments): { readonly options: CallOptions } | { readonly problem: string } {
  const s = args.scalars;
  if ((s.size_average !== undefined && s.size_average !== null) || (s.reduce !== undefined && s.reduce !== null)) {
    return { problem: 'the call passes the deprecated size_average/reduce; the lens reads reduction only' };
  }
  const reduction = s.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') return { problem: `reduction=${JSON.stringify(reduction)} is not mean, sum or none` };
  const ignoreIndex = typeof s.ignore_index === 'number' && Number.isInteger(s.ignore_index) ? s.ignore_index : -100;
  const labelSmoothing = typeof s.label_smoothing === 'number' ? s.label_smoothing : 0;
  return {
    options: {
      loss: fn === 'binary_cross_entropy_with_logits' ? 'bce' : 'ce',
      reduction,
      ignoreIndex,
      labelSmoothing,
      inputKind: fn === 'nll_loss' ? 'log-probs' : 'logits',
      classDim: 1,
    },
  };
}

function fmtValue(m: ValueMeta): string {
  return `${m.label} [${m.shape.join(', ')}] ${m.dtype}${m.device !== 'cpu' ? ` ${m.device}` : ''}${m.requiresGrad ? ' requires_grad' : ''}`;
}

const PY_NAMES: Record<LossFunction, string> = { cross_entropy: 'F.cross_entropy', nll_loss: 'F.nll_loss', binary_cross_entropy_with_logits: 'F.binary_cross_entropy_with_logits' };

/** Python's spelling of a scalar argument. */
function pyScalar(v: string | number | boolean | null): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? String(v) : String(v).includes('.') || /e/.test(String(v)) ? String(v) : `${v}.0`;
  return v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? `float('${v === 'NaN' ? 'nan' : v === 'Infinity' ? 'inf' : '-inf'}')` : `'${v}'`;
}

/** The call as read from its frame: "F.cross_entropy(input [4, 21, 64, 64] float32, target [...] int64, ignore_index=-100, ...)". */
export function describeCall(fn: LossFunction, args: CallArguments): string {
  const parts: string[] = [];
  for (const name of ['input', 'target', 'weight', 'pos_weight']) {
    const t = args.tensors[name];
    if (t) parts.push(name === 'input' || name === 'target' ? fmtValue(t) : `${name}=${fmtValue(t)}`);
  }
  for (const [k, v] of Object.entries(args.scalars)) if (v !== null && k !== 'size_average' && k !== 'reduce') parts.push(`${k}=${pyScalar(v)}`);
  return `${PY_NAMES[fn]}(${parts.join(', ')})`;
}

/** A mechanical fix: what to do to the input or target (done in the debuggee), option changes, and the line to copy. */
export interface LossFix {
  readonly inputTransform: readonly Transform[];
  readonly targetTransform: readonly Transform[];
  readonly options: Partial<CallOptions>;
  /** The call with the fix, to copy: F.cross_entropy(input, target.argmax(1)). */
  readonly code: string;
  readonly note: string;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const isFloat = (dtype: string): boolean => /^(float|bfloat|half|double)/.test(dtype);
const isInt = (dtype: string): boolean => /^u?int/.test(dtype);

/**
 * The mechanical fix of a loss call's target or layout, from the facts alone (the caller checks it by
 * computing): a one-hot target → target.argmax(class axis); float class indices → target.long(); the class
 * axis last → input.movedim(-1, 1); one label value out of range everywhere (255 void) → ignore_index;
 * bce: an integer target → target.float(), a target missing the input's trailing 1 → target.view_as(input).
 * Null when none applies.
 */
export function proposeFix(fn: LossFunction, input: ValueMeta, target: TargetFacts, options: CallOptions, extra: string): LossFix | null {
  const call = (i: string, t: string, more: string = extra): string => `${PY_NAMES[fn]}(${i}, ${t}${more})`;
  if (fn === 'binary_cross_entropy_with_logits') {
    const transforms: Transform[] = [];
    let t = 'target';
    const notes: string[] = [];
    if (!sameShape(input.shape, target.shape) && sameShape(input.shape, [...target.shape, 1])) {
      transforms.push({ op: 'unsqueeze', dim: -1 });
      t = `${t}.view_as(input)`;
      notes.push('the target gets the input\'s trailing axis of 1');
    }
    if (!isFloat(target.dtype)) {
      transforms.push({ op: 'float' });
      t = `${t}.float()`;
      notes.push('binary cross-entropy takes float targets');
    }
    return transforms.length ? { inputTransform: [], targetTransform: transforms, options: {}, code: call('input', t), note: capitalize(notes.join('; ')) + '.' } : null;
  }
  const classDim = input.shape.length === 1 ? 0 : 1;
  const C = input.shape[classDim] ?? 0;
  const withoutClass = input.shape.filter((_, i) => i !== classDim);
  const classLast = [...withoutClass, C];
  // One-hot class indices (any dtype) or a float one-hot with the class axis last: argmax over it.
  const oneHot = target.oneHotDims ?? [];
  if (oneHot.length && sameShape(target.shape, input.shape) && oneHot.includes(classDim) && !isFloat(target.dtype)) {
    return { inputTransform: [], targetTransform: [{ op: 'argmax', dim: classDim }], options: {}, code: call('input', `target.argmax(${classDim})`), note: `The target is one-hot over the ${C} classes on axis ${classDim}; cross-entropy takes class indices (or float probabilities).` };
  }
  if (oneHot.length && input.shape.length > 2 && sameShape(target.shape, classLast) && oneHot.includes(target.shape.length - 1)) {
    return { inputTransform: [], targetTransform: [{ op: 'argmax', dim: -1 }], options: {}, code: call('input', 'target.argmax(-1)'), note: `The target is one-hot over the ${C} classes on its last axis (as F.one_hot writes it); cross-entropy takes class indices.` };
  }
  if (isFloat(target.dtype) && target.integral === true && sameShape(target.shape, withoutClass)) {
    return { inputTransform: [], targetTransform: [{ op: 'long' }], options: {}, code: call('input', 'target.long()'), note: 'The target holds class indices as floats; cross-entropy takes them as int64 (float targets must be probabilities of the input\'s shape).' };
  }
  // The class axis last ([B, T, V] with [B, T]; [N, H, W, C] with [N, H, W]).
  if (input.shape.length >= 3 && sameShape(target.shape, input.shape.slice(0, -1)) && !sameShape(target.shape, withoutClass)) {
    return { inputTransform: [{ op: 'movedim', source: -1, destination: 1 }], targetTransform: [], options: {}, code: call('input.movedim(-1, 1)', 'target'), note: `The classes are on the input's last axis (${input.shape[input.shape.length - 1]}); PyTorch reads them on axis 1.` };
  }
  const out = target.outOfRangeValues ?? [];
  if (isInt(target.dtype) && out.length === 1 && typeof out[0] === 'number' && out[0] !== options.ignoreIndex) {
    const v = out[0];
    const more = `${extra.replace(/, ignore_index=[^,)]*/, '')}, ignore_index=${v}`;
    return { inputTransform: [], targetTransform: [], options: { ignoreIndex: v }, code: call('input', 'target', more), note: `Every label outside 0..${C - 1} is ${v}${v === 255 ? ' (the usual void label)' : ''}: ignoring it leaves the rest in range.` };
  }
  return null;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The call's non-default scalar options as Python keywords, to repeat in a fix's line (", ignore_index=255"). */
export function extraKeywords(args: CallArguments): string {
  const s = args.scalars;
  const parts: string[] = [];
  if (args.tensors.weight) parts.push('weight=weight');
  if (args.tensors.pos_weight) parts.push('pos_weight=pos_weight');
  if (typeof s.ignore_index === 'number' && s.ignore_index !== -100) parts.push(`ignore_index=${s.ignore_index}`);
  if (typeof s.reduction === 'string' && s.reduction !== 'mean') parts.push(`reduction='${s.reduction}'`);
  if (typeof s.label_smoothing === 'number' && s.label_smoothing !== 0) parts.push(`label_smoothing=${pyScalar(s.label_smoothing)}`);
  return parts.map((p) => `, ${p}`).join('');
}
