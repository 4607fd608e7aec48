// The persisted UI state survives garbage from older versions.
import * as assert from 'node:assert/strict';
import { DEFAULT_STATE, sanitizeState, Store, type Timers, type ViewState } from '../../../media/view/state';

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

  it('keeps the new fields (confusion filter, threshold, normalisation) and drops bad ones', function () {
    const s = sanitizeState({ pairFilter: { target: 3, predicted: 5 }, confidenceThreshold: 0.25, confusionNorm: 'column' });
    assert.deepEqual([s.pairFilter, s.confidenceThreshold, s.confusionNorm], [{ target: 3, predicted: 5 }, 0.25, 'column']);
    const bad = sanitizeState({ pairFilter: { target: -1, predicted: 2 }, confidenceThreshold: -1, confusionNorm: 'diag' });
    assert.deepEqual([bad.pairFilter, bad.confidenceThreshold, bad.confusionNorm], [null, DEFAULT_STATE.confidenceThreshold, DEFAULT_STATE.confusionNorm]);
  });

  it('the store reports changes once per pause, and at once when closed', function () {
    const pending = new Map<number, () => void>();
    let next = 1;
    const timers: Timers = {
      setTimeout: (fn) => {
        pending.set(next, fn);
        return next++;
      },
      clearTimeout: (id) => void pending.delete(id),
    };
    const seen: ViewState[] = [];
    const store = new Store(DEFAULT_STATE, timers, (v) => seen.push(v));
    store.update({ n: 1 });
    store.update({ n: 2 });
    assert.equal(pending.size, 1);
    assert.equal(seen.length, 0);
    for (const fn of pending.values()) fn();
    assert.deepEqual(seen.map((v) => v.n), [2]);
    store.update({ slice: 3 });
    store.close();
    assert.deepEqual(seen.map((v) => v.slice), [0, 3]);
    store.update({ n: 9 });
    assert.equal(seen.length, 2, 'nothing after close');
  });
});
