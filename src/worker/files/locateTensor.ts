// An .npz member or torch.save tensor that is a plain byte range of its file (a stored entry, contiguous, in
// a dtype .npy has) is read like a .npy: in ranges, straight into the engine's working memory, which it
// reuses. Decoded into memory instead, a 176 MB batch cost 0.8 s of page faults on fresh buffers here
// (NumPy and PyTorch ask for huge pages; Node cannot), against 0.13 s for the same .npy.
import * as fs from 'node:fs';
import { LensError } from '../../errors';
import { readNpz, resolveNpzMember, type TensorRole } from '../../tensor/binary/npz';
import { crc32 } from '../../tensor/binary/crc32';
import type { NpyHeader } from '../../tensor/binary/npy';
import { readTorchSave, resolveTorchMember } from '../../tensor/binary/torchSave';
import type { StoredPlace } from '../../tensor/binary/zip';
import { extensionOf, splitMemberSpec } from '../../tensor/load';
import { FileBytes } from './fileBytes';
import { describeFsError } from './readTensorFile';
import { identityOf, openRegularFileSync, type FileIdentity } from './regularFile';

/** A tensor as a byte range of a file: read with the .npy range readers (openTensorRange). */
export interface TensorRange {
  /** The file itself (the source's path names the member too). */
  readonly file: string;
  /** Its layout; dataOffset is the absolute offset of the first element. */
  readonly header: NpyHeader;
  /**
   * The file whose entry's CRC-32 was checked, its ctime included (a rewrite in place within one mtime tick
   * still changes the ctime): reads refuse any other (replaced or rewritten since).
   */
  readonly identity: FileIdentity;
}

/** Input dtypes the SIMD path reads from a range; any other is decoded, without reading the entry twice. */
const RANGE_DTYPES: ReadonlySet<string> = new Set(['float32', 'float16']);
/**
 * Ranges are kept for spatial inputs ([N, C, H, W] and up): a session reads an (N, C) strip and a token
 * view reads its rows from a whole tensor, which a range would make each reader decode on its own.
 */
const MIN_RANGE_DIMS = 4;

/** Bytes read at a time for the CRC-32 check, into one buffer (a fresh one per piece would fault its pages). */
const CRC_PIECE = 8 << 20;

/**
 * The range of the tensor that `spec` (`file.npz[:member]`, `file.pt[:member]`) names for `role`, its
 * entry's CRC-32 checked as zipfile and torch.load would (a silently altered entry would give a wrong
 * loss); null when the tensor is not such a range (deflated, strided, bfloat16), for the caller to decode
 * it instead. Errors are one line naming the file.
 */
export function locateTensor(spec: string, role: TensorRole, pin?: FileIdentity): TensorRange | null {
  const { path, member } = splitMemberSpec(spec);
  const opened = (() => {
    try {
      return openRegularFileSync(path, pin);
    } catch (e) {
      throw e instanceof LensError ? e.withSource(path) : e;
    }
  })();
  const { fd, size } = opened;
  try {
    const st = fs.fstatSync(fd);
    const view = new FileBytes(fd, size, false);
    let place: StoredPlace | undefined;
    if (extensionOf(path) === '.npz') {
      const archive = readNpz(view, path);
      place = archive.place(member ?? resolveNpzMember(archive, role, path));
    } else {
      const file = readTorchSave(view, path);
      place = file.place(member ?? resolveTorchMember(file, role, path));
    }
    if (place === undefined || !RANGE_DTYPES.has(place.header.dtype) || place.header.shape.length < MIN_RANGE_DIMS) return null;
    place.zip.checkCrcValue(place.entry, entryCrc(fd, place.entryStart, place.entry.size, path));
    return { file: path, header: place.header, identity: { ...identityOf(st), ctimeMs: st.ctimeMs } };
  } catch (e) {
    if (e instanceof LensError) throw e.withSource(path);
    // A file system's error (it has a code) is one line; anything else is a bug, reported as one.
    if (typeof (e as NodeJS.ErrnoException | undefined)?.code === 'string') throw new LensError('io', `${path}: ${describeFsError(e)}`);
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

function entryCrc(fd: number, start: number, length: number, path: string): number {
  const buf = new Uint8Array(Math.min(CRC_PIECE, Math.max(1, length)));
  let crc = 0;
  for (let done = 0; done < length; ) {
    const want = Math.min(buf.length, length - done);
    const n = fs.readSync(fd, buf, 0, want, start + done);
    if (n === 0) throw new LensError('io', `${path}: the file ended early (was it rewritten while reading?)`);
    crc = crc32(buf.subarray(0, n), crc);
    done += n;
  }
  return crc;
}
