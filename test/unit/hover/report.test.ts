// Hover reports: statistics, the softmax preview and the cross-entropy of a pair. Expected losses come
// from the small float64 log-sum-exp formula below, written independently of the kernel.
import * as assert from 'node:assert/strict';
import { parseJsonDocument, parseJsonTensor } from '../../../src/tensor/text/json';
import { hoverReport, parseLiteral, tensorStats, StatsAccumulator, type LiteralText, type ReportRequest } from '../../../src/hover/report';

/** F.cross_entropy for (N, C) logits and class indices, float64, written out from the definition. */
function referenceCe(
  x: number[][],
  t: number[],
  o: { reduction?: 'mean' | 'sum' | 'none'; ignoreIndex?: number; labelSmoothing?: number; weight?: number[] } = {},
): { perSample: number[]; value: number } {
  const eps = o.labelSmoothing ?? 0;
  const ignore = o.ignoreIndex ?? -100;
  const per: number[] = [];
  let nll = 0;
  let smooth = 0;
  let wsum = 0;
  for (let n = 0; n < x.length; n++) {
    const row = x[n];
    const C = row.length;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    if (t[n] === ignore) {
      per.push(0);
      continue;
    }
    const w = o.weight ?? new Array<number>(C).fill(1);
    const a = -w[t[n]] * logp[t[n]];
    const b = -logp.reduce((s, lp, c) => s + w[c] * lp, 0);
    per.push((1 - eps) * a + (eps / C) * b);
    nll += a;
    smooth += b;
    wsum += w[t[n]];
  }
  const C = x[0].length;
  const sum = per.reduce((a, b) => a + b, 0);
  const value = o.reduction === 'sum' ? sum : o.reduction === 'none' ? NaN : (1 - eps) * (nll / wsum) + (eps / C) * (smooth / wsum);
  return { perSample: per, value };
}

function close(a: number, b: number, tol = 1e-12): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
}

function py(text: string, name: string | null = null): LiteralText {
  return { text, syntax: 'python', name };
}
function json(text: string, name: string | null = null): LiteralText {
  return { text, syntax: 'json', name };
}

describe('hover: summary statistics', function () {
  it('counts NaN and infinities, min/max over non-NaN, mean over finite values', function () {
    const s = tensorStats([1, NaN, -Infinity, 3, Infinity, -2, NaN]);
    assert.deepEqual(s, { count: 7, nanCount: 2, posInfCount: 1, negInfCount: 1, min: -Infinity, max: Infinity, mean: 2 / 3 });
    const empty = tensorStats([]);
    assert.equal(empty.count, 0);
    assert.ok(Number.isNaN(empty.min) && Number.isNaN(empty.mean));
    const allNan = tensorStats([NaN]);
    assert.ok(Number.isNaN(allNan.max));
  });

  it('accumulates pieces to the same result as one pass', function () {
    const data = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 + (i % 97 === 0 ? NaN : 0));
    const acc = new StatsAccumulator();
    for (let i = 0; i < data.length; i += 137) acc.add(data.slice(i, i + 137));
    const whole = tensorStats(data);
    const parts = acc.result();
    assert.equal(parts.nanCount, whole.nanCount);
    assert.equal(parts.min, whole.min);
    assert.equal(parts.max, whole.max);
    close(parts.mean, whole.mean);
  });
});

