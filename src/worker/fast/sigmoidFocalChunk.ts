// torchvision's sigmoid focal loss inside a worker: the SIMD kernel (dist/focal.wasm) over one range of
// elements in the shared wasm memory, its maps left there (in reused pages: the host copies out only what
// it keeps), and the range's statistics as a StatsPartial.
import * as fs from 'node:fs';
import { SF_PER_CLASS, SF_SCALARS, sigmoidFocalAccLength, instantiateSigmoidFocal, type SigmoidFocalKernel } from '../../kernel/wasm/focalKernel';
import { emptyPartial, pushWorst, type StatsPartial } from '../../kernel/stats';
import type { SigmoidFocalJob } from '../../protocol';

let compiled: { path: string; module: WebAssembly.Module } | null = null;
let instance: { memory: WebAssembly.Memory; k: SigmoidFocalKernel } | null = null;

function kernelFor(wasmPath: string, memory: WebAssembly.Memory): SigmoidFocalKernel {
  if (!compiled || compiled.path !== wasmPath) {
    compiled = { path: wasmPath, module: new WebAssembly.Module(fs.readFileSync(wasmPath)) };
    instance = null;
  }
  if (!instance || instance.memory !== memory) instance = { memory, k: instantiateSigmoidFocal(compiled.module, memory) };
  return instance.k;
}

export function runSigmoidFocalChunk(job: SigmoidFocalJob, memory: WebAssembly.Memory): StatsPartial {
  const k = kernelFor(job.wasmPath, memory);
  const { n, e0, C } = job;
  const buf = memory.buffer;
  k.setSigmoidFocal(job.gamma, job.alpha);
  k.sigmoidFocalF32(job.x, job.t, job.loss, job.pred, job.tc, n, e0, job.inner, C, job.acc);
  const loss = new Float32Array(buf, job.loss, n);
  const pred = new Uint8Array(buf, job.pred, n);
  const tc = new Uint8Array(buf, job.tc, n);
  const acc = new Float64Array(buf, job.acc, sigmoidFocalAccLength(C));
  const s = emptyPartial(C, false);
  s.numerator = acc[0];
  s.denominator = n;
  s.nan = acc[1];
  s.inf = acc[2];
  for (let c = 0; c < s.count.length; c++) {
    const o = SF_SCALARS + SF_PER_CLASS * c;
    s.lossSum[c] = acc[o];
    s.count[c] = acc[o + 1];
    s.predicted[c] = acc[o + 2];
    s.positives[c] = acc[o + 3];
    s.correct[c] = acc[o + 4];
    s.tp[c] = acc[o + 5];
  }
  if (job.topK > 0) {
    // Only losses at least as bad as the current k-th (or NaN) can enter the list: the kernel finds them.
    const K = job.topK;
    let floor = -Infinity;
    for (let i = k.nextWorst(job.loss, 0, n, floor); i < n; i = k.nextWorst(job.loss, i + 1, n, floor)) {
      pushWorst(s.worst, { flat: e0 + i, loss: loss[i], target: tc[i], predicted: pred[i] }, K);
      if (s.worst.length === K) {
        const last = s.worst[K - 1].loss;
        floor = last === last ? last : Infinity;
      }
    }
  }
  return s;
}
