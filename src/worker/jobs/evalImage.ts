// Worker job of folder evaluation (src/eval/runEval.ts): one prediction / label pair, read here, computed,
// and reduced to that image's sums (src/eval/accumulate.ts) so that only a few kilobytes go back and no
// per-pixel map outlives the job.
//
// Per pixel it needs the loss, the argmax and the top-class probability. The WebAssembly kernel gives the
// first two; the third comes from the same kernel run a second time with each pixel's argmax as its
// target: the loss of target argmax is logsumexp(x) - max(x) = -log max_c softmax(x)_c. Both runs are the
// float32 kernel that the engine uses (PyTorch's float32 numerics); float64 logits, or no SIMD, go through
// the pure-TS reference kernel (float64 for float64 input) the same two ways.
import * as fs from 'node:fs';
import { fmtShape, LensError, unravelIndex } from '../../errors';
import { MAX_CLASSES, tooManyClassesError } from '../../kernel/classLimits';
import { computeSlice } from '../../kernel/partial';
import { blockedLength, ceAccLength, CE_ACC, ceRowsFor, instantiateCeKernel, warmUpCeKernel, warmUpCeRows, type CeWasmKernel } from '../../kernel/wasm/wasmKernel';
import { accumulateImage, type PixelMaps } from '../../eval/accumulate';
import { THUMBNAIL_MAX, type EvalImageRequest, type EvalOptions, type ImageResult, type LossThumbnail } from '../../eval/types';
import type { Tensor, TensorData } from '../../tensor/tensor';
import { imageThresholdSums } from '../../labels/pairIssues';
import { readMaskTarget } from '../files/maskTarget';
import { closeNpy, isNpyPath, openNpy, type NpyFile } from '../files/npyFile';
import { readTensorFile } from '../files/readTensorFile';

interface Geometry {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  /** Classes on the last axis ([1, H, W, C]). */
  readonly channelsLast: boolean;
}

/** The prediction's [1, C, H, W] (or channels-last) geometry, or a one-line error naming the file. */
export function predictionGeometry(shape: readonly number[], classDim: number, file: string): Geometry {
  const four = shape.length === 3 ? [1, ...shape] : shape;
  if (four.length !== 4 || four[0] !== 1) {
    throw new LensError('shape', `${file}: prediction ${fmtShape(shape)} — expected one sample's logits [C, H, W] or [1, C, H, W]`);
  }
  const d = classDim < 0 ? classDim + 4 : classDim;
  if (d !== 1 && d !== 3) {
    throw new LensError('option', `${file}: --class-dim ${classDim} on ${fmtShape(four)} — classes are axis 1 ([1, C, H, W]) or -1 ([1, H, W, C]); a [C, H, W] file counts as [1, C, H, W]`);
  }
  const g = d === 1 ? { C: four[1], H: four[2], W: four[3], channelsLast: false } : { C: four[3], H: four[1], W: four[2], channelsLast: true };
  // Every image's sums and the report hold per-class arrays of length C, even for an image without pixels.
  if (g.C > MAX_CLASSES) throw tooManyClassesError(g.C, shape).withSource(file);
  // No class for any label to be (the kernel would read logits that are not there).
  if (g.C === 0) throw new LensError('shape', `${file}: prediction ${fmtShape(shape)} has no classes (C = 0) — check how the logits were saved; an image needs at least one class`);
  return g;
}

/** The label's integer values ([H, W] or [1, H, W] matching the prediction), as stored: int32 conversion is the caller's. */
function labelValues(label: Tensor, g: Geometry, labelFile: string, predFile: string, predShape: readonly number[]): TensorData {
  const shape = label.shape.length === 3 && label.shape[0] === 1 ? label.shape.slice(1) : label.shape;
  if (shape.length !== 2 || shape[0] !== g.H || shape[1] !== g.W) {
    throw new LensError('shape', `${labelFile}: label ${fmtShape(label.shape)} does not match prediction ${predFile} ${fmtShape(predShape)} — expected [${g.H}, ${g.W}]`);
  }
  if (label.dtype === 'float16' || label.dtype === 'float32' || label.dtype === 'float64' || label.dtype === 'bool') {
    throw new LensError('dtype', `${labelFile}: label dtype ${label.dtype} — labels are integer class indices (e.g. uint8 PNG, int64 .npy)`);
  }
  return label.data;
}

