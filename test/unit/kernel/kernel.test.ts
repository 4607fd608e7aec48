// Kernel behaviour that parity fixtures do not pin down: error messages, the per-element explanation,
// statistics on hand-checkable data, and the layout helpers. Numbers here are worked out by hand.
import * as assert from 'node:assert/strict';
import { LensError } from '../../../src/errors';
import { computeLoss, explainElement, type LossRequest } from '../../../src/kernel/index';
import { broadcastTo, moveAxis } from '../../../src/kernel/layout';
import { checkSample, sampleGeometry } from '../../../src/kernel/sample/sampleView';
import type { DType, Tensor } from '../../../src/tensor/tensor';

function f32(shape: number[], data: number[]): Tensor {
  return { dtype: 'float32', shape, data: Float32Array.from(data) };
}
function f64(shape: number[], data: number[]): Tensor {
  return { dtype: 'float64', shape, data: Float64Array.from(data) };
}
function i64(shape: number[], data: number[], dtype: DType = 'int64'): Tensor {
  return { dtype, shape, data: Int32Array.from(data) };
}
function zeros(shape: number[]): Tensor {
  return f32(shape, new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0));
}

function throwsLens(fn: () => unknown, ...mentions: RegExp[]): string {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof LensError, `expected a LensError, got ${String(caught)}`);
  assert.doesNotMatch(caught.message, /\n/);
  for (const m of mentions) assert.match(caught.message, m);
  return caught.message;
}

describe('kernel: values worked out by hand', function () {
  it('uniform logits give log(C) per element', function () {
    const r = computeLoss({ input: zeros([2, 4]), target: i64([2], [0, 3]) });
    assert.ok(Math.abs((r.value as number) - Math.log(4)) < 1e-15);
    assert.equal(r.numerator / r.denominator, r.value);
    assert.equal(r.denominator, 2);
  });

  it('mean divides by the summed weights of non-ignored targets', function () {
    const r = computeLoss({ input: zeros([3, 2]), target: i64([3], [0, 1, -100]), weight: f64([2], [1, 3]) });
    // losses: 1*ln2, 3*ln2, ignored -> sum 4 ln2 over weights 1 + 3.
    assert.ok(Math.abs(r.numerator - 4 * Math.LN2) < 1e-14);
    assert.equal(r.denominator, 4);
    assert.equal(r.lossMap[2], 0);
    assert.equal(r.ignoredMask[2], 1);
  });

  it('all targets ignored: mean is NaN (0/0), sum is 0', function () {
    const req: LossRequest = { input: zeros([2, 3]), target: i64([2], [-100, -100]) };
    assert.ok(Number.isNaN(computeLoss(req).value as number));
    assert.equal(computeLoss({ ...req, options: { reduction: 'sum' } }).value, 0);
  });

  it('an unbatched (C) input takes a 0-d target and gives a 0-d loss', function () {
    const r = computeLoss({ input: f32([3], [0, 0, 0]), target: i64([], [2]), options: { reduction: 'none' } });
    assert.deepEqual(r.lossShape, []);
    assert.equal(r.value, null);
    assert.ok(Math.abs(r.lossMap[0] - Math.log(3)) < 1e-15);
  });

  it('accepts any integer dtype as class indices (like target.long())', function () {
    for (const dtype of ['int8', 'int16', 'int32', 'uint8', 'uint16'] as const) {
      const r = computeLoss({ input: zeros([2, 2]), target: { dtype, shape: [2], data: Uint8Array.from([1, 0]) } });
      assert.ok(Math.abs((r.value as number) - Math.LN2) < 1e-15, dtype);
    }
  });

  it('takes integer probabilities (inputKind probs): torch.log makes floats of them, as it does in PyTorch', function () {
    // nll_loss(log(p), t): p = [[1, 3], [2, 2]] as uint8 and as float32 give the same loss.
    const t = i64([2], [1, 0]);
    const ints = computeLoss({ input: { dtype: 'uint8', shape: [2, 2], data: Uint8Array.from([1, 3, 2, 2]) }, target: t, options: { inputKind: 'probs' } });
    const floats = computeLoss({ input: f32([2, 2], [1, 3, 2, 2]), target: t, options: { inputKind: 'probs' } });
    assert.equal(ints.value, floats.value);
    assert.ok(Math.abs((ints.value as number) + (Math.log(3) + Math.log(2)) / 2) < 1e-15);
    // Logits and log-probabilities of an integer dtype are refused, naming it.
    for (const inputKind of ['logits', 'log-probs'] as const) {
      assert.throws(() => computeLoss({ input: { dtype: 'uint8', shape: [2, 2], data: Uint8Array.from([1, 3, 2, 2]) }, target: t, options: { inputKind } }), /input has dtype uint8/);
    }
  });
});

