// A summary on its way to a view. Under code-server a message from the extension host reaches a webview at
// a few MB/s, and the summary is what paints the loss value: as plain JSON an ImageNet-shaped result
// ([50000, 1000]) carried a 2 MB confusion matrix of mostly zeros, and a language model's [2, 64, 32000]
// 4.6 MB of per-class rows for 32,000 classes of which 250 occur. Packed, the matrix goes as its non-zero
// cells (or dense, whichever is smaller) in the narrowest array that holds the counts, and the per-class
// rows as Float64 columns of the classes that differ from an absent class's row, which stands for the rest.
// Every number is the same after unpacking (Float64 holds any JS number, NaN included). Pure code: the
// panel host, the notebook host, the view and tests share it.
import type { ClassStats } from './kernel/types';
import type { PackedClassStats, PackedConfusion, PackedSummary, ViewSummary } from './protocol';

type Counts = PackedConfusion['counts'];

function countsArray(max: number, n: number): Counts {
  if (max <= 0xff) return new Uint8Array(n);
  if (max <= 0xffff) return new Uint16Array(n);
  if (max <= 0xffffffff) return new Uint32Array(n);
  return new Float64Array(n);
}

/** Non-negative integer counts only (a confusion matrix is one); anything else is not packed. */
export function packConfusion(conf: ArrayLike<number>): PackedConfusion | null {
  let nonZero = 0;
  let max = 0;
  for (let k = 0; k < conf.length; k++) {
    const v = conf[k];
    if (!(Number.isInteger(v) && v >= 0)) return null;
    if (v > 0) nonZero++;
    if (v > max) max = v;
  }
  const probe = countsArray(max, 0);
  const bytes = probe.BYTES_PER_ELEMENT;
  if (conf.length * bytes <= nonZero * (4 + bytes)) {
    const counts = countsArray(max, conf.length);
    for (let k = 0; k < conf.length; k++) counts[k] = conf[k];
    return { length: conf.length, cells: null, counts };
  }
  const cells = new Uint32Array(nonZero);
  const counts = countsArray(max, nonZero);
  let j = 0;
  for (let k = 0; k < conf.length; k++) {
    if (conf[k] > 0) {
      cells[j] = k;
      counts[j++] = conf[k];
    }
  }
  return { length: conf.length, cells, counts };
}

/** The matrix again, the same counts as the summary had (null: the packing does not hold together). */
export function unpackConfusion(p: PackedConfusion): ArrayLike<number> | null {
  const { length, cells, counts } = p;
  if (!Number.isSafeInteger(length) || length < 0 || !ArrayBuffer.isView(counts)) return null;
  if (cells === null) return counts.length === length ? counts : null;
  if (!ArrayBuffer.isView(cells) || cells.length !== counts.length) return null;
  const out = new Float64Array(length);
  for (let j = 0; j < cells.length; j++) {
    const k = cells[j];
    if (!(k < length)) return null;
    out[k] = counts[j];
  }
  return out;
}

/** A class's row agrees with `rest` in every field (NaN equal to NaN). */
function sameRow(row: ClassStats, rest: ClassStats, fields: readonly string[]): boolean {
  const a = row as unknown as Record<string, number>;
  const b = rest as unknown as Record<string, number>;
  for (const f of fields) if (!Object.is(a[f], b[f])) return false;
  return true;
}

/** Per-class rows as columns; null when the rows do not share one set of numeric fields (left as they are). */
export function packClassStats(perClass: readonly ClassStats[]): PackedClassStats | null {
  const C = perClass.length;
  if (C === 0) return null;
  const fields = Object.keys(perClass[0]).filter((k) => k !== 'index');
  for (let c = 0; c < C; c++) {
    const row = perClass[c] as unknown as Record<string, unknown>;
    if (row.index !== c || Object.keys(row).length !== fields.length + 1) return null;
    for (const f of fields) if (typeof row[f] !== 'number') return null;
  }
  // The row of a class that neither occurs nor is predicted: at vocabulary scale most rows are this one.
  const absent = perClass.find((r) => r.count === 0 && r.ignored === 0 && r.predicted === 0) ?? null;
  const listed: number[] = [];
  for (let c = 0; c < C; c++) if (absent === null || !sameRow(perClass[c], absent, fields)) listed.push(c);
  const values = new Float64Array(listed.length * fields.length);
  listed.forEach((c, i) => {
    const row = perClass[c] as unknown as Record<string, number>;
    fields.forEach((f, j) => (values[i * fields.length + j] = row[f]));
  });
  let rest: Record<string, number> | null = null;
  if (absent !== null) {
    rest = {};
    for (const f of fields) rest[f] = (absent as unknown as Record<string, number>)[f];
  }
  return { C, fields, rows: Int32Array.from(listed), values, rest };
}

/** The per-class rows again (null: the packing does not hold together). */
export function unpackClassStats(p: PackedClassStats): ClassStats[] | null {
  const { C, fields, rows, values, rest } = p;
  const F = Array.isArray(fields) ? fields.length : -1;
  if (!Number.isSafeInteger(C) || C < 0 || F < 0 || !ArrayBuffer.isView(rows) || !ArrayBuffer.isView(values) || values.length !== rows.length * F) return null;
  if (rows.length < C && (rest === null || typeof rest !== 'object')) return null;
  const out = new Array<ClassStats>(C);
  for (let i = 0; i < rows.length; i++) {
    const c = rows[i];
    if (!(c >= 0 && c < C) || out[c] !== undefined) return null;
    const row: Record<string, number> = { index: c };
    for (let j = 0; j < F; j++) row[fields[j]] = values[i * F + j];
    out[c] = row as unknown as ClassStats;
  }
  for (let c = 0; c < C; c++) {
    if (out[c] !== undefined) continue;
    const row: Record<string, number> = { index: c };
    for (const f of fields) row[f] = Number((rest as Record<string, unknown>)[f]);
    out[c] = row as unknown as ClassStats;
  }
  return out;
}

/** The summary with its per-class rows and confusion matrix packed (each left as it is where that does not apply). */
export function packSummary(s: ViewSummary): ViewSummary | PackedSummary {
  const perClass = packClassStats(s.perClass);
  const confusion = s.confusion.length > 0 ? packConfusion(s.confusion) : null;
  if (!perClass && !confusion) return s;
  const { perClass: pc, confusion: cm, ...rest } = s;
  return { ...rest, packed: { perClass: perClass ?? pc, confusion: confusion ?? cm } };
}

function isList<T>(v: object): v is readonly T[] {
  return Array.isArray(v);
}

/** A summary as the view uses it, packed or not; null when a packed one does not hold together. */
export function unpackSummary(s: ViewSummary | PackedSummary): ViewSummary | null {
  if (!('packed' in s) || !s.packed || typeof s.packed !== 'object') return s as ViewSummary;
  const { packed, ...rest } = s;
  const perClass = isList(packed.perClass) ? packed.perClass : unpackClassStats(packed.perClass);
  const confusion = 'counts' in packed.confusion ? unpackConfusion(packed.confusion as PackedConfusion) : packed.confusion;
  if (!perClass || !confusion) return null;
  return { ...rest, perClass, confusion };
}
