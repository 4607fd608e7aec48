// The overlay (media/view/heatmap/overlay.ts): compositing over a photo, class colours, contours of target vs
// predicted regions, the legend of classes present, and the controls in the view (happy-dom has no canvas
// or image decoder, so the pixel work is checked as the pure functions the view paints with).
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import { builder } from '../../../../media/view/dom';
import {
  classColourTable, colourOf, composite, contours, drawContours, CONTOUR_BOTH, CONTOUR_PREDICTED, CONTOUR_TARGET, OverlayControls, presentClasses,
} from '../../../../media/view/heatmap/overlay';
import { PALETTE } from '../../../../media/view/render/palette';
import { geometryFor, rasterize } from '../../../../media/view/render/raster';
import { DEFAULT_STATE, sanitizeState } from '../../../../media/view/state';
import { createView, type ViewHandle } from '../../../../media/view/view';
import type { HostToView, ViewToHost } from '../../../../src/protocol';
import { FakeHost, VOC_NAMES } from '../fakeHost';

describe('overlay: pixels', () => {
  it('composites the heatmap over the photo with the given opacity', () => {
    // Two pixels: an opaque heat pixel and a masked (transparent) one.
    const photo = [100, 0, 200, 255, 10, 20, 30, 255];
    const heat = [200, 100, 0, 255, 255, 255, 255, 0];
    // opacity 0.25: 0.25 * heat + 0.75 * photo where the heat is opaque; the photo where it is masked.
    assert.deepEqual([...composite(photo, heat, 0.25)], [125, 25, 150, 255, 10, 20, 30, 255]);
    assert.deepEqual([...composite(photo, heat, 1)], [200, 100, 0, 255, 10, 20, 30, 255]);
    assert.deepEqual([...composite(photo, heat, 0)], [100, 0, 200, 255, 10, 20, 30, 255]);
    // A half-transparent heat pixel at full opacity: half and half.
    assert.deepEqual([...composite([0, 0, 0, 255], [200, 100, 50, 128], 1)].map((v) => Math.round(v)), [100, 50, 25, 255]);
  });

  it('takes class colours from the setting, the palette where it has none', () => {
    const t = classColourTable(['#ff0000', 'not a colour', '#00FF80'], 4);
    assert.deepEqual(colourOf(t, 0), [255, 0, 0]);
    assert.deepEqual(colourOf(t, 1), [...PALETTE[1]]);
    assert.deepEqual(colourOf(t, 2), [0, 255, 128]);
    assert.deepEqual(colourOf(t, 3), [...PALETTE[3]]);
    assert.deepEqual(colourOf(t, -1), [0, 0, 0]);
  });

  it('paints the label modes with the class colours', () => {
    const g = geometryFor([1, 3])!;
    const maps = { loss: [0, 0, 0], target: [0, 2, 1], predicted: [2, 2, 0], ignored: [0, 0, 0], pTarget: null };
    const colours = classColourTable(['#010203', '#040506', '#070809'], 3);
    const opts = { colormap: 'viridis' as const, classFilter: null, showIgnored: true, domain: null, classColours: colours };
    assert.deepEqual([...rasterize(maps, g, 0, { ...opts, mode: 'target' })], [1, 2, 3, 255, 7, 8, 9, 255, 4, 5, 6, 255]);
    assert.deepEqual([...rasterize(maps, g, 0, { ...opts, mode: 'predicted' })], [7, 8, 9, 255, 7, 8, 9, 255, 1, 2, 3, 255]);
  });

  it('marks pixels whose 4-neighbour label differs, target and predicted apart', () => {
    // 4 x 3; target: left half 0, right half 1; predicted: all 5 except the bottom-right pixel 6.
    const W = 4;
    const H = 3;
    const target = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1];
    const predicted = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6];
    const f = contours(target, predicted, W, H);
    // Target boundary: columns 1 and 2 (bit 1). Predicted boundary: pixel 11 and its neighbours 7 and 10 (bit 2).
    assert.deepEqual([...f], [0, 1, 1, 0, 0, 1, 1, 2, 0, 1, 3, 2]);
    // The second slice of a stacked map is read at its offset.
    const f2 = contours([9, ...target], [9, ...predicted], W, H, 1);
    assert.deepEqual([...f2], [...f]);
    const rgba = drawContours(new Uint8ClampedArray(W * H * 4), f);
    assert.deepEqual([...rgba.subarray(4, 8)], [...CONTOUR_TARGET]);
    assert.deepEqual([...rgba.subarray(28, 32)], [...CONTOUR_PREDICTED]);
    assert.deepEqual([...rgba.subarray(40, 44)], [...CONTOUR_BOTH]);
    assert.deepEqual([...rgba.subarray(0, 4)], [0, 0, 0, 0]);
  });

  it('lists the classes present, most frequent first, without ignored pixels', () => {
    const labels = [3, 3, 1, 7, 3, 1, 255, 255, 255];
    const ignored = [0, 0, 0, 0, 0, 0, 1, 1, 1];
    assert.deepEqual(presentClasses(labels, 0, 9, 10, ignored), { classes: [3, 1, 7], more: 0 });
    assert.deepEqual(presentClasses(labels, 0, 9, 2, ignored), { classes: [3, 1], more: 1 });
  });

  it('keeps the overlay settings in the saved state, within range', () => {
    assert.equal(DEFAULT_STATE.overlayOpacity, 0.5);
    assert.equal(sanitizeState({ overlayOpacity: 0.8, contours: true }).overlayOpacity, 0.8);
    assert.equal(sanitizeState({ overlayOpacity: 0.8, contours: true }).contours, true);
    assert.equal(sanitizeState({ overlayOpacity: 3 }).overlayOpacity, 0.5);
  });
});

