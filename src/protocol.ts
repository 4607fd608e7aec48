// Messages between the engine (host side) and its worker threads. The panel and notebook renderer
// messages join this module with their issues, so every side shares one typed vocabulary.
import type { PairIssues } from './labels/pairIssues';
import type { ImagePass2 } from './labels/labelIssues';
import type { LensErrorKind } from './errors';
import type { FileSummary, SamplingPolicy } from './hover/files';
import type { HoverReport, LiteralText, ReportRequest } from './hover/report';
import type { DocumentSyntax, HoverTarget, LiteralIndex, LiteralSpan, WarmLiteral } from './hover/scan';
import type { ConfusionPair } from './kernel/confusion';
import type { StatsPartial } from './kernel/stats';
import type { ClassStats, LossOptions, LossResult, WorstElement } from './kernel/types';
import type { ExplainedElement } from './kernel/sample/explainRows';
import type { DType, Tensor } from './tensor/tensor';
import type { Vocabulary } from './tensor/text/vocab';
import type { Domain, Scale } from './valueScale';
import type { TokenLossTerms, TokenRowDetails } from './kernel/sample/tokenRow';
import type { EvalClassFigures, EvalImageRequest, EvalImageResponse, EvalOptions } from './eval/types';
import type { ListingFormat, TensorListing } from './worker/jobs/tensorListing';
import type { FileIdentity } from './worker/files/regularFile';
import type { TensorRange } from './worker/files/locateTensor';
import type { LossFigures } from './eval/runs/figures';
import type { LossLayout } from './eval/runs/lossFiles';

/** One tensor a load-tensor job decodes: a path (`file:member` allowed), its role and the source's pin. */
export interface LoadTensorItem {
  readonly path: string;
  readonly role: 'input' | 'target' | 'weight';
  readonly pin?: FileIdentity;
}

/** A tensor living in shared memory: `data` is a view over a SharedArrayBuffer (or shared wasm memory). */
export interface SharedTensorRef {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of element 0 in `buffer`. */
  readonly byteOffset: number;
  /** The typed array kind stored there (after decoding). */
  readonly storage: 'f32' | 'f64' | 'i32' | 'i16' | 'i8' | 'u32' | 'u16' | 'u8';
  /** Tensor['storedAs']. */
  readonly storedAs?: 'bfloat16';
}

/** Fast path: float32 logits and int32 targets in one shared wasm memory; one job = pixels [s0, s1) of sample n. */
export interface FastChunkJob {
  readonly kind: 'fast-chunk';
  readonly id: number;
  /** Byte offsets into the shared memory (see engine.ts for the layout). */
  readonly x: number;
  readonly t: number;
  readonly w: number;
  readonly C: number;
  readonly S: number;
  readonly s0: number;
  readonly s1: number;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly outLoss: number;
  readonly outPred: number;
  readonly acc: number;
  readonly confusion: number;
  readonly topK: number;
  /** Flat offset of this sample's first element in the whole loss map (for worst-element offsets). */
  readonly flatBase: number;
  /**
   * Consecutive samples this job covers (each of S pixels, with the same [s0, s1)); x, t, outLoss and
   * outPred step by one sample each. Small samples (classification rows) go many to a job.
   */
  readonly samples: number;
  /** Logits in 16-pixel blocks (ceIndexF32Blocked) rather than rows of S. */
  readonly blocked: boolean;
  /**
   * Rows for the row kernel (ceRows*): `samples` rows of C logits each (S = 1), in `xDtype`; one kernel
   * call covers the job.
   */
  readonly rowKernel: boolean;
  readonly xDtype: 'float32' | 'float16';
  /** Bytes from one sample's logits to the next. */
  readonly xSample: number;
  /**
   * No C x C confusion region (confusion = 0, large C): the job counts true positives per class and the
   * off-diagonal (target, predicted) pairs of its elements into its partial instead.
   */
  readonly pairs: boolean;
  /**
   * Softmax focal loss: the kernel ran with class weights all ones (plain cross-entropy); the job turns
   * each loss into alpha[t] (1 - p_t)^gamma (-log p_t) in place (src/worker/fast/focalChunk.ts). alphaAt:
   * byte offset of alpha (float64 per class) in the memory, or 0 for ones.
   */
  readonly focal?: { readonly alphaAt: number; readonly gamma: number } | null;
}

/**
 * Fast path: class rows [c0, c1) of `samples` consecutive samples of logits, staged in rows at src, copied
 * into the block layout at dst (see toBlocks in src/kernel/wasm/wasmKernel.ts).
 */
export interface FastRelayoutJob {
  readonly kind: 'fast-relayout';
  readonly id: number;
  readonly src: number;
  readonly dst: number;
  readonly C: number;
  readonly S: number;
  readonly samples: number;
  readonly c0: number;
  readonly c1: number;
}

/** General path: the pure-TS kernel on samples [n0, n1) of shared tensors, maps written to shared outputs. */
/**
 * torchvision's sigmoid focal loss on n float32 elements in the shared wasm memory (src/wasm/focal.ts):
 * x, t, and the kernel's loss / pred / tc outputs are byte offsets there (the host copies maps out of them
 * where it keeps any); the job returns per-class sums and worst elements as a StatsPartial.
 */
export interface SigmoidFocalJob {
  readonly kind: 'sigmoid-focal-chunk';
  readonly id: number;
  /** dist/focal.wasm, compiled once per worker. */
  readonly wasmPath: string;
  readonly x: number;
  readonly t: number;
  readonly loss: number;
  readonly pred: number;
  readonly tc: number;
  /** f64 accumulators (sigmoidFocalAccLength(C)), zeroed by the host. */
  readonly acc: number;
  readonly n: number;
  readonly e0: number;
  readonly C: number;
  readonly inner: number;
  readonly gamma: number;
  readonly alpha: number;
  readonly topK: number;
}

