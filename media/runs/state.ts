// What the runs page keeps in the webview's saved state (JSON): the images tab, the classes' sort, and the
// host's request (opaque here; src/host/evaluation/runsPanel.ts's serializer reads it). Pure.
import type { ClassSortKey, ImageTab } from './model';

export interface RunsPageState {
  readonly tab: ImageTab;
  readonly classSort: ClassSortKey;
  readonly host?: unknown;
}

export const DEFAULT_RUNS_STATE: RunsPageState = { tab: 'regressed', classSort: 'rise' };

/** The page state from what vscode.getState() returned; anything unknown falls back to the default. */
export function readRunsState(saved: unknown): RunsPageState {
  if (saved === null || typeof saved !== 'object') return DEFAULT_RUNS_STATE;
  const s = saved as { tab?: unknown; classSort?: unknown; host?: unknown };
  return {
    tab: s.tab === 'improved' || s.tab === 'regressed' ? s.tab : DEFAULT_RUNS_STATE.tab,
    classSort: s.classSort === 'rise' || s.classSort === 'drop' || s.classSort === 'class' ? s.classSort : DEFAULT_RUNS_STATE.classSort,
    host: s.host,
  };
}
