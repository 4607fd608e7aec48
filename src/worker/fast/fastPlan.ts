// Planning the fast path: whether a request can take the WebAssembly SIMD kernel (float32/float16 logits,
// class axis 1 or, as rows, the last axis; integer class-index targets), and the problem's dimensions in
// the order it is read.
import * as fs from 'node:fs';
import { normalizeAxis } from '../../kernel/options';
import type { LossOptions } from '../../kernel/types';
import { buildProblem, shapeOnly } from '../../kernel/validate';
import { isIntegerDType, numel, shownDType, type Tensor } from '../../tensor/tensor';
import type { EngineRequest } from '../engine/engineTypes';
import { closeNpy, type NpyFile } from '../files/npyFile';
import { describe, loadWhole, meta, type Loadable } from '../engine/sources';

export interface FastPlan {
  readonly N: number;
  readonly C: number;
  readonly S: number;
  readonly input: Loadable;
  readonly target: Loadable;
  readonly weight: Tensor | null;
  readonly inputShape: readonly number[];
  readonly inputDtype: string;
  readonly lossShape: readonly number[];
  readonly targetDtype: string;
  readonly inputItemSize: number;
  readonly targetItemSize: number;
  /**
   * Fortran-order files: N and S above describe the file's own order, one "sample" per spatial position
   * holding (C, batch) logits, so the stream reads contiguous ranges. `toC[f]` is the C-order flat index
   * of the loss element that comes f-th in that order.
   */
  readonly fortran: { readonly toC: (f: number) => number } | null;
  /**
   * The class axis is the input's last (channels-last images, language models' [B, T, V]): each element's
   * C logits are one contiguous row, so the plan is N rows of C classes (S = 1), in the loss map's order.
   */
  readonly classLast: boolean;
  /**
   * Softmax focal loss (loss 'focal'): the kernel computes plain cross-entropy with `weight` all ones (its
   * weighted, degree-5 exp, accurate enough for the focal factor to amplify), and each job turns it into
   * alpha[t] (1 - p_t)^gamma (-log p_t) (src/worker/fast/focalChunk.ts). alpha: the per-class weight (null: 1).
   */
  readonly focal: { readonly alpha: Float64Array | null; readonly gamma: number } | null;
}

/**
 * The order of a Fortran-order (batch, C, d1..dk) file read as contiguous (C, batch) slabs, one per
 * spatial position (d1 fastest), and the C-order flat index of each loss element in that order.
 */
export function fortranOrder(batch: number, spatial: readonly number[]): { readonly positions: number; readonly toC: (f: number) => number } {
  const positions = numel(spatial);
  // C-order strides of the loss map (batch first), per spatial axis.
  const cStride = spatial.map((_, d) => numel(spatial.slice(d + 1)));
  return {
    positions,
    toC: (f: number): number => {
      const n = f % batch;
      let p = Math.floor(f / batch);
      let c = 0;
      for (let d = 0; d < spatial.length; d++) {
        c += (p % spatial[d]) * cStride[d];
        p = Math.floor(p / spatial[d]);
      }
      return n * positions + c;
    },
  };
}

/** Identifies a file's contents for the resident-input check: path, inode, size and change times. */
export function fileStamp(f: NpyFile): readonly (string | number)[] {
  const st = fs.fstatSync(f.fd);
  return [f.path, st.ino, st.size, st.mtimeMs, st.ctimeMs];
}

export function closeFiles(plan: FastPlan): void {
  if (plan.input.kind === 'file') closeNpy(plan.input.file);
  if (plan.target.kind === 'file') closeNpy(plan.target.file);
}

/**
 * The fast path applies to float32/float16 logits with integer class-index targets, class axis 1 or the
 * last axis (C-order rows).
 */
export function planFast(req: EngineRequest, options: LossOptions, wasm: WebAssembly.Module | null): FastPlan | null {
  // (Focal rejects label smoothing in resolveOptions; the check keeps the kernel's terms -log p_t regardless.)
  const focal = options.loss === 'focal' && options.labelSmoothing === 0;
  if (!wasm || (options.loss !== 'ce' && !focal) || options.inputKind !== 'logits') return null;
  const inDesc = describe(req.input);
  if (inDesc.kind === 'header-free') return null;
  const close = (): void => {
    if (inDesc.kind === 'file') closeNpy(inDesc.file);
  };
  const im = meta(inDesc);
  const nd = im.shape.length;
  const floatOk = im.dtype === 'float32' || im.dtype === 'float16';
  const tensorOk = inDesc.kind === 'file' || inDesc.tensor.data instanceof Float32Array;
  const classAxis = nd >= 2 ? normalizeAxis(options.classDim, nd) : null;
  // Class-last C-order data is rows of C logits, already contiguous (a Fortran-order one takes the
  // general path).
  const classLast = classAxis !== 1 && classAxis === nd - 1 && !im.fortran;
  // Fortran order streams too, from files (an in-memory tensor is always C order here).
  if (nd < 2 || (classAxis !== 1 && !classLast) || !floatOk || !tensorOk || (im.fortran && inDesc.kind !== 'file')) {
    close();
    return null;
  }
  let tDesc: Loadable | { kind: 'header-free' };
  try {
    tDesc = describe(req.target);
  } catch (e) {
    close();
    throw e;
  }
  const closeBoth = (): void => {
    close();
    if (tDesc.kind === 'file') closeNpy(tDesc.file);
  };
  if (tDesc.kind === 'header-free') {
    close();
    return null;
  }
  const tm = meta(tDesc);
  // Both in the same order (a 1-D target is both); mixed orders take the general path.
  const targetFortran = tm.fortran || (im.fortran && tm.shape.length <= 1);
  if (!isIntegerDType(tm.dtype) || targetFortran !== im.fortran) {
    closeBoth();
    return null;
  }
  try {
    const weight = req.weight ? loadWhole(req.weight, 'weight') : null;
    // The kernel's own shape checks, on headers only: the same messages as the reference path.
    const p = buildProblem({ input: shapeOnly(im), target: shapeOnly(tm), weight }, options);
    // An input without classes (all targets ignored, or PyTorch's error above) takes the reference kernel:
    // the SIMD kernel takes its max over at least one class.
    if (p.loss !== (focal ? 'focal' : 'ce') || p.targetKind !== 'index' || p.C === 0) {
      closeBoth();
      return null;
    }
    const wf = focal ? new Float32Array(p.C).fill(1) : weight ? Float32Array.from(weight.data as ArrayLike<number>) : null;
    const order = im.fortran ? fortranOrder(p.N, p.lossShape.slice(1)) : null;
    return {
      N: classLast ? p.N * p.S : order ? order.positions : p.N, C: p.C, S: classLast ? 1 : order ? p.N : p.S, input: inDesc, target: tDesc,
      fortran: order, classLast,
      focal: focal ? { alpha: p.w, gamma: options.gamma } : null,
      weight: wf ? { dtype: 'float32', shape: [p.C], data: wf } : null,
      inputShape: im.shape, inputDtype: inDesc.kind === 'tensor' ? shownDType(inDesc.tensor) : im.dtype, lossShape: p.lossShape, targetDtype: tm.dtype,
      inputItemSize: inDesc.kind === 'file' ? inDesc.file.header.itemSize : 4,
      targetItemSize: tDesc.kind === 'file' ? tDesc.file.header.itemSize : 4,
    };
  } catch (e) {
    closeBoth();
    throw e;
  }
}