describe('kernel: errors name shapes, the first offending index and a fix', function () {
  it('the [N,1,H,W] target suggests squeezing axis 1', function () {
    throwsLens(() => computeLoss({ input: zeros([2, 3, 4, 4]), target: i64([2, 1, 4, 4], new Array<number>(32).fill(0)) }), /singleton channel axis/, /squeeze axis 1/, /\[2, 1, 4, 4\]/, /\[2, 3, 4, 4\]/, /\[2, 4, 4\]/);
  });
  it('batch size mismatch', function () {
    throwsLens(() => computeLoss({ input: zeros([3, 2]), target: i64([2], [0, 1]) }), /batch_size \(3\)/, /batch_size \(2\)/);
  });
  it('channels-last data with the default class axis suggests classDim -1', function () {
    throwsLens(() => computeLoss({ input: zeros([2, 4, 4, 3]), target: i64([2, 4, 4], new Array<number>(32).fill(0)) }), /classDim to -1/);
  });
  it('out-of-range target names value and multi-index', function () {
    const data = new Array<number>(8).fill(0);
    data[5] = 3;
    throwsLens(() => computeLoss({ input: zeros([2, 3, 4]), target: i64([2, 4], data) }), /target value 3 at index \[1, 1\]/, /3 classes/);
    throwsLens(() => computeLoss({ input: zeros([1, 3]), target: i64([1], [-1]) }), /-1/, /ignore_index to -1/);
  });
  it('integer target with the input shape, float index target, bool target', function () {
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: i64([2, 3], [0, 0, 0, 0, 0, 0]) }), /probability targets must be floating point/, /\[2\]/);
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: f32([2], [0, 1]) }), /must be integers/, /long\(\)/);
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: { dtype: 'bool', shape: [2], data: Uint8Array.from([0, 1]) } }), /bool/);
  });
  it('probability targets with ignore_index >= 0', function () {
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: zeros([2, 3]), options: { ignoreIndex: 0 } }), /ignore_index is not supported/);
  });
  it('weight length, label smoothing range, classDim range, 0-d input', function () {
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: i64([2], [0, 1]), weight: f64([2], [1, 1]) }), /all 3 classes/, /\[2\]/);
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: i64([2], [0, 1]), options: { labelSmoothing: 1.5 } }), /between 0\.0 and 1\.0/);
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: i64([2], [0, 1]), options: { labelSmoothing: NaN } }), /label_smoothing/);
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: i64([2], [0, 1]), options: { classDim: 2 } }), /classDim 2 out of range/);
    throwsLens(() => computeLoss({ input: f32([], [1]), target: i64([], [0]) }), /0-d/);
  });
  it('bce: shape mismatch and a pos_weight that does not broadcast', function () {
    throwsLens(() => computeLoss({ input: zeros([2, 3]), target: zeros([2, 2]), options: { loss: 'bce' } }), /must be the same as input size/);
    throwsLens(() => computeLoss({ input: zeros([2, 3, 4]), target: zeros([2, 3, 4]), posWeight: f64([3], [1, 2, 3]), options: { loss: 'bce' } }), /pos_weight/, /\[3, 1\]/);
  });
});

