// Tensor files in the workspace and what their headers say (shape, dtype), for the pickers and the
// explorer command. Headers only: a .npy costs one small read, whatever its size.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isLensError } from '../errors';
import type { TensorMeta } from '../kernel/roles';
import { parseJsonTensorFile } from '../tensor/json';
import { parseNpyHeader } from '../tensor/npy';
import { readNpz } from '../tensor/npz';
import type { TensorRole } from '../tensor/npz';

export const TENSOR_GLOB = '**/*.{npy,npz,json}';
const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.venv/**,**/__pycache__/**}';
const MAX_NPZ_BYTES = 256 << 20;
const MAX_JSON_BYTES = 2 << 20;

export interface TensorEntry extends TensorMeta {
  /** What the engine reads: a path, or `file.npz:member`. */
  readonly spec: string;
  readonly uri: vscode.Uri;
  /** For a JSON object holding several tensors: the key's role. */
  readonly role?: TensorRole;
}

export async function findTensorFiles(token?: vscode.CancellationToken): Promise<vscode.Uri[]> {
  return vscode.workspace.findFiles(TENSOR_GLOB, EXCLUDE, 5000, token);
}

function display(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false);
}

/** The tensors one file holds (several for an .npz or a JSON pair); [] when it holds none we can read. */
export async function tensorsIn(uri: vscode.Uri): Promise<TensorEntry[]> {
  const p = uri.fsPath;
  const name = display(uri);
  try {
    if (/\.npy$/i.test(p)) {
      const fh = await fs.promises.open(p, 'r');
      try {
        const head = new Uint8Array(65536);
        const { bytesRead } = await fh.read(head, 0, head.length, 0);
        const h = parseNpyHeader(head.subarray(0, bytesRead));
        return [{ id: p, spec: p, uri, name, shape: h.shape, dtype: h.dtype }];
      } finally {
        await fh.close();
      }
    }
    const size = (await fs.promises.stat(p)).size;
    if (/\.npz$/i.test(p)) {
      if (size > MAX_NPZ_BYTES) return [];
      const archive = readNpz(new Uint8Array(await fs.promises.readFile(p)), p);
      return archive.members.map((m) => ({ id: `${p}:${m.name}`, spec: `${p}:${m.name}`, uri, name: `${name}:${m.name}`, shape: m.header.shape, dtype: m.header.dtype }));
    }
    if (/\.json$/i.test(p)) {
      if (size > MAX_JSON_BYTES) return [];
      const text = await fs.promises.readFile(p, 'utf8');
      if (!/^\s*[[{]/.test(text)) return [];
      const parsed = parseJsonTensorFile(text, p);
      if (parsed.tensor) return [{ id: p, spec: p, uri, name, shape: parsed.tensor.shape, dtype: parsed.tensor.dtype }];
      const out: TensorEntry[] = [];
      for (const role of ['input', 'target', 'weight'] as const) {
        const t = parsed[role];
        if (t) out.push({ id: `${p}#${role}`, spec: p, uri, name: `${name} (${role})`, shape: t.shape, dtype: t.dtype, role });
      }
      return out;
    }
  } catch (e) {
    // A file that is not a tensor (package.json, a corrupt array) is simply not offered.
    if (!isLensError(e) && !(e instanceof SyntaxError)) throw e;
  }
  return [];
}

export function describeEntry(e: TensorMeta): string {
  return `[${e.shape.join(', ')}] ${e.dtype}`;
}

/** Class names: the setting, else classes.json / classes.txt beside the input file. */
export async function classNamesFor(inputPath: string | null, fromSettings: readonly string[]): Promise<string[]> {
  if (fromSettings.length) return [...fromSettings];
  if (!inputPath) return [];
  const dir = path.dirname(inputPath);
  try {
    const json = await fs.promises.readFile(path.join(dir, 'classes.json'), 'utf8');
    const v: unknown = JSON.parse(json);
    if (Array.isArray(v)) return v.map((x) => String(x));
  } catch {
    // no classes.json
  }
  try {
    const txt = await fs.promises.readFile(path.join(dir, 'classes.txt'), 'utf8');
    return txt.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  } catch {
    return [];
  }
}