export interface GeneralJob {
  readonly kind: 'general';
  readonly id: number;
  readonly input: SharedTensorRef;
  readonly target: SharedTensorRef;
  readonly weight: SharedTensorRef | null;
  readonly posWeight: SharedTensorRef | null;
  readonly options: LossOptions;
  readonly n0: number;
  readonly n1: number;
  readonly topK: number;
  /**
   * Shared outputs for the whole loss map (the job writes its own range); outPred and outTargetClass are
   * int32, or uint8 for an elementwise loss (bce, sigmoid focal: 0/1 only).
   */
  readonly outLoss: SharedTensorRef;
  readonly outPred: SharedTensorRef;
  readonly outTargetClass: SharedTensorRef;
  readonly outIgnored: SharedTensorRef;
}

/**
 * A document's text in shared memory (UTF-16 code units), written by the host a slice at a time so that no
 * single task of the extension host copies a whole large document; any worker reads it without a copy.
 */
export interface SharedText {
  readonly buffer: SharedArrayBuffer;
  /** In characters (UTF-16 code units). */
  readonly length: number;
}

/** A found tensor literal as it crosses from a worker: errors as their kind and message. */
export type FoundLiteral =
  | { readonly start: number; readonly end: number; readonly tensor: Tensor }
  | { readonly start: number; readonly end: number; readonly error: { readonly kind: LensErrorKind; readonly message: string } };

/**
 * Hovers on a large document: what is at `offset` (null: nothing, just scan), and up to `warm.max` large
 * paired literals. The worker keeps the index under `key`, so later hovers landing on it do not scan again.
 */
export interface HoverLookupQuery {
  readonly key: string;
  readonly text: SharedText;
  readonly syntax: DocumentSyntax;
  readonly offset: number | null;
  readonly warm: { readonly minChars: number; readonly max: number } | null;
}

/** Token view: where a token-details job reads its row of class values. */
export type TokenRowSource =
  /** A tensor file: a C-order .npy is read by the row's byte range only; other files whole (cached per worker). */
  | { readonly kind: 'file'; readonly path: string; readonly pin?: FileIdentity }
  | { readonly kind: 'shared'; readonly x: SharedTensorRef };

export type WorkerRequest =
  /** Folder evaluation: one prediction / label pair reduced to its sums (src/worker/jobs/evalImage.ts). */
  | EvalImageRequest
  | { readonly kind: 'init-wasm'; readonly module: WebAssembly.Module; readonly memory: WebAssembly.Memory; readonly generation: number }
  | (FastChunkJob & { readonly generation: number })
  | (FastRelayoutJob & { readonly generation: number })
  | GeneralJob
  | (SigmoidFocalJob & { readonly generation: number })
  /** Full validation of a general request (shape, dtype and range checks) before it is split. */
  | { readonly kind: 'validate'; readonly id: number; readonly job: Omit<GeneralJob, 'kind' | 'id' | 'n0' | 'n1'> }
  /**
   * Class probabilities of one sample (C, S) for the heatmap views, written into `out` (float32); with
   * `confidence`, also its confidence maps (src/kernel/sample/confidence.ts) there as float32 top1, margin, entropy
   * (3 x S, in that order). Softmax of logits can take a range of elements [s0, s1) (the workers share a
   * sample); other inputs are computed whole.
   */
  | {
    readonly kind: 'probs'; readonly id: number; readonly x: SharedTensorRef; readonly C: number; readonly S: number; readonly inputKind: LossOptions['inputKind'];
    readonly loss: LossOptions['loss']; readonly out: SharedTensorRef; readonly confidence?: SharedTensorRef; readonly s0?: number; readonly s1?: number;
  }
  /** Test hook: make the worker fail in a chosen way, to prove the pool recovers. */
  | { readonly kind: 'crash'; readonly id: number; readonly how: 'throw' | 'exit' | 'oom' }
  /** Hovers: the literal index of a large document (src/hover/scan.ts). */
  | { readonly kind: 'hover-index'; readonly id: number; readonly text: string; readonly syntax: DocumentSyntax }
  /** Hovers: parse, summarize and pair large literals (src/hover/report.ts). */
  | { readonly kind: 'hover-report'; readonly id: number; readonly request: ReportRequest }
  /** Hovers: parse one large literal into a tensor (to open the panel on it). */
  | { readonly kind: 'parse-literal'; readonly id: number; readonly literal: LiteralText }
  /** Hovers: header and statistics of a .npy/.npz file, sampled when large (src/hover/files.ts). */
  | { readonly kind: 'tensor-file-summary'; readonly id: number; readonly path: string; readonly sampling?: SamplingPolicy }
  /** Pickers: the tensors of a .safetensors or torch.save file (src/worker/jobs/tensorListing.ts), parsed off the host. */
  | { readonly kind: 'list-tensor-file'; readonly id: number; readonly path: string; readonly format: ListingFormat }
  /** Label issues of one pair of files (src/worker/jobs/labelIssuesJob.ts; a PNG mask target as the CLI pairs it). */
  | { readonly kind: 'label-issues'; readonly id: number; readonly request: LabelIssuesJob }
  /** eval --label-issues: one image's pass 1 (per-class sums) or pass 2 (with the folder's thresholds). */
  | { readonly kind: 'label-issues-image'; readonly id: number; readonly prediction: string; readonly label: string; readonly classDim: number; readonly ignoreIndex: number; readonly thresholds: readonly number[] | null }
  /**
   * Hovers on a large document: what is at `offset` (null: nothing, just scan), and up to `warm.max` large
   * paired literals. The worker keeps the index under `key`, so later hovers landing on it do not scan again.
   */
  | ({ readonly kind: 'hover-lookup'; readonly id: number } & HoverLookupQuery)
  /** Hovers: a report (as hover-report) on literals read from shared text in the worker. */
  | { readonly kind: 'hover-report-shared'; readonly id: number; readonly text: SharedText; readonly spans: readonly LiteralSpan[]; readonly request: Omit<ReportRequest, 'literals'> }
  /** Every tensor literal of a large text (src/tensor/text/printed.ts), for Compute Loss from Selection. */
  | { readonly kind: 'find-literals'; readonly id: number; readonly text: SharedText }
  /** Token view: a vocabulary file (tokenizer.json, vocab.json, vocab.txt) read as a regular file and parsed. */
  | { readonly kind: 'vocabulary'; readonly id: number; readonly path: string }
  /**
   * Token view: top classes, p(target), rank and loss of loss-map element `row` (src/kernel/sample/tokenRow.ts);
   * `terms` are the result's weight, label smoothing and ignore index, so the loss is the loss map's.
   */
  | { readonly kind: 'token-details'; readonly id: number; readonly source: TokenRowSource; readonly classDim: number; readonly row: number; readonly target: number; readonly inputKind: LossOptions['inputKind']; readonly topK: number; readonly terms: TokenLossTerms }
  /**
   * Tensor files that are not a .npy (torch.save, .safetensors, .npz, JSON) decoded whole into shared
   * memory (readTensorFile, with each source's pin), in order: decoding one took seconds of the host's
   * thread. Several items are tensors of one .safetensors file, decoded by one worker so that its header
   * (66 MB for a million entries) is parsed once.
   */
  | { readonly kind: 'load-tensor'; readonly id: number; readonly items: readonly LoadTensorItem[] }
  | { readonly kind: 'locate-tensor'; readonly id: number; readonly path: string; readonly role: 'input' | 'target' | 'weight'; readonly pin?: FileIdentity }
  /**
   * The breakdown of element `s` of a sample whose input values `x` are laid out (C, S) (one row: S = 1):
   * explainSampleElement, then the rows the view shows (explainedForView). Off the host's thread: its cost
   * grows with C (160 ms at 262,144 classes).
   */
  | {
    readonly kind: 'explain-element'; readonly id: number; readonly x: SharedTensorRef; readonly C: number; readonly S: number; readonly s: number;
    readonly targetProbs: SharedTensorRef | null; readonly targetClass: number; readonly weight: SharedTensorRef | null;
    readonly options: LossOptions; readonly targetKind: LossResult['targetKind'];
  }
  /**
   * Sample values read in their stored order (`x`, shaped as one sample) rewritten with axis `from` first
   * into `out` (same storage): the (C, S) layout the probability job and the breakdown read.
   */
  | { readonly kind: 'move-axis'; readonly id: number; readonly x: SharedTensorRef; readonly from: number; readonly out: SharedTensorRef }
  /**
   * Engine.prepare(): write one byte per 4 KiB page of bytes [start, end) of the working memory (sent with
   * its init-wasm), so that the OS allocates those pages before the first computation needs them.
   */
  | { readonly kind: 'prefault'; readonly id: number; readonly generation: number; readonly start: number; readonly end: number }
  /**
   * runs: each run's 90th percentile and per image its pixels above it in every run (src/eval/runs/figures.ts),
   * read from the losses kept on disk; `histograms` are the runs' level-1 histograms from the pass over the
   * logits (handed over, not copied).
   */
  | { readonly kind: 'loss-figures'; readonly id: number; readonly layout: LossLayout; readonly histograms: ReadonlyArray<{ readonly counts: Float64Array; readonly nan: number }> };

