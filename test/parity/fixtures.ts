// Loader and comparator for the PyTorch parity fixtures written by test/parity/generators/generate.py.
// A fixture folder holds cases.json (the manifest) and one .npz per case; every tensor goes through our own
// codec (readNpz), so byte orders, Fortran order and float16 are exercised on the way in.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../../src/errors';
import { computeLoss, explainElement } from '../../src/kernel/index';
import type { LossOptions, LossRequest, LossResult } from '../../src/kernel/types';
import { readNpz } from '../../src/tensor/binary/npz';
import { numel, type Tensor } from '../../src/tensor/tensor';

/** JSON has no NaN or infinities: the generator writes them as strings. */
export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity';

/** The manifest writes every option, exactly the kernel's LossOptions. */
export type CaseOptions = LossOptions;

export interface ComputedExpect {
  /** The reduced value (null for reduction 'none'). */
  readonly value: JsonNumber | null;
  readonly perClass?: {
    readonly count: readonly number[];
    readonly lossSum: readonly JsonNumber[];
    readonly predicted: readonly number[];
  };
  /** numClasses x numClasses, row = target, column = predicted. */
  readonly confusion?: readonly number[];
  readonly explain?: { readonly flat: number; readonly logProbs: readonly JsonNumber[] };
}

export interface ErrorExpect {
  /** PyTorch's exception message (or our wording for options PyTorch does not have). */
  readonly error: string;
  /** Substrings our one-line message must contain (case-insensitive). */
  readonly mustMention?: readonly string[];
}

export interface ParityCase {
  readonly id: string;
  readonly file: string;
  readonly options: CaseOptions;
  readonly hasWeight: boolean;
  readonly hasPosWeight: boolean;
  readonly expect: ComputedExpect | ErrorExpect;
}

export interface Manifest {
  readonly seed: number;
  readonly countScale: number;
  readonly torch: string;
  readonly cases: readonly ParityCase[];
}

export function isErrorExpect(e: ComputedExpect | ErrorExpect): e is ErrorExpect {
  return typeof (e as ErrorExpect).error === 'string';
}

export function loadManifest(dir: string): Manifest {
  const text = fs.readFileSync(path.join(dir, 'cases.json'), 'utf8');
  const m = JSON.parse(text) as Manifest;
  if (!Array.isArray(m.cases)) throw new Error(`${dir}/cases.json has no cases array`);
  return m;
}

export function fromJson(v: JsonNumber): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

/** |got - want| <= 1e-9 * max(1, |want|); NaN matches only NaN; infinities match exactly. */
export function close(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(17) : String(v);
}

function fmtIndex(idx: readonly number[]): string {
  return `[${idx.join(', ')}]`;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] > 0) {
      idx[d] = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
    }
  }
  return idx;
}

export interface LoadedCase {
  readonly request: LossRequest;
  /** PyTorch's reduction='none' output (computed cases only). */
  readonly expectedLoss: Tensor | null;
}

export function loadCase(dir: string, c: ParityCase): LoadedCase {
  const bytes = new Uint8Array(fs.readFileSync(path.join(dir, c.file)));
  const npz = readNpz(bytes, c.file);
  const names = new Set(npz.members.map((m) => m.name));
  const request: LossRequest = {
    input: npz.get('input'),
    target: npz.get('target'),
    weight: c.hasWeight ? npz.get('weight') : null,
    posWeight: c.hasPosWeight ? npz.get('pos_weight') : null,
    options: { ...c.options },
  };
  return { request, expectedLoss: names.has('expected_loss') ? npz.get('expected_loss') : null };
}

