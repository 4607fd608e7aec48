// The step-by-step breakdown built from the kernel's explanation and the summary.
import * as assert from 'node:assert/strict';
import { buildBreakdown, MAX_ROWS } from '../../../../media/view/analysis/explain';
import { computeLoss, explainElement, type LossRequest } from '../../../../src/kernel/index';
import { explainedForView } from '../../../../src/kernel/sample/explainRows';
import { topIndices } from '../../../../src/kernel/topIndices';
import type { ElementDetail, ViewSummary } from '../../../../src/protocol';

function summaryFor(req: LossRequest, classNames: string[] = []): ViewSummary {
  const r = computeLoss(req);
  const s = r.stats;
  return {
    title: '', input: { label: 'x', shape: req.input.shape, dtype: req.input.dtype }, target: { label: 't', shape: req.target.shape, dtype: req.target.dtype },
    weight: req.weight ? Array.from(req.weight.data as Float32Array) : null, options: r.options, value: r.value, numerator: r.numerator,
    denominator: r.denominator, targetKind: r.targetKind, lossShape: r.lossShape, classNames, perClass: s.perClass, confusion: Array.from(s.confusion), topConfusions: s.topConfusions,
    ignoredCount: s.ignoredCount, elementCount: s.elementCount, accuracy: s.accuracy, nanCount: s.nanCount, infCount: s.infCount, worst: s.worst,
    seconds: 0, engine: 'test', mapsAvailable: true,
  };
}

function detailFor(req: LossRequest, flat: number, n: number, index: number[]): ElementDetail {
  return { n, index, explanation: explainedForView(explainElement(req, flat)), top: [] };
}

const text = (steps: ReadonlyArray<{ label: string; formula: string }>): string => steps.map((s) => `${s.label}: ${s.formula}`).join('\n');