describe('kernel: explainElement', function () {
  const input = f32([2, 3, 2], [1, 2, 3, 4, 5, 6, -1, 0, 0.5, 2, 7, -3]);
  const target = i64([2, 2], [0, 2, 1, -100]);
  const weight = f64([3], [0.5, 1, 2]);
  for (const labelSmoothing of [0, 0.3]) {
    it(`matches the loss map element by element (label_smoothing ${labelSmoothing})`, function () {
      const req: LossRequest = { input, target, weight, options: { reduction: 'none', labelSmoothing } };
      const r = computeLoss(req);
      for (let flat = 0; flat < 4; flat++) {
        const e = explainElement(req, flat);
        assert.equal(e.loss, r.lossMap[flat]);
        const sum = e.probs.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-12);
        assert.ok(Math.abs((e.sumExp as number) - (e.expShifted as number[]).reduce((a, b) => a + b, 0)) < 1e-15);
      }
      assert.deepEqual(explainElement(req, 1).inputs, [2, 4, 6]);
      assert.deepEqual(explainElement(req, 1).index, [0, 1]);
      assert.equal(explainElement(req, 3).ignored, true);
    });
  }
  it('rejects an element outside the map', function () {
    throwsLens(() => explainElement({ input, target }, 4), /outside the loss map/);
  });
});

describe('kernel: statistics', function () {
  it('confusion, accuracy, IoU and the worst elements on a hand-checked example', function () {
    // Predictions (argmax): [0, 1, 1, 2, NaN-row -> index of first NaN = 1]; targets [0, 1, 2, 2, 0].
    const input = f32([5, 3], [5, 0, 0, 0, 5, 0, 0, 5, 0, 0, 0, 5, 0, NaN, 0]);
    const target = i64([5], [0, 1, 2, 2, 0]);
    const r = computeLoss({ input, target, topK: 3 });
    const s = r.stats;
    assert.deepEqual(Array.from(r.predicted), [0, 1, 1, 2, 1]);
    assert.deepEqual(Array.from(s.confusion), [1, 1, 0, 0, 1, 0, 0, 1, 1]);
    assert.deepEqual(s.perClass.map((c) => c.count), [2, 1, 2]);
    assert.deepEqual(s.perClass.map((c) => c.accuracy), [0.5, 1, 0.5]);
    // IoU: class0 1/(2+1-1)=0.5, class1 1/(1+3-1)=1/3, class2 1/(2+1-1)=0.5.
    assert.deepEqual(s.perClass.map((c) => c.iou), [0.5, 1 / 3, 0.5]);
    assert.equal(s.nanCount, 1);
    assert.equal(s.accuracy, 3 / 5);
    assert.equal(s.worst[0].flat, 4, 'NaN ranks worst');
    assert.equal(s.worst[1].flat, 2, 'then the confident mistake');
    assert.equal(s.worst.length, 3);
  });
});

describe('kernel: layout helpers', function () {
  it('moveAxis matches index arithmetic', function () {
    const shape = [2, 3, 4, 5];
    const data = Array.from({ length: 120 }, (_, i) => i);
    const moved = moveAxis(f64(shape, data), 3, 1); // (2, 5, 3, 4)
    assert.deepEqual(moved.shape, [2, 5, 3, 4]);
    for (let a = 0; a < 2; a++) for (let e = 0; e < 5; e++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) {
      assert.equal(moved.data[((a * 5 + e) * 3 + b) * 4 + c], data[((a * 3 + b) * 4 + c) * 5 + e]);
    }
  });
  it('broadcastTo follows NumPy rules', function () {
    assert.deepEqual(Array.from(broadcastTo(f64([3], [1, 2, 3]), [2, 3]) as Float64Array), [1, 2, 3, 1, 2, 3]);
    assert.deepEqual(Array.from(broadcastTo(f64([2, 1], [7, 8]), [2, 3]) as Float64Array), [7, 7, 7, 8, 8, 8]);
    assert.equal(broadcastTo(f64([2], [1, 2]), [2, 3]), null);
  });
});

