// Tensor sources: what a request names (a file or an in-memory tensor), opened by header (.npy files,
// read in ranges later) or loaded whole (every other format, weights, and the general path).
import type { Tensor } from '../../tensor/tensor';
import type { TensorSource } from './engineTypes';
import { openRangeSource, type NpyFile } from '../files/npyFile';
import { readTensorFile } from '../files/readTensorFile';
import { pinOf } from '../files/regularFile';

export type Loadable = { readonly kind: 'file'; readonly file: NpyFile } | { readonly kind: 'tensor'; readonly tensor: Tensor };

export function describe(src: TensorSource): Loadable | { readonly kind: 'header-free' } {
  if (src.kind === 'tensor') return { kind: 'tensor', tensor: src.tensor };
  const file = openRangeSource(src);
  return file === null ? { kind: 'header-free' } : { kind: 'file', file };
}

export function meta(l: Loadable): { dtype: Tensor['dtype']; shape: readonly number[]; fortran: boolean } {
  return l.kind === 'file'
    ? { dtype: l.file.header.dtype, shape: l.file.header.shape, fortran: l.file.header.fortranOrder && l.file.header.shape.length > 1 }
    : { dtype: l.tensor.dtype, shape: l.tensor.shape, fortran: false };
}

export function loadWhole(src: TensorSource, role: 'input' | 'target' | 'weight'): Tensor {
  return src.kind === 'tensor' ? src.tensor : readTensorFile(src.path, role, pinOf(src));
}
