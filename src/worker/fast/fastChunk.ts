// The fast path inside a worker: the WebAssembly SIMD kernel on a pixel range of one sample, all in one
// shared wasm memory. Counts and float sums come back as a StatsPartial; the confusion matrix accumulates
// in this worker's own region of the memory (integer counts: exact in any order) and is read at the end.
import { countPairs } from '../../kernel/confusion';
import { pushWorst, scalarPartial, type StatsPartial, emptyPartial } from '../../kernel/stats';
import { ceAccLength, ceRowsFor, instantiateCeKernel, warmUpCeKernel, warmUpCeRows, type CeWasmKernel } from '../../kernel/wasm/wasmKernel';
import type { FastChunkJob, FastRelayoutJob, WorkerResponse } from '../../protocol';
import { applyFocal, type FocalChunkSums, type FocalRange } from './focalChunk';
import { focalScalarsAt } from './memoryLayout';

let kernel: { generation: number; k: CeWasmKernel; memory: WebAssembly.Memory } | null = null;

export function initWasm(module: WebAssembly.Module, memory: WebAssembly.Memory, generation: number): void {
  const k = instantiateCeKernel(module, memory);
  // A fresh instance runs baseline-compiled code at first; a short warm-up moves the module's functions to
  // optimized code (tiering is per module, shared by its instances in this thread). It runs on an instance
  // over a small memory of this worker's own: in the shared working memory, workers starting together
  // overwrote each other's warm-up data there (one's logits landing on another's targets) while their
  // kernels ran, which could end a first request with "memory access out of bounds".
  const own = new WebAssembly.Memory({ initial: Math.ceil(k.reservedBytes / 65536) + 1, maximum: 65536, shared: true });
  const warm = instantiateCeKernel(module, own);
  warmUpCeKernel(warm, own);
  warmUpCeRows(warm, own, ['float32', 'float16']);
  kernel = { generation, k, memory };
}

/** This worker's kernel instance, which must have been initialised with the request's memory. */
function kernelFor(generation: number): NonNullable<typeof kernel> {
  if (!kernel || kernel.generation !== generation) throw new Error('wasm kernel not initialised for this request');
  return kernel;
}

export function runFastRelayout(job: FastRelayoutJob & { generation: number }): WorkerResponse {
  kernelFor(job.generation).k.toBlocks(job.src, job.dst, job.C, job.S, job.samples, job.c0, job.c1);
  return { kind: 'done', id: job.id, stats: emptyPartial(0, false) };
}

