// Focal and sigmoid focal through the Engine's SIMD path (the path users get): they take wasm-simd, every
// element within 2e-6 |l| + 2e-7 of the float64 reference (src/kernel/losses/focal.ts), the reduced value and
// cross-entropy companion within 2e-6 relative, the per-class statistics as the reference counts them, and
// bit-identical results with 1 or 2 workers (jobs and their merge order depend on the problem only).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../../src/errors';
import { decodeNpy } from '../../../src/tensor/binary/npy';
import { normalizeMaps } from '../../../media/view/model';
import { computeLoss } from '../../../src/kernel/index';
import type { HostToView, SampleMaps } from '../../../src/protocol';
import { forView } from '../../../src/sampleWire';
import type { Tensor } from '../../../src/tensor/tensor';
import { Engine, type EngineRequest, type EngineResult } from '../../../src/worker/engine/engine';
import { compareRuns } from '../../../src/worker/engine/compareSession';
import { wholeMaps } from '../../../src/worker/engine/resultMaps';
import { LossSession } from '../../../src/worker/engine/session';
import { fromWire, toWire } from '../../../src/wire';
import { simdBound } from '../../parity/simdBound';
import { DIST, openDescriptorsOn, randomLogits, randomTargets, rng, writeNpy } from './helpers';

function worstShare(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (!Number.isFinite(w)) {
      assert.ok(Object.is(got[i], w) || (Number.isNaN(w) && Number.isNaN(got[i])), `element ${i}: ${got[i]} vs ${w}`);
      continue;
    }
    const s = Math.abs(got[i] - w) / simdBound(w);
    assert.ok(s <= 1, `element ${i}: ${got[i]} vs ${w} (${s.toFixed(2)} of the bound)`);
    worst = Math.max(worst, s);
  }
  return worst;
}

function relClose(got: number | null | undefined, want: number | null | undefined, what: string): void {
  assert.ok(typeof got === 'number' && typeof want === 'number', `${what}: ${got} vs ${want}`);
  if (!Number.isFinite(want)) return assert.ok(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)), `${what}: ${got} vs ${want}`);
  assert.ok(Math.abs(got - want) <= 2e-6 * Math.abs(want) + 1e-12, `${what}: ${got} vs ${want}`);
}

async function sameResult(a: EngineResult, b: EngineResult, what: string): Promise<void> {
  assert.ok(Object.is(a.value, b.value), `${what}: value ${a.value} with 1 worker, ${b.value} with 2`);
  const la = (await wholeMaps(a))!.loss;
  const lb = (await wholeMaps(b))!.loss;
  for (let i = 0; i < la.length; i++) if (!Object.is(la[i], lb[i])) assert.fail(`${what}: element ${i} ${la[i]} vs ${lb[i]}`);
  assert.deepEqual(a.stats.perClass, b.stats.perClass, `${what}: per-class statistics differ between 1 and 2 workers`);
}

