// Notebook outputs of real size: the Python helper's store= (inline or .npy files in .cross_entropy_lens/
// beside the notebook, named by sha256), the payload's { file, bytes, sha256 } references (validated, never a
// tensor in the page), and the host's checks before it loads one (trusted workspace, inside the notebook's
// workspace folder with links resolved, regular file, size and sha256).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readPayload, readPayloadWithRefs } from '../../../media/rendererCore';
import { LensError } from '../../../src/errors';
import { NOT_TRUSTED, checkTensorRef, checkTensorRefEarly, whileVerifying, type RefContext } from '../../../src/host/editor/payloadFiles';

type Outcome = { readonly path: string } | { readonly error: unknown };

/**
 * The real path a checked reference's file has (what the engine is given, with its identity). Every case
 * goes through both checks the host has: the whole check, and the early one (everything but the sha256,
 * which `verified` checks after) that the notebook renderer computes beside. Both must agree.
 */
const resolveTensorRef = async (ref: TensorRef, c: RefContext): Promise<string> => {
  const whole: Outcome = await checkTensorRef(ref, c).then((r) => ({ path: r.path }), (error: unknown) => ({ error }));
  const early: Outcome = await checkTensorRefEarly(ref, c).then(
    async (r) => {
      await r.verified;
      return { path: r.checked.path };
    },
  ).catch((error: unknown) => ({ error }));
  const message = (o: Outcome): string => ('error' in o ? (o.error instanceof Error ? o.error.message : String(o.error)) : `path ${o.path}`);
  assert.equal(message(early), message(whole), 'the early check and the whole check agree');
  if ('error' in whole) throw whole.error;
  return whole.path;
};
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { decodePayload, decodePayloadWithRefs, isTensorRef, MAX_REF_BYTES, REF_IN_PAGE_MESSAGE, type TensorRef } from '../../../src/tensor/text/payload';

const ROOT = path.resolve(__dirname, '../../..');
const SHA = 'ab'.repeat(32);

function lensError(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof LensError && re.test(e.message) && !e.message.includes('\n'));
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LensError, String(e));
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'));
    return e.message;
  }
  assert.fail(`expected a refusal matching ${re}`);
}

