// Opening files found by name rather than picked by the user (class names beside an input, workspace scans,
// hover paths): only regular files are read. A link to /dev/zero or a FIFO named like a tensor file would
// otherwise cost gigabytes or block a thread for ever. The type is checked with fstat on the opened file,
// so a file swapped between a check and the read cannot slip through, and FIFOs are opened non-blocking so
// that merely opening one does not wait for a writer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { describeFsError } from './readTensorFile';

// O_NONBLOCK does not exist on Windows, which has no FIFOs that open() could block on.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Why `st` is not a file to read, or null when it is a regular file. */
function notRegular(st: fs.Stats): string | null {
  return st.isFile() ? null : `is ${kindOf(st)}, not a regular file`;
}

export interface OpenedFile {
  readonly fd: number;
  readonly size: number;
}

/**
 * Which file a check looked at: device, inode, size and modification time from fstat on the descriptor it
 * read. A later open by path that finds another identity (the file swapped for a link elsewhere, replaced,
 * or rewritten) is refused, so data checked once (a notebook reference's size and sha256) is the data read.
 */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  /** Checked too when present: a rewrite in place within one mtime tick still changes the ctime. */
  readonly ctimeMs?: number;
  /**
   * What pinned it, for the refusal's wording: 'checked' (the default), a notebook output's file whose size
   * and sha256 were checked; 'computed', an archive tensor whose loss was computed from it as a byte range.
   */
  readonly since?: 'checked' | 'computed';
}

export function identityOf(st: fs.Stats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

export function sameIdentity(st: fs.Stats, pin: FileIdentity): boolean {
  return st.dev === pin.dev && st.ino === pin.ino && st.size === pin.size && st.mtimeMs === pin.mtimeMs && (pin.ctimeMs === undefined || st.ctimeMs === pin.ctimeMs);
}

/** The refusal for a pinned file that is no longer the one checked (no path: callers add it). */
export const CHANGED_SINCE_CHECK = 'is not the file that was checked: it was replaced or changed since its size and sha256 were checked — re-run the cell that wrote it';
/** The refusal for a file that changed after a loss was computed from it (see FileIdentity's since). */
export const CHANGED_SINCE_COMPUTED = 'changed since its loss was computed (rewritten?) — compute again';

/** The refusal for a file that is no longer `pin`'s (no path: callers add it). */
export function changedSincePinned(pin: FileIdentity): string {
  return pin.since === 'computed' ? CHANGED_SINCE_COMPUTED : CHANGED_SINCE_CHECK;
}

/**
 * The pin a whole read of a file source goes by: its own, or for an archive tensor located as a byte range
 * (locateTensor), the file the range was located in. A whole read by path would otherwise take whatever the
 * path names now, where the range's reads refuse a rewritten file.
 */
export function pinOf(src: { readonly pin?: FileIdentity; readonly range?: { readonly identity: FileIdentity } }): FileIdentity | undefined {
  return src.pin ?? (src.range ? { ...src.range.identity, since: 'computed' } : undefined);
}

/**
 * Opens a regular file for reading; throws a LensError ('io', without the path: callers add it) for a
 * missing file, a directory, a device, a FIFO or a socket, or, with `pin`, a file other than the one
 * pinned. The caller closes `fd`.
 */
export function openRegularFileSync(path: string, pin?: FileIdentity): OpenedFile {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw new LensError('io', describeFsError(e));
  }
  try {
    const st = fs.fstatSync(fd);
    const why = notRegular(st);
    if (why !== null) throw new LensError('io', why);
    if (pin !== undefined && !sameIdentity(st, pin)) throw new LensError('io', changedSincePinned(pin));
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e instanceof LensError ? e : new LensError('io', describeFsError(e));
  }
}

/**
 * `length` bytes of a descriptor from `position`, fewer when the file ends first (the caller says what that
 * means). With `shared`, in a SharedArrayBuffer, so that a tensor decoded in place goes to other threads
 * without a copy (share() in src/worker/engine/shared.ts).
 */
export function readAtSync(fd: number, length: number, position: number, shared = false): Uint8Array {
  const out = shared ? new Uint8Array(new SharedArrayBuffer(length)) : new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}

/**
 * The path an output file named `file` is written to. A directory, FIFO, device or socket there is refused
 * (LensError 'io', without the path: callers add it): renamed over, a device node or FIFO would be
 * replaced by a regular file, and written into, a FIFO blocks. A symbolic link is written through, to the
 * file it names (created if missing), as np.save would; a new file is written where it is named, in a
 * folder that exists.
 */
