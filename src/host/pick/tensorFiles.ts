// Tensor files in the workspace and what their headers say (shape, dtype), for the pickers and the
// explorer command. Headers only: a .npy costs one small read, whatever its size. Files are found by glob,
// so only regular files are read (src/worker/files/regularFile.ts): a link to a device or a FIFO is skipped.
// .safetensors headers, torch.save pickles, .npz members' headers and JSON files are parsed in a worker
// (src/worker/jobs/tensorListing.ts): a hostile one takes seconds of synchronous parsing, which on this
// thread would freeze every editor.
import * as vscode from 'vscode';
import { isLensError } from '../../errors';
import type { TensorMeta } from '../../kernel/roles';
import { parseNpyHeader } from '../../tensor/binary/npy';
import { describePngHeader, isColorPng, pngMaskDType, pngMaskShape, readPngHeader, PNG_HEADER_BYTES } from '../../tensor/image/pngMask';
import { safetensorsHeaderEnd } from '../../tensor/binary/safetensors';
import type { TensorRole } from '../../tensor/binary/npz';
import { readClassNamesBeside } from '../../worker/files/classNames';
import { readSmallRegularFile } from '../../worker/files/regularFile';
import type { Engine } from '../../worker/engine/engine';
import type { ListingFormat, TensorListing } from '../../worker/jobs/tensorListing';
import { log } from '../log';

export const TENSOR_GLOB = '**/*.{npy,npz,json,pt,pth,bin,safetensors}';
const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.venv/**,**/__pycache__/**}';
/** PNG label masks (targets only), found apart so that a folder of images cannot crowd out tensor files. */
export const MASK_GLOB = '**/*.png';

export interface TensorEntry extends TensorMeta {
  /** What the engine reads: a path, or `file.npz:member`. */
  readonly spec: string;
  readonly uri: vscode.Uri;
  /** For a JSON object holding several tensors: the key's role. */
  readonly role?: TensorRole;
  /** What the Quick Pick adds to shape and dtype (a PNG mask: "8-bit palette PNG mask"). */
  readonly note?: string;
}

let listingEngine: (() => Engine) | null = null;

/** The engine whose workers list .safetensors, torch.save, .npz and JSON files (set once at activation). */
export function useEngineForListings(engine: () => Engine): void {
  listingEngine = engine;
}

// Each file whose listing was cut short is logged once, not on every scan.
const loggedOmissions = new Set<string>();

async function listInWorker(path: string, format: ListingFormat): Promise<TensorListing> {
  if (listingEngine === null) throw new Error('tensor listings need the engine: call useEngineForListings() at activation');
  const listing = await listingEngine().listTensorFile(path, format);
  if (listing.omitted > 0 && !loggedOmissions.has(path)) {
    loggedOmissions.add(path);
    log().warn(`${path}: ${listing.omitted} more tensors than the first ${listing.tensors.length} are not offered in the pickers`);
  }
  return listing;
}

export async function findTensorFiles(token?: vscode.CancellationToken): Promise<vscode.Uri[]> {
  const [tensors, masks] = await Promise.all([
    vscode.workspace.findFiles(TENSOR_GLOB, EXCLUDE, 5000, token),
    vscode.workspace.findFiles(MASK_GLOB, EXCLUDE, 5000, token),
  ]);
  return [...tensors, ...masks];
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
      const head = await readSmallRegularFile(p, 65536, { head: true });
      if (head.kind !== 'read') return [];
      const h = parseNpyHeader(head.bytes);
      return [{ id: p, spec: p, uri, name, shape: h.shape, dtype: h.dtype }];
    }
    if (/\.png$/i.test(p)) {
      // A label mask: the IHDR alone (33 bytes) gives [H, W] and the dtype. RGB images are not masks here.
      const head = await readSmallRegularFile(p, PNG_HEADER_BYTES, { head: true });
      if (head.kind !== 'read') return [];
      const h = readPngHeader(head.bytes);
      if (isColorPng(h)) return [];
      return [{ id: p, spec: p, uri, name, shape: pngMaskShape(h), dtype: pngMaskDType(h), mask: true, note: `${describePngHeader(h)} mask` }];
    }
    if (/\.npz$/i.test(p)) {
      return (await listInWorker(p, 'npz')).tensors.map((t) => ({ id: `${p}:${t.name}`, spec: `${p}:${t.name}`, uri, name: `${name}:${t.name}`, shape: t.shape, dtype: t.dtype }));
    }
    if (/\.(pt|pth|bin)$/i.test(p)) {
      // Many tools write .bin files: only a zip (PK) is a torch.save file. Its directory and data.pkl
      // alone give the listing, whatever the checkpoint's size.
      const head = await readSmallRegularFile(p, 4, { head: true });
      if (head.kind !== 'read' || head.bytes[0] !== 0x50 || head.bytes[1] !== 0x4b) return [];
      return (await listInWorker(p, 'torch')).tensors.map((t) =>
        t.name === ''
          ? { id: p, spec: p, uri, name, shape: t.shape, dtype: t.dtype }
          : { id: `${p}:${t.name}`, spec: `${p}:${t.name}`, uri, name: `${name}:${t.name}`, shape: t.shape, dtype: t.dtype },
      );
    }
    if (/\.safetensors$/i.test(p)) {
      // A plausible header length in the first 8 bytes, else not worth a worker's time.
      const first = await readSmallRegularFile(p, 8, { head: true });
      if (first.kind !== 'read' || safetensorsHeaderEnd(first.bytes) === undefined) return [];
      return (await listInWorker(p, 'safetensors')).tensors.map((t) => ({ id: `${p}:${t.name}`, spec: `${p}:${t.name}`, uri, name: `${name}:${t.name}`, shape: t.shape, dtype: t.dtype }));
    }
    if (/\.json$/i.test(p)) {
      return (await listInWorker(p, 'json')).tensors.map((t): TensorEntry => {
        if (t.name === '') return { id: p, spec: p, uri, name, shape: t.shape, dtype: t.dtype };
        const role = t.name as TensorRole;
        return { id: `${p}#${role}`, spec: p, uri, name: `${name} (${role})`, shape: t.shape, dtype: t.dtype, role };
      });
    }
  } catch (e) {
    // A file that is not a tensor (package.json, a corrupt array) is simply not offered.
    if (!isLensError(e) && !(e instanceof SyntaxError)) throw e;
  }
  return [];
}

export function describeEntry(e: TensorMeta & { readonly note?: string }): string {
  return `[${e.shape.join(', ')}] ${e.dtype}${e.note ? ` · ${e.note}` : ''}`;
}

// Each skipped class-name file is logged once, not on every recompute.
const loggedNotes = new Set<string>();

/**
 * Class names: the setting, else classes.json / classes.txt beside the input file (regular files of at most
 * 4 MiB; one that is skipped is named in the log).
 */
export async function classNamesFor(inputPath: string | null, fromSettings: readonly string[]): Promise<string[]> {
  if (fromSettings.length) return [...fromSettings];
  if (!inputPath) return [];
  const found = await readClassNamesBeside(inputPath);
  if (found.note !== null && !loggedNotes.has(found.note)) {
    loggedNotes.add(found.note);
    log().warn(found.note);
  }
  return [...found.names];
}
