// The worker's load-tensor job reads a torch.save or .safetensors file into shared memory and decodes the
// tensor in place there (readTensorFile's `shared`), and share() hands it to other workers as it is: each
// fresh buffer of a 176 MB batch costs 0.5-1 s of page faults here, and there were four. The values are
// still PyTorch's (the torch fixtures' manifest, and files torch.save writes now), a strided view is still
// gathered, and a small tensor of a larger file is copied out, so that it does not keep the file alive.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpy } from '../../../../src/tensor/binary/npy';
import { decodeTensorFile } from '../../../../src/tensor/load';
import type { Tensor } from '../../../../src/tensor/tensor';
import { share, viewOf } from '../../../../src/worker/engine/shared';
import { readTensorFile } from '../../../../src/worker/files/readTensorFile';
import { type Expected, FIXTURES, assertValues, fixture, fixtureJson } from '../helpers';

const manifest = fixtureJson<{ files: Record<string, Record<string, { values: Expected[] }>> }>('torch', 'manifest.json');
const isShared = (t: Tensor): boolean => t.data.buffer instanceof SharedArrayBuffer;

describe('tensor files read into shared memory (the load-tensor job)', function () {
  this.timeout(60_000);

  for (const [file, members] of Object.entries(manifest.files)) {
    if (Object.keys(members).length === 0) continue;
    it(`${file}: every member has PyTorch's values, read shared as read privately`, function () {
      const at = file.startsWith('safetensors/') ? path.join(FIXTURES, file) : path.join(FIXTURES, 'torch', file);
      for (const [member, want] of Object.entries(members)) {
        const spec = member === '' ? at : `${at}:${member}`;
        assertValues(readTensorFile(spec, 'input', undefined, true), want.values, `${file}:${member} (shared)`);
        assertValues(readTensorFile(spec, 'input'), want.values, `${file}:${member}`);
      }
    });
  }

  // decodeNpy views shared bytes in place where it may (the dtype's bytes as they are, aligned, most of the
  // buffer) and copies into shared memory otherwise: NumPy's values either way, every dtype, byte order and
  // memory order, at an aligned and at an unaligned offset.
  const npyManifest = fixtureJson<{ valid: { file: string; dtype: string; fortran: boolean; shape: number[]; values: Expected[] }[] }>('npy', 'manifest.json');
  it(`every .npy fixture NumPy wrote (${npyManifest.valid.length}) decodes to NumPy's values from shared bytes`, function () {
    for (const f of npyManifest.valid) {
      const own = fixture('npy', f.file);
      for (const pad of [0, 1]) {
        const bytes = new Uint8Array(new SharedArrayBuffer(own.length + pad), pad);
        bytes.set(own);
        const t = decodeNpy(bytes);
        assertValues(t, f.values, `${f.file} at offset ${pad}`);
        // Widened (float16, 64-bit integers) or reordered (Fortran order) values are new arrays of their own.
        const asStored = !['float16', 'int64', 'uint64'].includes(f.dtype) && !(f.fortran && f.shape.length > 1);
        if (asStored && t.data.length > 0) assert.ok(isShared(t), `${f.file}: in shared memory`);
      }
    }
  });

  const npzManifest = fixtureJson<Record<string, { values: Expected[] }>>('npz', 'manifest.json');
  it('the .npz fixtures NumPy wrote, stored and deflated, decode to NumPy\'s values from a shared read', function () {
    // The manifest's values by role; each archive names its members its own way.
    const cases = [['stored.npz', 'logits', 'logits'], ['stored.npz', 'target', 'target'], ['deflated.npz', 'logits', 'logits'], ['deflated.npz', 'labels', 'target'], ['deflated.npz', 'weight', 'weight']] as const;
    for (const [file, member, key] of cases) {
      const t = readTensorFile(`${path.join(FIXTURES, 'npz', file)}:${member}`, 'input', undefined, true);
      assertValues(t, npzManifest[key].values, `${file}:${member}`);
    }
  });

  describe('files torch.save writes now', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-shared-read-'));
    before(function () {
      const r = spawnSync('/usr/bin/python3', ['-c', `
import numpy as np, torch
torch.manual_seed(3)
x = torch.randn(64, 1000)
torch.save(x, "bare.pt")
torch.save({"big": x, "small": torch.arange(4, dtype=torch.float32)}, "dict.bin")
torch.save(x.t(), "strided.pt")
torch.save(torch.randint(0, 1000, (64,)), "labels.pt")
np.save("x.npy", x.numpy()); np.save("xt.npy", x.t().contiguous().numpy())
np.savez("pair.npz", logits=x.numpy(), target=np.arange(64)); np.savez_compressed("packed.npz", logits=x.numpy())
`], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const npy = (name: string): Tensor => decodeNpy(fs.readFileSync(path.join(dir, name)));
    const same = (got: Tensor, want: Tensor, what: string): void => {
      assert.deepEqual(got.shape, want.shape, `${what}: shape`);
      assert.deepEqual(Array.from(got.data), Array.from(want.data), `${what}: values`);
    };

    it('a tensor that is the file is viewed in place, and share() passes it on without a copy', function () {
      const t = readTensorFile(path.join(dir, 'bare.pt'), 'input', undefined, true);
      same(t, npy('x.npy'), 'bare.pt');
      assert.ok(isShared(t), 'viewed in the shared read');
      assert.equal(t.data.byteOffset % 4, 0);
      const ref = share(t);
      assert.equal(ref.buffer, t.data.buffer, 'the same memory');
      assert.equal(ref.byteOffset, t.data.byteOffset);
      same(viewOf(ref), t, 'viewOf(share(t))');
      // Read privately, the tensor is the caller's own copy; sharing it copies once.
      const own = readTensorFile(path.join(dir, 'bare.pt'), 'input');
      same(own, t, 'bare.pt (private)');
      assert.ok(!isShared(own));
      const copied = share(own);
      assert.notEqual(copied.buffer as ArrayBufferLike, own.data.buffer);
      same(viewOf(copied), own, 'a copy');
    });

    // A .bin (torch.save under Hugging Face's name) is read whole, not in ranges: the rule decides there.
    it('a small tensor of a file read whole is copied out; the large one beside it is viewed', function () {
      const small = readTensorFile(`${path.join(dir, 'dict.bin')}:small`, 'input', undefined, true);
      assert.deepEqual(Array.from(small.data), [0, 1, 2, 3]);
      assert.ok(!isShared(small), 'copied: a view would keep the whole file in memory');
      const big = readTensorFile(`${path.join(dir, 'dict.bin')}:big`, 'input', undefined, true);
      same(big, npy('x.npy'), 'dict.bin:big');
      assert.ok(isShared(big));
    });

    it('an .npz member is copied once, into shared memory, stored or compressed', function () {
      for (const file of ['pair.npz', 'packed.npz']) {
        const t = readTensorFile(`${path.join(dir, file)}:logits`, 'input', undefined, true);
        same(t, npy('x.npy'), `${file}:logits`);
        assert.ok(isShared(t), `${file}: in shared memory`);
        assert.equal(share(t).buffer, t.data.buffer);
        const own = readTensorFile(`${path.join(dir, file)}:logits`, 'input');
        assert.ok(!isShared(own), `${file}: read privately, private`);
      }
      const y = readTensorFile(`${path.join(dir, 'pair.npz')}:target`, 'target', undefined, true);
      assert.deepEqual(Array.from(y.data), Array.from({ length: 64 }, (_, i) => i));
    });

    it('bytes in a Node Buffer (whose slice() is a view) are still copied: the tensor does not change with them', function () {
      for (const name of ['bare.pt', 'dict.bin']) {
        const buf = fs.readFileSync(path.join(dir, name));
        const t = decodeTensorFile(name, buf, 'input', name === 'dict.bin' ? 'big' : undefined);
        same(t, npy('x.npy'), name);
        buf.fill(0);
        same(t, npy('x.npy'), `${name} after its buffer was zeroed`);
      }
    });

    it('a transposed view is gathered into C order, and int64 labels are narrowed, from shared bytes', function () {
      const t = readTensorFile(path.join(dir, 'strided.pt'), 'input', undefined, true);
      same(t, npy('xt.npy'), 'strided.pt');
      assert.ok(!isShared(t), 'a strided view is a gathered copy');
      const y = readTensorFile(path.join(dir, 'labels.pt'), 'target', undefined, true);
      assert.equal(y.dtype, 'int64');
      assert.ok(y.data instanceof Int32Array && y.data.length === 64 && y.data.every((v) => v >= 0 && v < 1000));
    });
  });
});
