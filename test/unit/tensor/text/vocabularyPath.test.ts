// Which vocabulary the token view reads: the setting (absolute, or relative to the workspace folder), else
// the best file beside the input (tokenizer.json before vocab.json before vocab.txt), else none.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveVocabularyPath } from '../../../../src/host/panels/vocabularyPath';

describe('vocabulary resolution (setting, beside the input, none)', function () {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-vocab-path-'));
  const data = path.join(root, 'runs', 'lm');
  const bare = path.join(root, 'bare');
  before(() => {
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(bare, { recursive: true });
    fs.mkdirSync(path.join(root, 'tok'));
    for (const f of ['logits.npy', 'targets.npy', 'vocab.txt', 'tokenizer_config.json', 'tokenizer.json', 'vocab.json']) fs.writeFileSync(path.join(data, f), '');
    fs.writeFileSync(path.join(bare, 'logits.npy'), '');
    fs.writeFileSync(path.join(bare, 'classes.json'), '[]');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('the setting wins: relative to the workspace folder, or absolute', async function () {
    assert.deepEqual(await resolveVocabularyPath('tok/my-vocab.json', root, path.join(data, 'logits.npy')), { path: path.join(root, 'tok', 'my-vocab.json'), from: 'setting' });
    const abs = path.join(root, 'elsewhere', 'vocab.txt');
    assert.deepEqual(await resolveVocabularyPath(abs, root, path.join(data, 'logits.npy')), { path: abs, from: 'setting' });
    // No workspace folder: a relative setting starts at the input's folder.
    assert.deepEqual(await resolveVocabularyPath('vocab.txt', null, path.join(data, 'logits.npy')), { path: path.join(data, 'vocab.txt'), from: 'setting' });
    // Nothing to resolve a relative path against.
    assert.equal(await resolveVocabularyPath('vocab.txt', null, null), null);
  });

  it('without the setting: tokenizer.json beside the input, before vocab.json and vocab.txt (not tokenizer_config.json)', async function () {
    assert.deepEqual(await resolveVocabularyPath('', root, path.join(data, 'logits.npy')), { path: path.join(data, 'tokenizer.json'), from: 'beside the input' });
    assert.deepEqual(await resolveVocabularyPath('  ', null, `${path.join(data, 'all.npz')}:logits`), { path: path.join(data, 'tokenizer.json'), from: 'beside the input' });
    fs.rmSync(path.join(data, 'tokenizer.json'));
    assert.deepEqual(await resolveVocabularyPath('', root, path.join(data, 'logits.npy')), { path: path.join(data, 'vocab.json'), from: 'beside the input' });
  });

  it('none: no candidate beside the input, an in-memory input, or a missing folder', async function () {
    assert.equal(await resolveVocabularyPath('', root, path.join(bare, 'logits.npy')), null);
    assert.equal(await resolveVocabularyPath('', root, null), null);
    assert.equal(await resolveVocabularyPath('', root, path.join(root, 'missing', 'logits.npy')), null);
  });
});