function badLabel(labelFile: string, t: Int32Array, s: number, g: Geometry, o: EvalOptions, predFile: string): LensError {
  const [y, x] = unravelIndex(s, [g.H, g.W]);
  return new LensError('value', `${labelFile}: label ${t[s]} at [${y}, ${x}] is not a class in [0, ${g.C}) nor the ignore index ${o.ignoreIndex} (prediction ${predFile} has ${g.C} classes)`);
}

// The kernel instance of this worker, on a memory of its own that grows to the largest image seen, and
// the kernel variants already warmed up on it.
let wasm: { path: string; k: CeWasmKernel; memory: WebAssembly.Memory; warm: Set<string> } | null = null;

/**
 * This worker's kernel, with the variants a job of these options and layout runs warmed up first, so that
 * V8 compiles their optimised tier before the first image (a fresh instance starts in the baseline
 * compiler, 3-5x slower). Only those variants: each one warmed is also compiled, in the background, on a
 * machine whose cores the other worker needs.
 */
function kernelFor(path: string, o: EvalOptions, channelsLast: boolean): { k: CeWasmKernel; memory: WebAssembly.Memory } {
  if (wasm === null || wasm.path !== path) {
    const module = new WebAssembly.Module(fs.readFileSync(path));
    // The reserved prefix is the module's constant; pages past it hold the warm-up until the first image.
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 65536, shared: true });
    const k = instantiateCeKernel(module, memory);
    const need = k.reservedBytes + WARM_BYTES - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / 65536));
    wasm = { path, k, memory, warm: new Set() };
  }
  const { k, memory, warm } = wasm;
  const variant = channelsLast ? 'rows' : o.labelSmoothing > 0 ? 'smooth' : 'plain';
  if (!warm.has(variant)) {
    if (channelsLast) warmUpCeRows(k, memory, ['float32']);
    else warmUpEval(k, memory, o.labelSmoothing);
    warm.add(variant);
  }
  if (o.weight !== null && o.labelSmoothing > 0 && !warm.has('weighted')) {
    warmUpCeKernel(k, memory);
    warm.add('weighted');
  }
  return wasm;
}

const WARM_C = 21;
const WARM_S = 256;
const WARM_BYTES = 2 * WARM_C * WARM_S * 4 + 4 * WARM_S * 4 + ceAccLength(WARM_C) * 8;

/** Ten calls of this job's kernel pass (ceIndexF32Top) and of rowsToBlocks on a small problem past the reserved prefix. */
function warmUpEval(k: CeWasmKernel, memory: WebAssembly.Memory, labelSmoothing: number): void {
  const C = WARM_C;
  const S = WARM_S;
  const x = k.reservedBytes;
  const blocks = x + C * S * 4;
  const t = blocks + C * S * 4;
  const loss = t + S * 4;
  const pred = loss + S * 4;
  const top = pred + S * 4;
  const acc = top + S * 4;
  const buf = memory.buffer;
  const xs = new Float32Array(buf, x, C * S);
  for (let i = 0; i < xs.length; i++) xs[i] = ((i * 7919) % 1000) / 100 - 5;
  const ts = new Int32Array(buf, t, S);
  for (let s = 0; s < S; s++) ts[s] = s % 20 === 19 ? -100 : (s * 13) % C;
  // Most pixels confident, as a trained model's are, so the warm-up sees the values real images bring (the
  // two-pass kernel has no separate refinement any more: every pixel takes the same path).
  for (let s = 0; s < S; s++) if (s % 4 !== 3) xs[((s * 13) % C) * S + s] += 12;
  for (let r = 0; r < 10; r++) {
    k.rowsToBlocks(x, S * 4, blocks, C, S, 0, C, 'float32');
    new Float64Array(buf, acc, ceAccLength(C)).fill(0);
    k.ceIndexF32Top(blocks, t, C, S, 0, S, -100, labelSmoothing, loss, pred, top, acc, true);
  }
}

