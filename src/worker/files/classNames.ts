// Class names from classes.json (a JSON list) or classes.txt (one name per line) beside an input file.
// These are found by name, not picked, so they are read only when they are regular files of modest size:
// a classes.json that links to /dev/zero must not cost gigabytes on every recompute.
import * as path from 'node:path';
import { readSmallRegularFile } from './regularFile';

/** Far above any real label list (ImageNet-21k's names are about 1 MB), far below a memory problem. */
export const MAX_CLASS_NAMES_BYTES = 4 << 20;

export interface ClassNamesFound {
  /** The names, or [] when neither file holds any. */
  readonly names: readonly string[];
  /** One line worth telling the user: a class-name file that exists but was not read, else null. */
  readonly note: string | null;
}

function parseJsonNames(text: string): string[] | null {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.map((x) => String(x)) : null;
  } catch {
    return null;
  }
}

function parseTextNames(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** classes.json, else classes.txt, in the directory of `inputPath`. */
export async function readClassNamesBeside(inputPath: string, maxBytes = MAX_CLASS_NAMES_BYTES): Promise<ClassNamesFound> {
  const dir = path.dirname(inputPath);
  let note: string | null = null;
  for (const [file, parse] of [['classes.json', parseJsonNames], ['classes.txt', parseTextNames]] as const) {
    const p = path.join(dir, file);
    const r = await readSmallRegularFile(p, maxBytes);
    if (r.kind === 'missing') continue;
    if (r.kind === 'refused') {
      note ??= `${p}: ${r.reason} — class names are not read from it`;
      continue;
    }
    const names = parse(new TextDecoder('utf-8').decode(r.bytes));
    if (names !== null) return { names, note };
  }
  return { names: [], note };
}
