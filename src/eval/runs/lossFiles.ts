// Where a runs evaluation keeps its per-pixel losses between the pass over the logits and the figures that
// need the whole run first (the 90th percentile, then which pixels lie above it in every run): on disk, 4
// bytes per non-ignored pixel and run, never in memory. That is about 1/75 of what the pass reads for
// 150-class float16 logits, and reading it back twice costs a few percent of the pass (see figures.ts).
//
// Two layouts, one reader interface (LossSource):
// - LossSpill: the run's own temporary folder, one file per run, each image's losses appended as the image
//   completes (any order) with its offset noted; removed by close(), or if the process is killed first, by
//   a later evaluation (staleSpills.ts).
// - A part's losses file (`runs --shard I/N --losses FILE`): image-major in stem order, for each image its
//   losses in run 0, run 1, ... (non-ignored pixels in raster order), raw float32 little-endian; size and
//   SHA-256 are recorded in the part so that merge can tell a wrong or damaged file.
// Node only (fs).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { spillPrefix } from './staleSpills';
import { outputTarget } from '../../worker/files/regularFile';

export interface LossSource {
  readonly runs: number;
  /** Non-ignored pixels of each image, in stem order. */
  readonly pixels: readonly number[];
  /** Image i's losses in run r (pixels[i] values) into the start of `into`. */
  read(i: number, r: number, into: Float32Array): void;
}

/**
 * Where each image's losses in each run lie, as plain data (paths, not descriptors) that a worker can open
 * on its own: the loss figures are read there, off the extension host's thread (figuresJob.ts).
 */
export interface LossLayout {
  readonly runs: number;
  readonly pixels: readonly number[];
  readonly files: readonly string[];
  /** Image i in run r: files[fileOf[i * runs + r]] from byte at[i * runs + r]. */
  readonly fileOf: Uint32Array;
  readonly at: Float64Array;
}

function layoutOf(runs: number, pixels: readonly number[], files: readonly string[], place: (i: number, r: number) => readonly [number, number]): LossLayout {
  const fileOf = new Uint32Array(pixels.length * runs);
  const at = new Float64Array(pixels.length * runs);
  for (let i = 0; i < pixels.length; i++) {
    for (let r = 0; r < runs; r++) [fileOf[i * runs + r], at[i * runs + r]] = place(i, r);
  }
  return { runs, pixels: [...pixels], files: [...files], fileOf, at };
}

/** What a part records of its losses file. */
export interface LossFileRef {
  /** The path as written; merge looks beside the part first (see openLossFile). */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

function readFully(fd: number, into: Uint8Array, position: number, what: string): void {
  let done = 0;
  while (done < into.length) {
    const got = fs.readSync(fd, into, done, into.length - done, position + done);
    if (got === 0) throw new LensError('io', `${what}: the file ended early (was it changed while in use?)`);
    done += got;
  }
}

function writeFully(fd: number, from: Uint8Array, position: number | null, what: string): void {
  let done = 0;
  try {
    while (done < from.length) done += fs.writeSync(fd, from, done, from.length - done, position === null ? null : position + done);
  } catch (e) {
    // A full disk (ENOSPC) or a quota: one line, not an internal error.
    const code = (e as NodeJS.ErrnoException).code;
    throw new LensError('io', `${what}: cannot write the losses (${code === 'ENOSPC' ? 'no space left on the device' : code ?? (e as Error).message.split('\n')[0]}; they take 4 bytes per pixel and run)`);
  }
}

const bytesOf = (a: Float32Array, n = a.length): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, n * 4);

/** The largest count (a loop: a spread of 10^5 arguments can overflow the call stack). */
export function largest(counts: readonly number[]): number {
  let m = 0;
  for (const c of counts) if (c > m) m = c;
  return m;
}

/** Losses kept while the runs are evaluated: a temporary folder with one append-only file per run. */
export class LossSpill implements LossSource {
  readonly pixels: number[];
  private readonly dir: string;
  private readonly fds: number[] = [];
  private readonly ends: number[];
  /** offsets[r][i]: byte offset of image i in run r's file (-1: not written yet). */
  private readonly offsets: Float64Array[];

  constructor(readonly runs: number, images: number, parent = os.tmpdir()) {
    this.dir = fs.mkdtempSync(path.join(parent, spillPrefix()));
    try {
      for (let r = 0; r < runs; r++) this.fds.push(fs.openSync(this.fileOf(r), 'w+'));
    } catch (e) {
      this.close();
      throw new LensError('io', `${this.dir}: cannot create the losses spill (${(e as Error).message.split('\n')[0]})`);
    }
    this.pixels = new Array<number>(images).fill(-1);
    this.ends = new Array<number>(runs).fill(0);
    this.offsets = Array.from({ length: runs }, () => new Float64Array(images).fill(-1));
  }

  /** Image i's losses in run r; `what` names the image in the error if its pixel count differs between runs. */
  write(r: number, i: number, losses: Float32Array, what: string): void {
    if (this.pixels[i] === -1) this.pixels[i] = losses.length;
    else if (this.pixels[i] !== losses.length) {
      throw new LensError('value', `${what}: ${losses.length} non-ignored pixels, but ${this.pixels[i]} in another run — was the label changed while the runs were evaluated?`);
    }
    this.offsets[r][i] = this.ends[r];
    writeFully(this.fds[r], bytesOf(losses), this.ends[r], this.dir);
    this.ends[r] += losses.length * 4;
  }

