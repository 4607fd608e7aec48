// The persisted UI state survives garbage from older versions.
import * as assert from 'node:assert/strict';
import { DEFAULT_STATE, sanitizeState } from '../../../media/view/state';

describe('view: state', function () {
  it('keeps valid fields and replaces invalid ones', function () {
    const s = sanitizeState({
      n: 3, slice: -1, mode: 'error', colormap: 'magma', scale: 'log', clip: 250, classFilter: 4, probClass: 'x', showIgnored: false,
      zoom: 0.2, cx: 12.5, cy: null, pixel: 7, sort: { key: 'iou', dir: 'up' }, bars: 'share', extra: true,
    });
    assert.equal(s.n, 3);
    assert.equal(s.slice, 0);
    assert.equal(s.mode, 'error');
    assert.equal(s.colormap, 'magma');
    assert.equal(s.scale, 'log');
    assert.equal(s.clip, 100);
    assert.equal(s.classFilter, 4);
    assert.equal(s.probClass, null);
    assert.equal(s.showIgnored, false);
    assert.equal(s.zoom, 1);
    assert.equal(s.cx, 12.5);
    assert.equal(s.cy, null);
    assert.equal(s.pixel, 7);
    assert.deepEqual(s.sort, { key: 'iou', dir: 'asc' });
    assert.equal(s.bars, 'share');
    assert.ok(!('extra' in s));
  });

  it('falls back to the defaults', function () {
    assert.deepEqual(sanitizeState(undefined), DEFAULT_STATE);
    assert.deepEqual(sanitizeState('nonsense'), DEFAULT_STATE);
    assert.deepEqual(sanitizeState({ mode: 'bogus', colormap: 'jet' }), DEFAULT_STATE);
    const base = { ...DEFAULT_STATE, colormap: 'turbo' as const };
    assert.equal(sanitizeState({}, base).colormap, 'turbo');
  });

  it('round-trips through JSON', function () {
    const s = sanitizeState({ ...DEFAULT_STATE, classFilter: 2, cx: 3, cy: 4, pixel: 9 });
    assert.deepEqual(sanitizeState(JSON.parse(JSON.stringify(s))), s);
  });
});