export type WorkerResponse =
  | EvalImageResponse
  | { readonly kind: 'ready'; readonly generation: number }
  /** Partial statistics of the job, merged by the engine in job order (deterministic for any worker count). */
  | { readonly kind: 'done'; readonly id: number; readonly stats: StatsPartial }
  | { readonly kind: 'probs-done'; readonly id: number }
  | { readonly kind: 'move-axis-done'; readonly id: number }
  /** A class-index target out of range: the engine raises the kernel's error for it. */
  | { readonly kind: 'bad-target'; readonly id: number; readonly flat: number; readonly value: number }
  | { readonly kind: 'error'; readonly id: number; readonly message: string; readonly lensKind: string | null }
  | { readonly kind: 'hover-index-done'; readonly id: number; readonly index: LiteralIndex }
  | { readonly kind: 'hover-report-done'; readonly id: number; readonly report: HoverReport }
  | { readonly kind: 'parse-literal-done'; readonly id: number; readonly tensor: Tensor }
  | { readonly kind: 'tensor-file-summary-done'; readonly id: number; readonly summary: FileSummary }
  | { readonly kind: 'list-tensor-file-done'; readonly id: number; readonly listing: TensorListing }
  | { readonly kind: 'label-issues-done'; readonly id: number; readonly issues: PairIssues }
  | { readonly kind: 'label-issues-image-done'; readonly id: number; readonly pass1: { readonly sums: number[]; readonly counts: number[] } | null; readonly pass2: ImagePass2 | null }
  | { readonly kind: 'hover-lookup-done'; readonly id: number; readonly target: HoverTarget; readonly warm: readonly WarmLiteral[] }
  | { readonly kind: 'find-literals-done'; readonly id: number; readonly literals: readonly FoundLiteral[] }
  | { readonly kind: 'vocabulary-done'; readonly id: number; readonly vocabulary: Vocabulary }
  | { readonly kind: 'token-details-done'; readonly id: number; readonly details: TokenRowDetails }
  | { readonly kind: 'load-tensor-done'; readonly id: number; readonly tensors: readonly SharedTensorRef[] }
  | { readonly kind: 'locate-tensor-done'; readonly id: number; readonly range: TensorRange | null }
  | { readonly kind: 'explain-element-done'; readonly id: number; readonly explanation: ExplainedElement; readonly top: ElementDetail['top'] }
  | { readonly kind: 'prefault-done'; readonly id: number }
  | { readonly kind: 'loss-figures-done'; readonly id: number; readonly figures: LossFigures };

// -------------------------------------------------------------------------------------------------------
// Host <-> view (the loss panel webview and the notebook renderer share the view and these messages).


