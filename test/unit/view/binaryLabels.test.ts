// Elementwise losses (bce, sigmoid focal) in the view: an element's target and prediction are the 0/1 of the
// class its position along the class axis names, so the worst-elements list and the tooltip say
// "dog: target 0 · predicted 1", never "target 0 (person)" (class 0's name on a binary 0). The summary comes
// from the real kernel on a multi-label pair; the expected worst element from the formula, in float64.
import * as assert from 'node:assert/strict';
import { binaryElementClass, fmt6, targetLines } from '../../../media/view/format';
import { WorstList } from '../../../media/view/tables/worst';
import { builder } from '../../../media/view/dom';
import { ViewModel } from '../../../media/view/model';
import { geometryFor, rasterize } from '../../../media/view/render/raster';
import { computeLoss } from '../../../src/kernel/index';
import { sampleGeometry, sampleTensor } from '../../../src/kernel/sample/sampleView';
import { MATRIX_MAP_ELEMENTS, MATRIX_MAX_ASPECT, mapLayout } from '../../../src/mapLayout';
import { toViewSummary, type SampleMaps, type ViewSummary } from '../../../src/protocol';
import { compareResults, elementClasses } from '../../../src/worker/engine/compareSession';
import type { Tensor } from '../../../src/tensor/tensor';
import { change, key, recordPaints, SEG, setup } from './harness';

const TAGS = ['person', 'dog', 'cat'];
// Four photos x three tags: photo 2 is tagged "no dog" where the model is sure of one (the worst element).
const X = [2.1, -1.5, -2.0, -1.2, 1.8, -0.4, 0.3, 4.2, -1.1, -2.5, -0.9, 1.6];
const T = [1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1];

function summaryOf(loss: 'bce' | 'sigmoid-focal', input: Tensor, target: Tensor, classDim?: number): ViewSummary {
  const r = computeLoss({ input, target, options: { loss, reduction: 'mean', ...(classDim !== undefined ? { classDim } : {}) } });
  return toViewSummary(r, {
    title: 't', input: { label: 'x', shape: input.shape, dtype: input.dtype }, target: { label: 'y', shape: target.shape, dtype: target.dtype },
    weight: null, classNames: TAGS, seconds: 0, engine: 'test', mapsAvailable: true,
  });
}

describe('view: elementwise losses name the class an element stands for', function () {
  const input: Tensor = { dtype: 'float32', shape: [4, 3], data: Float32Array.from(X) };
  const target: Tensor = { dtype: 'float32', shape: [4, 3], data: Float32Array.from(T) };

  for (const loss of ['bce', 'sigmoid-focal'] as const) {
    it(`${loss}: the worst-elements list`, async function () {
      const { Window } = await import('happy-dom');
      const win = new Window();
      const doc = win.document as unknown as Document;
      const s = summaryOf(loss, input, target);
      assert.equal(s.targetKind, 'binary');
      // binary_cross_entropy_with_logits per element, float64; sigmoid focal's ordering is the same here.
      const bce = X.map((x, i) => Math.max(x, 0) - x * T[i] + Math.log1p(Math.exp(-Math.abs(x))));
      const k = bce.indexOf(Math.max(...bce));
      const [n, c] = [Math.floor(k / 3), k % 3];
      assert.deepEqual([n, c], [2, 1], 'the planted element is the worst');
      const list = new WorstList(builder(doc), () => undefined);
      doc.body.appendChild(list.el);
      list.render(s);
      const first = list.el.querySelector('.cel-worst-item')?.textContent ?? '';
      assert.equal(first, `[${n}, ${c}] loss ${fmt6(s.worst[0].loss)} · ${c} (${TAGS[c]}): target ${T[k]} · predicted ${X[k] > 0 ? 1 : 0}`);
      assert.doesNotMatch(first, /\(person\)/);
      win.close();
    });
  }

  it('the tooltip lines, and the class axis where it is not 1', function () {
    const s = summaryOf('bce', input, target);
    assert.deepEqual(targetLines(s, [2, 1], 0, 1, false), ['class 1 (dog)', 'target 0', 'predicted 1']);
    // Class-last [2, 2, 3] (classDim -1): the last coordinate names the class.
    const x3: Tensor = { dtype: 'float32', shape: [2, 2, 3], data: Float32Array.from(X) };
    const t3: Tensor = { dtype: 'float32', shape: [2, 2, 3], data: Float32Array.from(T) };
    const s3 = summaryOf('bce', x3, t3, -1);
    assert.equal(binaryElementClass(s3, [1, 0, 2]), 2);
    assert.deepEqual(targetLines(s3, [1, 0, 2], 1, 1, false), ['class 2 (cat)', 'target 1', 'predicted 1']);
    // bce on [N] logits has no class axis: no class line.
    const s1 = summaryOf('bce', { dtype: 'float32', shape: [4], data: Float32Array.from(X.slice(0, 4)) }, { dtype: 'float32', shape: [4], data: Float32Array.from(T.slice(0, 4)) });
    assert.equal(binaryElementClass(s1, [3]), null);
    assert.deepEqual(targetLines(s1, [3], 0, 0, false), ['target 0', 'predicted 0']);
    // Cross-entropy keeps class indices with their names.
    const ce = computeLoss({ input: { dtype: 'float32', shape: [4, 3], data: Float32Array.from(X) }, target: { dtype: 'int64', shape: [4], data: Int32Array.from([0, 1, 1, 2]) }, options: {} });
    const sce = toViewSummary(ce, { title: 't', input: { label: 'x', shape: [4, 3], dtype: 'float32' }, target: { label: 'y', shape: [4], dtype: 'int64' }, weight: null, classNames: TAGS, seconds: 0, engine: 'test', mapsAvailable: true });
    assert.equal(binaryElementClass(sce, [2]), null);
    assert.deepEqual(targetLines(sce, [2], 1, 2, false), ['target 1 (dog)', 'predicted 2 (cat)']);
  });
});

