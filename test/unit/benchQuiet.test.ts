// The bench says when its machine was not quiet (#24): above a 1-minute load average of 1.0 at the start or
// the end of a run, its ratios against PyTorch flatter the engine.
import * as assert from 'node:assert/strict';
import { loadWarning } from '../../bench/quiet';

describe('bench: the load average warning', function () {
  it('is silent on a quiet machine and names both loads otherwise', function () {
    assert.equal(loadWarning(0.4, 0.9), null);
    assert.equal(loadWarning(1.0, 1.0), null);
    assert.match(loadWarning(0.4, 1.3) ?? '', /^warning: load average 0\.40 at the start, 1\.30 at the end \(above 1\.0\)/);
    assert.match(loadWarning(2.5, 0.2) ?? '', /2\.50 at the start/);
  });
});
