// Per-class table logic: sorting, search, the chart's top classes and CSV (pure; no DOM).
import type { ClassStats } from '../../../src/kernel/types';
import { topIndices } from '../../../src/kernel/topIndices';
import { className } from '../format';

export type SortKey = 'class' | 'name' | 'count' | 'ignored' | 'weight' | 'lossMean' | 'ceMean' | 'lossSum' | 'share' | 'accuracy' | 'iou' | 'flagged';
export type SortDir = 'asc' | 'desc';
export interface SortSpec {
  readonly key: SortKey;
  readonly dir: SortDir;
}
export const SORT_KEYS: readonly SortKey[] = ['class', 'name', 'count', 'ignored', 'weight', 'lossMean', 'ceMean', 'lossSum', 'share', 'accuracy', 'iou', 'flagged'];
export const DEFAULT_SORT: SortSpec = { key: 'class', dir: 'asc' };

/** Direction a column starts in when first clicked: numbers largest first, the class column in order. */
export function defaultDir(key: SortKey): SortDir {
  return key === 'class' || key === 'name' ? 'asc' : 'desc';
}

/**
 * Next sort after clicking a column header: the same column flips direction. The class column cycles
 * index ascending, index descending, then (when classes have names) name ascending and descending.
 */
export function nextSort(current: SortSpec, key: SortKey, hasNames = false): SortSpec {
  if (key === 'class' || key === 'name') {
    if (current.key === 'class' && current.dir === 'asc') return { key: 'class', dir: 'desc' };
    if (current.key === 'class' && current.dir === 'desc') return hasNames ? { key: 'name', dir: 'asc' } : { key: 'class', dir: 'asc' };
    if (current.key === 'name' && current.dir === 'asc') return { key: 'name', dir: 'desc' };
    return { key: 'class', dir: 'asc' };
  }
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return { key, dir: defaultDir(key) };
}

/** Above this many classes the table starts sorted by loss share (largest first): index order says nothing there. */
export const LARGE_CLASS_COUNT = 1000;
/** The sort a table of C classes starts with when the user has not chosen one (see LARGE_CLASS_COUNT). */
export function defaultSortFor(C: number): SortSpec {
  return C > LARGE_CLASS_COUNT ? { key: 'share', dir: 'desc' } : DEFAULT_SORT;
}
export function isDefaultSort(spec: SortSpec): boolean {
  return spec.key === DEFAULT_SORT.key && spec.dir === DEFAULT_SORT.dir;
}

type NumericKey = Exclude<SortKey, 'name'>;

/** A table row: a class's statistics, and its likely label errors once they are known. */
export type ClassRow = ClassStats & { readonly flagged?: number };

function valueOf(row: ClassRow, key: NumericKey): number {
  // ceMean exists for focal results only, flagged once label errors are known: without them the column sorts as empty (NaN, last).
  return key === 'class' ? row.index : key === 'ceMean' ? row.ceMean ?? NaN : key === 'flagged' ? row.flagged ?? NaN : row[key];
}

// Scratch views for turning a float64 into two uint32 words (platform byte order).
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/**
 * Stable LSD radix sort (four 16-bit digits) of `order` (positions into keys) by keys ascending: O(n), no
 * comparator calls, so a 262,144-class table sorts in milliseconds. Keys must not be NaN; -0 sorts as 0.
 */