export interface TensorLabel {
  /** A file name (workspace-relative when possible) or a description such as "selection". */
  readonly label: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** Everything the view shows that is not per-pixel. Plain data (JSON-safe except NaN/Infinity numbers). */
export interface ViewSummary {
  readonly title: string;
  /** The class axis was set last because only that fits the shapes (the summary says so). */
  readonly classLastFromShapes?: boolean;
  readonly input: TensorLabel;
  readonly target: TensorLabel;
  readonly weight: readonly number[] | null;
  readonly options: LossOptions;
  /** The reduced loss (null for reduction none). */
  readonly value: number | null;
  readonly numerator: number;
  readonly denominator: number;
  readonly targetKind: 'index' | 'probs' | 'binary';
  /** Shape of the unreduced loss: [] (unbatched), [N] (classification) or [N, ...spatial]. */
  readonly lossShape: readonly number[];
  readonly classNames: readonly string[];
  readonly perClass: readonly ClassStats[];
  /**
   * Row = target, column = predicted; row-major C x C (empty for bce, and above 1,024 classes). The
   * statistics' own array (a million cells at C = 1,000: copying it into a plain array took 0.3 s here).
   */
  readonly confusion: ArrayLike<number>;
  /** The most frequent off-diagonal (target, predicted) pairs (at most 100). */
  readonly topConfusions: readonly ConfusionPair[];
  readonly ignoredCount: number;
  readonly elementCount: number;
  readonly accuracy: number;
  readonly nanCount: number;
  readonly infCount: number;
  readonly worst: readonly WorstElement[];
  readonly seconds: number;
  readonly engine: string;
  /** Per-sample maps are available (false when the input streamed and only statistics were kept). */
  readonly mapsAvailable: boolean;
  /** Token view: the strings it shows (absent: not computed for it; see src/tokenSummary.ts). */
  readonly tokens?: TokenSummary | null;
  /** Class colours "#rrggbb" by class index (setting crossEntropyLens.classColors); absent or short: the palette. */
  readonly classColors?: readonly string[];
  /** Focal loss: F.cross_entropy with the same weight, ignore_index and reduction, shown beside it. */
  readonly ceValue?: number | null;
  /** Run-vs-run comparison (Compare Losses…): this summary is run B's; absent or null outside a comparison. */
  readonly compare?: CompareSummary | null;
  /** An image opened from the runs view: its checkpoints' names and the one shown (the run slider). */
  readonly runs?: RunSliderState | null;
}

/** The run slider of a panel opened from the runs view: which run's prediction the panel shows. */
export interface RunSliderState {
  readonly names: readonly string[];
  readonly index: number;
  /** The run compared against (the comparison's A; absent: the first). */
  readonly base?: number;
}

/**
 * "Hard in every run" of an image opened from the runs view: its non-ignored pixels whose loss is above, in
 * every run, that run's 90th percentile (runs --json's persistent[] share is count / pixels).
 */
export type ViewHardPixels =
  | { readonly state: 'running' }
  /** Not computed, or not shown for this panel (its options ignore other pixels than the runs did): why. */
  | { readonly state: 'error'; readonly message: string }
  | ViewHardPixelsDone;

export interface ViewHardPixelsDone {
  readonly state: 'done';
  readonly count: number;
  /** Non-ignored pixels of the image under the runs' options. */
  readonly pixels: number;
  /** Flat positions of the hard pixels in the loss map (C order over its shape), ascending. */
  readonly positions: Int32Array;
  /** Each run's percentile used (null: that run had no pixels or a NaN loss), in run order. */
  readonly percentiles: ReadonlyArray<number | null>;
  readonly runs: readonly string[];
}

/** Compare Losses…: inputs A and B against one target, same options; the panel shows B with B - A. */
export interface CompareSummary {
  readonly labelA: string;
  readonly labelB: string;
  /** Reduced losses (null for reduction none). */
  readonly valueA: number | null;
  readonly valueB: number | null;
  /** valueB - valueA (null for reduction none). */
  readonly delta: number | null;
  /** Non-ignored elements whose loss is lower in B than in A / higher in B. */
  readonly improved: number;
  readonly regressed: number;
  /** Per target class: mean unreduced loss over its non-ignored elements in A and in B, and B - A. */
  readonly perClass: ReadonlyArray<{ readonly class: number; readonly meanA: number; readonly meanB: number; readonly deltaMeanLoss: number }>;
}

/** Confidence maps of one sample (class-index cross-entropy of one sample), element by element. */
export interface ConfidenceMaps {
  /** Largest softmax probability. */
  readonly top1: Float32Array;
  /** Largest minus second largest softmax probability (top1 when C = 1). */
  readonly margin: Float32Array;
  /** Entropy of the softmax distribution in nats. */
  readonly entropy: Float32Array;
}

/**
 * Per-class rows packed for a view (src/summaryWire.ts): Float64 columns `fields` of the classes `rows`, and
 * `rest`, the row every other class has (a class that neither occurs nor is predicted).
 */
export interface PackedClassStats {
  readonly C: number;
  readonly fields: readonly string[];
  readonly rows: Int32Array;
  /** rows.length x fields.length, row-major. */
  readonly values: Float64Array;
  readonly rest: Readonly<Record<string, number>> | null;
}

/** A confusion matrix packed for a view: its non-zero cells (flat indices) and their counts, or every cell (cells null). */
export interface PackedConfusion {
  readonly length: number;
  readonly cells: Uint32Array | null;
  readonly counts: Uint8Array | Uint16Array | Uint32Array | Float64Array;
}

/** A summary as it travels to a view: per-class rows and the confusion matrix packed (src/summaryWire.ts). */
export interface PackedSummary extends Omit<ViewSummary, 'perClass' | 'confusion'> {
  readonly packed: {
    readonly perClass: PackedClassStats | readonly ClassStats[];
    readonly confusion: PackedConfusion | ArrayLike<number>;
  };
}

/** Token view (language-model inputs): token strings for the ids the view shows, and where they came from. */
export interface TokenSummary {
  /** A subset of the vocabulary: the target and predicted ids of every sequence (null: no vocabulary, ids shown). */
  readonly vocabulary: Vocabulary | null;
  /** One line: which vocabulary, or how to get one. */
  readonly note: string;
}

/** The token view's hover for one token: loss-map element `row` of a class-last input. */
export interface TokenDetails extends TokenRowDetails {
  readonly row: number;
  readonly target: number;
  readonly C: number;
  /** Strings of the target and top ids (a vocabulary subset), or null. */
  readonly vocabulary: Vocabulary | null;
}

/** What a summary adds to a computed result: labels, names and how it was computed. */
export interface SummaryLabels {
  readonly title: string;
  readonly input: TensorLabel;
  readonly target: TensorLabel;
  readonly weight: readonly number[] | null;
  readonly classNames: readonly string[];
  readonly seconds: number;
  readonly engine: string;
  readonly mapsAvailable: boolean;
  /** The class axis was set last because only that fits the shapes (roles.ts fitPair); the summary says so. */
  readonly classLastFromShapes?: boolean;
}

/**
 * A mechanical way out of an error, offered as one button beside it (never applied silently): e.g. every
 * target value outside [0, C) is 255, so "Use ignore_index 255" recomputes with that.
 */
export interface ErrorFix {
  readonly label: string;
  readonly options: Partial<LossOptions>;
}

/**
 * A label-issues job: the pair (files, or a panel's or notebook's tensors as its session paired them), the
 * options that decide examples and probabilities, the mask's colours.
 */
export interface LabelIssuesJob {
  readonly input: string | import('./worker/engine/engineTypes').TensorSource;
  readonly target: string | import('./worker/engine/engineTypes').TensorSource;
  readonly classDim: number;
  readonly ignoreIndex: number;
  readonly inputKind: import('./kernel/types').InputKind;
  /** One sample's [C, H, W] logits paired with an [H, W] mask: the input's shape as computed. */
  readonly inputShape?: readonly number[];
  readonly mask?: boolean;
  readonly palette?: import('./tensor/image/colorTable').ColorTable;
}

/**
 * A panel opened from a paused Python debug session (src/debug/): where its values came from, the exception
 * it explains (if opened by *Explain*), and, with *Update on each stop*, the loss at each stop.
 */
export interface DebugContext {
  /** Where the values were read, e.g. "train_step (train.py:42)". */
  readonly origin: string;
  readonly explanation: DebugExplanation | null;
  /** The panel recomputes at each later stop in the same function (checkbox data-testid "follow-stops"). */
  readonly follow: boolean;
  /** The loss at each stop while following, oldest first (data-testid "stop-history"). */
  readonly history: readonly DebugStop[];
}

export interface DebugStop {
  /** Counts the stops seen since the panel opened (1 for the first). */
  readonly stop: number;
  /** The reduced loss at that stop; null where the stop's values could not be computed. */
  readonly value: number | null;
  /** The stop's frame, e.g. "train.py:42"; or why it has no value. */
  readonly where: string;
}

/** An exception raised inside a PyTorch loss call, as Explain shows it. */
export interface DebugExplanation {
  /** PyTorch's exception as raised: "RuntimeError: only batches of spatial targets supported ...". */
  readonly raised: string;
  /** The call it was raised in, with the arguments read from its frame: "F.cross_entropy(input [4, 21, 64, 64] float32, ...)". */
  readonly call: string;
  /** The lens's own message for the same values and options (null where the lens computes them without error). */
  readonly lensMessage: string | null;
  /**
   * A mechanical fix: the line to copy, and what it does. The panel's loss is the loss after it (PyTorch's
   * semantics on the fixed values); null: no mechanical fix, the panel shows the error.
   */
  readonly fix: { readonly code: string; readonly note: string } | null;
}

/** What the summary and pickers say of a class axis found from the shapes. */
export const CLASS_LAST_NOTE = 'class axis: last, from the shapes';

/** The view's summary of a kernel or engine result (the panel host, the renderer and tests build it here). */
export function toViewSummary(
  r: Pick<LossResult, 'options' | 'value' | 'numerator' | 'denominator' | 'targetKind' | 'lossShape' | 'stats' | 'ceValue'>,
  labels: SummaryLabels,
): ViewSummary {
  const s = r.stats;
  return {
    ...labels,
    options: r.options,
    value: r.value,
    numerator: r.numerator,
    denominator: r.denominator,
    targetKind: r.targetKind,
    lossShape: r.lossShape,
    perClass: s.perClass,
    confusion: s.confusion,
    topConfusions: s.topConfusions,
    ignoredCount: s.ignoredCount,
    elementCount: s.elementCount,
    accuracy: s.accuracy,
    nanCount: s.nanCount,
    infCount: s.infCount,
    worst: s.worst,
    ...(r.ceValue === undefined ? {} : { ceValue: r.ceValue }),
  };
}

/**
 * Class indices of a sample's maps: Int32Array as computed, or a narrower integer array with the same
 * values on the way to a view (src/sampleWire.ts).
 */
export type IndexArray = Int32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** The per-element maps of one sample (for classification inputs, all samples as one strip). */
export interface SampleMaps {
  /** Sample index, or -1 for the strip of an (N, C) input. */
  readonly n: number;
  /** Shape of the map: spatial dims of one sample ([H, W], or [D, H, W]), or [N] for the strip. */
  readonly shape: readonly number[];
  readonly loss: Float32Array;
  readonly target: IndexArray;
  readonly predicted: IndexArray;
  readonly ignored: Uint8Array;
  /** Softmax probability of the target class (class-index targets), else null. */
  readonly pTarget: Float32Array | null;
  /** Top-class probability, margin and entropy (absent or null: not here; see confidenceOnRequest). */
  readonly confidence?: ConfidenceMaps | null;
  /**
   * The host holds this sample's confidence maps and sends them when the view asks (requestConfidence):
   * three float32 maps, more than half of a sample's bytes, that only the confidence modes draw (a hover's
   * read-out of them comes with its ElementDetail).
   */
  readonly confidenceOnRequest?: boolean;
  /** Compare Losses…: B's loss minus A's for this sample (NaN where ignored); absent outside a comparison. */
  readonly delta?: Float32Array | null;
  /**
   * p(target) and the confidence maps of this sample follow in a second 'sample' message: the host paints
   * the loss first (they need the sample's input values and a worker job), so a mode that needs them waits.
   */
  readonly pending?: boolean;
}

/**
 * What completes maps the view holds with `pending` (the loss, target, predicted and ignored maps, and a
 * comparison's delta, sent first): the rest of SampleMaps, so the second message does not carry those again.
 */
export type SampleRest = Pick<SampleMaps, 'n' | 'pTarget' | 'confidence' | 'confidenceOnRequest'>;

/** One element's top-class probability, margin and entropy: the values of its sample's ConfidenceMaps. */
export interface ElementConfidence {
  readonly top1: number;
  readonly margin: number;
  readonly entropy: number;
}

/** Softmax probability of every class for one sample: (C, ...shape), for the small-multiples grid. */
export interface ClassMaps {
  readonly n: number;
  readonly shape: readonly number[];
  readonly probs: Float32Array;
}

/** The hand-check of one element, from the kernel's explainElement plus where it sits. */
export interface ElementDetail {
  readonly n: number;
  /** Index within the sample map (or the sample index for a strip). */
  readonly index: readonly number[];
  /** The breakdown's rows and sums (src/kernel/sample/explainRows.ts), not C-long arrays. */
  readonly explanation: ExplainedElement;
  /** Top classes by probability: class, input value, probability. */
  readonly top: ReadonlyArray<{ readonly cls: number; readonly input: number; readonly prob: number }>;
  /** The element's values in its sample's confidence maps (absent: the input has none). */
  readonly confidence?: ElementConfidence;
}

export type HostToView =
  | { readonly type: 'progress'; readonly fraction: number; readonly message: string }
  /**
   * earlySample: sample 0's maps of this very computation were sent before it (during the computation), so
   * the view paints the ones it holds; without it, maps that came before are another computation's.
   */
  | { readonly type: 'summary'; readonly summary: ViewSummary; readonly earlySample?: boolean }
  | { readonly type: 'sample'; readonly maps: SampleMaps }
  /** The rest of sample n's maps, for a view that holds its pending maps (see SampleRest). */
  | { readonly type: 'sampleRest'; readonly rest: SampleRest }
  /** Sample n's confidence maps, asked for with requestConfidence (null: they could not be computed). */
  | { readonly type: 'confidence'; readonly n: number; readonly confidence: ConfidenceMaps | null }
  /** Sample 0's loss map as colour-table indices, sent before its maps (see MapPreview). */
  | { readonly type: 'preview'; readonly preview: MapPreview }
  | { readonly type: 'classMaps'; readonly maps: ClassMaps }
  | { readonly type: 'detail'; readonly detail: ElementDetail }
  | { readonly type: 'tokenDetails'; readonly details: TokenDetails }
  | { readonly type: 'error'; readonly message: string; readonly fix?: ErrorFix }
  /** Opaque host data the view keeps in its saved state, so a reloaded window can recompute. */
  | { readonly type: 'hostState'; readonly state: unknown }
  /** The renderer computed in the page (no host messaging): shown as a small note. */
  | { readonly type: 'note'; readonly message: string }
  /** The photo the maps are drawn over (PNG or JPEG bytes, decoded by the view), or null for none. */
  | { readonly type: 'image'; readonly image: OverlayImage | null }
  /** A panel from a debug session: its origin, explanation and stop history (null: not from one). */
  | { readonly type: 'debug'; readonly debug: DebugContext | null }
  /** Likely label errors of the result on screen (asked for with findLabelIssues, or sent with a dataset row). */
  | { readonly type: 'labelIssues'; readonly issues: ViewLabelIssues }
  /** "Hard in every run" of an image from the runs view (asked for with findHardPixels). */
  | { readonly type: 'hardPixels'; readonly hard: ViewHardPixels };

/**
 * A sample's loss map as the view's loss mode draws it, in a fifth of its maps' bytes: each element's
 * colour-table index (src/valueScale.ts lutIndex) under the domain the view computes for that mode, scale
 * and clip, and which elements are drawn as ignored or NaN. A message reaches a webview at a few MB/s under
 * code-server, so the host sends this first and the view paints it (exactly the picture the maps give)
 * while the maps are still on their way.
 */
export interface MapPreview {
  readonly n: number;
  /** The sample map's shape (as SampleMaps.shape). */
  readonly shape: readonly number[];
  /** The view state the indices were made for: a view in another scale or clip does not use them. */
  readonly scale: Scale;
  readonly clip: number;
  readonly domain: Domain;
  /** Colour-table index per element, 0 where the loss is NaN. */
  readonly index: Uint8Array;
  /** One bit per element (element i: byte i >> 3, bit i & 7): ignored. */
  readonly ignoredBits: Uint8Array;
  /** One bit per element: the loss is NaN. */
  readonly nanBits: Uint8Array;
}

/** A HostToView message as it travels to a view (src/sampleWire.ts forView): a summary may come packed. */
export type HostToViewWire =
  | Exclude<HostToView, { readonly type: 'summary' }>
  | { readonly type: 'summary'; readonly summary: ViewSummary | PackedSummary; readonly earlySample?: boolean };

/**
 * Likely label errors (confident learning, cleanlab's rules: src/labels/) as the view shows them: the
 * reported elements, where they sit in the loss map, and the given → predicted table.
 */
export type ViewLabelIssues =
  | { readonly state: 'running' }
  | { readonly state: 'error'; readonly message: string }
  | ViewLabelIssuesDone;

export interface ViewLabelIssuesDone {
  readonly state: 'done';
  /** Reported elements (pixels, tokens or samples) of the loss on screen. */
  readonly count: number;
  /** Labelled (non-ignored) elements of the loss on screen. */
  readonly examples: number;
  /** What the thresholds and the cut-off were computed over, e.g. "this pair" or "the folder preds (200 images)". */
  readonly origin: string;
  /** 'segmentation': pixels pooled as one image; 'classification': samples or tokens. */
  readonly rule: 'segmentation' | 'classification';
  /** Flat positions of the reported elements in the loss map (C order over its shape), ascending. */
  readonly flagged: Int32Array;
  /** Reported elements per given class (length C). */
  readonly perClass: readonly number[];
  /** Given → predicted pairs of the reported elements, most frequent first (at most LABEL_ISSUE_TABLE_ROWS). */
  readonly table: ReadonlyArray<{ readonly given: number; readonly predicted: number; readonly count: number }>;
  /** Pairs in all (the table may hold fewer). */
  readonly pairs: number;
  /** The view switches to the label-errors mode when this arrives (a dataset row opened for it). */
  readonly show?: boolean;
}

/** Rows of the given → predicted table sent to a view (a vocabulary-sized class set can have many more pairs). */
export const LABEL_ISSUE_TABLE_ROWS = 200;

/** A display image for the overlay: encoded bytes the view decodes itself (never a loss input). */
export interface OverlayImage {
  readonly name: string;
  readonly mime: 'image/png' | 'image/jpeg';
  readonly bytes: Uint8Array;
}

export type ViewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'setOptions'; readonly options: Partial<LossOptions>; readonly weight?: readonly number[] | null }
  | { readonly type: 'selectSample'; readonly n: number }
  | { readonly type: 'requestClassMaps'; readonly n: number }
  /** A confidence mode wants sample n's confidence maps (its maps came with confidenceOnRequest). */
  | { readonly type: 'requestConfidence'; readonly n: number }
  | { readonly type: 'explain'; readonly n: number; readonly index: readonly number[] }
  /** Token view: the hover details of loss-map element `row` (flat over [B, T] or [T]). */
  | { readonly type: 'tokenDetails'; readonly row: number }
  | { readonly type: 'export'; readonly kind: 'png' | 'csv' | 'npy'; readonly data?: string }
  | { readonly type: 'openInPanel' }
  /** Overlay: ask the host to pick an image (an open dialog for PNG/JPEG files). */
  | { readonly type: 'chooseImage' }
  /** "Compare with…" in an open panel: pick another input to compare this one against. */
  | { readonly type: 'compareWith' }
  /** Debug panel: *Update on each stop* turned on or off. */
  | { readonly type: 'followStops'; readonly on: boolean }
  /** Copy text (a fix's line of code) to the clipboard through the host (a webview's clipboard access varies). */
  | { readonly type: 'copyText'; readonly text: string }
  /** The label-errors mode was chosen: find the likely label errors of the result on screen. */
  | { readonly type: 'findLabelIssues' }
  /** The run slider (a panel opened from the runs view): show run `index`'s prediction. */
  | { readonly type: 'selectRun'; readonly index: number }
  /** The run slider's "against": compare with run `index`'s prediction (the comparison's A). */
  | { readonly type: 'selectBaseRun'; readonly index: number }
  /** The "Hard in every run" mode was chosen (a panel opened from the runs view). */
  | { readonly type: 'findHardPixels' };

