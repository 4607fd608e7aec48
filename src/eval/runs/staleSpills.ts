// Spill folders left behind: a runs evaluation removes its temporary losses folder (lossFiles.ts) when it
// ends, but a process killed outright (SIGKILL, a crash of the extension host) cannot, and the folder holds
// 4 bytes per pixel and run (gigabytes for a large set). Every spill folder is named with one prefix and its
// owner's pid, so a new evaluation removes those whose owner is gone. Best effort: what cannot be read or
// removed is left alone, and nothing here throws.
//
// A day's grace before removal: a /tmp shared between containers shows pids of other pid namespaces as
// gone, and no evaluation leaves its folder untouched that long while it runs (each run creates its file).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SPILL_PREFIX = 'cross-entropy-lens-runs-';
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** The prefix of this process's spill folders (mkdtemp adds six random characters). */
export function spillPrefix(pid = process.pid): string {
  return `${SPILL_PREFIX}${pid}-`;
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owner's pid from a spill folder's name; null for a name without one (written before pids were). */
export function ownerOf(name: string): number | null {
  const m = /^(\d+)-[^-]+$/.exec(name.slice(SPILL_PREFIX.length));
  return m ? Number(m[1]) : null;
}

export interface SweepOptions {
  readonly now?: number;
  readonly staleAfterMs?: number;
  readonly alive?: (pid: number) => boolean;
}

/** Removes the spill folders in `parent` older than the grace period whose owner is gone; returns their names. */
export function removeStaleSpills(parent: string, o: SweepOptions = {}): string[] {
  const now = o.now ?? Date.now();
  const staleAfter = o.staleAfterMs ?? STALE_AFTER_MS;
  const alive = o.alive ?? pidAlive;
  let names: string[];
  try {
    names = fs.readdirSync(parent).filter((n) => n.startsWith(SPILL_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(parent, name);
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || now - st.mtimeMs < staleAfter) continue;
      const pid = ownerOf(name);
      if (pid === process.pid || (pid !== null && alive(pid))) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Another user's folder, or removed meanwhile by another sweep: not ours to worry about.
    }
  }
  return removed;
}
