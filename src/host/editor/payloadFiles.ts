// Loading the { file, bytes, sha256 } references of a notebook output (large tensors the Python helper wrote
// beside the notebook). Outputs are untrusted: a file is used only when the workspace is trusted, it
// resolves (links followed) inside the workspace folder that holds the notebook, it is a regular file, and
// its size and sha256 match what the cell wrote. Every refusal is one line saying why and what to do.
// The checks and the read are one descriptor: the file is opened once (the last path component not followed
// if it became a link after the path checks), where that descriptor really points is checked against the
// workspace folder, and the size, hash and header are read through it. The engine, which opens the file again
// by path to stream it, gets the descriptor's identity (device, inode, size, mtime) and refuses any other file.
// No vscode import: the host passes in the folders and the trust flag, so this is unit-testable.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { parseNpyHeader } from '../../tensor/binary/npy';
import type { TensorRef } from '../../tensor/text/payload';
import { checkedImage, MAX_PAYLOAD_IMAGE_BYTES, type PayloadImage } from '../../tensor/image/payloadImage';
import type { DType } from '../../tensor/tensor';
import { describeFsError } from '../../worker/files/readTensorFile';
import { identityOf, sameIdentity, type FileIdentity } from '../../worker/files/regularFile';

export interface RefContext {
  /** The notebook's folder (the helper's os.getcwd() under VS Code's Jupyter); null for an untitled notebook. */
  readonly notebookDir: string | null;
  /** File-system paths of the open workspace folders. */
  readonly workspaceFolders: readonly string[];
  readonly trusted: boolean;
}

export const RERUN = 're-run the cell';
export const NOT_TRUSTED = 'the workspace is not trusted: trust it to load data written beside the notebook';

// O_NONBLOCK does not exist on Windows, which has no FIFOs that open() could block on. O_NOFOLLOW: the path
// opened is the one resolved by the checks, so a link there now was put there since (and is refused).
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0);
/** Bytes hashed between two looks at the cancellation: about a millisecond of work, so a cancel is prompt. */
const HASH_CHUNK = 1 << 20;
const HEADER_BYTES = 1 << 16;

function inside(folder: string, p: string): boolean {
  const rel = path.relative(folder, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function realpathOrNull(p: string): Promise<string | null> {
  try {
    return await fs.promises.realpath(p);
  } catch {
    return null;
  }
}

function missing(ref: TensorRef): LensError {
  return new LensError('io', `data not present: ${RERUN} (${ref.file} is not beside the notebook)`);
}

function cancelledCheck(): LensError {
  return new LensError('cancelled', 'cancelled');
}

export interface RefCheckOptions {
  /** The request's cancellation: a cancelled check stops hashing within a chunk and rejects ('cancelled'). */
  readonly signal?: AbortSignal;
  /** Test hook: runs after the path checks and before the file is opened (a swap there must be refused). */
  readonly afterPathCheck?: () => Promise<void> | void;
}

/** A reference checked and read through one descriptor. */
export interface CheckedRef<T> {
  /** The real path of the file the descriptor read. */
  readonly path: string;
  /** That file's identity: the engine refuses any other file at `path` (see FileIdentity). */
  readonly pin: FileIdentity;
  readonly value: T;
}

/**
 * Where an open descriptor's file is: Linux says it in /proc/self/fd; elsewhere the path is resolved again
 * and must still lead to the very file opened. Null when the file was deleted or replaced meanwhile.
 */
async function descriptorPath(fh: fs.promises.FileHandle, opened: string, st: fs.Stats): Promise<string | null> {
  if (process.platform === 'linux') {
    try {
      const where = await fs.promises.readlink(`/proc/self/fd/${fh.fd}`);
      if (path.isAbsolute(where)) return where.endsWith(' (deleted)') ? null : where;
    } catch {
      // no /proc here: check by path below
    }
  }
  const again = await realpathOrNull(opened);
  if (again === null) return null;
  try {
    return sameIdentity(await fs.promises.stat(again), identityOf(st)) ? again : null;
  } catch {
    return null;
  }
}

/** sha256 of the descriptor's first `bytes`, in chunks, stopping when `signal` is aborted. */
async function hashOf(fh: fs.promises.FileHandle, bytes: number, signal: AbortSignal | undefined): Promise<{ hex: string; read: number }> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(1, bytes)));
  let pos = 0;
  while (pos < bytes) {
    if (signal?.aborted) throw cancelledCheck();
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, bytes - pos), pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  if (signal?.aborted) throw cancelledCheck();
  return { hex: hash.digest('hex'), read: pos };
}

