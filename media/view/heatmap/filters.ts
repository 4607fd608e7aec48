// What restricts the heatmap: a target class (a class-table row) or a confusion-matrix cell (target and
// predicted). One gives way to the other. The pair filter's line sits under the heatmap toolbar.
import type { ClassTable } from '../tables/classTable';
import { PairFilterLine } from '../tables/confusion';
import type { MapExtra } from './mapSection';
import type { ViewContext, ViewModel } from '../model';
import { countPair, type ClassPair } from '../render/raster';
import type { StatePatch } from '../state';

export class HeatmapFilters {
  /** The "showing target X predicted as Y" line (a MapSection extra). */
  readonly line: MapExtra;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly table: ClassTable, private readonly changed: (scrollToMap: boolean) => void) {
    const line = new PairFilterLine(ctx, model, () => this.setPair(null));
    this.line = { el: line.el, sync: () => line.sync((p) => this.pairCount(p)) };
  }

  /** Elements of a confusion cell in the sample on screen (null while none is). */
  private pairCount(pair: ClassPair): number | null {
    const maps = this.model.maps;
    return maps ? countPair(maps, pair) : null;
  }

  /** Restrict the heatmap to a confusion cell (null: show all again); a class filter gives way to it. */
  setPair(pair: ClassPair | null): void {
    const s = this.ctx.store.state;
    const patch: StatePatch = { pairFilter: pair };
    if (pair !== null && s.classFilter !== null) {
      patch.classFilter = null;
      if (s.mode === 'classLoss') patch.mode = 'loss';
      this.table.setSelected(null);
    }
    this.ctx.store.update(patch);
    this.changed(pair !== null);
  }

  /** A class-table row: show only that class (with its own colour scale), or everything again. */
  toggleClass(c: number): void {
    const s = this.ctx.store.state;
    const clearing = s.classFilter === c;
    const patch: StatePatch = { classFilter: clearing ? null : c, pairFilter: null };
    if (!clearing && s.mode === 'loss') patch.mode = 'classLoss';
    if (clearing && s.mode === 'classLoss') patch.mode = 'loss';
    this.ctx.store.update(patch);
    this.table.setSelected(this.ctx.store.state.classFilter);
    this.table.focusClass(c);
    this.changed(false);
  }

  /**
   * A new summary of C classes: filters past its classes are dropped, and a confusion cell where targets are
   * 0/1 (an elementwise loss has no confusion matrix to pick one from).
   */
  fit(C: number, binary = false): void {
    const s = this.ctx.store.state;
    if (s.classFilter !== null && s.classFilter >= C) this.ctx.store.update({ classFilter: null });
    const pair = s.pairFilter;
    if (pair !== null && (binary || pair.target >= C || pair.predicted >= C)) this.ctx.store.update({ pairFilter: null });
  }
}
