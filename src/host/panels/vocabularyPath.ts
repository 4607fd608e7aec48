// Which vocabulary file the token view reads (no `vscode` here, so tests run it as is): the setting
// crossEntropyLens.vocabulary (a relative path is taken from the workspace folder, else from the input's
// folder), else the best candidate beside the input file (findVocabularyCandidates: tokenizer.json,
// vocab.json, vocab.txt, ...), else none (the view shows token ids).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitMemberSpec } from '../../tensor/load';
import { findVocabularyCandidates } from '../../tensor/text/vocab';

export interface VocabularyChoice {
  readonly path: string;
  readonly from: 'setting' | 'beside the input';
}

/** Most directory entries looked at beside an input (a folder of a million shards is not scanned). */
const MAX_LISTING = 20_000;

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  let d: fs.Dir | null = null;
  try {
    d = await fs.promises.opendir(dir);
    for await (const e of d) {
      if (e.isFile() || e.isSymbolicLink()) names.push(e.name);
      if (names.length >= MAX_LISTING) break;
    }
  } catch {
    return names;
  } finally {
    // A for-await that runs to its end closes the directory itself; a break or a throw does not.
    await d?.close().catch(() => undefined);
  }
  return names;
}

/**
 * The vocabulary for an input: `setting` when not empty (absolute, or relative to `workspaceFolder`, else to
 * the input's folder), else the first candidate beside `inputSpec` (a path or `file.npz:member`), else null.
 */
export async function resolveVocabularyPath(setting: string, workspaceFolder: string | null, inputSpec: string | null): Promise<VocabularyChoice | null> {
  const s = setting.trim();
  const inputFile = inputSpec ? splitMemberSpec(inputSpec).path : null;
  if (s !== '') {
    const base = workspaceFolder ?? (inputFile ? path.dirname(inputFile) : null);
    if (!path.isAbsolute(s) && base === null) return null;
    return { path: path.isAbsolute(s) ? s : path.resolve(base as string, s), from: 'setting' };
  }
  if (!inputFile) return null;
  const dir = path.dirname(inputFile);
  const found = findVocabularyCandidates(await listDir(dir), path.basename(inputFile));
  return found.length ? { path: path.join(dir, found[0]), from: 'beside the input' } : null;
}
