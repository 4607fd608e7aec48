// Hostile torch.save files, round two (#21): small files that asked a naive reader for seconds to hours of
// work or gigabytes of memory. Each runs through the CLI in a fresh process (3 s, 600 MB) and, where the
// hover reads the file, through the hover's summary; each ends with PyTorch's answer or one line `error:`.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { summarizeTensorFile } from '../../../src/worker/jobs/tensorSummary';
import { type BoundedRun, assertBounded, assertCleanJson, assertOneLineError, runCliBounded } from './boundedCli';
import {
  reusedCompoundKeyPickle, reusedKeyPickle, sharedDictsPickle, stored, tensorArchiveWith, torchArchive, zerosBomb,
} from './torchFixtures';

const LOGITS = [0.5, -1.25, 2];

/** F.cross_entropy([[0.5, -1.25, 2]], [2]) as PyTorch computes it in float32. */
function torchLoss(): number {
  const r = spawnSync('/usr/bin/python3', ['-c', `import torch, torch.nn.functional as F; print(repr(F.cross_entropy(torch.tensor([${LOGITS.join(', ')}]).reshape(1, 3), torch.tensor([2])).item()))`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `PyTorch is needed for the expected value: ${r.stderr}`);
  return Number(r.stdout.trim());
}

describe('hostile torch.save files (round two)', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-hostile-pt-'));
  const logits = stored('0', new Uint8Array(Float32Array.from(LOGITS).buffer));
  let expected = Number.NaN;
  const write = (name: string, bytes: Uint8Array): string => {
    fs.writeFileSync(path.join(dir, name), bytes);
    return name;
  };
  const cli = (...args: string[]): BoundedRun => runCliBounded([...args, '--json'], { cwd: dir, killAfterMs: 20_000 });
  /** Either PyTorch's loss (exit 0) or one line naming the refusal (exit 2): both are fine for a hostile file. */
  const cleanOrRefused = (r: BoundedRun, refusal: RegExp, what: string): void => {
    if (r.status === 0) {
      const out = assertCleanJson<{ value: number }>(r, what);
      assert.ok(Math.abs(out.value - expected) <= 1e-6 * Math.abs(expected), `${what}: ${out.value} vs PyTorch ${expected}`);
    } else {
      assertOneLineError(r, refusal, what);
    }
  };

  before(function () {
    expected = torchLoss();
    write('target.npy', encodeNpy({ dtype: 'int64', shape: [1], data: [2] }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the fixture itself: a plain {"t": tensor} file gives PyTorch\'s loss', function () {
    const f = write('plain.pt', torchArchive(reusedKeyPickle(1, 0), [logits]));
    const out = assertCleanJson<{ value: number }>(cli(`${f}:t`, 'target.npy'), 'plain');
    assert.ok(Math.abs(out.value - expected) <= 1e-6 * Math.abs(expected), `${out.value} vs ${expected}`);
  });

  it('a 1 MB string dict key reused 10,000 times (a 1.3 KB-class file)', function () {
    const f = write('strkey.pt', torchArchive(reusedKeyPickle(1 << 20, 10_000), [logits]));
    assert.ok(fs.statSync(path.join(dir, f)).size < 16_000, `${fs.statSync(path.join(dir, f)).size} bytes`);
    cleanOrRefused(cli(`${f}:t`, 'target.npy'), /dict key/, '1 MB key x 10k');
  });

  it('a 16 MB string key reused 2,000 times', function () {
    const f = write('strkey16.pt', torchArchive(reusedKeyPickle(16 << 20, 2000), [logits]));
    cleanOrRefused(cli(`${f}:t`, 'target.npy'), /dict key/, '16 MB key');
  });

  it('a 4 KB bytes key and a 4,000-item tuple key, each reused 400,000 times', function () {
    const b = write('byteskey.pt', torchArchive(reusedCompoundKeyPickle('bytes', 4096, 400_000), [logits]));
    cleanOrRefused(cli(`${b}:t`, 'target.npy'), /dict key/, 'bytes key');
    const t = write('tuplekey.pt', torchArchive(reusedCompoundKeyPickle('tuple', 4000, 400_000), [logits]));
    cleanOrRefused(cli(`${t}:t`, 'target.npy'), /dict key/, 'tuple key');
  });

  it('a member path of 26 segments over shared dicts resolves (or fails) without backtracking blow-up', function () {
    const n = 40;
    const f = write('shared.pt', torchArchive(sharedDictsPickle(n), [logits]));
    const miss = `${f}:${new Array(26).fill('a').join('.')}.zz`;
    assertOneLineError(cli(miss, 'target.npy'), /no member named/, 'missing path');
    const deep = `${new Array(60).fill('a').join('.')}.zz`;
    assertOneLineError(cli(`${f}:${deep}`, 'target.npy'), /no member named/, 'missing 60-segment path');
    const hit = `${f}:${new Array(n).fill('a').join('.')}.t`;
    cleanOrRefused(cli(hit, 'target.npy'), /no member/, 'the existing path');
    // The hover lists the file and reads its tensors by their listed names.
    const t0 = performance.now();
    const s = summarizeTensorFile(path.join(dir, f));
    assert.ok(performance.now() - t0 < 1000, `hover summary took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(s.arrays.length, 1);
    assert.deepEqual(s.arrays[0].shape, [1, 3]);
    assert.ok(s.arrays[0].stats !== null, 'statistics of the one tensor');
  });

  it('a deflated 1.5 GB storage behind a 3-element tensor (a 1.5 MB file) is not inflated', function () {
    const bomb = zerosBomb('0', 1536);
    const f = write('bomb.pt', torchArchive(reusedKeyPickle(1, 0), [bomb]));
    assert.ok(fs.statSync(path.join(dir, f)).size < 2 << 20);
    assertOneLineError(cli(`${f}:t`, 'target.npy'), /storage data\/0 .*(holds|inflates to) .*more than/, '1.5 GB storage');
    // The hover: the tensor is listed, its statistics fail in one line, nothing is kept.
    const rss0 = process.memoryUsage().rss;
    const s = summarizeTensorFile(path.join(dir, f));
    assert.equal(s.arrays.length, 1);
    assert.match(s.arrays[0].error ?? '', /more than/);
    assert.ok(process.memoryUsage().rss - rss0 < 200 << 20, `hover grew RSS by ${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(0)} MB`);
  });

  it('three such storages in one file', function () {
    const f = write('bomb3.pt', tensorArchiveWith(3, (i) => zerosBomb(String(i), 1536)));
    for (let i = 0; i < 3; i++) assertOneLineError(cli(`${f}:t${i}`, 'target.npy'), /more than/, `storage ${i}`);
    const s = summarizeTensorFile(path.join(dir, f));
    assert.equal(s.arrays.length, 3);
    for (const a of s.arrays) assert.match(a.error ?? '', /more than/);
  });

  it('a storage that really holds 1.5 GB (its declared size) behind a 3-element view reads only the view', function () {
    // The pickle declares 402,653,184 elements; the view is the first 3. Only 12 bytes need inflating.
    const big = tensorArchiveWith(1, () => zerosBomb('0', 1536), (1536 << 20) / 4);
    const f = write('bigstorage.pt', big);
    const r = assertBounded(cli(`${f}:t0`, 'target.npy'), 'declared 1.5 GB storage');
    // All logits are 0 here: the loss is log(3).
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { value: number };
    assert.ok(Math.abs(out.value - Math.log(3)) < 1e-6, `${out.value}`);
  });
});