/** Reads up to `length` bytes from the start of the descriptor. */
async function headOf(fh: fs.promises.FileHandle, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** A reference's file checked up to its contents (see openRef), and the descriptor it was checked through. */
interface OpenedRef {
  readonly fh: fs.promises.FileHandle;
  readonly st: fs.Stats;
  /** Where the descriptor really points (inside the workspace folder). */
  readonly where: string;
  readonly fail: (why: string) => LensError;
}

/**
 * Checks a reference (trust, workspace folder, links, regular file, size) and opens it; throws a one-line
 * LensError ('io', or 'cancelled') saying why not and what to do. The caller checks the contents
 * (verifyContents) through the descriptor and closes it.
 */
async function openRef(ref: TensorRef, ctx: RefContext, opts: RefCheckOptions): Promise<OpenedRef> {
  const fail = (why: string): LensError => new LensError('io', `${ref.file}: ${why}`);
  if (!ctx.trusted) throw new LensError('io', NOT_TRUSTED);
  const notebookDir = ctx.notebookDir;
  if (notebookDir === null) throw fail(`refers outside the workspace folder: the notebook is not saved in a folder; save it inside the workspace and ${RERUN}`);
  const realNotebookDir = (await realpathOrNull(notebookDir)) ?? path.resolve(notebookDir);
  let folder: string | null = null;
  for (const f of ctx.workspaceFolders) {
    const real = await realpathOrNull(f);
    if (real !== null && inside(real, realNotebookDir) && (folder === null || real.length > folder.length)) folder = real;
  }
  const root = folder;
  if (root === null) throw fail(`refers outside the workspace folder: the notebook is not inside an open workspace folder; open its folder in VS Code to load the data`);
  // The payload's path is relative POSIX (checked when decoded); join from the real notebook folder.
  const lexical = path.resolve(realNotebookDir, ...ref.file.split('/'));
  if (!inside(root, lexical)) throw fail(`refers outside the workspace folder ${root}: ${RERUN} with the notebook inside the workspace`);
  let real: string;
  try {
    real = await fs.promises.realpath(lexical);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw missing(ref);
    throw fail(`${describeFsError(e)}: ${RERUN}`);
  }
  if (!inside(root, real)) throw fail(`refers outside the workspace folder ${root} (through a link to ${real}): ${RERUN} to write the data inside it`);
  if (opts.signal?.aborted) throw cancelledCheck();
  await opts.afterPathCheck?.();

  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(real, OPEN_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw missing(ref);
    if (code === 'ELOOP') throw fail(`changed while it was being checked (it is a link now): ${RERUN}`);
    throw fail(`${describeFsError(e)}: ${RERUN}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw fail(`is not a regular file: ${RERUN}`);
    // A folder on the way swapped for a link since the path checks: the descriptor says where it really is.
    const where = await descriptorPath(fh, real, st);
    if (where === null) throw fail(`changed while it was being checked (it was moved or replaced): ${RERUN}`);
    if (!inside(root, where)) throw fail(`refers outside the workspace folder ${root} (the file opened is ${where}): ${RERUN} to write the data inside it`);
    // The size first: a file of another size is refused without reading a byte of it.
    if (st.size !== ref.bytes) throw fail(`the file changed since the cell ran (${st.size} bytes, the output says ${ref.bytes}): ${RERUN}`);
    return { fh, st, where, fail };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The opened file's sha256 against the reference's, and its identity unchanged meanwhile; returns that identity. */
async function verifyContents(o: OpenedRef, ref: TensorRef, opts: RefCheckOptions): Promise<FileIdentity> {
  const { hex, read } = await hashOf(o.fh, ref.bytes, opts.signal);
  if (read !== ref.bytes || hex !== ref.sha256) throw o.fail(`the file changed since the cell ran (sha256 differs): ${RERUN}`);
  const pin = identityOf(o.st);
  // Written to while it was hashed: what was hashed is not what is there now.
  if (!sameIdentity(await o.fh.stat(), pin)) throw o.fail(`changed while it was being checked: ${RERUN}`);
  return pin;
}

/**
 * Checks a reference (trust, workspace folder, links, regular file, size, sha256) on one descriptor and
 * hands that descriptor to `use` for the data; throws a one-line LensError ('io', or 'cancelled') saying
 * why not and what to do.
 */
export async function withCheckedRef<T>(
  ref: TensorRef,
  ctx: RefContext,
  opts: RefCheckOptions,
  use: (fh: fs.promises.FileHandle, size: number) => Promise<T>,
): Promise<CheckedRef<T>> {
  const o = await openRef(ref, ctx, opts);
  try {
    const pin = await verifyContents(o, ref, opts);
    return { path: o.where, pin, value: await use(o.fh, o.st.size) };
  } finally {
    await o.fh.close();
  }
}

/** A checked tensor reference: its file's path and identity for the engine, and its .npy header's dtype and shape. */
export type CheckedTensorRef = CheckedRef<{ readonly dtype: DType; readonly shape: number[] }>;

/**
 * Checks a tensor reference (a .npy the helper wrote) and reads its header through the same descriptor.
 * The engine reads the data with `{ kind: 'file', path, pin }`, so a swap after this check is refused.
 */
export async function checkTensorRef(ref: TensorRef, ctx: RefContext, opts: RefCheckOptions = {}): Promise<CheckedTensorRef> {
  requireNpy(ref);
  return withCheckedRef(ref, ctx, opts, (fh, size) => npyHeaderOf(ref, fh, size));
}

function requireNpy(ref: TensorRef): void {
  if (!/\.npy$/i.test(ref.file)) throw new LensError('io', `${ref.file}: a tensor reference names a .npy file the helper wrote: ${RERUN}`);
}

async function npyHeaderOf(ref: TensorRef, fh: fs.promises.FileHandle, size: number): Promise<CheckedTensorRef['value']> {
  try {
    const h = parseNpyHeader(await headOf(fh, Math.min(size, HEADER_BYTES)));
    return { dtype: h.dtype, shape: [...h.shape] };
  } catch (e) {
    throw e instanceof LensError ? e.withSource(path.basename(ref.file)) : e;
  }
}

/** A tensor reference checked but for its contents, and the check of those still under way. */
export interface EarlyTensorRef {
  /** Path, identity and .npy header, as checkTensorRef gives them once the contents are checked too. */
  readonly checked: CheckedTensorRef;
  /**
   * Settles when the sha256 and identity are checked (rejects with checkTensorRef's one-line refusal).
   * Nothing computed from the file may be shown before it resolves: computing may start, so that hashing a
   * large batch and computing its loss overlap.
   */
  readonly verified: Promise<void>;
}

/** checkTensorRef, returning once everything but the file's sha256 is checked (see EarlyTensorRef). */
export async function checkTensorRefEarly(ref: TensorRef, ctx: RefContext, opts: RefCheckOptions = {}): Promise<EarlyTensorRef> {
  requireNpy(ref);
  const o = await openRef(ref, ctx, opts);
  let value: CheckedTensorRef['value'];
  try {
    value = await npyHeaderOf(ref, o.fh, o.st.size);
  } catch (e) {
    await o.fh.close();
    throw e;
  }
  const verified = (async () => {
    try {
      await verifyContents(o, ref, opts);
    } finally {
      await o.fh.close();
    }
  })();
  verified.catch(() => undefined); // observed by the caller; not an unhandled rejection meanwhile
  return { checked: { path: o.where, pin: identityOf(o.st), value }, verified };
}

/**
 * Runs `start` while `verified` (a reference's sha256 check) is under way, and gives its result only once
 * that check passes. A refused check stops the computation (its signal aborts), calls `onRefused` and
 * rejects with the check's reason, whatever the computation did meanwhile; `signal` cancels the wait.
 */
export async function whileVerifying<T>(verified: Promise<void>, start: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, onRefused: () => void): Promise<T> {
  if (signal.aborted) throw cancelledCheck();
  const run = new AbortController();
  const stop = (): void => run.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const started = start(run.signal);
    started.catch(() => undefined); // awaited below once the check passes
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(cancelledCheck());
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        verified.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    } catch (e) {
      run.abort();
      if (!(e instanceof LensError && e.kind === 'cancelled')) onRefused();
      throw e;
    }
    return await started;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/**
 * One check of a notebook output's references shared by every compute of that output (hashing a batch takes
 * a while). It starts on first need and is cancelled when every caller waiting for it has cancelled: a
 * compute replaced by another one keeps it going (the new one asks in the same turn), a closed output
 * stops it. A check that fails or is cancelled starts again on the next call.
 */
export function sharedCheck<T>(run: (signal: AbortSignal) => Promise<T>): { get(signal?: AbortSignal): Promise<T>; dispose(): void } {
  interface Running {
    readonly promise: Promise<T>;
    readonly ac: AbortController;
    waiters: number;
    settled: boolean;
  }
  let current: Running | null = null;
  const stop = (c: Running): void => {
    if (c.settled || c.waiters > 0) return;
    c.ac.abort();
    if (current === c) current = null;
  };
  return {
    get(signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(cancelledCheck());
      if (current === null) {
        const ac = new AbortController();
        const c: Running = { promise: run(ac.signal), ac, waiters: 0, settled: false };
        current = c;
        c.promise.then(
          () => {
            c.settled = true;
          },
          () => {
            c.settled = true;
            if (current === c) current = null;
          },
        );
      }
      const c = current;
      c.waiters++;
      return new Promise<T>((resolve, reject) => {
        let left = false;
        const leave = (): void => {
          if (left) return;
          left = true;
          c.waiters--;
          signal?.removeEventListener('abort', onAbort);
        };
        const onAbort = (): void => {
          leave();
          reject(cancelledCheck());
          queueMicrotask(() => stop(c));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        c.promise.then(
          (v) => {
            leave();
            resolve(v);
          },
          (e: unknown) => {
            leave();
            reject(e);
          },
        );
      });
    },
    dispose(): void {
      if (current === null) return;
      current.ac.abort();
      current = null;
    },
  };
}

/**
 * A referenced photo (display(..., image=...) of a large image): checked as the tensors are (trust, the
 * workspace folder, links, size, sha256) and read through the same descriptor for the view to decode.
 * Inline photos the page shows itself.
 */
export async function loadRefImage(img: PayloadImage & { kind: 'ref' }, ctx: RefContext, signal?: AbortSignal): Promise<{ image: PayloadImage; path: string | null }> {
  if (img.ref.bytes > MAX_PAYLOAD_IMAGE_BYTES) {
    return { image: { kind: 'invalid', message: `${img.name}: ${img.ref.bytes} bytes is over the ${MAX_PAYLOAD_IMAGE_BYTES >> 20} MB limit for a photo — no photo under the heatmap` }, path: null };
  }
  try {
    const checked = await withCheckedRef(img.ref, ctx, { signal }, (fh, size) => headOf(fh, size));
    return { image: checkedImage(img.name, img.mime, checked.value), path: checked.path };
  } catch (e) {
    return { image: { kind: 'invalid', message: `${img.name}: ${e instanceof Error ? e.message : String(e)} — no photo under the heatmap` }, path: null };
  }
}
