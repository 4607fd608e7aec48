// The dataset view's data (pure; no DOM): the images received so far, their sort order, the histogram of
// their losses and the thumbnails' shared colour scale. Rows arrive in completion order; the view shows
// them sorted, worst first unless the user sorts otherwise.
import type { DatasetImageRow, DatasetLabelIssueRow } from '../../src/protocol';

export type ImageSortKey = 'name' | 'value' | 'pixelAccuracy' | 'miou' | 'worstClass' | 'labelIssues' | 'labelQuality';
export interface ImageSort {
  readonly key: ImageSortKey;
  readonly descending: boolean;
}

/** Worst first: the highest loss at the top. */
export const DEFAULT_IMAGE_SORT: ImageSort = { key: 'value', descending: true };

/**
 * Compares two rows by `sort`: missing figures (null: NaN, or no labelled pixel) go last in either
 * direction, and ties keep stem order, so the order never depends on arrival.
 */
export function compareRows(a: DatasetImageRow, b: DatasetImageRow, sort: ImageSort): number {
  if (sort.key === 'name') {
    const c = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    return (sort.descending ? -c : c) || a.index - b.index;
  }
  const va = a[sort.key] ?? null;
  const vb = b[sort.key] ?? null;
  if (va === null || vb === null) return va === null ? (vb === null ? a.index - b.index : 1) : -1;
  const c = va - vb;
  return (sort.descending ? -c : c) || a.index - b.index;
}

export class ImageStore {
  private readonly byIndex = new Map<number, DatasetImageRow>();
  private order: DatasetImageRow[] = [];
  private dirty = false;
  private thumbs = new Map<number, Float32Array>();
  /** The largest finite thumbnail value so far: one colour scale for every row, so rows compare. */
  thumbMax = 0;

  constructor(public sort: ImageSort = DEFAULT_IMAGE_SORT) {}

  get size(): number {
    return this.byIndex.size;
  }

  clear(): void {
    this.hasLabelIssues = false;
    this.byIndex.clear();
    this.thumbs.clear();
    this.order = [];
    this.thumbMax = 0;
    this.dirty = false;
  }

  /** Adds rows (a row sent again replaces the one of the same index). */
  add(rows: readonly DatasetImageRow[], decode: (base64: string) => Float32Array): void {
    for (const r of rows) {
      this.byIndex.set(r.index, r);
      if (r.thumbnail) {
        const data = decode(r.thumbnail.base64);
        this.thumbs.set(r.index, data);
        for (let i = 0; i < data.length; i++) {
          const v = data[i];
          if (v > this.thumbMax && Number.isFinite(v)) this.thumbMax = v;
        }
      }
    }
    this.dirty = true;
  }

  setSort(sort: ImageSort): void {
    this.sort = sort;
    this.dirty = true;
  }

  /** Whether the rows carry label-issue figures (Find likely label errors ran). */
  hasLabelIssues = false;

  /** Each image's label-issue figures, merged into its row. */
  setLabelIssues(rows: readonly DatasetLabelIssueRow[]): void {
    for (const r of rows) {
      const row = this.byIndex.get(r.index);
      if (row) this.byIndex.set(r.index, { ...row, labelIssues: r.labelIssues, labelQuality: r.labelQuality });
    }
    this.hasLabelIssues = true;
    this.dirty = true;
  }

  /** The rows in display order. */
  sorted(): readonly DatasetImageRow[] {
    if (this.dirty) {
      const s = this.sort;
      this.order = [...this.byIndex.values()].sort((a, b) => compareRows(a, b, s));
      this.dirty = false;
    }
    return this.order;
  }

  thumbnail(index: number): Float32Array | undefined {
    return this.thumbs.get(index);
  }

  values(): number[] {
    const out: number[] = [];
    for (const r of this.byIndex.values()) if (r.value !== null) out.push(r.value);
    return out;
  }
}

export interface Histogram {
  readonly lo: number;
  readonly hi: number;
  readonly counts: readonly number[];
}

/** Equal-width bins [lo, hi] over the finite values (the last bin closed); null when there are none. */
export function histogram(values: readonly number[], bins = 20): Histogram | null {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  // One value (or all equal): a single bin of its own width.
  const n = hi > lo ? bins : 1;
  const counts = new Array<number>(n).fill(0);
  for (const x of v) counts[hi > lo ? Math.min(n - 1, Math.floor(((x - lo) / (hi - lo)) * n)) : 0]++;
  return { lo, hi, counts };
}

/** A base64 string of little-endian float32 bytes as a Float32Array. */
export function decodeFloat32(base64: string): Float32Array {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer, 0, bytes.length >> 2);
}
