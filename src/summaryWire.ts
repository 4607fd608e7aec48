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

/**
 * ClassStats's numeric fields in the order the statistics build them (src/kernel/stats.ts finalizeStats),
 * focal's ceMean last. Rows of exactly these are read and built with literal property access: at 32,000
 * classes, keyed access made packing and unpacking take 0.1-0.4 s each on a loaded 2-core machine.
 */
const STAT_FIELDS = ['count', 'ignored', 'lossSum', 'lossMean', 'weight', 'share', 'accuracy', 'iou', 'predicted', 'precision'] as const;

type Row = Record<string, number>;

/** The fields' values of one row into `out` at `at`. */
type ReadRow = (row: ClassStats, out: Float64Array, at: number) => void;
/** A row of class c from `v` at `at`. */
type MakeRow = (c: number, v: ArrayLike<number>, at: number) => ClassStats;

function isStandard(fields: readonly string[]): 'plain' | 'focal' | null {
  const plain = fields.length >= STAT_FIELDS.length && STAT_FIELDS.every((f, i) => fields[i] === f);
  if (plain && fields.length === STAT_FIELDS.length) return 'plain';
  return plain && fields.length === STAT_FIELDS.length + 1 && fields[STAT_FIELDS.length] === 'ceMean' ? 'focal' : null;
}

function reader(fields: readonly string[]): ReadRow {
  const kind = isStandard(fields);
  if (kind !== null) {
    const focal = kind === 'focal';
    return (r, out, at) => {
      out[at] = r.count; out[at + 1] = r.ignored; out[at + 2] = r.lossSum; out[at + 3] = r.lossMean; out[at + 4] = r.weight;
      out[at + 5] = r.share; out[at + 6] = r.accuracy; out[at + 7] = r.iou; out[at + 8] = r.predicted; out[at + 9] = r.precision;
      if (focal) out[at + 10] = r.ceMean as number;
    };
  }
  return (r, out, at) => fields.forEach((f, j) => (out[at + j] = (r as unknown as Row)[f]));
}

function maker(fields: readonly string[]): MakeRow {
  const kind = isStandard(fields);
  if (kind === 'plain') {
    return (c, v, a) => ({ index: c, count: v[a], ignored: v[a + 1], lossSum: v[a + 2], lossMean: v[a + 3], weight: v[a + 4], share: v[a + 5], accuracy: v[a + 6], iou: v[a + 7], predicted: v[a + 8], precision: v[a + 9] });
  }
  if (kind === 'focal') {
    return (c, v, a) => ({ index: c, count: v[a], ignored: v[a + 1], lossSum: v[a + 2], lossMean: v[a + 3], weight: v[a + 4], share: v[a + 5], accuracy: v[a + 6], iou: v[a + 7], predicted: v[a + 8], precision: v[a + 9], ceMean: v[a + 10] });
  }
  return (c, v, a) => {
    const row: Row = { index: c };
    fields.forEach((f, j) => (row[f] = v[a + j]));
    return row as unknown as ClassStats;
  };
}

/** Float64 values equal as Object.is has them (NaN equal to NaN, 0 and -0 apart). */
function same(a: number, b: number): boolean {
  return a === b ? a !== 0 || 1 / a === 1 / b : a !== a && b !== b;
}

/** Per-class rows as columns; null when the rows do not share one set of numeric fields (left as they are). */
export function packClassStats(perClass: readonly ClassStats[]): PackedClassStats | null {
  const C = perClass.length;
  if (C === 0) return null;
  const fields = Object.keys(perClass[0]).filter((k) => k !== 'index');
  const F = fields.length;
  for (let c = 0; c < C; c++) {
    const row = perClass[c] as unknown as Record<string, unknown>;
    if (row.index !== c || Object.keys(row).length !== F + 1) return null;
    for (const f of fields) if (typeof row[f] !== 'number') return null;
  }
  const read = reader(fields);
  const all = new Float64Array(C * F);
  for (let c = 0; c < C; c++) read(perClass[c], all, c * F);
  // The row of a class that neither occurs nor is predicted: at vocabulary scale most rows are this one.
  const absent = perClass.findIndex((r) => r.count === 0 && r.ignored === 0 && r.predicted === 0);
  const listed: number[] = [];
  for (let c = 0; c < C; c++) {
    let differs = absent < 0;
    for (let j = 0; j < F && !differs; j++) differs = !same(all[c * F + j], all[absent * F + j]);
    if (differs) listed.push(c);
  }
  const values = new Float64Array(listed.length * F);
  listed.forEach((c, i) => values.set(all.subarray(c * F, (c + 1) * F), i * F));
  let rest: Row | null = null;
  if (absent >= 0) {
    rest = {};
    fields.forEach((f, j) => ((rest as Row)[f] = all[absent * F + j]));
  }
  return { C, fields, rows: Int32Array.from(listed), values, rest };
}

/** The per-class rows again (null: the packing does not hold together). */
export function unpackClassStats(p: PackedClassStats): ClassStats[] | null {
  const { C, fields, rows, values, rest } = p;
  const F = Array.isArray(fields) ? fields.length : -1;
  if (!Number.isSafeInteger(C) || C < 0 || F < 0 || !ArrayBuffer.isView(rows) || !ArrayBuffer.isView(values) || values.length !== rows.length * F) return null;
  if (rows.length < C && (rest === null || typeof rest !== 'object')) return null;
  const make = maker(fields);
  const out = new Array<ClassStats>(C);
  for (let i = 0; i < rows.length; i++) {
    const c = rows[i];
    if (!(c >= 0 && c < C) || out[c] !== undefined) return null;
    out[c] = make(c, values, i * F);
  }
  const restValues = Float64Array.from(fields, (f) => Number((rest as Record<string, unknown> | null)?.[f]));
  for (let c = 0; c < C; c++) if (out[c] === undefined) out[c] = make(c, restValues, 0);
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
