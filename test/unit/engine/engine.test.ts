// The worker-thread engine (dist/worker.js + dist/ce.wasm, built by npm run build): agreement with the
// reference kernel, determinism across worker counts, streaming, cancellation, progress and recovery.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError, fmtShape } from '../../../src/errors';
import { computeLoss } from '../../../src/kernel/index';
import { decodeNpy, encodeNpy } from '../../../src/tensor/binary/npy';
import type { Tensor } from '../../../src/tensor/tensor';
import { Engine, type EngineRequest, type EngineResult } from '../../../src/worker/engine/engine';
import { boundShare, simdElementOk } from '../../parity/simdBound';
import { DIST, openDescriptorsOn, randomLogits, randomTargets, sparseNpy, writeNpy } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-engine-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const engines: Engine[] = [];
function engine(o: ConstructorParameters<typeof Engine>[0] = {}): Engine {
  const e = new Engine({ distDir: DIST, ...o });
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.dispose()));
});

function t(tensor: Tensor): { kind: 'tensor'; tensor: Tensor } {
  return { kind: 'tensor', tensor };
}

/** Equal up to 1e-12 relative in every number: sums taken over differently cut blocks differ in the last bits. */
function assertClose(a: unknown, b: unknown, where = 'stats'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Object.is(a, b) || a === b) return;
    assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)), `${where}: ${a} vs ${b}`);
    return;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    assert.deepEqual(ka, Object.keys(b), where);
    for (const k of ka) assertClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`);
    return;
  }
  assert.equal(a, b, where);
}

function assertStatsEqual(a: EngineResult, b: EngineResult): void {
  assert.deepEqual(a.stats, b.stats);
  assert.equal(Object.is(a.value, b.value) || a.value === b.value, true, `${a.value} vs ${b.value}`);
}

describe('engine: general path (pure-TS kernel in workers)', function () {
  it('equals computeLoss exactly, split over samples', async function () {
    const input: Tensor = { dtype: 'float64', shape: [7, 4, 3, 5], data: Float64Array.from(randomLogits([7, 4, 3, 5], 3).data) };
    const target = randomTargets([7, 3, 5], 4, 4, -100, 0.1);
    const weight: Tensor = { dtype: 'float64', shape: [4], data: Float64Array.from([0.3, 1, 2, 0.5]) };
    for (const labelSmoothing of [0, 0.2]) {
      const options = { labelSmoothing, reduction: 'mean' as const };
      const ref = computeLoss({ input, target, weight, options });
      const r = await engine({ maxWorkers: 2 }).compute({ input: t(input), target: t(target), weight: t(weight), options });
      assert.equal(r.engine, 'typescript');
      assert.deepEqual(Array.from(r.maps!.loss), Array.from(ref.lossMap));
      assert.deepEqual(Array.from(r.maps!.predicted), Array.from(ref.predicted));
      assert.ok(Math.abs((r.value as number) - (ref.value as number)) <= 1e-12 * Math.abs(ref.value as number));
      assert.deepEqual(r.stats.perClass.map((c) => c.count), ref.stats.perClass.map((c) => c.count));
      assert.deepEqual(Array.from(r.stats.confusion), Array.from(ref.stats.confusion));
    }
  });

  it('splits bce over samples, weights varying along axis 0 cut with them: the reference\'s numbers for 1 and 3 workers', async function () {
    // 2.4 M elements: more than one general job (2 M elements each), so a split shows as a second worker.
    const shape = [6, 40, 10_000];
    const n = 6 * 40 * 10_000;
    const x = randomLogits(shape, 13);
    const y: Tensor = { dtype: 'float32', shape, data: randomLogits(shape, 14, 1).data.map((v) => (v > 0 ? 1 : 0)) };
    const w: Tensor = { dtype: 'float32', shape: [40, 10_000], data: Float32Array.from({ length: 400_000 }, (_, i) => 0.5 + (i % 4)) };
    const wAll: Tensor = { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => 0.25 + (i % 3)) };
    const pw: Tensor = { dtype: 'float32', shape: [10_000], data: Float32Array.from({ length: 10_000 }, (_, i) => 1 + (i % 5) / 2) };
    const pwAll: Tensor = { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => 1 + (i % 7) / 3) };
    for (const [weight, posWeight] of [[null, null], [w, pw], [wAll, pw], [w, pwAll], [wAll, pwAll]] as const) {
      const options = { loss: 'bce' as const, reduction: 'mean' as const };
      const ref = computeLoss({ input: x, target: y, weight, posWeight, options, topK: 5 });
      const rs: EngineResult[] = [];
      for (const maxWorkers of [1, 3]) {
        rs.push(await engine({ maxWorkers }).compute({ input: t(x), target: t(y), weight: weight && t(weight), posWeight: posWeight && t(posWeight), options, topK: 5 }));
      }
      assert.equal(rs[1].workers, 2, `workers used with weight ${weight ? fmtShape(weight.shape) : 'none'}`);
      for (const r of rs) {
        assert.equal(Buffer.compare(Buffer.from(Float64Array.from(r.maps!.loss).buffer), Buffer.from(ref.lossMap.buffer)), 0);
        // 0/1 maps in a byte per element, the reference's values (x > 0, t >= 0.5) in every job's range.
        const m = r.maps!;
        assert.ok(m.predicted instanceof Uint8Array && m.targetClass instanceof Uint8Array, `bce maps: predicted ${m.predicted.constructor.name}, targetClass ${m.targetClass.constructor.name}; want Uint8Array`);
        for (let i = 0; i < n; i++) {
          if (m.predicted[i] !== ref.predicted[i] || m.targetClass[i] !== ref.targetClass[i] || m.ignored[i] !== 0) assert.fail(`bce maps differ at ${i}: ${m.predicted[i]} ${m.targetClass[i]} ${m.ignored[i]} vs ${ref.predicted[i]} ${ref.targetClass[i]} 0`);
        }
        assertClose(r.stats, ref.stats);
        assertClose(r.value, ref.value, 'value');
      }
      assertStatsEqual(rs[1], rs[0]);
    }
  });

  it('streams a general-path .npy (float64 logits, probability targets, bce) block by block, with the same numbers', async function () {
    const x: Tensor = { dtype: 'float64', shape: [7, 4, 9, 5], data: Float64Array.from(randomLogits([7, 4, 9, 5], 15, 8).data) };
    const labels = randomTargets([7, 9, 5], 4, 16, 255, 0.1);
    const probs: Tensor = { dtype: 'float64', shape: [7, 4, 9, 5], data: Float64Array.from(randomLogits([7, 4, 9, 5], 17, 1).data, (v) => Math.abs(v)) };
    const binary: Tensor = { dtype: 'float64', shape: [7, 4, 9, 5], data: Float64Array.from(randomLogits([7, 4, 9, 5], 18, 1).data, (v) => (v > 0 ? 1 : 0)) };
    const xf = path.join(tmp, 'g-x.npy');
    writeNpy(xf, x);
    // bce weights that vary along axis 0 go with each block of samples.
    const wAll: Tensor = { dtype: 'float64', shape: [7, 4, 9, 5], data: Float64Array.from({ length: 1260 }, (_, i) => 0.5 + (i % 7) / 4) };
    const pwAll: Tensor = { dtype: 'float64', shape: [7, 1, 9, 5], data: Float64Array.from({ length: 315 }, (_, i) => 1 + (i % 3)) };
    const cases: Array<{ name: string; target: Tensor; options: EngineRequest['options']; weight?: Tensor; posWeight?: Tensor }> = [
      { name: 'labels', target: labels, options: { ignoreIndex: 255, labelSmoothing: 0.1 } },
      { name: 'probs', target: probs, options: {} },
      { name: 'bce', target: binary, options: { loss: 'bce' as const } },
      { name: 'bce-weights', target: binary, options: { loss: 'bce' as const }, weight: wAll, posWeight: pwAll },
    ];
    for (const c of cases) {
      const tf = path.join(tmp, `g-${c.name}.npy`);
      writeNpy(tf, c.target);
      const req = { input: { kind: 'file' as const, path: xf }, target: { kind: 'file' as const, path: tf }, options: c.options, topK: 5, weight: c.weight && t(c.weight), posWeight: c.posWeight && t(c.posWeight) };
      const whole = await engine().compute(req);
      const ref = computeLoss({ input: x, target: c.target, weight: c.weight, posWeight: c.posWeight, options: c.options });
      assertClose(whole.value, ref.value, `${c.name} value against the reference`);
      const out = path.join(tmp, `g-${c.name}-loss.npy`);
      // Blocks of 2 samples (the budget counts 8 bytes per input element).
      const streamed = await engine({ inMemoryBytes: 1, blockBytes: 2 * 4 * 45 * 8 }).compute({ ...req, outFile: out });
      assert.equal(whole.engine, 'typescript', c.name);
      assert.equal(streamed.streamed, true, c.name);
      assert.equal(streamed.maps, null);
      assertClose(streamed.stats, whole.stats, `${c.name} stats`);
      assertClose(streamed.value, whole.value, `${c.name} value`);
      const written = decodeNpy(new Uint8Array(fs.readFileSync(out)));
      assert.deepEqual(written.shape, whole.lossShape);
      assert.deepEqual(Array.from(written.data as Float32Array), Array.from(Float32Array.from(whole.maps!.loss)), c.name);
    }
    // A bad label in a later block is named by its index in the whole target.
    const bad = randomTargets([7, 9, 5], 4, 16, 255, 0);
    (bad.data as Int32Array)[5 * 45 + 2 * 5 + 3] = 7; // [5, 2, 3]
    const tf = path.join(tmp, 'g-bad.npy');
    writeNpy(tf, bad);
    await assert.rejects(engine({ inMemoryBytes: 1, blockBytes: 2 * 4 * 45 * 8 }).compute({ input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf } }), /target value 7 at index \[5, 2, 3\]/);
  });

  it('handles probability targets, bce and channels-last like computeLoss', async function () {
    const x = randomLogits([3, 4, 6], 9);
    const probs: Tensor = { dtype: 'float32', shape: [3, 4, 6], data: randomLogits([3, 4, 6], 10, 1).data.map((v) => v + 0.5) };
    const cl = randomLogits([3, 6, 4], 11);
    const cl64: Tensor = { dtype: 'float64', shape: cl.shape, data: Float64Array.from(cl.data) };
    const clTarget = randomTargets([3, 6], 4, 12, -100, 0);
    // The exact path: bit for bit the reference kernel.
    const cases = [
      { input: x, target: probs, options: {} },
      { input: x, target: probs, options: { loss: 'bce' as const, reduction: 'sum' as const } },
      { input: cl64, target: clTarget, options: { classDim: -1 } },
    ];
    for (const c of cases) {
      const ref = computeLoss(c);
      const r = await engine({ maxWorkers: 2 }).compute({ input: t(c.input), target: t(c.target), options: c.options });
      assert.equal(r.engine, 'typescript');
      assert.deepEqual(Array.from(r.maps!.loss), Array.from(ref.lossMap));
      assert.equal(r.value, ref.value);
      assert.deepEqual(r.stats, ref.stats);
    }
    // float32 channels-last takes the SIMD rows path: within the kernel's bound, same argmax and counts.
    const ref = computeLoss({ input: cl, target: clTarget, options: { classDim: -1 } });
    const r = await engine({ maxWorkers: 2 }).compute({ input: t(cl), target: t(clTarget), options: { classDim: -1 } });
    assert.equal(r.engine, 'wasm-simd');
    for (let i = 0; i < ref.lossMap.length; i++) assert.ok(simdElementOk(r.maps!.loss[i], ref.lossMap[i]), `element ${i}: ${r.maps!.loss[i]} vs ${ref.lossMap[i]}`);
    assert.ok(Math.abs(r.value! - ref.value!) <= 2e-6 * Math.abs(ref.value!));
    assert.deepEqual(Array.from(r.maps!.predicted), Array.from(ref.predicted));
    assert.deepEqual(r.stats.confusion, ref.stats.confusion);
  });

  it('raises the kernel\'s own errors with the global first index', async function () {
    const input = { ...randomLogits([40, 3, 9], 1), dtype: 'float64' as const };
    input.data = Float64Array.from(input.data);
    const target = randomTargets([40, 9], 3, 2, -100, 0);
    (target.data as Int32Array)[37 * 9 + 4] = 3;
    (target.data as Int32Array)[39 * 9 + 1] = 7;
    await assert.rejects(engine().compute({ input: t(input), target: t(target) }), (e: unknown) => e instanceof LensError && /target value 3 at index \[37, 4\]/.test(e.message));
  });
});

describe('engine: fast path (WebAssembly SIMD)', function () {
  it('is available here', function () {
    assert.equal(engine().wasmAvailable, true, 'dist/ce.wasm missing or no SIMD');
  });

  for (const labelSmoothing of [0, 0.1]) {
    it(`agrees with the float64 reference within 2e-6 |l| + 2e-7 per element (label_smoothing ${labelSmoothing})`, async function () {
      const input = randomLogits([3, 7, 33, 41], 21, 10);
      const target = randomTargets([3, 33, 41], 7, 22);
      const weight: Tensor = { dtype: 'float32', shape: [7], data: Float32Array.from([1, 0.5, 2, 1, 1, 3, 0.25]) };
      const options = { ignoreIndex: 255, labelSmoothing };
      const ref = computeLoss({ input, target, weight, options, topK: 5 });
      const r = await engine({ maxWorkers: 2 }).compute({ input: t(input), target: t(target), weight: t(weight), options, topK: 5 });
      assert.equal(r.engine, 'wasm-simd');
      // The kernel's documented bound 2e-6 |l| + 2e-7 (1 = at the bound).
      let worst = 0;
      for (let i = 0; i < ref.lossMap.length; i++) worst = Math.max(worst, boundShare(r.maps!.loss[i], ref.lossMap[i]));
      assert.ok(worst <= 1, `worst element ${worst.toFixed(2)} x the bound 2e-6 |l| + 2e-7`);
      assert.deepEqual(Array.from(r.maps!.predicted), Array.from(ref.predicted));
      assert.deepEqual(Array.from(r.stats.confusion), Array.from(ref.stats.confusion));
      assert.deepEqual(r.stats.perClass.map((c) => [c.count, c.ignored, c.predicted, c.accuracy, c.iou]), ref.stats.perClass.map((c) => [c.count, c.ignored, c.predicted, c.accuracy, c.iou]));
      assert.ok(Math.abs((r.value as number) - (ref.value as number)) <= 1e-6 * Math.abs(ref.value as number));
      assert.equal(r.stats.ignoredCount, ref.stats.ignoredCount);
      assert.deepEqual(r.stats.worst.map((w) => w.index), ref.stats.worst.map((w) => w.index));
    });
  }

  it('gives bitwise identical maps and equal statistics for 1, 2 and 3 workers', async function () {
    const input = randomLogits([5, 21, 64, 80], 31);
    const target = randomTargets([5, 64, 80], 21, 32);
    const req: EngineRequest = { input: t(input), target: t(target), options: { ignoreIndex: 255, labelSmoothing: 0.05 } };
    const results: EngineResult[] = [];
    for (const maxWorkers of [1, 2, 3]) results.push(await engine({ maxWorkers }).compute(req));
    for (const r of results.slice(1)) {
      assert.equal(Buffer.compare(Buffer.from(r.maps!.loss.buffer), Buffer.from(results[0].maps!.loss.buffer)), 0);
      assertStatsEqual(r, results[0]);
    }
    const general: EngineResult[] = [];
    for (const maxWorkers of [1, 3]) general.push(await engine({ maxWorkers, disableWasm: true }).compute(req));
    assert.equal(general[0].engine, 'typescript');
    assertStatsEqual(general[0], general[1]);
  });

  it('gives the same statistics when one engine computes the same request twice (reused memory)', async function () {
    const e = engine({ maxWorkers: 2 });
    const req: EngineRequest = { input: t(randomLogits([2, 4, 16, 16], 61)), target: t(randomTargets([2, 16, 16], 4, 62)), options: { ignoreIndex: 255 } };
    const a = await e.compute(req);
    const b = await e.compute(req);
    assertStatsEqual(a, b);
    assert.ok(a.stats.accuracy <= 1);
  });

  it('streams a .npy larger than its in-memory budget, block by block, with the same numbers', async function () {
    const input = randomLogits([9, 5, 20, 30], 41);
    const target = randomTargets([9, 20, 30], 5, 42);
    const xf = path.join(tmp, 'x.npy');
    const tf = path.join(tmp, 't.npy');
    writeNpy(xf, input);
    writeNpy(tf, target);
    const req = { input: { kind: 'file' as const, path: xf }, target: { kind: 'file' as const, path: tf }, options: { ignoreIndex: 255 } };
    const whole = await engine().compute(req);
    const out = path.join(tmp, 'loss.npy');
    const streamed = await engine({ inMemoryBytes: 1, blockBytes: 2 * 5 * 600 * 4 }).compute({ ...req, outFile: out });
    assert.equal(whole.streamed, false);
    assert.equal(streamed.streamed, true);
    assert.equal(streamed.maps, null);
    assertStatsEqual(streamed, whole);
    const written = decodeNpy(new Uint8Array(fs.readFileSync(out)));
    assert.deepEqual(written.shape, [9, 20, 30]);
    assert.equal(Buffer.compare(Buffer.from((written.data as Float32Array).buffer), Buffer.from(whole.maps!.loss.buffer)), 0);
  });

  // Classification rows (N, C) run transposed, the rows as the pixels of one sample; samples smaller than
  // a job (N, C, 2, 3) go several to a job. Both against the float64 reference and across worker counts.
  for (const shape of [[3001, 13], [700, 5, 2, 3]]) {
    it(`runs ${fmtShape(shape)} inputs on the fast path like the reference, the same for 1 and 3 workers`, async function () {
      const input = randomLogits(shape, 71, 10);
      const target = randomTargets([shape[0], ...shape.slice(2)], shape[1], 72);
      const weight: Tensor = { dtype: 'float32', shape: [shape[1]], data: Float32Array.from({ length: shape[1] }, (_, c) => 0.5 + (c % 3)) };
      const options = { ignoreIndex: 255, labelSmoothing: 0.1 };
      const ref = computeLoss({ input, target, weight, options, topK: 7 });
      const results: EngineResult[] = [];
      for (const maxWorkers of [1, 3]) results.push(await engine({ maxWorkers }).compute({ input: t(input), target: t(target), weight: t(weight), options, topK: 7 }));
      const r = results[0];
      assert.equal(r.engine, 'wasm-simd');
      // The kernel's documented bound 2e-6 |l| + 2e-7 (1 = at the bound).
      let worst = 0;
      for (let i = 0; i < ref.lossMap.length; i++) worst = Math.max(worst, boundShare(r.maps!.loss[i], ref.lossMap[i]));
      assert.ok(worst <= 1, `worst element ${worst.toFixed(2)} x the bound 2e-6 |l| + 2e-7`);
      assert.deepEqual(Array.from(r.maps!.predicted), Array.from(ref.predicted));
      assert.deepEqual(Array.from(r.maps!.targetClass), Array.from(ref.targetClass));
      assert.deepEqual(Array.from(r.maps!.ignored), Array.from(ref.ignoredMask));
      assert.deepEqual(Array.from(r.stats.confusion), Array.from(ref.stats.confusion));
      assert.ok(Math.abs((r.value as number) - (ref.value as number)) <= 1e-6 * Math.abs(ref.value as number));
      assert.deepEqual(r.stats.worst.map((w) => w.index), ref.stats.worst.map((w) => w.index));
      assert.equal(Buffer.compare(Buffer.from(results[1].maps!.loss.buffer), Buffer.from(r.maps!.loss.buffer)), 0);
      assertStatsEqual(results[1], r);
    });
  }

  it('streams classification rows from a file block by block, with the same numbers', async function () {
    const input = randomLogits([5000, 11], 81);
    const target = randomTargets([5000], 11, 82);
    const xf = path.join(tmp, 'rows.npy');
    const tf = path.join(tmp, 'rows-t.npy');
    writeNpy(xf, input);
    writeNpy(tf, target);
    const req = { input: { kind: 'file' as const, path: xf }, target: { kind: 'file' as const, path: tf }, options: { ignoreIndex: 255 } };
    const whole = await engine().compute(req);
    const out = path.join(tmp, 'rows-loss.npy');
    const streamed = await engine({ inMemoryBytes: 1, blockBytes: 777 * 11 * 4 }).compute({ ...req, outFile: out });
    assert.equal(streamed.streamed, true);
    assertClose(streamed.stats, whole.stats);
    assertClose(streamed.value, whole.value, 'value');
    const written = decodeNpy(new Uint8Array(fs.readFileSync(out)));
    assert.equal(Buffer.compare(Buffer.from((written.data as Float32Array).buffer), Buffer.from(whole.maps!.loss.buffer)), 0);
    const bad = randomTargets([5000], 11, 83);
    (bad.data as Int32Array)[4321] = 11;
    writeNpy(tf, bad);
    await assert.rejects(engine({ inMemoryBytes: 1, blockBytes: 777 * 11 * 4 }).compute(req), /\[4321\]/);
  });

  // Fortran-order files (written transposed by NumPy for np.asfortranarray data) stream in their own order.
  for (const [shape, label] of [[[4, 6, 9, 7], 'segmentation'], [[500, 7], 'classification'], [[1, 3, 5, 4], 'one-sample']] as const) {
    it(`computes Fortran-order ${label} files ${fmtShape(shape)} like the reference, in memory and streamed`, async function () {
      const input = randomLogits([...shape], 91, 10);
      const target = randomTargets([shape[0], ...shape.slice(2)], shape[1], 92);
      const xf = path.join(tmp, `f-${label}.npy`);
      const tf = path.join(tmp, `f-${label}-t.npy`);
      fs.writeFileSync(xf, encodeNpy(input, { fortranOrder: true }));
      fs.writeFileSync(tf, encodeNpy(target, { fortranOrder: true }));
      const options = { ignoreIndex: 255, labelSmoothing: 0.05 };
      const ref = computeLoss({ input, target, options, topK: 6 });
      const req = { input: { kind: 'file' as const, path: xf }, target: { kind: 'file' as const, path: tf }, options, topK: 6 };
      const whole = await engine({ maxWorkers: 2 }).compute(req);
      assert.equal(whole.engine, 'wasm-simd');
      // The kernel's documented bound 2e-6 |l| + 2e-7 (1 = at the bound).
      let worst = 0;
      for (let i = 0; i < ref.lossMap.length; i++) worst = Math.max(worst, boundShare(whole.maps!.loss[i], ref.lossMap[i]));
      assert.ok(worst <= 1, `worst element ${worst.toFixed(2)} x the bound 2e-6 |l| + 2e-7`);
      assert.deepEqual(Array.from(whole.maps!.predicted), Array.from(ref.predicted));
      assert.deepEqual(Array.from(whole.maps!.targetClass), Array.from(ref.targetClass));
      assert.deepEqual(Array.from(whole.maps!.ignored), Array.from(ref.ignoredMask));
      assert.deepEqual(Array.from(whole.stats.confusion), Array.from(ref.stats.confusion));
      assert.deepEqual(whole.stats.worst.map((w) => w.index), ref.stats.worst.map((w) => w.index));
      assert.ok(Math.abs((whole.value as number) - (ref.value as number)) <= 1e-6 * Math.abs(ref.value as number));
      // Streamed in small blocks: the same statistics, and a loss file (Fortran order) NumPy reads as the same map.
      const out = path.join(tmp, `f-${label}-loss.npy`);
      const streamed = await engine({ inMemoryBytes: 1, blockBytes: shape[0] * shape[1] * 4 * 5 }).compute({ ...req, outFile: out });
      assert.equal(streamed.streamed, true);
      assertClose(streamed.stats, whole.stats);
      const written = decodeNpy(new Uint8Array(fs.readFileSync(out)));
      assert.deepEqual(written.shape, ref.lossShape);
      assert.equal(Buffer.compare(Buffer.from((written.data as Float32Array).buffer), Buffer.from(whole.maps!.loss.buffer)), 0);
    });
  }

  it('names the first out-of-range target of a Fortran-order file by its index', async function () {
    const input = randomLogits([3, 4, 5, 6], 93);
    const target = randomTargets([3, 5, 6], 4, 94, 255, 0);
    (target.data as Int32Array)[2 * 30 + 1 * 6 + 5] = 9; // [2, 1, 5]
    (target.data as Int32Array)[1 * 30 + 4 * 6 + 2] = -3; // [1, 4, 2]: earlier in C order, later in the file
    const xf = path.join(tmp, 'fbad.npy');
    const tf = path.join(tmp, 'fbad-t.npy');
    fs.writeFileSync(xf, encodeNpy(input, { fortranOrder: true }));
    fs.writeFileSync(tf, encodeNpy(target, { fortranOrder: true }));
    await assert.rejects(engine().compute({ input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf } }), /\[1, 4, 2\]/);
  });

  it('names an int64 target too large for int32 in a Fortran-order file by its own index', async function () {
    const input = randomLogits([3, 4, 5, 6], 95);
    const target = randomTargets([3, 5, 6], 4, 96, 255, 0);
    const data = Float64Array.from(target.data as Int32Array);
    data[1 * 30 + 4 * 6 + 2] = 2 ** 40; // [1, 4, 2]
    const xf = path.join(tmp, 'fbig.npy');
    const tf = path.join(tmp, 'fbig-t.npy');
    fs.writeFileSync(xf, encodeNpy(input, { fortranOrder: true }));
    fs.writeFileSync(tf, encodeNpy({ dtype: 'int64', shape: [3, 5, 6], data }, { fortranOrder: true }));
    await assert.rejects(engine().compute({ input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf } }), /value (\d+ )?at index \[1, 4, 2\] does not fit/);
  });

  it('names a Fortran-order file\'s own first bad target, not a value the working memory kept from the previous request', async function () {
    // (batch 32, C 128, 25 x 24) in Fortran order: 600 positions of 16 KiB, read in two pieces (512 and 88
    // positions). Both requests lay out the working memory the same way, so the second one's unread second
    // piece still holds the first one's targets.
    const shape = [32, 128, 25, 24];
    const input = randomLogits(shape, 131);
    const xf = path.join(tmp, 'fstale-x.npy');
    fs.writeFileSync(xf, encodeNpy(input, { fortranOrder: true }));
    const targetFile = (name: string, edit: (d: Int32Array) => void): string => {
      const target = randomTargets([32, 25, 24], 128, 132, 255, 0);
      edit(target.data as Int32Array);
      const f = path.join(tmp, name);
      fs.writeFileSync(f, encodeNpy(target, { fortranOrder: true }));
      return f;
    };
    const at = (n: number, h: number, w: number): number => (n * 25 + h) * 24 + w;
    // [0, 24, 23] is position 599 (the second piece) but early in C order; [31, 0, 0] is position 0.
    const first = targetFile('fstale-t1.npy', (d) => (d[at(0, 24, 23)] = 200));
    const second = targetFile('fstale-t2.npy', (d) => (d[at(31, 0, 0)] = -3));
    // One worker: the request ends at the first bad chunk, while the second piece is still held back.
    let hold = false;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const e = engine({ maxWorkers: 1, beforePieceRead: (_block, piece) => (hold && piece > 0 ? held : undefined) });
    const req = (target: string, ignoreIndex: number): EngineRequest => ({ input: { kind: 'file', path: xf }, target: { kind: 'file', path: target }, options: { ignoreIndex } });
    // 200 is ignored in the first request: it completes, and its targets stay in the working memory.
    assert.equal((await e.compute(req(first, 200))).engine, 'wasm-simd');
    hold = true;
    try {
      await assert.rejects(e.compute(req(second, -100)), (err: unknown) => {
        assert.ok(err instanceof LensError, String(err));
        assert.match(err.message, /target value -3 at index \[31, 0, 0\]/);
        return true;
      });
    } finally {
      release();
    }
    // The held read finishes in the background; the engine serves the next request.
    hold = false;
    assert.equal((await e.compute(req(first, 200))).stats.ignoredCount, 1);
  });

  it('recomputes from files still in its memory, and reads them again once they change on disk', async function () {
    const input = randomLogits([3, 5, 12, 10], 101);
    const target = randomTargets([3, 12, 10], 5, 102);
    const xf = path.join(tmp, 'res-x.npy');
    const tf = path.join(tmp, 'res-t.npy');
    writeNpy(xf, input);
    writeNpy(tf, target);
    const e = engine({ maxWorkers: 2 });
    const req = (o: Record<string, number>): EngineRequest => ({ input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255, ...o } });
    const first = await e.compute(req({}));
    assert.equal(first.reusedInput, false);
    // New options on the same files (the panel's option edits): nothing is read again, the numbers are new.
    const fractions: number[] = [];
    const smoothed = await e.compute(req({ labelSmoothing: 0.2 }), { onProgress: (f) => fractions.push(f) });
    assert.equal(smoothed.reusedInput, true);
    assert.equal(fractions.at(-1), 1);
    const ref = computeLoss({ input, target, options: { ignoreIndex: 255, labelSmoothing: 0.2 } });
    assert.ok(Math.abs((smoothed.value as number) - (ref.value as number)) <= 1e-6 * Math.abs(ref.value as number));
    // A training script rewrites the target (same size): it is read again and the result follows it.
    const changed = randomTargets([3, 12, 10], 5, 103);
    await new Promise((r) => setTimeout(r, 20));
    writeNpy(tf, changed);
    const after = await e.compute(req({}));
    assert.equal(after.reusedInput, false);
    const refChanged = computeLoss({ input, target: changed, options: { ignoreIndex: 255 } });
    assert.ok(Math.abs((after.value as number) - (refChanged.value as number)) <= 1e-6 * Math.abs(refChanged.value as number));
    assert.deepEqual(Array.from(after.maps!.targetClass), Array.from(refChanged.targetClass));
    // Another input in between takes the memory: the first files are read again.
    await e.compute({ input: t(randomLogits([2, 5, 12, 10], 104)), target: t(randomTargets([2, 12, 10], 5, 105)), options: { ignoreIndex: 255 } });
    assert.equal((await e.compute(req({}))).reusedInput, false);
  });

  // File samples load into two staging areas, which workers turn into the kernel's block layout while the
  // next piece reads: samples of 4.5 MB one at a time, samples of 10.6 MB (over the 8 MiB load unit) a few
  // class rows at a time; each area is reused. In-memory tensors go straight into rows.
  for (const shape of [[5, 17, 256, 260], [3, 40, 256, 260]]) {
    it(`lays out ${fmtShape(shape)} samples through the staging areas like the reference, for 1 and 2 workers`, async function () {
      this.timeout(120000);
      const input = randomLogits(shape, 111, 12);
      const target = randomTargets([shape[0], 256, 260], shape[1], 112);
      const xf = path.join(tmp, 'big-x.npy');
      const tf = path.join(tmp, 'big-t.npy');
      writeNpy(xf, input);
      writeNpy(tf, target);
      // The second shape with class weights and label smoothing (the kernel's other variants).
      const options = { ignoreIndex: 255, labelSmoothing: shape[1] === 40 ? 0.1 : 0 };
      const weight: Tensor | null = shape[1] === 40 ? { dtype: 'float32', shape: [40], data: Float32Array.from({ length: 40 }, (_, c) => 0.25 + (c % 5) / 2) } : null;
      const w = weight ? t(weight) : undefined;
      const ref = computeLoss({ input, target, weight, options, topK: 6 });
      // Tensors are copied in rows, files laid out in blocks: the same bits either way.
      const results: EngineResult[] = [];
      for (const maxWorkers of [1, 2]) {
        results.push(await engine({ maxWorkers }).compute({ input: t(input), target: t(target), weight: w, options, topK: 6 }));
        results.push(await engine({ maxWorkers }).compute({ input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, weight: w, options, topK: 6 }));
      }
      const r = results[0];
      // The kernel's documented bound 2e-6 |l| + 2e-7 (1 = at the bound).
      let worst = 0;
      for (let i = 0; i < ref.lossMap.length; i++) worst = Math.max(worst, boundShare(r.maps!.loss[i], ref.lossMap[i]));
      assert.ok(worst <= 1, `worst element ${worst.toFixed(2)} x the bound 2e-6 |l| + 2e-7`);
      assert.deepEqual(Array.from(r.maps!.predicted), Array.from(ref.predicted));
      assert.deepEqual(Array.from(r.stats.confusion), Array.from(ref.stats.confusion));
      assert.deepEqual(r.stats.worst.map((w) => w.index), ref.stats.worst.map((w) => w.index));
      for (const other of results.slice(1)) {
        assert.equal(Buffer.compare(Buffer.from(other.maps!.loss.buffer), Buffer.from(r.maps!.loss.buffer)), 0);
        assertStatsEqual(other, r);
      }
    });
  }

  it('after a cancel, keeps its .npy files open until the block reads it left are done, then closes them', async function () {
    const input = randomLogits([6, 7, 40, 50], 125);
    const target = randomTargets([6, 40, 50], 7, 126);
    const xf = path.join(tmp, 'drain-x.npy');
    const tf = path.join(tmp, 'drain-t.npy');
    writeNpy(xf, input);
    writeNpy(tf, target);
    if (openDescriptorsOn(xf) === null) this.skip();
    const open = (): string => `${openDescriptorsOn(xf)} / ${openDescriptorsOn(tf)}`;
    // Streamed in blocks of one sample: block 1's staging (it starts once block 0 is read) cancels the
    // request and holds its read back until released.
    let armed = false;
    const ac = new AbortController();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const e = engine({ maxWorkers: 1, streamFilesOverBytes: 1 << 10, blockBytes: 7 * 40 * 50 * 4, beforePieceRead: (block) => {
      if (!armed || block !== 1) return undefined;
      armed = false;
      ac.abort();
      return held;
    } });
    const req: EngineRequest = { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } };
    try {
      armed = true;
      await assert.rejects(e.compute(req, { signal: ac.signal }), (err: unknown) => err instanceof LensError && err.kind === 'cancelled');
      // Closed now, the held read would fail on a closed descriptor (or read a file that reused its number).
      assert.equal(open(), '1 / 1', 'input / target descriptors while a cancelled computation still reads');
      release();
      // The next request waits for those reads; the files are closed by then.
      const ok = await e.compute({ input: t(input), target: t(target), options: { ignoreIndex: 255 } });
      assert.equal(open(), '0 / 0', 'descriptors once the reads are done');
      const ref = computeLoss({ input, target, options: { ignoreIndex: 255 } });
      assert.ok(Math.abs((ok.value as number) - (ref.value as number)) <= 1e-6 * Math.abs(ref.value as number));
      await e.compute(req);
      assert.equal(open(), '0 / 0', 'descriptors after a computation that succeeded');
    } finally {
      release();
    }
  });

  it('stops on a bad target or a cancel while samples are staged, and serves the next request', async function () {
    this.timeout(60000);
    const input = randomLogits([6, 17, 256, 260], 121);
    const target = randomTargets([6, 256, 260], 17, 122);
    const xf = path.join(tmp, 'staged-x.npy');
    const tf = path.join(tmp, 'staged-t.npy');
    writeNpy(xf, input);
    // A bad label in the first sample: the jobs stop before the later samples are laid out, so reads
    // waiting for their staging areas must stop too (else the next request would wait for them forever).
    const bad = { ...target, data: Int32Array.from(target.data as Int32Array) };
    (bad.data as Int32Array)[100 * 260 + 7] = 40;
    writeNpy(tf, bad);
    const e = engine({ maxWorkers: 2 });
    const req: EngineRequest = { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } };
    await assert.rejects(e.compute(req), (err: unknown) => err instanceof LensError && /target value 40 at index \[0, 100, 7\]/.test(err.message));
    // Cancelled 5 ms in: the six samples take far longer to read and compute (about 100 ms here).
    writeNpy(tf, target);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(e.compute(req, { signal: ac.signal }), (err: unknown) => err instanceof LensError && err.kind === 'cancelled');
    const ok = await e.compute(req);
    const ref = computeLoss({ input, target, options: { ignoreIndex: 255 } });
    assert.ok(Math.abs((ok.value as number) - (ref.value as number)) <= 1e-6 * Math.abs(ref.value as number));
    // Samples over the load unit stage a few class rows at a time, so a sample waits on several pieces:
    // a failure must leave no rejection unhandled (which would end the extension host's process).
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown): void => void unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      const big = randomLogits([4, 40, 256, 260], 123);
      const bigTarget = randomTargets([4, 256, 260], 40, 124);
      (bigTarget.data as Int32Array)[5] = 99;
      writeNpy(xf, big);
      writeNpy(tf, bigTarget);
      await assert.rejects(e.compute(req), (err: unknown) => err instanceof LensError && /target value 99 at index \[0, 0, 5\]/.test(err.message));
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(unhandled, []);
      writeNpy(tf, randomTargets([4, 256, 260], 40, 124));
      assert.equal((await e.compute(req)).lossShape.join(), '4,256,260');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  // With more lanes than staged pieces in flight, lanes hold relayout jobs whose reads wait for staging
  // areas: after a failure those jobs are never sent, and must still settle or the request never ends.
  it('ends a failing request with 8 workers, and a read that fails leaves no rejection unhandled', async function () {
    this.timeout(120000);
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown): void => void unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      const shape = [4, 8, 1024, 1024];
      const input = randomLogits(shape, 131);
      const target = randomTargets([4, 1024, 1024], 8, 132);
      const xf = path.join(tmp, 'w8-x.npy');
      const tf = path.join(tmp, 'w8-t.npy');
      writeNpy(xf, input);
      const bad = { ...target, data: Int32Array.from(target.data as Int32Array) };
      (bad.data as Int32Array)[5] = 99;
      writeNpy(tf, bad);
      const e = engine({ maxWorkers: 8 });
      const req: EngineRequest = { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } };
      await assert.rejects(e.compute(req), (err: unknown) => err instanceof LensError && /target value 99 at index \[0, 0, 5\]/.test(err.message));
      // An int64 label that does not fit int32, in the last sample: the read itself fails.
      const wide = Float64Array.from(target.data as Int32Array);
      wide[3 * 1024 * 1024 + 7] = 2 ** 40;
      fs.writeFileSync(tf, encodeNpy({ dtype: 'int64', shape: [4, 1024, 1024], data: wide }));
      await assert.rejects(e.compute(req), /value (\d+ )?at index \[3, 0, 7\] does not fit/);
      // The same engine then serves a good request: file (blocks) and tensor (rows) agree bit for bit.
      writeNpy(tf, target);
      const fromFile = await e.compute(req);
      const fromTensor = await e.compute({ input: t(input), target: t(target), options: { ignoreIndex: 255 } });
      assert.equal(Buffer.compare(Buffer.from(fromFile.maps!.loss.buffer), Buffer.from(fromTensor.maps!.loss.buffer)), 0);
      assertStatsEqual(fromFile, fromTensor);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('reads big-endian, float16 and int32 files on the fast path', async function () {
    const input = randomLogits([2, 3, 10], 51);
    const target = randomTargets([2, 10], 3, 52, 255, 0.1, 'int32');
    const ref = computeLoss({ input, target, options: { ignoreIndex: 255 } });
    const be = path.join(tmp, 'be.npy');
    fs.writeFileSync(be, encodeNpy(input, { bigEndian: true }));
    const tf = path.join(tmp, 't32.npy');
    writeNpy(tf, target);
    const r = await engine().compute({ input: { kind: 'file', path: be }, target: { kind: 'file', path: tf }, options: { ignoreIndex: 255 } });
    assert.equal(r.engine, 'wasm-simd');
    for (let i = 0; i < ref.lossMap.length; i++) assert.ok(simdElementOk(r.maps!.loss[i], ref.lossMap[i]), `element ${i}: ${r.maps!.loss[i]} vs ${ref.lossMap[i]}`);
  });
});

describe('engine: cancellation, progress and failures', function () {
  this.timeout(60_000);

  // The design's figures are progress every 200 ms and a stop within 100 ms of cancel; the bounds below are
  // 3x those, so the behaviour stays tested on a loaded shared CI machine (speed is for `npm run bench`).
  it('reports progress often (every 200 ms; asserted at 3x) and stops soon after cancel (100 ms; asserted at 3x)', async function () {
    // 1.5 GiB of zero logits, streamed from a sparse file.
    const xf = path.join(tmp, 'big.npy');
    const tf = path.join(tmp, 'big_t.npy');
    sparseNpy(xf, 'float32', [96, 16, 512, 512], 4);
    sparseNpy(tf, 'int64', [96, 512, 512], 8);
    const e = engine({ maxWorkers: 2 });
    const stamps: number[] = [];
    const ac = new AbortController();
    const started = Date.now();
    let abortedAt = 0;
    const p = e.compute({ input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf } }, {
      signal: ac.signal,
      onProgress: (f) => {
        stamps.push(Date.now());
        if (f > 0.15 && !abortedAt) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    });
    await assert.rejects(p, (err: unknown) => err instanceof LensError && err.kind === 'cancelled');
    const stoppedAfter = Date.now() - abortedAt;
    assert.ok(abortedAt > 0, 'progress never passed 15%');
    assert.ok(stoppedAfter <= 300, `stopped ${stoppedAfter} ms after cancel`);
    const gaps = stamps.slice(1).map((s, i) => s - stamps[i]);
    // Progress comes in many steps (not one at the end), and none of them far apart.
    assert.ok(stamps.length >= 4, `only ${stamps.length} progress reports before 15%`);
    assert.ok(Math.max(...gaps) <= 600, `progress gaps ${gaps.join(', ')} ms (run took ${Date.now() - started} ms)`);
    // The pool is healthy afterwards.
    const small = await e.compute({ input: t(randomLogits([2, 3, 4], 1)), target: t(randomTargets([2, 4], 3, 2, -100, 0)) });
    assert.equal(typeof small.value, 'number');
  });

  it('cancels long pure-TS work by stopping its worker at once (100 ms; asserted at 3x)', async function () {
    const n = 6_000_000;
    const input: Tensor = { dtype: 'float64', shape: [1, 4, n], data: new Float64Array(4 * n) };
    const target: Tensor = { dtype: 'int64', shape: [1, n], data: new Int32Array(n) };
    const e = engine({ maxWorkers: 1 });
    const ac = new AbortController();
    const p = e.compute({ input: t(input), target: t(target), options: { labelSmoothing: 0.1 } }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    const at = Date.now();
    ac.abort();
    await assert.rejects(p, (err: unknown) => err instanceof LensError && err.kind === 'cancelled');
    assert.ok(Date.now() - at <= 300, `${Date.now() - at} ms`);
    const again = await e.compute({ input: t(randomLogits([2, 3], 1)), target: t(randomTargets([2], 3, 2, -100, 0)) });
    assert.equal(typeof again.value, 'number');
  });

  for (const how of ['throw', 'exit', 'oom'] as const) {
    it(`turns a worker that fails (${how}) into a clear error and recovers`, async function () {
      const e = engine({ maxWorkers: 1, workerHeapMb: 64 });
      let message: string;
      try {
        const r = await e.runRaw({ kind: 'crash', id: 1, how });
        assert.equal(r.kind, 'error');
        message = r.kind === 'error' ? r.message : '';
      } catch (err) {
        assert.ok(err instanceof LensError, String(err));
        message = err.message;
      }
      assert.match(message, how === 'throw' ? /deliberate failure/ : how === 'exit' ? /stopped unexpectedly/ : /memory/i);
      const r = await e.compute({ input: t(randomLogits([2, 3, 50], 1)), target: t(randomTargets([2, 50], 3, 2, -100, 0)) });
      assert.equal(typeof r.value, 'number');
    });
  }
});
