// One entry point from (file name, bytes) to a Tensor, for the worker, the CLI and the webview alike.
// Every error leaves here as a one-line LensError that starts with the file name.

import { LensError, quoteSnippet } from '../errors';
import { decodeNpy } from './binary/npy';
import { readNpz, resolveNpzMember, ROLE_NAMES, type TensorRole } from './binary/npz';
import { parseJsonTensorFile } from './text/json';
import { decodePngMask, hasPngSignature } from './image/pngMask';
import { findTensorLiterals } from './text/printed';
import { decodeSafetensors, looksLikeSafetensors } from './binary/safetensors';
import { decodeTorchSave, isLegacyTorchSave, isTorchSaveZip } from './binary/torchSave';
import type { ByteView } from './byteView';
import type { Tensor } from './tensor';

const MEMBER_CONTAINER = /\.(?:npz|pt|pth|bin|safetensors)$/i;

/**
 * Splits `file.npz:member` into path and member. Only a ':' whose left side ends with .npz, .pt, .pth, .bin
 * or .safetensors splits (the last such one), so Windows drive letters (C:\data\x.npy) and colons inside
 * member names survive.
 */
export function splitMemberSpec(spec: string): { path: string; member?: string } {
  for (let i = spec.lastIndexOf(':'); i > 0; i = spec.lastIndexOf(':', i - 1)) {
    const path = spec.slice(0, i);
    if (MEMBER_CONTAINER.test(path)) {
      const member = spec.slice(i + 1);
      return member === '' ? { path } : { path, member };
    }
  }
  return { path: spec };
}

