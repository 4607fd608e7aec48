// The file side of folder evaluation (Node only): listing the two folders and pairing their files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../errors';
import { isLabelFile, isPredictionFile, pairFiles, type Pairing } from './pairing';
import { pairRunFiles, type RunsPairing } from './runs/pairing';
import type { UnreadableEntry } from './types';

export interface Listing {
  readonly names: string[];
  readonly unreadable: UnreadableEntry[];
}

function statReason(code: string | undefined, link: boolean): string {
  switch (code) {
    case 'ELOOP':
      return 'symbolic link loop';
    case 'ENOENT':
      return link ? 'dangling symbolic link' : 'removed while listing';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a link through something that is not a folder';
    default:
      return `cannot be read (${code ?? 'unknown error'})`;
  }
}

function kindReason(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Why an entry named like a tensor file cannot be evaluated, or null when it is a readable regular file
 * (or a link to one). Reading one of these would fail the whole run (a link loop threw ELOOP out of the
 * listing; a FIFO blocks the reader forever), so they are reported and left out instead.
 */
function unreadableReason(file: string, d: fs.Dirent): string | null {
  if (!d.isFile()) {
    // Links and entries the file system does not type in its listing: what they lead to decides.
    if (d.isSymbolicLink() || !(d.isDirectory() || d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice())) {
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch (e) {
        return statReason((e as NodeJS.ErrnoException).code, d.isSymbolicLink());
      }
      if (!st.isFile()) return kindReason(st);
    } else {
      return kindReason(d);
    }
  }
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    return statReason((e as NodeJS.ErrnoException).code, false);
  }
  return null;
}

export function listFolder(dir: string, what: string, wanted: (name: string) => boolean): Listing {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message.split('\n')[0];
    throw new LensError('io', `${dir}: ${why} (the ${what} folder)`);
  }
  // Entries not named like a tensor or mask file (README, sub-folders) are not looked at.
  const names: string[] = [];
  const unreadable: UnreadableEntry[] = [];
  for (const d of entries) {
    if (!wanted(d.name)) continue;
    const reason = unreadableReason(path.join(dir, d.name), d);
    if (reason === null) names.push(d.name);
    else unreadable.push({ name: d.name, reason });
  }
  return { names, unreadable };
}

/** Lists and pairs PRED_DIR and LABEL_DIR (see pairing.ts). */
export function pairFolders(predDir: string, labelDir: string): Pairing {
  const preds = listFolder(predDir, 'predictions', isPredictionFile);
  const labels = listFolder(labelDir, 'labels', isLabelFile);
  return pairFiles(
    preds.names, labels.names, (folder, name) => path.join(folder === 'prediction' ? predDir : labelDir, name), { prediction: predDir, label: labelDir },
    { prediction: preds.unreadable, label: labels.unreadable },
  );
}

/** Lists LABEL_DIR and each run folder and pairs them for `runs` (see runs/pairing.ts). */
export function pairRunFolders(labelDir: string, runs: ReadonlyArray<{ readonly name: string; readonly folder: string }>): RunsPairing {
  const labels = listFolder(labelDir, 'labels', isLabelFile);
  const listed = runs.map((r) => {
    const l = listFolder(r.folder, `run ${r.name}`, isPredictionFile);
    return { name: r.name, folder: r.folder, files: l.names, unreadable: l.unreadable };
  });
  return pairRunFiles({ folder: labelDir, files: labels.names, unreadable: labels.unreadable }, listed, (folder, name) => path.join(folder, name));
}
