// Notebook { file, bytes, sha256 } references against a file that changes under the check (issue #21): the
// file or a folder on its way swapped for a link out of the workspace between the check and the read, a huge
// file of the wrong size, and a long hash that the request cancels. What was checked is what is read: the
// check reads through one descriptor, and the engine, which opens the file again to stream it, is given that
// descriptor's identity and refuses any other file. Nothing outside the workspace is read at all: every
// read's inode is recorded (fs.read, fs.readSync, FileHandle.read).
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../../src/errors';
import { checkTensorRef, sharedCheck, type RefContext } from '../../../src/host/editor/payloadFiles';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import type { TensorRef } from '../../../src/tensor/text/payload';
import { Engine } from '../../../src/worker/engine/engine';
import { openNpy } from '../../../src/worker/files/npyFile';
import { readTensorFile } from '../../../src/worker/files/readTensorFile';
import { LossSession } from '../../../src/worker/engine/session';
import { DIST } from '../engine/helpers';

// The module object itself (an `import * as` namespace is a frozen copy): the code under test sees patches.
const realFs = createRequire(__filename)('node:fs') as typeof fs;

/** Records the inode of every file read until restore(). */
async function watchReads(dir: string): Promise<{ readonly inodes: Set<number>; restore(): void }> {
  const inodes = new Set<number>();
  const note = (fd: number): void => {
    try {
      inodes.add(realFs.fstatSync(fd).ino);
    } catch {
      // a closed descriptor: the read itself fails
    }
  };
  const probe = path.join(dir, 'probe');
  realFs.writeFileSync(probe, 'x');
  const fh = await realFs.promises.open(probe, 'r');
  const handleProto = Object.getPrototypeOf(fh) as { read: (...args: unknown[]) => unknown; fd: number };
  await fh.close();
  const { read, readSync } = realFs;
  const handleRead = handleProto.read;
  realFs.read = ((fd: number, ...rest: unknown[]) => {
    note(fd);
    return (read as (...a: unknown[]) => unknown)(fd, ...rest);
  }) as typeof realFs.read;
  realFs.readSync = ((fd: number, ...rest: unknown[]) => {
    note(fd);
    return (readSync as (...a: unknown[]) => unknown)(fd, ...rest);
  }) as typeof realFs.readSync;
  handleProto.read = function (this: { fd: number }, ...args: unknown[]) {
    note(this.fd);
    return handleRead.apply(this, args);
  };
  return {
    inodes,
    restore(): void {
      realFs.read = read;
      realFs.readSync = readSync;
      handleProto.read = handleRead;
    },
  };
}

async function refusal(p: Promise<unknown>, re: RegExp): Promise<LensError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LensError, String(e));
    assert.doesNotMatch(e.message, /[\r\n]/, 'one line');
    assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a refusal matching ${re}`);
}

function refusalSync(f: () => unknown, re: RegExp): LensError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof LensError, String(e));
    assert.doesNotMatch(e.message, /[\r\n]/, 'one line');
    assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a refusal matching ${re}`);
}

