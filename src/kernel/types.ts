// Public types of the loss kernel. The worker protocol, the CLI, the panel and the parity tests all use
// these, so changes here are contract changes.
import type { ConfusionPair } from './confusion';

export type Reduction = 'none' | 'mean' | 'sum';
export type InputKind = 'logits' | 'probs' | 'log-probs';
export type LossKind = 'ce' | 'bce' | 'focal' | 'sigmoid-focal';

export interface LossOptions {
  /**
   * 'ce' = F.cross_entropy (default); 'bce' = F.binary_cross_entropy_with_logits; 'focal' = multi-class
   * focal loss -alpha[t] (1 - p_t)^gamma log p_t (alpha = the class weights); 'sigmoid-focal' =
   * torchvision.ops.sigmoid_focal_loss.
   */
  readonly loss: LossKind;
  readonly reduction: Reduction;
  /** Class index whose targets are skipped (ce with class-index targets). Any integer. */
  readonly ignoreIndex: number;
  /** In [0, 1]. ce only. */
  readonly labelSmoothing: number;
  /** ce only: logits (log_softmax is applied), probs (log is applied), log-probs (used as is, nll_loss). */
  readonly inputKind: InputKind;
  /** Axis of the input holding classes; moved to axis 1 (axis 0 for an unbatched 1-D input) first. */
  readonly classDim: number;
  /** focal and sigmoid-focal: the focusing exponent, finite and >= 0 (0 gives back cross-entropy / bce). */
  readonly gamma: number;
  /** sigmoid-focal only: weight of positives (1 - alpha for negatives); a negative alpha turns weighting off. */
  readonly alpha: number;
}

export const DEFAULT_OPTIONS: LossOptions = {
  loss: 'ce',
  reduction: 'mean',
  ignoreIndex: -100,
  labelSmoothing: 0,
  inputKind: 'logits',
  classDim: 1,
  gamma: 2,
  alpha: 0.25,
};

/** Per target class statistics (class = target index, or argmax of a probability target). */
export interface ClassStats {
  readonly index: number;
  /** Non-ignored elements whose target is this class. */
  readonly count: number;
  /** Ignored elements whose target is this class (only possible when ignore_index is in [0, C)). */
  readonly ignored: number;
  /** Sum of the unreduced loss over this class's elements. */
  readonly lossSum: number;
  /** lossSum / count (NaN when count is 0). */
  readonly lossMean: number;
  /** weight[c] (1 without weights). */
  readonly weight: number;
  /** lossSum / total loss sum. */
  readonly share: number;
  /** Elements of this class predicted as this class / count (recall). */
  readonly accuracy: number;
  /** tp / (tp + fp + fn) over non-ignored elements. */
  readonly iou: number;
  /** Elements predicted as this class (non-ignored). */
  readonly predicted: number;
  /** tp / predicted (NaN when nothing was predicted as this class); bce: per channel. */
  readonly precision: number;
  /**
   * focal only: mean plain (unweighted) cross-entropy -log p_t over this class's non-ignored elements
   * (NaN when count is 0), to read beside the focal lossMean.
   */
  readonly ceMean?: number;
}

export interface WorstElement {
  /** Flat C-order offset into the loss map. */
  readonly flat: number;
  /** Multi-index into the loss map (shape lossShape). */
  readonly index: readonly number[];
  readonly loss: number;
  readonly target: number;
  readonly predicted: number;
}

export interface LossStats {
  readonly numClasses: number;
  /** One entry per class; none for a loss map without elements of more than EMPTY_PER_CLASS_MAX classes. */
  readonly perClass: readonly ClassStats[];
  /**
   * Row = target class, column = predicted class; row-major numClasses x numClasses while numClasses is
   * at most CONFUSION_MATRIX_MAX_CLASSES (src/kernel/confusion.ts), else empty: see topConfusions.
   */
  readonly confusion: Float64Array;
  /** The most frequent off-diagonal (target, predicted) pairs, exact counts, most frequent first. */
  readonly topConfusions: readonly ConfusionPair[];
  readonly ignoredCount: number;
  readonly elementCount: number;
  /** Overall accuracy over non-ignored elements. */
  readonly accuracy: number;
  readonly nanCount: number;
  readonly infCount: number;
  /** Largest losses first (NaN ranks above everything). */
  readonly worst: readonly WorstElement[];
}

export interface LossResult {
  readonly options: LossOptions;
  /** The reduced loss; for reduction 'none' it is null. */
  readonly value: number | null;
  /** Shape of the unreduced loss (what reduction='none' returns). */
  readonly lossShape: readonly number[];
  /** The unreduced loss, C-order, always computed (ignored elements are 0, as PyTorch returns). */
  readonly lossMap: Float64Array;
  /**
   * The reduction's actual fraction: value = numerator / denominator for 'mean'; numerator for 'sum'.
   * For 'mean' with class-index targets the denominator is the summed weight of non-ignored targets;
   * with probability targets (or bce) it is the element count (0 for an input without classes, whose mean
   * PyTorch gives as NaN).
   */
  readonly numerator: number;
  readonly denominator: number;
  /** Class index of each loss-map element (argmax over classes), C-order, shape lossShape. */
  readonly predicted: Int32Array;
  /** Target class per element for class-index targets (ignored keep their value); argmax for probabilities. */
  readonly targetClass: Int32Array;
  /** 1 where the element is ignored. */
  readonly ignoredMask: Uint8Array;
  readonly targetKind: 'index' | 'probs' | 'binary';
  readonly stats: LossStats;
  /**
   * focal only: F.cross_entropy of the same input with the same weight, ignore_index and reduction (null
   * for reduction none), to read beside the focal value.
   */
  readonly ceValue?: number | null;
}

/** Everything computeLoss needs. Tensors are C-order (see src/tensor/tensor.ts). */
export interface LossRequest {
  readonly input: import('../tensor/tensor').Tensor;
  readonly target: import('../tensor/tensor').Tensor;
  readonly weight?: import('../tensor/tensor').Tensor | null;
  /** bce only: broadcast against the input like PyTorch (a 1-D tensor broadcasts along the last axis). */
  readonly posWeight?: import('../tensor/tensor').Tensor | null;
  readonly options?: Partial<LossOptions>;
  /** How many worst elements to list in stats.worst (default 10). */
  readonly topK?: number;
}

/** The per-element breakdown a person does by hand to check a loss (cross-entropy, class-index or probs). */
export interface ElementExplanation {
  /** Multi-index into the loss map. */
  readonly index: readonly number[];
  /** The raw input values of this element over classes, as given (logits, probs or log-probs). */
  readonly inputs: readonly number[];
  /** log-probabilities used by the loss (log_softmax(logits), log(probs), or the log-probs as given). */
  readonly logProbs: readonly number[];
  readonly probs: readonly number[];
  /** logits only: the row max subtracted for stability, exp(x - max) per class and their sum. */
  readonly max: number | null;
  readonly expShifted: readonly number[] | null;
  readonly sumExp: number | null;
  /** Class-index target (null for probability targets) and whether it is ignored. */
  readonly target: number | null;
  readonly ignored: boolean;
  /** Effective target distribution after label smoothing (probability targets, or smoothing > 0). */
  readonly targetProbs: readonly number[] | null;
  readonly weight: number;
  /** -w[t] * logp[t] (class-index targets). */
  readonly nll: number | null;
  /** -sum_c w[c] * logp[c] (label smoothing term before scaling by eps / C). */
  readonly smoothing: number | null;
  /** The unreduced loss of this element, equal to lossMap[flat]. */
  readonly loss: number;
}
