// Hostile PNG label masks (issue #21, round two): compressed ancillary chunks that inflate to gigabytes (the
// bomb guard once counted IDAT only), image data that inflates beyond its header, and headers whose raw image
// data would be gigabytes for 16-bit and palette masks. Every file is made here, in milliseconds; each run
// of the CLI (as a target, through eval and compare) and of the hover summary ends with PyTorch's answer or
// one line, within 3 s and 600 MB. The expected loss is NumPy's float64 cross-entropy of the same mask.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { MAX_MASK_PIXELS } from '../../../src/tensor/image/pngMask';
import { assertBounded, assertCleanJson, assertOneLineError, CLI, PEAK_LIMIT_MB, ROOT, runCliBounded, TIME_LIMIT_MS } from './boundedCli';
import { grayMask, iccp, ihdr, IEND, itxt, pngFile, zlibZeros, ztxt, type Chunk } from './pngKit';

const PY = '/usr/bin/python3';
const BOMB_BYTES = 1.5e9;
const W = 4;
const H = 4;
const C = 3;
const MASK = [0, 1, 2, 1, 2, 2, 0, 0, 1, 1, 2, 0, 0, 2, 1, 1];
/** float32 logits against NumPy's float64 reference. */
const REL = 1e-6;

function logits(seed: number): Float32Array {
  return Float32Array.from({ length: C * H * W }, (_, i) => Math.round(Math.sin(seed + i * 1.7) * 400) / 100);
}

