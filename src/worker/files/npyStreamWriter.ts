// Writes a float32 .npy in pieces (header first), to a temporary name renamed into place at the end: the
// loss map of a streamed input is written block by block, as it is computed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../../errors';
import { encodeNpyHeader } from '../../tensor/binary/npy';
import { numel } from '../../tensor/tensor';
import { describeFsError } from './readTensorFile';
import { outputTarget } from './regularFile';

/** Writes a float32 .npy in pieces (header first), to a temporary name renamed into place at the end. */
export class NpyStreamWriter {
  /** The file written: `file`, or the file a symbolic link there names. */
  private readonly target: string;
  private readonly tmp: string;
  private readonly fd: number;
  private written = 0;
  private readonly total: number;
  constructor(
    private readonly file: string,
    shape: readonly number[],
    fortranOrder = false,
  ) {
    this.total = numel(shape);
    const header = encodeNpyHeader('float32', shape, { fortranOrder });
    try {
      this.target = outputTarget(file);
      this.tmp = path.join(path.dirname(this.target), `.${path.basename(this.target)}.${process.pid}.tmp`);
      this.fd = fs.openSync(this.tmp, 'w');
      fs.writeSync(this.fd, header);
    } catch (e) {
      throw new LensError('io', `${file}: cannot write the loss map: ${e instanceof LensError ? e.message : describeFsError(e)}`);
    }
  }
  append(data: Float32Array): void {
    fs.writeSync(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.written += data.length;
  }
  finish(): void {
    fs.closeSync(this.fd);
    if (this.written !== this.total) throw new LensError('io', `${this.file}: wrote ${this.written} of ${this.total} values`);
    try {
      fs.renameSync(this.tmp, this.target);
    } catch (e) {
      throw new LensError('io', `${this.file}: cannot write the loss map: ${describeFsError(e)}`);
    }
  }
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