describe('hover: one literal', function () {
  it('reports shape, dtype, statistics and the softmax of the first rows', function () {
    const r = hoverReport({ literals: [py('torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [0, 0, 0], [1, 1, 1]])')], hovered: 0, pair: null, options: {} });
    assert.ok(r.tensor.ok);
    assert.deepEqual(r.tensor.shape, [4, 3]);
    assert.equal(r.tensor.dtype, 'float32');
    assert.equal(r.tensor.stats.count, 12);
    close(r.tensor.stats.max, 2.5);
    const p = r.tensor.preview!;
    assert.equal(p.rowCount, 4);
    assert.equal(p.rows.length, 3);
    const row = [Math.fround(0.5), Math.fround(2.5), Math.fround(0.3)];
    const z = row.reduce((a, v) => a + Math.exp(v), 0);
    p.rows[1].probs.forEach((v, c) => assert.ok(Math.abs(v - Math.exp(row[c]) / z) < 1e-7));
    assert.deepEqual(p.rows.map((x) => x.argmax), [0, 1, 0]);
    assert.equal(r.loss, null);
  });

  it('reads a 2-D array channels-first when classDim is 0, and probabilities as given', function () {
    const r = hoverReport({ literals: [json('[[0.1, 0.7], [0.9, 0.3]]')], hovered: 0, pair: null, options: { classDim: 0, inputKind: 'probs' } });
    assert.ok(r.tensor.ok);
    const rows = r.tensor.preview!.rows.map((x) => x.probs);
    assert.deepEqual(rows, [[0.1, 0.9].map(Math.fround), [0.7, 0.3].map(Math.fround)]);
  });

  it('shows no softmax for integer arrays or 3-D arrays', function () {
    for (const text of ['[0, 2, 1]', '[[[1.0]]]']) {
      const r = hoverReport({ literals: [json(text)], hovered: 0, pair: null, options: {} });
      assert.ok(r.tensor.ok);
      assert.equal(r.tensor.preview, null, text);
    }
  });

  it('reads JSON lists like a .json file (float64 / int64) and Python like a printed tensor', function () {
    assert.equal(parseLiteral(json('[1.5, 2]')).dtype, 'float64');
    assert.equal(parseLiteral(json('[1, 2]')).dtype, 'int64');
    assert.equal(parseLiteral(json('[1, /* c */ 2, // d\n 3]')).shape[0], 3);
    assert.equal(parseLiteral(py('tensor([1.5, 2])')).dtype, 'float32');
    assert.equal(parseLiteral(py('np.array([1.5, 2], dtype=np.float16)')).dtype, 'float16');
  });

  it('the fast JSON path reads every list exactly as the JSON tensor parser does', function () {
    const cases = ['[[1, 2], [3, 4]]', '[1.0, 2]', '[[1e3, -0.0]]', '[true, false]', '[NaN, 1]', '[-Infinity]', '[[]]', '[0.1, 0.2, 0.30000000000000004]', '[2147483647]'];
    for (const text of cases) {
      const fast = parseLiteral(json(text, 'x'));
      const doc = parseJsonDocument(text);
      const ref = parseJsonTensor(doc.value, 'x', doc.marks);
      assert.deepEqual([fast.dtype, fast.shape, Array.from(fast.data)], [ref.dtype, ref.shape, Array.from(ref.data)], text);
    }
    for (const text of ['[[1, 2], [3]]', '[2147483648]', '[1, true]']) {
      const doc = parseJsonDocument(text);
      assert.throws(() => parseJsonTensor(doc.value, 'x', doc.marks));
      let reference = '';
      try {
        parseJsonTensor(doc.value, 'x', doc.marks);
      } catch (e) {
        reference = (e as Error).message;
      }
      assert.throws(() => parseLiteral(json(text, 'x')), (e: Error) => e.message === reference, text);
    }
  });

  it('turns parse errors into one-line messages', function () {
    const ragged = hoverReport({ literals: [json('[[1, 2], [3]]', 'logits')], hovered: 0, pair: null, options: {} });
    assert.equal(ragged.tensor.ok, false);
    assert.match(!ragged.tensor.ok ? ragged.tensor.error : '', /ragged list at logits\[1\]/);
    const summarized = hoverReport({ literals: [py('tensor([1., 2., ..., 9.])')], hovered: 0, pair: null, options: {} });
    assert.match(!summarized.tensor.ok ? summarized.tensor.error : '', /summarized print/);
  });
});

describe('hover: cross-entropy of a pair', function () {
  const x = [
    [2.0, 1.0, 0.1],
    [0.5, 2.5, 0.3],
    [-1.0, 0.0, 3.0],
    [0.2, 0.2, 0.2],
  ];
  const t = [0, 2, -100, 1];
  // The logits hold 0.1, so JSON reads them as float64, as a .json file would be read.
  const request = (options: ReportRequest['options'], target = t, weightText?: string): ReportRequest => ({
    literals: [json(JSON.stringify(x), 'logits'), json(JSON.stringify(target), 'labels'), ...(weightText ? [json(weightText, 'weight')] : [])],
    hovered: 1,
    pair: { input: 0, target: 1, weight: weightText ? 2 : null },
    options,
  });

  it('equals the float64 formula: mean, sum and none, with ignore_index', function () {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const r = hoverReport(request({ reduction }));
      const ref = referenceCe(x, t, { reduction });
      assert.ok(r.loss?.ok, JSON.stringify(r.loss));
      if (reduction === 'none') assert.equal(r.loss.value, null);
      else close(r.loss.value as number, ref.value);
      assert.equal(r.loss.rows.length, 4);
      r.loss.rows.forEach((row, n) => close(row.loss, ref.perSample[n]));
      assert.deepEqual(r.loss.rows.map((row) => row.ignored), [false, false, true, false]);
      assert.deepEqual(r.loss.rows.map((row) => row.predicted), [0, 1, 2, 0]);
      assert.equal(r.loss.ignoredCount, 1);
    }
  });

  it('uses label smoothing, weights and another ignore_index from the options', function () {
    // With ignore_index 1, the -100 target is out of range: the kernel's error, not a number.
    const r = hoverReport(request({ labelSmoothing: 0.2, ignoreIndex: 1 }, t, '[1.0, 2.0, 3.0]'));
    assert.equal(r.loss?.ok, false);
    assert.match(r.loss && !r.loss.ok ? r.loss.error : '', /-100/);
    const tt = t.map((v) => (v === -100 ? 0 : v));
    const ok = hoverReport(request({ labelSmoothing: 0.2, ignoreIndex: 1 }, tt, '[1.0, 2.0, 3.0]'));
    const ref = referenceCe(x, tt, { labelSmoothing: 0.2, ignoreIndex: 1, weight: [1, 2, 3] });
    assert.ok(ok.loss?.ok, JSON.stringify(ok.loss));
    close(ok.loss.value as number, ref.value);
    assert.equal(ok.loss.options.labelSmoothing, 0.2);
    assert.deepEqual(ok.loss.rows.map((row) => row.ignored), [false, false, false, true]);
  });

  it('reports shape mismatches and unparsable partners as messages', function () {
    const bad = hoverReport({ literals: [json('[[1.0, 2.0]]', 'logits'), json('[0, 1]', 'labels')], hovered: 0, pair: { input: 0, target: 1, weight: null }, options: {} });
    assert.ok(bad.tensor.ok);
    assert.equal(bad.loss?.ok, false);
    assert.match(bad.loss && !bad.loss.ok ? bad.loss.error : '', /shape/);
    const broken = hoverReport({ literals: [json('[[1.0, 2.0]]', 'logits'), json('[[0], 1]', 'labels')], hovered: 0, pair: { input: 0, target: 1, weight: null }, options: {} });
    assert.equal(broken.loss?.ok, false);
  });

  it('Python float32 literals: the loss of the float32-rounded values', function () {
    const r = hoverReport({
      literals: [py('torch.tensor([[0.1, 0.2, 0.3]])', 'logits'), py('torch.tensor([2])', 'y')],
      hovered: 0,
      pair: { input: 0, target: 1, weight: null },
      options: {},
    });
    const ref = referenceCe([[0.1, 0.2, 0.3].map(Math.fround)], [2]);
    assert.ok(r.loss?.ok);
    close(r.loss.value as number, ref.value);
  });
});

