// Loss thumbnails of folder evaluation: the worker's mean-pooled map (src/worker/jobs/evalImage.ts) against the
// CLI's own per-pixel loss (`--reduction none --out`) pooled here, and the viridis painting of the view.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { thumbnailPixels } from '../../../media/dataset/thumbnail';
import { colormapLUT } from '../../../media/view/render/colormap';
import { pairFolders } from '../../../src/eval/files';
import { evaluatePairs } from '../../../src/eval/runEval';
import { THUMBNAIL_MAX, type EvalOptions, type ImageResult } from '../../../src/eval/types';
import { decodeNpy } from '../../../src/tensor/binary/npy';
import { WorkerPool } from '../../../src/worker/engine/pool';

const ROOT = path.resolve(__dirname, '../../..');
const DIST = path.join(ROOT, 'dist');

/** A C-order .npy of `descr` ('<f4' or '<i4'). */
function npy(shape: readonly number[], descr: '<f4' | '<i4', data: Float32Array | Int32Array): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('dataset view: loss thumbnails', function () {
  this.timeout(60000);
  let dir: string;
  let pool: WorkerPool;
  const C = 4;
  const H = 70;
  const W = 45;

  before(() => {
    if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error('dist/worker.js missing: run npm run build first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-thumb-'));
    fs.mkdirSync(path.join(dir, 'pred'));
    fs.mkdirSync(path.join(dir, 'labels'));
    const rnd = lcg(7);
    const logits = Float32Array.from({ length: C * H * W }, () => (rnd() - 0.5) * 6);
    // A block of ignored pixels (255) covering whole thumbnail cells, and stray ones.
    const label = Int32Array.from({ length: H * W }, (_, i) => {
      const y = Math.floor(i / W);
      const x = i % W;
      if (y < 10 && x < 8) return 255;
      return rnd() < 0.05 ? 255 : Math.floor(rnd() * C);
    });
    fs.writeFileSync(path.join(dir, 'pred', 'a_logits.npy'), npy([1, C, H, W], '<f4', logits));
    fs.writeFileSync(path.join(dir, 'labels', 'a_gt.npy'), npy([H, W], '<i4', label));
    // The single-pair CLI pairs a batch with a batch: the same label as [1, H, W].
    fs.writeFileSync(path.join(dir, 'label1.npy'), npy([1, H, W], '<i4', label));
    pool = new WorkerPool(path.join(DIST, 'worker.js'), 1);
  });
  after(async () => {
    await pool.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is the CLI\'s per-pixel loss mean-pooled over non-ignored pixels, NaN where all are ignored', async () => {
    const out = path.join(dir, 'loss.npy');
    const cli = spawnSync(process.execPath, [path.join(DIST, 'cli.js'), path.join(dir, 'pred/a_logits.npy'), path.join(dir, 'label1.npy'), '--ignore-index', '255', '--reduction', 'none', '--out', out], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const loss = decodeNpy(new Uint8Array(fs.readFileSync(out)));
    assert.equal(loss.data.length, H * W);
    const label = decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'labels/a_gt.npy'))));

    const options: EvalOptions = { ignoreIndex: 255, labelSmoothing: 0, classDim: 1, bins: 15, boundary: 3, weight: null };
    const results: ImageResult[] = [];
    const wasm = path.join(DIST, 'ce.wasm');
    await evaluatePairs({ pairs: pairFolders(path.join(dir, 'pred'), path.join(dir, 'labels')).pairs, options, pool, wasmPath: fs.existsSync(wasm) ? wasm : null, onImage: (r) => results.push(r) });
    assert.equal(results.length, 1);
    const t = results[0].thumbnail;
    assert.ok(t, 'the worker sends a thumbnail');
    assert.equal(t.h, THUMBNAIL_MAX);
    assert.equal(t.w, THUMBNAIL_MAX);
    // Cell (cy, cx) holds rows ceil(cy H / h) .. ceil((cy + 1) H / h) - 1 (the pixels y with floor(y h / H) = cy).
    let nanCells = 0;
    for (let cy = 0; cy < t.h; cy++) {
      for (let cx = 0; cx < t.w; cx++) {
        let sum = 0;
        let n = 0;
        for (let y = Math.ceil((cy * H) / t.h); y < Math.ceil(((cy + 1) * H) / t.h); y++) {
          for (let x = Math.ceil((cx * W) / t.w); x < Math.ceil(((cx + 1) * W) / t.w); x++) {
            if (label.data[y * W + x] === 255) continue;
            sum += loss.data[y * W + x];
            n++;
          }
        }
        const got = t.data[cy * t.w + cx];
        if (n === 0) {
          nanCells++;
          assert.ok(Number.isNaN(got), `cell ${cy},${cx}: all ignored, got ${got}`);
        } else {
          assert.ok(Math.abs(got - sum / n) <= 1e-5 * Math.max(1, sum / n), `cell ${cy},${cx}: ${got} vs ${sum / n}`);
        }
      }
    }
    assert.ok(nanCells >= 4, `the ignored block gives NaN cells (${nanCells})`);
  });

  it('paints viridis on a shared scale: 0 is #440154, vmax is #fde725, NaN transparent', () => {
    const px = thumbnailPixels(Float32Array.from([0, 2, NaN, 1]), 2);
    const lut = colormapLUT('viridis');
    assert.deepEqual([...px.slice(0, 4)], [0x44, 0x01, 0x54, 255]);
    assert.deepEqual([...px.slice(4, 8)], [0xfd, 0xe7, 0x25, 255]);
    assert.equal(px[11], 0, 'NaN is transparent');
    assert.deepEqual([...px.slice(12, 15)], [lut[128 * 4], lut[128 * 4 + 1], lut[128 * 4 + 2]]);
  });
});
