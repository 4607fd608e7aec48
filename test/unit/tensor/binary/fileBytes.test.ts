// .npz and torch.save tensors are read in ranges (FileBytes): the directory and headers in small pages,
// then only the member or storage the tensor needs. Before, each tensor read its whole file: the input and
// the target of one 200 MB .npz read 400 MB, and one tensor of a checkpoint read the checkpoint. Values are
// NumPy's and PyTorch's; a file that ends early says so in one line.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../../../src/errors';
import { decodeNpy } from '../../../../src/tensor/binary/npy';
import { decodeArchiveTensor } from '../../../../src/tensor/load';
import type { Tensor } from '../../../../src/tensor/tensor';
import { FileBytes } from '../../../../src/worker/files/fileBytes';
import { readTensorFile } from '../../../../src/worker/files/readTensorFile';
import { lensError } from '../helpers';

describe('archive tensors read in ranges (FileBytes)', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-file-bytes-'));
  before(function () {
    const r = spawnSync('/usr/bin/python3', ['-c', `
import numpy as np, torch
rng = np.random.default_rng(11)
x = rng.standard_normal((16, 21, 64, 64), dtype=np.float32); t = rng.integers(0, 21, (16, 64, 64))
np.savez("pair.npz", logits=x, target=t); np.savez_compressed("packed.npz", logits=x, target=t)
np.save("x.npy", x); np.save("t.npy", t)
torch.save({"encoder": {"w": torch.from_numpy(x)}, "head": torch.arange(10, dtype=torch.float32)}, "ckpt.pt")
w = torch.arange(1_000_000, dtype=torch.float32).reshape(1000, 1000)
torch.save({"rows": w[:10]}, "view.pt")
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const npy = (name: string): Tensor => decodeNpy(fs.readFileSync(path.join(dir, name)));
  const viewVia = (name: string, role: 'input' | 'target', member?: string): { t: Tensor; read: number; size: number } => {
    const file = path.join(dir, name);
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const view = new FileBytes(fd, size, false);
      return { t: decodeArchiveTensor(file, view, role, member), read: view.bytesRead, size };
    } finally {
      fs.closeSync(fd);
    }
  };
  const same = (got: Tensor, want: Tensor, what: string): void => {
    assert.deepEqual(got.shape, want.shape, `${what}: shape`);
    assert.deepEqual(Array.from(got.data), Array.from(want.data), `${what}: values`);
  };

  it('an .npz member: NumPy\'s values, reading that member and the directory, not the other member', function () {
    const x = viewVia('pair.npz', 'input');
    same(x.t, npy('x.npy'), 'logits');
    const xBytes = 16 * 21 * 64 * 64 * 4;
    assert.ok(x.read < xBytes + 3 * 65536, `${x.read} bytes read for a ${xBytes}-byte member of a ${x.size}-byte file`);
    const t = viewVia('pair.npz', 'target');
    same(t.t, npy('t.npy'), 'target');
    assert.ok(t.read < 16 * 64 * 64 * 8 + 3 * 65536, `${t.read} bytes read for the target of a ${t.size}-byte file`);
  });

  it('a compressed .npz member: NumPy\'s values, the other member not inflated nor read', function () {
    const t = viewVia('packed.npz', 'target');
    same(t.t, npy('t.npy'), 'target');
    assert.ok(t.read < t.size / 2, `${t.read} of ${t.size} bytes read`);
  });

  it('one tensor of a torch.save checkpoint: PyTorch\'s values, the other storages unread', function () {
    const head = viewVia('ckpt.pt', 'input', 'head');
    assert.deepEqual(Array.from(head.t.data), Array.from({ length: 10 }, (_, i) => i));
    assert.ok(head.read < 4 * 65536, `${head.read} bytes read of a ${head.size}-byte checkpoint`);
    same(viewVia('ckpt.pt', 'input', 'encoder.w').t, npy('x.npy'), 'encoder.w');
  });

  it('a view of a large storage reads the part it reaches, not the storage', function () {
    const v = viewVia('view.pt', 'input', 'rows');
    assert.deepEqual(v.t.shape, [10, 1000]);
    assert.deepEqual(Array.from(v.t.data), Array.from({ length: 10_000 }, (_, i) => i));
    assert.ok(v.read < 10_000 * 4 + 3 * 65536, `${v.read} bytes read of a ${v.size}-byte file for a 40 KB view`);
  });

  it('readTensorFile goes through it, shared or private, with the same values', function () {
    for (const shared of [false, true]) {
      same(readTensorFile(`${path.join(dir, 'pair.npz')}:logits`, 'input', undefined, shared), npy('x.npy'), `pair.npz shared=${shared}`);
      same(readTensorFile(`${path.join(dir, 'ckpt.pt')}:encoder.w`, 'input', undefined, shared), npy('x.npy'), `ckpt.pt shared=${shared}`);
    }
  });

  it('a file shorter than its size said (rewritten while read) is one line, not a wrong value', function () {
    const file = path.join(dir, 'pair.npz');
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const view = new FileBytes(fd, size + 200_000, false);
      const e = lensError(() => view.subarray(size - 100, size + 150_000));
      assert.equal(e.kind, 'io');
      assert.match(e.message, /^the file ended early/);
      // Within one page too.
      assert.match(lensError(() => view.subarray(size - 10, size + 100)).message, /^the file ended early/);
      assert.ok(lensError(() => view.byteAt(size + 199_999)) instanceof LensError);
      assert.throws(() => view.byteAt(-1), /past the end/);
    } finally {
      fs.closeSync(fd);
    }
  });
});
