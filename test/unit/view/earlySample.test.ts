// Sample 0's maps may reach the view before the summary they belong to (the host sends them as soon as they
// exist, while the rest of the batch computes): the view paints sample 0's loss map at once, alone (a
// preview: the rest of the results stays hidden), then with that summary exactly as if they had come after
// it, without asking the host for them again. A summary that does not claim them, or an error, takes them
// off the canvas.
import * as assert from 'node:assert/strict';
import { DEFAULT_STATE } from '../../../media/view/state';
import { compactSampleMaps } from '../../../src/sampleWire';
import { setup, SEG, type Harness } from './harness';

/** happy-dom has no 2-D canvas: a stand-in that records the last image painted. */
function recordPaints(h: Harness): { last: () => number[] } {
  let painted: number[] = [];
  const ctx = {
    imageSmoothingEnabled: true,
    drawImage: () => undefined,
    clearRect: () => undefined,
    fillRect: () => undefined,
    getImageData: (_x: number, _y: number, w: number, hh: number) => ({ data: new Uint8ClampedArray(w * hh * 4), width: w, height: hh }),
    putImageData: (img: { data: Uint8ClampedArray }) => {
      painted = [...img.data];
    },
  };
  (h.win.HTMLCanvasElement.prototype as unknown as { getContext: () => unknown }).getContext = () => ctx;
  return { last: () => painted };
}

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
});
