// Empty tensors and inputs without classes through the engine, on every path: the SIMD fast path (float32 /
// float16 logits with class indices, from tensors and from C- and Fortran-order files), the general path
// (float64, probability targets, probs / log-probs, bce, channels-last), the streaming planner, and sessions.
// PyTorch 1.13's answers for an empty loss map (checked with /usr/bin/python3 for every shape below, with and
// without weight and label smoothing): mean nan, sum 0., none an empty tensor of the target's shape. The
// cases read from the parity fixtures (ce-empty, bce-empty, ce-no-classes, error-no-classes) carry PyTorch's
// own numbers and messages.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import type { LossOptions } from '../../../src/kernel/types';
import { decodeNpy, encodeNpy } from '../../../src/tensor/binary/npy';
import type { DType, Tensor } from '../../../src/tensor/tensor';
import { Engine, type EngineRequest, type EngineResult, type TensorSource } from '../../../src/worker/engine/engine';
import { LossSession } from '../../../src/worker/engine/session';
import { OutputController, outputLabels, type OutputSession } from '../../../src/outputController';
import { toViewSummary, type HostToView } from '../../../src/protocol';
import type { Payload } from '../../../src/tensor/text/payload';
import { close, fromJson, isErrorExpect, loadCase, loadManifest, type ParityCase } from '../../parity/fixtures';
import { DIST, ROOT } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-empty-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const engines: Engine[] = [];
function engine(o: ConstructorParameters<typeof Engine>[0] = {}): Engine {
  const e = new Engine({ distDir: DIST, maxWorkers: 2, ...o });
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.dispose()));
});

function zeros(dtype: DType, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float64' ? new Float64Array(n) : dtype === 'float32' || dtype === 'float16' ? new Float32Array(n) : new Int32Array(n);
  return { dtype, shape, data };
}

let fileNo = 0;
function file(t: Tensor, fortranOrder = false): TensorSource {
  const p = path.join(tmp, `t${fileNo++}.npy`);
  fs.writeFileSync(p, encodeNpy(t, { fortranOrder }));
  return { kind: 'file', path: p };
}

function tensor(t: Tensor): TensorSource {
  return { kind: 'tensor', tensor: t };
}

type Reduction = LossOptions['reduction'];

/** PyTorch's reduced value of an empty loss map. */
function emptyValue(reduction: Reduction): number | null {
  return reduction === 'mean' ? NaN : reduction === 'sum' ? 0 : null;
}

/** The result of an empty loss map: PyTorch's value, an empty map of the target's shape, nothing counted. */
function assertEmpty(r: EngineResult, lossShape: readonly number[], C: number, want: number | null, where: string): void {
  if (want === null) assert.equal(r.value, null, where);
  else assert.ok(Object.is(r.value, want) || r.value === want, `${where}: value ${r.value}, PyTorch ${want}`);
  assert.deepEqual(r.lossShape, lossShape, where);
  assert.ok(r.maps, `${where}: maps kept`);
  assert.equal(r.maps.loss.length, 0, where);
  assert.equal(r.maps.predicted.length, 0, where);
  assert.equal(r.maps.targetClass.length, 0, where);
  assert.equal(r.maps.ignored.length, 0, where);
  assert.equal(r.streamed, false, where);
  const s = r.stats;
  assert.equal(s.elementCount, 0, where);
  assert.equal(s.ignoredCount, 0, where);
  assert.equal(s.nanCount, 0, where);
  assert.equal(s.infCount, 0, where);
  assert.deepEqual(s.worst, [], where);
  assert.equal(s.numClasses, C, where);
  assert.equal(s.perClass.length, C, where);
  for (const c of s.perClass) {
    assert.deepEqual([c.count, c.ignored, c.lossSum, c.predicted], [0, 0, 0, 0], `${where}: class ${c.index}`);
  }
  assert.ok(Array.from(s.confusion).every((v) => v === 0), `${where}: confusion`);
  assert.equal(r.numerator, 0, where);
  assert.equal(r.denominator, 0, where);
}

function assertEmptyNpy(p: string, shape: readonly number[]): void {
  const t = decodeNpy(new Uint8Array(fs.readFileSync(p)));
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.shape, shape);
  assert.equal(t.data.length, 0);
}

const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