const align = (n: number): number => Math.ceil(n / 64) * 64;

/**
 * Where the logits come from: a decoded tensor, or (the common case, and the fast one) a little-endian,
 * C-order float16 / float32 .npy read straight into the kernel's memory.
 */
type Logits = { readonly kind: 'array'; readonly data: Float32Array } | { readonly kind: 'npy'; readonly file: NpyFile };

/**
 * Block-layout tiles hold about this many bytes of float32 logits (a multiple of 16 pixels): the kernel
 * reads a tile right after it is written, from the caches rather than memory, and a worker's memory holds
 * one tile, not a whole image's float32 logits.
 */
const TILE_BYTES = 512 << 10;

function readExactly(f: NpyFile, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    const got = fs.readSync(f.fd, bytes, done, bytes.length - done, position + done);
    if (got === 0) throw new LensError('io', `${f.path}: the file ended early (was it rewritten while reading?)`);
    done += got;
  }
}

/** The logits as stored ((C, S) or channels-last rows), float16 widened to float32 at xAt through rawAt. */
function fillLogits(src: Logits, k: CeWasmKernel, buf: ArrayBufferLike, xAt: number, rawAt: number, n: number): void {
  if (src.kind === 'array') {
    new Float32Array(buf, xAt, n).set(src.data);
    return;
  }
  const f = src.file;
  const half = f.header.dtype === 'float16';
  readExactly(f, new Uint8Array(buf, half ? rawAt : xAt, n * f.header.itemSize), f.header.dataOffset);
  if (half) k.widenToF32(rawAt, xAt, n, 'float16');
}

