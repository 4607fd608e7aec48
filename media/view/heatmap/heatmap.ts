// The heatmap: a canvas at map size inside a viewport that zooms and pans it with a CSS transform (crisp
// nearest-neighbour cells), a marker for the selected element, the hover read-out, the legend and a live
// status line. Pointer: hover, drag to pan, click to explain, wheel to zoom. Keys: arrows move the selected
// element, Enter explains it, + and - zoom, 0 fits, Escape hides the read-out.
import type { ViewContext, ViewModel } from '../model';
import { HeatmapPainter } from './heatmapPaint';
import { Legend } from './legend';
import type { OverlayControls } from './overlay';
import type { Geometry } from '../render/raster';
import type { Breakdown } from '../analysis/breakdown';
import { CellTooltip, type HoverCell } from './tooltip';
import {
  cellToIndex, centred, clampTransform, cssTransform, ensureVisible, mapToScreen, panBy, scaleOf, screenToCell, zoomAt,
  type Size, type ViewTransform,
} from '../render/viewport';

export interface HeatmapEvents {
  /** Bring the controls in line with the state before a redraw. */
  sync(): void;
  /** Element i of the slice was clicked or Enter was pressed on it. */
  explain(i: number): void;
  /** p(class c) mode has no class maps for this sample yet. */
  needClassMaps(): void;
}