describe('engine: empty tensors', function () {
  // (input shape, target shape): a zero batch, a zero spatial size, and both.
  const shapes: ReadonlyArray<readonly [readonly number[], readonly number[]]> = [
    [[0, 3], [0]],
    [[2, 3, 0], [2, 0]],
    [[2, 3, 0, 4], [2, 0, 4]],
    [[0, 3, 4, 4], [0, 4, 4]],
    [[0, 3, 0], [0, 0]],
  ];

  for (const [xs, ts] of shapes) {
    it(`${JSON.stringify(xs)}: PyTorch's answer on the fast path (tensor, file, Fortran-order file) and the general path (float64, probability targets, probs, log-probs, bce, channels-last)`, async function () {
      const e = engine();
      const x = zeros('float32', xs);
      const y = zeros('int64', ts);
      const weight = tensor({ dtype: 'float32', shape: [3], data: Float32Array.of(0.5, 1, 2) });
      const sources: Array<[string, TensorSource, TensorSource]> = [
        ['tensor', tensor(x), tensor(y)],
        ['file', file(x), file(y)],
        ['fortran file', file(x, true), file(y, ts.length > 1)],
      ];
      for (const [label, input, target] of sources) {
        for (const reduction of REDUCTIONS) {
          for (const extra of [{}, { labelSmoothing: 0.1 }] as const) {
            for (const w of [null, weight]) {
              const where = `${label} ${reduction} ${JSON.stringify(extra)}${w ? ' weighted' : ''}`;
              const outFile = path.join(tmp, `out${fileNo++}.npy`);
              const fractions: number[] = [];
              const r = await e.compute({ input, target, weight: w, options: { reduction, ...extra }, outFile }, { onProgress: (f) => fractions.push(f) });
              assert.equal(r.engine, 'wasm-simd', where);
              assertEmpty(r, ts, 3, emptyValue(reduction), where);
              assertEmptyNpy(outFile, ts);
              assert.equal(fractions.at(-1), 1, `${where}: progress ends at 1`);
            }
          }
        }
      }
      // The engine is fine afterwards: a non-empty request on the same memory.
      const r = await e.compute({ input: tensor({ dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 3, 2, 1) }), target: tensor({ dtype: 'int64', shape: [2], data: Int32Array.of(2, 0) }) });
      assert.ok(Math.abs((r.value as number) - 0.40760596) < 1e-6);

      // The general path (the pure-TS kernel in workers).
      const cl = [xs[0], ...xs.slice(2), xs[1]];
      const variants: Array<[string, Tensor, Tensor, Partial<LossOptions>, readonly number[], number]> = [
        ['float64 logits', zeros('float64', xs), zeros('int64', ts), {}, ts, 3],
        ['probability targets', zeros('float32', xs), zeros('float32', xs), {}, ts, 3],
        ['probs input', zeros('float32', xs), zeros('int64', ts), { inputKind: 'probs' }, ts, 3],
        ['log-probs input', zeros('float32', xs), zeros('int64', ts), { inputKind: 'log-probs' }, ts, 3],
        ['bce', zeros('float32', xs), zeros('float32', xs), { loss: 'bce' }, xs, xs[1]],
      ];
      // Channels-last (rows of C logits): a 2-D input's last axis already is axis 1.
      if (xs.length > 2) variants.push(['channels-last', zeros('float32', cl), zeros('int64', ts), { classDim: -1 }, ts, 3]);
      for (const [label, x, y, options, lossShape, C] of variants) {
        for (const [how, input, target] of [['tensor', tensor(x), tensor(y)], ['file', file(x), file(y)]] as const) {
          for (const reduction of REDUCTIONS) {
            for (const labelSmoothing of options.loss === 'bce' ? [0] : [0, 0.1]) {
              const where = `${label} (${how}) ${reduction} ls ${labelSmoothing}`;
              const outFile = path.join(tmp, `out${fileNo++}.npy`);
              const fractions: number[] = [];
              const r = await e.compute({ input, target, options: { ...options, reduction, labelSmoothing }, outFile }, { onProgress: (f) => fractions.push(f) });
              // Channels-last float32 class-index data takes the fast path as rows; the rest the exact path.
              assert.equal(r.engine, label === 'channels-last' ? 'wasm-simd' : 'typescript', where);
              assertEmpty(r, lossShape, C, emptyValue(reduction), where);
              assertEmptyNpy(outFile, lossShape);
              assert.equal(fractions.at(-1), 1, `${where}: progress ends at 1`);
            }
          }
        }
      }
    });
  }

  it('plans empty files in memory even with a budget of 0 bytes (no block size divides by zero)', async function () {
    const e = engine({ inMemoryBytes: 0, blockBytes: 1 });
    for (const [dtype, xs, ts] of [['float32', [0, 5, 3], [0, 3]], ['float32', [4, 5, 0], [4, 0]], ['float64', [0, 5, 3], [0, 3]], ['float64', [4, 5, 0], [4, 0]]] as const) {
      for (const reduction of REDUCTIONS) {
        const r = await e.compute({ input: file(zeros(dtype, xs)), target: file(zeros('int64', ts)), options: { reduction } });
        assertEmpty(r, ts, 5, emptyValue(reduction), `${dtype} ${JSON.stringify(xs)} ${reduction}`);
      }
    }
  });

  it('a session over an empty result has no sample to show, and says so in one line', async function () {
    const e = engine();
    const s = await LossSession.open(e, { input: tensor(zeros('float32', [0, 3, 4, 4])), target: tensor(zeros('int64', [0, 4, 4])) });
    assert.equal(s.result.stats.elementCount, 0);
    await assert.rejects(s.sampleMaps(0), (err: unknown) => isLensError(err) && /no samples/.test(err.message) && !err.message.includes('\n'));
    // A zero spatial size: samples exist and their maps are empty.
    const z = await LossSession.open(e, { input: file(zeros('float32', [2, 3, 0])), target: tensor(zeros('int64', [2, 0])) });
    const m = await z.sampleMapsWithProbs(1);
    assert.deepEqual([m.loss.length, m.target.length, m.pTarget?.length], [0, 0, 0]);
  });

  it('a notebook output computed by the engine (a LossSession behind an OutputController): the summary, no sample, no error', async function () {
    const e = engine();
    const pairs: Array<[Tensor, Tensor]> = [
      [zeros('float32', [0, 3]), zeros('int64', [0])],
      [zeros('float32', [0, 3, 4, 4]), zeros('int64', [0, 4, 4])],
      [zeros('float64', [2, 3, 0]), zeros('int64', [2, 0])],
    ];
    for (const [input, target] of pairs) {
      const payload: Payload = { input, target, weight: null, options: {}, classNames: [] };
      const sent: HostToView[] = [];
      // What the extension host's renderer messaging does (src/host/editor/notebookRenderer.ts), without vscode.
      const c = new OutputController({
        open: async (o, signal): Promise<OutputSession> => {
          const s = await LossSession.open(e, { input: tensor(input), target: tensor(target), options: o.options, topK: 20 }, { signal });
          const r = s.result;
          return {
            summary: toViewSummary(r, outputLabels(payload, null, { seconds: 0, engine: r.engine, mapsAvailable: r.maps !== null })),
            lossMap: () => (r.maps ? { shape: r.lossShape, data: r.maps.loss } : null),
            sampleMaps: (n) => s.sampleMapsWithProbs(n),
            classMaps: (n) => s.classMaps(n),
            explain: (n, index) => s.explain(n, index),
          };
        },
        send: (m) => sent.push(m),
      });
      await c.compute();
      const where = JSON.stringify(input.shape);
      assert.deepEqual(sent.filter((m) => m.type === 'error' || m.type === 'sample').map((m) => m.type), [], where);
      const summary = sent.find((m) => m.type === 'summary');
      assert.ok(summary?.type === 'summary', where);
      assert.ok(Number.isNaN(summary.summary.value), `${where}: ${summary.summary.value}`);
      assert.deepEqual([summary.summary.elementCount, summary.summary.worst.length], [0, 0], where);
    }
  });
});

