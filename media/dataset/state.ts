// What the dataset page keeps in the webview's saved state (JSON), so a window reload or a hidden tab's
// reload brings the view back as it was: the image table's sort, and the host's request (opaque here; the
// serializer in src/host/evaluation/datasetPanel.ts reads it). Pure.
import { DEFAULT_IMAGE_SORT, type ImageSort, type ImageSortKey } from './model';

export interface DatasetPageState {
  readonly sort: ImageSort;
  readonly host?: unknown;
}

const SORT_KEYS: readonly ImageSortKey[] = ['name', 'value', 'pixelAccuracy', 'miou', 'worstClass'];

/** A saved sort, or the default where the state holds none (a first load) or something else. */
export function sanitizeSort(v: unknown): ImageSort {
  if (v === null || typeof v !== 'object') return DEFAULT_IMAGE_SORT;
  const s = v as { key?: unknown; descending?: unknown };
  if (!SORT_KEYS.includes(s.key as ImageSortKey) || typeof s.descending !== 'boolean') return DEFAULT_IMAGE_SORT;
  return { key: s.key as ImageSortKey, descending: s.descending };
}

/** The page state from what vscode.getState() returned (undefined on a first load). */
export function readPageState(saved: unknown): DatasetPageState {
  if (saved === null || typeof saved !== 'object') return { sort: DEFAULT_IMAGE_SORT };
  const s = saved as { sort?: unknown; host?: unknown };
  return { sort: sanitizeSort(s.sort), host: s.host };
}
