// The token-details worker job: one token's row of class values, read from where the session has the
// input, and what the token view's hover shows about it (src/kernel/sample/tokenRow.ts). A C-order .npy is read by
// the row's byte range only, so a [B, T, V] file of any size costs one small read per hover; other files
// (.npz members, torch.save, Fortran-order .npy) are read whole once per worker and kept while they are the
// last one asked about; an in-memory tensor is already in shared memory.
import * as fs from 'node:fs';
import { LensError } from '../../errors';
import { tokenRowDetails, tokenRowLayout, type TokenRowDetails } from '../../kernel/sample/tokenRow';
import type { WorkerRequest } from '../../protocol';
import { splitMemberSpec } from '../../tensor/load';
import { decodeRawData } from '../../tensor/binary/npy';
import type { Tensor } from '../../tensor/tensor';
import { closeNpy, isNpyPath, openNpy, readRaw } from '../files/npyFile';
import { readTensorFile } from '../files/readTensorFile';
import { changedSincePinned, sameIdentity, type FileIdentity } from '../files/regularFile';
import { viewOf } from '../engine/shared';

type TokenDetailsJob = Extract<WorkerRequest, { kind: 'token-details' }>;

/** Most elements one range read may span (a class-first row spans C x the elements after the class axis). */
const MAX_SPAN_ELEMENTS = 64 << 20;

let whole: { key: string; tensor: Tensor } | null = null;

function wholeFile(path: string, pin: FileIdentity | undefined): Tensor {
  let key = path;
  try {
    const st = fs.statSync(splitMemberSpec(path).path);
    // A cached tensor is only the pinned file's while the path still names that file.
    if (pin !== undefined && !sameIdentity(st, pin)) throw new LensError('io', `${path}: ${changedSincePinned(pin)}`);
    key = `${path}|${st.dev}|${st.ino}|${st.size}|${st.mtimeMs}`;
  } catch (e) {
    if (e instanceof LensError) throw e;
    // readTensorFile names the problem
  }
  if (whole?.key !== key) whole = { key, tensor: readTensorFile(path, 'input', pin) };
  return whole.tensor;
}

async function fromNpy(job: TokenDetailsJob, path: string, pin: FileIdentity | undefined): Promise<TokenRowDetails | null> {
  const f = openNpy(path, pin);
  try {
    const h = f.header;
    if (h.fortranOrder) return null;
    const at = tokenRowLayout(h.shape, job.classDim, job.row);
    const span = (at.C - 1) * at.stride + 1;
    if (at.C === 0 || span > MAX_SPAN_ELEMENTS) return null;
    const bytes = await readRaw(f, at.offset, span);
    const values = decodeRawData(bytes, { dtype: h.dtype, shape: [span], littleEndian: h.littleEndian, fortranOrder: false }).data;
    return tokenRowDetails(values, 0, at.stride, at.C, job.target, job.inputKind, job.topK, job.terms);
  } finally {
    closeNpy(f);
  }
}

export async function runTokenDetails(job: TokenDetailsJob): Promise<TokenRowDetails> {
  const src = job.source;
  if (src.kind === 'shared') {
    const x = viewOf(src.x);
    const at = tokenRowLayout(x.shape, job.classDim, job.row);
    return tokenRowDetails(x.data, at.offset, at.stride, at.C, job.target, job.inputKind, job.topK, job.terms);
  }
  if (isNpyPath(src.path)) {
    const r = await fromNpy(job, src.path, src.pin);
    if (r) return r;
  }
  const t = wholeFile(src.path, src.pin);
  if (t.shape.length === 0) throw new LensError('shape', `${src.path}: a 0-d input has no token rows`);
  const at = tokenRowLayout(t.shape, job.classDim, job.row);
  return tokenRowDetails(t.data, at.offset, at.stride, at.C, job.target, job.inputKind, job.topK, job.terms);
}
