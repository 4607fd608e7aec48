// Engine.prepare() also faults in the working memory a streamed request uses (in the workers, one byte per OS
// page), so the first computation does not pay for fresh pages: the memory has that size once prepare()
// settles, a computation started right after it gives the same numbers, and dispose() mid-way still ends.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { instantiateCeKernel } from '../../../../src/kernel/wasm/wasmKernel';
import { Engine, type EngineRequest } from '../../../../src/worker/engine/engine';
import { streamedWorkingBytes } from '../../../../src/worker/fast/memoryLayout';
import { DIST, randomLogits, randomTargets, writeNpy } from '../helpers';

/** The bytes the kernel keeps at the start of the memory (the engine asks the kernel the same way). */
function reservedBytes(): number {
  const probe = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
  return instantiateCeKernel(new WebAssembly.Module(fs.readFileSync(path.join(DIST, 'ce.wasm'))), probe).reservedBytes;
}

/** Rejects when `p` has not settled after `ms` (a hang fails the test with a message, not a mocha timeout). */
function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle`)), ms)));
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

describe('Engine.prepare: working memory faulted in ahead', function () {
  this.timeout(180_000);
  let dir: string;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-prefault-'));
    writeNpy(path.join(dir, 'x.npy'), randomLogits([6, 5, 48, 40], 21));
    writeNpy(path.join(dir, 't.npy'), randomTargets([6, 48, 40], 5, 22));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('grows the working memory to a streamed request\'s size, capped by keepMemoryBytes', async function () {
    const blockBytes = 16 << 20;
    const engine = new Engine({ distDir: DIST, maxWorkers: 2, blockBytes });
    const capped = new Engine({ distDir: DIST, maxWorkers: 2, blockBytes, keepMemoryBytes: 1 << 20 });
    const noWasm = new Engine({ distDir: DIST, maxWorkers: 1, blockBytes, disableWasm: true });
    try {
      assert.equal(engine.wasmAvailable, true, 'dist/ce.wasm missing or no SIMD');
      assert.equal(engine.workingMemoryBytes, 0);
      await Promise.all([engine.prepare(), capped.prepare(), noWasm.prepare()]);
      const expected = Math.ceil(streamedWorkingBytes(reservedBytes(), blockBytes) / 65536) * 65536;
      assert.ok(expected > 2 * blockBytes);
      assert.equal(engine.workingMemoryBytes, expected);
      assert.equal(capped.workingMemoryBytes, 1 << 20);
      assert.equal(noWasm.workingMemoryBytes, 0, 'no kernel, no working memory');
    } finally {
      await Promise.all([engine.dispose(), capped.dispose(), noWasm.dispose()]);
    }
  });

  it('a computation started right after prepare() gives the same result as without it', async function () {
    const file: EngineRequest = { input: { kind: 'file', path: path.join(dir, 'x.npy') }, target: { kind: 'file', path: path.join(dir, 't.npy') }, options: { ignoreIndex: 255 }, topK: 5 };
    const tensor: EngineRequest = { input: { kind: 'tensor', tensor: randomLogits([3, 7, 40, 40], 23) }, target: { kind: 'tensor', tensor: randomTargets([3, 40, 40], 7, 24) }, options: { ignoreIndex: 255 } };
    // The panel's settings, scaled down: the file streams in blocks of one sample and keeps its maps.
    const streaming = { streamFilesOverBytes: 1 << 14, blockBytes: 5 * 48 * 40 * 4, keepStreamedMapsBytes: 1 << 20 };
    const plain = new Engine({ distDir: DIST, maxWorkers: 2, ...streaming });
    const prepared = new Engine({ distDir: DIST, maxWorkers: 2, ...streaming });
    // Default blocks: a prefault of over 128 MiB, still under way when the computation is asked for.
    const large = new Engine({ distDir: DIST, maxWorkers: 2 });
    try {
      const a = await plain.compute(file);
      const c = await plain.compute(tensor);
      const preparing = prepared.prepare();
      const b = await prepared.compute(file);
      const preparingLarge = large.prepare();
      const d = await large.compute(tensor);
      await Promise.all([preparing, preparingLarge]);
      assert.equal(b.streamed, true);
      assert.equal(b.engine, 'wasm-simd');
      assert.equal(b.value, a.value);
      assert.deepEqual(b.maps?.loss, a.maps?.loss);
      assert.deepEqual(b.maps?.predicted, a.maps?.predicted);
      assert.deepEqual(b.stats.perClass, a.stats.perClass);
      assert.equal(d.engine, 'wasm-simd');
      assert.equal(d.value, c.value);
      assert.deepEqual(d.maps?.loss, c.maps?.loss);
      assert.deepEqual(d.stats.perClass, c.stats.perClass);
      // Again once everything is settled, and the memory still at least the prefault's size.
      assert.equal((await prepared.compute(file)).value, a.value);
      assert.ok(large.workingMemoryBytes >= streamedWorkingBytes(reservedBytes()));
    } finally {
      await Promise.all([plain.dispose(), prepared.dispose(), large.dispose()]);
    }
  });

  it('a worker knows prefault jobs: it refuses one for a memory it was not given, by name', async function () {
    const engine = new Engine({ distDir: DIST, maxWorkers: 1 });
    try {
      const r = await engine.runRaw({ kind: 'prefault', id: 3, generation: 12345, start: 0, end: 65536 });
      assert.equal(r.kind, 'error');
      assert.match(r.kind === 'error' ? r.message : '', /working memory not initialised/);
    } finally {
      await engine.dispose();
    }
  });

  it('dispose() during prepare() ends both', async function () {
    // Right away (the workers are starting) and once the prefault is under way (the memory has grown).
    const early = new Engine({ distDir: DIST, maxWorkers: 2 });
    const preparingEarly = early.prepare();
    await settlesWithin(early.dispose(), 30_000, 'dispose() while workers start');
    await settlesWithin(preparingEarly, 30_000, 'prepare() after dispose()');

    const late = new Engine({ distDir: DIST, maxWorkers: 2 });
    const preparingLate = late.prepare();
    let settled = false;
    void preparingLate.then(() => (settled = true));
    while (late.workingMemoryBytes === 0 && !settled) await new Promise((resolve) => setTimeout(resolve, 1));
    await settlesWithin(late.dispose(), 30_000, 'dispose() during the prefault');
    await settlesWithin(preparingLate, 30_000, 'prepare() after dispose()');
  });
});
