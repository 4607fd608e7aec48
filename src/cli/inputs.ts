// Reading what the CLI's options name: weights (a file or an inline list) and an RGB mask's palette. Shared by
// the main command and `compare`.
import * as fs from 'node:fs';
import { LensError, isLensError } from '../errors';
import { namedColorTable, parseColorTable, type ColorTable } from '../tensor/image/colorTable';
import { splitMemberSpec } from '../tensor/load';
import type { Tensor } from '../tensor/tensor';
import { readTensorFile } from '../worker/files/readTensorFile';
import { readTextFileSync } from '../worker/files/regularFile';
import { parseInlineList } from './args';

export function readWeight(spec: string, what: string): Tensor {
  // An existing file wins over the inline form, so a file named "1,2" still reads as a file.
  const list = parseInlineList(spec);
  if (list && !fs.existsSync(splitMemberSpec(spec).path)) {
    return { dtype: 'float64', shape: [list.length], data: Float64Array.from(list) };
  }
  try {
    return readTensorFile(spec, 'weight');
  } catch (e) {
    if (isLensError(e) && e.kind === 'io' && !/[\\/.]/.test(spec)) {
      throw new LensError('option', `${what} '${spec}' is neither a file nor a comma-separated list of numbers such as 1,2.5,0.5`);
    }
    throw e;
  }
}

/** A classes.json of 2^24 classes' colours and names is well under this. */
const MAX_PALETTE_BYTES = 64 * 2 ** 20;

/** --palette: a palette name (voc) or a JSON file with "colors" (classes.json). */
export function readPalette(spec: string): ColorTable {
  const named = namedColorTable(spec);
  if (named !== undefined && !fs.existsSync(spec)) return named;
  let text: string;
  try {
    text = readTextFileSync(spec, MAX_PALETTE_BYTES);
  } catch (e) {
    const missing = e instanceof LensError && /^no such file/.test(e.message);
    throw new LensError('option', `--palette ${spec}: ${missing ? 'no such file, and not a palette name (voc)' : e instanceof LensError ? e.message : 'not readable'} — give voc or a classes.json with "colors"`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LensError('option', `--palette ${spec}: not a JSON file — give voc or a classes.json with "colors"`);
  }
  const table = parseColorTable(json, spec);
  if (table === undefined) throw new LensError('option', `--palette ${spec}: no "colors" in it — write {"colors": [[r, g, b], ...]} by class index, or {"colors": "VOC"}`);
  return table;
}
