// The evaluation options shared by `eval` and `runs` (DESIGN.md): --ignore-index, --weight,
// --label-smoothing, --class-dim, --bins, --boundary, parsed and range-checked with one-line errors that
// point at the command's help.
import * as fs from 'node:fs';
import { LensError } from '../errors';
import type { EvalOptions } from '../eval/types';
import { splitMemberSpec } from '../tensor/load';
import { readTensorFile } from '../worker/files/readTensorFile';
import { parseInlineList } from './args';

const DEFAULTS = { ignoreIndex: -100, labelSmoothing: 0, classDim: 1, bins: 15, boundary: 3 };

/** The flags evalOptions reads (each takes a value). */
export const EVAL_OPTION_FLAGS: readonly string[] = ['--ignore-index', '--weight', '--label-smoothing', '--class-dim', '--bins', '--boundary'];

/** An option error of `command` (eval, runs), pointing at its help. */
export function optionError(command: string, msg: string): never {
  throw new LensError('option', `${msg} (see ${command} --help)`);
}

function integer(command: string, flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[+-]?\d+$/.test(v.trim())) optionError(command, `${flag} expects an integer, got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) optionError(command, `${flag} expects an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '...' : max}], got ${v}`);
  return n;
}

function readWeight(spec: string): number[] {
  const list = parseInlineList(spec);
  if (list && !fs.existsSync(splitMemberSpec(spec).path)) return list;
  const t = readTensorFile(spec, 'weight');
  if (t.shape.length !== 1) throw new LensError('shape', `--weight ${spec}: shape [${t.shape.join(', ')}], expected one weight per class [C]`);
  return Array.from(t.data);
}

/** The options from the given flag values (`get` answers undefined for a flag not given). */
export function evalOptions(command: string, get: (flag: string) => string | undefined): EvalOptions {
  const int = (flag: string, fallback: number, min: number, max: number): number => {
    const v = get(flag);
    return v === undefined ? fallback : integer(command, flag, v, min, max);
  };
  const lsText = get('--label-smoothing');
  const ls = lsText === undefined ? DEFAULTS.labelSmoothing : Number(lsText);
  if (lsText !== undefined && (lsText.trim() === '' || !(ls >= 0 && ls <= 1))) optionError(command, `--label-smoothing expects a number in [0, 1], got '${lsText}'`);
  const classDim = int('--class-dim', DEFAULTS.classDim, -4, 3);
  const weightSpec = get('--weight');
  return {
    ignoreIndex: int('--ignore-index', DEFAULTS.ignoreIndex, -(2 ** 31), 2 ** 31 - 1),
    labelSmoothing: ls,
    classDim,
    bins: int('--bins', DEFAULTS.bins, 1, 100000),
    boundary: int('--boundary', DEFAULTS.boundary, 0, 100000),
    weight: weightSpec === undefined ? null : readWeight(weightSpec),
  };
}