describe('engine: inputs without classes (C = 0)', function () {
  const ignored = (shape: number[]): Tensor => ({ dtype: 'int64', shape, data: new Int32Array(shape.reduce((a, b) => a * b, 1)).fill(-100) });

  it('every target ignored: mean nan, sum 0, none zeros; with label smoothing NaN (0 * eps / C), from a tensor and a file', async function () {
    // PyTorch: F.cross_entropy(torch.zeros(3, 0), torch.full((3,), -100)) → nan / 0. / [0., 0., 0.]; with
    // label_smoothing 0.1: nan / nan / [nan, nan, nan].
    const e = engine();
    const x = zeros('float32', [3, 0]);
    const y = ignored([3]);
    for (const [input, target] of [[tensor(x), tensor(y)], [file(x), file(y)]]) {
      for (const [labelSmoothing, none, sum] of [[0, 0, 0], [0.1, NaN, NaN]]) {
        const m = await e.compute({ input, target, options: { reduction: 'mean', labelSmoothing } });
        assert.ok(Number.isNaN(m.value), `mean ${m.value}`);
        const s = await e.compute({ input, target, options: { reduction: 'sum', labelSmoothing } });
        assert.ok(Object.is(s.value, sum), `sum ${s.value}, PyTorch ${sum}`);
        const n = await e.compute({ input, target, options: { reduction: 'none', labelSmoothing } });
        assert.deepEqual(Array.from(n.maps!.loss), [none, none, none]);
        assert.deepEqual(Array.from(n.maps!.predicted), [-1, -1, -1], 'no class is predicted');
        assert.equal(n.stats.ignoredCount, 3);
        assert.deepEqual(n.stats.perClass, []);
        assert.equal(n.stats.confusion.length, 0);
      }
    }
  });

  it('a class index where there are no classes is a one-line error, as in PyTorch (IndexError: Target 0 is out of bounds)', async function () {
    const e = engine();
    for (const [xs, ts] of [[[3, 0], [3]], [[0], []]] as const) {
      const x = zeros('float32', xs);
      const y = zeros('int64', ts);
      for (const [input, target] of [[tensor(x), tensor(y)], [file(x), file(y)]]) {
        await assert.rejects(e.compute({ input, target }), (err: unknown) => isLensError(err) && err.kind === 'value' && /target value 0/.test(err.message) && /no classes/.test(err.message) && !err.message.includes('\n'));
      }
    }
  });

  it('a 3-D or 5-D input without classes and a non-empty target: PyTorch\'s size mismatch, in one line', async function () {
    const e = engine();
    for (const [xs, ts] of [[[2, 0, 3], [2, 3]], [[1, 0, 2, 3, 4], [1, 2, 3, 4]]] as const) {
      const x = zeros('float32', xs);
      for (const [input, target] of [[tensor(x), tensor(ignored([...ts]))], [file(x), file(ignored([...ts]))]]) {
        await assert.rejects(e.compute({ input, target }), (err: unknown) => isLensError(err) && err.kind === 'shape' && /size mismatch/.test(err.message) && /no classes/.test(err.message) && !err.message.includes('\n'));
      }
    }
  });

  it('probability targets: every element\'s loss is -0 and the mean is nan (PyTorch divides by input.numel() / C)', async function () {
    const e = engine();
    const x = zeros('float32', [3, 0]);
    for (const [input, target] of [[tensor(x), tensor(x)], [file(x), file(x)]]) {
      const m = await e.compute({ input, target });
      assert.ok(Number.isNaN(m.value), `mean ${m.value}`);
      assert.deepEqual(Array.from(m.maps!.loss), [-0, -0, -0]);
      assert.equal(m.denominator, 0);
    }
  });
});

