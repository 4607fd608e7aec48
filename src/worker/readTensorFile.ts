// Node-side file reading for the worker and the CLI: turns a path (optionally `file.npz:member`) into a
// Tensor through the pure decoders, with one-line errors that name the file.
import * as fs from 'node:fs';
import { LensError } from '../errors';
import { decodeTensorFile, findCompanionWeight, splitMemberSpec } from '../tensor/load';
import type { TensorRole } from '../tensor/npz';
import type { Tensor } from '../tensor/tensor';
import { openRegularFileSync, type OpenedFile } from './regularFile';

/** Largest file read whole; larger .npy files need the streaming engine. */
const MAX_WHOLE_READ = 2 ** 31 - 1;

function readBytes(path: string): Uint8Array {
  // Only regular files: a link to /dev/zero or a FIFO given as an input would otherwise read for ever.
  let opened: OpenedFile;
  try {
    opened = openRegularFileSync(path);
  } catch (e) {
    if (e instanceof LensError) throw new LensError(e.kind, `${path}: ${e.message}${/directory/.test(e.message) ? ', expected a .npy, .npz or .json file' : ''}`);
    throw e;
  }
  try {
    if (opened.size > MAX_WHOLE_READ) {
      throw new LensError('io', `${path}: ${(opened.size / 2 ** 30).toFixed(1)} GiB is larger than one read allows (2 GiB) — slice it (e.g. one batch per file)`);
    }
    const out = new Uint8Array(opened.size);
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(opened.fd, out, done, out.length - done, done);
      if (n === 0) break;
      done += n;
    }
    // A file that shrank while being read holds fewer bytes than fstat said: decode what is there.
    return done === out.length ? out : out.subarray(0, done);
  } catch (e) {
    if (e instanceof LensError) throw e;
    throw new LensError('io', `${path}: ${describeFsError(e)}`);
  } finally {
    fs.closeSync(opened.fd);
  }
}

export function readTensorFile(spec: string, role: TensorRole): Tensor {
  const { path, member } = splitMemberSpec(spec);
  return decodeTensorFile(path, readBytes(path), role, member);
}

/** A weight stored in the input's own container (JSON object key or npz member), if any. */
export function readCompanionWeight(spec: string): Tensor | undefined {
  const { path, member } = splitMemberSpec(spec);
  // Only containers hold companions; never read a (possibly huge) .npy whole just to find out.
  if (member !== undefined || !/\.(json|npz)$/i.test(path)) return undefined;
  return findCompanionWeight(path, readBytes(path));
}

export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}
