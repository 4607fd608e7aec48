// The runs view's derived orders (pure, for the sections and their unit tests): classes by their change in
// mean loss, and the images of the improved and regressed tabs.
import type { RunsViewReport } from '../../src/protocol';

export type ClassSortKey = 'rise' | 'drop' | 'class';

export interface ClassChange {
  readonly class: number;
  readonly meanLoss: ReadonlyArray<number | null>;
  /** Last run's mean loss minus the first's; null where either is missing (the class absent from a run). */
  readonly change: number | null;
}

export function classChanges(perClass: RunsViewReport['perClass']): ClassChange[] {
  return perClass.map((c) => {
    const first = c.meanLoss[0] ?? null;
    const last = c.meanLoss[c.meanLoss.length - 1] ?? null;
    return { class: c.class, meanLoss: c.meanLoss, change: first === null || last === null ? null : last - first };
  });
}

/** rise: largest increase first; drop: largest decrease first; null changes last; ties in class order. */
export function sortClasses(items: readonly ClassChange[], key: ClassSortKey): ClassChange[] {
  const out = [...items];
  if (key === 'class') return out.sort((a, b) => a.class - b.class);
  const sign = key === 'rise' ? -1 : 1;
  return out.sort((a, b) => {
    if (a.change === null || b.change === null) return (a.change === null ? 1 : 0) - (b.change === null ? 1 : 0) || a.class - b.class;
    return sign * (a.change - b.change) || a.class - b.class;
  });
}

export type ImageTab = 'regressed' | 'improved';

export interface RankedImage {
  /** perImage index (stem order). */
  readonly index: number;
  readonly delta: number;
}

/**
 * The tabs' lists from the CLI's changed[] (largest increase first): regressed, the images whose value rose,
 * in that order; improved, those whose value fell, largest fall first. Unchanged and NaN images are in
 * neither.
 */
export function imageTabs(changed: RunsViewReport['changed']): Record<ImageTab, RankedImage[]> {
  const regressed: RankedImage[] = [];
  const improved: RankedImage[] = [];
  for (const c of changed) {
    if (c.delta === null || c.index < 0) continue;
    if (c.delta > 0) regressed.push({ index: c.index, delta: c.delta });
    else if (c.delta < 0) improved.push({ index: c.index, delta: c.delta });
  }
  // changed[] runs from the largest rise to the largest fall, so the fallen ones come smallest fall first.
  improved.reverse();
  return { regressed, improved };
}
