// The general path: everything the SIMD kernel does not take (probability targets, float64, probs/log-probs,
// channels-last, bce, focal, sigmoid-focal) runs the pure-TS reference kernel on slices of samples over
// SharedArrayBuffers.
// A C-order .npy input larger than the in-memory budget streams: it is read a block of samples at a time;
// each block is split over samples like a whole input, and only statistics and the loss file are kept.
import { LensError } from '../../errors';
import { ceValueOf, reducedValue } from '../../kernel/index';
import { sliceAxis0, splittableSamples, weightPerSample } from '../../kernel/partial';
import { classWeights, emptyPartial, finalizeStats, isElementwise, mergeInto, type StatsPartial } from '../../kernel/stats';
import type { LossOptions } from '../../kernel/types';
import { buildProblem, shapeOnly, targetRangeError } from '../../kernel/validate';
import type { GeneralJob, IndexArray, SharedTensorRef, WorkerRequest } from '../../protocol';
import { decodeRawData } from '../../tensor/binary/npy';
import { numel, shownDType, type Tensor, type TensorData } from '../../tensor/tensor';
import type { ComputeControls, EngineOptions, EngineRequest, EngineResult } from './engineTypes';
import { closeNpy, isNpyPath, openNpy, readRaw, type NpyFile } from '../files/npyFile';
import { NpyStreamWriter } from '../files/npyStreamWriter';
import type { WorkerPool } from './pool';
import { cancelled, Progress, runJobs } from './schedule';
import { allocShared, share, viewOf } from './shared';
import { describe, loadWhole, meta, type Loadable } from './sources';

/** Elements per general job. */
const GENERAL_JOB_ELEMENTS = 1 << 21;
/** Samples of the general path read per block (the decoded block is at most about this many bytes). */
const GENERAL_BLOCK_BYTES = 64 << 20;

/** Everything a general request runs with, from the engine. */
export interface GeneralContext {
  readonly req: EngineRequest;
  readonly options: LossOptions;
  readonly ctl: ComputeControls;
  readonly opts: EngineOptions;
  readonly maxWorkers: number;
  readonly getPool: () => WorkerPool;
}

export async function runGeneral(cx: GeneralContext): Promise<EngineResult> {
  const { req, options, ctl } = cx;
  const stream = planGeneralStream(req, cx.opts);
  if (stream) {
    try {
      return await runGeneralStreamed(cx, stream);
    } finally {
      closeNpy(stream.input);
      if (stream.target.kind === 'file') closeNpy(stream.target.file);
    }
  }
  const input = loadWhole(req.input, 'input');
  const target = loadWhole(req.target, 'target');
  const weight = req.weight ? loadWhole(req.weight, 'weight') : null;
  const posWeight = req.posWeight ? loadWhole(req.posWeight, 'weight') : null;
  if (ctl.signal?.aborted) throw cancelled();
  const pool = cx.getPool();
  const topK = req.topK ?? 10;
  const base = {
    input: share(input), target: share(target), weight: weight ? share(weight) : null, posWeight: posWeight ? share(posWeight) : null, options, topK,
  };
  // Shapes come from a header-only problem build; the full checks run in a worker.
  const problem = buildProblem({ input: shapeOnly(input), target: shapeOnly(target), weight, posWeight }, options);
  const M = numel(problem.lossShape);
  const outs = generalOutputs(problem.lossShape, isElementwise(problem));
  const job: GeneralJobBase = { ...base, ...outs };
  await runJobs(pool, [() => ({ kind: 'validate', id: 0, job })], undefined, ctl.signal, () => undefined, () => null, true);

  const N = splittableSamples({ input, target, weight, posWeight, options });
  const perSample = N > 1 ? numel(input.shape) / N : numel(input.shape);
  const samplesPerJob = N > 1 ? Math.max(1, Math.floor(GENERAL_JOB_ELEMENTS / Math.max(1, perSample))) : 1;
  const { jobs, sizes } = generalJobs(job, N, samplesPerJob);
  const progress = new Progress(ctl.onProgress, N);
  let partials: StatsPartial[];
  try {
    partials = await runJobs(pool, jobs, undefined, ctl.signal, (i) => progress.add(sizes[i]), () => null, true);
  } finally {
    progress.stop();
  }
  const C = problem.C;
  const merged = emptyPartial(C, !isElementwise(problem), problem.loss === 'focal', M);
  for (const p of partials) mergeInto(merged, p, topK);
  const stats = finalizeStats(merged, problem.lossShape, classWeights(problem), M);
  const value = reducedValue(options, C, problem.targetKind, merged);
  const ceValue = ceValueOf(options, merged);
  const maps = {
    loss: viewOf(outs.outLoss).data as Float64Array,
    predicted: viewOf(outs.outPred).data as IndexArray,
    targetClass: viewOf(outs.outTargetClass).data as IndexArray,
    ignored: viewOf(outs.outIgnored).data as Uint8Array,
  };
  if (req.outFile) {
    const w = new NpyStreamWriter(req.outFile, problem.lossShape);
    try {
      w.append(Float32Array.from(maps.loss));
      w.finish();
    } catch (e) {
      w.abort();
      throw e;
    }
  }
  return {
    options, value, lossShape: problem.lossShape, numerator: merged.numerator, denominator: merged.denominator,
    targetKind: problem.targetKind, stats, maps,
    input: { shape: input.shape, dtype: shownDType(input) }, target: { shape: target.shape, dtype: shownDType(target) },
    engine: 'typescript', workers: Math.min(cx.maxWorkers, pool.started), streamed: false, reusedInput: false,
    ...(ceValue === undefined ? {} : { ceValue }),
  };
}

