// Pairs prediction files with label files by stem (DESIGN.md, eval): the file name without its extension,
// less one known suffix. Pure: the caller lists the folders (src/eval/files.ts).
import { LensError } from '../errors';
import type { EvalPair, UnreadableEntry } from './types';

/** Suffixes stripped from prediction stems, longest first so that no suffix hides a longer one. */
export const PREDICTION_SUFFIXES: readonly string[] = ['_logits', '_output', '_pred'];
/** Suffixes stripped from label stems, longest first (`_gtFine_labelIds` before `_labels` before `_label`). */
export const LABEL_SUFFIXES: readonly string[] = ['_gtFine_labelIds', '_labels', '_label', '_mask', '_seg', '_gt'];

const PREDICTION_EXTENSIONS = ['.npy', '.npz', '.pt', '.pth', '.bin', '.safetensors'];
const LABEL_EXTENSIONS = ['.png', '.npy', '.npz', '.pt', '.pth', '.safetensors'];

function extensionOf(name: string, allowed: readonly string[]): string | null {
  const lower = name.toLowerCase();
  return allowed.find((e) => lower.endsWith(e) && lower.length > e.length) ?? null;
}

/** Whether a file in the predictions folder takes part in pairing (other files, e.g. README, are skipped). */
export function isPredictionFile(name: string): boolean {
  return !name.startsWith('.') && extensionOf(name, PREDICTION_EXTENSIONS) !== null;
}

/** Whether a file in the labels folder takes part in pairing (classes.json and the like are skipped). */
export function isLabelFile(name: string): boolean {
  return !name.startsWith('.') && extensionOf(name, LABEL_EXTENSIONS) !== null;
}

function stemWith(name: string, extensions: readonly string[], suffixes: readonly string[]): string {
  const ext = extensionOf(name, extensions);
  const base = ext === null ? name : name.slice(0, name.length - ext.length);
  // One suffix at most, and never the whole name: `_gt.png` keeps its stem `_gt`.
  const suffix = suffixes.find((s) => base.endsWith(s) && base.length > s.length);
  return suffix === undefined ? base : base.slice(0, base.length - suffix.length);
}

export function predictionStem(name: string): string {
  return stemWith(name, PREDICTION_EXTENSIONS, PREDICTION_SUFFIXES);
}

export function labelStem(name: string): string {
  return stemWith(name, LABEL_EXTENSIONS, LABEL_SUFFIXES);
}

/**
 * Stem order: by UTF-16 code units, as JavaScript's default sort and Python's sorted() on ASCII names;
 * never locale-dependent, so every machine (and every shard) numbers the pairs alike.
 */
export function compareStems(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Pairing {
  /** Pairs in stem order. */
  readonly pairs: readonly EvalPair[];
  /**
   * File names with no partner: predictions first, then labels, each in name order. Unreadable entries
   * are among them (a consumer that knows only this list still sees them left out).
   */
  readonly unmatched: readonly string[];
  /** Entries named like tensor files that cannot be read, with why: predictions first, then labels. */
  readonly unreadable: readonly UnreadableEntry[];
}

/** File names by stem, in name order; two files of one stem in a folder are an error naming both. */
export function byStem(names: readonly string[], stem: (n: string) => string, folder: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const name of [...names].sort(compareStems)) {
    const s = stem(name);
    const other = map.get(s);
    if (other !== undefined) {
      throw new LensError('io', `${folder}: ${other} and ${name} both have the stem '${s}' — keep one of them (or move it to another folder)`);
    }
    map.set(s, name);
  }
  return map;
}

/**
 * Pairs the tensor files of two folders (file names, not paths; `join` makes the paths). Files whose
 * extension is not a tensor or mask format are left out (not listed as unmatched). `unreadable` entries of
 * each folder take no part in pairing and are listed as unmatched.
 */
export function pairFiles(
  predictionNames: readonly string[],
  labelNames: readonly string[],
  join: (folder: 'prediction' | 'label', name: string) => string,
  folders: { readonly prediction: string; readonly label: string } = { prediction: 'predictions', label: 'labels' },
  unreadable: { readonly prediction: readonly UnreadableEntry[]; readonly label: readonly UnreadableEntry[] } = { prediction: [], label: [] },
): Pairing {
  const preds = byStem(predictionNames.filter(isPredictionFile), predictionStem, folders.prediction);
  const labels = byStem(labelNames.filter(isLabelFile), labelStem, folders.label);
  const pairs: EvalPair[] = [];
  const unmatchedPred: string[] = [];
  for (const [stem, name] of preds) {
    const label = labels.get(stem);
    if (label === undefined) unmatchedPred.push(name);
    else pairs.push({ stem, prediction: join('prediction', name), label: join('label', label) });
  }
  const unmatchedLabel = [...labels].filter(([stem]) => !preds.has(stem)).map(([, name]) => name);
  pairs.sort((a, b) => compareStems(a.stem, b.stem));
  const byName = (a: UnreadableEntry, b: UnreadableEntry): number => compareStems(a.name, b.name);
  const badPred = [...unreadable.prediction].sort(byName);
  const badLabel = [...unreadable.label].sort(byName);
  unmatchedPred.push(...badPred.map((u) => u.name));
  unmatchedLabel.push(...badLabel.map((u) => u.name));
  return { pairs, unmatched: [...unmatchedPred.sort(compareStems), ...unmatchedLabel.sort(compareStems)], unreadable: [...badPred, ...badLabel] };
}

/** Parses `--shard I/N` (0 <= I < N). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new LensError('option', `--shard expects I/N with 0 <= I < N (e.g. 0/4), got '${text}' (see --help)`);
  }
  return { index, count };
}

/** The pairs of shard I of N: those whose index in stem order is I mod N. */
export function shardPairs<T>(pairs: readonly T[], shard: { index: number; count: number } | null): T[] {
  return shard === null ? [...pairs] : pairs.filter((_, i) => i % shard.count === shard.index);
}
