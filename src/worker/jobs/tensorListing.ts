// The list-tensor-file worker job: name, shape and dtype of the tensors in a .safetensors header, a
// torch.save (zip) file, an .npz archive or a JSON tensor file, for the pickers. Parsing happens here, never on the extension host: a hostile
// safetensors header (up to 100 MB of JSON, a million entries) or pickle takes seconds of synchronous work,
// and the host's event loop serves every editor. The reply is bounded too: a listing is structured-cloned
// onto the host's thread, so a million entries would stall it there instead.
import * as fs from 'node:fs';
import { LensError } from '../../errors';
import { readNpz } from '../../tensor/binary/npz';
import { readSafetensorsHeader, safetensorsHeaderEnd } from '../../tensor/binary/safetensors';
import { parseJsonTensorFile } from '../../tensor/text/json';
import type { DType } from '../../tensor/tensor';
import { describeFsError } from '../files/readTensorFile';
import { openRegularFileSync, readAtSync } from '../files/regularFile';
import { torchSaveListingSync } from '../files/torchSaveListing';

/** Most tensors one listing returns (a picker shows no more; the rest are counted in `omitted`). */
export const MAX_LISTED_TENSORS = 10_000;

export type ListingFormat = 'safetensors' | 'torch' | 'npz' | 'json';

/** JSON files above this size are not listed (parsing one takes ~30 ms a megabyte). */
export const MAX_JSON_LISTING_BYTES = 2 << 20;

/** .npz archives above this size are not listed (the listing reads the archive whole). */
export const MAX_NPZ_LISTING_BYTES = 256 << 20;

export interface ListedTensor {
  /** '' for a torch.save file holding one bare tensor. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface TensorListing {
  readonly tensors: readonly ListedTensor[];
  /** Tensors beyond MAX_LISTED_TENSORS, not listed. */
  readonly omitted: number;
}

function listSafetensors(fd: number, size: number): TensorListing {
  const end = safetensorsHeaderEnd(readAtSync(fd, Math.min(8, size), 0));
  if (end === undefined || end > size) throw new LensError('format', 'not a valid .safetensors file: the header length is missing or larger than the file');
  const h = readSafetensorsHeader(readAtSync(fd, end, 0), size);
  const n = Math.min(h.length, MAX_LISTED_TENSORS);
  const tensors = Array.from({ length: n }, (_, i) => {
    const t = h.info(i);
    return { name: t.name, shape: t.shape, dtype: t.dtype };
  });
  return { tensors, omitted: h.length - n };
}

function listTorch(path: string, fd: number, size: number): TensorListing {
  // Many tools write .bin files: only a zip (PK) is a torch.save file here; anything else lists nothing.
  const head = readAtSync(fd, Math.min(2, size), 0);
  if (head.length < 2 || head[0] !== 0x50 || head[1] !== 0x4b) return { tensors: [], omitted: 0 };
  const all = torchSaveListingSync(path, fd, size);
  return { tensors: all.slice(0, MAX_LISTED_TENSORS).map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype })), omitted: Math.max(0, all.length - MAX_LISTED_TENSORS) };
}

function listNpz(path: string, fd: number, size: number): TensorListing {
  // Each member's .npy header is parsed (inflated first when compressed): a hostile archive of many members
  // took seconds of it, which on the host's thread froze every editor.
  if (size > MAX_NPZ_LISTING_BYTES) return { tensors: [], omitted: 0 };
  const members = readNpz(readAtSync(fd, size, 0), path).members;
  const n = Math.min(members.length, MAX_LISTED_TENSORS);
  return { tensors: members.slice(0, n).map((m) => ({ name: m.name, shape: m.header.shape, dtype: m.header.dtype })), omitted: members.length - n };
}

/**
 * A JSON tensor file's tensors: '' for a file of one tensor, else one per role it holds (input, target,
 * weight), named by the role. Any other JSON (package.json) lists nothing.
 */
function listJson(fd: number, size: number): TensorListing {
  if (size > MAX_JSON_LISTING_BYTES) return { tensors: [], omitted: 0 };
  const text = new TextDecoder('utf-8').decode(readAtSync(fd, size, 0));
  if (!/^\s*[[{]/.test(text)) return { tensors: [], omitted: 0 };
  const parsed = parseJsonTensorFile(text, '');
  const meta = (name: string, t: { shape: readonly number[]; dtype: DType }): ListedTensor => ({ name, shape: t.shape, dtype: t.dtype });
  if (parsed.tensor) return { tensors: [meta('', parsed.tensor)], omitted: 0 };
  const tensors: ListedTensor[] = [];
  for (const role of ['input', 'target', 'weight'] as const) {
    const t = parsed[role];
    if (t) tensors.push(meta(role, t));
  }
  return { tensors, omitted: 0 };
}

/** The tensors of `path`; a one-line LensError naming the file when it cannot be listed. */
export function listTensorFile(path: string, format: ListingFormat): TensorListing {
  try {
    // Found by a workspace glob: a link to a device or a FIFO named like a checkpoint is never read.
    const { fd, size } = openRegularFileSync(path);
    try {
      if (format === 'npz') return listNpz(path, fd, size);
      if (format === 'json') return listJson(fd, size);
      return format === 'safetensors' ? listSafetensors(fd, size) : listTorch(path, fd, size);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('io', describeFsError(e));
    throw le.withSource(path);
  }
}
