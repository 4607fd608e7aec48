// What a hover on a tensor-file path shows, as plain data, and how a large file is sampled. The reading
// itself happens in a worker thread (src/worker/jobs/tensorSummary.ts); this part is pure so it is testable.

import type { TensorStats } from './report';

/**
 * Sampling of large .npy files. A file whose size on disk is over `overBytes` (100 MB) is not read whole
 * for a hover: the statistics come from `blocks` (32) contiguous runs of `blockBytes` (512 KiB) of the data,
 * evenly spaced from the first element to the last (the first run starts at the data, the last one ends at
 * the end of the data), so 16 MiB are read whatever the file's size. Min, max, mean and the NaN/Inf counts
 * are then those of the sampled elements, and the hover says so.
 */
export interface SamplingPolicy {
  readonly overBytes: number;
  readonly blocks: number;
  readonly blockBytes: number;
}

export const DEFAULT_SAMPLING: SamplingPolicy = { overBytes: 100 * 1000 * 1000, blocks: 32, blockBytes: 512 * 1024 };

/**
 * Sampling of .npz members. The archive's zip directory states each member's uncompressed size; a hover
 * reads members whole (CRC-checked) while their sizes add up to at most `overBytes`, and any member no
 * larger than its sample, and samples the rest: a stored member (np.savez) like a large .npy file, from
 * `blocks` evenly spaced runs; a deflated one (np.savez_compressed) from its first `blocks * blockBytes`
 * data bytes only, since deflate cannot be read from the middle without inflating everything before it.
 * Nothing else is inflated, so an archive that inflates to gigabytes (a zip bomb) costs a hover no more
 * than these bytes per member.
 */
export function npzSampleBytes(policy: SamplingPolicy): number {
  return policy.blocks * policy.blockBytes;
}

/** Byte ranges [offset, length] within the data (offsets relative to its first byte), item-aligned. */
export function sampleRanges(dataBytes: number, itemSize: number, policy: SamplingPolicy): Array<readonly [number, number]> {
  const items = Math.floor(dataBytes / itemSize);
  const perBlock = Math.max(1, Math.floor(policy.blockBytes / itemSize));
  if (policy.blocks <= 1 || items <= perBlock * policy.blocks) {
    // Too small to need sampling with this policy: the whole data is one range.
    return [[0, items * itemSize]];
  }
  const out: Array<readonly [number, number]> = [];
  const lastStart = items - perBlock;
  for (let k = 0; k < policy.blocks; k++) {
    const first = Math.round((k * lastStart) / (policy.blocks - 1));
    out.push([first * itemSize, perBlock * itemSize]);
  }
  return out;
}

/** How one .npz member's statistics were sampled (see npzSampleBytes). */
export interface MemberSample {
  /** 'spaced': evenly spaced runs from the first element to the last; 'first': the first elements only. */
  readonly layout: 'spaced' | 'first';
  readonly blocks: number;
  readonly blockBytes: number;
  readonly elements: number;
  readonly totalElements: number;
  /** The member's uncompressed size from the zip directory. */
  readonly memberBytes: number;
}

export interface ArraySummary {
  /** The npz member name (null for a .npy file). */
  readonly name: string | null;
  readonly shape: readonly number[];
  readonly dtype: string;
  /** The descr as written in the header, e.g. '<f4'. */
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly stats: TensorStats | null;
  /** Why there are no statistics (a value that does not fit, a corrupt member), else null. */
  readonly error: string | null;
  /** Set when an .npz member's statistics come from a sample of it. */
  readonly sampled?: MemberSample;
}

/** A PNG label mask: its header, and for a small mask the class values it holds. */
export interface MaskSummary {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  /** gray, palette, gray+alpha, RGB, RGBA. */
  readonly colorType: string;
  /** Distinct values (classes) with their pixel counts, ascending; null when not counted (see `note`). */
  readonly classes: ReadonlyArray<{ readonly value: number; readonly count: number }> | null;
}

/** Masks up to this many pixels are decoded for a hover (class counts); larger ones show their header only. */
export const MASK_HOVER_PIXELS = 4096 * 4096;

/**
 * torch.save and .safetensors hovers: names, shapes and dtypes of every tensor (a torch.save file from its
 * data.pkl, read whole up to `overBytes`; a .safetensors file from its header, at any size), and statistics
 * of the tensors read whole while their data adds up to at most this many bytes.
 */
export const CHECKPOINT_STATS_BYTES = 16 << 20;

export interface FileSummary {
  readonly path: string;
  readonly sizeBytes: number;
  /** 'torch': a torch.save file (.pt, .pth, .bin); 'safetensors': a .safetensors file. */
  readonly kind: 'npy' | 'npz' | 'png' | 'torch' | 'safetensors';
  /** Set for kind 'png'. */
  readonly mask?: MaskSummary;
  readonly arrays: readonly ArraySummary[];
  /** Members not listed (beyond the first few of a large archive). */
  readonly moreArrays: number;
  /** Set when the statistics come from a sample of a large file. */
  readonly sampled: { readonly blocks: number; readonly blockBytes: number; readonly elements: number; readonly totalElements: number } | null;
  /** Something the hover should say instead of (or besides) statistics. */
  readonly note: string | null;
}