describe('kernel: inputs without classes (C = 0)', function () {
  // PyTorch 1.13 (checked with /usr/bin/python3): F.cross_entropy(torch.zeros(3, 0), torch.zeros(3, 0)) is
  // -0. per element and nan for mean; with every class index ignored and label_smoothing 0.1 each element is
  // nan (0 * 0.1 / 0); a class index of 0 raises "Target 0 is out of bounds."
  const ignored = i64([3], [-100, -100, -100]);

  it('probability targets: mean nan (PyTorch divides by input.numel() / C), no class predicted or targeted', function () {
    const r = computeLoss({ input: zeros([3, 0]), target: zeros([3, 0]) });
    assert.ok(Number.isNaN(r.value), `mean ${r.value}`);
    assert.equal(r.denominator, 0);
    assert.deepEqual(Array.from(r.lossMap), [-0, -0, -0]);
    assert.deepEqual(Array.from(r.predicted), [-1, -1, -1]);
    assert.deepEqual(Array.from(r.targetClass), [-1, -1, -1]);
    assert.deepEqual(r.stats.perClass, []);
  });

  it('ignored targets with label smoothing: nan elements, in the map and in the breakdown', function () {
    const req: LossRequest = { input: zeros([3, 0]), target: ignored, options: { labelSmoothing: 0.1, reduction: 'none' } };
    const r = computeLoss(req);
    assert.deepEqual(Array.from(r.lossMap), [NaN, NaN, NaN]);
    const ex = explainElement(req, 1);
    assert.ok(Number.isNaN(ex.loss));
    assert.equal(ex.max, null);
    assert.deepEqual(ex.inputs, []);
    // Without smoothing they are 0, as for any ignored element.
    assert.deepEqual(Array.from(computeLoss({ ...req, options: { reduction: 'none' } }).lossMap), [0, 0, 0]);
  });

  it('a class index says that the input has no classes', function () {
    throwsLens(() => computeLoss({ input: zeros([3, 0]), target: i64([3], [-100, 0, -100]) }), /target value 0 at index \[1\]/, /no classes \(C = 0\)/, /ignore_index \(-100\)/);
  });

  it('a 3-D input (or 5-D and more) with a non-empty target raises PyTorch\'s size mismatch; 4-D and empty targets compute', function () {
    throwsLens(() => computeLoss({ input: zeros([2, 0, 3]), target: i64([2, 3], new Array<number>(6).fill(-100)) }), /\[2, 0, 3\]/, /no classes/, /size mismatch/);
    throwsLens(() => computeLoss({ input: zeros([1, 0, 2, 1, 1]), target: i64([1, 2, 1, 1], [-100, -100]) }), /size mismatch/);
    assert.ok(Number.isNaN(computeLoss({ input: zeros([1, 0, 2, 2]), target: i64([1, 2, 2], [-100, -100, -100, -100]) }).value));
    assert.ok(Number.isNaN(computeLoss({ input: zeros([2, 0, 0]), target: i64([2, 0], []) }).value));
  });
});

describe('kernel: an empty batch with a huge spatial size', function () {
  it('allocates nothing by the spatial size (a printed size=(0, 3, 99999999999) reached it from a hover)', function () {
    // Past a typed array's length limit: allocating by S is a RangeError, not a lazily mapped buffer.
    const S = 99999999999;
    const r = computeLoss({ input: { dtype: 'float32', shape: [0, 3, S], data: new Float32Array(0) }, target: { dtype: 'int64', shape: [0, S], data: new Int32Array(0) } });
    assert.ok(Number.isNaN(r.value as number), 'mean over no elements, as PyTorch: nan');
    assert.deepEqual(r.lossShape, [0, S]);
  });
});

describe('kernel: a sample view of an empty loss map', function () {
  it('has no sample to show, and says so in one line', function () {
    const r = computeLoss({ input: zeros([0, 3, 4, 4]), target: i64([0, 4, 4], []) });
    const g = sampleGeometry({ ...r, input: { shape: [0, 3, 4, 4] } });
    assert.equal(g.samples, 0);
    throwsLens(() => checkSample(g, 0), /no samples/, /batch size is 0/);
  });
});