export class Heatmap {
  readonly stage: HTMLElement;
  readonly viewport: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly statusEl: HTMLElement;
  readonly legend: Legend;
  readonly painter: HeatmapPainter;
  readonly tooltip: CellTooltip;
  private readonly marker: HTMLElement;
  private readonly loadingEl: HTMLElement;
  private transform: ViewTransform = { zoom: 1, cx: 0, cy: 0 };
  private drag: { x: number; y: number; moved: boolean; id: number } | null = null;
  /** The sample asked for and not yet arrived (hover waits for it). */
  loading: number | null = null;
  private resizeObserver: ResizeObserver | null = null;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, overlay: OverlayControls, breakdown: Breakdown, private readonly events: HeatmapEvents) {
    const h = ctx.h;
    this.canvas = h('canvas', { class: 'cel-canvas', 'data-testid': 'heatmap', width: 1, height: 1, 'aria-hidden': 'true' });
    this.marker = h('div', { class: 'cel-marker', hidden: true });
    this.loadingEl = h('div', { class: 'cel-loading', hidden: true });
    this.viewport = h('div', {
      class: 'cel-viewport', tabindex: 0, role: 'application',
      'aria-roledescription': 'heatmap',
      'aria-label': 'Heatmap. Arrow keys move the selected element, Enter explains it, plus and minus zoom, 0 fits.',
    }, this.canvas, this.marker, this.loadingEl);
    this.tooltip = new CellTooltip(ctx, model, breakdown);
    // The tooltip sits beside the viewport (not inside its overflow clip), at the same origin.
    this.stage = h('div', { class: 'cel-stage' }, this.viewport, this.tooltip.el);
    this.legend = new Legend(ctx, model);
    this.statusEl = h('div', { class: 'cel-status', 'aria-live': 'polite' });
    this.painter = new HeatmapPainter(ctx, model, overlay, this.canvas);
    this.wire();
  }

  dispose(): void {
    this.resizeObserver?.disconnect();
    for (const c of this.cleanups) c();
  }

  setLoading(n: number | null): void {
    this.loading = n;
    this.loadingEl.textContent = n === null ? '' : n >= 0 ? `Loading sample ${n}…` : 'Loading…';
    this.loadingEl.hidden = n === null;
  }

  /** The stored view of the map when it fits this geometry, else the whole map. */
  resetTransformFor(g: Geometry | null): void {
    if (!g) return;
    const s = this.ctx.store.state;
    const t = s.cx !== null && s.cy !== null && s.cx <= g.width && s.cy <= g.height ? { zoom: s.zoom, cx: s.cx, cy: s.cy } : centred(g);
    this.transform = clampTransform(t, this.viewSize(), g);
  }

  viewSize(): Size {
    return { width: this.viewport.clientWidth || 0, height: this.viewport.clientHeight || 0 };
  }

  /** Viewport height follows the map's aspect within limits; then re-apply the transform. */
  layout(): void {
    const g = this.model.geometry;
    if (!g) return;
    const width = this.viewport.clientWidth;
    if (width > 0) {
      const maxH = this.ctx.compact ? 260 : Math.max(280, Math.min(560, (this.ctx.win?.innerHeight ?? 800) * 0.6));
      const minH = g.wrapped ? 48 : 160;
      const height = Math.round(Math.min(maxH, Math.max(minH, (width * g.height) / g.width)));
      this.viewport.style.height = `${height}px`;
    }
    this.applyTransform();
  }

  applyTransform(): void {
    const g = this.model.geometry;
    if (!g) return;
    const view = this.viewSize();
    this.transform = clampTransform(this.transform, view, g);
    const t = cssTransform(this.transform, view, g);
    this.canvas.style.transform = `translate(${t.tx}px, ${t.ty}px) scale(${t.scale})`;
    this.placeMarker();
    const cell = this.tooltip.cell;
    if (cell) this.tooltip.position(cell.sx, cell.sy, view.width, view.height);
  }

  private setTransform(t: ViewTransform): void {
    this.transform = t;
    this.ctx.store.update({ zoom: t.zoom, cx: t.cx, cy: t.cy });
    this.applyTransform();
  }

  /** Zoom by a factor about the viewport's centre, or fit the whole map. */
  zoom(factor: number | 'fit'): void {
    const g = this.model.geometry;
    if (!g) return;
    if (factor === 'fit') return this.setTransform(centred(g));
    const view = this.viewSize();
    this.setTransform(zoomAt(this.transform, factor, view.width / 2, view.height / 2, view, g));
  }

  /** Centre element i (of the slice) and zoom in enough to see it; the state keeps the view. */
  centreOn(i: number): void {
    const g = this.model.geometry;
    if (!g) return;
    const s = this.ctx.store.state;
    const zoom = Math.max(s.zoom, Math.min(8, Math.max(1, Math.min(g.width, g.height) / 32)));
    this.transform = clampTransform({ zoom, cx: (i % g.width) + 0.5, cy: Math.floor(i / g.width) + 0.5 }, this.viewSize(), g);
    this.ctx.store.update({ pixel: i, zoom: this.transform.zoom, cx: this.transform.cx, cy: this.transform.cy });
    this.viewport.focus({ preventScroll: true });
    this.viewport.scrollIntoView?.({ block: 'nearest' });
  }

  placeMarker(): void {
    const g = this.model.geometry;
    const p = this.ctx.store.state.pixel;
    if (!g || p === null || p >= g.count) {
      this.marker.hidden = true;
      return;
    }
    const view = this.viewSize();
    const a = mapToScreen(p % g.width, Math.floor(p / g.width), this.transform, view, g);
    const s = scaleOf(this.transform, view, g);
    const size = Math.max(s, 8);
    const off = (size - s) / 2;
    this.marker.style.left = `${a.x - off}px`;
    this.marker.style.top = `${a.y - off}px`;
    this.marker.style.width = `${size}px`;
    this.marker.style.height = `${size}px`;
    this.marker.hidden = false;
  }

  /** Draw what the state asks for (re-rasterizing only what changed), the legend and the read-out. */
  render(): void {
    const g = this.model.geometry;
    const s = this.ctx.store.state;
    this.events.sync();
    if (!g || !this.model.maps) {
      this.legend.render(null);
      this.applyTransform();
      return;
    }
    if (s.mode === 'classProb' && !this.model.classProbPlane(s.probClass)) this.events.needClassMaps();
    this.painter.paint(g);
    this.legend.render(this.painter.domain);
    this.applyTransform();
    if (this.tooltip.cell) this.tooltip.render();
  }

  private cellAt(clientX: number, clientY: number): HoverCell | null {
    const g = this.model.geometry;
    if (!g || !this.model.maps || this.loading !== null) return null;
    const rect = this.viewport.getBoundingClientRect();
    const sx = clientX - rect.left;
    const sy = clientY - rect.top;
    const cell = screenToCell(sx, sy, this.transform, this.viewSize(), g);
    if (!cell) return null;
    const i = cellToIndex(cell.x, cell.y, g.width, g.count);
    return i === null ? null : { i, sx, sy };
  }

  private hoverAt(cell: HoverCell | null): void {
    const v = this.viewSize();
    this.tooltip.hover(cell, v.width, v.height);
  }

  /** The element the status line last announced. */
  private announced: number | null = null;

  /**
   * The host's details of the element under the read-out came: its tooltip shows them, and where that
   * element is the one announced, the status line takes the lines they add (confidence values, say).
   */
  detailArrived(): void {
    this.tooltip.render();
    const i = this.announced;
    if (i === null || this.tooltip.cell?.i !== i) return;
    const text = this.tooltip.lines(i).join('; ');
    if (this.statusEl.textContent !== text) this.statusEl.textContent = text;
  }

  /** Show the info of element i for keyboard or worst-list selection (read-out at the cell, live text). */
  showCellInfo(i: number, announce: boolean): void {
    const g = this.model.geometry;
    if (!g) return;
    this.placeMarker();
    if (announce) {
      this.announced = i;
      this.statusEl.textContent = this.tooltip.lines(i).join('; ');
    }
    if (!this.model.maps) return;
    const view = this.viewSize();
    const p = mapToScreen((i % g.width) + 1, Math.floor(i / g.width) + 1, this.transform, view, g);
    this.hoverAt({ i, sx: Math.min(view.width, Math.max(0, p.x)), sy: Math.min(view.height, Math.max(0, p.y)) });
  }

  private selectPixel(i: number, announce: boolean): void {
    this.ctx.store.update({ pixel: i });
    const g = this.model.geometry;
    if (g) {
      const t = ensureVisible(this.transform, i % g.width, Math.floor(i / g.width), this.viewSize(), g);
      if (t !== this.transform) this.setTransform(t);
    }
    this.showCellInfo(i, announce);
  }

  private listen<K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, fn: (e: HTMLElementEventMap[K]) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, fn as EventListener, options);
    this.cleanups.push(() => target.removeEventListener(type, fn as EventListener, options));
  }

  private wire(): void {
    const vp = this.viewport;
    this.listen(vp, 'pointerdown', (e) => {
      if (e.button !== 0 || !this.model.geometry) return;
      this.drag = { x: e.clientX, y: e.clientY, moved: false, id: e.pointerId };
      try {
        vp.setPointerCapture(e.pointerId);
      } catch {
        // Not supported: dragging still works while the pointer stays inside.
      }
    });
    this.listen(vp, 'pointermove', (e) => {
      const d = this.drag;
      const g = this.model.geometry;
      if (d && g) {
        const dx = e.clientX - d.x;
        const dy = e.clientY - d.y;
        if (d.moved || Math.abs(dx) + Math.abs(dy) > 3) {
          d.moved = true;
          d.x = e.clientX;
          d.y = e.clientY;
          vp.classList.add('cel-dragging');
          this.tooltip.hide();
          this.setTransform(panBy(this.transform, dx, dy, this.viewSize(), g));
          return;
        }
      }
      // The pointer reads out what it is over now: a later detail is not the keyboard's announcement.
      this.announced = null;
      this.hoverAt(this.cellAt(e.clientX, e.clientY));
    });
    const endDrag = (e: PointerEvent): void => {
      const d = this.drag;
      this.drag = null;
      vp.classList.remove('cel-dragging');
      if (d && !d.moved && e.type === 'pointerup') {
        const cell = this.cellAt(e.clientX, e.clientY);
        if (cell) {
          this.ctx.store.update({ pixel: cell.i });
          this.placeMarker();
          this.events.explain(cell.i);
        }
      }
    };
    this.listen(vp, 'pointerup', endDrag);
    this.listen(vp, 'pointercancel', endDrag);
    this.listen(vp, 'pointerleave', () => {
      if (!this.drag) this.tooltip.hide();
    });
    this.listen(vp, 'wheel', (e) => {
      const g = this.model.geometry;
      if (!g) return;
      e.preventDefault();
      const rect = vp.getBoundingClientRect();
      const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      this.setTransform(zoomAt(this.transform, factor, e.clientX - rect.left, e.clientY - rect.top, this.viewSize(), g));
      this.hoverAt(this.cellAt(e.clientX, e.clientY));
    }, { passive: false });
    this.listen(vp, 'keydown', (e) => this.onKey(e));
    this.listen(vp, 'blur', () => {
      if (!this.drag) this.tooltip.hide();
    });

    const win = this.ctx.win;
    const RO = win?.ResizeObserver;
    if (RO) {
      this.resizeObserver = new RO(() => this.layout());
      this.resizeObserver.observe(vp);
      this.resizeObserver.observe(this.ctx.root);
    } else if (win) {
      const onResize = (): void => this.layout();
      win.addEventListener('resize', onResize);
      this.cleanups.push(() => win.removeEventListener('resize', onResize));
    }
  }

  private onKey(e: KeyboardEvent): void {
    const g = this.model.geometry;
    if (!g || !this.model.maps) return;
    const step = e.shiftKey ? 10 : 1;
    const cur = this.ctx.store.state.pixel ?? Math.min(g.count - 1, Math.floor(g.height / 2) * g.width + Math.floor(g.width / 2));
    let x = cur % g.width;
    let y = Math.floor(cur / g.width);
    switch (e.key) {
      case 'ArrowLeft': x = Math.max(0, x - step); break;
      case 'ArrowRight': x = Math.min(g.width - 1, x + step); break;
      case 'ArrowUp': y = Math.max(0, y - step); break;
      case 'ArrowDown': y = Math.min(g.height - 1, y + step); break;
      case 'Home': x = 0; break;
      case 'End': x = g.width - 1; break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.events.explain(cur);
        return;
      case '+':
      case '=':
        e.preventDefault();
        this.zoom(1.5);
        return;
      case '-':
      case '_':
        e.preventDefault();
        this.zoom(1 / 1.5);
        return;
      case '0':
        e.preventDefault();
        this.zoom('fit');
        return;
      case 'Escape':
        this.tooltip.hide();
        return;
      default:
        return;
    }
    e.preventDefault();
    this.selectPixel(cellToIndex(x, y, g.width, g.count) ?? g.count - 1, true);
  }
}