describe('payload { file, bytes, sha256 } references', () => {
  const ref = (file: unknown, bytes: unknown = 10, sha256: unknown = SHA): unknown => ({ input: { file, bytes, sha256 }, target: [1] });

  it('decode into a typed reference for the host', () => {
    const p = decodePayloadWithRefs({ input: { file: '.cross_entropy_lens/x.npy', bytes: 128, sha256: SHA.toUpperCase() }, target: { file: 'a/b.npy', bytes: 0, sha256: SHA }, options: { ignoreIndex: 255 } });
    assert.ok(isTensorRef(p.input) && isTensorRef(p.target));
    assert.deepEqual(p.input, { kind: 'ref', file: '.cross_entropy_lens/x.npy', bytes: 128, sha256: SHA });
    assert.equal(p.options.ignoreIndex, 255);
    // Inline tensors decode as before.
    const q = decodePayloadWithRefs({ input: [[0.5, 1.5]], target: [1] });
    assert.ok(!isTensorRef(q.input));
  });

  it('refuse hostile paths, bad hashes and sizes with one line', () => {
    const cases: [unknown, RegExp][] = [
      [ref('../x.npy'), /contains '\.\.'/],
      [ref('a/../../x.npy'), /contains '\.\.'/],
      [ref('/etc/passwd'), /is absolute/],
      [ref('C:\\x.npy'), /backslash/],
      [ref('C:x.npy'), /drive/],
      [ref('a\\..\\x.npy'), /backslash/],
      [ref('x.npy:stream'), /colon/],
      [ref('a//b.npy'), /empty path segment/],
      [ref('a\u0000b'), /control/],
      [ref(''), /relative path/],
      [ref(42), /relative path/],
      [ref('x'.repeat(2000)), /relative path/],
      [ref('x.npy', 10, 'xyz'), /64 hexadecimal/],
      [ref('x.npy', 10, 'g'.repeat(64)), /64 hexadecimal/],
      [ref('x.npy', 10, SHA + 'a'), /64 hexadecimal/],
      [ref('x.npy', MAX_REF_BYTES + 1), /bytes must be an integer/],
      [ref('x.npy', 1e300), /bytes must be an integer/],
      [ref('x.npy', -1), /bytes must be an integer/],
      [ref('x.npy', 1.5), /bytes must be an integer/],
      [ref('x.npy', '10'), /bytes must be an integer/],
      [{ input: [[1, 2]], target: [0], weight: { file: 'w.npy', bytes: 1, sha256: SHA } }, /weight must be inline/],
    ];
    for (const [v, re] of cases) lensError(() => decodePayloadWithRefs(v), re);
  });

  it('are never a tensor in the page: one line saying to open it in VS Code', () => {
    const json = { input: { file: '.cross_entropy_lens/x.npy', bytes: 10, sha256: SHA }, target: [1] };
    lensError(() => decodePayload(json), /^this output's data is in a file beside the notebook; open it in VS Code with the extension to compute$/);
    const text = JSON.stringify(json);
    const item = { data: () => new TextEncoder().encode(text), json: () => JSON.parse(text) as unknown };
    lensError(() => readPayload(item), /in a file beside the notebook/);
    assert.ok(isTensorRef(readPayloadWithRefs(item).payload.input));
    assert.equal(REF_IN_PAGE_MESSAGE.includes('\n'), false);
  });
});

describe('host checks before loading a reference (src/host/editor/payloadFiles.ts)', () => {
  let dir: string;
  let ws: string;
  let nb: string;
  let bytes: Uint8Array;
  let good: TensorRef;
  const ctx = (over: Partial<RefContext> = {}): RefContext => ({ notebookDir: nb, workspaceFolders: [ws], trusted: true, ...over });
  const refTo = (file: string, b: Uint8Array = bytes): TensorRef => ({ kind: 'ref', file, bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') });

  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cel-refs-')));
    ws = path.join(dir, 'ws');
    nb = path.join(ws, 'notebooks');
    fs.mkdirSync(path.join(nb, '.cross_entropy_lens'), { recursive: true });
    bytes = encodeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    good = refTo('.cross_entropy_lens/good.npy');
    fs.writeFileSync(path.join(nb, good.file), bytes);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads a file inside the workspace folder whose size and hash match', async () => {
    const checked = await checkTensorRef(good, ctx());
    assert.equal(checked.path, path.join(nb, '.cross_entropy_lens', 'good.npy'));
    assert.deepEqual(checked.value, { dtype: 'float32', shape: [2, 3] });
    // A link that stays inside the folder is fine.
    fs.mkdirSync(path.join(ws, 'data'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'data', 'real.npy'), bytes);
    fs.symlinkSync(path.join(ws, 'data', 'real.npy'), path.join(nb, '.cross_entropy_lens', 'inner.npy'));
    assert.equal(await resolveTensorRef(refTo('.cross_entropy_lens/inner.npy'), ctx()), path.join(ws, 'data', 'real.npy'));
  });

  it('refuses in an untrusted workspace, without touching the file', async () => {
    const m = await rejects(resolveTensorRef(good, ctx({ trusted: false })), /not trusted/);
    assert.equal(m, NOT_TRUSTED);
  });

  it('says "data not present: re-run the cell" when the cache folder is missing', async () => {
    await rejects(resolveTensorRef(refTo('.cross_entropy_lens/missing.npy'), ctx()), /^data not present: re-run the cell/);
    await rejects(resolveTensorRef(refTo('nowhere/x.npy'), ctx()), /^data not present: re-run the cell/);
  });

  it('refuses a notebook outside every workspace folder, or an unsaved one', async () => {
    await rejects(resolveTensorRef(good, ctx({ workspaceFolders: [path.join(dir, 'other')] })), /refers outside the workspace folder: the notebook is not inside/);
    await rejects(resolveTensorRef(good, ctx({ workspaceFolders: [] })), /refers outside the workspace folder/);
    await rejects(resolveTensorRef(good, ctx({ notebookDir: null })), /refers outside the workspace folder/);
  });

  it('refuses links that leave the workspace folder (file or folder links)', async () => {
    const outside = path.join(dir, 'secret.npy');
    fs.writeFileSync(outside, bytes);
    fs.symlinkSync(outside, path.join(nb, '.cross_entropy_lens', 'escape.npy'));
    await rejects(resolveTensorRef(refTo('.cross_entropy_lens/escape.npy'), ctx()), /refers outside the workspace folder .*through a link/);
    fs.mkdirSync(path.join(dir, 'outdir'));
    fs.writeFileSync(path.join(dir, 'outdir', 'x.npy'), bytes);
    fs.symlinkSync(path.join(dir, 'outdir'), path.join(nb, 'linkdir'));
    await rejects(resolveTensorRef(refTo('linkdir/x.npy'), ctx()), /refers outside the workspace folder .*through a link/);
    // A notebook folder that is itself a link into the workspace resolves by its real path.
    fs.symlinkSync(nb, path.join(dir, 'nblink'));
    assert.equal(await resolveTensorRef(good, ctx({ notebookDir: path.join(dir, 'nblink') })), path.join(nb, '.cross_entropy_lens', 'good.npy'));
  });

  it('the early check gives path, identity and header before the sha256; verified then refuses a changed file, or stops when cancelled', async () => {
    fs.writeFileSync(path.join(nb, 'early.npy'), bytes);
    const whole = await checkTensorRef(refTo('early.npy'), ctx());
    const early = await checkTensorRefEarly({ ...refTo('early.npy'), sha256: SHA }, ctx());
    assert.deepEqual(early.checked, whole);
    await rejects(early.verified, /^early\.npy: the file changed since the cell ran \(sha256 differs\): re-run the cell$/);
    // A large file's hash, cancelled once the early part is done: verified rejects as cancelled.
    const big = Buffer.concat([bytes, Buffer.alloc(32 << 20)]);
    fs.writeFileSync(path.join(nb, 'big.npy'), big);
    const ac = new AbortController();
    const r = await checkTensorRefEarly({ kind: 'ref', file: 'big.npy', bytes: big.length, sha256: createHash('sha256').update(big).digest('hex') }, ctx(), { signal: ac.signal });
    ac.abort();
    await assert.rejects(r.verified, (e: unknown) => e instanceof LensError && e.kind === 'cancelled');
  });

  it('refuses a file whose size or hash changed, and non-regular files', async () => {
    fs.writeFileSync(path.join(nb, 'changed.npy'), bytes);
    await rejects(resolveTensorRef({ ...refTo('changed.npy'), bytes: bytes.length + 1 }, ctx()), /the file changed since the cell ran \(.*bytes.*\): re-run the cell$/);
    await rejects(resolveTensorRef({ ...refTo('changed.npy'), sha256: SHA }, ctx()), /the file changed since the cell ran \(sha256 differs\): re-run the cell$/);
    fs.mkdirSync(path.join(nb, 'adir.npy'));
    await rejects(resolveTensorRef({ ...refTo('adir.npy'), bytes: 0 }, ctx()), /not a regular file|directory/);
    if (process.platform !== 'win32' && fs.existsSync('/dev/zero')) {
      fs.symlinkSync('/dev/zero', path.join(nb, 'zero.npy'));
      await rejects(resolveTensorRef(refTo('zero.npy'), ctx({ workspaceFolders: ['/'] })), /not a regular file/);
    }
  });
});

describe('whileVerifying: computing while a reference is hashed, shown only once it matches', () => {
  const later = <T>(ms: number, v: T): Promise<T> => new Promise((r) => setTimeout(() => r(v), ms));
  const refused = new LensError('io', 'x.npy: the file changed since the cell ran (sha256 differs): re-run the cell');

  it('gives the result only after the check passes, the computation started at once', async () => {
    const order: string[] = [];
    let started = false;
    const verified = later(30, undefined).then(() => void order.push('verified'));
    const r = await whileVerifying(verified, async () => {
      started = true;
      order.push('computed');
      return 42;
    }, new AbortController().signal, () => assert.fail('not refused'));
    assert.ok(started);
    assert.equal(r, 42);
    assert.deepEqual(order, ['computed', 'verified']);
  });

  it('a refused check wins over the computation, stops it and says why', async () => {
    for (const outcome of ['resolves', 'rejects', 'pending'] as const) {
      let seen: AbortSignal | null = null;
      let refusedCalls = 0;
      const run = whileVerifying(later(10, undefined).then(() => Promise.reject(refused)), (sig) => {
        seen = sig;
        return outcome === 'resolves' ? Promise.resolve(1) : outcome === 'rejects' ? Promise.reject(new LensError('value', 'target 7 out of range')) : new Promise<number>(() => undefined);
      }, new AbortController().signal, () => refusedCalls++);
      await assert.rejects(run, (e: unknown) => e === refused);
      assert.equal(refusedCalls, 1, outcome);
      assert.ok(seen !== null && (seen as AbortSignal).aborted, `${outcome}: the computation's signal aborted`);
    }
  });

  it('a failed computation under a passing check is its own error; a cancel stops both and refuses nothing', async () => {
    const bad = new LensError('value', 'target 7 out of range');
    await assert.rejects(whileVerifying(later(10, undefined), () => Promise.reject(bad), new AbortController().signal, () => assert.fail('not refused')), (e: unknown) => e === bad);
    const ac = new AbortController();
    let seen: AbortSignal | null = null;
    const run = whileVerifying(new Promise<void>(() => undefined), (sig) => {
      seen = sig;
      return new Promise<number>(() => undefined);
    }, ac.signal, () => assert.fail('a cancel refuses nothing'));
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(run, (e: unknown) => e instanceof LensError && e.kind === 'cancelled');
    assert.ok(seen !== null && (seen as AbortSignal).aborted);
  });
});

describe('python/cross_entropy_lens.py store= (run with /usr/bin/python3 and NumPy)', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    if (spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status !== 0) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-py-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('auto, inline and file: payload shapes, files named by sha256, NumPy only', () => {
    const py = `
import json, os, sys, io, contextlib
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})
import numpy as np
from cross_entropy_lens import to_payload, display
rng = np.random.default_rng(5)
small_x = rng.normal(size=(2, 3, 4)).astype(np.float32)
small_t = rng.integers(0, 3, size=(2, 4))
big_x = rng.normal(size=(2, 21, 320, 320)).astype(np.float32)   # 17.2 MB: over the 16 MB auto limit
big_t = rng.integers(0, 21, size=(2, 320, 320)).astype(np.uint8)
out = {
  "auto_small": to_payload(small_x, small_t),
  "inline": to_payload(big_x[:, :, :8, :8], big_t[:, :8, :8], store="inline"),
  "file": to_payload(small_x, small_t, store="file", weight=[1, 2, 3]),
  "auto_big": to_payload(big_x, big_t),
  "again": to_payload(big_x, big_t, store="file"),
}
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    display(big_x, big_t)
out["printed"] = buf.getvalue()
out["files"] = sorted(os.listdir(".cross_entropy_lens"))
out["modules"] = sorted(m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("torch", "IPython", "pandas", "scipy"))
out["inline"] = {"input_keys": sorted(out["inline"]["input"].keys())}
try:
    to_payload(small_x, small_t, store="disk")
except ValueError as e:
    out["bad_store"] = str(e)
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py], { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(Object.keys(out.auto_small.input).sort(), ['data', 'dtype', 'shape']);
    assert.deepEqual(out.inline.input_keys, ['data', 'dtype', 'shape']);
    for (const k of ['file', 'auto_big', 'again']) {
      for (const role of ['input', 'target']) {
        const ref = out[k][role] as { file: string; bytes: number; sha256: string };
        assert.deepEqual(Object.keys(ref).sort(), ['bytes', 'file', 'sha256'], `${k}.${role}`);
        assert.match(ref.file, /^\.cross_entropy_lens\/[0-9a-f]{64}\.npy$/);
        assert.equal(ref.file, `.cross_entropy_lens/${ref.sha256}.npy`);
        const data = fs.readFileSync(path.join(dir, ref.file));
        assert.equal(data.length, ref.bytes);
        assert.equal(createHash('sha256').update(data).digest('hex'), ref.sha256);
      }
    }
    // The weight stays inline; the payload decodes as references.
    const p = decodePayloadWithRefs(out.file);
    assert.ok(isTensorRef(p.input) && isTensorRef(p.target));
    assert.deepEqual(Array.from(p.weight!.data), [1, 2, 3]);
    // Re-runs write nothing new: 2 small files + 2 big ones (display's are the same content).
    assert.deepEqual(out.again, out.auto_big);
    assert.equal(out.files.length, 4, String(out.files));
    assert.ok(out.files.every((f: string) => /^[0-9a-f]{64}\.npy$/.test(f)), String(out.files));
    assert.match(out.printed, /^Cross-Entropy Lens: input \[2, 21, 320, 320\] float32, target \[2, 320, 320\] uint8/);
    assert.deepEqual(out.modules, []);
    assert.match(out.bad_store, /store must be/);
  });

  it('rewrites a cached file whose bytes were damaged (same name and size), and leaves a good one alone', () => {
    const py = (extra: string): string => `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})
import numpy as np
from cross_entropy_lens import to_payload
${extra}
print(json.dumps(to_payload(np.arange(12, dtype=np.float32).reshape(3, 4), np.array([0, 1, 2]), store="file")))
`;
    const run = (extra = ''): { input: { file: string; sha256: string } } => {
      const r = spawnSync('/usr/bin/python3', ['-c', py(extra)], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { input: { file: string; sha256: string } };
    };
    const first = run();
    const file = path.join(dir, first.input.file);
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    fs.writeFileSync(file, bad);
    assert.deepEqual(run(), first);
    assert.deepEqual(fs.readFileSync(file), good);
    const mtime = fs.statSync(file).mtimeMs;
    run();
    assert.equal(fs.statSync(file).mtimeMs, mtime, 'an intact file is not rewritten');
  });
});
