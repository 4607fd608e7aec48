// A worker given a job kind it does not know (an old dist/worker.js asked for a newer job) answers with an
// error naming it, instead of never answering and leaving its caller waiting; and it keeps working after.
import * as assert from 'node:assert/strict';
import type { WorkerRequest } from '../../../../src/protocol';
import { Engine } from '../../../../src/worker/engine/engine';
import { DIST, randomLogits, randomTargets } from '../helpers';

describe('Worker: an unknown job kind', function () {
  this.timeout(120_000);

  it('is answered with an error that names it', async function () {
    const engine = new Engine({ distDir: DIST, maxWorkers: 1 });
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the worker never answered')), 30_000)));
      const r = await Promise.race([engine.runRaw({ kind: 'no-such-job', id: 7 } as unknown as WorkerRequest), hang]).finally(() => clearTimeout(timer));
      assert.equal(r.kind, 'error');
      assert.ok(r.kind === 'error' && r.id === 7 && r.message.includes("'no-such-job'"), JSON.stringify(r));
      // The same worker computes as before.
      const res = await engine.compute({ input: { kind: 'tensor', tensor: randomLogits([1, 3, 4, 4], 1) }, target: { kind: 'tensor', tensor: randomTargets([1, 4, 4], 3, 2) }, options: { ignoreIndex: 255 } });
      assert.equal(typeof res.value, 'number');
    } finally {
      await engine.dispose();
    }
  });
});
