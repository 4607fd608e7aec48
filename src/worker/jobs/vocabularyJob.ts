// The vocabulary worker job: a tokenizer.json / vocab.json / vocab.txt read as a regular file of at most
// MAX_VOCABULARY_FILE_BYTES (src/worker/files/regularFile.ts) and parsed (src/tensor/text/vocab.ts) in a worker, so a
// 30 MB tokenizer.json never blocks the extension host. The result is plain arrays (structured-cloned back).
import * as path from 'node:path';
import { LensError } from '../../errors';
import { MAX_VOCABULARY_FILE_BYTES, parseVocabulary, type Vocabulary } from '../../tensor/text/vocab';
import { readSmallRegularFile } from '../files/regularFile';

export async function readVocabularyFile(file: string, maxBytes = MAX_VOCABULARY_FILE_BYTES): Promise<Vocabulary> {
  const r = await readSmallRegularFile(file, maxBytes);
  if (r.kind === 'missing') throw new LensError('io', `${file}: no such file (crossEntropyLens.vocabulary)`);
  if (r.kind === 'refused') throw new LensError('io', `${file}: ${r.reason} — the vocabulary is not read from it`);
  return parseVocabulary(path.basename(file), r.bytes);
}