describe('view: step-by-step breakdown', function () {
  const req: LossRequest = {
    input: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 0, 0, 0]) },
    target: { dtype: 'int64', shape: [2], data: Int32Array.from([0, 2]) },
    weight: { dtype: 'float32', shape: [3], data: Float32Array.from([2, 1, 0.5]) },
    options: { labelSmoothing: 0.1 },
  };

  it('walks logits through max, exp, sum, softmax, -log p, weight, smoothing and the mean', function () {
    const s = summaryFor(req, ['cat', 'dog', 'bird']);
    const b = buildBreakdown(detailFor(req, 0, -1, [0]), s);
    assert.deepEqual(b.columns, ['class', 'logit x', 'x − max', 'exp(x − max)', 'p = softmax', 'log p', 'target q', 'weight']);
    assert.equal(b.rows.length, 3);
    assert.equal(b.hidden, 0);
    const r0 = b.rows[0];
    assert.equal(r0.label, '0 (cat)');
    assert.equal(r0.isTarget, true);
    assert.equal(r0.shifted, -2);
    assert.ok(Math.abs((r0.exp as number) - Math.exp(-2)) < 1e-12);
    assert.equal(b.rows[2].isPredicted, true);
    const all = text(b.steps);
    assert.match(all, /m = max_c x_c = 3/);
    const S = 1 + Math.exp(-1) + Math.exp(-2);
    assert.match(all, new RegExp(`S = Σ_c e_c = ${Number(S.toPrecision(6))}`));
    assert.match(all, /w\[target\] = 2/);
    assert.match(all, /Label smoothing ε = 0.1/);
    assert.match(all, /Reduction: mean: loss = Σ loss \/ Σ w\[target\] over non-ignored elements = /);
    assert.ok(all.includes(`${Number(s.numerator.toPrecision(6))} / ${Number(s.denominator.toPrecision(6))} = ${Number((s.value as number).toPrecision(6))}`));
    assert.equal(s.denominator, 2.5);
  });

  it('says when an element is ignored', function () {
    const r2: LossRequest = { ...req, weight: null, options: { ignoreIndex: 2, reduction: 'sum' } };
    const b = buildBreakdown(detailFor(r2, 1, -1, [1]), summaryFor(r2));
    const all = text(b.steps);
    assert.match(all, /target 2 = ignore_index 2: loss 0/);
    assert.match(all, /Reduction: sum: loss = Σ loss = /);
  });

  it('covers probabilities and log-probabilities as input and reduction none', function () {
    const probs: LossRequest = {
      input: { dtype: 'float32', shape: [1, 2], data: Float32Array.from([0.25, 0.75]) },
      target: { dtype: 'int64', shape: [1], data: Int32Array.from([1]) },
      options: { inputKind: 'probs', reduction: 'none' },
    };
    const b = buildBreakdown(detailFor(probs, 0, -1, [0]), summaryFor(probs));
    assert.deepEqual(b.columns, ['class', 'probability x', 'p = softmax', 'log p']);
    const all = text(b.steps);
    assert.match(all, /log p_c = log\(x_c\)/);
    assert.match(all, /−log p\[target\] = 0.287682/);
    assert.match(all, /Reduction: none/);
    const lp: LossRequest = { ...probs, input: { dtype: 'float32', shape: [1, 2], data: Float32Array.from([-1, -0.5]) }, options: { inputKind: 'log-probs' } };
    assert.match(text(buildBreakdown(detailFor(lp, 0, -1, [0]), summaryFor(lp)).steps), /used as given/);
  });

  it('covers probability targets', function () {
    const soft: LossRequest = {
      input: { dtype: 'float32', shape: [1, 2], data: Float32Array.from([0, 1]) },
      target: { dtype: 'float32', shape: [1, 2], data: Float32Array.from([0.3, 0.7]) },
    };
    const b = buildBreakdown(detailFor(soft, 0, -1, [0]), summaryFor(soft));
    assert.ok(b.columns.includes('target q'));
    assert.match(text(b.steps), /loss = −Σ_c q_c · log p_c/);
    assert.match(text(b.steps), /Σ loss \/ elements/);
  });

  it('keeps the target and the most probable classes when there are many', function () {
    const C = 40;
    const x = Float32Array.from({ length: C }, (_, c) => c / 10);
    const many: LossRequest = { input: { dtype: 'float32', shape: [1, C], data: x }, target: { dtype: 'int64', shape: [1], data: Int32Array.from([3]) } };
    const b = buildBreakdown(detailFor(many, 0, -1, [0]), summaryFor(many));
    assert.equal(b.rows.length, MAX_ROWS);
    assert.equal(b.hidden, C - MAX_ROWS);
    assert.ok(b.rows.some((r) => r.cls === 3 && r.isTarget));
    assert.ok(b.rows.some((r) => r.cls === 39 && r.isPredicted));
    assert.deepEqual(b.rows.map((r) => r.cls), [...b.rows.map((r) => r.cls)].sort((a, c) => a - c));
    assert.equal(b.heading, 'Element (0)');
  });

  it('gets the rows alone from the host: a million classes send twelve values a column, the same rows and steps as from all', function () {
    const C = 1_000_000;
    const x = Float32Array.from({ length: C }, (_, c) => Math.sin(c * 0.37) * 4);
    x[777_777] = 9;
    x[5] = 9; // a tie for the prediction: the first class wins
    const big: LossRequest = { input: { dtype: 'float32', shape: [1, C], data: x }, target: { dtype: 'int64', shape: [1], data: Int32Array.from([123_456]) } };
    const full = explainElement(big, 0);
    const e = explainedForView(full);
    assert.equal(e.C, C);
    assert.equal(e.predicted, 5);
    assert.equal(e.classes.length, MAX_ROWS);
    assert.ok(JSON.stringify(e).length < 2000, `${JSON.stringify(e).length} characters`);
    // The rows a full sort would choose: the target, the prediction, then by probability (ties: smaller class).
    const order = Array.from({ length: C }, (_, c) => c).sort((a, b) => full.probs[b] - full.probs[a] || a - b);
    const want = new Set([123_456, 5]);
    for (const c of order) if (want.size < MAX_ROWS) want.add(c);
    assert.deepEqual(e.classes, [...want].sort((a, b) => a - b));
    e.classes.forEach((c, i) => {
      assert.equal(e.inputs[i], full.inputs[c]);
      assert.equal(e.probs[i], full.probs[c]);
      assert.equal(e.logProbs[i], full.logProbs[c]);
      assert.equal(e.expShifted![i], full.expShifted![c]);
    });
    const b = buildBreakdown({ n: -1, index: [0], explanation: e, top: [] }, summaryFor(big));
    assert.equal(b.hidden, C - MAX_ROWS);
    assert.ok(b.rows.find((r) => r.cls === 123_456)!.isTarget);
    assert.ok(b.rows.find((r) => r.cls === 5)!.isPredicted);
    assert.ok(text(b.steps).includes(`−log p[target] = ${Number((-full.logProbs[123_456]).toPrecision(6))}`), text(b.steps));
  });

  it('topIndices: the k largest in one pass, ties to the smaller class, as a stable sort gives them', function () {
    const keys = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, Infinity, 0, 9];
    for (const k of [1, 3, 5, keys.length, keys.length + 2]) {
      const sorted = keys.map((_, c) => c).sort((a, b) => keys[b] - keys[a] || a - b).slice(0, k);
      assert.deepEqual(topIndices(keys.length, (c) => keys[c], k), sorted, `k = ${k}`);
    }
  });
});
