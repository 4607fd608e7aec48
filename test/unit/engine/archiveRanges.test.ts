// An .npz member or torch.save tensor that is a plain byte range of its file is read like a .npy: in
// ranges, into the engine's working memory (Engine.loadSources asks a worker to locate it and check its
// entry's CRC-32). Decoded into fresh memory instead, a 176 MB batch cost 0.8 s of page faults here. The
// loss is PyTorch's; an altered entry is refused as np.load refuses it; what is not such a range (a
// deflated member), or a request the SIMD path does not take, is decoded as before.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import { Engine, type EngineRequest } from '../../../src/worker/engine/engine';
import { LossSession } from '../../../src/worker/engine/session';
import { loadWhole } from '../../../src/worker/engine/sources';
import { FIXTURES, fixtureJson } from '../tensor/helpers';
import { DIST } from './helpers';

interface Want {
  readonly a: number;
  readonly b: number;
  readonly a_px: number[];
  /** Per archive: the flipped entry's stored CRC-32 and that of its bytes now (Python's zlib). */
  readonly crcs: { readonly npz: readonly [number, number]; readonly pt: readonly [number, number] };
}

describe('engine: archive tensors read as byte ranges', function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-archive-ranges-'));
  let engine: Engine;
  let want: Want;
  const at = (name: string): string => path.join(dir, name);
  before(function () {
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, numpy as np, torch, torch.nn.functional as F
rng = np.random.default_rng(4)
a = (rng.standard_normal((3, 21, 48, 64)) * 3).astype(np.float32); b = (rng.standard_normal((3, 21, 48, 64)) * 2).astype(np.float32)
t = rng.integers(0, 21, (3, 48, 64)); t[:, :2] = 255
np.savez("pair.npz", a=a, b=b); np.savez_compressed("packed.npz", a=a); np.save("t.npy", t)
np.savez("fortran.npz", a=np.asfortranarray(a))
np.savez("rows.npz", x=a.reshape(3 * 21, -1).T.copy()); np.savez("f64.npz", a=a.astype(np.float64))
np.savez("rewritten.npz", a=a); np.savez("swap.npz", a=b)
import zipfile, zlib
def flip(path, name):
    # One byte of the entry's float data flipped where the archive stores it: [stored CRC, CRC of the bytes now there].
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name); data = z.read(name)
    raw = bytearray(open(path, "rb").read())
    h = info.header_offset  # the local header's own name and extra lengths (torch.save pads with its extra field)
    start = h + 30 + int.from_bytes(raw[h + 26:h + 28], "little") + int.from_bytes(raw[h + 28:h + 30], "little")
    assert raw[start:start + len(data)] == data
    raw[start + len(data) - 100] ^= 0xFF
    open(path, "wb").write(raw)
    return [info.CRC, zlib.crc32(bytes(raw[start:start + len(data)]))]
np.savez("flipped.npz", a=a)
torch.save({"logits": torch.from_numpy(a)}, "flipped.pt")
crcs = {"npz": flip("flipped.npz", "a.npy"), "pt": flip("flipped.pt", [n for n in zipfile.ZipFile("flipped.pt").namelist() if n.endswith("/data/0")][0])}
torch.save({"logits": torch.from_numpy(a), "other": torch.from_numpy(b)}, "ckpt.pt")
ce = lambda x: F.cross_entropy(torch.from_numpy(x).double(), torch.from_numpy(t), ignore_index=255)
px = F.cross_entropy(torch.from_numpy(a).double(), torch.from_numpy(t), ignore_index=255, reduction="none")[1, 20, :6]
print(json.dumps({"a": ce(a).item(), "b": ce(b).item(), "a_px": px.tolist(), "crcs": crcs}))
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    want = JSON.parse(r.stdout) as Want;
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const req = (input: string): EngineRequest => ({ input: { kind: 'file', path: input }, target: { kind: 'file', path: at('t.npy') }, options: { ignoreIndex: 255 } });
  const close = (got: number, expected: number, what: string): void => assert.ok(Math.abs(got - expected) <= 2e-6 * Math.abs(expected) + 2e-7, `${what}: ${got} vs PyTorch ${expected}`);

  it('an .npz member and a torch.save tensor are located as ranges and give PyTorch\'s loss on the SIMD path', async function () {
    for (const [spec, value] of [[`${at('pair.npz')}:a`, want.a], [`${at('pair.npz')}:b`, want.b], [`${at('ckpt.pt')}:logits`, want.a], [`${at('ckpt.pt')}:other`, want.b]] as const) {
      const loaded = await engine.loadSources(req(spec));
      assert.ok(loaded.input.kind === 'file' && loaded.input.range !== undefined, `${spec}: read as a range`);
      const r = await engine.compute(req(spec));
      assert.equal(r.engine, 'wasm-simd');
      close(r.value as number, value, spec);
    }
  });

  it('the same range again is the working memory\'s resident input; another member of the same file is not', async function () {
    const a = `${at('pair.npz')}:a`;
    await engine.compute(req(a));
    const again = await engine.compute(req(a));
    assert.equal(again.reusedInput, true, 'read once, kept');
    close(again.value as number, want.a, 'a again');
    const b = await engine.compute(req(`${at('pair.npz')}:b`));
    assert.equal(b.reusedInput, false);
    close(b.value as number, want.b, 'b after a');
  });

  it('a session reads its samples from the range: PyTorch\'s per-pixel losses', async function () {
    const s = await LossSession.open(engine, req(`${at('ckpt.pt')}:logits`));
    assert.ok(s.request.input.kind === 'file' && s.request.input.range !== undefined);
    const m = await s.sampleMaps(1);
    for (let i = 0; i < 6; i++) close(m.loss[20 * 64 + i], want.a_px[i], `sample 1 pixel [20, ${i}]`);
    const d = await s.explain(1, [20, 3]);
    close(d.explanation.loss, want.a_px[3], 'breakdown');
  });

  it('a deflated member, a Fortran-order one, an (N, C) strip, float64, and a request the SIMD path does not take, are decoded as before', async function () {
    const packed = await engine.loadSources(req(`${at('packed.npz')}:a`));
    assert.equal(packed.input.kind, 'tensor');
    close((await engine.compute(req(`${at('packed.npz')}:a`))).value as number, want.a, 'packed.npz:a');
    // A Fortran-order member too: a session reads a range's samples only in C order.
    const fortran = await engine.loadSources(req(`${at('fortran.npz')}:a`));
    assert.equal(fortran.input.kind, 'tensor');
    close((await engine.compute(req(`${at('fortran.npz')}:a`))).value as number, want.a, 'fortran.npz:a');
    // Not spatial: an (N, C) strip, whose session reads rows of a whole tensor; not float32/float16.
    assert.equal((await engine.loadSources(req(`${at('rows.npz')}:x`))).input.kind, 'tensor');
    assert.equal((await engine.loadSources(req(`${at('f64.npz')}:a`))).input.kind, 'tensor');
    close((await engine.compute(req(`${at('f64.npz')}:a`))).value as number, want.a, 'f64.npz:a');
    const sigmoid = await engine.loadSources({ ...req(`${at('pair.npz')}:a`), options: { loss: 'sigmoid-focal' } });
    assert.equal(sigmoid.input.kind, 'tensor', 'sigmoid focal has its own path: the member is decoded');
  });

  it('a file rewritten in place after it was located (same size, its mtime put back) is refused, not read', async function () {
    const file = at('rewritten.npz');
    const loaded = await engine.loadSources(req(`${file}:a`));
    assert.ok(loaded.input.kind === 'file' && loaded.input.range !== undefined);
    const before = fs.statSync(file, { bigint: true });
    spawnSync('touch', ['-r', file, at('stamp')]); // its times to the nanosecond, kept on another file
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 200] ^= 0xff; // inside the member's data, past its header
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(file, bytes);
    assert.equal(spawnSync('touch', ['-r', at('stamp'), file]).status, 0);
    const after = fs.statSync(file, { bigint: true });
    assert.equal(after.mtimeNs, before.mtimeNs, 'the same modification time');
    assert.equal(after.ino, before.ino, 'the same file');
    await assert.rejects(engine.compute(loaded), (e: unknown) => isLensError(e) && e.message === `${file}: the file changed since it was opened (rewritten while in use?) — compute again`);
    // A whole read of it (a session's token details, label issues) goes by the same pin, its ctime included.
    assert.throws(() => loadWhole(loaded.input, 'input'), (e: unknown) => isLensError(e) && e.message === `${file}: changed since its loss was computed (rewritten?) — compute again`);
  });

  it('whole reads of a range\'s tensor go by the file it was located in: after a rewrite they are refused, not read from the new file', async function () {
    const file = at('later.npz');
    fs.copyFileSync(at('pair.npz'), file);
    const s = await LossSession.open(engine, req(`${file}:a`));
    assert.ok(s.request.input.kind === 'file' && s.request.input.range !== undefined);
    // Before the rewrite the token view's read (the whole member, by path) is the computation's input.
    await s.tokenDetails(0);
    await new Promise((r) => setTimeout(r, 20));
    fs.copyFileSync(at('swap.npz'), at('tmp.npz')); // other logits under the same member name
    fs.renameSync(at('tmp.npz'), file); // another file under the same name, as a save would leave it
    const refused = `${file}:a: changed since its loss was computed (rewritten?) — compute again`;
    await assert.rejects(s.tokenDetails(1), (e: unknown) => isLensError(e) && e.message === refused);
    assert.throws(() => loadWhole(s.request.input, 'input'), (e: unknown) => isLensError(e) && e.message === `${file}: changed since its loss was computed (rewritten?) — compute again`);
  });

  it('a located range whose entry no longer matches its CRC-32 is refused before anything is computed (.npz member, torch.save storage)', async function () {
    const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
    for (const [file, spec, [stored, computed], whole] of [
      [at('flipped.npz'), `${at('flipped.npz')}:a`, want.crcs.npz, 'archive'],
      [at('flipped.pt'), `${at('flipped.pt')}:logits`, want.crcs.pt, 'file'],
    ] as const) {
      const wording = `bad CRC-32 (stored ${hex(stored)}, computed ${hex(computed)}) — the ${whole} is corrupt; re-save it`;
      await assert.rejects(engine.compute(req(spec)), (e: unknown) => isLensError(e) && e.message.startsWith(`${file}: `) && e.message.endsWith(wording) && !e.message.includes('\n'), spec);
    }
  });

  it('a stored member whose bytes no longer match its CRC-32 is refused as np.load refuses it', async function () {
    const bad = path.join(FIXTURES, 'hostile', 'npz_stored_flipped.npz');
    await assert.rejects(engine.compute({ input: { kind: 'file', path: `${bad}:logits` }, target: { kind: 'file', path: `${bad}:target` }, options: {} }), (e: unknown) => {
      assert.ok(isLensError(e));
      // The stored CRC and the one of the bytes now there, from Python's zlib (make_hostile_fixtures.py).
      const c = fixtureJson<{ npz: { file: string; storedCrc: number; computedCrc: number }[] }>('hostile', 'manifest.json').npz.find((x) => x.file === 'npz_stored_flipped.npz')!;
      const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
      assert.equal(e.message, `${bad}: member logits.npy: bad CRC-32 (stored ${hex(c.storedCrc)}, computed ${hex(c.computedCrc)}) — the archive is corrupt; re-save it`);
      return true;
    });
  });
});