describe('hover: empty literals and inputs without classes', function () {
  // PyTorch 1.13 (checked with /usr/bin/python3): F.cross_entropy on a (0, 3) input is nan (mean), 0. (sum),
  // tensor([]) (none); on torch.tensor([]) with a torch.tensor([]) probability target it is nan (mean) and
  // tensor(-0.) (none); on a (3, 0) input whose targets are all ignored nan (mean), 0. (sum), [0., 0., 0.].
  const pair = (input: LiteralText, target: LiteralText, options: ReportRequest['options'] = {}): ReportRequest => ({
    literals: [input, target], hovered: 0, pair: { input: 0, target: 1, weight: null }, options,
  });

  it('say that nothing was counted, with PyTorch\'s values', function () {
    for (const [reduction, want] of [['mean', NaN], ['sum', 0], ['none', null]] as const) {
      const r = hoverReport(pair(py('tensor([], size=(0, 3))', 'logits'), py('tensor([], dtype=torch.int64)', 'y'), { reduction }));
      assert.ok(r.tensor.ok);
      assert.deepEqual([r.tensor.shape, r.tensor.stats.count, r.tensor.preview], [[0, 3], 0, null]);
      assert.ok(r.loss?.ok, JSON.stringify(r.loss));
      assert.ok(Object.is(r.loss.value, want), `${reduction}: ${r.loss.value}`);
      assert.deepEqual([r.loss.lossShape, r.loss.rows, r.loss.elementCount, r.loss.ignoredCount], [[0], [], 0, 0]);
    }
    // An unbatched input without classes and a probability target: one element, -0., and a mean of nan.
    const u = hoverReport(pair(json('[]', 'logits'), json('[]', 'probs')));
    assert.ok(u.loss?.ok, JSON.stringify(u.loss));
    assert.ok(Number.isNaN(u.loss.value), `mean ${u.loss.value}`);
    assert.deepEqual(u.loss.rows, [{ index: [], loss: -0, target: -1, predicted: -1, ignored: false }]);
  });

  it('an input without classes: nan / 0 when every target is ignored, no class predicted; a class index is an error', function () {
    const x = json('[[], [], []]', 'logits');
    const mean = hoverReport(pair(x, json('[-100, -100, -100]', 'y')));
    assert.ok(mean.loss?.ok, JSON.stringify(mean.loss));
    assert.ok(Number.isNaN(mean.loss.value));
    assert.deepEqual(mean.loss.rows.map((r) => [r.loss, r.predicted, r.ignored]), [[0, -1, true], [0, -1, true], [0, -1, true]]);
    assert.deepEqual([mean.loss.elementCount, mean.loss.ignoredCount], [3, 3]);
    const sum = hoverReport(pair(x, json('[-100, -100, -100]', 'y'), { reduction: 'sum' }));
    assert.ok(sum.loss?.ok && Object.is(sum.loss.value, 0));
    const bad = hoverReport(pair(x, json('[-100, 0, -100]', 'y')));
    assert.ok(bad.loss && !bad.loss.ok);
    assert.match(bad.loss.error, /target value 0 at index \[1\].*no classes/);
  });
});
