// Pairing for `runs LABEL_DIR RUN_DIR...`: each run folder pairs with the labels by stem as `eval` pairs
// (src/eval/pairing.ts), and only the stems that have a label and a prediction in every run are
// evaluated, so that every run's figures cover the same images. Every other tensor file is listed in
// `unmatched`: each run's left-out predictions as `RUN_NAME/file` (runs in order, names in stem order),
// then the left-out labels. Pure: the caller lists the folders (src/eval/files.ts pairRunFolders).
import { byStem, compareStems, isLabelFile, isPredictionFile, labelStem, predictionStem } from '../pairing';
import type { EvalPair, UnreadableEntry } from '../types';

export interface RunsPairing {
  /** Stems evaluated, in stem order. */
  readonly stems: readonly string[];
  /** Per run, its pairs of those stems in stem order. */
  readonly pairs: ReadonlyArray<readonly EvalPair[]>;
  readonly unmatched: readonly string[];
  /** Entries named like tensor files that cannot be read (runs' first, as `RUN_NAME/file`, then labels'). */
  readonly unreadable: readonly UnreadableEntry[];
}

export interface RunListing {
  /** The run's name in the report (unique). */
  readonly name: string;
  readonly folder: string;
  readonly files: readonly string[];
  readonly unreadable: readonly UnreadableEntry[];
}

const byName = (a: UnreadableEntry, b: UnreadableEntry): number => compareStems(a.name, b.name);

export function pairRunFiles(
  labels: { readonly folder: string; readonly files: readonly string[]; readonly unreadable: readonly UnreadableEntry[] },
  runs: readonly RunListing[],
  join: (folder: string, file: string) => string,
): RunsPairing {
  const labelByStem = byStem(labels.files.filter(isLabelFile), labelStem, labels.folder);
  const predByStem = runs.map((r) => byStem(r.files.filter(isPredictionFile), predictionStem, r.folder));
  const stems = [...labelByStem.keys()].filter((s) => predByStem.every((p) => p.has(s))).sort(compareStems);
  const common = new Set(stems);
  const pairs = predByStem.map((p, k) => stems.map((stem) => ({ stem, prediction: join(runs[k].folder, p.get(stem)!), label: join(labels.folder, labelByStem.get(stem)!) })));
  const unmatched: string[] = [];
  const unreadable: UnreadableEntry[] = [];
  const leftOut = (m: Map<string, string>): string[] => [...m].filter(([stem]) => !common.has(stem)).map(([, file]) => file);
  predByStem.forEach((p, k) => {
    const bad = [...runs[k].unreadable].sort(byName);
    unmatched.push(...[...leftOut(p), ...bad.map((u) => u.name)].sort(compareStems).map((f) => `${runs[k].name}/${f}`));
    unreadable.push(...bad.map((u) => ({ name: `${runs[k].name}/${u.name}`, reason: u.reason })));
  });
  const badLabels = [...labels.unreadable].sort(byName);
  unmatched.push(...[...leftOut(labelByStem), ...badLabels.map((u) => u.name)].sort(compareStems));
  unreadable.push(...badLabels);
  return { stems, pairs, unmatched, unreadable };
}