describe('overlay: controls and view', function () {
  let win: Window | null = null;
  let view: ViewHandle | null = null;
  afterEach(() => {
    view?.dispose();
    view = null;
    void win?.happyDOM.close();
    win = null;
  });

  async function doc(): Promise<Document> {
    const { Window: HappyWindow } = await import('happy-dom');
    win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
    return win.document as unknown as Document;
  }

  it('the opacity slider changes the composite', async () => {
    const d = await doc();
    const patches: Array<{ overlayOpacity?: number; contours?: boolean }> = [];
    const c = new OverlayControls(builder(d), { change: (p) => patches.push(p), choose: () => undefined }, { opacity: 0.5, contours: false, canChoose: true });
    d.body.appendChild(c.el);
    const slider = d.querySelector('[data-testid="overlay-opacity"]') as HTMLInputElement;
    assert.equal(slider.type, 'range');
    assert.equal(slider.value, '50');
    const photo = [0, 0, 0, 255];
    const heat = [200, 200, 200, 255];
    const before = [...composite(photo, heat, 0.5)];
    slider.value = '90';
    slider.dispatchEvent(new win!.Event('input', { bubbles: true }) as unknown as Event);
    assert.deepEqual(patches, [{ overlayOpacity: 0.9 }]);
    const after = [...composite(photo, heat, patches[0].overlayOpacity!)];
    assert.deepEqual(before, [100, 100, 100, 255]);
    assert.deepEqual(after, [180, 180, 180, 255]);
    c.contoursToggle.checked = true;
    c.contoursToggle.dispatchEvent(new win!.Event('change', { bubbles: true }) as unknown as Event);
    assert.deepEqual(patches[1], { contours: true });
  });

  it('the view has the overlay controls, asks the host for an image, and lists the classes present in the legend', async () => {
    const d = await doc();
    const root = d.createElement('div');
    d.body.appendChild(root);
    const posted: ViewToHost[] = [];
    const host = new FakeHost({ lossShape: [2, 12, 16], C: 21, classNames: VOC_NAMES }, (m: HostToView) => setTimeout(() => view?.receive(m), 0));
    view = createView(root, (m) => {
      posted.push(m);
      setTimeout(() => host.handle(m), 0);
    });
    host.handle({ type: 'ready' });
    // Until the sample's maps arrived (the legend shows the loss scale).
    for (let t = 0; t < 200 && !/loss/.test(root.querySelector('.cel-legend')?.textContent ?? ''); t++) await new Promise((r) => setTimeout(r, 10));
    const slider = root.querySelector('[data-testid="overlay-opacity"]') as HTMLInputElement;
    assert.ok(slider, 'no opacity slider');
    const choose = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Choose image…');
    assert.ok(choose && !choose.hidden);
    choose.click();
    assert.deepEqual(posted.filter((m) => m.type === 'chooseImage'), [{ type: 'chooseImage' }]);

    // Target colours: the legend lists the classes of sample 0's non-ignored targets, by name.
    const mode = root.querySelector('select[aria-label="View mode"]') as HTMLSelectElement;
    mode.value = 'target';
    mode.dispatchEvent(new win!.Event('change', { bubbles: true }) as unknown as Event);
    const m = host.sample(0);
    const want = new Set<string>();
    for (let i = 0; i < m.target.length; i++) if (!m.ignored[i]) want.add(`${m.target[i]} (${VOC_NAMES[m.target[i]]})`);
    const legend = root.querySelector('[data-testid="class-legend"]') as HTMLElement;
    assert.ok(legend, 'no class legend');
    const items = [...legend.querySelectorAll('.cel-legend-item')].map((e) => e.textContent ?? '').filter((t) => t !== 'ignored');
    assert.deepEqual(new Set(items), want);

    // Class colours from the summary (setting crossEntropyLens.classColors) colour the table's swatches and the legend.
    const colours = Array.from({ length: 21 }, (_, c) => `#0${(c % 10).toString()}0a0b`);
    view!.receive({ type: 'summary', summary: { ...host.summary(), classColors: colours } });
    view!.receive({ type: 'sample', maps: host.sample(0) });
    const rows = [...root.querySelectorAll('[data-testid="class-table"] tbody tr')].filter((r) => r.querySelector('.cel-rowname'));
    assert.ok(rows.length > 0);
    for (const r of rows) {
      const c = VOC_NAMES.indexOf(r.querySelector('.cel-rowname')?.textContent ?? '');
      assert.ok(c >= 0);
      assert.equal((r.querySelector('.cel-swatch') as HTMLElement).style.backgroundColor.replace(/\s/g, ''), `rgb(${c % 10},10,11)`);
    }
    const sw = [...root.querySelectorAll('[data-testid="class-legend"] .cel-legend-item')].map((e) => [e.textContent, (e.querySelector('.cel-swatch') as HTMLElement).style.backgroundColor.replace(/\s/g, '')]);
    for (const [label, bg] of sw) {
      const c = Number(/^(\d+)/.exec(label ?? '')?.[1] ?? NaN);
      if (Number.isNaN(c)) continue;
      assert.equal(bg, `rgb(${c % 10},10,11)`, `${label}`);
    }
    assert.ok(sw.length > 0);

    // Contours add their key to the legend.
    const toggle = [...root.querySelectorAll('.cel-overlay input[type="checkbox"]')][0] as HTMLInputElement;
    toggle.checked = true;
    toggle.dispatchEvent(new win!.Event('change', { bubbles: true }) as unknown as Event);
    assert.match(root.querySelector('.cel-legend')?.textContent ?? '', /target boundary.*predicted boundary/);
  });

  it('draws the heatmap over a decoded image, scaled to the map, with the slider\'s opacity', async () => {
    const d = await doc();
    const w = win!;
    // happy-dom has no 2-D canvas or image decoder: stand-ins that record what is painted.
    const PHOTO = [40, 80, 120, 255];
    let painted: number[] = [];
    const ctx = {
      imageSmoothingEnabled: true,
      drawImage: () => undefined,
      getImageData: (_x: number, _y: number, gw: number, gh: number) => ({ data: new Uint8ClampedArray(gw * gh * 4).map((_, i) => PHOTO[i % 4]), width: gw, height: gh }),
      putImageData: (img: { data: Uint8ClampedArray }) => {
        painted = [...img.data];
      },
    };
    (w.HTMLCanvasElement.prototype as unknown as { getContext: () => unknown }).getContext = () => ctx;
    const decoded: Array<{ type: string; size: number }> = [];
    (w as unknown as { createImageBitmap: (b: Blob) => Promise<unknown> }).createImageBitmap = async (b: Blob) => {
      decoded.push({ type: b.type, size: b.size });
      return { width: 32, height: 24, close: () => undefined };
    };
    const root = d.createElement('div');
    d.body.appendChild(root);
    const host = new FakeHost({ lossShape: [1, 12, 16], C: 5 }, (m: HostToView) => setTimeout(() => view?.receive(m), 0));
    view = createView(root, (m) => setTimeout(() => host.handle(m), 0));
    host.handle({ type: 'ready' });
    for (let t = 0; t < 200 && painted.length === 0; t++) await new Promise((r) => setTimeout(r, 10));
    const heat = painted;
    assert.equal(heat.length, 16 * 12 * 4);
    // SOI and a baseline frame header (SOF0) for 32 x 24: the view checks the size from it before decoding.
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 24, 0, 32, 1, 1, 0x11, 0]);
    view.receive({ type: 'image', image: { name: 'x.jpg', mime: 'image/jpeg', bytes: jpeg } });
    for (let t = 0; t < 100 && painted === heat; t++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(decoded, [{ type: 'image/jpeg', size: jpeg.length }]);
    assert.match(root.querySelector('.cel-overlay-note')?.textContent ?? '', /x\.jpg \(32×24 scaled to the map's 16×12\)/);
    const expect = (opacity: number): number[] => heat.map((v, i) => {
      if (i % 4 === 3) return 255;
      const a = (heat[i - (i % 4) + 3] / 255) * opacity;
      return Math.round(v * a + PHOTO[i % 4] * (1 - a));
    });
    assert.deepEqual(painted, expect(0.5));
    const slider = root.querySelector('[data-testid="overlay-opacity"]') as HTMLInputElement;
    assert.equal((slider.closest('label') as HTMLElement).hidden, false);
    for (const v of [0, 80, 100]) {
      slider.value = String(v);
      slider.dispatchEvent(new w.Event('input', { bubbles: true }) as unknown as Event);
      assert.deepEqual(painted, expect(v / 100));
    }
    assert.notDeepEqual(expect(0), expect(1));
    // No image: the heatmap alone again.
    view.receive({ type: 'image', image: null });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(painted, heat);
  });

  it('hides Choose image… in a notebook output', async () => {
    const d = await doc();
    const root = d.createElement('div');
    d.body.appendChild(root);
    view = createView(root, () => undefined, { compact: true });
    const choose = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Choose image…');
    assert.ok(choose?.hidden);
  });
});
