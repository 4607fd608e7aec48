// Spill folders of runs evaluations killed before they could remove them (src/eval/runs/staleSpills.ts): a
// new evaluation removes those a day old whose owner is gone, and nothing else.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LossSpill } from '../../../src/eval/runs/lossFiles';
import { ownerOf, pidAlive, removeStaleSpills, SPILL_PREFIX, spillPrefix, STALE_AFTER_MS } from '../../../src/eval/runs/staleSpills';

const ROOT = path.resolve(__dirname, '../../..');

/** A pid that was a process and is no more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function backdate(p: string, ms: number): void {
  const t = (Date.now() - ms) / 1000;
  fs.utimesSync(p, t, t);
}

describe('stale runs spill folders', function () {
  this.timeout(30000);
  let parent = '';
  beforeEach(() => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-stale-'));
  });
  afterEach(() => fs.rmSync(parent, { recursive: true, force: true }));

  it('names each spill folder with the prefix and its owner\'s pid', function () {
    const spill = new LossSpill(2, 1, parent);
    try {
      const [name] = fs.readdirSync(parent);
      assert.ok(name.startsWith(spillPrefix()), `${name} starts with ${spillPrefix()}`);
      assert.equal(ownerOf(name), process.pid);
    } finally {
      spill.close();
    }
    assert.deepEqual(fs.readdirSync(parent), [], 'close() removes it');
    assert.equal(ownerOf(`${SPILL_PREFIX}AbC123`), null, 'a name from before pids were written');
    assert.equal(pidAlive(process.pid), true);
  });

  it('removes the folders a day old whose owner is gone; keeps fresh ones, live owners\', its own, and other things', function () {
    const dead = deadPid();
    assert.equal(pidAlive(dead), false, `pid ${dead} still alive`);
    const make = (name: string, ageMs: number, file = false): void => {
      const p = path.join(parent, name);
      if (file) fs.writeFileSync(p, 'x');
      else {
        fs.mkdirSync(p);
        fs.writeFileSync(path.join(p, 'run0.f32'), new Uint8Array(16));
      }
      backdate(p, ageMs);
    };
    const old = STALE_AFTER_MS + 60_000;
    make(`${SPILL_PREFIX}${dead}-aaaaaa`, old);
    make(`${SPILL_PREFIX}Zz9Yy8`, old);
    make(`${SPILL_PREFIX}${dead}-bbbbbb`, 60_000);
    make(`${SPILL_PREFIX}${process.pid}-cccccc`, old);
    make(`${SPILL_PREFIX}1-dddddd`, old);
    make(`${SPILL_PREFIX}${dead}-file`, old, true);
    make('other-folder', old);
    const removed = removeStaleSpills(parent, { alive: (pid) => pid === 1 || pidAlive(pid) });
    assert.deepEqual(removed.sort(), [`${SPILL_PREFIX}${dead}-aaaaaa`, `${SPILL_PREFIX}Zz9Yy8`].sort());
    assert.deepEqual(fs.readdirSync(parent).sort(), [`${SPILL_PREFIX}${dead}-bbbbbb`, `${SPILL_PREFIX}${process.pid}-cccccc`, `${SPILL_PREFIX}1-dddddd`, `${SPILL_PREFIX}${dead}-file`, 'other-folder'].sort());
    assert.deepEqual(removeStaleSpills(path.join(parent, 'missing')), [], 'a parent that is not there: nothing, no error');
  });

  it('a process killed with SIGKILL leaves its spill folder, and the next sweep a day later removes it', function () {
    const script = `const { LossSpill } = require(${JSON.stringify(path.join(ROOT, 'src/eval/runs/lossFiles.ts'))});
const s = new LossSpill(2, 1, ${JSON.stringify(parent)});
s.write(0, 0, new Float32Array([1, 2]), 'x');
process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const left = fs.readdirSync(parent);
    assert.equal(left.length, 1, `left: ${left.join(', ')}`);
    assert.equal(ownerOf(left[0]), r.pid);
    assert.deepEqual(removeStaleSpills(parent), [], 'within the day\'s grace it stays');
    backdate(path.join(parent, left[0]), STALE_AFTER_MS + 1000);
    assert.deepEqual(removeStaleSpills(parent), left);
    assert.deepEqual(fs.readdirSync(parent), []);
  });
});
