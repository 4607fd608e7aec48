// Types shared by folder evaluation's pure core (pairing, accumulation, finalisation, merging), its worker
// job and its front ends. Everything here is plain data: a part file written by `eval --shard` is these
// records as JSON, and `merge` reads them back.
import type { FolderIssues, ImagePass2 } from '../labels/labelIssues';

/** What an evaluation computes with; a shard's parts merge only when these agree. */
export interface EvalOptions {
  /** Label value excluded everywhere (F.cross_entropy's ignore_index). */
  readonly ignoreIndex: number;
  /** F.cross_entropy's label_smoothing, in [0, 1]. */
  readonly labelSmoothing: number;
  /** Axis of the classes in the prediction's [1, C, H, W] form: 1, or 3 / -1 for channels-last. */
  readonly classDim: number;
  /** Equal-width calibration bins (lo, hi] over [0, 1]. */
  readonly bins: number;
  /** Half width w of the (2w+1) x (2w+1) boundary window. */
  readonly boundary: number;
  /** Class weights (F.cross_entropy's weight), applied to `value` and each image's value only. */
  readonly weight: readonly number[] | null;
}

/**
 * One image's floating-point sums and figures. Floating sums are kept per image so that the totals are
 * always added in stem order: one run and the merge of its shards then perform the very same additions
 * and agree to the bit (integer counts are exact in any order and are summed as they arrive instead).
 */
export interface ImageRecord {
  /** The pair's stem. */
  readonly name: string;
  /** Non-ignored pixels. */
  readonly pixels: number;
  /** Sum of the unweighted per-pixel loss over non-ignored pixels. */
  readonly lossSum: number;
  /** [class, sum of unweighted loss] for each class that is a target here, ascending by class. */
  readonly classLoss: ReadonlyArray<readonly [number, number]>;
  /** Per calibration bin, the sum of top-class probabilities. */
  readonly binConfidence: readonly number[];
  /** Unweighted loss summed over band pixels and over the others. */
  readonly bandLoss: number;
  readonly outsideLoss: number;
  /**
   * With a weight and label smoothing: the weighted loss's numerator and denominator (PyTorch's weighted
   * smoothing term is not a per-class multiple of the unweighted loss). Null otherwise.
   */
  readonly weighted: { readonly num: number; readonly den: number } | null;
  /** Figures of this image alone (see finalize.ts for their definitions). */
  readonly value: number;
  readonly pixelAccuracy: number | null;
  readonly miou: number | null;
  readonly worstClass: number | null;
}

/** One image's integer counts, added into EvalCounts as each image completes (order-free, exact). */
export interface ImageCounts {
  readonly pixels: number;
  readonly correct: number;
  /** Per class: non-ignored target pixels, true positives, false positives, false negatives. */
  readonly count: Float64Array;
  readonly tp: Float64Array;
  readonly fp: Float64Array;
  readonly fn: Float64Array;
  /** Off-diagonal and diagonal confusion cells as [target * C + predicted, count] pairs (C <= 1024 only). */
  readonly confusion: Float64Array | null;
  readonly binCount: Float64Array;
  readonly binCorrect: Float64Array;
  readonly bandCount: number;
  readonly outsideCount: number;
}

/** Totals of integer counts over the images evaluated so far. */
export interface EvalCounts {
  images: number;
  pixels: number;
  correct: number;
  readonly count: Float64Array;
  readonly tp: Float64Array;
  readonly fp: Float64Array;
  readonly fn: Float64Array;
  /** C x C, [target * C + predicted]; null above CONFUSION_MAX_CLASSES. */
  readonly confusion: Float64Array | null;
  readonly binCount: Float64Array;
  readonly binCorrect: Float64Array;
  bandCount: number;
  outsideCount: number;
}

/** Largest class count for which the full confusion matrix is kept (above: per-class tp/fp/fn only). */
export const CONFUSION_MAX_CLASSES = 1024;

