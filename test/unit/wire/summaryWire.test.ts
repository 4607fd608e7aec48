// Summaries travel to a view packed (src/summaryWire.ts): the per-class rows as columns of the classes that
// differ from an absent class's row, the confusion matrix as its non-zero cells. Unpacked, every number is
// the one computed (NaN included), and the packed form is a fraction of the JSON it replaces at large C.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeLoss, type LossOptions } from '../../../src/kernel/index';
import { toViewSummary, type PackedSummary, type ViewSummary } from '../../../src/protocol';
import { forView } from '../../../src/sampleWire';
import { packClassStats, packConfusion, packSummary, unpackClassStats, unpackConfusion, unpackSummary } from '../../../src/summaryWire';
import { fromWire, toWire } from '../../../src/wire';

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A classification summary: N rows of C classes, targets drawn from the first `used` classes. */
function summary(N: number, C: number, used: number, options: Partial<LossOptions> = {}, weight?: Float32Array): ViewSummary {
  const r = lcg(N * 31 + C);
  const x = Float32Array.from({ length: N * C }, () => (r() - 0.5) * 6);
  const t = Int32Array.from({ length: N }, () => (r() < 0.05 ? -100 : Math.floor(r() * used)));
  const res = computeLoss({ input: { dtype: 'float32', shape: [N, C], data: x }, target: { dtype: 'int64', shape: [N], data: t }, weight: weight ? { dtype: 'float32', shape: [C], data: weight } : undefined, options });
  return toViewSummary(res, { title: 't', input: { label: 'x', shape: [N, C], dtype: 'float32' }, target: { label: 'y', shape: [N], dtype: 'int64' }, weight: weight ? Array.from(weight) : null, classNames: [], seconds: 0, engine: 'e', mapsAvailable: true });
}

/** Bytes a message costs on the way: its JSON without typed arrays, plus their bytes. */
function bytes(msg: unknown): number {
  let buffers = 0;
  const json = JSON.stringify(msg, (_k, v: unknown) => {
    if (!ArrayBuffer.isView(v)) return v;
    buffers += v.byteLength;
    return null;
  });
  return json.length + buffers;
}

/** The same numbers (NaN equal to NaN); the confusion counts may come in another array type. */
function sameSummary(a: ViewSummary, b: ViewSummary, what: string): void {
  assert.deepStrictEqual({ ...b, confusion: Array.from(b.confusion) }, { ...a, confusion: Array.from(a.confusion) }, what);
}

describe('summaries on the wire (src/summaryWire.ts)', function () {
  it('unpacks to the very summary: all classes present, few present (vocabulary scale), with weights, focal', function () {
    const cases: Array<[string, ViewSummary]> = [
      ['[400, 50], every class', summary(400, 50, 50)],
      ['[64, 3000], 40 classes used', summary(64, 3000, 40)],
      ['[200, 30] with weights', summary(200, 30, 10, {}, Float32Array.from({ length: 30 }, (_, c) => 0.5 + c / 10))],
      ['[200, 20] focal (ceMean)', summary(200, 20, 20, { loss: 'focal', gamma: 2 })],
      ['[100, 12] label smoothing', summary(100, 12, 6, { labelSmoothing: 0.1 })],
    ];
    for (const [what, s] of cases) {
      const packed = packSummary(s);
      assert.ok('packed' in packed, `${what}: packed`);
      sameSummary(s, unpackSummary(packed) as ViewSummary, what);
      // The notebook renderer's channel JSON-encodes with toWire.
      sameSummary(s, unpackSummary(fromWire(JSON.parse(JSON.stringify(toWire(packed)))) as PackedSummary) as ViewSummary, `${what}, through JSON`);
    }
  });

  it('is a fraction of the plain summary at 1,000 classes (matrix) and at 32,000 (rows)', function () {
    const imagenet = summary(5000, 1000, 1000);
    const lm = summary(128, 32_000, 32_000);
    for (const [what, s, atMost] of [['[5000, 1000]', imagenet, 0.15], ['[128, 32000]', lm, 0.02]] as const) {
      const plain = bytes({ type: 'summary', summary: s });
      const sent = bytes(forView({ type: 'summary', summary: s }));
      assert.ok(sent <= atMost * plain, `${what}: ${sent} bytes packed vs ${plain} plain`);
      sameSummary(s, unpackSummary((forView({ type: 'summary', summary: s }) as { summary: PackedSummary }).summary) as ViewSummary, what);
    }
  });

  it('confusion counts: any non-negative integers, dense or sparse, each in the narrowest array', function () {
    fc.assert(fc.property(fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.nat(300), fc.nat(70_000), fc.constant(2 ** 40)), { maxLength: 400 }), (conf) => {
      const p = packConfusion(conf);
      assert.ok(p, 'packed');
      assert.deepEqual(Array.from(unpackConfusion(p) ?? [NaN]), conf);
      const max = Math.max(0, ...conf);
      const want = max <= 0xff ? Uint8Array : max <= 0xffff ? Uint16Array : max <= 0xffffffff ? Uint32Array : Float64Array;
      assert.equal(p.counts.constructor, want, `max ${max}`);
    }));
    assert.equal(packConfusion([1, 0.5]), null, 'not counts: left as it is');
    assert.equal(packConfusion([1, -1]), null, 'not counts: left as it is');
  });

  it('rows that do not share one set of numeric fields are left as they are', function () {
    const s = summary(50, 5, 5);
    const odd = s.perClass.map((r, c) => (c === 3 ? { ...r, extra: 1 } : r));
    assert.equal(packClassStats(odd), null);
    assert.equal(packClassStats([]), null);
    const unsorted = [s.perClass[1], s.perClass[0], ...s.perClass.slice(2)];
    assert.equal(packClassStats(unsorted), null, 'rows out of class order');
    const kept = packSummary({ ...s, perClass: odd });
    sameSummary({ ...s, perClass: odd }, unpackSummary(kept) as ViewSummary, 'matrix packed, rows as they were');
  });

  it('a damaged packing is refused (null), never a wrong table', function () {
    const p = packClassStats(summary(64, 300, 5).perClass);
    assert.ok(p && p.rest, 'packed with a rest row');
    assert.equal(unpackClassStats({ ...p, values: p.values.subarray(1) }), null, 'columns cut short');
    assert.equal(unpackClassStats({ ...p, rows: Int32Array.from(p.rows, (c) => c + 1000) }), null, 'a class out of range');
    assert.equal(unpackClassStats({ ...p, rest: null }), null, 'no row for the rest');
    const cm = packConfusion([0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.ok(cm && cm.cells, 'sparse');
    assert.equal(unpackConfusion({ ...cm, length: 2 }), null, 'a cell past the end');
    assert.equal(unpackConfusion({ ...cm, counts: new Uint8Array(0) }), null, 'counts cut short');
  });
});
