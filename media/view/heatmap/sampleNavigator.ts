// Moving the heatmap to another sample, or to one element of a sample, for every section that points into
// the maps (the heatmap toolbar, the token view's sequence picker, the worst list). The maps of a sample
// come from the host, so a move asks for them and waits: the heatmap shows it is loading, and an element
// picked in a sample not yet on screen gets its info once that sample's maps arrive (arrived()).
import type { MapSection } from './mapSection';
import type { ViewContext, ViewModel } from '../model';
import type { ProbabilityMaps } from '../analysis/multiples';
import { flatOf } from '../../../src/mapLayout';
import { geometryFor, sliceAndIndex } from '../render/raster';

export class SampleNavigator {
  /** Element whose info to show once the requested sample arrives. */
  private pendingInfo: number | null = null;

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, private readonly map: MapSection, private readonly multiples: ProbabilityMaps) {}

  /** Ask the host for sample n's maps (ask = false: the host sends them unasked), and its class maps when shown. */
  request(n: number, ask = true): void {
    this.map.heatmap.setLoading(n);
    if (ask) this.ctx.post({ type: 'selectSample', n });
    if (this.multiples.wanted) this.ctx.post({ type: 'requestClassMaps', n });
  }

  /** Shows sample n (heatmap toolbar, token view sequence choice). */
  goSample(n: number): void {
    const s = this.model.summary;
    if (!s || !this.model.spatial) return;
    const N = s.lossShape[0];
    const m = Math.min(N - 1, Math.max(0, Math.round(n)));
    if (!Number.isFinite(m)) return;
    const store = this.ctx.store;
    if (m === store.state.n && this.model.maps?.n === m) {
      this.map.sync();
      return;
    }
    store.update({ n: m, pixel: null });
    this.model.classMaps = null;
    this.map.heatmap.tooltip.hide();
    this.map.sync();
    this.request(m);
    this.multiples.render();
  }

  /** Select the sample of a loss-map index and centre the element on the heatmap. */
  goToElement(index: readonly number[]): void {
    const s = this.model.summary;
    if (!s || !s.mapsAvailable) return;
    const layout = this.model.layout;
    if (!layout) return;
    const spatial = layout.perSample;
    const g = geometryFor(layout.shape);
    if (!g) return;
    const heatmap = this.map.heatmap;
    const store = this.ctx.store;
    const n = spatial ? index[0] : -1;
    // A map of every sample (a strip, a matrix) holds the loss map's elements in flat order, whatever its rank.
    const [slice, i] = spatial ? sliceAndIndex(g, index.slice(1)) : [0, flatOf(index, s.lossShape)];
    store.update({ slice });
    heatmap.centreOn(i);
    const maps = this.model.maps;
    if (spatial && (n !== store.state.n || !maps || maps.n !== n)) {
      store.update({ n });
      this.model.classMaps = null;
      heatmap.tooltip.hide();
      this.map.sync();
      this.pendingInfo = i;
      this.request(n);
      heatmap.applyTransform();
    } else {
      heatmap.render();
      heatmap.showCellInfo(i, true);
    }
  }

  /** A sample's maps are on screen (count elements per slice): show the info a pick was waiting for. */
  arrived(count: number): void {
    if (this.pendingInfo !== null && this.pendingInfo < count) this.map.heatmap.showCellInfo(this.pendingInfo, true);
    this.pendingInfo = null;
  }
}
