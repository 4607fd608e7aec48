// PNG label masks on the Node side: the colour table an RGB mask needs (classes.json with "colors" beside the
// mask), and the pairing of a mask [H, W] (one sample) with the input it is the target of (see
// pairMaskShapes in src/tensor/image/pngMask.ts). The engine calls pairMaskTarget first, so the CLI, the panel and
// the explorer command all pair the same way.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fmtShape, LensError } from '../../errors';
import { parseColorTable, type ColorTable } from '../../tensor/image/colorTable';
import { decodeTensorFile, splitMemberSpec } from '../../tensor/load';
import { decodePngMask, hasPngSignature, isColorPng, isPngPath, pairMaskShapes, readPngHeader, PNG_HEADER_BYTES } from '../../tensor/image/pngMask';
import type { Tensor } from '../../tensor/tensor';
import type { EngineRequest, TensorSource } from '../engine/engineTypes';
import { closeNpy, isNpyPath, openNpy } from './npyFile';
import { describeFsError, readTensorFile } from './readTensorFile';
import { openRegularFileSync, pinOf, readAtSync, readTextFileSync } from './regularFile';

/** classes.json is a list of names or a small object; one larger than this is not a colour table. */
const MAX_CLASSES_JSON_BYTES = 4 << 20;

/**
 * The colour table in classes.json beside `maskPath` ("colors": [[r, g, b], ...] or "VOC"), or undefined
 * when there is none (no file, a plain list of names, not JSON). A "colors" entry that is not a colour is an
 * error naming classes.json.
 */
export function colorTableBeside(maskPath: string): ColorTable | undefined {
  const file = path.join(path.dirname(maskPath), 'classes.json');
  let text: string;
  try {
    text = readTextFileSync(file, MAX_CLASSES_JSON_BYTES);
  } catch (e) {
    // None there, not a regular file, or too large: no colour table.
    if (e instanceof LensError) return undefined;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  return parseColorTable(json, file);
}

/** Largest PNG read for a mask (its pixels are capped by MAX_MASK_PIXELS in any case). */
const MAX_PNG_BYTES = 1 << 30;

/**
 * Reads a PNG mask as a target: `table` (e.g. the CLI's --palette) or, for an RGB mask, the colour table in
 * classes.json beside it; anything else goes through decodeTensorFile like any target file.
 */
export function readMaskTarget(spec: string, table?: ColorTable): Tensor {
  const { path: p, member } = splitMemberSpec(spec);
  if (!isPngPath(p) || member !== undefined) return readTensorFile(spec, 'target');
  let bytes: Uint8Array;
  try {
    const { fd, size } = openRegularFileSync(p);
    try {
      if (size > MAX_PNG_BYTES) throw new LensError('io', `${(size / 2 ** 20).toFixed(0)} MiB is far larger than a label mask — not read`);
      // A file that shrank since its fstat holds fewer bytes: the decoder says what is missing.
      bytes = readAtSync(fd, size, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('io', describeFsError(e));
    throw le.withSource(p);
  }
  let colour = false;
  try {
    colour = hasPngSignature(bytes) && isColorPng(readPngHeader(bytes.subarray(0, PNG_HEADER_BYTES)));
  } catch {
    // a corrupt header: decodeTensorFile reports it
  }
  const use = colour ? table ?? colorTableBeside(p) : undefined;
  if (use === undefined) return decodeTensorFile(p, bytes, 'target');
  try {
    return decodePngMask(bytes, { colorTable: use });
  } catch (e) {
    const le = e instanceof LensError ? e : new LensError('format', `cannot decode (${e instanceof Error ? e.message : String(e)})`);
    throw le.withSource(p);
  }
}

/** How a PNG target was paired, for reports: its stored shape and the shapes computed with. */
export interface MaskPairing {
  readonly path: string;
  /** The mask as stored, [H, W]. */
  readonly stored: readonly number[];
  /** The target's shape as computed ([1, H, W] when a batch axis was added, else [H, W]). */
  readonly target: readonly number[];
  /** The input's shape as computed, when one sample's [C, H, W] logits got a batch axis; else null. */
  readonly input: readonly number[] | null;
}

function inputShapeOf(src: TensorSource): { shape: readonly number[]; loaded: Tensor | null } {
  if (src.kind === 'tensor') return { shape: src.tensor.shape, loaded: src.tensor };
  if (isNpyPath(src.path)) {
    const f = openNpy(src.path, src.pin);
    try {
      return { shape: f.header.shape, loaded: null };
    } finally {
      closeNpy(f);
    }
  }
  if (src.range) return { shape: src.range.header.shape, loaded: null };
  const t = readTensorFile(src.path, 'input', pinOf(src));
  return { shape: t.shape, loaded: t };
}

/**
 * A request whose target is a PNG mask file, with the mask read and shaped for its input (pairMaskShapes):
 * the target becomes an in-memory [1, H, W] tensor, and one sample's [C, H, W] logits become [1, C, H, W]
 * (read whole: one sample). Null when the target is not a PNG file.
 */
export function pairMaskTarget(req: EngineRequest, table?: ColorTable): { req: EngineRequest; pairing: MaskPairing } | null {
  if (req.target.kind !== 'file' || !isPngPath(splitMemberSpec(req.target.path).path)) return null;
  const file = req.target.path;
  const mask = readMaskTarget(file, table);
  const { shape: inShape, loaded } = inputShapeOf(req.input);
  let paired;
  try {
    paired = pairMaskShapes(inShape, mask.shape);
  } catch (e) {
    throw e instanceof LensError ? e.withSource(file) : e;
  }
  let input = req.input;
  if (paired.input !== inShape) {
    const src = req.input as Extract<TensorSource, { kind: 'file' }>;
    const t = loaded ?? readTensorFile(src.path, 'input', pinOf(src));
    input = { kind: 'tensor', tensor: { ...t, shape: paired.input }, label: req.input.kind === 'file' ? req.input.path : req.input.label ?? 'input' };
  } else if (loaded !== null && req.input.kind === 'file') {
    // Already read whole to learn its shape: do not read it again.
    input = { kind: 'tensor', tensor: loaded, label: req.input.path };
  }
  const target: TensorSource = { kind: 'tensor', tensor: { ...mask, shape: paired.target }, label: file };
  return {
    req: { ...req, input, target },
    pairing: { path: file, stored: mask.shape, target: paired.target, input: paired.input !== inShape ? paired.input : null },
  };
}

/** The CLI's words for a paired mask: "PNG mask, one sample; paired as [1, H, W]". */
export function describePairing(p: MaskPairing): string {
  const how = p.input !== null ? `paired as ${fmtShape(p.target)} with the input as ${fmtShape(p.input)}` : p.target.length !== p.stored.length ? `paired as ${fmtShape(p.target)}` : 'as stored';
  return `PNG mask, one sample; ${how}`;
}