// -----------------------------------------------------------------------------------------------------
// Streamed

interface GeneralStream {
  readonly input: NpyFile;
  readonly target: Loadable;
}

function planGeneralStream(req: EngineRequest, opts: EngineOptions): GeneralStream | null {
  if (req.input.kind !== 'file' || !isNpyPath(req.input.path)) return null;
  const input = openNpy(req.input.path, req.input.pin);
  const h = input.header;
  const fortran = h.fortranOrder && h.shape.length > 1;
  if (fortran || numel(h.shape) * h.itemSize <= (opts.inMemoryBytes ?? 1 << 30) || h.shape.length < 2) {
    closeNpy(input);
    return null;
  }
  try {
    const t = describe(req.target);
    if (t.kind === 'header-free') throw new LensError('io', `${req.input.path} streams from disk; its target must be a .npy file too`);
    if (meta(t).fortran) {
      if (t.kind === 'file') closeNpy(t.file);
      throw new LensError('io', `${req.input.path} streams in C order; its target is in Fortran order — save both the same way (np.ascontiguousarray)`);
    }
    return { input, target: t };
  } catch (e) {
    closeNpy(input);
    throw e;
  }
}

async function runGeneralStreamed(cx: GeneralContext, st: GeneralStream): Promise<EngineResult> {
  const { req, options, ctl } = cx;
  const h = st.input.header;
  const tm = meta(st.target);
  const weight = req.weight ? loadWhole(req.weight, 'weight') : null;
  const posWeight = req.posWeight ? loadWhole(req.posWeight, 'weight') : null;
  const inShape = h.shape;
  const headerInput = shapeOnly({ dtype: h.dtype, shape: inShape });
  const headerTarget = shapeOnly(tm);
  // Shape, dtype and option checks on headers: the same messages as a whole input.
  const problem = buildProblem({ input: headerInput, target: headerTarget, weight, posWeight }, options);
  const N = splittableSamples({ input: headerInput, target: headerTarget, weight, posWeight, options });
  if (N <= 1) {
    throw new LensError('io', `${st.input.path}: ${(numel(inShape) * h.itemSize / 2 ** 30).toFixed(1)} GiB streams only when it splits over its first axis (batch first, classes elsewhere), which this problem does not`);
  }
  const perIn = numel(inShape.slice(1));
  const perT = numel(tm.shape.slice(1));
  const perLoss = numel(problem.lossShape.slice(1));
  const blockSamples = Math.max(1, Math.floor((cx.opts.blockBytes ?? GENERAL_BLOCK_BYTES) / (Math.max(1, perIn) * 8)));
  const samplesPerJob = Math.max(1, Math.floor(GENERAL_JOB_ELEMENTS / Math.max(1, perIn)));
  const topK = req.topK ?? 10;
  const pool = cx.getPool();
  const shared = { weight: weight ? share(weight) : null, posWeight: posWeight ? share(posWeight) : null };
  const C = problem.C;
  const merged = emptyPartial(C, !isElementwise(problem), problem.loss === 'focal', numel(problem.lossShape));
  const out = req.outFile ? new NpyStreamWriter(req.outFile, problem.lossShape) : null;
  const progress = new Progress(ctl.onProgress, N);
  const checkRange = (problem.loss === 'ce' || problem.loss === 'focal') && problem.targetKind === 'index';
  try {
    for (let b0 = 0; b0 < N; b0 += blockSamples) {
      if (ctl.signal?.aborted) throw cancelled();
      const nb = Math.min(blockSamples, N - b0);
      const x = decodeRawData(await readRaw(st.input, b0 * perIn, nb * perIn), { ...h, shape: [nb, ...inShape.slice(1)], fortranOrder: false });
      let y: Tensor;
      if (st.target.kind === 'file') {
        const th = st.target.file.header;
        y = decodeRawData(await readRaw(st.target.file, b0 * perT, nb * perT), { ...th, shape: [nb, ...tm.shape.slice(1)], fortranOrder: false });
      } else {
        const tt = st.target.tensor;
        y = { dtype: tt.dtype, shape: [nb, ...tt.shape.slice(1)], data: tt.data.subarray(b0 * perT, (b0 + nb) * perT) as TensorData };
      }
      // Class indices are checked here, with their index in the whole target: a block's own check would
      // name an index within the block.
      if (checkRange) {
        const d = y.data;
        for (let i = 0; i < d.length; i++) {
          const v = Number(d[i]);
          if (v !== options.ignoreIndex && (v < 0 || v >= C)) throw targetRangeError(v, b0 * perT + i, tm.shape, C, options.ignoreIndex);
        }
      }
      const lossShape = [nb, ...problem.lossShape.slice(1)];
      const outs = generalOutputs(lossShape, isElementwise(problem));
      // bce weights that vary along axis 0 go with their block of samples.
      const cut = (w: Tensor | null, whole: SharedTensorRef | null): SharedTensorRef | null =>
        isElementwise(problem) && weightPerSample(w, inShape.length) ? share(sliceAxis0(w, b0, b0 + nb)) : whole;
      const job: GeneralJobBase = { input: share(x), target: share(y), weight: cut(weight, shared.weight), posWeight: cut(posWeight, shared.posWeight), options, topK, ...outs };
      const { jobs, sizes } = generalJobs(job, nb, samplesPerJob);
      const partials = await runJobs(pool, jobs, undefined, ctl.signal, (i) => progress.add(sizes[i]), () => null, true);
      for (const p of partials) {
        // Worst elements were found within the block: place them in the whole loss map.
        p.worst = p.worst.map((w) => ({ ...w, flat: w.flat + b0 * perLoss }));
        mergeInto(merged, p, topK);
      }
      out?.append(Float32Array.from(viewOf(outs.outLoss).data as Float64Array));
    }
    out?.finish();
  } catch (e) {
    out?.abort();
    throw e;
  } finally {
    progress.stop();
  }
  const stats = finalizeStats(merged, problem.lossShape, classWeights(problem), numel(problem.lossShape));
  const ceValue = ceValueOf(options, merged);
  return {
    options, value: reducedValue(options, C, problem.targetKind, merged), lossShape: problem.lossShape,
    numerator: merged.numerator, denominator: merged.denominator, targetKind: problem.targetKind, stats, maps: null,
    input: { shape: inShape, dtype: h.dtype }, target: { shape: tm.shape, dtype: tm.dtype },
    engine: 'typescript', workers: Math.min(cx.maxWorkers, pool.started), streamed: true, reusedInput: false,
    ...(ceValue === undefined ? {} : { ceValue }),
  };
}

