// Sample maps travel to a view with their class indices in the narrowest integer array that holds them,
// and the view's normalizeMaps widens them back to the same Int32 values.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeMaps } from '../../../media/view/model';
import type { HostToView, SampleMaps } from '../../../src/protocol';
import { compactSampleMaps, forView, narrowIndices } from '../../../src/sampleWire';

function maps(target: Int32Array, predicted: Int32Array): SampleMaps {
  const n = target.length;
  return { n: 0, shape: [n], loss: new Float32Array(n).fill(1.5), target, predicted, ignored: new Uint8Array(n), pTarget: null };
}

describe('sample maps on the wire', function () {
  it('picks the narrowest array for the range of values', function () {
    const cases: Array<[number[], unknown]> = [
      [[0, 20, 255], Uint8Array],
      [[], Uint8Array],
      [[-100, 0, 20], Int8Array],
      [[-128, 127], Int8Array],
      [[-129, 5], Int16Array],
      [[0, 256], Uint16Array],
      [[0, 65535], Uint16Array],
      [[-1, 40000], Int32Array],
      [[-32768, 32767], Int16Array],
      [[0, 262143], Int32Array],
    ];
    for (const [values, kind] of cases) assert.equal(narrowIndices(Int32Array.from(values)).constructor, kind, JSON.stringify(values));
  });

  it('keeps every value: widened again by the view they are the Int32 maps computed', function () {
    fc.assert(
      fc.property(fc.int32Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 70000 }), fc.integer({ min: -200, max: 0 }), (raw, C, low) => {
        // Class indices in [low, C) (ignore indices like -100 or 255 included), and arbitrary int32s.
        for (const t of [Int32Array.from(raw, (v) => low + Math.abs(v % (C - low))), raw]) {
          const p = Int32Array.from(t, (v) => Math.abs(v) % C);
          const sent = compactSampleMaps(maps(t, p));
          const back = normalizeMaps(sent, t.length);
          assert.ok(back.target instanceof Int32Array && back.predicted instanceof Int32Array);
          assert.deepEqual(back.target, t);
          assert.deepEqual(back.predicted, p);
        }
      }),
    );
  });

  it('sends 21-class maps with an ignore index of 255 in a byte per class index', function () {
    const t = Int32Array.from({ length: 512 * 512 }, (_, i) => (i % 97 === 0 ? 255 : i % 21));
    const computed = maps(t, Int32Array.from(t, (v) => v % 21));
    const sent = compactSampleMaps(computed);
    assert.equal(sent.target.byteLength + sent.predicted.byteLength, 2 * 512 * 512);
    assert.equal(sent.loss, computed.loss, 'the loss map is passed on as it is');
    assert.equal(sent.ignored, computed.ignored);
  });

  it('gives every array a buffer of its own (VS Code posts a view\'s whole buffer)', function () {
    const N = 4;
    const S = 6;
    const batch = { loss: new Float32Array(N * S), target: new Int32Array(N * S).fill(70000), predicted: new Int32Array(N * S), ignored: new Uint8Array(N * S), top1: new Float32Array(N * S) };
    const at = (a: { subarray(b: number, e: number): unknown }): never => a.subarray(S, 2 * S) as never;
    const sent = compactSampleMaps({
      n: 1, shape: [S], loss: at(batch.loss), target: at(batch.target), predicted: at(batch.predicted), ignored: at(batch.ignored), pTarget: at(batch.loss),
      confidence: { top1: at(batch.top1), margin: at(batch.top1), entropy: at(batch.top1) }, delta: at(batch.loss),
    });
    const arrays = [sent.loss, sent.target, sent.predicted, sent.ignored, sent.pTarget, sent.confidence?.top1, sent.confidence?.margin, sent.confidence?.entropy, sent.delta];
    for (const [i, a] of arrays.entries()) {
      assert.ok(a, `array ${i}`);
      assert.equal(a.length, S, `array ${i}`);
      assert.equal(a.buffer.byteLength, a.byteLength, `array ${i} carries only its own bytes`);
    }
    assert.ok(sent.target instanceof Int32Array, 'values over 16 bits stay Int32');
  });

  it("a sample's rest and its confidence maps travel on buffers of their own too", function () {
    const S = 6;
    const batch = new Float32Array(4 * S).map((_, i) => i);
    const at = batch.subarray(S, 2 * S);
    const rest = forView({ type: 'sampleRest', rest: { n: 1, pTarget: at, confidence: { top1: at, margin: at, entropy: at } } });
    const conf = forView({ type: 'confidence', n: 1, confidence: { top1: at, margin: at, entropy: at } });
    assert.ok(rest.type === 'sampleRest' && conf.type === 'confidence' && conf.confidence);
    const c = rest.rest.confidence;
    for (const [i, a] of [rest.rest.pTarget, c?.top1, c?.margin, c?.entropy, conf.confidence.top1, conf.confidence.margin, conf.confidence.entropy].entries()) {
      assert.ok(a, `array ${i}`);
      assert.deepEqual([...a], [...at], `array ${i}`);
      assert.equal(a.buffer.byteLength, a.byteLength, `array ${i} carries only its own bytes`);
    }
  });

  it('compacts only sample messages', function () {
    const t = Int32Array.of(0, 1, 2);
    const sample = forView({ type: 'sample', maps: maps(t, t) }) as Extract<HostToView, { type: 'sample' }>;
    assert.ok(sample.maps.target instanceof Uint8Array);
    const note: HostToView = { type: 'note', message: 'x' };
    assert.equal(forView(note), note);
  });
});
