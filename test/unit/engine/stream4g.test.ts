// A 4 GiB float32 logits file through the CLI: it streams with bounded memory, Ctrl-C stops it promptly.
// The files are sparse (zeros), so they cost no disk space and are made instantly; every logit is 0, so
// the loss is exactly log(C).
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, sparseNpy } from './helpers';

const C = 16;

// The child's own peak: VmHWM of its address space. getrusage's maxRSS would not do: Linux carries the
// forking parent's resident size over exec into the child's figure, and the test runner holds hundreds of
// megabytes after the engine suite's large cases.
const PEAK_KB = `(() => { try { return Number(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]); } catch { return process.resourceUsage().maxRSS; } })()`;

describe('engine: a 4 GiB logits file', function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-4g-'));
  const xf = path.join(dir, 'logits.npy');
  const tf = path.join(dir, 'target.npy');
  before(function () {
    sparseNpy(xf, 'float32', [64, C, 1024, 1024], 4);
    sparseNpy(tf, 'int64', [64, 1024, 1024], 8);
    assert.ok(fs.statSync(xf).size > 4 * 2 ** 30);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the CLI on two files in a fresh process; its JSON output and peak RSS. */
  function runCli(x: string, t: string, ...extra: string[]): { out: { value: number; streamed: boolean; engine: string }; kb: number; stderr: string } {
    const script = `require(${JSON.stringify(path.join(ROOT, 'dist/cli.js'))}).main([${[x, t, ...extra].map((a) => JSON.stringify(a)).join(', ')}, '--json']).then((code) => { process.exitCode = code; process.stderr.write('MAXRSS_KB ' + ${PEAK_KB} + ' ' + JSON.stringify(process.memoryUsage()) + '\\n'); });`;
    // --json lists every class: 32,000 of them is more than spawnSync's default 1 MB buffer.
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 170_000, maxBuffer: 256 << 20 });
    assert.equal(r.status, 0, r.stderr);
    return { out: JSON.parse(r.stdout) as { value: number; streamed: boolean; engine: string }, kb: Number(/MAXRSS_KB (\d+)/.exec(r.stderr)?.[1]), stderr: r.stderr };
  }

  it('a class-last language-model file over the in-memory budget ([16, 2048, 32000] float16, 2 GB) streams on the row kernel with peak RSS under 600 MB', function () {
    const V = 32000;
    const xL = path.join(dir, 'lm-logits.npy');
    const tL = path.join(dir, 'lm-target.npy');
    sparseNpy(xL, 'float16', [16, 2048, V], 2);
    sparseNpy(tL, 'int64', [16, 2048], 8);
    assert.ok(fs.statSync(xL).size > 2 * 10 ** 9);
    const { out, kb, stderr } = runCli(xL, tL, '--class-dim', '-1');
    assert.equal(out.streamed, true);
    assert.equal(out.engine, 'wasm-simd');
    assert.ok(Math.abs(out.value - Math.log(V)) < 1e-5, String(out.value));
    assert.ok(kb > 0 && kb < 600 * 1024, `peak RSS ${(kb / 1024).toFixed(0)} MB; ${/MAXRSS_KB \d+ (.*)/.exec(stderr)?.[1]}`);
    fs.rmSync(xL);
  });

  it('completes in Fortran order too, with the process peak RSS under 600 MB', function () {
    const xF = path.join(dir, 'logits-f.npy');
    const tF = path.join(dir, 'target-f.npy');
    sparseNpy(xF, 'float32', [64, C, 1024, 1024], 4, true);
    sparseNpy(tF, 'int64', [64, 1024, 1024], 8, true);
    const { out, kb, stderr } = runCli(xF, tF);
    assert.equal(out.streamed, true);
    assert.equal(out.engine, 'wasm-simd');
    assert.ok(Math.abs(out.value - Math.log(C)) < 1e-6, String(out.value));
    assert.ok(kb > 0 && kb < 600 * 1024, `peak RSS ${(kb / 1024).toFixed(0)} MB; ${/MAXRSS_KB \d+ (.*)/.exec(stderr)?.[1]}`);
  });

  it('completes with the process peak RSS under 600 MB', function () {
    const script = `require(${JSON.stringify(path.join(ROOT, 'dist/cli.js'))}).main([${JSON.stringify(xf)}, ${JSON.stringify(tf)}, '--json']).then((code) => { process.exitCode = code; process.stderr.write('MAXRSS_KB ' + ${PEAK_KB} + ' ' + JSON.stringify(process.memoryUsage()) + '\\n'); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 170_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { value: number; streamed: boolean; engine: string };
    assert.equal(out.streamed, true);
    assert.ok(Math.abs(out.value - Math.log(C)) < 1e-6, String(out.value));
    const kb = Number(/MAXRSS_KB (\d+)/.exec(r.stderr)?.[1]);
    // On failure, the memory still held at the end (heap, external, array buffers) helps find the culprit.
    assert.ok(kb > 0 && kb < 600 * 1024, `peak RSS ${(kb / 1024).toFixed(0)} MB; at exit ${/MAXRSS_KB \d+ (.*)/.exec(r.stderr)?.[1]}`);
  });

  it('stops on Ctrl-C (SIGINT) within a second with one error line and exit 130', async function () {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli.js'), xf, tf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(child.exitCode, null, 'finished before it could be interrupted');
    const sent = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    // Within a second by design; 3x that holds on a loaded machine.
    assert.ok(Date.now() - sent < 3000, `took ${Date.now() - sent} ms to stop`);
    assert.equal(code, 130);
    assert.equal(stderr.trim(), 'error: computation cancelled');
  });
});
