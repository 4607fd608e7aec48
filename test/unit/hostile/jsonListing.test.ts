// JSON files in the pickers: parsed by a worker (list-tensor-file 'json'), as .npz, .safetensors and
// torch.save files are. On the extension host a 2 MB JSON tensor file took 35-70 ms of its thread, and the
// pickers read every .json of a workspace, 32 at a time.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import { listTensorFile, MAX_JSON_LISTING_BYTES } from '../../../src/worker/jobs/tensorListing';
import { DIST } from '../engine/helpers';

describe('JSON tensor files in the pickers', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-json-listing-'));
  const file = (name: string, text: string): string => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists one tensor as \'\', a pair by its roles, and nothing for other JSON or files over the limit', function () {
    assert.deepEqual(listTensorFile(file('one.json', '[[1.5, 2], [3, 4]]'), 'json').tensors, [{ name: '', shape: [2, 2], dtype: 'float64' }]);
    assert.deepEqual(listTensorFile(file('pair.json', '{"logits": [[0.1, 0.9]], "labels": [1]}'), 'json').tensors, [
      { name: 'input', shape: [1, 2], dtype: 'float64' },
      { name: 'target', shape: [1], dtype: 'int64' },
    ]);
    assert.throws(() => listTensorFile(file('package.json', '{"name": "x", "version": "1.0.0"}'), 'json'), (e: unknown) => isLensError(e) && e.message.startsWith(path.join(dir, 'package.json')));
    assert.deepEqual(listTensorFile(file('text.json', '"just a string"'), 'json').tensors, []);
    assert.deepEqual(listTensorFile(file('big.json', `[${'0, '.repeat(MAX_JSON_LISTING_BYTES / 3)}0]`), 'json').tensors, []);
  });

  it('a 2 MB JSON tensor file is listed without the caller\'s event loop busy 50 ms', function () {
    const rows = Array.from({ length: 9000 }, (_, i) => `[${Array.from({ length: 10 }, (_, j) => Math.sin(i * 10 + j).toFixed(15)).join(', ')}]`);
    const f = file('logits.json', `[${rows.join(', ')}]`);
    assert.ok(fs.statSync(f).size > 1.5e6 && fs.statSync(f).size <= MAX_JSON_LISTING_BYTES, `${fs.statSync(f).size} bytes`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'listingProbe.ts'), DIST, f, 'json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { ms: number; busyMs: number; count: number; first: unknown };
    assert.ok(seen.busyMs < 50, `the event loop was busy ${seen.busyMs.toFixed(0)} ms at a time while listing (${seen.ms.toFixed(0)} ms)`);
    assert.deepEqual(seen.first, { name: '', shape: [9000, 10], dtype: 'float64' });
  });
});
