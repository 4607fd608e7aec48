// --label-issues' bad input through the CLI process: one `error:` line each (exit 2), never a stack trace.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertOneLineError, runCliBounded } from '../hostile/boundedCli';
import { encodeNpy } from '../../../src/tensor/npy';

describe('--label-issues: bad input is one line', function () {
  this.timeout(60_000);
  let dir: string;
  const write = (name: string, dtype: 'float32' | 'int64', shape: number[], data: number[]): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, encodeNpy({ dtype, shape, data }));
    return f;
  };

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-li-bad-'));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('probability targets: it needs class-index labels', function () {
    const x = write('x.npy', 'float32', [2, 3], [1, 2, 3, 3, 2, 1]);
    const p = write('p.npy', 'float32', [2, 3], [0.2, 0.3, 0.5, 0.6, 0.2, 0.2]);
    assertOneLineError(runCliBounded([x, p, '--label-issues']), /label issues need class-index labels; the target is float32 \(probabilities\)/, 'probability target');
  });

  it('bce and focal: no label to flag', function () {
    const x = write('x2.npy', 'float32', [2, 3], [1, 2, 3, 3, 2, 1]);
    const t = write('t2.npy', 'int64', [2], [0, 2]);
    for (const loss of ['bce', 'focal', 'sigmoid-focal']) {
      assertOneLineError(runCliBounded([x, t, '--label-issues', '--loss', loss]), new RegExp(`--label-issues needs class-index labels and cross-entropy; --loss ${loss}`), loss);
    }
  });

  it('fewer than 2 classes', function () {
    const x = write('x1.npy', 'float32', [3, 1], [1, 2, 3]);
    const t = write('t1.npy', 'int64', [3], [0, 0, 0]);
    assertOneLineError(runCliBounded([x, t, '--label-issues']), /label issues need at least 2 classes \(the input has 1\)/, 'one class');
  });

  it('--issues-out without --label-issues', function () {
    const x = write('x3.npy', 'float32', [2, 3], [1, 2, 3, 3, 2, 1]);
    const t = write('t3.npy', 'int64', [2], [0, 2]);
    assertOneLineError(runCliBounded([x, t, '--issues-out', path.join(dir, 'm.npy')]), /--issues-out writes the mask of --label-issues: give both/, 'issues-out alone');
  });
});