  read(i: number, r: number, into: Float32Array): void {
    readFully(this.fds[r], bytesOf(into, this.pixels[i]), this.offsets[r][i], this.dir);
  }

  /** Writes the part layout (image-major, stem order) to `file`, with its size and hash. */
  writePartFile(file: string): LossFileRef {
    const hash = createHash('sha256');
    let fd: number;
    try {
      fd = fs.openSync(outputTarget(file), 'w');
    } catch (e) {
      throw new LensError('io', `${file}: cannot write the losses file (${e instanceof LensError ? e.message : (e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]})`);
    }
    let bytes = 0;
    try {
      const buf = new Float32Array(Math.max(1, largest(this.pixels)));
      for (let i = 0; i < this.pixels.length; i++) {
        for (let r = 0; r < this.runs; r++) {
          this.read(i, r, buf);
          const b = bytesOf(buf, this.pixels[i]);
          writeFully(fd, b, null, file);
          hash.update(b);
          bytes += b.length;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return { file: path.resolve(file), bytes, sha256: hash.digest('hex') };
  }

  layout(): LossLayout {
    return layoutOf(this.runs, this.pixels, Array.from({ length: this.runs }, (_, r) => this.fileOf(r)), (i, r) => [r, this.offsets[r][i]]);
  }

  private fileOf(r: number): string {
    return path.join(this.dir, `run${r}.f32`);
  }

  close(): void {
    for (const fd of this.fds.splice(0)) fs.closeSync(fd);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One part's losses file, opened and checked against its record: found beside the part file (its base
 * name) or else at the recorded path; the size must be the record's and that of the part's pixels, the
 * SHA-256 the record's.
 */
export function openLossFile(ref: LossFileRef, partFile: string, expectBytes: number): { fd: number; path: string } {
  const beside = path.join(path.dirname(partFile), path.basename(ref.file));
  const found = [beside, ref.file].find((f) => {
    try {
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  });
  if (found === undefined) {
    throw new LensError('io', `${partFile}: its losses file ${path.basename(ref.file)} is neither beside it nor at ${ref.file} — keep each part's losses file (runs --losses) beside the part`);
  }
  if (ref.bytes !== expectBytes) {
    throw new LensError('format', `${partFile}: losses.bytes is ${ref.bytes}, but its images hold ${expectBytes / 4} pixel losses (${expectBytes} bytes)`);
  }
  const fd = fs.openSync(found, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== expectBytes) throw new LensError('format', `${found}: ${size} bytes, but ${partFile} records ${expectBytes} — not this part's losses file`);
    const hash = createHash('sha256');
    const chunk = new Uint8Array(Math.min(size, 8 << 20));
    for (let at = 0; at < size; at += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, size - at));
      readFully(fd, part, at, found);
      hash.update(part);
    }
    if (hash.digest('hex') !== ref.sha256) throw new LensError('format', `${found}: its SHA-256 is not the one ${partFile} records — not this part's losses file, or changed since`);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return { fd, path: found };
}

/** The losses of merged parts: image i of the whole run is image `local` of part `part`. */
export class PartLosses implements LossSource {
  /** Byte offset of each image's block in its part's file. */
  private readonly at: number[];

  constructor(
    readonly runs: number,
    readonly pixels: readonly number[],
    private readonly files: ReadonlyArray<{ fd: number; path: string }>,
    private readonly partOf: readonly number[],
    offsets: readonly number[],
  ) {
    this.at = [...offsets];
  }

  read(i: number, r: number, into: Float32Array): void {
    const f = this.files[this.partOf[i]];
    readFully(f.fd, bytesOf(into, this.pixels[i]), this.at[i] + r * this.pixels[i] * 4, f.path);
  }

  layout(): LossLayout {
    return layoutOf(this.runs, this.pixels, this.files.map((f) => f.path), (i, r) => [this.partOf[i], this.at[i] + r * this.pixels[i] * 4]);
  }

  close(): void {
    closeLossFiles(this.files);
  }
}

/** A layout's files opened for reading (in the worker that computes the figures); close() when done. */
export class LaidOutLosses implements LossSource {
  readonly runs: number;
  readonly pixels: readonly number[];
  private readonly fds: number[] = [];

  constructor(private readonly layout: LossLayout) {
    this.runs = layout.runs;
    this.pixels = layout.pixels;
    try {
      for (const f of layout.files) this.fds.push(fs.openSync(f, 'r'));
    } catch (e) {
      this.close();
      throw new LensError('io', `cannot read the losses kept for the runs (${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]})`);
    }
  }

  read(i: number, r: number, into: Float32Array): void {
    const k = i * this.runs + r;
    const f = this.layout.fileOf[k];
    readFully(this.fds[f], bytesOf(into, this.pixels[i]), this.layout.at[k], this.layout.files[f]);
  }

  close(): void {
    for (const fd of this.fds.splice(0)) fs.closeSync(fd);
  }
}

export function closeLossFiles(files: ReadonlyArray<{ fd: number }>): void {
  for (const f of files) fs.closeSync(f.fd);
}