function runWasm(
  path: string, src: Logits, labels: TensorData, g: Geometry, o: EvalOptions, labelFile: string, predFile: string,
  withLogits?: (x: Float32Array, target: Int32Array) => void, readRanges = 1,
): { maps: PixelMaps; weighted: { num: number; den: number } | null } {
  const { k, memory } = kernelFor(path, o, g.channelsLast);
  const { C } = g;
  const S = g.H * g.W;
  const weightedPass = o.weight !== null && o.labelSmoothing > 0;
  // A channels-first .npy is read as stored and computed in block-layout tiles, unless label issues need
  // all its logits as float32. The weighted pass's sums are one call's, so that it stays one tile.
  const npy = src.kind === 'npy' ? src.file : null;
  const tiled = npy !== null && !g.channelsLast && withLogits === undefined;
  const tile = !tiled || weightedPass ? S : Math.max(16, Math.floor(TILE_BYTES / (C * 4 * 16)) * 16);
  // Pixels staged at once: the whole image, or (EvalImageRequest.readRanges) whole tiles of a range of it.
  const span = !tiled || weightedPass || readRanges <= 1 ? S : Math.min(S, Math.ceil(S / readRanges / tile) * tile);
  const item = npy?.header.itemSize ?? 4;
  const accBytes = align(ceAccLength(C) * 8);
  const xAt = k.reservedBytes;
  const tAt = xAt + align((tiled ? blockedLength(C, tile) : C * S) * 4);
  const t2At = tAt + align(S * 4);
  const lossAt = t2At + align(S * 4);
  const predAt = lossAt + align(S * 4);
  const topAt = predAt + align(S * 4);
  const accAt = topAt + align(S * 4);
  const wAt = accAt + accBytes;
  const rawAt = wAt + align(C * 4);
  const end = rawAt + (tiled ? align(C * span * item) : npy !== null && npy.header.dtype === 'float16' ? align(C * S * 2) : 0);
  const have = memory.buffer.byteLength;
  if (end > have) memory.grow(Math.ceil((end - have) / 65536));
  const buf = memory.buffer;
  if (!tiled) fillLogits(src, k, buf, xAt, rawAt, C * S);
  // The labels go straight into the kernel's memory (a PNG's uint8, an .npy's integers).
  const target = new Int32Array(buf, tAt, S);
  // (Int32Array's set converts as Int32Array.from does.)
  target.set(labels);
  const acc = new Float64Array(buf, accAt, ceAccLength(C));
  acc.fill(0);
  if (tiled) {
    // Pixels [p0, p0 + m) of every class row staged (all in one read when that is the whole image), then
    // each tile [s0, s0 + n) of them widened into the block layout, where one pass gives their loss, argmax
    // and top-class loss (ceIndexF32Top). A pixel's results do not depend on the split.
    const dtype = npy.header.dtype === 'float16' ? 'float16' : 'float32';
    for (let p0 = 0; p0 < S; p0 += span) {
      const m = Math.min(span, S - p0);
      if (m === S) readExactly(npy, new Uint8Array(buf, rawAt, C * S * item), npy.header.dataOffset);
      else for (let c = 0; c < C; c++) readExactly(npy, new Uint8Array(buf, rawAt + c * m * item, m * item), npy.header.dataOffset + (c * S + p0) * item);
      for (let s0 = 0; s0 < m; s0 += tile) {
        const n = Math.min(tile, m - s0);
        const s = p0 + s0;
        k.rowsToBlocks(rawAt + s0 * item, m * item, xAt, C, n, 0, C, dtype);
        const bad = k.ceIndexF32Top(xAt, tAt + 4 * s, C, n, 0, n, o.ignoreIndex, o.labelSmoothing, lossAt + 4 * s, predAt + 4 * s, topAt + 4 * s, accAt, true);
        if (bad >= 0) throw badLabel(labelFile, target, s + bad, g, o, predFile);
      }
    }
  } else if (!g.channelsLast) {
    const bad = k.ceIndexF32Top(xAt, tAt, C, S, 0, S, o.ignoreIndex, o.labelSmoothing, lossAt, predAt, topAt, accAt, false);
    if (bad >= 0) throw badLabel(labelFile, target, bad, g, o, predFile);
  } else {
    const fn = ceRowsFor(k, 'float32');
    const bad = fn(xAt, tAt, 0, C, S, 0, S, o.ignoreIndex, o.labelSmoothing, lossAt, predAt, accAt, 0);
    if (bad >= 0) throw badLabel(labelFile, target, bad, g, o, predFile);
    // The argmax as target: its loss is -log of the top-class probability. Ignored pixels are skipped (-1
    // is never a class).
    const predicted = new Int32Array(buf, predAt, S);
    const t2 = new Int32Array(buf, t2At, S);
    for (let s = 0; s < S; s++) t2[s] = target[s] === o.ignoreIndex ? -1 : predicted[s];
    acc.fill(0);
    fn(xAt, t2At, 0, C, S, 0, S, -1, 0, topAt, 0, accAt, 0);
  }
  // The labels are valid now (the kernel checked them); the logits are still in place.
  withLogits?.(new Float32Array(buf, xAt, C * S), target);
  let weighted: { num: number; den: number } | null = null;
  if (weightedPass) {
    const fn = g.channelsLast ? ceRowsFor(k, 'float32') : tiled ? k.ceIndexF32Blocked : k.ceIndexF32;
    new Float32Array(buf, wAt, C).set(o.weight!);
    acc.fill(0);
    // Only its sums are needed: its per-pixel losses go to the spare slot, not over the maps returned.
    fn(xAt, tAt, wAt, C, S, 0, S, o.ignoreIndex, o.labelSmoothing, t2At, 0, accAt, 0);
    const eps = o.labelSmoothing;
    weighted = { num: (1 - eps) * acc[CE_ACC.nllSum] + (eps / C) * acc[CE_ACC.smoothSum], den: acc[CE_ACC.denominator] };
  }
  // Views of this worker's own memory: valid until its next image, by which time this one is reduced.
  return {
    maps: { loss: new Float32Array(buf, lossAt, S), predicted: new Int32Array(buf, predAt, S), target, topLoss: new Float32Array(buf, topAt, S) },
    weighted,
  };
}