/** One image's result from the worker job. */
export interface ImageResult {
  readonly record: ImageRecord;
  readonly counts: ImageCounts;
  readonly classes: number;
  /** [H, W]. */
  readonly shape: readonly [number, number];
  /** The loss map mean-pooled to at most THUMBNAIL_MAX x THUMBNAIL_MAX, for the dataset view's rows. */
  readonly thumbnail?: LossThumbnail;
  /** With EvalImageRequest.keepLosses: the per-pixel loss of the non-ignored pixels in raster order (float32). */
  readonly losses?: Float32Array;
  /** With EvalImageRequest.labelSums: label issues' pass 1 for this image (src/labels/pairIssues.ts imageThresholdSums). */
  readonly labelSums?: { readonly sums: number[]; readonly counts: number[] };
}

/** Largest side of a loss thumbnail: 32 x 32 float32 is 4 KB per image (40 MB for 10,000), the only per-pixel data kept. */
export const THUMBNAIL_MAX = 32;

/** A downsampled loss map: each cell the mean loss of its non-ignored pixels, NaN where all are ignored. */
export interface LossThumbnail {
  readonly h: number;
  readonly w: number;
  /** h * w, row-major. */
  readonly data: Float32Array;
}

/** A folder entry named like a tensor file that cannot be read (a link loop, a FIFO, a folder), and why. */
export interface UnreadableEntry {
  readonly name: string;
  readonly reason: string;
}

/** A pair of files evaluated together. */
export interface EvalPair {
  readonly stem: string;
  readonly prediction: string;
  readonly label: string;
}

/** Worker job: evaluate one pair (src/worker/jobs/evalImage.ts). */
export interface EvalImageRequest {
  readonly kind: 'eval-image';
  readonly id: number;
  readonly pair: EvalPair;
  readonly options: EvalOptions;
  /** dist/ce.wasm, or null for the pure-TS kernel. */
  readonly wasmPath: string | null;
  /** Send back the non-ignored pixels' losses too (`runs` keeps them on disk for its percentiles). */
  readonly keepLosses?: boolean;
  /**
   * Compute label issues' pass 1 on the logits already read (eval --label-issues): the per-class sums of
   * the labels' float64 probabilities, as the label-issues job would after reading the pair again.
   */
  readonly labelSums?: boolean;
  /**
   * Pixel ranges a channels-first .npy prediction is read in (one read per class row and range; default 1,
   * the whole file in one read). A worker's first image pays for every page of memory it reads into, about
   * 20 us per 4 KiB page on some virtual machines, which a few ranges cut to a fraction; each range costs
   * a read per class row on every image, so a run gives more than one only to workers with few images.
   */
  readonly readRanges?: number;
}

export type EvalImageResponse = { readonly kind: 'eval-image-done'; readonly id: number; readonly result: ImageResult };

/** One class's figures in the `eval --json` report (and in the dataset view's summary). */
export interface EvalClassFigures {
  readonly class: number;
  readonly count: number;
  readonly iou: number | null;
  readonly accuracy: number | null;
  readonly dice: number | null;
  readonly meanLoss: number | null;
  readonly share: number | null;
}

/** The `eval --json` report (DESIGN.md); NaN and infinities are written as strings by the CLI. */
export interface EvalReport {
  readonly images: number;
  readonly value: number;
  readonly pixelAccuracy: number | null;
  readonly perClass: readonly EvalClassFigures[];
  readonly miou: number | null;
  readonly miouPerImage: number | null;
  readonly ece: number | null;
  readonly mce: number | null;
  readonly calibration: {
    readonly edges: readonly number[];
    readonly count: readonly number[];
    readonly confidence: ReadonlyArray<number | null>;
    readonly accuracy: ReadonlyArray<number | null>;
  };
  readonly boundary: { readonly width: number; readonly share: number | null; readonly meanInside: number | null; readonly meanOutside: number | null };
  readonly weights: {
    readonly frequency: readonly number[];
    readonly medianFrequency: readonly number[];
    readonly sqrtInverse: readonly number[];
    readonly enet: readonly number[];
    readonly valueMedianFrequency: number;
    readonly valueSqrtInverse: number;
    readonly valueEnet: number;
  };
  readonly perImage: ReadonlyArray<{ readonly name: string; readonly value: number; readonly pixelAccuracy: number | null; readonly miou: number | null; readonly worstClass: number | null }>;
  readonly unmatched: readonly string[];
  /** Present only when some entries could not be read (their names are in unmatched too). */
  readonly unreadable?: readonly UnreadableEntry[];
}

