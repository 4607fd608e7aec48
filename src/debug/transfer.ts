// Values from a paused debuggee as .npy files the engine reads like any other: the debuggee writes them into
// a private folder (0700, one per session); when that folder is visible here (the same machine) the engine
// reads the file where it is, else (a session attached to another machine) values up to 64 MB are copied
// in chunks through the debugger. Files go when their panel closes, the session ends, or the extension stops.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../errors';
import type { FrameClient } from './frameClient';
import type { SavedValue, Transform, ValueRef } from './snippet';

/** Above this, a value on another machine is not copied through the debugger (about 6 MB/s there). */
export const MAX_REMOTE_BYTES = 64 << 20;
/** Bytes per chunked read (base64 in one evaluate reply). */
const CHUNK_BYTES = 3 << 20;
const DIR_PREFIX = 'cross-entropy-lens-debug-';

export interface LocalValue {
  /** A file the engine reads (the debuggee's own, or a local copy). */
  readonly path: string;
  readonly saved: SavedValue;
  /** Copied through the debugger (the debuggee's files are not visible here). */
  readonly copied: boolean;
}

function randomName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Whether `dir` is a lens folder owned by this user: the only kind this module deletes. */
function ownFolder(dir: string): boolean {
  try {
    const st = fs.lstatSync(dir);
    return st.isDirectory() && path.basename(dir).startsWith(DIR_PREFIX) && (typeof process.getuid !== 'function' || st.uid === process.getuid());
  } catch {
    return false;
  }
}

interface SessionFiles {
  /** The debuggee's folder (its path on its machine), reused by each save. */
  remoteDir: string | null;
  /** Every folder the debuggee made for the session (two first saves at once may each make one). */
  readonly dirs: Set<string>;
  /** Saves under way: a copied value's folder is removed only when no other save may still use it. */
  inflight: number;
  /** A save was copied through the debugger: the session's files are not visible here. */
  remote: boolean;
  /** This machine's folder for copies of a remote session's values. */
  copyDir: string | null;
}

export class DebugTransfers {
  private readonly sessions = new Map<string, SessionFiles>();

  /**
   * Saves a value of the paused frame as .npy (after `transform`, a fix done in the debuggee), readable here.
   * onProgress: the fraction copied, for a value copied through the debugger.
   */
  async save(client: FrameClient, ref: ValueRef, transform: readonly Transform[], role: string, onProgress?: (fraction: number) => void): Promise<LocalValue> {
    const files = this.files(client.session.id);
    files.inflight++;
    try {
      const saved = await client.ask({
        op: 'save', ref, name: randomName(role.replace(/[^A-Za-z0-9_-]/g, '')), dir: files.remoteDir, transform,
        ...(files.remote ? { maxBytes: MAX_REMOTE_BYTES } : {}),
      });
      // The reply names its own file in its own folder, or it is not the lens's.
      if (path.dirname(saved.path) !== saved.dir || !path.basename(saved.dir).startsWith(DIR_PREFIX)) throw new LensError('io', `the debuggee answered a file outside the lens's folder: ${saved.path}`);
      files.remoteDir = saved.dir;
      files.dirs.add(saved.dir);
      if (this.visibleHere(saved)) return { path: saved.path, saved, copied: false };
      files.remote = true;
      return { path: await this.copy(client, saved, files, onProgress), saved, copied: true };
    } finally {
      files.inflight--;
    }
  }

  /** The debuggee's file is this very file: same path, size, and a private lens folder owned by this user. */
  private visibleHere(saved: SavedValue): boolean {
    if (process.env.CEL_DEBUG_COPY === '1') return false; // tests of the copy path on one machine
    try {
      const st = fs.statSync(saved.path);
      return st.isFile() && st.size === saved.bytes && ownFolder(path.dirname(saved.path));
    } catch {
      return false;
    }
  }

  private async copy(client: FrameClient, saved: SavedValue, files: SessionFiles, onProgress?: (fraction: number) => void): Promise<string> {
    try {
      if (saved.bytes > MAX_REMOTE_BYTES) {
        throw new LensError('io', `${saved.label} is ${(saved.bytes / 2 ** 20).toFixed(0)} MB on a machine whose files are not visible here: values up to ${MAX_REMOTE_BYTES >> 20} MB are copied through the debugger; save it there with np.save and open the file`);
      }
      files.copyDir ??= fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
      const local = path.join(files.copyDir, path.basename(saved.path));
      const fd = fs.openSync(local, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      try {
        for (let off = 0; off < saved.bytes; off += CHUNK_BYTES) {
          const length = Math.min(CHUNK_BYTES, saved.bytes - off);
          const { data } = await client.ask({ op: 'read', path: saved.path, offset: off, length });
          const bytes = Buffer.from(data, 'base64');
          if (bytes.length === 0) throw new LensError('io', `${saved.label}: the debuggee's file ended at byte ${off} of ${saved.bytes}`);
          // More than asked for would be written past this chunk, fewer would leave a hole of zeros in the copy.
          if (bytes.length !== length) throw new LensError('io', `${saved.label}: the debuggee sent ${bytes.length} bytes at byte ${off}, asked for ${length}`);
          fs.writeSync(fd, bytes, 0, bytes.length, off);
          onProgress?.(Math.min(1, (off + bytes.length) / saved.bytes));
        }
      } catch (e) {
        fs.closeSync(fd);
        fs.rmSync(local, { force: true });
        throw e;
      }
      fs.closeSync(fd);
      return local;
    } finally {
      // The debuggee's copy is not needed once here (or once refused): nothing stays on its machine. Its
      // folder goes too unless another save of the session is under way (it may be writing there).
      const alone = files.inflight <= 1;
      try {
        await client.ask(alone ? { op: 'remove', dir: saved.dir } : { op: 'remove', dir: saved.dir, path: saved.path });
      } catch {
        // the session may have gone on; its folder is the debuggee's temp folder
      }
      if (alone) {
        files.remoteDir = null;
        files.dirs.delete(saved.dir);
      }
    }
  }

  /** Deletes the files of a panel that closed or moved on to newer values. */
  release(values: readonly LocalValue[]): void {
    for (const v of values) {
      if (ownFolder(path.dirname(v.path))) fs.rmSync(v.path, { force: true });
    }
  }

  /** A session ended: its folders go (on this machine; a remote debuggee's were removed after each copy). */
  endSession(sessionId: string): void {
    const files = this.sessions.get(sessionId);
    if (!files) return;
    this.sessions.delete(sessionId);
    for (const d of [...files.dirs, files.copyDir]) if (d && ownFolder(d)) fs.rmSync(d, { recursive: true, force: true });
  }

  dispose(): void {
    for (const id of [...this.sessions.keys()]) this.endSession(id);
  }

  private files(sessionId: string): SessionFiles {
    let f = this.sessions.get(sessionId);
    if (!f) this.sessions.set(sessionId, (f = { remoteDir: null, dirs: new Set(), copyDir: null, inflight: 0, remote: false }));
    return f;
  }
}
