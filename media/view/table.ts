// Per-class table logic: sorting and CSV (pure; no DOM).
import type { ClassStats } from '../../src/kernel/types';
import { className } from './format';

export type SortKey = 'class' | 'name' | 'count' | 'ignored' | 'weight' | 'lossMean' | 'lossSum' | 'share' | 'accuracy' | 'iou';
export type SortDir = 'asc' | 'desc';
export interface SortSpec {
  readonly key: SortKey;
  readonly dir: SortDir;
}
export const SORT_KEYS: readonly SortKey[] = ['class', 'name', 'count', 'ignored', 'weight', 'lossMean', 'lossSum', 'share', 'accuracy', 'iou'];
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

function numeric(row: ClassStats, key: Exclude<SortKey, 'class' | 'name'>): number {
  return row[key];
}

/**
 * Rows sorted by a column. NaN (an empty class's mean, accuracy or IoU) always goes last, whichever the
 * direction; ties keep class index order. The class column sorts by class index ('name' by name).
 */
export function sortClasses(rows: readonly ClassStats[], spec: SortSpec, names: readonly string[] = []): ClassStats[] {
  const sign = spec.dir === 'asc' ? 1 : -1;
  const key = spec.key;
  if (key === 'class') return [...rows].sort((a, b) => sign * (a.index - b.index));
  if (key === 'name') {
    const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
    return [...rows].sort((a, b) => sign * collator.compare(className(names, a.index), className(names, b.index)) || a.index - b.index);
  }
  return [...rows].sort((a, b) => {
    const va = numeric(a, key);
    const vb = numeric(b, key);
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na || nb) return na && nb ? a.index - b.index : na ? 1 : -1;
    const d = va === vb ? 0 : va < vb ? -1 : 1;
    return sign * d || a.index - b.index;
  });
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
