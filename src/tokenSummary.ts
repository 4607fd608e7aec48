// What the token view is sent about a vocabulary: only the strings it shows (the target and predicted id of
// every token, and the worst elements' ids), never a whole 256k-entry tokenizer; hover details add the
// strings of their top ids. Pure: the panel host, the notebook host and the notebook page's own session use it.
import type { ClassStats, WorstElement } from './kernel/types';
import type { TokenDetails, TokenSummary } from './protocol';
import type { TokenRowDetails } from './kernel/sample/tokenRow';
import { subsetVocabulary, tokenIndex, type Vocabulary } from './tensor/text/vocab';

/** The ids a summary's token view needs, from the maps when kept (else the classes that occur at all). */
export interface TokenIdSources {
  readonly targetClass?: ArrayLike<number> | null;
  readonly predicted?: ArrayLike<number> | null;
  readonly perClass: readonly ClassStats[];
  readonly worst: readonly WorstElement[];
}

function neededIds(vocab: Vocabulary, src: TokenIdSources): number[] {
  const size = vocab.size;
  const mark = new Uint8Array(size);
  const add = (id: number): void => {
    if (id >= 0 && id < size) mark[id] = 1;
  };
  if (src.targetClass && src.predicted) {
    const t = src.targetClass;
    const p = src.predicted;
    for (let i = 0; i < t.length; i++) add(t[i]);
    for (let i = 0; i < p.length; i++) add(p[i]);
  } else {
    for (const c of src.perClass) if (c.count > 0 || c.ignored > 0 || c.predicted > 0) add(c.index);
  }
  for (const w of src.worst) {
    add(w.target);
    add(w.predicted);
  }
  const ids: number[] = [];
  for (let id = 0; id < size; id++) if (mark[id] && tokenIndex(vocab, id) >= 0) ids.push(id);
  return ids;
}

/** The token view's part of a summary: the vocabulary cut to the ids shown, and a note saying where it came from. */
export function tokenSummary(vocab: Vocabulary | null, src: TokenIdSources, where: string): TokenSummary {
  if (!vocab) {
    return { vocabulary: null, note: 'No vocabulary: token ids are shown (set crossEntropyLens.vocabulary to a tokenizer.json, vocab.json or vocab.txt, put one beside the input, or pass tokenizer= to cross_entropy_lens.display()).' };
  }
  return { vocabulary: subsetVocabulary(vocab, neededIds(vocab, src)), note: `${vocab.note}${where ? ` (${where})` : ''}` };
}

/** Hover details with the strings of their target and top ids. */
export function withDetailStrings(d: TokenRowDetails, row: number, target: number, C: number, vocab: Vocabulary | null): TokenDetails {
  const ids = [target, ...d.top.map((t) => t.id)];
  return { ...d, row, target, C, vocabulary: vocab ? subsetVocabulary(vocab, ids) : null };
}