/** What a shard's output adds to its report so that `merge` can rebuild the single run's report. */
/** What a shard's part says it is (ShardSums.format). */
export const PART_FORMAT = 'cross-entropy-lens-eval-part';

export interface ShardSums {
  readonly format: typeof PART_FORMAT;
  readonly version: 1;
  readonly shard: { readonly index: number; readonly count: number };
  /** Pairs in the whole folder (all shards). */
  readonly totalPairs: number;
  readonly classes: number;
  readonly options: EvalOptions;
  readonly counts: {
    readonly images: number;
    readonly pixels: number;
    readonly correct: number;
    readonly count: readonly number[];
    readonly tp: readonly number[];
    readonly fp: readonly number[];
    readonly fn: readonly number[];
    /** Non-zero confusion cells as [index, count] pairs; null above CONFUSION_MAX_CLASSES. */
    readonly confusion: ReadonlyArray<readonly [number, number]> | null;
    readonly binCount: readonly number[];
    readonly binCorrect: readonly number[];
    readonly bandCount: number;
    readonly outsideCount: number;
  };
  /** This shard's images, in stem order. */
  readonly images: readonly ImageRecord[];
  readonly unmatched: readonly string[];
  /** As in EvalReport: present only when some entries could not be read. */
  readonly unreadable?: readonly UnreadableEntry[];
  /** eval --label-issues --shard: stage 1 (pass-1 sums) or stage 2 (pass 2 under merged thresholds). */
  readonly labelIssues?: LabelIssuesPart;
}

/** Stage 1 of a sharded eval --label-issues, one image: pass 1 (src/labels/pairIssues.ts imageThresholdSums). */
export interface Pass1Image {
  /** The image's index in stem order over the whole folder (shard.index + k * shard.count for its k-th image). */
  readonly index: number;
  /** [class, sum of that class's probability over the pixels labelled with it, their count], ascending, classes with pixels only. */
  readonly sums: ReadonlyArray<readonly [number, number, number]>;
}

export interface LabelIssuesStage1 {
  readonly stage: 1;
  /** One per image of the shard, in its order. */
  readonly images: readonly Pass1Image[];
}

/** Stage 2 of a sharded eval --label-issues, one image: pass 2 under the folder's thresholds. */
export interface Pass2Image extends ImagePass2 {
  readonly index: number;
}

export interface LabelIssuesStage2 {
  readonly stage: 2;
  /** The thresholds file the shard ran with (each part carries it; the merge checks that they agree). */
  readonly thresholds: LabelIssueThresholds;
  readonly images: readonly Pass2Image[];
}

export type LabelIssuesPart = LabelIssuesStage1 | LabelIssuesStage2;

export const THRESHOLDS_FORMAT = 'cross-entropy-lens-label-issue-thresholds';

/** What `merge --thresholds` writes and `eval --label-issues --thresholds FILE` reads. */
export interface LabelIssueThresholds {
  readonly format: typeof THRESHOLDS_FORMAT;
  readonly version: 1;
  readonly classes: number;
  /** Pairs in the whole folder. */
  readonly images: number;
  /** 'sha256:' and the hex digest of the JSON array of the pairs' stems in stem order. */
  readonly listing: string;
  /** Labelled (non-ignored) pixels of all images. */
  readonly pixels: number;
  /** The options the thresholds depend on. */
  readonly options: { readonly ignoreIndex: number; readonly classDim: number };
  /** Per class, as the single run's pass 1 gives them. */
  readonly thresholds: readonly number[];
}

/** A folder's label issues (eval --label-issues): the pooled result and each image's quality. */
export interface FolderLabelIssues extends FolderIssues {
  readonly thresholds: readonly number[];
  /** Per image, in the order of the pairs: its label quality (null without labelled pixels). */
  readonly quality: ReadonlyArray<number | null>;
}