describe('Engine: focal and sigmoid focal on the SIMD path', function () {
  this.timeout(180_000);
  let one: Engine;
  let two: Engine;
  before(() => {
    one = new Engine({ distDir: DIST, maxWorkers: 1 });
    two = new Engine({ distDir: DIST, maxWorkers: 2 });
  });
  after(async () => {
    await one?.dispose();
    await two?.dispose();
  });

  const shape = [3, 6, 33, 37];
  const C = shape[1];
  // Confident pixels too (p_t near 1, where 1 - p_t must come from expm1), and hugely negative targets' logits.
  const x = randomLogits(shape, 7, 40);
  const t = randomTargets([3, 33, 37], C, 8, 255, 0.05);
  const alpha: Tensor = { dtype: 'float32', shape: [C], data: Float32Array.from({ length: C }, (_, c) => 0.25 + c / C) };

  for (const gamma of [0, 0.5, 2, 3]) {
    for (const weighted of [false, true]) {
      for (const reduction of ['mean', 'sum'] as const) {
        it(`focal gamma ${gamma}${weighted ? ', alpha per class' : ''}, ${reduction}`, async () => {
          const options = { loss: 'focal' as const, gamma, ignoreIndex: 255, reduction };
          const req: EngineRequest = { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: t }, weight: weighted ? { kind: 'tensor', tensor: alpha } : null, options };
          const [a, b] = [await one.compute(req), await two.compute(req)];
          assert.equal(b.engine, 'wasm-simd', 'focal should take the SIMD path');
          const ref = computeLoss({ input: x, target: t, weight: weighted ? alpha : null, options });
          worstShare(b.maps!.loss, ref.lossMap);
          relClose(b.value, ref.value, 'value');
          relClose(b.ceValue, ref.ceValue, 'ceValue');
          for (const pc of ref.stats.perClass) {
            const got = b.stats.perClass[pc.index];
            assert.ok(got.count === pc.count && got.predicted === pc.predicted && got.ignored === pc.ignored, `class ${pc.index}: counts differ`);
            relClose(got.lossSum, pc.lossSum, `class ${pc.index} lossSum`);
            relClose(got.ceMean, pc.ceMean, `class ${pc.index} ceMean`);
            assert.equal(got.weight, pc.weight, `class ${pc.index}: weight shown`);
          }
          await sameResult(a, b, 'focal');
        });
      }
    }
  }

  it('float64 logits stay on the float64 path, for both focal forms', async () => {
    const x64: Tensor = { dtype: 'float64', shape, data: Float64Array.from(x.data as Float32Array) };
    const f = await two.compute({ input: { kind: 'tensor', tensor: x64 }, target: { kind: 'tensor', tensor: t }, options: { loss: 'focal', gamma: 2, ignoreIndex: 255 } });
    assert.equal(f.engine, 'typescript', 'focal on float64 logits');
    const s = await two.compute({ input: { kind: 'tensor', tensor: x64 }, target: { kind: 'tensor', tensor: { ...x64, data: new Float64Array(x64.data.length) } }, options: { loss: 'sigmoid-focal' } });
    assert.equal(s.engine, 'typescript', 'sigmoid focal on float64 logits');
  });

  // Elementwise: a shape whose element count is no multiple of 4 or of a job, soft and 0/1 targets.
  const sshape = [5, 7, 61, 67];
  const sx = randomLogits(sshape, 11, 30);
  const r = rng(12);
  const n = sx.data.length;
  const hard: Tensor = { dtype: 'float32', shape: sshape, data: Float32Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0)) };
  const soft: Tensor = { dtype: 'float32', shape: sshape, data: Float32Array.from({ length: n }, () => r()) };
  for (const [name, st] of [['0/1', hard], ['soft', soft]] as const) {
    for (const [gamma, alpha] of [[2, 0.25], [0, -1], [1.5, 0.25]]) {
      it(`sigmoid focal, ${name} targets, gamma ${gamma}, alpha ${alpha}`, async () => {
        const options = { loss: 'sigmoid-focal' as const, gamma, alpha, reduction: 'mean' as const };
        const req: EngineRequest = { input: { kind: 'tensor', tensor: sx }, target: { kind: 'tensor', tensor: st }, options };
        const [a, b] = [await one.compute(req), await two.compute(req)];
        assert.equal(b.engine, 'wasm-simd', 'sigmoid focal should take the SIMD path');
        const ref = computeLoss({ input: sx, target: st, options });
        // Maps as large as the input are not kept (their fresh pages cost more than the kernel): the
        // result computes them when asked.
        for (const r of [a, b]) assert.ok(r.maps === null && r.mapsOnDemand !== undefined, 'sigmoid focal should keep no maps, only compute them on request');
        const [ma, mb] = [(await wholeMaps(a))!, (await wholeMaps(b))!];
        worstShare(mb.loss, ref.lossMap);
        relClose(b.value, ref.value, 'value');
        for (const m of [ma, mb]) {
          // 0/1 only: a byte per element (a quarter of the pages an Int32Array would fault in).
          assert.ok(m.predicted instanceof Uint8Array && m.targetClass instanceof Uint8Array, `predicted ${m.predicted.constructor.name}, targetClass ${m.targetClass.constructor.name}: want Uint8Array`);
          assert.equal(m.predicted.length, n, 'predicted map length');
          assert.equal(m.targetClass.length, n, 'targetClass map length');
        }
        for (let i = 0; i < n; i++) {
          if (mb.predicted[i] !== ref.predicted[i] || mb.targetClass[i] !== ref.targetClass[i] || mb.ignored[i] !== 0) assert.fail(`maps differ at ${i}`);
        }
        // Any range is the whole maps' slice, bit for bit (a range's blocks and jobs start elsewhere).
        for (const [start, count] of [[0, 1], [12345, 7], [n - 4099, 4099], [3 * 7 * 61 * 67 + 5, 61 * 67 * 9]]) {
          const part = await b.mapsOnDemand!.range(start, count);
          for (let i = 0; i < count; i++) {
            const f = start + i;
            if (!Object.is(part.loss[i], mb.loss[f]) || part.predicted[i] !== mb.predicted[f] || part.targetClass[i] !== mb.targetClass[f] || part.ignored[i] !== 0) {
              assert.fail(`range [${start}, ${start + count}) element ${f}: ${part.loss[i]} vs ${mb.loss[f]}`);
            }
          }
        }
        for (const pc of ref.stats.perClass) {
          const got = b.stats.perClass[pc.index];
          assert.ok(got.count === pc.count && got.predicted === pc.predicted && got.accuracy === pc.accuracy && got.iou === pc.iou, `class ${pc.index}: counts differ`);
          relClose(got.lossSum, pc.lossSum, `class ${pc.index} lossSum`);
        }
        assert.deepEqual(b.stats.worst.map((w) => w.flat), ref.stats.worst.map((w) => w.flat), 'worst elements');
        await sameResult(a, b, 'sigmoid focal');
      });
    }
  }
  it('sigmoid focal: a session gives each sample\'s byte maps to the view, the reference\'s values after the wire', async () => {
    const st = hard;
    const options = { loss: 'sigmoid-focal' as const, gamma: 2, alpha: 0.25, reduction: 'mean' as const };
    const ref = computeLoss({ input: sx, target: st, options });
    const s = await LossSession.open(two, { input: { kind: 'tensor', tensor: sx }, target: { kind: 'tensor', tensor: st }, options });
    assert.equal(s.result.engine, 'wasm-simd', 'the session should have computed on the SIMD path');
    const S = n / sshape[0];
    for (const k of [0, sshape[0] - 1]) {
      const m = await s.sampleMapsWithProbs(k);
      assert.deepEqual(m.shape, sshape.slice(1), 'sample shape');
      assert.ok(m.target instanceof Uint8Array && m.predicted instanceof Uint8Array, `sample ${k}: target ${m.target.constructor.name}, predicted ${m.predicted.constructor.name}`);
      // Through the panel's wire form (the notebook renderer's JSON channel) and the view's widening.
      const msg: HostToView = { type: 'sample', maps: m };
      const sent = fromWire(JSON.parse(JSON.stringify(toWire(forView(msg))))) as { maps: SampleMaps };
      const v = normalizeMaps(sent.maps, S);
      assert.ok(v.pTarget !== null && v.pTarget.length === S, `sample ${k}: p(target) should come with the maps`);
      for (let i = 0; i < S; i++) {
        const f = k * S + i;
        if (v.target[i] !== ref.targetClass[f] || v.predicted[i] !== ref.predicted[f] || v.ignored[i] !== 0 || m.target[i] !== ref.targetClass[f] || m.predicted[i] !== ref.predicted[f]) {
          assert.fail(`sample ${k} element ${i}: target ${m.target[i]}/${v.target[i]} predicted ${m.predicted[i]}/${v.predicted[i]}, reference ${ref.targetClass[f]} ${ref.predicted[f]}`);
        }
        const p: number = 1 / (1 + Math.exp(-(sx.data as Float32Array)[f]));
        const want: number = ref.targetClass[f] ? p : 1 - p;
        if (!(Math.abs(v.pTarget![i] - want) <= 1e-5)) assert.fail(`sample ${k} element ${i}: p(target) ${v.pTarget![i]} vs ${want}`);
      }
    }
  });
});