function radixSort(order: Int32Array, keys: Float64Array): Int32Array {
  const n = order.length;
  const hi = new Uint32Array(keys.length);
  const lo = new Uint32Array(keys.length);
  for (let k = 0; k < n; k++) {
    const p = order[k];
    F64[0] = keys[p] + 0; // -0 + 0 is 0
    let h = U32[HI];
    let l = U32[LO];
    // IEEE 754 bits to an unsigned order: negative numbers flip every bit, the others the sign bit only.
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    hi[p] = h;
    lo[p] = l;
  }
  let src: Int32Array = order;
  let dst: Int32Array = new Int32Array(n);
  const counts = new Int32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const words = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[(words[src[k]] >>> shift) & 0xffff]++;
    // A digit every key shares changes nothing: skip the pass (the high words of small numbers, say).
    if (n === 0 || counts[(words[src[0]] >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const p = src[k];
      dst[counts[(words[p] >>> shift) & 0xffff]++] = p;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Positions 0..n-1 in class index order (perClass normally is already). */
function indexOrder(rows: readonly ClassStats[]): Int32Array {
  const order = new Int32Array(rows.length);
  let sorted = true;
  for (let k = 0; k < rows.length; k++) {
    order[k] = k;
    if (k > 0 && rows[k].index < rows[k - 1].index) sorted = false;
  }
  if (!sorted) order.sort((a, b) => rows[a].index - rows[b].index);
  return order;
}

/**
 * The table's row order as positions into rows: numeric columns (and the class index) by a stable radix
 * sort in O(C), NaN (an empty class's mean, accuracy or IoU) always last whichever the direction, ties in
 * class index order; 'name' with a locale collator, O(C log C) comparisons (the slowest column at
 * vocabulary scale: about a second for 262,144 names).
 */
export function sortOrder(rows: readonly ClassRow[], spec: SortSpec, names: readonly string[] = []): Int32Array {
  const sign = spec.dir === 'asc' ? 1 : -1;
  const key = spec.key;
  const base = indexOrder(rows);
  if (key === 'name') {
    const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
    const label = Array.from(rows, (r) => className(names, r.index));
    return base.sort((a, b) => sign * collator.compare(label[a], label[b]) || rows[a].index - rows[b].index);
  }
  const keys = new Float64Array(rows.length);
  const finite = new Int32Array(rows.length);
  const nan: number[] = [];
  let m = 0;
  for (let k = 0; k < base.length; k++) {
    const p = base[k];
    const v = valueOf(rows[p], key);
    if (Number.isNaN(v)) nan.push(p);
    else {
      keys[p] = sign * v;
      finite[m++] = p;
    }
  }
  const out = new Int32Array(rows.length);
  out.set(radixSort(finite.subarray(0, m), keys));
  out.set(nan, m);
  return out;
}

/**
 * Rows sorted by a column. NaN (an empty class's mean, accuracy or IoU) always goes last, whichever the
 * direction; ties keep class index order. The class column sorts by class index ('name' by name).
 */
export function sortClasses(rows: readonly ClassStats[], spec: SortSpec, names: readonly string[] = []): ClassStats[] {
  return Array.from(sortOrder(rows, spec, names), (p) => rows[p]);
}

/**
 * What the search box looks in, built once per data change (O(C)): every row's lower-cased name and its
 * class index, each joined into one string with the offsets where each row starts, so that a query is a
 * few native indexOf scans instead of C string tests.
 */
export interface ClassSearch {
  readonly names: string;
  readonly nameStarts: Int32Array;
  readonly ids: string;
  readonly idStarts: Int32Array;
}

/** Where each part starts in parts.join(SEP), and (last) the joined length plus one. */
function startsOf(parts: readonly string[]): Int32Array {
  const starts = new Int32Array(parts.length + 1);
  let off = 0;
  for (let k = 0; k < parts.length; k++) {
    starts[k] = off;
    off += parts[k].length + 1;
  }
  starts[parts.length] = off;
  return starts;
}

const SEP = '\u0000';

export function classSearch(rows: readonly ClassStats[], names: readonly string[] = []): ClassSearch {
  const ids = Array.from(rows, (r) => String(r.index));
  let raw = Array.from(rows, (r) => (r.index < names.length ? names[r.index] ?? '' : ''));
  let starts = startsOf(raw);
  let text = raw.join(SEP).toLowerCase();
  // Lower-casing the whole changed a length ('İ' becomes two code units): lower-case name by name instead.
  if (raw.length > 0 && text.length !== starts[raw.length] - 1) {
    raw = raw.map((n) => n.toLowerCase());
    starts = startsOf(raw);
    text = raw.join(SEP);
  }
  return { names: text, nameStarts: starts, ids: ids.join(SEP), idStarts: startsOf(ids) };
}

/** Set mark[p] for every row p whose span of text holds q: O(length of text). */
function markMatches(text: string, starts: Int32Array, q: string, mark: Uint8Array): void {
  let p = 0;
  let k = text.indexOf(q);
  while (k !== -1) {
    while (starts[p + 1] <= k) p++;
    // A match that runs past this row's end runs into the separator: q holds none, so it cannot.
    mark[p] = 1;
    k = text.indexOf(q, starts[p + 1]);
  }
}

/**
 * The entries of order (positions into rows) whose class index or name contains query (case-insensitive
 * substring), in order; a class whose index is the query exactly comes first. O(C) per query. An empty
 * query gives order itself.
 */
export function filterOrder(order: Int32Array, search: ClassSearch, query: string, rows: readonly ClassStats[]): Int32Array {
  const q = query.trim().toLowerCase().split(SEP).join('');
  if (q === '') return order;
  const mark = new Uint8Array(rows.length);
  markMatches(search.ids, search.idStarts, q, mark);
  markMatches(search.names, search.nameStarts, q, mark);
  const exact = /^\d+$/.test(q) && String(Number(q)) === q ? Number(q) : -1;
  const out = new Int32Array(order.length);
  let m = 0;
  let pinned = -1;
  for (let k = 0; k < order.length; k++) {
    const p = order[k];
    if (mark[p] === 0) continue;
    if (pinned < 0 && rows[p].index === exact) pinned = p;
    else out[m++] = p;
  }
  if (pinned < 0) return out.slice(0, m);
  const res = new Int32Array(m + 1);
  res[0] = pinned;
  res.set(out.subarray(0, m), 1);
  return res;
}

/**
 * The k rows with the largest value of key (NaN left out), largest first, ties in class index order: one
 * O(C) pass keeping a sorted list of k (what the bar chart shows at vocabulary scale).
 */
export function topClasses(rows: readonly ClassStats[], key: 'lossMean' | 'share', k: number): ClassStats[] {
  return topIndices(rows.length, (p) => rows[p][key], k, (p) => rows[p].index).map((p) => rows[p]);
}

/** Formula-like leading characters that spreadsheets would evaluate (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, or leading/trailing space,
 * with quotes doubled. Text that a spreadsheet would run as a formula gets a leading apostrophe.
 */
export function csvField(value: string, isText = true): string {
  let s = value;
  if (isText && FORMULA_START.test(s)) s = `'${s}`;
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s) || s !== value) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

/** Full-precision number for CSV (round-trips exactly); nan / inf / -inf like the CLI. */
export function csvNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return String(v);
}

export const CSV_COLUMNS = ['class', 'name', 'count', 'ignored', 'predicted', 'weight', 'mean_loss', 'loss_sum', 'share', 'accuracy', 'iou'] as const;

/** The class table as CSV (CRLF line ends, header row first), rows in the given order. */
export function classTableCsv(rows: readonly ClassStats[], names: readonly string[] = []): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push([
      String(r.index),
      csvField(className(names, r.index)),
      csvNumber(r.count),
      csvNumber(r.ignored),
      csvNumber(r.predicted),
      csvNumber(r.weight),
      csvNumber(r.lossMean),
      csvNumber(r.lossSum),
      csvNumber(r.share),
      csvNumber(r.accuracy),
      csvNumber(r.iou),
    ].join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
