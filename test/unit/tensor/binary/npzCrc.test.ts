// .npz members are CRC-checked like np.load checks them (zipfile raises BadZipFile "Bad CRC-32"): archives
// written by NumPy whose member bytes were altered afterwards (test/fixtures/tensor/make_hostile_fixtures.py
// records the stored CRC and, from Python's zlib, the CRC of the bytes now there). Every reader refuses the
// altered member with one line naming archive and member, and still reads the intact ones.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { crc32, crc32Portable, useNativeCrc32 } from '../../../../src/tensor/binary/crc32';
import { installNativeCrc32 } from '../../../../src/worker/files/nativeCrc';
import { readNpz } from '../../../../src/tensor/binary/npz';
import { readTensorFile } from '../../../../src/worker/files/readTensorFile';
import { summarizeTensorFile } from '../../../../src/worker/jobs/tensorSummary';
import { FIXTURES, fixture, fixtureJson, lensError } from '../helpers';

interface CrcCase {
  readonly file: string;
  readonly member: string;
  readonly storedCrc: number;
  readonly computedCrc: number;
  readonly numpy_error: string;
  readonly others: readonly string[];
}

const cases = fixtureJson<{ npz: CrcCase[] }>('hostile', 'manifest.json').npz;
const DIR = path.join(FIXTURES, 'hostile');
const CLI = path.resolve(__dirname, '../../../../dist/cli.js');
const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

describe('crc32', function () {
  const bytes = new Uint8Array(new SharedArrayBuffer(9001));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  const ranges = [[0, 0], [0, 1], [1, 8], [3, 20], [0, 16], [5, 4099], [0, 4099], [1, 4097], [7, 9001]];

  it('the portable code matches zlib on every length and alignment, and continues across pieces', function () {
    for (const [start, end] of ranges) {
      const part = bytes.subarray(start, end);
      assert.equal(crc32Portable(part), zlib.crc32(part), `[${start}, ${end})`);
      const mid = start + Math.floor((end - start) / 3);
      assert.equal(crc32Portable(bytes.subarray(mid, end), crc32Portable(bytes.subarray(start, mid))), zlib.crc32(part), `pieces of [${start}, ${end})`);
    }
    assert.equal(crc32Portable(new TextEncoder().encode('123456789')), 0xcbf43926); // the standard check value
  });

  it('with Node\'s handed in (installNativeCrc32, as the entry points do), the same values, pieces and shared memory included', function () {
    const calls: number[] = [];
    installNativeCrc32();
    try {
      for (const [start, end] of ranges) {
        const part = bytes.subarray(start, end);
        const mid = start + Math.floor((end - start) / 3);
        assert.equal(crc32(part), crc32Portable(part), `[${start}, ${end})`);
        assert.equal(crc32(bytes.subarray(mid, end), crc32(bytes.subarray(start, mid))), crc32Portable(part), `pieces of [${start}, ${end})`);
      }
      // What is handed in is what runs (from 4096 bytes): a wrong one shows.
      useNativeCrc32((b, c) => (calls.push(b.length), c ^ 1));
      assert.equal(crc32(bytes.subarray(0, 4096), 6), 7);
      assert.equal(crc32(bytes.subarray(0, 4095)), crc32Portable(bytes.subarray(0, 4095)));
      assert.deepEqual(calls, [4096]);
    } finally {
      useNativeCrc32(null);
    }
    assert.equal(crc32(bytes), crc32Portable(bytes));
  });
});

describe('npz: members whose bytes no longer match their CRC-32', function () {
  it('covers a stored member, a deflated one, and a deflated one whose stored CRC was changed', function () {
    assert.deepEqual(cases.map((c) => c.file), ['npz_stored_flipped.npz', 'npz_deflated_flipped.npz', 'npz_deflated_bad_crc.npz']);
    for (const c of cases) assert.match(c.numpy_error, /Bad CRC-32/);
  });

  for (const c of cases) {
    const name = c.member.replace(/\.npy$/, '');
    const want = `member ${c.member}: bad CRC-32 (stored ${hex(c.storedCrc)}, computed ${hex(c.computedCrc)}) — the archive is corrupt; re-save it`;

    it(`${c.file}: ${c.member} is refused (NumPy: ${c.numpy_error})`, function () {
      const a = readNpz(fixture('hostile', c.file), c.file);
      // Listing reads headers only, as np.load(...).files does: the archive still opens.
      assert.ok(a.members.some((m) => m.name === name));
      assert.equal(lensError(() => a.get(name), 'format').message, `${c.file}: ${want}`);
      assert.equal(lensError(() => a.head(name, Infinity), 'format').message, `${c.file}: ${want}`);
      for (const other of c.others) assert.ok(a.get(other).data.length > 0, `${other} still reads`);
    });

    it(`${c.file}: the CLI/engine file read and the hover refuse it too`, function () {
      const file = path.join(DIR, c.file);
      assert.equal(lensError(() => readTensorFile(`${file}:${name}`, 'input')).message, `${file}: ${want}`);
      const s = summarizeTensorFile(file);
      const m = s.arrays.find((x) => x.name === name);
      assert.equal(m?.stats, null);
      assert.equal(m?.error, `${file}: ${want}`);
      for (const other of c.others) assert.ok(s.arrays.find((x) => x.name === other.replace(/\.npy$/, ''))?.stats !== null);
    });
  }

  it('the CLI exits 2 with the one line', function () {
    if (!fs.existsSync(CLI)) this.skip(); // needs `npm run build`
    const c = cases[0];
    const r = spawnSync(process.execPath, [CLI, `${c.file}:logits`, `${c.file}:target`], { cwd: DIR, encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    const line = r.stderr.trim();
    assert.ok(line.startsWith('error: ') && !line.includes('\n'), line);
    assert.ok(line.endsWith(`${c.file}: member logits.npy: bad CRC-32 (stored ${hex(c.storedCrc)}, computed ${hex(c.computedCrc)}) — the archive is corrupt; re-save it`), line);
  });
});
