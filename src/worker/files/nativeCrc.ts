// Node's CRC-32 for the pure zip and PNG readers (src/tensor/binary/crc32.ts), which cannot import Node.
import * as zlib from 'node:zlib';
import { useNativeCrc32 } from '../../tensor/binary/crc32';

/** Called once by each Node entry point (extension host, worker, CLI). zlib.crc32 is Node 20.15 and later. */
export function installNativeCrc32(): void {
  const fn = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (typeof fn === 'function') useNativeCrc32((bytes, crc) => fn(bytes, crc));
}
