// Loading the { file, bytes, sha256 } references of a notebook output (large tensors the Python helper wrote
// beside the notebook). Outputs are untrusted: a file is used only when the workspace is trusted, it
// resolves (links followed) inside the workspace folder that holds the notebook, it is a regular file, and
// its size and sha256 match what the cell wrote. Every refusal is one line saying why and what to do.
// No vscode import: the host passes in the folders and the trust flag, so this is unit-testable.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../errors';
import { parseNpyHeader } from '../tensor/npy';
import type { TensorRef } from '../tensor/payload';
import { checkedImage, MAX_PAYLOAD_IMAGE_BYTES, type PayloadImage } from '../tensor/payloadImage';
import type { DType } from '../tensor/tensor';
import { describeFsError } from '../worker/readTensorFile';
import { readSmallRegularFile } from '../worker/regularFile';

export interface RefContext {
  /** The notebook's folder (the helper's os.getcwd() under VS Code's Jupyter); null for an untitled notebook. */
  readonly notebookDir: string | null;
  /** File-system paths of the open workspace folders. */
  readonly workspaceFolders: readonly string[];
  readonly trusted: boolean;
}

export const RERUN = 're-run the cell';
export const NOT_TRUSTED = 'the workspace is not trusted: trust it to load data written beside the notebook';

// O_NONBLOCK does not exist on Windows, which has no FIFOs that open() could block on.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);
const HASH_CHUNK = 4 << 20;

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

/**
 * Checks a reference and returns the real path of its file, ready for the engine's .npy reader; throws a
 * one-line LensError ('io') saying why not and what to do.
 */
export async function resolveTensorRef(ref: TensorRef, ctx: RefContext, signal?: AbortSignal): Promise<string> {
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

  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(real, OPEN_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw missing(ref);
    throw fail(`${describeFsError(e)}: ${RERUN}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw fail(`is not a regular file: ${RERUN}`);
    if (st.size !== ref.bytes) throw fail(`the file changed since the cell ran (${st.size} bytes, the output says ${ref.bytes}): ${RERUN}`);
    // Streamed in chunks: a 176 MB batch is never held whole.
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(1, ref.bytes)));
    let pos = 0;
    while (pos < ref.bytes) {
      if (signal?.aborted) throw new LensError('cancelled', 'cancelled');
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, ref.bytes - pos), pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    if (pos !== ref.bytes || hash.digest('hex') !== ref.sha256) throw fail(`the file changed since the cell ran (sha256 differs): ${RERUN}`);
  } finally {
    await fh.close();
  }
  return real;
}

/** The dtype and shape in a checked reference's .npy header (for the output's labels). */
export async function refHeader(file: string): Promise<{ dtype: DType; shape: number[] }> {
  const r = await readSmallRegularFile(file, 1 << 16, { head: true });
  if (r.kind === 'missing') throw new LensError('io', `${path.basename(file)}: data not present: ${RERUN}`);
  if (r.kind === 'refused') throw new LensError('io', `${path.basename(file)}: ${r.reason}: ${RERUN}`);
  try {
    const h = parseNpyHeader(r.bytes);
    return { dtype: h.dtype, shape: [...h.shape] };
  } catch (e) {
    throw e instanceof LensError ? e.withSource(path.basename(file)) : e;
  }
}

/**
 * A referenced photo (display(..., image=...) of a large image): checked as the tensors are (trust, the
 * workspace folder, links, size, sha256), then read for the view to decode. Inline photos the page shows itself.
 */
export async function loadRefImage(img: PayloadImage & { kind: 'ref' }, ctx: RefContext): Promise<{ image: PayloadImage; path: string | null }> {
  if (img.ref.bytes > MAX_PAYLOAD_IMAGE_BYTES) {
    return { image: { kind: 'invalid', message: `${img.name}: ${img.ref.bytes} bytes is over the ${MAX_PAYLOAD_IMAGE_BYTES >> 20} MB limit for a photo — no photo under the heatmap` }, path: null };
  }
  try {
    const file = await resolveTensorRef(img.ref, ctx);
    const r = await readSmallRegularFile(file, MAX_PAYLOAD_IMAGE_BYTES);
    if (r.kind !== 'read') return { image: { kind: 'invalid', message: `${img.name}: ${r.kind === 'missing' ? 'data not present: re-run the cell' : r.reason} — no photo under the heatmap` }, path: null };
    return { image: checkedImage(img.name, img.mime, new Uint8Array(r.bytes)), path: file };
  } catch (e) {
    return { image: { kind: 'invalid', message: `${img.name}: ${e instanceof Error ? e.message : String(e)} — no photo under the heatmap` }, path: null };
  }
}

