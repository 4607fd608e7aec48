// The file side of folder evaluation (Node only): listing the two folders and pairing their files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../errors';
import { pairFiles, type Pairing } from './pairing';

function listFolder(dir: string, what: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message.split('\n')[0];
    throw new LensError('io', `${dir}: ${why} (the ${what} folder)`);
  }
  // Files and links to files; sub-folders are not searched.
  return entries.filter((d) => d.isFile() || (d.isSymbolicLink() && fs.statSync(path.join(dir, d.name), { throwIfNoEntry: false })?.isFile())).map((d) => d.name);
}

/** Lists and pairs PRED_DIR and LABEL_DIR (see pairing.ts). */
export function pairFolders(predDir: string, labelDir: string): Pairing {
  const preds = listFolder(predDir, 'predictions');
  const labels = listFolder(labelDir, 'labels');
  return pairFiles(preds, labels, (folder, name) => path.join(folder === 'prediction' ? predDir : labelDir, name), { prediction: predDir, label: labelDir });
}
