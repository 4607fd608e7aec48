// Zoom, pan and picking: canvas position -> map element with crisp nearest-neighbour cells.
import * as assert from 'node:assert/strict';
import {
  cellToIndex, centred, clampTransform, cssTransform, ensureVisible, fitScale, mapToScreen, maxZoom, panBy, screenToCell, screenToMap, zoomAt,
} from '../../../../media/view/render/viewport';

const view = { width: 200, height: 100 };
const map = { width: 100, height: 100 };

describe('view: hover and zoom math', function () {
  it('fits the whole map and centres it', function () {
    assert.equal(fitScale(view, map), 1);
    const t = centred(map);
    assert.deepEqual(mapToScreen(0, 0, t, view, map), { x: 50, y: 0 });
    assert.deepEqual(mapToScreen(100, 100, t, view, map), { x: 150, y: 100 });
    assert.deepEqual(cssTransform(t, view, map), { scale: 1, tx: 50, ty: 0 });
  });

  it('picks cells with floor (crisp pixels) and rejects points off the map', function () {
    const t = centred(map);
    assert.deepEqual(screenToCell(50, 0, t, view, map), { x: 0, y: 0 });
    assert.deepEqual(screenToCell(50.99, 0.99, t, view, map), { x: 0, y: 0 });
    assert.deepEqual(screenToCell(51, 1, t, view, map), { x: 1, y: 1 });
    assert.deepEqual(screenToCell(149.99, 99.99, t, view, map), { x: 99, y: 99 });
    assert.equal(screenToCell(49.9, 10, t, view, map), null);
    assert.equal(screenToCell(150, 10, t, view, map), null);
  });

  it('accounts for zoom and pan', function () {
    const t = { zoom: 4, cx: 10, cy: 20 }; // 4 screen pixels per map pixel, map point (10, 20) at the centre
    assert.deepEqual(screenToCell(100, 50, t, view, map), { x: 10, y: 20 });
    assert.deepEqual(screenToCell(103.9, 53.9, t, view, map), { x: 10, y: 20 });
    assert.deepEqual(screenToCell(104, 54, t, view, map), { x: 11, y: 21 });
    assert.deepEqual(screenToCell(99.9, 50, t, view, map), { x: 9, y: 20 });
    const p = screenToMap(0, 0, t, view, map);
    assert.equal(p.x, -15);
    assert.equal(p.y, 7.5);
    assert.equal(screenToCell(0, 0, t, view, map), null);
  });

  it('zooms about the pointer: the map point under it stays put', function () {
    const t0 = centred(map);
    const before = screenToMap(60, 30, t0, view, map);
    const t1 = zoomAt(t0, 2, 60, 30, view, map);
    assert.equal(t1.zoom, 2);
    const after = screenToMap(60, 30, t1, view, map);
    assert.ok(Math.abs(before.x - after.x) < 1e-9 && Math.abs(before.y - after.y) < 1e-9);
    // Zooming out past fit stops at 1; in past the limit stops at maxZoom.
    assert.equal(zoomAt(t0, 0.1, 60, 30, view, map).zoom, 1);
    assert.equal(zoomAt(t0, 1e6, 60, 30, view, map).zoom, maxZoom(view, map));
    assert.equal(maxZoom(view, map), 160);
  });

  it('pans with the drag and keeps the centre on the map', function () {
    const t = { zoom: 2, cx: 50, cy: 50 };
    const p = panBy(t, 20, -10, view, map);
    assert.equal(p.cx, 40);
    assert.equal(p.cy, 55);
    assert.deepEqual(panBy(t, 1e6, 1e6, view, map), { zoom: 2, cx: 0, cy: 0 });
    assert.deepEqual(clampTransform({ zoom: NaN, cx: 500, cy: -5 }, view, map), { zoom: 1, cx: 100, cy: 0 });
  });

  it('maps cells to element indices, rejecting a strip tail', function () {
    assert.equal(cellToIndex(2, 1, 3, 6), 5);
    assert.equal(cellToIndex(2, 1, 3, 5), null);
    assert.equal(cellToIndex(0, 0, 3, 1), 0);
  });

  it('re-centres a cell only when it is out of view', function () {
    const t = { zoom: 4, cx: 10, cy: 20 };
    assert.equal(ensureVisible(t, 10, 20, view, map), t);
    const moved = ensureVisible(t, 80, 80, view, map);
    assert.deepEqual(moved, { zoom: 4, cx: 80.5, cy: 80.5 });
    assert.deepEqual(ensureVisible(t, 10, 20, view, map, true), { zoom: 4, cx: 10.5, cy: 20.5 });
  });

  it('copes with an unmeasured (zero-size) viewport', function () {
    assert.equal(fitScale({ width: 0, height: 0 }, map), 1);
  });
});
