// Labels out of range, one click (#26): the error PyTorch raises for a 255 void label is shown with a button
// "Use ignore_index 255" that asks the host to recompute with it; nothing changes until it is clicked, and
// an error without a fix has no button. The fix itself is read from the engine's own message.
import * as assert from 'node:assert/strict';
import { ignoreIndexFix, maskRangeNote, outOfRangeTarget } from '../../../src/kernel/labelFix';
import { targetRangeError } from '../../../src/kernel/validate';
import { setup } from './harness';

describe('error fix: ignore the one out-of-range label', function () {
  it('reads the value from the message the engine words, for 255, -1 and -100', function () {
    for (const v of [255, -1, -100, 21]) {
      const msg = `mask.png: ${targetRangeError(v, 7, [2, 4], 21, v === -100 ? 0 : -100).message}`;
      assert.deepEqual(outOfRangeTarget(msg), { value: v, classes: 21 });
    }
    assert.deepEqual(ignoreIndexFix(targetRangeError(255, 0, [4], 21, -100).message, { ignoreIndex: -100 }), { label: 'Use ignore_index 255', options: { ignoreIndex: 255 } });
    // Already ignored, or no class-range error at all: nothing to offer.
    assert.equal(ignoreIndexFix(targetRangeError(255, 0, [4], 21, 255).message, { ignoreIndex: 255 }), null);
    assert.equal(ignoreIndexFix('target shape [2] does not fit input [3, 4]', { ignoreIndex: -100 }), null);
    assert.equal(ignoreIndexFix(targetRangeError(3, 0, [4], 0, -100).message, { ignoreIndex: -100 }), null, 'C = 0 has no valid label');
  });

  it('a picker names a mask\'s labels outside the classes: "255 (void?)" for the void label', function () {
    const counts = (...vs: number[]): Array<{ value: number; count: number }> => vs.map((value) => ({ value, count: 10 }));
    assert.equal(maskRangeNote(counts(0, 3, 20), 21), null);
    assert.equal(maskRangeNote(counts(0, 3, 255), 21), 'holds 255 (void?)');
    assert.equal(maskRangeNote(counts(0, 21, 30, 40, 255), 21), 'holds 21, 30, 40, … outside 0..20');
    assert.equal(maskRangeNote([{ value: 255, count: 0 }], 21), null, 'a value with no pixels is no label');
  });

  it('the view shows the button beside the error; a click posts setOptions with the fix and disables it', async function () {
    const h = await setup();
    await h.settle();
    h.posted.length = 0;
    h.view.receive({ type: 'error', message: 'target value 255 at index [0, 3, 4] is out of bounds for 21 classes', fix: { label: 'Use ignore_index 255', options: { ignoreIndex: 255 } } });
    await h.settle();
    const err = h.$('[data-testid="error"]');
    assert.equal(err.hidden, false);
    assert.match(err.textContent ?? '', /out of bounds for 21 classes/);
    const button = h.$<HTMLButtonElement>('[data-testid="error-fix"]');
    assert.equal(button.textContent, 'Use ignore_index 255');
    assert.deepEqual(h.posted.filter((m) => m.type === 'setOptions'), [], 'nothing recomputes before the click');
    button.click();
    assert.deepEqual(h.posted.filter((m) => m.type === 'setOptions'), [{ type: 'setOptions', options: { ignoreIndex: 255 } }]);
    assert.equal(button.disabled, true);
    h.view.receive({ type: 'error', message: 'x.npy: bad' });
    await h.settle();
    assert.equal(h.$$('[data-testid="error-fix"]').length, 0, 'a later error without a fix has no button');
    h.close();
  });
});
