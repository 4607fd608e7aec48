// Node-side file reading for the worker and the CLI: turns a path (optionally `file.npz:member`) into a
// Tensor through the pure decoders, with one-line errors that name the file.
import * as fs from 'node:fs';
import { LensError } from '../../errors';
import { ARCHIVE_TENSOR_FILE, decodeArchiveTensor, decodeTensorFile, findCompanionWeight, splitMemberSpec } from '../../tensor/load';
import { withFileBytes } from './fileBytes';
import type { TensorRole } from '../../tensor/binary/npz';
import { readSafetensorsHeader, resolveSafetensorsMember, safetensorsHeaderEnd, safetensorsTensor, type SafetensorsHeader } from '../../tensor/binary/safetensors';
import type { Tensor } from '../../tensor/tensor';
import { openRegularFileSync, readAtSync as readAt, type FileIdentity, type OpenedFile } from './regularFile';

/** Largest file read whole; larger .npy files need the streaming engine. */
const MAX_WHOLE_READ = 2 ** 31 - 1;

function openForRead(path: string, pin: FileIdentity | undefined): OpenedFile {
  // Only regular files: a link to /dev/zero or a FIFO given as an input would otherwise read for ever.
  try {
    return openRegularFileSync(path, pin);
  } catch (e) {
    if (e instanceof LensError) throw new LensError(e.kind, `${path}: ${e.message}${/directory/.test(e.message) ? ', expected a .npy, .npz or .json file' : ''}`);
    throw e;
  }
}

function tooLarge(path: string, bytes: number): LensError {
  return new LensError('io', `${path}: ${(bytes / 2 ** 30).toFixed(1)} GiB is larger than one read allows (2 GiB) — slice it (e.g. one batch per file)`);
}

/**
 * Largest JSON file read: parsed, its numbers take about seven times the text (208 MB took 1.5 GB and
 * 6.8 s), and past ~550 MB a worker's 4 GB heap ran out with nothing but "stopped unexpectedly" to say.
 */
export const MAX_JSON_FILE_BYTES = 256 << 20;

function readBytes(path: string, pin?: FileIdentity, shared = false): Uint8Array {
  const opened = openForRead(path, pin);
  try {
    if (opened.size > MAX_WHOLE_READ) throw tooLarge(path, opened.size);
    if (/\.json$/i.test(path) && opened.size > MAX_JSON_FILE_BYTES) {
      throw new LensError('io', `${path}: ${Math.round(opened.size / 2 ** 20)} MB of JSON is more than is read here (${MAX_JSON_FILE_BYTES / 2 ** 20} MB) — save the tensors with np.save (or torch.save) and open those`);
    }
    // A file that shrank while being read holds fewer bytes than fstat said: decode what is there.
    return readAt(opened.fd, opened.size, 0, shared);
  } catch (e) {
    if (e instanceof LensError) throw e;
    throw new LensError('io', `${path}: ${describeFsError(e)}`);
  } finally {
    fs.closeSync(opened.fd);
  }
}

/**
 * The header of the .safetensors file read last, kept a moment: an input and a target named in one file
 * (`f.safetensors:logits`, `f.safetensors:labels`) parse a header of any size once, and nothing stays
 * held afterwards.
 */
let recentHeader: { readonly key: string; readonly header: SafetensorsHeader } | null = null;
let forgetTimer: ReturnType<typeof setTimeout> | undefined;
const HEADER_KEPT_MS = 2000;

/**
 * One tensor of a .safetensors file: its header, then that tensor's byte range, never the rest (a
 * checkpoint's other tensors may be gigabytes).
 */
function readSafetensorsMember(path: string, member: string | undefined, role: TensorRole, pin: FileIdentity | undefined, shared: boolean): Tensor {
  const { fd, size } = openForRead(path, pin);
  try {
    const st = fs.fstatSync(fd);
    const key = `${path}|${st.dev}|${st.ino}|${st.size}|${st.mtimeMs}`;
    let header = recentHeader?.key === key ? recentHeader.header : null;
    if (header === null) {
      const first = readAt(fd, Math.min(8, size), 0);
      const end = safetensorsHeaderEnd(first);
      // An implausible length is worded by the header reader from the first 8 bytes alone.
      header = readSafetensorsHeader(end !== undefined && end <= size ? readAt(fd, end, 0) : first, size);
      recentHeader = { key, header };
      clearTimeout(forgetTimer);
      forgetTimer = setTimeout(() => {
        recentHeader = null;
      }, HEADER_KEPT_MS);
      forgetTimer.unref?.();
    }
    const name = member ?? resolveSafetensorsMember({ header }, role, path);
    return safetensorsTensor(header, name, (begin, end) => {
      if (end - begin > MAX_WHOLE_READ) throw tooLarge(path, end - begin);
      return readAt(fd, end - begin, begin, shared);
    });
  } catch (e) {
    throw (e instanceof LensError ? e : new LensError('io', describeFsError(e))).withSource(path);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A file's tensor; with `pin`, only from the very file a check looked at (see FileIdentity). With `shared`,
 * the file is read into shared memory, where a torch.save or .safetensors tensor is decoded in place: each
 * fresh buffer of a 176 MB batch costs its page faults (0.5-1 s here), and there were four.
 */
export function readTensorFile(spec: string, role: TensorRole, pin?: FileIdentity, shared = false): Tensor {
  const { path, member } = splitMemberSpec(spec);
  if (/\.safetensors$/i.test(path)) return readSafetensorsMember(path, member, role, pin, shared);
  if (ARCHIVE_TENSOR_FILE.test(path)) {
    const { fd, size } = openForRead(path, pin);
    try {
      return withFileBytes(fd, size, shared, (view) => decodeArchiveTensor(path, view, role, member));
    } catch (e) {
      if (e instanceof LensError) throw e;
      throw new LensError('io', `${path}: ${describeFsError(e)}`);
    }
  }
  return decodeTensorFile(path, readBytes(path, pin, shared), role, member);
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
