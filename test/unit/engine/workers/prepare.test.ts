// Engine.prepare(): the pickers start every worker while the user chooses files, so the first computation
// does not wait for them; it never fails and a computation after it gives the same numbers.
import * as assert from 'node:assert/strict';
import { Engine } from '../../../../src/worker/engine/engine';
import { DIST, randomLogits, randomTargets } from '../helpers';

describe('Engine.prepare', function () {
  this.timeout(120_000);

  it('starts every worker; a computation after it is unchanged', async function () {
    const prepared = new Engine({ distDir: DIST, maxWorkers: 2 });
    const plain = new Engine({ distDir: DIST, maxWorkers: 2 });
    try {
      assert.equal(prepared.evalResources().pool.started, 0);
      await prepared.prepare();
      assert.equal(prepared.evalResources().pool.started, 2);
      await prepared.prepare(); // once is enough; again is free
      const req = { input: { kind: 'tensor' as const, tensor: randomLogits([2, 4, 8, 8], 3) }, target: { kind: 'tensor' as const, tensor: randomTargets([2, 8, 8], 4, 4) }, options: { ignoreIndex: 255 } };
      const a = await prepared.compute(req);
      const b = await plain.compute(req);
      assert.equal(a.value, b.value);
      assert.deepEqual(a.maps?.loss, b.maps?.loss);
    } finally {
      await Promise.all([prepared.dispose(), plain.dispose()]);
    }
  });

  it('never fails, even without its bundle', async function () {
    const broken = new Engine({ distDir: '/nonexistent', maxWorkers: 1 });
    await broken.prepare();
    await broken.dispose();
  });
});