/** The maps the host sends for a result whose loss map is drawn whole (n = -1), as LossSession slices them. */
function wholeMaps(r: ReturnType<typeof computeLoss>, shape: readonly number[]): SampleMaps {
  return { n: -1, shape, loss: Float32Array.from(r.lossMap), target: r.targetClass.slice(), predicted: r.predicted.slice(), ignored: r.ignoredMask.slice(), pTarget: null };
}

describe('view: a multi-label [N, C] loss is one map, samples down and classes across', function () {
  const input: Tensor = { dtype: 'float32', shape: [4, 3], data: Float32Array.from(X) };
  const target: Tensor = { dtype: 'float32', shape: [4, 3], data: Float32Array.from(T) };

  it('mapLayout: the matrix for bce and sigmoid focal on [N, C] up to MATRIX_MAP_ELEMENTS, a sample at a time otherwise', function () {
    for (const loss of ['bce', 'sigmoid-focal'] as const) {
      assert.deepEqual(mapLayout([16, 6], loss), { perSample: false, shape: [16, 6] });
      assert.deepEqual(mapLayout([1024, 1024], loss), { perSample: false, shape: [1024, 1024] }, 'MATRIX_MAP_ELEMENTS exactly');
      assert.equal(MATRIX_MAP_ELEMENTS, 1024 * 1024);
      assert.deepEqual(mapLayout([1025, 1024], loss), { perSample: true, shape: [1024] }, 'one element more: a row at a time');
      assert.deepEqual(mapLayout([0, 6], loss), { perSample: true, shape: [6] }, 'no samples: nothing to draw whole');
      // Fitted with square cells, a matrix far longer than wide would be a sliver: a row per sample then.
      assert.equal(MATRIX_MAX_ASPECT, 16);
      assert.deepEqual(mapLayout([1280, 80], loss), { perSample: false, shape: [1280, 80] }, '16:1');
      assert.deepEqual(mapLayout([5000, 80], loss), { perSample: true, shape: [80] }, '62.5:1');
      assert.deepEqual(mapLayout([64, 1000], loss), { perSample: false, shape: [64, 1000] });
      // A binary classifier's [N, 1], or one sample's [1, C]: a strip of every loss, as a classification's.
      assert.deepEqual(mapLayout([16, 1], loss), { perSample: false, shape: [16] }, 'one tag');
      assert.deepEqual(mapLayout([1, 6], loss), { perSample: false, shape: [6] }, 'one sample');
      assert.deepEqual(mapLayout([MATRIX_MAP_ELEMENTS + 1, 1], loss), { perSample: true, shape: [1] }, 'above the limit: a sample at a time');
      assert.deepEqual(mapLayout([2, 3, 8, 8], loss), { perSample: true, shape: [3, 8, 8] }, 'multi-label segmentation: a sample at a time');
      assert.deepEqual(mapLayout([5], loss), { perSample: false, shape: [5] });
    }
    // Cross-entropy: [N, T] is a batch of sequences (the token view), [N, H, W] of images: a sample at a time.
    assert.deepEqual(mapLayout([16, 6], 'ce'), { perSample: true, shape: [6] });
    assert.deepEqual(mapLayout([16, 6], 'focal'), { perSample: true, shape: [6] });
    assert.deepEqual(mapLayout([50000], 'ce'), { perSample: false, shape: [50000] });
  });

  it('the host\'s geometry agrees: one strip of every element, the input whole for the probabilities', function () {
    for (const loss of ['bce', 'sigmoid-focal'] as const) {
      const r = computeLoss({ input, target, options: { loss, reduction: 'none' } });
      const g = sampleGeometry({ lossShape: r.lossShape, options: r.options, input });
      assert.deepEqual(g, { samples: 1, strip: true, shape: [4, 3], S: 12, C: 1 });
      assert.deepEqual([...sampleTensor(input, 0, r.options, g)], [...input.data]);
      // Larger than the matrix: sample 2's row, as before.
      const big = { lossShape: [1025, 1024], options: r.options, input: { shape: [1025, 1024] } };
      assert.deepEqual(sampleGeometry(big), { samples: 1025, strip: false, shape: [1024], S: 1024, C: 1 });
    }
  });

  for (const loss of ['bce', 'sigmoid-focal'] as const) {
    it(`${loss}: the view draws [4, 3] as a 3 x 4 map with no sample selector, and reads elements as (n, c)`, async function () {
      const h = await setup(SEG, {}, false);
      try {
        const r = computeLoss({ input, target, options: { loss, reduction: 'mean' } });
        const s = summaryOf(loss, input, target);
        h.view.receive({ type: 'summary', summary: s });
        h.view.receive({ type: 'sample', maps: wholeMaps(r, [4, 3]) });
        await h.settle();
        const c = h.$<HTMLCanvasElement>('[data-testid="heatmap"]');
        assert.equal(c.width, 3, 'classes across');
        assert.equal(c.height, 4, 'samples down');
        assert.ok(h.$('.cel-toolbar .cel-group').hidden, 'no sample selector: every sample is on the map');
        assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample'), [], 'the host sends the matrix with the summary');
        const vp = h.$('.cel-viewport');
        // From the centre (row 2, column 1) to the row's start and back.
        key(h, vp, 'Home');
        key(h, vp, 'ArrowRight');
        const status = h.$('.cel-status').textContent ?? '';
        assert.ok(status.includes('(n, c) = (2, 1)'), status);
        assert.ok(status.includes('class 1 (dog)'), status);
        assert.ok(status.includes(`loss ${fmt6(r.lossMap[7])}`), status);
        await h.settle(200);
        assert.equal(h.states.at(-1)?.pixel, 2 * 3 + 1, 'row 2, column 1');
        key(h, vp, 'ArrowLeft');
        await h.settle(200);
        // One probability per element: no p(class c) mode, no per-class probability maps.
        assert.ok(h.$<HTMLOptionElement>('select[aria-label="View mode"] option[value="classProb"]').disabled);
        assert.ok(h.$('.cel-multiples').hidden);
        // The target mode's legend reads 0 and 1, not classes 0 and 1 of the class table.
        change(h, h.$<HTMLSelectElement>('select[aria-label="View mode"]'), 'target');
        await h.settle();
        const legend = h.$('[data-testid="class-legend"]').textContent ?? '';
        assert.doesNotMatch(legend, /person|dog/, legend);
        change(h, h.$<HTMLSelectElement>('select[aria-label="View mode"]'), 'loss');
        await h.settle();
        // The worst element (photo 2, dog) selects its cell in place: no other sample to ask for.
        h.$$<HTMLButtonElement>('.cel-worst-item')[0].click();
        await h.settle(200);
        assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample'), []);
        assert.equal(h.states.at(-1)?.pixel, 7, 'back on row 2, column 1');
      } finally {
        h.close();
      }
    });
  }

  it('the class filter keeps a tag\'s column (the class an element stands for, not its 0/1 target)', async function () {
    const r = computeLoss({ input, target, options: { loss: 'sigmoid-focal', reduction: 'none' } });
    const s = summaryOf('sigmoid-focal', input, target);
    const model = new ViewModel();
    model.summary = s;
    model.maps = wholeMaps(r, [4, 3]);
    model.geometry = geometryFor([4, 3]);
    const classes = model.elementClasses();
    assert.deepEqual([...classes!], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const g = model.geometry!;
    const rgba = rasterize(model.maps, g, 0, { mode: 'classLoss', colormap: 'viridis', classFilter: 1, elementClasses: classes, showIgnored: false, domain: null });
    const drawn = Array.from({ length: 12 }, (_, i) => rgba[i * 4 + 3] > 0);
    assert.deepEqual(drawn, Array.from(classes!, (c) => c === 1), 'only column 1 (dog) is drawn');
    // Per sample ([N, C, H, W] multi-label segmentation): sample 1's elements are its classes' planes.
    const seg = { ...s, lossShape: [2, 3, 2, 2] };
    model.summary = seg;
    model.maps = { ...model.maps, n: 1, shape: [3, 2, 2] };
    model.geometry = geometryFor([3, 2, 2]);
    assert.deepEqual([...model.elementClasses()!], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    // Class-index targets: the target is the class, no separate array.
    model.summary = { ...s, targetKind: 'index' };
    assert.equal(model.elementClasses(), null);
  });

  it('a class row on the matrix paints only that tag\'s column, and the legend spans its losses only', async function () {
    const h = await setup(SEG, {}, false);
    try {
      const paints = recordPaints(h);
      const r = computeLoss({ input, target, options: { loss: 'sigmoid-focal', reduction: 'mean' } });
      h.view.receive({ type: 'summary', summary: summaryOf('sigmoid-focal', input, target) });
      h.view.receive({ type: 'sample', maps: wholeMaps(r, [4, 3]) });
      await h.settle();
      h.$('[data-testid="class-table"] tbody tr[data-class="1"]').click();
      await h.settle();
      const px = paints.last();
      assert.equal(px.length, 12 * 4);
      assert.deepEqual(Array.from({ length: 12 }, (_, k) => px[k * 4 + 3] > 0), Array.from({ length: 12 }, (_, k) => k % 3 === 1), 'column 1 (dog) alone');
      const dog = [1, 4, 7, 10].map((k) => r.lossMap[k]);
      const legend = h.$('.cel-legend').textContent ?? '';
      assert.ok(legend.includes(fmt6(Math.max(...dog))) && legend.includes(fmt6(Math.min(...dog))), `the dog column's range: ${legend}`);
    } finally {
      h.close();
    }
  });

  it('options that change the layout (ce\'s strip to bce\'s matrix) drop the selected element and the sample', async function () {
    const h = await setup(SEG, {}, false);
    try {
      const ce = computeLoss({ input, target: { dtype: 'int64', shape: [4], data: Int32Array.from([0, 1, 1, 2]) }, options: {} });
      h.view.receive({ type: 'summary', summary: toViewSummary(ce, { title: 't', input: { label: 'x', shape: [4, 3], dtype: 'float32' }, target: { label: 'y', shape: [4], dtype: 'int64' }, weight: null, classNames: TAGS, seconds: 0, engine: 'test', mapsAvailable: true }) });
      h.view.receive({ type: 'sample', maps: { ...wholeMaps(ce, [4]) } });
      await h.settle();
      key(h, h.$('.cel-viewport'), 'End');
      await h.settle(200);
      assert.equal(h.states.at(-1)?.pixel, 3, 'sample 3 of the strip');
      const r = computeLoss({ input, target, options: { loss: 'bce', reduction: 'mean' } });
      h.view.receive({ type: 'summary', summary: summaryOf('bce', input, target) });
      h.view.receive({ type: 'sample', maps: wholeMaps(r, [4, 3]) });
      await h.settle(200);
      assert.equal(h.states.at(-1)?.pixel, null, 'element 3 of the matrix is another thing: not selected');
    } finally {
      h.close();
    }
  });

  it('the class of an element of sample n is counted from that sample\'s place in the loss map (class axis 0)', function () {
    const x3: Tensor = { dtype: 'float32', shape: [3, 2, 2], data: Float32Array.from(X) };
    const t3: Tensor = { dtype: 'float32', shape: [3, 2, 2], data: Float32Array.from(T) };
    const s = summaryOf('bce', x3, t3, 0);
    const model = new ViewModel();
    model.summary = s;
    const r = computeLoss({ input: x3, target: t3, options: { loss: 'bce', classDim: 0, reduction: 'none' } });
    model.maps = { ...wholeMaps(r, [2, 2]), n: 2, loss: Float32Array.from(r.lossMap.subarray(8, 12)) };
    model.geometry = geometryFor([2, 2]);
    assert.deepEqual([...model.elementClasses()!], [2, 2, 2, 2], 'sample 2 is class 2 on axis 0');
    // bce on [N]: each element is a class of its own, as the class table lists them.
    const s1 = summaryOf('bce', { dtype: 'float32', shape: [4], data: Float32Array.from(X.slice(0, 4)) }, { dtype: 'float32', shape: [4], data: Float32Array.from(T.slice(0, 4)) });
    assert.equal(s1.perClass.length, 4);
    model.summary = s1;
    model.maps = { ...model.maps, n: -1, shape: [4], loss: new Float32Array(4) };
    model.geometry = geometryFor([4]);
    assert.deepEqual([...model.elementClasses()!], [0, 1, 2, 3]);
  });

  it('Compare Losses on a multi-label pair: per-tag means of each run, not of the 0/1 targets', function () {
    const a = computeLoss({ input, target, options: { loss: 'bce', reduction: 'none' } });
    const halved: Tensor = { ...input, data: Float32Array.from(X, (v) => v / 2) };
    const b = computeLoss({ input: halved, target, options: { loss: 'bce', reduction: 'none' } });
    type Run = Parameters<typeof compareResults>[0];
    const run = (r: typeof a, x: Tensor): Run & { maps: NonNullable<Run['maps']> } => ({
      input: { shape: x.shape, dtype: x.dtype }, lossShape: r.lossShape, options: r.options, targetKind: r.targetKind,
      // The comparison reads the class count of the statistics alone.
      stats: { numClasses: 3 } as Run['stats'],
      maps: { loss: r.lossMap, targetClass: r.targetClass, predicted: r.predicted, ignored: r.ignoredMask } as NonNullable<Run['maps']>,
    });
    assert.deepEqual(Array.from(elementClasses(run(a, input))), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const m = compareResults(run(a, input), run(b, halved), 'a', 'b');
    for (let c = 0; c < 3; c++) {
      const ks = [0, 1, 2, 3].map((n) => n * 3 + c);
      const meanA = ks.reduce((acc, k) => acc + a.lossMap[k], 0) / 4;
      const meanB = ks.reduce((acc, k) => acc + b.lossMap[k], 0) / 4;
      assert.ok(Math.abs(m.perClass[c].meanA - meanA) < 1e-12 && Math.abs(m.perClass[c].meanB - meanB) < 1e-12, `tag ${c}`);
    }
  });

  it('a binary classifier\'s [N, 1] is a strip of its N losses: the hover and the worst list address (n, 0)', async function () {
    const x1: Tensor = { dtype: 'float32', shape: [6, 1], data: Float32Array.from(X.slice(0, 6)) };
    const t1: Tensor = { dtype: 'float32', shape: [6, 1], data: Float32Array.from(T.slice(0, 6)) };
    const r = computeLoss({ input: x1, target: t1, options: { loss: 'bce', reduction: 'mean' } });
    const g = sampleGeometry({ lossShape: r.lossShape, options: r.options, input: x1 });
    assert.deepEqual(g, { samples: 1, strip: true, shape: [6], S: 6, C: 1 }, 'the host sends the six losses at once');
    const h = await setup(SEG, {}, false);
    try {
      h.view.receive({ type: 'summary', summary: summaryOf('bce', x1, t1) });
      h.view.receive({ type: 'sample', maps: wholeMaps(r, [6]) });
      await h.settle();
      const c = h.$<HTMLCanvasElement>('[data-testid="heatmap"]');
      assert.deepEqual([c.width, c.height], [6, 1]);
      assert.ok(h.$('.cel-toolbar .cel-group').hidden, 'no sample selector');
      const worst = r.lossMap.indexOf(Math.max(...r.lossMap));
      h.$$<HTMLButtonElement>('.cel-worst-item')[0].click();
      await h.settle(200);
      assert.equal(h.states.at(-1)?.pixel, worst, `the worst sample ${worst}`);
      const status = h.$('.cel-status').textContent ?? '';
      assert.ok(status.includes(`(n, c) = (${worst}, 0)`), status);
      assert.ok(status.includes(`loss ${fmt6(r.lossMap[worst])}`), status);
      assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample'), []);
    } finally {
      h.close();
    }
  });
});
