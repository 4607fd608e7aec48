// --label-issues' bad input through the CLI process: one `error:` line each (exit 2), never a stack trace.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { assertOneLineError, CLI, runCliBounded } from '../hostile/boundedCli';
import { encodeNpy } from '../../../src/tensor/binary/npy';

describe('--label-issues: the text report at a large size', function () {
  this.timeout(60_000);
  it('400,000 samples: the lowest label quality is found without spreading every score into one call', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-li-big-'));
    try {
      const n = 400_000;
      const x = new Float32Array(n * 4);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 2;
      const t = Array.from({ length: n }, (_, i) => (i * 7) % 4);
      const xf = path.join(dir, 'x.npy');
      const tf = path.join(dir, 't.npy');
      fs.writeFileSync(xf, encodeNpy({ dtype: 'float32', shape: [n, 4], data: x }));
      fs.writeFileSync(tf, encodeNpy({ dtype: 'int64', shape: [n], data: t }));
      const r = spawnSync(process.execPath, [CLI, xf, tf, '--label-issues'], { encoding: 'utf8', maxBuffer: 16 << 20 });
      assert.equal(r.status, 0, r.stderr);
      // The lowest self-confidence over all samples, from NumPy's float64 softmax of the same file.
      const py = spawnSync('/usr/bin/python3', ['-c', 'import numpy as np, sys; x = np.load(sys.argv[1]).astype(np.float64); t = np.load(sys.argv[2]); p = np.exp(x - x.max(1, keepdims=True)); p /= p.sum(1, keepdims=True); print(repr(float(p[np.arange(len(t)), t].min())))', xf, tf], { encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      const lowest = Number(py.stdout.trim());
      assert.match(r.stdout, new RegExp(`lowest label quality: ${Number(lowest.toPrecision(6)).toString().replace('.', '\\.')}`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