export function extensionOf(source: string): string {
  const base = source.slice(Math.max(source.lastIndexOf('/'), source.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const startsWith = (b: Uint8Array, sig: readonly number[]): boolean => b.length >= sig.length && sig.every((x, i) => b[i] === x);
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

const UNREADABLE: Record<string, string> = {
  '.pkl': 'a pickle',
  '.pickle': 'a pickle',
  '.h5': 'an HDF5 file',
  '.hdf5': 'an HDF5 file',
};

function text(bytes: Uint8Array): string {
  // PowerShell's `python x.py > out.txt` writes UTF-16 with a byte-order mark.
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    return new TextDecoder(bytes[0] === 0xff ? 'utf-16le' : 'utf-16be').decode(bytes);
  }
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) {
    throw new LensError('format', 'unrecognized binary file — expected .npy, .npz, .json, or text holding a printed tensor');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LensError('format', 'the file is neither .npy/.npz nor UTF-8 text');
  }
}

function noMember(member: string | undefined, kind: string): void {
  if (member !== undefined) {
    // A member name comes from a command line or a file name: plain ones show as they are, others quoted and cut.
    const shown = /^[\w./-]{1,40}$/.test(member) ? member : quoteSnippet(member);
    throw new LensError('option', `a member name (:${shown}) only applies to .npz, torch.save (.pt/.pth/.bin) and .safetensors files, and this is ${kind}`);
  }
}

function fromNpz(source: string, bytes: Uint8Array | ByteView, role: TensorRole, member: string | undefined): Tensor {
  const archive = readNpz(bytes, source);
  return archive.get(member ?? resolveNpzMember(archive, role, source));
}

function fromJson(source: string, bytes: Uint8Array, role: TensorRole, member: string | undefined): Tensor {
  noMember(member, 'a JSON file');
  const parsed = parseJsonTensorFile(text(bytes), source);
  if (parsed.tensor !== undefined) return parsed.tensor;
  const t = parsed[role];
  if (t !== undefined) return t;
  const present = (['input', 'target', 'weight'] as const).filter((r) => parsed[r] !== undefined);
  throw new LensError('format', `the object holds ${present.join(' and ')} but no ${role} (a key named ${ROLE_NAMES[role].join(', ')})`);
}

function fromPngMask(bytes: Uint8Array, role: TensorRole, member: string | undefined): Tensor {
  noMember(member, 'a PNG mask');
  if (role !== 'target') {
    throw new LensError('option', `a PNG is a label mask; it can only be the target — give the ${role} as .npy, .npz or .json`);
  }
  return decodePngMask(bytes);
}

function fromText(bytes: Uint8Array, role: TensorRole, member: string | undefined): Tensor {
  noMember(member, 'a text file');
  const t = text(bytes);
  const found = findTensorLiterals(t);
  if (found.length === 0) {
    throw new LensError('format', 'no tensor found — expected a .npy, .npz or .json file, or text holding tensor(...), array(...) or [...]');
  }
  let pick = found.length === 1 ? found[0] : undefined;
  if (pick === undefined) {
    // Several literals: `logits = tensor(...)` / `target = tensor(...)` name their roles.
    const named = found.filter((f) => {
      const m = /([A-Za-z_]\w*)\s*=\s*$/.exec(t.slice(Math.max(0, f.start - 100), f.start));
      return m !== null && ROLE_NAMES[role].includes(m[1].toLowerCase());
    });
    if (named.length === 1) pick = named[0];
  }
  if (pick === undefined) {
    const lines = found.map((f) => t.slice(0, f.start).split('\n').length);
    throw new LensError(
      'format',
      `holds ${found.length} tensors (lines ${lines.slice(0, 8).join(', ')}) — keep one per file, or name them like ${ROLE_NAMES[role][0]} = tensor(...)`,
    );
  }
  if ('error' in pick) throw pick.error;
  return pick.tensor;
}

/**
 * Decodes a tensor file by its extension (.npy, .npz, .json; anything else is sniffed for the .npy/zip
 * magic, then read as text holding a printed tensor). `role` picks the npz member or JSON key when
 * `member` does not name one.
 */
export function decodeTensorFile(source: string, bytes: Uint8Array, role: TensorRole, member?: string): Tensor {
  try {
    const ext = extensionOf(source);
    if (ext === '.npy') {
      noMember(member, 'a .npy file');
      return decodeNpy(bytes);
    }
    if (ext === '.npz') return fromNpz(source, bytes, role, member);
    if (ext === '.json') return fromJson(source, bytes, role, member);
    // A PNG label mask (target only; an RGB one needs a colour table: src/worker/files/maskTarget.ts).
    if (ext === '.png' || hasPngSignature(bytes)) return fromPngMask(bytes, role, member);
    // .bin is generic (Hugging Face's torch.save checkpoints, but also anything else): it is sniffed below.
    if (ext === '.pt' || ext === '.pth') return decodeTorchSave(source, bytes, role, member);
    if (ext === '.safetensors') return decodeSafetensors(source, bytes, role, member);
    if (startsWith(bytes, NPY_MAGIC)) {
      noMember(member, 'a .npy file');
      return decodeNpy(bytes);
    }
    if (startsWith(bytes, ZIP_MAGIC)) return isTorchSaveZip(bytes) ? decodeTorchSave(source, bytes, role, member) : fromNpz(source, bytes, role, member);
    if (isLegacyTorchSave(bytes)) return decodeTorchSave(source, bytes, role, member);
    if (looksLikeSafetensors(bytes)) return decodeSafetensors(source, bytes, role, member);
    const what = UNREADABLE[ext];
    if (what !== undefined) {
      throw new LensError(
        'format',
        `${what} cannot be read here — save the tensor with np.save('x.npy', t.detach().cpu().numpy()) and open that`,
      );
    }
    return fromText(bytes, role, member);
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('format', `cannot decode (${e instanceof Error ? e.message : String(e)})`);
    throw le.withSource(source);
  }
}

/** Files whose tensors are zip members or storages, read in ranges by decodeArchiveTensor. */
export const ARCHIVE_TENSOR_FILE = /\.(?:npz|pt|pth)$/i;

/**
 * decodeTensorFile for an .npz or torch.save file (ARCHIVE_TENSOR_FILE) given as a ByteView: the readers
 * ask only for the directory, the headers and the one member or storage the tensor needs.
 */
export function decodeArchiveTensor(source: string, view: ByteView, role: TensorRole, member?: string): Tensor {
  try {
    return extensionOf(source) === '.npz' ? fromNpz(source, view, role, member) : decodeTorchSave(source, view, role, member);
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('format', `cannot decode (${e instanceof Error ? e.message : String(e)})`);
    throw le.withSource(source);
  }
}

/**
 * The weight stored beside input and target in the same container: a JSON object's `weight` key or an npz
 * member named weight/weights. Undefined when the file is not such a container or holds no weight, so a
 * caller can fall back to "no weight" without reading error messages.
 */
export function findCompanionWeight(source: string, bytes: Uint8Array): Tensor | undefined {
  const ext = extensionOf(source);
  try {
    if (ext === '.json') {
      return parseJsonTensorFile(text(bytes), source).weight;
    }
    if (ext === '.npz' || startsWith(bytes, ZIP_MAGIC)) {
      const archive = readNpz(bytes, source);
      const names = archive.members.map((m) => m.name).filter((n) => ROLE_NAMES.weight.includes(n.toLowerCase()));
      return names.length === 1 ? archive.get(names[0]) : undefined;
    }
    return undefined;
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('format', `cannot decode (${e instanceof Error ? e.message : String(e)})`);
    throw le.withSource(source);
  }
}