// -------------------------------------------------------------------------------------------------------
// Notebook renderer <-> extension host (vscode.notebooks.createRendererMessaging). Messages travel as JSON
// in their wire form (src/wire.ts). One renderer page shows many outputs, so each message names its output.

export const RENDERER_ID = 'cross-entropy-lens-renderer';

export type RendererToHost =
  /** Compute the loss of a payload (the output's JSON, decoded and checked again on the host). */
  | { readonly type: 'compute'; readonly outputId: string; readonly payload: unknown }
  /** What the output's view asked for (select a sample, explain a pixel, new options, open in panel…). */
  | { readonly type: 'view'; readonly outputId: string; readonly msg: ViewToHost }
  /** The output is gone: its session can be dropped. */
  | { readonly type: 'dispose'; readonly outputId: string };

export interface HostToRenderer {
  readonly outputId: string;
  readonly msg: HostToViewWire;
}

// -------------------------------------------------------------------------------------------------------
// Dataset view (Evaluate Folder…, src/host/evaluation/datasetPanel.ts) <-> extension host. Webview messages travel as
// JSON, so figures that may be NaN or infinite are sent as null, and a thumbnail's float32 bytes as base64.

/** One evaluated image as the dataset view lists it. */
export interface DatasetImageRow {
  /** Position in stem order (the CLI's perImage order). */
  readonly index: number;
  readonly name: string;
  readonly value: number | null;
  readonly pixelAccuracy: number | null;
  readonly miou: number | null;
  readonly worstClass: number | null;
  /** The mean-pooled loss map (src/worker/jobs/evalImage.ts lossThumbnail): float32 little-endian, base64. */
  readonly thumbnail: { readonly h: number; readonly w: number; readonly base64: string } | null;
  /** After Find likely label errors: the image's reported pixels and its label quality (softmin; null: no labelled pixel). */
  readonly labelIssues?: number;
  readonly labelQuality?: number | null;
}

