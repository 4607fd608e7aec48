// .npz archives in the pickers (hostile review, twelfth session): the extension host parsed every member's
// .npy header itself, so an archive of 20,000 directory entries that all point at one local header with a
// 3,000-dimension shape (1.1 MB) held its event loop for 21 s. Now the listing runs in a worker (as for
// .safetensors and torch.save files), entries that share a local header or overlap the next are refused as
// Python's zipfile refuses them ("Overlapped entries"), and a header of more than NumPy's 64 dimensions is
// refused as np.load refuses it. Archives are made here by NumPy and Python's zipfile, or byte by byte
// where no tool writes such a file.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import { Engine } from '../../../src/worker/engine/engine';
import { readTensorFile } from '../../../src/worker/files/readTensorFile';
import { MAX_LISTED_TENSORS } from '../../../src/worker/jobs/tensorListing';
import { DIST } from '../engine/helpers';

const MEMBERS = MAX_LISTED_TENSORS + 2000;

/** A zip written byte by byte: `locals` (name, .npy bytes) stored, and directory entries that name them. */
const ZIP_KIT = `
import struct, zlib
def npy(shape):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (repr(tuple(shape)))
    hdr += ' ' * (64 - (10 + len(hdr) + 1) % 64) + '\\n'
    n = 1
    for d in shape: n *= d
    return b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + b'\\0' * (4 * n)
def local(name, data):
    return struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data), len(name), 0) + name + data
def central(name, data, offset, size=None):
    size = len(data) if size is None else size
    return struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 0, 0, 0, zlib.crc32(data), size, size, len(name), 0, 0, 0, 0, 0, offset) + name
def archive(body, entries):
    cd = b''.join(entries)
    return body + cd + struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, len(entries), len(entries), len(cd), len(body), 0)
`;

describe('hostile: .npz archives in the pickers', function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-npz-listing-'));
  const file = (name: string): string => path.join(dir, name);
  let engine: Engine;
  before(function () {
    engine = new Engine({ distDir: DIST, maxWorkers: 1 });
    const r = spawnSync('/usr/bin/python3', ['-c', `${ZIP_KIT}
import numpy as np
np.savez("many.npz", **{"a%05d" % i: np.full((2, 3), i, dtype=np.float32) for i in range(${MEMBERS})})
x = npy([1])
one = local(b"x.npy", x)
open("shared.npz", "wb").write(archive(one, [central(b"%05d.npy" % i, x, 0) for i in range(20000)]))
deep = npy([1] * 3000)
open("deep.npz", "wb").write(archive(local(b"deep.npy", deep), [central(b"deep.npy", deep, 0)]))
a, b = npy([4]), npy([2])
la, lb = local(b"a.npy", a), local(b"b.npy", b)
# a's directory entry claims bytes through the end of b: read as a, b's header and data would be a's.
open("overlap.npz", "wb").write(archive(la + lb, [central(b"a.npy", a, 0, len(a) + len(lb)), central(b"b.npy", b, len(la))]))
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`np.savez of ${MEMBERS} arrays is listed by a worker: the caller's event loop is never busy 50 ms`, function () {
    // In a fresh process, as for .safetensors (listingProbe.ts): a long test run's own collections would count.
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'listingProbe.ts'), DIST, file('many.npz'), 'npz'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { ms: number; busyMs: number; count: number; omitted: number; first: unknown; lastName: string };
    assert.ok(seen.busyMs < 50, `the event loop was busy ${seen.busyMs.toFixed(0)} ms at a time while listing (${seen.ms.toFixed(0)} ms)`);
    assert.equal(seen.count, MAX_LISTED_TENSORS);
    assert.equal(seen.omitted, MEMBERS - MAX_LISTED_TENSORS);
    assert.deepEqual(seen.first, { name: 'a00000', shape: [2, 3], dtype: 'float32' });
    assert.equal(seen.lastName, `a${String(MAX_LISTED_TENSORS - 1).padStart(5, '0')}`);
  });

  it('directory entries that share one local header are refused, listed or read, in one line', async function () {
    const refused = (e: unknown): boolean => isLensError(e) && e.message === `${file('shared.npz')}: not a valid .npz (zip) archive: two entries share the local header at offset 0`;
    await assert.rejects(engine.listTensorFile(file('shared.npz'), 'npz'), refused);
    assert.throws(() => readTensorFile(`${file('shared.npz')}:00001`, 'input'), refused);
  });

  it('a member whose bytes run into the next entry is refused, as Python\'s zipfile refuses it', function () {
    assert.throws(() => readTensorFile(`${file('overlap.npz')}:a`, 'input'), (e: unknown) => isLensError(e) && /^.*overlap\.npz: not a valid \.npz \(zip\) archive: member a\.npy overlaps the entry after it$/.test(e.message));
    assert.deepEqual([...(readTensorFile(`${file('overlap.npz')}:b`, 'input').data as Float32Array)], [0, 0], 'the entry after it reads as it is');
    const py = spawnSync('/usr/bin/python3', ['-c', 'import zipfile; zipfile.ZipFile("overlap.npz").read("a.npy")'], { cwd: dir, encoding: 'utf8' });
    assert.notEqual(py.status, 0, 'Python reads the overlapping member');
    assert.match(py.stderr, /Overlapped entries|Bad CRC|BadZipFile/);
  });

  it('a member header of more than 64 dimensions is refused as np.load refuses it', async function () {
    await assert.rejects(engine.listTensorFile(file('deep.npz'), 'npz'), (e: unknown) => isLensError(e) && /3000 dimensions, more than the 64 NumPy allows/.test(e.message) && !e.message.includes('\n'));
  });
});
