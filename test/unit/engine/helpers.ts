// Shared helpers for the engine tests: deterministic random tensors and sparse .npy files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeNpy, encodeNpyHeader } from '../../../src/tensor/binary/npy';
import type { DType, Tensor } from '../../../src/tensor/tensor';

export const ROOT = path.resolve(__dirname, '../../..');
export const DIST = path.join(ROOT, 'dist');

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export function randomLogits(shape: number[], seed: number, scale = 6): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() - 0.5) * scale;
  return { dtype: 'float32', shape, data };
}

export function randomTargets(shape: number[], C: number, seed: number, ignore = 255, ignoreRate = 0.05, dtype: DType = 'int64'): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = r() < ignoreRate ? ignore : Math.floor(r() * C);
  return { dtype, shape, data };
}

export function writeNpy(file: string, t: Tensor): void {
  fs.writeFileSync(file, encodeNpy(t));
}

/** A .npy of zeros of any size, created instantly as a sparse file. */
export function sparseNpy(file: string, dtype: DType, shape: number[], itemSize: number, fortranOrder = false): void {
  const header = encodeNpyHeader(dtype, shape, { fortranOrder });
  fs.writeFileSync(file, header);
  fs.truncateSync(file, header.length + shape.reduce((a, b) => a * b, 1) * itemSize);
}

/**
 * How many of this process's descriptors are open on `file` (Linux: /proc/self/fd), or null where the
 * platform does not list them (the caller skips its check there).
 */
export function openDescriptorsOn(file: string): number | null {
  if (process.platform !== 'linux') return null;
  const real = fs.realpathSync(file);
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === real) n++;
    } catch {
      // The directory's own descriptor, closed once listed.
    }
  }
  return n;
}

/**
 * The longest stretch (ms) this thread's event loop was held while `work` ran, ticking every 2 ms: what a
 * computation left on the extension host's thread would block there.
 */
export async function longestHold<T>(work: () => Promise<T>): Promise<{ value: T; heldMs: number }> {
  let last = performance.now();
  let held = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    held = Math.max(held, now - last);
    last = now;
  }, 2);
  try {
    const value = await work();
    return { value, heldMs: Math.max(held, performance.now() - last) };
  } finally {
    clearInterval(timer);
  }
}