/** One image's label-issue figures (eval --label-issues' perImage fields). */
export interface DatasetLabelIssueRow {
  readonly index: number;
  readonly labelIssues: number;
  readonly labelQuality: number | null;
}

/** The `eval --json` figures the dataset view shows (perImage comes as rows instead). */
export interface DatasetSummary {
  readonly images: number;
  readonly value: number | null;
  readonly pixelAccuracy: number | null;
  readonly miou: number | null;
  readonly miouPerImage: number | null;
  readonly ece: number | null;
  readonly mce: number | null;
  readonly calibration: {
    readonly edges: ReadonlyArray<number | null>;
    readonly count: ReadonlyArray<number | null>;
    readonly confidence: ReadonlyArray<number | null>;
    readonly accuracy: ReadonlyArray<number | null>;
  };
  readonly boundary: { readonly width: number; readonly share: number | null; readonly meanInside: number | null; readonly meanOutside: number | null };
  readonly perClass: readonly EvalClassFigures[];
  readonly unmatched: readonly string[];
}

export type DatasetRunState = 'running' | 'done' | 'cancelled' | 'error';

/**
 * What a dataset view evaluates: kept in the webview's state (JSON), so that after a window reload the
 * serializer runs the same evaluation again (src/host/evaluation/datasetMessages.ts parseDatasetRequest reads it back).
 */