function runReference(pred: Tensor, target: Int32Array, g: Geometry, o: EvalOptions, labelFile: string, predFile: string): { maps: PixelMaps; weighted: { num: number; den: number } | null } {
  const { C, H, W } = g;
  const input: Tensor = { dtype: pred.dtype, shape: g.channelsLast ? [1, H, W, C] : [1, C, H, W], data: pred.data };
  const classDim = g.channelsLast ? -1 : 1;
  const run = (t: Int32Array, ignoreIndex: number, labelSmoothing: number, weight: Tensor | null): ReturnType<typeof computeSlice> => computeSlice(
    { input, target: { dtype: 'int32', shape: [1, H, W], data: t }, weight, options: { ignoreIndex, labelSmoothing, classDim, reduction: 'none' } },
    0, 1, 0,
  );
  let first;
  try {
    first = run(target, o.ignoreIndex, o.labelSmoothing, null);
  } catch (e) {
    // The reference names the first bad target by its index; say it with the files.
    if (e instanceof LensError && e.kind === 'value') {
      const s = target.findIndex((v) => v !== o.ignoreIndex && !(v >= 0 && v < C));
      if (s >= 0) throw badLabel(labelFile, target, s, g, o, predFile);
    }
    throw e;
  }
  const predicted = first.maps.predicted;
  const t2 = Int32Array.from(target, (v, s) => (v === o.ignoreIndex ? -1 : predicted[s]));
  const second = run(t2, -1, 0, null);
  let weighted: { num: number; den: number } | null = null;
  if (o.weight !== null && o.labelSmoothing > 0) {
    const m = run(target, o.ignoreIndex, o.labelSmoothing, { dtype: 'float64', shape: [C], data: Float64Array.from(o.weight) }).maps;
    const eps = o.labelSmoothing;
    weighted = { num: m.smoothingParts ? (1 - eps) * m.smoothingParts.nllSum + (eps / C) * m.smoothingParts.smoothSum : m.numerator, den: m.denominator };
  }
  return { maps: { loss: first.maps.lossMap, predicted, target, topLoss: second.maps.lossMap }, weighted };
}

/**
 * The loss map mean-pooled onto at most THUMBNAIL_MAX x THUMBNAIL_MAX cells (pixel row y falls in cell
 * row floor(y h / H), columns alike), over non-ignored pixels only: an ignored region stays NaN rather
 * than reading as zero loss.
 */
export function lossThumbnail(loss: ArrayLike<number>, target: ArrayLike<number>, H: number, W: number, ignoreIndex: number, max = THUMBNAIL_MAX): LossThumbnail {
  const h = Math.max(1, Math.min(max, H));
  const w = Math.max(1, Math.min(max, W));
  const sum = new Float64Array(h * w);
  const n = new Float64Array(h * w);
  const colCell = new Int32Array(W);
  for (let x = 0; x < W; x++) colCell[x] = Math.min(w - 1, Math.floor((x * w) / W));
  for (let y = 0; y < H; y++) {
    const row = Math.min(h - 1, Math.floor((y * h) / H)) * w;
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (target[i] === ignoreIndex) continue;
      sum[row + colCell[x]] += loss[i];
      n[row + colCell[x]]++;
    }
  }
  const data = new Float32Array(h * w);
  for (let k = 0; k < data.length; k++) data[k] = n[k] === 0 ? NaN : sum[k] / n[k];
  return { h, w, data };
}

