// Vocabularies are parsed once and shared by every panel (src/host/panels/vocabularyCache.ts): a prefetch while
// the target is picked and the panel's own ask share one read; a rewritten file is read again; a failed
// read is not kept.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VocabularyCache } from '../../../src/host/panels/vocabularyCache';
import type { Vocabulary } from '../../../src/tensor/text/vocab';

describe('vocabulary cache (src/host/panels/vocabularyCache.ts)', function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-vocab-cache-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function counting(fail = false): { cache: VocabularyCache; reads: string[] } {
    const reads: string[] = [];
    const cache = new VocabularyCache(async (p) => {
      reads.push(p);
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error(`cannot read ${p}`);
      return { note: fs.readFileSync(p, 'utf8') } as unknown as Vocabulary;
    });
    return { cache, reads };
  }

  it('a prefetch and the asks after it share one read', async function () {
    const f = path.join(dir, 'tokenizer.json');
    fs.writeFileSync(f, 'v1');
    const { cache, reads } = counting();
    cache.prefetch(f);
    const [a, b] = await Promise.all([cache.get(f), cache.get(f)]);
    assert.equal(a, b, 'one parsed vocabulary');
    assert.equal((await cache.get(f)).note, 'v1');
    assert.deepEqual(reads, [f], 'read once');
  });

  it('reads a rewritten file again', async function () {
    const f = path.join(dir, 'vocab.txt');
    fs.writeFileSync(f, 'v1');
    const { cache, reads } = counting();
    assert.equal((await cache.get(f)).note, 'v1');
    fs.writeFileSync(f, 'v2 longer');
    assert.equal((await cache.get(f)).note, 'v2 longer');
    assert.equal(reads.length, 2, 'read again after the change');
  });

  it('does not keep a failed read, and a prefetch never throws', async function () {
    const f = path.join(dir, 'missing.json');
    const { cache, reads } = counting(true);
    cache.prefetch(f);
    await assert.rejects(cache.get(f), /cannot read/);
    await assert.rejects(cache.get(f), /cannot read/);
    assert.ok(reads.length >= 2, `asked again after a failure (${reads.length} reads)`);
  });

  it('keeps the two latest vocabularies', async function () {
    const files = ['a', 'b', 'c'].map((n) => path.join(dir, `${n}.txt`));
    for (const f of files) fs.writeFileSync(f, f);
    const { cache, reads } = counting();
    for (const f of files) await cache.get(f);
    await cache.get(files[2]);
    await cache.get(files[1]);
    assert.equal(reads.length, 3, 'the latest two are kept');
    await cache.get(files[0]);
    assert.equal(reads.length, 4, 'the oldest was let go');
  });
});
