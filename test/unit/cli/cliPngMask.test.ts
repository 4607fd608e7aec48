// The CLI with a PNG label mask as the target. Expected numbers: test/fixtures/cli/png_expected.json,
// PyTorch's F.cross_entropy(logits [1, C, H, W], torch.from_numpy(np.array(Image.open(mask))).long()[None],
// ignore_index=255) in float64 (make_png_fixtures.py).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpy, encodeNpy } from '../../../src/tensor/binary/npy';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const FIX = path.join(ROOT, 'test/fixtures/cli');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'png_expected.json'), 'utf8')) as {
  mean: number; sum: number; none: { shape: number[]; values: number[] }; ignored: number; elements: number; shape: number[]; pytorchUnbatched: string;
};
/** float32 logits: the float32 kernel is within 1e-6 (relative) of PyTorch's float64 reference. */
const F32 = 1e-6;

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: FIX, encoding: 'utf8', timeout: 30000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(...args: string[]): Record<string, unknown> {
  const r = cli(...args, '--json');
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function close(a: unknown, b: number): void {
  assert.equal(typeof a, 'number', JSON.stringify(a));
  assert.ok(Math.abs((a as number) - b) <= F32 * Math.max(1, Math.abs(b)), `${String(a)} != ${b}`);
}

function oneLineError(r: { code: number | null; stdout: string; stderr: string }): string {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: /);
  return lines[0];
}

describe('CLI with a PNG mask target', function () {
  this.timeout(60000);
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build first');
  });

  it('PyTorch itself refuses (C, H, W) logits with an (H, W) target: [C, H, W] pairs as one sample', () => {
    assert.match(expected.pytorchUnbatched, /batch_size/);
  });

  for (const [file, inputShape, inputPaired] of [
    ['png_logits_1chw.npy', [1, 21, 6, 8], undefined],
    ['png_logits_chw.npy', [21, 6, 8], [1, 21, 6, 8]],
  ] as const) {
    it(`${file} ${JSON.stringify(inputShape)} with png_mask.png --ignore-index 255: mean and sum equal PyTorch's`, () => {
      const j = json(file, 'png_mask.png', '--ignore-index', '255');
      close(j.value, expected.mean);
      assert.deepEqual(j.lossShape, [1, ...expected.shape]);
      assert.equal(j.ignoredCount, expected.ignored);
      assert.equal(j.elementCount, expected.elements);
      const target = j.target as { shape: number[]; dtype: string; pairedAs?: number[] };
      assert.deepEqual(target.shape, expected.shape);
      assert.equal(target.dtype, 'uint8');
      assert.deepEqual(target.pairedAs, [1, ...expected.shape]);
      const input = j.input as { shape: number[]; pairedAs?: number[] };
      assert.deepEqual(input.shape, inputShape);
      assert.deepEqual(input.pairedAs, inputPaired);
      close(json(file, 'png_mask.png', '--ignore-index', '255', '--reduction', 'sum').value, expected.sum);
    });
  }

  it('--out writes the unreduced loss [1, H, W] equal to PyTorch\'s reduction none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-png-'));
    try {
      const out = path.join(dir, 'loss.npy');
      const j = json('png_logits_chw.npy', 'png_mask.png', '--ignore-index', '255', '--reduction', 'none', '--out', out);
      assert.equal(j.value, null);
      const loss = decodeNpy(new Uint8Array(fs.readFileSync(out)));
      assert.deepEqual(loss.shape, expected.none.shape);
      expected.none.values.forEach((v, i) => assert.ok(Math.abs(loss.data[i] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${i}: ${loss.data[i]} != ${v}`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the text summary says the mask is one sample and how it paired', () => {
    const r = cli('png_logits_1chw.npy', 'png_mask.png', '--ignore-index', '255');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /target {2}png_mask\.png {2}\[6, 8\] uint8 \(class indices; PNG mask, one sample; paired as \[1, 6, 8\]\)/);
  });

  it('an RGB mask is refused without a colour table and computes with --palette voc', () => {
    const rgb = path.join('..', 'tensor', 'png', 'voc_rgb.png');
    assert.match(oneLineError(cli('png_logits_1chw.npy', rgb, '--ignore-index', '255')), /voc_rgb\.png: an RGB mask: colours are not class indices/);
    close(json('png_logits_1chw.npy', rgb, '--ignore-index', '255', '--palette', 'voc').value, expected.mean);
  });

  it('a PNG as the input is a one-line error', () => {
    assert.match(oneLineError(cli('png_mask.png', 'png_logits_chw.npy')), /png_mask\.png: a PNG is a label mask; it can only be the target/);
  });

  it('without --ignore-index the 255 border is out of range, as in PyTorch', () => {
    assert.match(oneLineError(cli('png_logits_1chw.npy', 'png_mask.png')), /target value 255 .*out of bounds for 21 classes.*ignore_index to 255/);
  });

  it('an input holding several samples is refused, naming the mask', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-png-'));
    try {
      const x = path.join(dir, 'two.npy');
      fs.writeFileSync(x, encodeNpy({ dtype: 'float32', shape: [2, 21, 6, 8], data: new Float32Array(2 * 21 * 48) }));
      assert.match(oneLineError(cli(x, 'png_mask.png', '--ignore-index', '255')), /png_mask\.png: a PNG mask is one sample \[6, 8\].*holds 2 samples/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