export function runFastChunk(job: FastChunkJob & { generation: number }): WorkerResponse {
  const inst = kernelFor(job.generation);
  const { C, S, s0, s1 } = job;
  const buf = inst.memory.buffer;
  if (job.rowKernel) {
    // `samples` rows of C logits: one call over all of them (the kernel checks every target first).
    const rows = job.samples;
    const bad = ceRowsFor(inst.k, job.xDtype)(job.x, job.t, job.w, C, rows, 0, rows, job.ignoreIndex, job.labelSmoothing, job.outLoss, job.outPred, job.acc, job.confusion);
    if (bad >= 0) return { kind: 'bad-target', id: job.id, flat: job.flatBase + bad, value: new Int32Array(buf, job.t, rows)[bad] };
  } else {
    const ce = job.blocked ? inst.k.ceIndexF32Blocked : inst.k.ceIndexF32;
    // The kernel adds to acc and to the confusion counts, so one StatsPartial covers every sample.
    for (let n = 0; n < job.samples; n++) {
      const bad = ce(job.x + n * job.xSample, job.t + n * S * 4, job.w, C, S, s0, s1, job.ignoreIndex, job.labelSmoothing, job.outLoss + n * S * 4, job.outPred + n * S * 4, job.acc, job.confusion);
      if (bad >= 0) return { kind: 'bad-target', id: job.id, flat: job.flatBase + n * S + bad, value: new Int32Array(buf, job.t + n * S * 4, S)[bad] };
    }
  }
  const acc = new Float64Array(buf, job.acc, ceAccLength(C));
  const focal = job.focal ? focalPass(job, inst.k, buf) : null;
  // The per-class sums stay in this job's accumulators in the shared memory, where the host reads them
  // in job order (fastRun.ts): the partial carries the scalars, the worst elements and, with pairs (large
  // C), the pair map; the true positives go after the kernel's accumulators (memoryLayout.jobAccLength).
  const s: StatsPartial = focal ? { ...scalarPartial(C, job.pairs), ceSum: focal.ceSum } : scalarPartial(C, job.pairs);
  if (job.pairs) {
    const tp = new Float64Array(buf, job.acc + ceAccLength(C) * 8, C);
    if (job.rowKernel) {
      countPairs(new Int32Array(buf, job.t, job.samples), new Int32Array(buf, job.outPred, job.samples), 0, job.samples, C, job.ignoreIndex, tp, s.pairs!);
    } else {
      for (let n = 0; n < job.samples; n++) {
        const t = new Int32Array(buf, job.t + n * S * 4, S);
        const p = new Int32Array(buf, job.outPred + n * S * 4, S);
        countPairs(t, p, s0, s1, C, job.ignoreIndex, tp, s.pairs!);
      }
    }
  }
  s.numerator = acc[0];
  s.denominator = acc[1];
  s.nllSum = acc[2];
  s.smoothSum = acc[3];
  s.ignored = acc[4];
  s.nan = acc[5];
  s.inf = acc[6];
  if (focal) {
    s.numerator = focal.numerator;
    s.ceNumerator = focal.ceNumerator;
    s.ceDenominator = focal.ceDenominator;
    s.nan = focal.nan;
    s.inf = focal.inf;
  }
  if (job.topK > 0) {
    const ignore = job.ignoreIndex;
    const worst = s.worst;
    const k = job.topK;
    // Only losses at least as bad as the current k-th (or NaN) can enter the list: the kernel finds them.
    let floor = -Infinity;
    // Whole samples are contiguous: one pass over all of them; a pixel range is one sample's part.
    const whole = s0 === 0 && s1 === S;
    const runs = whole ? 1 : job.samples;
    const from = whole ? 0 : s0;
    const end = whole ? job.samples * S : s1;
    for (let n = 0; n < runs; n++) {
      const lossAt = job.outLoss + n * S * 4;
      const tAt = job.t + n * S * 4;
      const loss = new Float32Array(buf, lossAt, end);
      const pred = new Int32Array(buf, job.outPred + n * S * 4, end);
      const t = new Int32Array(buf, tAt, end);
      const base = job.flatBase + n * S;
      for (let i = inst.k.nextCandidate(lossAt, tAt, from, end, ignore, floor); i < end; i = inst.k.nextCandidate(lossAt, tAt, i + 1, end, ignore, floor)) {
        pushWorst(worst, { flat: base + i, loss: loss[i], target: t[i], predicted: pred[i] }, k);
        if (worst.length === k) {
          const last = worst[k - 1].loss;
          floor = last === last ? last : Infinity;
        }
      }
    }
  }
  return { kind: 'done', id: job.id, stats: s };
}

/** Softmax focal: the kernel's cross-entropy in the job's ranges becomes focal loss (src/worker/fast/focalChunk.ts). */
function focalPass(job: FastChunkJob, k: CeWasmKernel, buf: ArrayBufferLike): FocalChunkSums {
  const { C, S, s0, s1 } = job;
  const ranges: FocalRange[] = [];
  if (job.rowKernel) {
    ranges.push({ loss: job.outLoss, t: job.t, n: job.samples });
  } else {
    for (let n = 0; n < job.samples; n++) ranges.push({ loss: job.outLoss + (n * S + s0) * 4, t: job.t + (n * S + s0) * 4, n: s1 - s0 });
  }
  const { alphaAt, gamma } = job.focal!;
  return applyFocal(k, buf, ranges, { C, ignoreIndex: job.ignoreIndex, alphaAt, gamma, acc: job.acc, scalars: focalScalarsAt(job.acc, C, job.pairs) });
}
