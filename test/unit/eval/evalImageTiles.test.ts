// The eval worker job (src/worker/jobs/evalImage.ts) reads a channels-first .npy in block-layout tiles, the whole
// file at once or in pixel ranges (EvalImageRequest.readRanges). Every way must give bit for bit the sums
// the logits give as stored in one kernel call: the label-issues path (labelSums) still takes that way, so
// the two are compared, on odd sizes whose tiles and ranges end mid-block, float16 and float32, with label
// smoothing, ignored pixels, special values and a bad label.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { roundToHalf } from '../../../src/tensor/float16';
import { evalImage } from '../../../src/worker/jobs/evalImage';
import type { EvalImageRequest, EvalOptions, ImageResult } from '../../../src/eval/types';
import { rng } from '../wasm/wasmHelpers';

const ROOT = path.resolve(__dirname, '../../..');
const WASM = path.join(ROOT, 'dist', 'ce.wasm');

function plain(r: ImageResult): unknown {
  // Everything but label issues' pass 1, typed arrays as arrays (NaN compares equal to NaN in deepEqual).
  const { labelSums: _drop, ...rest } = r;
  return JSON.parse(JSON.stringify(rest, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>, (x) => (Number.isNaN(x) ? 'NaN' : x)) : v)));
}

describe('eval worker job: tiles and read ranges', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    if (!fs.existsSync(WASM)) throw new Error('dist/ce.wasm missing: run npm run build first (npm test does)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-evaltiles-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(name: string, C: number, H: number, W: number, dtype: 'float16' | 'float32', seed: number, opts: { specials?: boolean; badLabel?: boolean } = {}): { pred: string; label: string } {
    const rand = rng(seed);
    const S = H * W;
    const x = new Float32Array(C * S);
    const t = new Int32Array(S);
    for (let s = 0; s < S; s++) {
      t[s] = rand() < 0.06 ? 255 : Math.floor(rand() * C);
      for (let c = 0; c < C; c++) x[c * S + s] = (rand() + rand() - 1) * 4;
      // Mostly confident at the label (small losses: the refined sums), now and then elsewhere.
      if (t[s] !== 255 && rand() < 0.7) x[t[s] * S + s] += 6 + rand() * 20;
    }
    if (opts.specials) {
      x[3 * S + 17] = NaN;
      x[5 * S + 40] = Infinity;
      for (let c = 0; c < C; c++) x[c * S + 77] = -Infinity;
      x[(t[90] === 255 ? 0 : t[90]) * S + 90] = -Infinity;
    }
    if (opts.badLabel) t[S - 5] = C + 7;
    const data = dtype === 'float16' ? x.map((v) => roundToHalf(v)) : x;
    const pred = path.join(dir, `${name}_logits.npy`);
    const label = path.join(dir, `${name}_gt.npy`);
    fs.writeFileSync(pred, encodeNpy({ dtype, shape: [C, H, W], data }));
    fs.writeFileSync(label, encodeNpy({ dtype: 'int32', shape: [H, W], data: t }));
    return { pred, label };
  }

  const job = (f: { pred: string; label: string }, options: EvalOptions, extra: Partial<EvalImageRequest> = {}): EvalImageRequest => ({
    kind: 'eval-image', id: 0, pair: { stem: 'im', prediction: f.pred, label: f.label }, options, wasmPath: WASM, ...extra,
  });

  const cases: Array<[string, number, number, number, 'float16' | 'float32', { specials?: boolean }]> = [
    ['c150-odd-f16', 150, 61, 97, 'float16', {}],
    ['c150-odd-f32', 150, 33, 130, 'float32', { specials: true }],
    ['c7-small-f16', 7, 9, 11, 'float16', { specials: true }],
    ['c300-tall-f16', 300, 70, 17, 'float16', {}],
  ];
  for (const [name, C, H, W, dtype, opts] of cases) {
    for (const labelSmoothing of [0, 0.1]) {
      it(`${name} (C ${C}, ${H} x ${W}, ${dtype}), label smoothing ${labelSmoothing}: every read range count, bit for bit the logits as stored`, () => {
        const f = write(`${name}-${labelSmoothing}`, C, H, W, dtype, C * 1000 + H, opts);
        const options: EvalOptions = { ignoreIndex: 255, labelSmoothing, classDim: 1, bins: 15, boundary: 2, weight: null };
        // labelSums keeps the logits as stored and computes them in one call.
        const stored = plain(evalImage(job(f, options, { labelSums: true })));
        for (const readRanges of [undefined, 2, 4, 7]) {
          assert.deepEqual(plain(evalImage(job(f, options, readRanges === undefined ? {} : { readRanges }))), stored, `readRanges ${readRanges ?? 1}`);
        }
      });
    }
  }

  it('a weight with label smoothing (one tile: its sums are one call\'s) gives the same figures as stored, whatever readRanges says', () => {
    const f = write('weighted', 150, 40, 45, 'float16', 5);
    const options: EvalOptions = { ignoreIndex: 255, labelSmoothing: 0.2, classDim: 1, bins: 10, boundary: 1, weight: Array.from({ length: 150 }, (_v, c) => 0.5 + (c % 7) / 4) };
    const stored = plain(evalImage(job(f, options, { labelSums: true })));
    for (const readRanges of [undefined, 4]) assert.deepEqual(plain(evalImage(job(f, options, readRanges === undefined ? {} : { readRanges }))), stored);
  });

  it('a label out of range in the last range is reported as in one read', () => {
    const f = write('bad', 150, 30, 50, 'float16', 9, { badLabel: true });
    const options: EvalOptions = { ignoreIndex: 255, labelSmoothing: 0, classDim: 1, bins: 15, boundary: 3, weight: null };
    const message = (extra: Partial<EvalImageRequest>): string => {
      try {
        evalImage(job(f, options, extra));
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const want = message({ labelSums: true });
    assert.match(want, /label 157 at \[29, 45\] is not a class in \[0, 150\)/);
    for (const readRanges of [1, 3, 4]) assert.equal(message({ readRanges }), want, `readRanges ${readRanges}`);
  });
});