/** Problems found in one case, each one line; empty when the case matches PyTorch. */
export function checkCase(dir: string, c: ParityCase): string[] {
  const { request, expectedLoss } = loadCase(dir, c);
  const expect = c.expect;
  if (isErrorExpect(expect)) return checkError(request, expect);
  if (!expectedLoss) return [`${c.file} has no expected_loss member`];

  let result: LossResult;
  try {
    result = computeLoss(request);
  } catch (e) {
    return [`computeLoss threw where PyTorch computes a loss: ${e instanceof Error ? e.message : String(e)}`];
  }
  const problems: string[] = [];
  const note = (msg: string): void => {
    if (problems.length < 25) problems.push(msg);
    else if (problems.length === 25) problems.push('… (more problems left out)');
  };

  // Shape and the unreduced loss map.
  const shape = expectedLoss.shape;
  if (fmtIndex(result.lossShape) !== fmtIndex(shape)) {
    note(`lossShape ${fmtIndex(result.lossShape)}, PyTorch ${fmtIndex(shape)}`);
  }
  const n = numel(shape);
  if (result.lossMap.length !== n) {
    note(`lossMap has ${result.lossMap.length} elements, PyTorch ${n}`);
  } else {
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const want = expectedLoss.data[i];
      const got = result.lossMap[i];
      if (!close(got, want)) {
        bad++;
        if (bad <= 5) note(`lossMap${fmtIndex(unravel(i, shape))} (flat ${i}): got ${fmt(got)}, PyTorch ${fmt(want)}`);
      }
    }
    if (bad > 5) note(`lossMap: ${bad} of ${n} elements differ in all`);
  }

  // The reduced value.
  if (expect.value === null) {
    if (result.value !== null) note(`value: got ${fmt(result.value)}, expected null for reduction 'none'`);
  } else {
    const want = fromJson(expect.value);
    if (result.value === null || !close(result.value, want)) {
      note(`value (${c.options.reduction}): got ${result.value === null ? 'null' : fmt(result.value)}, PyTorch ${fmt(want)}`);
    }
  }

  // Per-class statistics and the confusion matrix (class-index targets).
  if (expect.perClass) {
    const pc = expect.perClass;
    const C = pc.count.length;
    for (let k = 0; k < C; k++) {
      const s = result.stats.perClass.find((x) => x.index === k);
      if (!s) {
        note(`perClass has no entry for class ${k}`);
        continue;
      }
      if (s.count !== pc.count[k]) note(`perClass[${k}].count: got ${s.count}, PyTorch ${pc.count[k]}`);
      const ls = fromJson(pc.lossSum[k]);
      if (!close(s.lossSum, ls)) note(`perClass[${k}].lossSum: got ${fmt(s.lossSum)}, PyTorch ${fmt(ls)}`);
      if (s.predicted !== pc.predicted[k]) {
        note(`perClass[${k}].predicted: got ${s.predicted}, torch.argmax gives ${pc.predicted[k]}`);
      }
    }
  }
  if (expect.confusion) {
    const want = expect.confusion;
    const got = result.stats.confusion;
    if (got.length !== want.length) {
      note(`confusion has ${got.length} entries, expected ${want.length}`);
    } else {
      const C = Math.round(Math.sqrt(want.length));
      for (let i = 0; i < want.length; i++) {
        if (got[i] !== want[i]) {
          note(`confusion[target ${Math.floor(i / C)}][pred ${i % C}]: got ${got[i]}, expected ${want[i]}`);
        }
      }
    }
  }

  // One element by hand.
  if (expect.explain) {
    const { flat, logProbs } = expect.explain;
    try {
      const ex = explainElement(request, flat);
      if (ex.logProbs.length !== logProbs.length) {
        note(`explain(${flat}).logProbs has ${ex.logProbs.length} classes, expected ${logProbs.length}`);
      } else {
        logProbs.forEach((v, k) => {
          const want = fromJson(v);
          if (!close(ex.logProbs[k], want)) {
            note(`explain(${flat}).logProbs[${k}]: got ${fmt(ex.logProbs[k])}, PyTorch ${fmt(want)}`);
          }
        });
      }
      const mapValue = result.lossMap[flat];
      if (!close(ex.loss, mapValue)) note(`explain(${flat}).loss ${fmt(ex.loss)} differs from lossMap[${flat}] ${fmt(mapValue)}`);
      const want = expectedLoss.data[flat];
      if (!close(ex.loss, want)) note(`explain(${flat}).loss: got ${fmt(ex.loss)}, PyTorch ${fmt(want)}`);
    } catch (e) {
      note(`explainElement(${flat}) threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return problems;
}

function checkError(request: LossRequest, expect: ErrorExpect): string[] {
  let thrown: unknown;
  try {
    const r = computeLoss(request);
    return [`computeLoss returned (value ${r.value === null ? 'null' : fmt(r.value)}) where PyTorch raises: ${expect.error}`];
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof LensError)) {
    const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    return [`threw a non-LensError (${what}) where PyTorch raises: ${expect.error}`];
  }
  const problems: string[] = [];
  const msg = thrown.message;
  if (/[\r\n]/.test(msg)) problems.push(`message is not one line: ${JSON.stringify(msg)}`);
  for (const s of expect.mustMention ?? []) {
    if (!msg.toLowerCase().includes(s.toLowerCase())) {
      problems.push(`message ${JSON.stringify(msg)} does not mention ${JSON.stringify(s)} (PyTorch: ${expect.error})`);
    }
  }
  return problems;
}