/** Equal trees, numbers within 1e-12 relative (integers and non-finite values exactly). */
function closeTree(got: unknown, want: unknown, what: string): void {
  if (typeof want === 'number' && typeof got === 'number') {
    if (Number.isInteger(want) || !Number.isFinite(want)) return assert.ok(Object.is(got, want), `${what}: ${got} vs ${want}`);
    return assert.ok(Math.abs(got - want) <= 1e-12 * Math.abs(want), `${what}: ${got} vs ${want}`);
  }
  if (want === null || typeof want !== 'object') return assert.deepEqual(got, want, what);
  assert.ok(got !== null && typeof got === 'object', `${what}: ${String(got)}`);
  const keys = Object.keys(want as object);
  assert.deepEqual(Object.keys(got as object), keys, `${what}: keys`);
  for (const k of keys) closeTree((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${what}.${k}`);
}

describe('Engine: sigmoid focal maps on request', function () {
  this.timeout(180_000);
  let engine: Engine;
  let tmp: string;
  before(() => {
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-sigfocal-maps-'));
  });
  after(async () => {
    await engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const shape = [3, 5, 29, 31];
  const x = randomLogits(shape, 21, 20);
  const r = rng(22);
  const t: Tensor = { dtype: 'float32', shape, data: Float32Array.from({ length: x.data.length }, () => (r() < 0.4 ? 1 : 0)) };
  const options = { loss: 'sigmoid-focal' as const, gamma: 2, alpha: 0.25, reduction: 'none' as const };
  const inMemory: EngineRequest = { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: t }, options };
  /** x and t written as .npy files named by `tag`, the request that reads them, and a loss file path beside. */
  const filePair = (tag: string): { xf: string; tf: string; out: string; req: EngineRequest } => {
    const xf = path.join(tmp, `x${tag}.npy`);
    const tf = path.join(tmp, `t${tag}.npy`);
    writeNpy(xf, x);
    writeNpy(tf, t);
    return { xf, tf, out: path.join(tmp, `loss${tag}.npy`), req: { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options } };
  };

  it('from .npy files: read by ranges, the same maps as in memory, and --out writes them as computed', async () => {
    const { out, req } = filePair('');
    const mem = await engine.compute(inMemory);
    const files = await engine.compute({ ...req, outFile: out });
    assert.equal(files.engine, 'wasm-simd');
    assert.ok(files.maps === null && files.mapsOnDemand, 'no maps kept, maps on request');
    const [a, b] = [(await wholeMaps(mem))!, (await wholeMaps(files))!];
    const written = decodeNpy(new Uint8Array(fs.readFileSync(out)));
    assert.deepEqual(written.shape, shape);
    const w = written.data as Float32Array;
    for (let i = 0; i < a.loss.length; i++) {
      if (!Object.is(a.loss[i], b.loss[i]) || !Object.is(w[i], a.loss[i]) || a.predicted[i] !== b.predicted[i] || a.targetClass[i] !== b.targetClass[i]) assert.fail(`element ${i}: ${a.loss[i]} / ${b.loss[i]} / ${w[i]}`);
    }
    assert.deepEqual(files.stats.worst, mem.stats.worst);
  });

  it('in many small blocks: the same bits, statistics, loss file and maps as in one block; a cancel midway leaves the engine working', async () => {
    // 4 KiB blocks: 1024 elements each, 14 blocks of 4 jobs through the two regions of the working memory.
    const small = new Engine({ distDir: DIST, maxWorkers: 2, blockBytes: 4096 });
    // One worker (two lanes) for the cancel: as block 2 is staged, the lanes hold two of block 1's four
    // jobs, and the two never sent must not leave later blocks' staging, nor the next request, waiting.
    const ac = new AbortController();
    const oneWorker = new Engine({ distDir: DIST, maxWorkers: 1, blockBytes: 4096, beforePieceRead: (block) => {
      if (block === 2) ac.abort();
      return undefined;
    } });
    try {
      const { out, req } = filePair('b');
      const one = await engine.compute(inMemory);
      for (const [what, r] of [
        ['in memory', inMemory],
        ['.npy files', { ...req, outFile: out }],
      ] as Array<[string, EngineRequest]>) {
        const many = await small.compute(r);
        // Other jobs add the sums in another order: equal to the last few bits, counts and worst elements exactly.
        closeTree(many.value, one.value, `${what}: value`);
        closeTree(many.stats, one.stats, `${what}: statistics`);
        assert.deepEqual(many.stats.worst, one.stats.worst, `${what}: worst elements`);
        const [a, b] = [(await wholeMaps(one))!, (await wholeMaps(many))!];
        for (let i = 0; i < a.loss.length; i++) {
          if (!Object.is(a.loss[i], b.loss[i]) || a.predicted[i] !== b.predicted[i] || a.targetClass[i] !== b.targetClass[i]) assert.fail(`${what}, element ${i}: ${b.loss[i]} vs ${a.loss[i]}`);
        }
        // A range across blocks, starting inside one.
        const part = await many.mapsOnDemand!.range(1500, 5000);
        for (let i = 0; i < 5000; i++) if (!Object.is(part.loss[i], a.loss[1500 + i])) assert.fail(`${what}, range element ${i}`);
      }
      const w = decodeNpy(new Uint8Array(fs.readFileSync(out))).data as Float32Array;
      const a = (await wholeMaps(one))!.loss;
      for (let i = 0; i < a.length; i++) if (!Object.is(w[i], a[i])) assert.fail(`loss file element ${i}: ${w[i]} vs ${a[i]}`);
      await assert.rejects(oneWorker.compute(req, { signal: ac.signal }), (e: unknown) => isLensError(e) && e.kind === 'cancelled');
      const stuck = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the request after the cancel still waits after 30 s')), 30_000).unref());
      const again = await Promise.race([oneWorker.compute(req), stuck]);
      closeTree(again.value, one.value, 'after the cancel: value');
    } finally {
      await small.dispose();
      await oneWorker.dispose();
    }
  });

  it('after a cancel, keeps its .npy files open until the block reads it left are done, then closes them', async function () {
    const { xf, tf, req } = filePair('c');
    if (openDescriptorsOn(xf) === null) this.skip();
    const open = (): string => `${openDescriptorsOn(xf)} / ${openDescriptorsOn(tf)}`;
    // Block 2's staging (it follows block 0's jobs) cancels the request and holds its read back until released.
    let armed = false;
    let ac = new AbortController();
    let release: () => void = () => undefined;
    let held = Promise.resolve();
    const hold = (): AbortSignal => {
      armed = true;
      ac = new AbortController();
      held = new Promise<void>((r) => (release = r));
      return ac.signal;
    };
    const e = new Engine({ distDir: DIST, maxWorkers: 1, blockBytes: 4096, beforePieceRead: (block) => {
      if (!armed || block !== 2) return undefined;
      armed = false;
      ac.abort();
      return held;
    } });
    const cancelled = (err: unknown): boolean => isLensError(err) && err.kind === 'cancelled';
    try {
      await assert.rejects(e.compute(req, { signal: hold() }), cancelled);
      // Closed now, the held read would fail on a closed descriptor (or read a file that reused its number).
      assert.equal(open(), '1 / 1', 'input / target descriptors while a cancelled computation still reads');
      release();
      // The next request waits for those reads; the files are closed by then.
      await e.compute(inMemory);
      assert.equal(open(), '0 / 0', 'descriptors once the reads are done');
      const res = await e.compute(req);
      assert.equal(open(), '0 / 0', 'descriptors after a computation that succeeded');
      // The same for maps on request, which read the files again.
      await assert.rejects(res.mapsOnDemand!.range(0, x.data.length, hold()), cancelled);
      assert.equal(open(), '1 / 1', 'descriptors while a cancelled range still reads');
      release();
      await e.compute(inMemory);
      assert.equal(open(), '0 / 0', 'descriptors once the range\'s reads are done');
    } finally {
      release();
      await e.dispose();
    }
  });

  it('refuses maps from a file changed since the computation, in one line', async () => {
    const { xf, req } = filePair('2');
    const res = await engine.compute(req);
    await res.mapsOnDemand!.range(0, 10);
    // Other logits of the same shape: maps from them would not be this result's.
    writeNpy(xf, randomLogits(shape, 23, 20));
    fs.utimesSync(xf, new Date(), new Date(Date.now() + 5000));
    await assert.rejects(res.mapsOnDemand!.range(0, 10), (e: unknown) => isLensError(e) && e.message.includes('changed on disk') && !e.message.includes('\n'));
  });

  it('a range outside the loss map is a one-line error', async () => {
    const res = await engine.compute(inMemory);
    await assert.rejects(res.mapsOnDemand!.range(x.data.length - 3, 4), (e: unknown) => isLensError(e) && /outside the loss map/.test(e.message));
  });

  it('a comparison of two sigmoid focal runs computes both maps: B - A per element', async () => {
    const x2 = randomLogits(shape, 24, 20);
    const ra = await engine.compute({ input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: t }, options });
    const rb = await engine.compute({ input: { kind: 'tensor', tensor: x2 }, target: { kind: 'tensor', tensor: t }, options });
    const m = await compareRuns(ra, rb, 'a', 'b');
    const [a, b] = [(await wholeMaps(ra))!, (await wholeMaps(rb))!];
    assert.equal(m.delta.length, a.loss.length);
    let improved = 0;
    for (let i = 0; i < a.loss.length; i++) {
      assert.ok(Math.abs(m.delta[i] - (b.loss[i] - a.loss[i])) <= 1e-6 * Math.max(1, Math.abs(b.loss[i]), Math.abs(a.loss[i])), `element ${i}: delta ${m.delta[i]}`);
      if (b.loss[i] < a.loss[i]) improved++;
    }
    assert.ok(improved > 0 && m.improved > 0, 'some elements improved');
  });
});
