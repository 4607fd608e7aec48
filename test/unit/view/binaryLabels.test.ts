// Elementwise losses (bce, sigmoid focal) in the view: an element's target and prediction are the 0/1 of the
// class its position along the class axis names, so the worst-elements list and the tooltip say
// "dog: target 0 · predicted 1", never "target 0 (person)" (class 0's name on a binary 0). The summary comes
// from the real kernel on a multi-label pair; the expected worst element from the formula, in float64.
import * as assert from 'node:assert/strict';
import { binaryElementClass, fmt6, targetLines } from '../../../media/view/format';
import { WorstList } from '../../../media/view/tables/worst';
import { builder } from '../../../media/view/dom';
import { computeLoss } from '../../../src/kernel/index';
import { toViewSummary, type ViewSummary } from '../../../src/protocol';
import type { Tensor } from '../../../src/tensor/tensor';

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