describe('hostile notebook references: what was checked is what is read', function () {
  this.timeout(60_000);
  let dir: string;
  let ws: string;
  let nb: string;
  let cache: string;
  let outside: string;
  const inside = encodeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  const secret = encodeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([9, 9, 9, 9, 9, 9]) });
  const ctx = (): RefContext => ({ notebookDir: nb, workspaceFolders: [ws], trusted: true });
  const refTo = (file: string, bytes: Uint8Array): TensorRef => ({ kind: 'ref', file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  let n = 0;

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `cel-hostile-refs-${n++}-`)));
    ws = path.join(dir, 'ws');
    nb = path.join(ws, 'nb');
    cache = path.join(nb, '.cross_entropy_lens');
    fs.mkdirSync(cache, { recursive: true });
    outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the file swapped for a link out of the workspace after the path checks: refused, nothing read outside', async () => {
    const file = path.join(cache, 'x.npy');
    fs.writeFileSync(file, inside);
    // The same bytes outside: the hash cannot tell them apart, only where the file is can.
    fs.writeFileSync(path.join(outside, 'x.npy'), inside);
    const outsideIno = fs.statSync(path.join(outside, 'x.npy')).ino;
    const reads = await watchReads(dir);
    try {
      const e = await refusal(checkTensorRef(refTo('.cross_entropy_lens/x.npy', inside), ctx(), {
        afterPathCheck: () => {
          fs.rmSync(file);
          fs.symlinkSync(path.join(outside, 'x.npy'), file);
        },
      }), /^\.cross_entropy_lens\/x\.npy: (changed while it was being checked|refers outside the workspace folder)/);
      assert.match(e.message, /re-run the cell$/);
    } finally {
      reads.restore();
    }
    assert.ok(!reads.inodes.has(outsideIno), 'read the file outside the workspace');
  });

  it('a folder on the way swapped for a link out of the workspace after the path checks: refused, nothing read outside', async () => {
    fs.writeFileSync(path.join(cache, 'x.npy'), inside);
    fs.writeFileSync(path.join(outside, 'x.npy'), inside);
    const outsideIno = fs.statSync(path.join(outside, 'x.npy')).ino;
    const reads = await watchReads(dir);
    try {
      await refusal(checkTensorRef(refTo('.cross_entropy_lens/x.npy', inside), ctx(), {
        afterPathCheck: () => {
          fs.renameSync(cache, path.join(nb, 'moved'));
          fs.symlinkSync(outside, cache);
        },
      }), /^\.cross_entropy_lens\/x\.npy: refers outside the workspace folder .*\(the file opened is .*outside.*\): re-run the cell to write the data inside it$/);
    } finally {
      reads.restore();
    }
    assert.ok(!reads.inodes.has(outsideIno), 'read the file outside the workspace');
  });

  it('swapped for a link out of the workspace between the check and the engine\'s read: the engine refuses it', async () => {
    const file = path.join(cache, 'x.npy');
    fs.writeFileSync(file, inside);
    fs.writeFileSync(path.join(outside, 'x.npy'), secret);
    const outsideIno = fs.statSync(path.join(outside, 'x.npy')).ino;
    const checked = await checkTensorRef(refTo('.cross_entropy_lens/x.npy', inside), ctx());
    assert.equal(checked.path, file);
    assert.deepEqual(checked.value, { dtype: 'float32', shape: [2, 3] });
    fs.rmSync(file);
    fs.symlinkSync(path.join(outside, 'x.npy'), file);
    const changed = /x\.npy: is not the file that was checked: it was replaced or changed since its size and sha256 were checked — re-run the cell that wrote it$/;
    const engine = new Engine({ distDir: DIST, maxWorkers: 1 });
    const reads = await watchReads(dir);
    try {
      refusalSync(() => openNpy(checked.path, checked.pin), changed);
      refusalSync(() => readTensorFile(checked.path, 'input', checked.pin), changed);
      // The notebook renderer's request: the file with its pin, an inline target.
      const target = { kind: 'tensor' as const, tensor: { dtype: 'int64' as const, shape: [2], data: Int32Array.from([0, 2]) } };
      await refusal(LossSession.open(engine, { input: { kind: 'file', path: checked.path, pin: checked.pin }, target, options: {}, topK: 5 }), changed);
      await refusal(LossSession.open(engine, { input: { kind: 'file', path: checked.path, pin: checked.pin }, target, options: { inputKind: 'log-probs' }, topK: 5 }), changed);
      // Written again with the checked bytes (a new file at the path): refused as well.
      fs.rmSync(file);
      fs.writeFileSync(file, inside);
      refusalSync(() => openNpy(checked.path, checked.pin), changed);
    } finally {
      reads.restore();
      await engine.dispose();
    }
    assert.ok(!reads.inodes.has(outsideIno), 'read the file outside the workspace');
  });

  it('the checked file, unchanged, computes through the engine with its pin', async () => {
    fs.writeFileSync(path.join(cache, 'x.npy'), inside);
    const reads = await watchReads(dir);
    let checked;
    try {
      checked = await checkTensorRef(refTo('.cross_entropy_lens/x.npy', inside), ctx());
    } finally {
      reads.restore();
    }
    // The watch sees reads (the other tests' "nothing read" means something): the hash read this file.
    assert.ok(reads.inodes.has(fs.statSync(path.join(cache, 'x.npy')).ino));
    const engine = new Engine({ distDir: DIST, maxWorkers: 1 });
    try {
      const target = { kind: 'tensor' as const, tensor: { dtype: 'int64' as const, shape: [2], data: Int32Array.from([0, 2]) } };
      const s = await LossSession.open(engine, { input: { kind: 'file', path: checked.path, pin: checked.pin }, target, options: {}, topK: 5 });
      const lse = (a: number[]): number => Math.log(a.reduce((t, v) => t + Math.exp(v), 0));
      const want = (lse([1, 2, 3]) - 1 + lse([4, 5, 6]) - 6) / 2;
      assert.ok(Math.abs((s.result.value ?? NaN) - want) < 1e-5, `${s.result.value} vs ${want}`);
    } finally {
      await engine.dispose();
    }
  });

  it('a tensor reference to anything but a .npy is refused before it is opened', async () => {
    fs.writeFileSync(path.join(cache, 'x.png'), inside);
    await refusal(checkTensorRef(refTo('.cross_entropy_lens/x.png', inside), ctx()), /^\.cross_entropy_lens\/x\.png: a tensor reference names a \.npy file/);
  });

  it('a 3 GiB file whose size is not the reference\'s: refused at once, nothing hashed', async () => {
    const file = path.join(cache, 'big.npy');
    fs.writeFileSync(file, inside);
    // Sparse: no disk space taken, but hashing it would read 3 GiB of zeros.
    fs.truncateSync(file, 3 * 2 ** 30);
    const reads = await watchReads(dir);
    const t0 = performance.now();
    try {
      await refusal(checkTensorRef({ kind: 'ref', file: '.cross_entropy_lens/big.npy', bytes: 3 * 2 ** 30 - 1, sha256: 'ab'.repeat(32) }, ctx()), /the file changed since the cell ran \(3221225472 bytes, the output says 3221225471\): re-run the cell$/);
    } finally {
      reads.restore();
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 200, `${ms.toFixed(0)} ms`);
    assert.ok(!reads.inodes.has(fs.statSync(file).ino), 'hashed a file of the wrong size');
  });

  it('a 3 GiB file of the right size and a wrong hash: a cancel stops the hash within 500 ms', async () => {
    const file = path.join(cache, 'big.npy');
    fs.writeFileSync(file, inside);
    fs.truncateSync(file, 3 * 2 ** 30);
    const ref: TensorRef = { kind: 'ref', file: '.cross_entropy_lens/big.npy', bytes: 3 * 2 ** 30, sha256: 'ab'.repeat(32) };
    const ac = new AbortController();
    const t0 = performance.now();
    const p = checkTensorRef(ref, ctx(), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    const cancelAt = performance.now();
    ac.abort();
    const e = await refusal(p, /cancelled/);
    const after = performance.now() - cancelAt;
    assert.equal(e.kind, 'cancelled');
    assert.ok(after < 500, `stopped ${after.toFixed(0)} ms after the cancel`);
    assert.ok(cancelAt - t0 < 3000, 'the hash had started');
  });

  it('the renderer\'s shared check: one compute replaced by the next keeps it; the last one cancelled stops the hash within 500 ms', async () => {
    const file = path.join(cache, 'big.npy');
    fs.writeFileSync(file, inside);
    fs.truncateSync(file, 3 * 2 ** 30);
    const ref: TensorRef = { kind: 'ref', file: '.cross_entropy_lens/big.npy', bytes: 3 * 2 ** 30, sha256: 'ab'.repeat(32) };
    let started = 0;
    let stoppedAt = 0;
    const check = sharedCheck(async (signal) => {
      started++;
      try {
        return await checkTensorRef(ref, ctx(), { signal });
      } finally {
        stoppedAt = performance.now();
      }
    });
    // As OutputController.compute: the first compute is aborted and the next one asks in the same turn.
    const first = new AbortController();
    const a = check.get(first.signal);
    await new Promise((r) => setTimeout(r, 100));
    first.abort();
    const second = new AbortController();
    const b = check.get(second.signal);
    await refusal(a, /cancelled/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(started, 1, 'the check went on for the second compute');
    assert.equal(stoppedAt, 0, 'the check was stopped with the first compute');
    const cancelAt = performance.now();
    second.abort();
    await refusal(b, /cancelled/);
    while (stoppedAt === 0 && performance.now() - cancelAt < 2000) await new Promise((r) => setTimeout(r, 5));
    assert.ok(stoppedAt > 0 && stoppedAt - cancelAt < 500, `the hash stopped ${(stoppedAt - cancelAt).toFixed(0)} ms after the last cancel`);
    // A later compute starts a fresh check; closing the output (dispose) stops it too.
    const c = check.get();
    await new Promise((r) => setTimeout(r, 100));
    const disposeAt = performance.now();
    check.dispose();
    await refusal(c, /cancelled/);
    assert.equal(started, 2);
    assert.ok(performance.now() - disposeAt < 500);
  });
});
