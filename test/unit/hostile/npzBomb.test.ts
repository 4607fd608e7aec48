// A compressed .npz member that inflates far beyond its file (hostile review, twelfth session): a 4.7 MB
// archive made by Python's zipfile holds 1 GiB of float32 zeros. Nothing bounded what inflating allocates
// (the whole-read limit sees the file's size), so reading it took 2.1 GB and 19 s before the class count was
// even checked; a file of several such members multiplied that. The zip reader now refuses to inflate
// more than 1 GiB from one file, in one line that says how to save the array instead.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { MAX_INFLATED_BYTES, ZipReader } from '../../../src/tensor/binary/zip';
import { readTensorFile } from '../../../src/worker/files/readTensorFile';
import { assertOneLineError, runCliBounded } from './boundedCli';

/** float32 elements of the member: one more than 1 GiB of data. */
const ELEMENTS = 2 ** 28 + 1;
/** The member's bytes: its 128-byte .npy header and the data. */
const MEMBER = 128 + 4 * ELEMENTS;
const fmt = (n: number): string => n.toLocaleString('en-US');

describe('hostile: a deflated .npz member that inflates beyond the file', function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-npz-bomb-'));
  const bomb = path.join(dir, 'bomb.npz');
  before(function () {
    const r = spawnSync('/usr/bin/python3', ['-c', `
import struct, zipfile
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (${ELEMENTS},), }"
hdr += ' ' * (64 - (10 + len(hdr) + 1) % 64) + '\\n'
with zipfile.ZipFile("bomb.npz", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    with z.open("logits.npy", "w", force_zip64=True) as f:
        f.write(b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        chunk, left = b"\\0" * (1 << 24), ${4 * ELEMENTS}
        while left > 0:
            f.write(chunk[:min(left, len(chunk))]); left -= len(chunk)
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    fs.writeFileSync(path.join(dir, 'target.npy'), encodeNpy({ dtype: 'int64', shape: [1], data: Int32Array.of(0) }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const refusal = new RegExp(`member logits\\.npy is compressed and inflates to ${fmt(MEMBER)} bytes, more than the ${fmt(MAX_INFLATED_BYTES)} \\(1 GiB\\) inflated in memory from one file: save it uncompressed \\(np\\.savez, or np\\.save to a \\.npy\\)$`);

  it('is refused before inflating, in one line naming the file and the way out', function () {
    assert.ok(fs.statSync(bomb).size < 8 << 20, `${fs.statSync(bomb).size} bytes`);
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    assert.throws(() => readTensorFile(bomb, 'input'), (e: unknown) => {
      assert.ok(isLensError(e), String(e));
      assert.ok(e.message.startsWith(`${bomb}: `), e.message);
      assert.match(e.message, refusal);
      return true;
    });
    assert.ok(performance.now() - t0 < 2000, `${(performance.now() - t0).toFixed(0)} ms`);
    assert.ok(process.memoryUsage().arrayBuffers - before < 100 << 20, 'no gigabyte allocated');
  });

  it('through the CLI: one line, within 3 s and 600 MB', function () {
    assertOneLineError(runCliBounded([bomb, path.join(dir, 'target.npy')]), refusal, 'bomb.npz');
  });

  it('counts everything inflated from one file: after a 1 MiB prefix, a prefix that alone would fit is refused', function () {
    const zip = new ZipReader(new Uint8Array(fs.readFileSync(bomb)), '.npz (zip) archive');
    const e = zip.entries[0];
    const first = zip.prefix(e, 1 << 20);
    assert.equal(first.bytes.length, 1 << 20);
    assert.ok(first.bytes.every((b, i) => i < 128 || b === 0), 'zeros after the header');
    const rest = MAX_INFLATED_BYTES - (1 << 20) + 1;
    assert.throws(() => zip.prefix(e, rest), (err: unknown) => isLensError(err) && err.message.includes(`inflates to ${fmt(rest)} bytes after ${fmt(1 << 20)} inflated from this file already, more than the ${fmt(MAX_INFLATED_BYTES)} (1 GiB)`));
  });
});
