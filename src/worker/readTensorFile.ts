// Node-side file reading for the worker and the CLI: turns a path (optionally `file.npz:member`) into a
// Tensor through the pure decoders, with one-line errors that name the file.
import * as fs from 'node:fs';
import { LensError } from '../errors';
import { decodeTensorFile, splitMemberSpec } from '../tensor/load';
import type { Tensor } from '../tensor/tensor';

export type TensorRole = 'input' | 'target' | 'weight';

/** Largest file read whole; larger .npy files need the streaming engine. */
const MAX_WHOLE_READ = 2 ** 31 - 1;

export function readTensorFile(spec: string, role: TensorRole): Tensor {
  const { path, member } = splitMemberSpec(spec);
  let size: number;
  try {
    const st = fs.statSync(path);
    if (st.isDirectory()) throw new LensError('io', `${path}: is a directory, expected a .npy, .npz or .json file`);
    size = st.size;
  } catch (e) {
    if (e instanceof LensError) throw e;
    throw new LensError('io', `${path}: ${describeFsError(e)}`);
  }
  if (size > MAX_WHOLE_READ) {
    throw new LensError('io', `${path}: ${(size / 2 ** 30).toFixed(1)} GiB is larger than one read allows (2 GiB) — slice it (e.g. one batch per file)`);
  }
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    throw new LensError('io', `${path}: ${describeFsError(e)}`);
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return decodeTensorFile(path, bytes, role, member);
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
