// Parsed vocabularies shared by every loss panel (no `vscode` here, so tests run it as is). A tokenizer.json
// can be megabytes: it is read and parsed once in a worker, starting as soon as the input is picked (the
// palette's target pick then hides it), and the panel that computes with it finds it parsed or on its way.
// Keyed by path, size and modification time, so a rewritten file is read again; a failed read is not kept.
import * as fs from 'node:fs';
import type { Vocabulary } from '../../tensor/text/vocab';

/** Vocabularies kept (the latest used): a 256k-entry tokenizer parses to tens of MB. */
const KEEP = 2;

export type ReadVocabulary = (path: string) => Promise<Vocabulary>;

export class VocabularyCache {
  private readonly entries = new Map<string, Promise<Vocabulary>>();

  constructor(private readonly read: ReadVocabulary) {}

  /** The vocabulary at `path`, parsed once per version of the file (concurrent asks share one read). */
  async get(path: string): Promise<Vocabulary> {
    const key = await keyOf(path);
    let entry = this.entries.get(key);
    if (entry) {
      // Most recently used last: the oldest goes first.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry;
    }
    entry = this.read(path);
    this.entries.set(key, entry);
    while (this.entries.size > KEEP) this.entries.delete(this.entries.keys().next().value as string);
    entry.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry;
  }

  /** Starts reading `path` now for a later get(); never fails (the get() that needs it reports the problem). */
  prefetch(path: string): void {
    this.get(path).catch(() => undefined);
  }
}

async function keyOf(path: string): Promise<string> {
  try {
    const st = await fs.promises.stat(path);
    return `${path}|${st.size}|${st.mtimeMs}`;
  } catch {
    // The read names the problem; a path that cannot be stat'ed is not worth keeping apart.
    return `${path}|?`;
  }
}
