// The files the CLI reads for its options and writes its results to (a hostile-input probe, 2026-12-07):
// a FIFO or /dev/zero given as a merge part, --thresholds or --palette blocked the read for ever or filled
// memory; --out renamed its file over whatever was there (a device node or FIFO became a regular file, a
// directory was an internal error); --out '' wrote nothing and said nothing; a prediction of zero classes
// gave eval a value read from memory no logit was in; and a reader that stopped reading (`| head`) or a
// full disk gave Node's stack trace. Each is now one line, within 3 s and 600 MB.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertCleanJson, assertOneLineError, CLI, runCliBounded } from './boundedCli';
import { writeEvalSet } from './evalKit';

describe('hostile CLI files: what options read and results are written to', function () {
  this.timeout(60_000);
  let dir: string;
  const at = (name: string): string => path.join(dir, name);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cli-files-'));
    const r = spawnSync('/usr/bin/python3', ['-c', `
import numpy as np, os
from PIL import Image
rng = np.random.default_rng(3)
np.save("x.npy", rng.standard_normal((6, 4)).astype(np.float32)); np.save("t.npy", np.array([0, 1, 2, 3, 2, 2]))
np.save("xb.npy", rng.standard_normal((64, 3, 64, 64)).astype(np.float32)); np.save("tb.npy", rng.integers(0, 3, (64, 64, 64)))
os.makedirs("c0/pred"); os.makedirs("c0/labels")
np.save("c0/pred/a_logits.npy", np.zeros((0, 6, 8), np.float32)); os.makedirs("c0/pred2"); np.save("c0/pred2/a_logits.npy", np.zeros((0, 6, 8), np.float32))
Image.fromarray(rng.integers(0, 3, (6, 8)).astype(np.uint8)).save("c0/labels/a_gt.png")
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(spawnSync('mkfifo', [at('fifo')]).status, 0, 'mkfifo');
    fs.mkdirSync(at('folder'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args: readonly string[]): ReturnType<typeof runCliBounded> => runCliBounded(args, { cwd: dir, killAfterMs: 15_000 });
  /** A label folder and two runs' prediction folders (runs are named by their folders: two names). */
  const twoRuns = (name: string): { labels: string; pred: string; pred2: string } => {
    const set = writeEvalSet(at(name), ['a']);
    const pred2 = `${set.pred}2`;
    fs.cpSync(set.pred, pred2, { recursive: true });
    return { ...set, pred2 };
  };

  it('a FIFO or /dev/zero as a merge part, --thresholds or --palette is refused at once, naming it', () => {
    assertOneLineError(run(['merge', 'fifo']), /^error: fifo: is a FIFO, not a regular file$/, 'merge fifo');
    assertOneLineError(run(['merge', '--thresholds', 'fifo']), /^error: fifo: is a FIFO, not a regular file$/, 'merge --thresholds fifo');
    assertOneLineError(run(['merge', '/dev/zero']), /^error: \/dev\/zero: is a device, not a regular file$/, 'merge /dev/zero');
    const labels = writeEvalSet(at('set'), ['a']);
    assertOneLineError(run(['eval', labels.pred, labels.labels, '--label-issues', '--thresholds', '/dev/zero']), /\/dev\/zero: is a device, not a regular file/, 'eval --thresholds /dev/zero');
    assertOneLineError(run(['x.npy', 't.npy', '--palette', 'fifo']), /^error: --palette fifo: is a FIFO, not a regular file/, '--palette fifo');
    assertOneLineError(run(['x.npy', 't.npy', '--palette', '/dev/zero']), /^error: --palette \/dev\/zero: is a device, not a regular file/, '--palette /dev/zero');
  });

  it('--out, --issues-out and --losses refuse a folder or a FIFO before computing, and leave it as it was', () => {
    for (const [flag, args] of [
      ['--out', ['x.npy', 't.npy', '--out']],
      ['--issues-out', ['x.npy', 't.npy', '--label-issues', '--issues-out']],
    ] as const) {
      assertOneLineError(run([...args, 'folder']), new RegExp(`^error: ${flag} folder: is a directory, not a regular file`), `${flag} folder`);
      assertOneLineError(run([...args, 'fifo']), new RegExp(`^error: ${flag} fifo: is a FIFO, not a regular file`), `${flag} fifo`);
    }
    const set = twoRuns('runs');
    assertOneLineError(run(['runs', set.labels, set.pred, set.pred2, '--shard', '0/2', '--losses', 'fifo']), /^error: --losses fifo: is a FIFO, not a regular file/, '--losses fifo');
    assert.ok(fs.statSync(at('fifo')).isFIFO(), 'the FIFO is still a FIFO');
    assert.ok(fs.statSync(at('folder')).isDirectory());
  });

  it('--out through a symbolic link writes the file it names (as np.save does); the link stays a link', () => {
    fs.writeFileSync(at('real.npy'), 'old');
    fs.symlinkSync('real.npy', at('link.npy'));
    assertCleanJson(run(['x.npy', 't.npy', '--reduction', 'none', '--out', 'link.npy', '--json']), '--out link.npy');
    assert.ok(fs.lstatSync(at('link.npy')).isSymbolicLink());
    const r = spawnSync('/usr/bin/python3', ['-c', 'import numpy as np; a = np.load("real.npy"); print(a.dtype, a.shape)'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'float32 (6,)', r.stderr);
  });

  it('a link to a file not there yet is written through, creating it; a name ending in a separator or in a missing folder is refused before computing', () => {
    fs.symlinkSync(at('made.npy'), at('dangling.npy'));
    assertCleanJson(run(['x.npy', 't.npy', '--reduction', 'none', '--out', 'dangling.npy', '--json']), '--out dangling.npy');
    assert.ok(fs.lstatSync(at('dangling.npy')).isSymbolicLink(), 'still a link');
    assert.equal(fs.statSync(at('made.npy')).size, 128 + 6 * 4, 'the file it names, written');
    assertOneLineError(run(['x.npy', 't.npy', '--out', 'new.npy/']), /^error: --out new\.npy\/: ends in a path separator — give a file name$/, 'trailing separator');
    assertOneLineError(run(['x.npy', 't.npy', '--out', 'nodir/x.npy']), /^error: --out nodir\/x\.npy: its folder nodir does not exist$/, 'missing folder');
    const set = twoRuns('nofolder');
    assertOneLineError(run(['runs', set.labels, set.pred, set.pred2, '--shard', '0/2', '--losses', 'nodir/l.bin']), /^error: --losses nodir\/l\.bin: its folder nodir does not exist$/, '--losses in a missing folder');
    assertOneLineError(run(['compare', 'x.npy', 'x.npy', 't.npy', '--out', 'folder']), /^error: --out folder: is a directory, not a regular file/, 'compare --out folder');
  });

  it('an output aimed at a file the command reads is refused before computing, and the file is left as it was', () => {
    fs.copyFileSync(at('x.npy'), at('xin.npy'));
    fs.copyFileSync(at('t.npy'), at('tin.npy'));
    spawnSync('/usr/bin/python3', ['-c', 'import numpy as np; np.save("w.npy", np.array([1, 2, 1, 0.5], np.float32))'], { cwd: dir });
    fs.symlinkSync('xin.npy', at('xlink.npy'));
    fs.linkSync(at('tin.npy'), at('thard.npy'));
    const before = new Map(['xin.npy', 'tin.npy', 'w.npy'].map((f) => [f, fs.readFileSync(at(f))]));
    const base = ['xin.npy', 'tin.npy', '--reduction', 'none'];
    assertOneLineError(run([...base, '--out', 'xin.npy']), /^error: --out xin\.npy: is the input — writing it would replace what the command reads; give another file name$/, '--out the input');
    assertOneLineError(run([...base, '--out', './tin.npy']), /^error: --out \.\/tin\.npy: is the target tin\.npy — /, '--out the target, spelt otherwise');
    assertOneLineError(run([...base, '--out', 'xlink.npy']), /^error: --out xlink\.npy: is the input xin\.npy — /, '--out a link to the input');
    assertOneLineError(run([...base, '--out', 'thard.npy']), /^error: --out thard\.npy: is the target tin\.npy — /, '--out a hard link to the target');
    assertOneLineError(run([...base, '--weight', 'w.npy', '--out', 'w.npy']), /^error: --out w\.npy: is the --weight file — /, '--out the weight');
    assertOneLineError(run(['xin.npy', 'tin.npy', '--label-issues', '--issues-out', 'tin.npy']), /^error: --issues-out tin\.npy: is the target — /, '--issues-out the target');
    fs.writeFileSync(at('both.npy'), 'old');
    assertOneLineError(run([...base, '--label-issues', '--out', 'both.npy', '--issues-out', 'both.npy']), /^error: --issues-out both\.npy: is the --out file — /, '--out and --issues-out one file');
    assertOneLineError(run(['compare', 'xin.npy', 'x.npy', 'tin.npy', '--out', 'x.npy']), /^error: --out x\.npy: is input B — /, 'compare --out input B');
    const set = twoRuns('clash');
    const inRun = path.join(set.pred2, 'a_logits.npy');
    const runFile = fs.readFileSync(inRun);
    assertOneLineError(run(['runs', set.labels, set.pred, set.pred2, '--shard', '0/2', '--losses', inRun]), /^error: --losses .*a_logits\.npy: is in the run folder .*pred2 — /, '--losses over a prediction');
    for (const [f, bytes] of before) assert.deepEqual(fs.readFileSync(at(f)), bytes, `${f} unchanged`);
    assert.deepEqual(fs.readFileSync(inRun), runFile, 'the prediction unchanged');
    // A new file, and an earlier output rewritten, are written as before.
    assertCleanJson(run([...base, '--out', 'fresh.npy', '--json']), '--out a new file');
    assertCleanJson(run([...base, '--out', 'fresh.npy', '--json']), '--out rewriting its own earlier output');
  });

  it('a JSON input over 256 MB is refused at once, naming it (parsing it could exhaust a worker\'s heap)', () => {
    // Sparse: nothing is written or read, so only the size check can answer this fast.
    fs.writeFileSync(at('huge.json'), '');
    fs.truncateSync(at('huge.json'), 300 * 2 ** 20);
    const r = run(['huge.json', 't.npy']);
    assertOneLineError(r, /^error: huge\.json: 300 MB of JSON is more than is read here \(256 MB\) — save the tensors with np\.save \(or torch\.save\) and open those$/, 'huge JSON');
    assertOneLineError(run(['x.npy', 'huge.json']), /^error: huge\.json: 300 MB of JSON/, 'huge JSON target');
  });

  it('an empty value for a file option is refused, not taken as no file', () => {
    assertOneLineError(run(['x.npy', 't.npy', '--out', '']), /--out needs a value, not an empty string/, "--out ''");
    assertOneLineError(run(['x.npy', 't.npy', '--label-issues', '--issues-out=']), /--issues-out needs a value, not an empty string/, '--issues-out=');
    const set = twoRuns('empty');
    assertOneLineError(run(['runs', set.labels, set.pred, set.pred2, '--shard', '0/2', '--losses', '']), /--losses needs a value, not an empty string/, "--losses ''");
  });

  it('eval and runs refuse a prediction with no classes, naming it (its value was read from no logits)', () => {
    const pred = path.join('c0', 'pred', 'a_logits.npy');
    const re = new RegExp(`^error: ${pred.replace(/[./]/g, '\\$&')}: prediction \\[0, 6, 8\\] has no classes \\(C = 0\\)`);
    assertOneLineError(run(['eval', 'c0/pred', 'c0/labels']), re, 'eval');
    assertOneLineError(run(['runs', 'c0/labels', 'c0/pred', 'c0/pred2']), re, 'runs');
  });

  it('output to a reader that stops (| head) ends quietly; to a full disk, one line', () => {
    // The real command line (process.stdout's errors are handled where the CLI is the main module).
    const piped = spawnSync('bash', ['-c', `node ${JSON.stringify(CLI)} xb.npy tb.npy --reduction none --json | head -c 1 > /dev/null; echo "\${PIPESTATUS[0]}" >&2`], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(piped.stderr.trim(), '0', `stderr: ${piped.stderr.slice(0, 400)}`);
    const full = fs.openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [CLI, 'x.npy', 't.npy', '--json'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', full, 'pipe'], timeout: 30_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, 'error: cannot write the output: ENOSPC: no space left on device, write\n');
    } finally {
      fs.closeSync(full);
    }
  });
});
