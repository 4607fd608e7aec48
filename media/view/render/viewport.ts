// Zoom, pan and hover math for a map shown in a viewport (pure; no DOM). The map (width x height
// pixels) is scaled by fit * zoom, where fit makes the whole map visible, and (cx, cy) — a point in
// map pixel coordinates — sits at the viewport's centre. Picking uses floor: crisp nearest neighbour.

export interface ViewTransform {
  /** 1 = the whole map fits the viewport. */
  readonly zoom: number;
  /** Map point (in map pixels, 0..width, 0..height) shown at the viewport's centre. */
  readonly cx: number;
  readonly cy: number;
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

export const MIN_ZOOM = 1;
/** The largest zoom makes one map pixel at most this many CSS pixels wide (and at least zoom 1). */
export const MAX_PIXEL_PX = 160;

export function centred(map: Size): ViewTransform {
  return { zoom: 1, cx: map.width / 2, cy: map.height / 2 };
}

export function fitScale(view: Size, map: Size): number {
  if (map.width <= 0 || map.height <= 0 || view.width <= 0 || view.height <= 0) return 1;
  return Math.min(view.width / map.width, view.height / map.height);
}

export function maxZoom(view: Size, map: Size): number {
  return Math.max(MIN_ZOOM, MAX_PIXEL_PX / fitScale(view, map));
}

/** CSS pixels per map pixel. */
export function scaleOf(t: ViewTransform, view: Size, map: Size): number {
  return fitScale(view, map) * t.zoom;
}

/** Keep the zoom in range and the centre on the map. */
export function clampTransform(t: ViewTransform, view: Size, map: Size): ViewTransform {
  const zoom = Math.min(maxZoom(view, map), Math.max(MIN_ZOOM, Number.isFinite(t.zoom) ? t.zoom : 1));
  const cx = Math.min(map.width, Math.max(0, Number.isFinite(t.cx) ? t.cx : map.width / 2));
  const cy = Math.min(map.height, Math.max(0, Number.isFinite(t.cy) ? t.cy : map.height / 2));
  return { zoom, cx, cy };
}

/** Viewport position (CSS pixels from its top-left) of a map point. */
export function mapToScreen(mx: number, my: number, t: ViewTransform, view: Size, map: Size): { x: number; y: number } {
  const s = scaleOf(t, view, map);
  return { x: (mx - t.cx) * s + view.width / 2, y: (my - t.cy) * s + view.height / 2 };
}

/** Map point (fractional map pixels) under a viewport position. */
export function screenToMap(sx: number, sy: number, t: ViewTransform, view: Size, map: Size): { x: number; y: number } {
  const s = scaleOf(t, view, map);
  return { x: (sx - view.width / 2) / s + t.cx, y: (sy - view.height / 2) / s + t.cy };
}

/** The map pixel (integer x, y) under a viewport position, or null outside the map. */
export function screenToCell(sx: number, sy: number, t: ViewTransform, view: Size, map: Size): { x: number; y: number } | null {
  const p = screenToMap(sx, sy, t, view, map);
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  if (x < 0 || y < 0 || x >= map.width || y >= map.height) return null;
  return { x, y };
}

/** Element index of a cell (row-major), or null past `count` (the unused tail of a wrapped strip). */
export function cellToIndex(x: number, y: number, width: number, count: number): number | null {
  const i = y * width + x;
  return i >= 0 && i < count ? i : null;
}

/** Zoom by `factor`, keeping the map point under viewport position (sx, sy) where it is. */
export function zoomAt(t: ViewTransform, factor: number, sx: number, sy: number, view: Size, map: Size): ViewTransform {
  const before = screenToMap(sx, sy, t, view, map);
  const zoom = Math.min(maxZoom(view, map), Math.max(MIN_ZOOM, t.zoom * factor));
  const s = fitScale(view, map) * zoom;
  const next = { zoom, cx: before.x - (sx - view.width / 2) / s, cy: before.y - (sy - view.height / 2) / s };
  return clampTransform(next, view, map);
}

/** Pan by a drag of (dx, dy) CSS pixels: the map follows the pointer. */
export function panBy(t: ViewTransform, dx: number, dy: number, view: Size, map: Size): ViewTransform {
  const s = scaleOf(t, view, map);
  return clampTransform({ zoom: t.zoom, cx: t.cx - dx / s, cy: t.cy - dy / s }, view, map);
}

/** The CSS transform (translate then scale, origin top-left) that draws the map canvas for t. */
export function cssTransform(t: ViewTransform, view: Size, map: Size): { scale: number; tx: number; ty: number } {
  const s = scaleOf(t, view, map);
  const o = mapToScreen(0, 0, t, view, map);
  return { scale: s, tx: o.x, ty: o.y };
}

/** Centre cell (x, y) if it is not fully visible (or always, with force). */
export function ensureVisible(t: ViewTransform, x: number, y: number, view: Size, map: Size, force = false): ViewTransform {
  const a = mapToScreen(x, y, t, view, map);
  const b = mapToScreen(x + 1, y + 1, t, view, map);
  if (!force && a.x >= 0 && a.y >= 0 && b.x <= view.width && b.y <= view.height) return t;
  return clampTransform({ zoom: t.zoom, cx: x + 0.5, cy: y + 0.5 }, view, map);
}
