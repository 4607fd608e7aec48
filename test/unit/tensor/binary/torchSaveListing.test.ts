// Listing a torch.save file for the pickers from its zip directory and data.pkl alone: the same tensors as
// reading the whole file, a few kilobytes read whatever the checkpoint's size, and the same one-line refusals.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../../../src/errors';
import { torchSaveTensors } from '../../../../src/tensor/binary/torchSave';
import { torchSaveListing } from '../../../../src/worker/files/torchSaveListing';
import { summarizeTensorFile } from '../../../../src/worker/jobs/tensorSummary';
import { DEFAULT_SAMPLING } from '../../../../src/hover/files';

const FIXTURES = path.resolve(__dirname, '../../../fixtures/tensor/torch');

/** Bytes read through fs.promises file handles while `f` runs. */
async function bytesRead<T>(f: () => Promise<T>): Promise<{ value: T; bytes: number }> {
  const open = fs.promises.open;
  let bytes = 0;
  fs.promises.open = (async (...args: Parameters<typeof open>) => {
    const fh = await open(...args);
    const read = fh.read.bind(fh) as (...a: unknown[]) => Promise<{ bytesRead: number }>;
    (fh as unknown as { read: (...a: unknown[]) => Promise<{ bytesRead: number }> }).read = async (...a: unknown[]) => {
      const r = await read(...a);
      bytes += r.bytesRead;
      return r;
    };
    return fh;
  }) as typeof open;
  try {
    return { value: await f(), bytes };
  } finally {
    fs.promises.open = open;
  }
}

describe('torch.save listing from the directory and data.pkl', function () {
  this.timeout(120_000);

  const files = fs.readdirSync(FIXTURES).filter((f) => /\.(pt|pth|bin)$/.test(f));

  for (const f of files) {
    it(`${f}: the same tensors, or the same refusal, as reading the whole file`, async function () {
      const p = path.join(FIXTURES, f);
      let whole: unknown;
      try {
        whole = torchSaveTensors(new Uint8Array(fs.readFileSync(p)), p);
      } catch (e) {
        assert.ok(e instanceof LensError);
        whole = { error: e.message };
      }
      let listed: unknown;
      try {
        listed = await torchSaveListing(p);
      } catch (e) {
        assert.ok(e instanceof LensError, String(e));
        listed = { error: e.message };
      }
      assert.deepEqual(listed, whole);
    });
  }

  it('a 96 MB checkpoint is listed from its last 64 KiB, its directory and data.pkl', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-ptlist-'));
    const p = path.join(dir, 'ckpt.pt');
    const r = spawnSync('/usr/bin/python3', ['-c', `
import torch, collections
sd = collections.OrderedDict()
sd["encoder.weight"] = torch.zeros(6000, 4000)
sd["encoder.bias"] = torch.zeros(4000, dtype=torch.float16)
for i in range(300):
    sd[f"layers.{i}.scale"] = torch.ones(3, dtype=torch.bfloat16)
sd["head.logits"] = torch.zeros(2, 5, 7)[:, :, ::2]
torch.save({"model": sd, "step": 10}, ${JSON.stringify(p)})
`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const size = fs.statSync(p).size;
    assert.ok(size > 96e6, `${size}`);
    const { value, bytes } = await bytesRead(() => torchSaveListing(p));
    assert.ok(bytes < 130_000, `read ${bytes} bytes of ${size}`);
    assert.equal(value.length, 303);
    const byName = new Map(value.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('model.encoder.weight')?.shape, [6000, 4000]);
    assert.equal(byName.get('model.encoder.bias')?.dtype, 'float16');
    assert.equal(byName.get('model.layers.299.scale')?.torchDType, 'bfloat16');
    assert.deepEqual(byName.get('model.head.logits')?.shape, [2, 5, 4]);
    assert.deepEqual(value, torchSaveTensors(new Uint8Array(fs.readFileSync(p)), p));

    // A hover on a file over the hover's read limit lists the same headers, by the same few reads, no statistics.
    const policy = { ...DEFAULT_SAMPLING, overBytes: 1 << 20 };
    const hover = summarizeTensorFile(p, policy);
    assert.equal(hover.kind, 'torch');
    assert.deepEqual(hover.arrays.map((a) => [a.name, a.shape, a.dtype, a.stats]), value.slice(0, hover.arrays.length).map((t) => [t.name, t.shape, t.dtype, null]));
    assert.equal(hover.moreArrays, value.length - hover.arrays.length);
    assert.match(hover.note ?? '', /statistics are not computed/);
    const one = summarizeTensorFile(`${p}:model.head.logits`, policy);
    assert.deepEqual(one.arrays.map((a) => a.shape), [[2, 5, 4]]);
    assert.throws(() => summarizeTensorFile(`${p}:model.nope`, policy), (e: unknown) => e instanceof LensError && /no tensor named model\.nope/.test(e.message));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a truncated checkpoint is one line naming the file', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-ptlist-'));
    const p = path.join(dir, 'cut.pt');
    const full = fs.readFileSync(path.join(FIXTURES, 'state_dict.pth'));
    fs.writeFileSync(p, full.subarray(0, full.length - 30));
    await assert.rejects(torchSaveListing(p), (e: unknown) => e instanceof LensError && e.message.includes('cut.pt') && !e.message.includes('\n'));
    await assert.rejects(torchSaveListing(dir), (e: unknown) => e instanceof LensError && /not a regular file/.test(e.message));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
