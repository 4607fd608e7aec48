// Opening the panel from a hover on a large literal parses it in a worker, not on the extension host thread:
// the worker's tensor equals the pure parser's, and a malformed literal comes back as the same one-line error.
import * as assert from 'node:assert/strict';
import { LensError } from '../../../../src/errors';
import { parseLiteral } from '../../../../src/hover/report';
import { Engine } from '../../../../src/worker/engine/engine';
import { DIST } from '../helpers';

describe('engine: parsing a literal in a worker', function () {
  this.timeout(60_000);
  let engine: Engine;
  before(() => (engine = new Engine({ distDir: DIST, maxWorkers: 1 })));
  after(() => engine.dispose());

  it('a 1M-value JSON literal: the same tensor as the pure parser', async function () {
    const rows = Array.from({ length: 250_000 }, (_, i) => `[${(i % 97) / 8}, ${-(i % 13) / 4}, ${i % 5}, 1e-3]`);
    const literal = { text: `[${rows.join(',')}]`, syntax: 'json' as const, name: 'logits' };
    const want = parseLiteral(literal);
    const got = await engine.parseLiteral(literal);
    assert.deepEqual(got.shape, [250_000, 4]);
    assert.equal(got.dtype, want.dtype);
    assert.deepEqual(Array.from(got.data as ArrayLike<number>), Array.from(want.data as ArrayLike<number>));
  });

  it('a malformed literal: the pure parser\'s one-line LensError', async function () {
    const literal = { text: '[[1, 2], [3]]', syntax: 'json' as const, name: null };
    let want = '';
    try {
      parseLiteral(literal);
    } catch (e) {
      want = (e as Error).message;
    }
    assert.ok(want.length > 0);
    await assert.rejects(engine.parseLiteral(literal), (e: unknown) => e instanceof LensError && e.message === want);
  });
});
