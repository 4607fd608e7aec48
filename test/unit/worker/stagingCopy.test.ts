// An in-memory tensor is copied into the working memory on the caller's thread (the extension host's), in
// slices with a turn of the event loop between them: in one piece, the first copy of a [1, 64, 512, 512]
// sample (67 MB) into fresh working memory held the loop 211 ms. The values and the byte count arrive whole.
import * as assert from 'node:assert/strict';
import { loadInput, loadTarget } from '../../../src/worker/engine/staging';

/** Runs `work`, counting the turns of the event loop (setImmediate callbacks) that ran before it ended. */
async function turnsDuring(work: () => Promise<void>): Promise<number> {
  let turns = 0;
  let done = false;
  const tick = (): void => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  done = true;
  return turns;
}

describe('staging: in-memory tensors are copied in slices', function () {
  const count = 3_000_000;
  const start = 7;

  it('loadInput: every value, every byte counted, with turns of the event loop between slices', async function () {
    const src = Float32Array.from({ length: start + count + 5 }, (_, i) => i * 0.5 - 3);
    const dest = new Float32Array(count);
    let bytes = 0;
    const turns = await turnsDuring(() => loadInput({ kind: 'tensor', tensor: { dtype: 'float32', shape: [src.length], data: src } }, start, count, dest, (n) => (bytes += n)));
    assert.ok(turns >= 2, `${turns} turns of the event loop during a copy of ${count} elements`);
    assert.equal(bytes, count * 4);
    for (let i = 0; i < count; i++) if (dest[i] !== src[start + i]) assert.fail(`element ${i}: ${dest[i]} vs ${src[start + i]}`);
  });

  it('loadTarget: the same for class indices', async function () {
    const src = Int32Array.from({ length: start + count }, (_, i) => i % 1000);
    const dest = new Int32Array(count);
    let bytes = 0;
    const turns = await turnsDuring(() => loadTarget({ kind: 'tensor', tensor: { dtype: 'int32', shape: [src.length], data: src } }, start, count, dest, (n) => (bytes += n)));
    assert.ok(turns >= 2, `${turns} turns`);
    assert.equal(bytes, count * 4);
    for (let i = 0; i < count; i++) if (dest[i] !== src[start + i]) assert.fail(`element ${i}: ${dest[i]} vs ${src[start + i]}`);
  });
});