describe('engine: PyTorch parity fixtures of empty tensors and inputs without classes', function () {
  const dir = path.join(ROOT, 'test', 'fixtures', 'parity');
  const cases = loadManifest(dir).cases.filter((c) => /^(ce-empty|bce-empty|ce-no-classes|error-no-classes)/.test(c.id));

  it('every case, from tensors and from .npy files, gives PyTorch\'s numbers (or its error)', async function () {
    assert.ok(cases.length >= 40, `only ${cases.length} cases`);
    const e = engine();
    const failures: string[] = [];
    for (const c of cases) {
      try {
        await checkCase(e, dir, c);
      } catch (err) {
        failures.push(`${c.id}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});

/** One parity case through the engine, from tensors and from .npy files; throws on the first difference. */
async function checkCase(e: Engine, dir: string, c: ParityCase): Promise<void> {
  const { request, expectedLoss } = loadCase(dir, c);
  const pairs: Array<[TensorSource, TensorSource]> = [[tensor(request.input), tensor(request.target)], [file(request.input), file(request.target)]];
  for (const [input, target] of pairs) {
    const req: EngineRequest = {
      input, target,
      weight: request.weight ? tensor(request.weight) : null, posWeight: request.posWeight ? tensor(request.posWeight) : null,
      options: request.options,
    };
    const where = input.kind;
    if (isErrorExpect(c.expect)) {
      const expect = c.expect;
      await assert.rejects(e.compute(req), (err: unknown) => {
        assert.ok(isLensError(err), `${where}: ${String(err)}`);
        assert.ok(!err.message.includes('\n'), where);
        for (const s of expect.mustMention ?? []) assert.ok(err.message.toLowerCase().includes(s.toLowerCase()), `${where}: ${err.message} lacks ${s}`);
        return true;
      });
      continue;
    }
    const r = await e.compute(req);
    assert.deepEqual(r.lossShape, expectedLoss!.shape, where);
    const want = expectedLoss!.data;
    assert.equal(r.maps!.loss.length, want.length, where);
    for (let i = 0; i < want.length; i++) assert.ok(close(r.maps!.loss[i], want[i]), `${where}: loss[${i}] ${r.maps!.loss[i]}, PyTorch ${want[i]}`);
    if (c.expect.value === null) assert.equal(r.value, null, where);
    else assert.ok(r.value !== null && close(r.value, fromJson(c.expect.value)), `${where}: value ${r.value}, PyTorch ${c.expect.value}`);
    assert.equal(r.stats.worst.length, Math.min(10, want.length - r.stats.ignoredCount), `${where}: worst list`);
    if (want.length === 0) assertEmpty(r, expectedLoss!.shape, r.stats.numClasses, r.value, where);
  }
}