export interface DatasetRequest {
  readonly predDir: string;
  readonly labelDir: string;
  readonly options: EvalOptions;
}

export type HostToDataset =
  /** A run begins (also sent again, with everything so far, when the view reloads). */
  | { readonly type: 'start'; readonly predDir: string; readonly labelDir: string; readonly total: number; readonly classNames: readonly string[] }
  /** Images completed since the last message, in completion order. */
  | { readonly type: 'images'; readonly rows: readonly DatasetImageRow[] }
  | { readonly type: 'progress'; readonly done: number; readonly total: number }
  /** The figures over the images so far (`final`: over all of them, exactly the CLI's report). */
  | { readonly type: 'summary'; readonly summary: DatasetSummary; readonly final: boolean }
  | { readonly type: 'state'; readonly state: DatasetRunState; readonly message?: string; readonly seconds?: number }
  /** The run's request, for the page to keep in its saved state. */
  | { readonly type: 'hostState'; readonly state: DatasetRequest }
  /** Find likely label errors: under way, done (every image's figures and the folder's count), or failed. */
  | { readonly type: 'labelIssues'; readonly state: 'running' }
  | { readonly type: 'labelIssues'; readonly state: 'done'; readonly rows: readonly DatasetLabelIssueRow[]; readonly count: number; readonly examples: number }
  | { readonly type: 'labelIssues'; readonly state: 'error'; readonly message: string };

