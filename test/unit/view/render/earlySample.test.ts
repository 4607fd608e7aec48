// Sample 0's maps may reach the view before the summary they belong to (the host sends them as soon as they
// exist, while the rest of the batch computes): the view paints sample 0's loss map at once, alone (a
// preview: the rest of the results stays hidden), then with that summary exactly as if they had come after
// it, without asking the host for them again. A summary that does not claim them, or an error, takes them
// off the canvas.
import * as assert from 'node:assert/strict';
import { DEFAULT_STATE } from '../../../../media/view/state';
import { fmt6 } from '../../../../media/view/format';
import { COLORMAPS } from '../../../../media/view/render/colormap';
import { geometryFor, modeDomain, rasterize } from '../../../../media/view/render/raster';
import { mapPreview, previewArrays, PREVIEW_SCALE } from '../../../../src/mapPreview';
import { compactSampleMaps } from '../../../../src/sampleWire';
import { recordPaints, setup, SEG, type Harness } from '../harness';

describe('view: sample maps that come before their summary', function () {
  const open: Harness[] = [];
  afterEach(function () {
    for (const h of open.splice(0)) h.close();
  });

  async function view(state = DEFAULT_STATE): Promise<{ h: Harness; paints: { last: () => number[] } }> {
    const h = await setup(SEG, { initialState: state }, false);
    open.push(h);
    return { h, paints: recordPaints(h) };
  }

  const blank = (px: number[]): boolean => px.length > 0 && px.every((v) => v === 0);

  it('are painted at once, alone, then with the summary as they would be after it, and not asked for again', async function () {
    const usual = await view();
    usual.h.view.receive({ type: 'summary', summary: usual.h.host.summary() });
    usual.h.view.receive({ type: 'sample', maps: compactSampleMaps({ ...usual.h.host.sample(0), pending: true }) });
    await usual.h.settle();
    assert.equal(usual.paints.last().length, 16 * 12 * 4);

    const early = await view();
    early.h.view.receive({ type: 'sample', maps: compactSampleMaps({ ...early.h.host.sample(0), pending: true }) });
    await early.h.settle();
    const results = early.h.root.querySelector('.cel-results') as HTMLElement;
    assert.deepEqual(early.paints.last(), usual.paints.last(), 'the loss map is painted before the summary');
    assert.ok(!results.hidden && results.classList.contains('cel-preview'), 'shown as a preview: the map alone');
    const viewport = early.h.root.querySelector('.cel-viewport') as HTMLElement;
    assert.ok(viewport.inert, 'no keyboard selection before the summary');
    early.h.view.receive({ type: 'summary', summary: early.h.host.summary(), earlySample: true });
    await early.h.settle();
    assert.ok(!results.classList.contains('cel-preview'), 'the summary shows the whole view');
    assert.ok(!viewport.inert, 'interactive with the summary');
    assert.deepEqual(early.paints.last(), usual.paints.last());
    assert.deepEqual(early.h.posted.filter((m) => m.type === 'selectSample'), []);
  });

  it('are taken off the canvas by a summary that does not claim them (another computation\'s)', async function () {
    const { h, paints } = await view();
    h.view.receive({ type: 'sample', maps: { ...h.host.sample(1), n: 0, pending: true } });
    await h.settle();
    assert.ok(paints.last().length > 0 && !blank(paints.last()), 'previewed');
    h.view.receive({ type: 'summary', summary: h.host.summary() });
    await h.settle();
    assert.ok(blank(paints.last()), 'the held maps are not left on the canvas');
    h.view.receive({ type: 'sample', maps: h.host.sample(0) });
    await h.settle();
    const usual = await view();
    usual.h.view.receive({ type: 'summary', summary: usual.h.host.summary() });
    usual.h.view.receive({ type: 'sample', maps: usual.h.host.sample(0) });
    await usual.h.settle();
    assert.deepEqual(paints.last(), usual.paints.last());
  });

  it('are not previewed in a mode that needs the summary, nor when the view shows another sample', async function () {
    for (const state of [{ ...DEFAULT_STATE, mode: 'top1' as const }, { ...DEFAULT_STATE, mode: 'target' as const }, { ...DEFAULT_STATE, n: 1 }]) {
      const { h, paints } = await view(state);
      h.view.receive({ type: 'sample', maps: { ...h.host.sample(0), pending: true } });
      await h.settle();
      assert.equal(paints.last().length, 0, `nothing painted before the summary in ${JSON.stringify({ mode: state.mode, n: state.n })}`);
      assert.ok((h.root.querySelector('.cel-results') as HTMLElement).hidden);
    }
  });

  it('a view showing another sample asks for that one and paints it', async function () {
    const { h, paints } = await view({ ...DEFAULT_STATE, n: 1 });
    h.view.receive({ type: 'sample', maps: { ...h.host.sample(0), pending: true } });
    h.view.receive({ type: 'summary', summary: h.host.summary(), earlySample: true });
    await h.settle();
    assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample'), [{ type: 'selectSample', n: 1 }]);
    // The host answers with sample 1, which is what is painted.
    const one = await view({ ...DEFAULT_STATE, n: 1 });
    one.h.view.receive({ type: 'summary', summary: one.h.host.summary() });
    one.h.view.receive({ type: 'sample', maps: one.h.host.sample(1) });
    await one.h.settle();
    assert.deepEqual(paints.last(), one.paints.last());
  });

  it('are dropped by an error before the summary', async function () {
    const { h, paints } = await view();
    h.view.receive({ type: 'sample', maps: { ...h.host.sample(0), pending: true } });
    await h.settle();
    assert.ok(!blank(paints.last()), 'previewed');
    h.view.receive({ type: 'error', message: 'x.npy: bad' });
    h.view.receive({ type: 'summary', summary: h.host.summary(), earlySample: true });
    await h.settle();
    assert.ok(blank(paints.last()), 'no stale maps painted');
  });

  it('a map preview, before the maps, is painted as the maps paint, and the maps and summary then take over', async function () {
    const usual = await view();
    usual.h.view.receive({ type: 'summary', summary: usual.h.host.summary() });
    usual.h.view.receive({ type: 'sample', maps: usual.h.host.sample(0) });
    await usual.h.settle();

    const { h, paints } = await view();
    const m = h.host.sample(0);
    const preview = mapPreview(m, 0)!;
    h.view.receive({ type: 'preview', preview });
    await h.settle();
    assert.deepEqual(paints.last(), usual.paints.last(), 'the preview is the picture the maps give');
    const legend = h.root.querySelector('.cel-legend')?.textContent ?? '';
    assert.match(legend, new RegExp(fmt6(preview.domain.max).replace(/[.+]/g, '\\$&')), 'the legend gives the domain\'s top');
    assert.ok((h.root.querySelector('.cel-results') as HTMLElement).classList.contains('cel-preview'));
    h.view.receive({ type: 'sample', maps: compactSampleMaps({ ...m, pending: true }) });
    h.view.receive({ type: 'summary', summary: h.host.summary(), earlySample: true });
    await h.settle();
    assert.deepEqual(paints.last(), usual.paints.last());
    assert.ok(!(h.root.querySelector('.cel-results') as HTMLElement).classList.contains('cel-preview'));
    assert.deepEqual(h.posted.filter((p) => p.type === 'selectSample'), []);
    // Only for the scale and clip it was made for, and only before the summary.
    for (const state of [{ ...DEFAULT_STATE, clip: 99 }, { ...DEFAULT_STATE, scale: 'log' as const }, { ...DEFAULT_STATE, mode: 'pTarget' as const }]) {
      const other = await view(state);
      other.h.view.receive({ type: 'preview', preview: mapPreview(other.h.host.sample(0), 0)! });
      await other.h.settle();
      assert.equal(other.paints.last().length, 0, `no preview in ${JSON.stringify({ mode: state.mode, scale: state.scale, clip: state.clip })}`);
    }
    const late = await view();
    late.h.view.receive({ type: 'summary', summary: late.h.host.summary() });
    await late.h.settle();
    late.h.view.receive({ type: 'preview', preview: mapPreview(late.h.host.sample(1), 0)! });
    await late.h.settle();
    assert.ok(!late.paints.last().length || blank(late.paints.last()), 'a preview after the summary is not drawn');
  });

  it('a map preview gives the colours of the maps for every value, colormap and ignored setting, in a fifth of the bytes', function () {
    const S = 40 * 30;
    let seed = 5;
    const rnd = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const loss = Float32Array.from({ length: S }, (_, i) => (i % 97 === 0 ? NaN : i % 89 === 0 ? Infinity : i % 83 === 0 ? 0 : rnd() ** 3 * 9));
    const ignored = Uint8Array.from({ length: S }, (_, i) => (i % 13 === 0 ? 1 : 0));
    loss[26] = 1e6; // ignored (26 = 2 x 13): not in the domain
    const maps = { n: 0, shape: [30, 40], loss, target: new Int32Array(S), predicted: new Int32Array(S), ignored, pTarget: null };
    const g = geometryFor([30, 40])!;
    for (const at of [{ scale: 'linear' as const, clip: 100 }, { scale: 'linear' as const, clip: 99 }, { scale: 'log' as const, clip: 95 }]) {
      const domain = modeDomain(maps, { mode: 'loss', scale: at.scale, clip: at.clip, classFilter: null });
      const p = mapPreview(maps, 0, at)!;
      assert.deepEqual(p.domain, domain, `the view's own domain (${JSON.stringify(at)})`);
      const arrays = previewArrays(p)!;
      assert.deepEqual([...arrays.ignored], [...ignored]);
      const stand = { ...maps, loss: new Float32Array(S), ignored: arrays.ignored };
      for (const colormap of COLORMAPS) {
        for (const showIgnored of [true, false]) {
          const want = rasterize(maps, g, 0, { mode: 'loss', colormap, classFilter: null, showIgnored, domain });
          const got = rasterize(stand, g, 0, { mode: 'loss', colormap, classFilter: null, showIgnored, domain: p.domain, lutIndices: arrays.lut });
          assert.deepEqual(got, want, `${colormap}, showIgnored ${showIgnored}, ${JSON.stringify(at)}`);
        }
      }
    }
    assert.deepEqual(PREVIEW_SCALE, { scale: DEFAULT_STATE.scale, clip: DEFAULT_STATE.clip }, 'made for the state a fresh view starts in');
    // Bytes: index + two bit masks, against the compacted maps the host would send.
    const p = mapPreview(maps, 0)!;
    const previewBytes = p.index.byteLength + p.ignoredBits.byteLength + p.nanBits.byteLength;
    const c = compactSampleMaps(maps);
    const mapBytes = c.loss.byteLength + c.target.byteLength + c.predicted.byteLength + c.ignored.byteLength;
    assert.ok(previewBytes * 5 <= mapBytes, `${previewBytes} bytes against ${mapBytes}`);
    // Arrays that do not fit the shape are refused, and a map with no finite loss has no preview.
    assert.equal(previewArrays({ ...p, index: p.index.subarray(1) }), null);
    assert.equal(previewArrays({ ...p, nanBits: new Uint8Array(1) }), null);
    assert.equal(mapPreview({ ...maps, loss: new Float32Array(S).fill(NaN) }, 0), null);
  });
});
