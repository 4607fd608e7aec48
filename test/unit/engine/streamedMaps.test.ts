// The panel's engine streams large .npy inputs through reused blocks (fresh pages cost more than the kernel
// on this kind of VM) yet keeps every sample's maps: the same maps, statistics and value as computing the
// file resident, Fortran order included; above the maps' byte bound, streaming keeps none, as before.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../../src/worker/engine/engine';
import { DIST, randomLogits, randomTargets, writeNpy } from './helpers';

describe('Engine: streamed inputs that keep their maps', function () {
  this.timeout(180_000);
  let dir: string;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-streammaps-'));
    writeNpy(path.join(dir, 'x.npy'), randomLogits([6, 5, 48, 40], 11));
    writeNpy(path.join(dir, 't.npy'), randomTargets([6, 48, 40], 5, 12));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the resident computation\'s maps, statistics and value', async function () {
    const req = { input: { kind: 'file' as const, path: path.join(dir, 'x.npy') }, target: { kind: 'file' as const, path: path.join(dir, 't.npy') }, options: { ignoreIndex: 255 }, topK: 5 };
    const resident = new Engine({ distDir: DIST, maxWorkers: 2 });
    // Blocks of about one sample's logits: the file streams in six blocks through two regions.
    const streaming = new Engine({ distDir: DIST, maxWorkers: 2, streamFilesOverBytes: 1 << 14, blockBytes: 5 * 48 * 40 * 4, keepStreamedMapsBytes: 1 << 20 });
    const bounded = new Engine({ distDir: DIST, maxWorkers: 2, streamFilesOverBytes: 1 << 14, blockBytes: 5 * 48 * 40 * 4, keepStreamedMapsBytes: 1000 });
    try {
      const a = await resident.compute(req);
      const b = await streaming.compute(req);
      const c = await bounded.compute(req);
      assert.equal(a.streamed, false);
      assert.equal(b.streamed, true);
      assert.ok(a.maps && b.maps);
      assert.deepEqual(b.maps.loss, a.maps.loss);
      assert.deepEqual(b.maps.predicted, a.maps.predicted);
      assert.deepEqual(b.maps.targetClass, a.maps.targetClass);
      assert.deepEqual(b.maps.ignored, a.maps.ignored);
      assert.equal(b.value, a.value);
      assert.deepEqual(b.stats.perClass, a.stats.perClass);
      assert.equal(c.streamed, true);
      assert.equal(c.maps, null, 'maps over the bound are not kept');
      assert.equal(c.value, a.value);
    } finally {
      await Promise.all([resident.dispose(), streaming.dispose(), bounded.dispose()]);
    }
  });
});