export type DatasetToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'cancel' }
  /** Open the loss panel on the image at this stem-order index. */
  | { readonly type: 'openImage'; readonly index: number }
  /** Find likely label errors over the evaluated folder (eval --label-issues' two passes). */
  | { readonly type: 'findLabelIssues' };

// -------------------------------------------------------------------------------------------------------
// Runs view (Evaluate Checkpoints…, src/host/evaluation/runsPanel.ts) <-> extension host. The report is `runs --json`'s
// (src/eval/runs/report.ts) with non-finite figures as null (JSON has no NaN) and `changed` by stem index.

/** One run's figures pooled over all its images: `eval`'s for the run's folder (known once the run is done). */
export interface RunsPooledFigures {
  readonly name: string;
  readonly value: number | null;
  readonly pixelAccuracy: number | null;
  readonly miou: number | null;
  readonly ece: number | null;
}

export interface RunsViewReport {
  readonly images: number;
  /** Each run's pooled figures and p90 (which needs every run's losses first). */
  readonly runs: ReadonlyArray<RunsPooledFigures & { readonly p90: number | null }>;
  readonly perClass: ReadonlyArray<{ readonly class: number; readonly meanLoss: ReadonlyArray<number | null>; readonly iou: ReadonlyArray<number | null> }>;
  /** Stem order; value per run. */
  readonly perImage: ReadonlyArray<{ readonly name: string; readonly value: ReadonlyArray<number | null> }>;
  /** The CLI's changed[] (last run minus first, largest increase first), each with its perImage index. */
  readonly changed: ReadonlyArray<{ readonly index: number; readonly delta: number | null }>;
  /** The CLI's persistent[], each with its perImage index. */
  readonly persistent: ReadonlyArray<{ readonly index: number; readonly share: number | null }>;
  readonly unmatched: readonly string[];
}

/** What a runs view evaluates, kept in the webview's state for a window reload (runsMessages.ts parses it). */
export interface RunsRequest {
  readonly labelDir: string;
  readonly runs: ReadonlyArray<{ readonly name: string; readonly folder: string }>;
  readonly options: EvalOptions;
}

export type HostToRuns =
  | { readonly type: 'start'; readonly labelDir: string; readonly runs: readonly string[]; readonly images: number; readonly classNames: readonly string[] }
  /** Run `run` (0-based) has `done` of `total` images evaluated. */
  | { readonly type: 'progress'; readonly run: number; readonly done: number; readonly total: number }
  /** Run `run` is done: its pooled figures, before the report (which waits for every run). */
  | { readonly type: 'runFigures'; readonly run: number; readonly figures: RunsPooledFigures }
  | { readonly type: 'report'; readonly report: RunsViewReport; readonly seconds: number }
  /**
   * Per image (perImage index), its mean-pooled loss map in the last run minus the first (at most 32 x 32
   * float32, little-endian, base64; NaN where every pixel of a cell is ignored). Sent in several messages
   * of a few hundred rows each, which add to the rows so far; `scale` (the largest |change| of all rows)
   * is the same in each.
   */
  | { readonly type: 'deltaThumbnails'; readonly scale: number; readonly rows: ReadonlyArray<{ readonly index: number; readonly h: number; readonly w: number; readonly base64: string }> }
  | { readonly type: 'state'; readonly state: DatasetRunState; readonly message?: string }
  | { readonly type: 'hostState'; readonly state: RunsRequest };

export type RunsToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'cancel' }
  /** Open the image at this stem-order index in the loss panel, first run against last, with the run slider. */
  | { readonly type: 'openImage'; readonly index: number };
