// `eval` over folders holding entries named like tensor files that cannot be read (issue #21, round two): a
// symbolic link loop named x_logits.npy made the listing throw ELOOP ("internal error") and the run abort. Each
// such entry (link loop, dangling link, folder, FIFO) is now listed in `unmatched` and, with its reason, in
// `unreadable`; the run goes on and gives the valid pair's value (PyTorch's, float64), within 3 s and 600 MB.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertCleanJson, runCliBounded } from './boundedCli';
import { assertClose, torchPooledMean, writeEvalSet } from './evalKit';

interface Report {
  value: number;
  images: number;
  unmatched: string[];
  unreadable?: Array<{ name: string; reason: string }>;
  perImage: Array<{ name: string }>;
}

describe('hostile folders: eval skips unreadable entries', function () {
  this.timeout(60000);
  let root: string;
  let pred: string;
  let labels: string;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-unreadable-'));
    ({ pred, labels } = writeEvalSet(root, ['a']));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a symbolic link loop named x_logits.npy: exit 0 with the valid pair\'s value, x listed as unmatched and unreadable', () => {
    fs.symlinkSync('x_logits.npy', path.join(pred, 'x_logits.npy'));
    try {
      const r = assertCleanJson<Report>(runCliBounded(['eval', pred, labels, '--json'], { killAfterMs: 15000 }), 'link loop');
      assert.equal(r.images, 1);
      assertClose(r.value, torchPooledMean([1]), 'value');
      assert.deepEqual(r.unmatched, ['x_logits.npy']);
      assert.deepEqual(r.unreadable, [{ name: 'x_logits.npy', reason: 'symbolic link loop' }]);
    } finally {
      fs.rmSync(path.join(pred, 'x_logits.npy'));
    }
  });

  it('dangling links, folders and FIFOs named like tensor files, in either folder: listed with their reasons; shards merge to the single run', () => {
    const made: string[] = [];
    const add = (p: string, make: (p: string) => void): void => {
      make(p);
      made.push(p);
    };
    add(path.join(pred, 'x_logits.npy'), (p) => fs.symlinkSync('x_logits.npy', p));
    add(path.join(pred, 'y_logits.npy'), (p) => fs.symlinkSync(path.join(root, 'nowhere.npy'), p));
    add(path.join(pred, 'z_logits.npy'), (p) => fs.mkdirSync(p));
    add(path.join(labels, 'w_gt.npy'), (p) => {
      const r = spawnSync('mkfifo', [p]);
      assert.equal(r.status, 0, String(r.stderr));
    });
    // A folder not named like a tensor file is still passed over in silence.
    add(path.join(pred, 'notes'), (p) => fs.mkdirSync(p));
    try {
      const json = runCliBounded(['eval', pred, labels, '--json'], { killAfterMs: 15000 });
      const r = assertCleanJson<Report>(json, 'unreadable entries');
      assertClose(r.value, torchPooledMean([1]), 'value');
      assert.deepEqual(r.unmatched, ['x_logits.npy', 'y_logits.npy', 'z_logits.npy', 'w_gt.npy']);
      assert.deepEqual(r.unreadable, [
        { name: 'x_logits.npy', reason: 'symbolic link loop' },
        { name: 'y_logits.npy', reason: 'dangling symbolic link' },
        { name: 'z_logits.npy', reason: 'a folder' },
        { name: 'w_gt.npy', reason: 'a FIFO (named pipe)' },
      ]);
      // Human output names them with their reasons.
      const text = runCliBounded(['eval', pred, labels], { killAfterMs: 15000 });
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, /^unreadable +x_logits\.npy \(symbolic link loop\), y_logits\.npy \(dangling symbolic link\), z_logits\.npy \(a folder\), w_gt\.npy \(a FIFO \(named pipe\)\)$/m);
      // Parts carry the list, and merge gives the single run's output exactly.
      const parts = [0, 1].map((i) => {
        const part = runCliBounded(['eval', pred, labels, '--shard', `${i}/2`, '--json'], { killAfterMs: 15000 });
        assert.equal(part.status, 0, part.stderr);
        const f = path.join(root, `part${i}.json`);
        fs.writeFileSync(f, part.stdout);
        return f;
      });
      const merged = runCliBounded(['merge', ...parts, '--json'], { killAfterMs: 15000 });
      assert.equal(merged.status, 0, merged.stderr);
      assert.equal(merged.stdout, json.stdout);
    } finally {
      for (const p of made.reverse()) fs.rmSync(p, { recursive: true, force: true });
    }
  });
});
