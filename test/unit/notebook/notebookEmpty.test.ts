// A notebook output of empty tensors, computed in the page (the renderer's fallback without the extension
// host) and routed by the OutputController: PyTorch's answer (mean nan, sum 0., none an empty map; checked
// with /usr/bin/python3), statistics that counted nothing, and no sample to draw — never an error.
import * as assert from 'node:assert/strict';
import { openInPage } from '../../../media/inPageSession';
import { OutputController, type OutputOverrides } from '../../../src/outputController';
import type { HostToView } from '../../../src/protocol';
import type { Payload } from '../../../src/tensor/text/payload';
import type { DType, Tensor } from '../../../src/tensor/tensor';

function zeros(dtype: DType, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype, shape, data: dtype.startsWith('float') ? new Float32Array(n) : new Int32Array(n) };
}

function payload(input: Tensor, target: Tensor): Payload {
  return { input, target, weight: null, options: {}, classNames: [] };
}

async function run(p: Payload, overrides: OutputOverrides['options'] = {}): Promise<HostToView[]> {
  const sent: HostToView[] = [];
  const c = new OutputController({ open: async (o) => openInPage(p, o), send: (m) => sent.push(m) });
  await c.handle({ type: 'setOptions', options: overrides });
  await c.handle({ type: 'ready' });
  return sent;
}

describe('notebook output of empty tensors (in-page session and OutputController)', function () {
  const cases: Array<[string, Payload, number[]]> = [
    ['(0, 3) rows', payload(zeros('float32', [0, 3]), zeros('int64', [0])), [0]],
    ['(0, 3, 4, 4) zero batch', payload(zeros('float32', [0, 3, 4, 4]), zeros('int64', [0, 4, 4])), [0, 4, 4]],
    ['(2, 3, 0) zero spatial size', payload(zeros('float32', [2, 3, 0]), zeros('int64', [2, 0])), [2, 0]],
    ['(2, 3, 0, 4) probability targets', payload(zeros('float32', [2, 3, 0, 4]), zeros('float32', [2, 3, 0, 4])), [2, 0, 4]],
  ];
  for (const [label, p, lossShape] of cases) {
    it(`${label}: PyTorch's value, nothing counted, a summary and no sample`, async function () {
      for (const [reduction, want] of [['mean', NaN], ['sum', 0], ['none', null]] as const) {
        const sent = await run(p, { reduction });
        assert.deepEqual(sent.filter((m) => m.type === 'error' || m.type === 'note'), [], `${reduction}: no error`);
        assert.deepEqual(sent.filter((m) => m.type === 'sample'), [], `${reduction}: no sample to draw`);
        const summaries = sent.flatMap((m) => (m.type === 'summary' ? [m.summary] : []));
        assert.equal(summaries.length, 2, 'after computing, and again for a view shown again');
        for (const s of summaries) {
          assert.ok(Object.is(s.value, want) || s.value === want, `${reduction}: ${s.value}`);
          assert.deepEqual(s.lossShape, lossShape);
          assert.deepEqual([s.elementCount, s.ignoredCount, s.nanCount, s.infCount], [0, 0, 0, 0]);
          assert.deepEqual(s.worst, []);
          assert.deepEqual(s.perClass.map((c) => [c.count, c.lossSum, c.predicted]), [[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
        }
      }
    });
  }
});