/** The losses of the non-ignored pixels in raster order, as float32 (a float64 map is rounded). */
function keptLosses(maps: PixelMaps, pixels: number, ignoreIndex: number): Float32Array {
  const out = new Float32Array(pixels);
  let k = 0;
  for (let i = 0; i < maps.target.length; i++) if (maps.target[i] !== ignoreIndex) out[k++] = maps.loss[i];
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A .npy the kernel can read as stored: float16 / float32, C order, native (little-endian) bytes. */
function directNpy(path: string): NpyFile | null {
  if (!isNpyPath(path)) return null;
  const f = openNpy(path);
  const h = f.header;
  if ((h.dtype === 'float16' || h.dtype === 'float32') && !h.fortranOrder && (h.littleEndian === LITTLE_ENDIAN || h.itemSize === 1)) return f;
  closeNpy(f);
  return null;
}

export function evalImage(job: EvalImageRequest): ImageResult {
  const { pair, options } = job;
  const direct = job.wasmPath !== null ? directNpy(pair.prediction) : null;
  try {
    const pred: Tensor | null = direct === null ? readTensorFile(pair.prediction, 'input') : null;
    const dtype = direct?.header.dtype ?? pred!.dtype;
    const shape = direct?.header.shape ?? pred!.shape;
    if (dtype !== 'float16' && dtype !== 'float32' && dtype !== 'float64') {
      throw new LensError('dtype', `${pair.prediction}: prediction dtype ${dtype} — expected floating logits (float16, float32 or float64)`);
    }
    const g = predictionGeometry(shape, options.classDim, pair.prediction);
    if (options.weight !== null && options.weight.length !== g.C) {
      throw new LensError('option', `--weight has ${options.weight.length} entries, but ${pair.prediction} ${fmtShape(shape)} has ${g.C} classes`);
    }
    const labels = labelValues(readMaskTarget(pair.label), g, pair.label, pair.prediction, shape);
    // eval --label-issues: pass 1 on these very logits (float16 widened exactly either way), not a second read.
    let labelSums: ImageResult['labelSums'];
    const sumsOf = (x: ArrayLike<number>, target: Int32Array): void => {
      const input: Tensor = { dtype: x instanceof Float64Array ? 'float64' : 'float32', shape: g.channelsLast ? [1, g.H, g.W, g.C] : [1, g.C, g.H, g.W], data: x as Float32Array | Float64Array };
      labelSums = imageThresholdSums(input, { dtype: 'int32', shape: [1, g.H, g.W], data: target }, { classDim: g.channelsLast ? -1 : 1, ignoreIndex: options.ignoreIndex, inputKind: 'logits' });
    };
    const withLogits = job.labelSums === true ? sumsOf : undefined;
    // float16 data arrive widened to float32 (exactly); float64 keeps its precision in the reference kernel.
    const r = direct !== null
      ? runWasm(job.wasmPath!, { kind: 'npy', file: direct }, labels, g, options, pair.label, pair.prediction, withLogits, job.readRanges)
      : job.wasmPath !== null && pred!.data instanceof Float32Array
        ? runWasm(job.wasmPath, { kind: 'array', data: pred!.data }, labels, g, options, pair.label, pair.prediction, withLogits)
        : runReference(pred!, labels instanceof Int32Array ? labels : Int32Array.from(labels), g, options, pair.label, pair.prediction);
    if (withLogits && labelSums === undefined) withLogits(pred!.data as ArrayLike<number>, r.maps.target);
    const result = accumulateImage(pair.stem, r.maps, g.C, g.H, g.W, options, r.weighted);
    const thumbnail = lossThumbnail(r.maps.loss, r.maps.target, g.H, g.W, options.ignoreIndex);
    const extra = { ...(job.keepLosses === true ? { losses: keptLosses(r.maps, result.record.pixels, options.ignoreIndex) } : {}), ...(labelSums ? { labelSums } : {}) };
    return { ...result, thumbnail, ...extra };
  } finally {
    if (direct !== null) closeNpy(direct);
  }
}