// -----------------------------------------------------------------------------------------------------
// Shared pieces of the whole and the streamed run

type GeneralJobBase = Omit<GeneralJob, 'kind' | 'id' | 'n0' | 'n1'>;

/**
 * Shared output maps for a loss map of this shape (each job writes its own samples). An elementwise loss
 * (bce, sigmoid focal) predicts and targets 0 or 1 per element: a byte each, as on the SIMD path.
 */
function generalOutputs(lossShape: readonly number[], elementwise: boolean): Pick<GeneralJob, 'outLoss' | 'outPred' | 'outTargetClass' | 'outIgnored'> {
  const [dtype, storage] = elementwise ? (['uint8', 'u8'] as const) : (['int32', 'i32'] as const);
  return {
    outLoss: allocShared('float64', lossShape, 'f64'),
    outPred: allocShared(dtype, lossShape, storage),
    outTargetClass: allocShared(dtype, lossShape, storage),
    outIgnored: allocShared('uint8', lossShape, 'u8'),
  };
}

/** Jobs over samples [0, N), `samplesPerJob` each, and each job's sample count (for progress). */
function generalJobs(job: GeneralJobBase, N: number, samplesPerJob: number): { jobs: Array<() => WorkerRequest>; sizes: number[] } {
  const jobs: Array<() => WorkerRequest> = [];
  const sizes: number[] = [];
  for (let n0 = 0, id = 0; n0 < N; n0 += samplesPerJob, id++) {
    const n1 = Math.min(N, n0 + samplesPerJob);
    jobs.push(() => ({ kind: 'general', id, ...job, n0, n1 }));
    sizes.push(n1 - n0);
  }
  return { jobs, sizes };
}
