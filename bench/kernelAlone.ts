// The pixel kernel alone for npm run bench: one thread, no engine around it (no jobs, no maps copied out,
// no statistics assembled), over the bench's logits in the 16-pixel block layout the engine keeps file
// inputs in, with argmax, per-class sums and the confusion matrix as the engine asks for them. Beside the
// engine's time and the arithmetic anchor it says where the rest of the time goes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blockedLength, ceAccLength, instantiateCeKernel } from '../src/kernel/wasm/wasmKernel';

/** Best time in seconds of `reps` passes over x (float32 [N, C, S]) and t (int32 [N, S]). */
export function measureKernelAlone(distDir: string, x: Float32Array, t: Int32Array, N: number, C: number, S: number, ignoreIndex: number, reps: number): number {
  const align = (n: number): number => Math.ceil(n / 128) * 128;
  const reserve = 1 << 16;
  const per = blockedLength(C, S) * 4;
  const xOff = reserve;
  const tOff = align(xOff + N * per);
  const lossOff = align(tOff + N * S * 4);
  const predOff = align(lossOff + N * S * 4);
  const accOff = align(predOff + N * S * 4);
  const confOff = align(accOff + ceAccLength(C) * 8);
  const stage = align(confOff + C * C * 8);
  const pages = Math.ceil((stage + C * S * 4) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const k = instantiateCeKernel(new WebAssembly.Module(fs.readFileSync(path.join(distDir, 'ce.wasm'))), memory);
  if (k.reservedBytes > reserve) throw new Error(`the kernel reserves ${k.reservedBytes} bytes`);
  const buf = memory.buffer;
  for (let n = 0; n < N; n++) {
    new Float32Array(buf, stage, C * S).set(x.subarray(n * C * S, (n + 1) * C * S));
    k.toBlocks(stage, xOff + n * per, C, S, 1, 0, C);
  }
  new Int32Array(buf, tOff, N * S).set(t);
  const acc = new Float64Array(buf, accOff, ceAccLength(C));
  const conf = new Float64Array(buf, confOff, C * C);
  const pass = (): void => {
    acc.fill(0);
    conf.fill(0);
    for (let n = 0; n < N; n++) {
      const bad = k.ceIndexF32Blocked(xOff + n * per, tOff + n * S * 4, 0, C, S, 0, S, ignoreIndex, 0, lossOff + n * S * 4, predOff + n * S * 4, accOff, confOff);
      if (bad !== -1) throw new Error(`bad target at ${bad}`);
    }
  };
  pass(); // compiles the optimised tier, touches every page
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    pass();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}
