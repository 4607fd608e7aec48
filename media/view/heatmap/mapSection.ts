// The heatmap section: its toolbar, the overlay controls, the heatmap with legend and status, and the
// message shown instead when there is no map (a single element, or statistics only).
import type { Breakdown } from '../analysis/breakdown';
import { append, clear } from '../dom';
import { Heatmap } from './heatmap';
import { HeatmapToolbar, type ToolbarEvents } from './heatmapControls';
import type { ViewContext, ViewModel } from '../model';
import { OverlayControls } from './overlay';
import type { ViewMode } from '../render/raster';

export interface MapSectionEvents extends Omit<ToolbarEvents, 'zoom'> {
  /** Element i of the slice was clicked or Enter was pressed on it. */
  explain(i: number): void;
  needClassMaps(): void;
  /** Whether the data on screen can draw a mode (others are disabled in the menu). */
  modeAvailable(mode: ViewMode): boolean;
  /** The single element of an unbatched input: open its breakdown. */
  explainSingle(): void;
}

/** A control row under the toolbar (confidence threshold, confusion filter), kept in line with the state. */
export interface MapExtra {
  readonly el: HTMLElement;
  sync(): void;
}

export class MapSection {
  readonly el: HTMLElement;
  readonly toolbar: HeatmapToolbar;
  readonly overlay: OverlayControls;
  readonly heatmap: Heatmap;
  private readonly message: HTMLElement;

  constructor(private readonly ctx: ViewContext, model: ViewModel, breakdown: Breakdown, private readonly events: MapSectionEvents, private readonly extras: ReadonlyArray<MapExtra> = []) {
    const h = ctx.h;
    const store = ctx.store;
    this.toolbar = new HeatmapToolbar(ctx, model, { ...events, zoom: (f) => this.heatmap.zoom(f) });
    this.overlay = new OverlayControls(h, {
      change: (patch) => {
        store.update(patch);
        this.heatmap.render();
      },
      choose: () => ctx.post({ type: 'chooseImage' }),
    }, { opacity: store.state.overlayOpacity, contours: store.state.contours, canChoose: !ctx.compact && ctx.hostActions });
    this.heatmap = new Heatmap(ctx, model, this.overlay, breakdown, {
      sync: () => this.sync(),
      explain: (i) => events.explain(i),
      needClassMaps: () => events.needClassMaps(),
    });
    this.message = h('p', { class: 'cel-map-message', hidden: true });
    this.el = h('section', { class: 'cel-map', 'aria-label': 'Heatmap' },
      this.toolbar.el, ...extras.map((x) => x.el), this.overlay.el, this.message, this.heatmap.stage, this.heatmap.legend.el, this.heatmap.statusEl);
  }

  sync(): void {
    this.toolbar.sync((m) => this.events.modeAvailable(m));
    for (const x of this.extras) x.sync();
  }

  /** The map parts (there is a map to draw), or the message in their place. */
  show(shown: boolean, spatial: boolean): void {
    this.message.hidden = shown;
    this.heatmap.viewport.hidden = !shown;
    this.toolbar.el.hidden = !shown;
    this.overlay.el.hidden = !shown || !spatial;
    this.heatmap.legend.el.hidden = !shown;
  }

  /** Why there is no map: lossShape [] (one element, which can still be explained) or no maps kept. */
  noMaps(lossShape: readonly number[]): void {
    this.show(false, false);
    clear(this.message);
    if (lossShape.length === 0) {
      const b = this.ctx.h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Explain this element step by step' });
      b.addEventListener('click', () => this.events.explainSingle());
      append(this.message, 'A single element (unbatched input): there is no map to draw. ', b);
    } else {
      this.message.textContent = 'Per-element maps were not kept for this input (it was streamed), so only the statistics are shown.';
    }
  }
}