export function outputTarget(file: string): string {
  if (/[\\/]$/.test(file)) throw new LensError('io', 'ends in a path separator — give a file name');
  let real = file;
  try {
    // Links followed by hand: realpath fails on a link to a file not there yet, which np.save would create.
    for (let hops = 0; fs.lstatSync(real).isSymbolicLink(); hops++) {
      if (hops >= 40) throw new LensError('io', 'too many levels of symbolic links');
      real = path.resolve(path.dirname(real), fs.readlinkSync(real));
    }
    const why = notRegular(fs.statSync(real));
    if (why !== null) throw new LensError('io', `${why} — give the path of a file to write`);
  } catch (e) {
    if (e instanceof LensError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new LensError('io', describeFsError(e));
    // Nothing there yet: the file is created, in its folder.
    const folder = path.dirname(real);
    let isFolder = false;
    try {
      isFolder = fs.statSync(folder).isDirectory();
    } catch {
      // missing or unreadable: said below
    }
    if (!isFolder) throw new LensError('io', `its folder ${folder} does not exist`);
  }
  return real;
}

/** A file or folder a command reads (what: how its message names it, e.g. 'the input'). */
export interface ReadPath {
  readonly what: string;
  readonly path: string;
}

/**
 * outputTarget for a command-line flag's file, refused in one line naming the flag and the file; also
 * refused when the file there is one the command reads (`reads`: the same file by device and inode, so a
 * link or another spelling counts; or a file inside a folder it reads): `--out x.npy` for input x.npy
 * replaced the logits with their losses.
 */
export function checkOutputPath(flag: string, file: string, reads: readonly ReadPath[] = []): string {
  let target: string;
  try {
    target = outputTarget(file);
  } catch (e) {
    throw e instanceof LensError ? new LensError(e.kind, `${flag} ${file}: ${e.message}`) : e;
  }
  const clash = readBy(target, reads);
  if (clash !== null) throw new LensError('io', `${flag} ${file}: ${clash} — writing it would replace what the command reads; give another file name`);
  return target;
}

/** How `reads` covers the existing file at target, or null (also when nothing is there yet). */
function readBy(target: string, reads: readonly ReadPath[]): string | null {
  let out: fs.Stats;
  let real: string;
  try {
    out = fs.statSync(target);
    real = fs.realpathSync(target);
  } catch {
    return null;
  }
  for (const r of reads) {
    let st: fs.Stats;
    let folder: string;
    try {
      st = fs.statSync(r.path);
      folder = st.isDirectory() ? fs.realpathSync(r.path) : '';
    } catch {
      continue; // missing or unreadable: its reader says so
    }
    if (st.isDirectory()) {
      const rel = path.relative(folder, real);
      if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return `is in ${r.what} ${r.path}`;
    } else if (st.dev === out.dev && st.ino === out.ino) {
      return r.path === target ? `is ${r.what}` : `is ${r.what} ${r.path}`;
    }
  }
  return null;
}

/**
 * A regular file's text (UTF-8), for the CLI's JSON options (merge parts, thresholds, palettes): a FIFO
 * would block the read for ever and /dev/zero fill memory, so anything but a regular file of at most
 * `maxBytes` is refused (LensError 'io', without the path: callers add it).
 */
export function readTextFileSync(path: string, maxBytes: number): string {
  const { fd, size } = openRegularFileSync(path);
  try {
    if (size > maxBytes) throw new LensError('io', `${size} bytes, more than the ${maxBytes} read here`);
    // At most the cap, should the file grow after the fstat.
    return new TextDecoder('utf-8').decode(readAtSync(fd, Math.min(size, maxBytes), 0));
  } catch (e) {
    throw e instanceof LensError ? e : new LensError('io', describeFsError(e));
  } finally {
    fs.closeSync(fd);
  }
}

/** A small file's bytes, or why it was not read. */
export type SmallFile =
  | { readonly kind: 'read'; readonly bytes: Uint8Array }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly reason: string };

/**
 * Reads a regular file of at most `maxBytes`. A missing file is 'missing'; a device, FIFO, directory or a
 * file over the cap is 'refused' with a reason (no path) and nothing is read. With `head`, a larger file is
 * not refused: its first `maxBytes` are read (a .npy header). The read stops at the cap either way, in case
 * the file grows after the fstat.
 */
export async function readSmallRegularFile(path: string, maxBytes: number, opts: { head?: boolean } = {}): Promise<SmallFile> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, OPEN_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'refused', reason: describeFsError(e) };
  }
  try {
    const st = await fh.stat();
    const why = notRegular(st);
    if (why !== null) return { kind: 'refused', reason: why };
    if (st.size > maxBytes && opts.head !== true) return { kind: 'refused', reason: `is ${st.size} bytes, over the ${maxBytes} read for it` };
    const buf = new Uint8Array(Math.min(st.size, maxBytes));
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await fh.read(buf, done, buf.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { kind: 'read', bytes: buf.subarray(0, done) };
  } catch (e) {
    return { kind: 'refused', reason: describeFsError(e) };
  } finally {
    await fh.close();
  }
}
