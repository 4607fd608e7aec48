// How a loss map is laid out on screen, decided alike by the host (which sends the maps) and the view (which
// draws them and offers a sample selector). Pure and small: the panel's bundle takes it.
import { normalizeAxis } from './kernel/options';
import type { LossOptions } from './kernel/types';

/**
 * The most elements a multi-label loss map [N, C] is shown whole with (samples down, classes across), as a
 * segmentation sample of 1024 x 1024 is; a larger one is shown a sample (a row of C) at a time.
 */
export const MATRIX_MAP_ELEMENTS = 1 << 20;

/**
 * The longest side over the shortest a matrix may have: the map is fitted to the view with square cells,
 * so [5000, 80] would be a column a few pixels wide. A longer one keeps a row per sample.
 */
export const MATRIX_MAX_ASPECT = 16;

export interface MapLayout {
  /** The view shows one sample along the loss map's first axis at a time (and offers a sample selector). */
  readonly perSample: boolean;
  /** Shape of the map the view draws: one sample's, or the whole loss map's. */
  readonly shape: readonly number[];
}

/**
 * How the view lays out a loss map: one sample at a time for [N, ...spatial], the whole map for [N]
 * (classification: a strip of per-sample losses) and for an elementwise loss (bce, sigmoid focal) of shape
 * [N, C]: one sample's row of C tags says little, where the matrix of every sample shows a tag the model
 * never learned as a column and a sample it got wrong as a row. A binary classifier's [N, 1] (or one
 * sample's [1, C]) is a strip of its N (C) losses, as a classification is: the map's element i is the loss
 * map's flat element i. Host and view both decide by this.
 */
export function mapLayout(lossShape: readonly number[], loss: LossOptions['loss']): MapLayout {
  if (lossShape.length < 2) return { perSample: false, shape: lossShape };
  const [N, C] = lossShape;
  if (lossShape.length === 2 && (loss === 'bce' || loss === 'sigmoid-focal') && N >= 1 && C >= 1 && N * C <= MATRIX_MAP_ELEMENTS) {
    if (N === 1 || C === 1) return { perSample: false, shape: [N * C] };
    if (Math.max(N / C, C / N) <= MATRIX_MAX_ASPECT) return { perSample: false, shape: lossShape };
  }
  return { perSample: true, shape: lossShape.slice(1) };
}

/** The loss map's flat index of a multi-index over its shape (row-major). */
export function flatOf(index: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d] + (index[d] ?? 0);
  return f;
}

/**
 * The class axis of an elementwise loss's map, as its per-class statistics count it: the class dimension on
 * a map of two axes or more, axis 0 on one of fewer (each element of bce on [N] is a class of its own).
 */
export function elementClassAxis(lossShape: readonly number[], classDim: number): number | null {
  return lossShape.length >= 2 ? normalizeAxis(classDim, lossShape.length) : 0;
}

/**
 * The position on the class axis `axis` of the loss map's flat elements [at, at + count): the class an
 * element of an elementwise loss (0/1 targets) stands for. A loss map of no axes is one class.
 */
export function classPositions(lossShape: readonly number[], axis: number, at: number, count: number): Int32Array {
  const C = lossShape.length === 0 ? 1 : lossShape[axis];
  let stride = 1;
  for (let a = axis + 1; a < lossShape.length; a++) stride *= lossShape[a];
  const out = new Int32Array(count);
  for (let k = 0; k < count; k++) out[k] = Math.floor((at + k) / stride) % C;
  return out;
}
