// The tensors of a torch.save file (name, shape, dtype) for pickers and hovers, from the zip's end records,
// its central directory and data.pkl alone: a few kilobytes of a checkpoint of any size, never the storages.
// The steps are one generator that asks for byte ranges, driven by sync reads in a worker (the pickers'
// list-tensor-file job, hovers) or by async reads, so every caller reads exactly the same bytes. The parse
// itself is synchronous: the extension host calls neither driver directly (src/worker/jobs/tensorListing.ts).
import * as fs from 'node:fs';
import { LensError } from '../../errors';
import { SparseBytes } from '../../tensor/byteView';
import { archivePrefix, torchSaveTensors, type TorchTensorInfo } from '../../tensor/binary/torchSave';
import { ZIP_TAIL_BYTES, ZipReader } from '../../tensor/binary/zip';
import { readAtSync } from './regularFile';

/** Largest central directory or data.pkl read for a listing (a state_dict of 100k tensors stays far below). */
export const MAX_LISTING_PART_BYTES = 64 << 20;
/** Enough of the start for the legacy-format magic and the PK signature. */
const HEAD_BYTES = 64;

interface ReadRequest {
  readonly offset: number;
  readonly length: number;
}

function* listingSteps(path: string, size: number): Generator<ReadRequest, TorchTensorInfo[], Uint8Array> {
  const view = new SparseBytes(size);
  const load = function* (offset: number, length: number): Generator<ReadRequest, void, Uint8Array> {
    if (length > 0 && !view.has(offset, offset + length)) view.add({ offset, bytes: yield { offset, length } });
  };
  yield* load(0, Math.min(size, HEAD_BYTES));
  const tailStart = Math.max(0, size - ZIP_TAIL_BYTES);
  yield* load(tailStart, size - tailStart);
  // Not a zip (a legacy or plain pickle): the whole-file reader words those refusals from the head alone.
  if (size < 4 || view.byteAt(0) !== 0x50 || view.byteAt(1) !== 0x4b) return torchSaveTensors(view, path);
  const wording = 'torch.save (zip) file';
  const sourced = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw e instanceof LensError ? e.withSource(path) : e;
    }
  };
  const dir = sourced(() => ZipReader.directoryRange(view, wording));
  if (dir.size > MAX_LISTING_PART_BYTES) throw new LensError('format', `${path}: its zip directory is ${dir.size} bytes, over the ${MAX_LISTING_PART_BYTES >> 20} MB a listing reads`);
  yield* load(dir.offset, dir.size);
  const zip = sourced(() => new ZipReader(view, wording));
  const prefix = archivePrefix(zip);
  // data.pkl and byteorder: their local headers and bytes, so the parser finds them where the zip says.
  for (const name of prefix === undefined ? [] : [`${prefix}data.pkl`, `${prefix}byteorder`]) {
    const e = zip.get(name);
    if (e === undefined || e.localOffset >= size) continue;
    if (e.compressedSize > MAX_LISTING_PART_BYTES) throw new LensError('format', `${path}: ${name} is ${e.compressedSize} bytes, over the ${MAX_LISTING_PART_BYTES >> 20} MB a listing reads`);
    if (view.has(e.localOffset, e.localOffset + 30 + e.compressedSize)) continue;
    // The local header's own name and extra lengths say where the bytes start (they may differ from the
    // directory's); a short read leaves the parser to report the truncation.
    const local: Uint8Array = yield { offset: e.localOffset, length: Math.min(30, size - e.localOffset) };
    const start = local.length === 30 ? 30 + (local[26] | (local[27] << 8)) + (local[28] | (local[29] << 8)) : 30;
    yield* load(e.localOffset, Math.min(size - e.localOffset, start + e.compressedSize));
  }
  return torchSaveTensors(view, path);
}

const O_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function ioError(path: string, e: unknown): LensError {
  return new LensError('io', `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
}

/** Name, shape and dtype of every tensor in a torch.save (zip) file, by async ranged reads. */
export async function torchSaveListing(path: string): Promise<TorchTensorInfo[]> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, O_FLAGS);
  } catch (e) {
    throw ioError(path, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new LensError('io', `${path}: not a regular file`);
    const steps = listingSteps(path, st.size);
    let next = steps.next();
    while (!next.done) {
      const { offset, length } = next.value;
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      next = steps.next(buf.subarray(0, got));
    }
    return next.value;
  } finally {
    await fh.close();
  }
}

/** The same listing by sync reads through a descriptor already checked to be a regular file (workers only). */
export function torchSaveListingSync(path: string, fd: number, size: number): TorchTensorInfo[] {
  const steps = listingSteps(path, size);
  let next = steps.next();
  while (!next.done) {
    const { offset, length } = next.value;
    next = steps.next(readAtSync(fd, length, offset));
  }
  return next.value;
}