/** Mean cross-entropy of [1, C, H, W] logits against MASK, in float64 NumPy. */
function numpyMean(file: string): number {
  const code = [
    'import sys, numpy as np',
    'x = np.load(sys.argv[1]).astype(np.float64).reshape(1, 3, 4, 4)',
    `t = np.array(${JSON.stringify(MASK)}).reshape(1, 4, 4)`,
    'm = x.max(axis=1, keepdims=True)',
    'lsm = x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))',
    'print(repr(float(-np.take_along_axis(lsm, t[:, None], axis=1).mean())))',
  ].join('\n');
  const r = spawnSync(PY, ['-c', code, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

function close(got: unknown, want: number, what: string): void {
  assert.equal(typeof got, 'number', `${what}: ${JSON.stringify(got)}`);
  assert.ok(Math.abs((got as number) - want) <= REL * Math.max(1, Math.abs(want)), `${what}: ${String(got)} != ${want}`);
}

interface Hover {
  readonly ms: number;
  readonly peakMb: number;
  readonly classes: Array<{ value: number; count: number }> | null;
  readonly error: string | null;
}

/**
 * The hover's summary of a file, in a fresh process (so its peak memory is its own): the wall time and the
 * growth of VmHWM of the summarizeTensorFile call alone, not of loading the sources.
 */
function hoverBounded(file: string): Hover {
  const src = path.join(ROOT, 'src/worker/jobs/tensorSummary.ts');
  const script = `const fs = require('fs'); const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
const { summarizeTensorFile } = require(${JSON.stringify(src)}); const before = hwm(); const t0 = performance.now();
const s = summarizeTensorFile(${JSON.stringify(file)}); const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, peakMb: (hwm() - before) / 1024, classes: s.mask ? s.mask.classes : null, error: s.arrays[0] ? s.arrays[0].error : null }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `hover killed by ${String(r.signal)}`);
  assert.equal(r.status, 0, r.stderr.slice(0, 400));
  return JSON.parse(r.stdout) as Hover;
}

function maskCounts(): Array<{ value: number; count: number }> {
  return [0, 1, 2].map((value) => ({ value, count: MASK.filter((v) => v === value).length }));
}

describe('hostile PNG masks: compressed ancillary chunks and inflation bombs', function () {
  this.timeout(120_000);
  let dir: string;
  let expectedA: number;
  let expectedB: number;

  const write = (name: string, bytes: Uint8Array): string => {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, bytes);
    return p;
  };

  before(function () {
    if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-pngbomb-'));
    write('a.npy', encodeNpy({ dtype: 'float32', shape: [1, C, H, W], data: logits(1) }));
    write('b.npy', encodeNpy({ dtype: 'float32', shape: [1, C, H, W], data: logits(2) }));
    write('plain.png', grayMask(MASK, W));
    write('iccp.png', grayMask(MASK, W, [iccp(zlibZeros(BOMB_BYTES))]));
    write('pred/img_logits.npy', encodeNpy({ dtype: 'float32', shape: [C, H, W], data: logits(1) }));
    write('labels/img_mask.png', grayMask(MASK, W, [iccp(zlibZeros(BOMB_BYTES))]));
    expectedA = numpyMean(path.join(dir, 'a.npy'));
    expectedB = numpyMean(path.join(dir, 'b.npy'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the iCCP bomb is a 1.5 MB file whose profile inflates to 1.5 GB', () => {
    const size = fs.statSync(path.join(dir, 'iccp.png')).size;
    assert.ok(size < 2 << 20, `${size} bytes`);
    // The stream is valid zlib (Node's inflate checks the Adler-32), here inflated in part only.
    const head = zlibZeros(3 << 20);
    assert.equal(zlib.inflateSync(head).length, 3 << 20);
  });

  it('CLI, target with an iCCP bomb: the chunk is skipped, the loss is the plain mask\'s and NumPy\'s', () => {
    const plain = assertCleanJson<{ value: number }>(runCliBounded(['a.npy', 'plain.png', '--json'], { cwd: dir }), 'plain mask');
    const r = runCliBounded(['a.npy', 'iccp.png', '--json'], { cwd: dir, killAfterMs: 15_000 });
    const bomb = assertCleanJson<{ value: number }>(r, 'iCCP bomb');
    assert.equal(bomb.value, plain.value, 'the same loss as the mask without the chunk');
    close(bomb.value, expectedA, 'against NumPy');
    console.log(`      iCCP bomb via CLI: ${r.ms.toFixed(0)} ms, peak ${r.peakMb.toFixed(0)} MB`);
  });

  it('eval with an iCCP bomb as a label: NumPy\'s loss, within bounds', () => {
    const r = runCliBounded(['eval', 'pred', 'labels', '--json'], { cwd: dir, killAfterMs: 15_000 });
    const j = assertCleanJson<{ images: number; value: number }>(r, 'eval');
    assert.equal(j.images, 1);
    close(j.value, expectedA, 'eval value');
    console.log(`      iCCP bomb via eval: ${r.ms.toFixed(0)} ms, peak ${r.peakMb.toFixed(0)} MB`);
  });

  it('compare with an iCCP bomb as the target: both losses are NumPy\'s, within bounds', () => {
    const r = runCliBounded(['compare', 'a.npy', 'b.npy', 'iccp.png', '--json'], { cwd: dir, killAfterMs: 15_000 });
    const j = assertCleanJson<{ a: { value: number }; b: { value: number }; delta: number }>(r, 'compare');
    close(j.a.value, expectedA, 'a');
    close(j.b.value, expectedB, 'b');
    close(j.delta, expectedB - expectedA, 'delta');
    console.log(`      iCCP bomb via compare: ${r.ms.toFixed(0)} ms, peak ${r.peakMb.toFixed(0)} MB`);
  });

  it('hover summary of the iCCP bomb: the mask\'s class counts, within bounds', () => {
    const h = hoverBounded(path.join(dir, 'iccp.png'));
    assert.equal(h.error, null);
    assert.deepEqual(h.classes, maskCounts());
    assert.ok(h.ms < TIME_LIMIT_MS, `${h.ms.toFixed(0)} ms`);
    assert.ok(h.peakMb < PEAK_LIMIT_MB, `peak grew ${h.peakMb.toFixed(0)} MB`);
    console.log(`      iCCP bomb via hover: ${h.ms.toFixed(0)} ms, peak +${h.peakMb.toFixed(0)} MB`);
  });

  it('zTXt and iTXt bombs beside an iCCP bomb are skipped as well (CLI)', () => {
    write('text.png', grayMask(MASK, W, [ztxt(zlibZeros(BOMB_BYTES / 3)), itxt(zlibZeros(BOMB_BYTES / 3)), iccp(zlibZeros(BOMB_BYTES / 3))]));
    const j = assertCleanJson<{ value: number }>(runCliBounded(['a.npy', 'text.png', '--json'], { cwd: dir, killAfterMs: 15_000 }), 'text bombs');
    close(j.value, expectedA, 'against NumPy');
  });

  it('an IDAT bomb (IHDR 4 x 4, image data inflating to 1 GB): one line, within bounds, as target, eval and compare', () => {
    const bomb = pngFile([ihdr({ width: W, height: H, bitDepth: 8, colorType: 0 }), { type: 'IDAT', data: zlibZeros(1e9) }, IEND]);
    write('idat.png', bomb);
    write('idat_labels/img_mask.png', bomb);
    const re = /idat\.png|img_mask\.png/;
    for (const [what, args] of [
      ['target', ['a.npy', 'idat.png', '--json']],
      ['compare', ['compare', 'a.npy', 'b.npy', 'idat.png', '--json']],
    ] as const) {
      const line = assertOneLineError(runCliBounded(args, { cwd: dir, killAfterMs: 15_000 }), re, what);
      assert.match(line, /inflates beyond the 20 bytes/, line);
    }
    // eval reports a bad pair in its own way; whatever it is, it is bounded and never an internal error.
    const e = assertBounded(runCliBounded(['eval', 'pred', 'idat_labels', '--json'], { cwd: dir, killAfterMs: 15_000 }), 'eval');
    assert.match(e.stdout + e.stderr, /inflates beyond the 20 bytes/);
  });

  describe('headers whose raw image data is too large are refused from IHDR, naming the pixel limit', () => {
    // A small, valid IDAT that holds only the first bytes: whatever decodes must not size itself by the header.
    const idat: Chunk = { type: 'IDAT', data: zlib.deflateSync(Buffer.alloc(4096)) };
    const cases: Array<[string, number, number, number, number]> = [
      ['16-bit gray 16384 x 16384 (2^28 pixels, 512 MiB raw)', 16384, 16384, 16, 0],
      ['16-bit gray+alpha 12000 x 12000', 12000, 12000, 16, 4],
      ['8-bit palette 65535 x 65535', 65535, 65535, 8, 3],
      ['1-bit palette 20000 x 20000 (50 MB raw, 4e8 pixels)', 20000, 20000, 1, 3],
      ['8-bit gray 1 x 300000000', 1, 300_000_000, 8, 0],
    ];
    for (const [what, width, height, bitDepth, colorType] of cases) {
      it(what, () => {
        const plte: Chunk[] = colorType === 3 ? [{ type: 'PLTE', data: new Uint8Array(30) }] : [];
        write('huge.png', pngFile([ihdr({ width, height, bitDepth, colorType }), ...plte, idat, IEND]));
        const line = assertOneLineError(runCliBounded(['a.npy', 'huge.png', '--json'], { cwd: dir, killAfterMs: 15_000 }), /huge\.png/, what);
        assert.ok(line.includes(String(MAX_MASK_PIXELS)), line);
        assert.match(line, /not decoded/, line);
      });
    }

    it('8-bit palette 16384 x 16384 (at both limits) with 4 KB of image data: refused before the 256 MB mask is allocated', () => {
      write('tall.png', pngFile([ihdr({ width: 16384, height: 16384, bitDepth: 8, colorType: 3 }), { type: 'PLTE', data: new Uint8Array(30) }, idat, IEND]));
      const r = runCliBounded(['a.npy', 'tall.png', '--json'], { cwd: dir, killAfterMs: 15_000 });
      const line = assertOneLineError(r, /tall\.png: \d+ bytes of image data cannot inflate to the 268451840 bytes its header \(16384 x 16384\) declares/, 'tall');
      assert.ok(r.peakMb < 200, `${line}: peak ${r.peakMb.toFixed(0)} MB`);
    });
  });
});
