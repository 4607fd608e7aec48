// Parity at any class count (issue 13), through the Engine users get: ImageNet's 1,000 classes, GPT-2's
// 50,257 rows, a 32,000-token vocabulary class-last with -100 padding, 262,144 classes, and a segmentation
// map with 1,100 classes. Fixtures written by real PyTorch (test/parity/generators/generate_large.py): float16 logits
// (exact in float32 too), PyTorch's float64 loss per element, mean, sum and argmax. Each case runs from an
// in-memory float32 tensor, a float32 .npy file and a float16 .npy file (the row kernel widening as it reads).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFUSION_MATRIX_MAX_CLASSES, TOP_CONFUSIONS } from '../../src/kernel/confusion';
import { encodeNpy } from '../../src/tensor/binary/npy';
import { readNpz } from '../../src/tensor/binary/npz';
import type { Tensor } from '../../src/tensor/tensor';
import { Engine, type EngineRequest, type TensorSource } from '../../src/worker/engine/engine';
import { boundShare, simdElementOk, simdValueOk } from './simdBound';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'parity-large');
const DIST = path.join(REPO, 'dist');

interface LargeCase {
  readonly id: string;
  readonly file: string;
  readonly shape: readonly number[];
  readonly classLast: boolean;
  readonly labelSmoothing: number;
  readonly hasWeight: boolean;
  readonly mean: number;
  readonly sum: number;
}

const cases = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8')) as { cases: LargeCase[] }).cases;

/** Worst |got - want| as a share of the element bound, and worst relative error of a reduced value. */
const worst = { element: 0, elementAt: '', value: 0, valueAt: '' };

/** Brute-force top off-diagonal pairs from PyTorch's argmax and the target. */
function expectedTop(t: ArrayLike<number>, p: ArrayLike<number>): Array<{ target: number; predicted: number; count: number }> {
  const m = new Map<string, number>();
  for (let i = 0; i < t.length; i++) {
    if (t[i] === -100 || t[i] === p[i]) continue;
    const key = `${t[i]},${p[i]}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return [...m.entries()]
    .map(([key, count]) => ({ target: Number(key.split(',')[0]), predicted: Number(key.split(',')[1]), count }))
    .sort((a, b) => b.count - a.count || a.target - b.target || a.predicted - b.predicted)
    .slice(0, TOP_CONFUSIONS);
}

describe('PyTorch parity at any class count, through the Engine (fast path)', function () {
  this.timeout(120_000);
  let engine: Engine;
  let tmp: string;
  before(() => {
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-largec-'));
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`      worst element ${worst.element.toExponential(2)} of the bound 2e-6 |l| + 2e-7 (${worst.elementAt}); worst reduced value ${worst.value.toExponential(2)} relative (${worst.valueAt})`);
  });

  for (const c of cases) {
    it(`${c.id} ${JSON.stringify(c.shape)}${c.classLast ? ' class-last' : ''}: value, every element, argmax and top confusions`, async function () {
      const npz = readNpz(new Uint8Array(fs.readFileSync(path.join(FIXTURES, c.file))));
      const x16 = npz.get('input');
      const target = npz.get('target');
      const loss = npz.get('loss').data as Float64Array;
      const predicted = npz.get('predicted').data;
      const weight = c.hasWeight ? npz.get('weight') : null;
      const x32: Tensor = { dtype: 'float32', shape: x16.shape, data: Float32Array.from(x16.data as ArrayLike<number>) };
      const f32File = path.join(tmp, `${c.id}-f32.npy`);
      const f16File = path.join(tmp, `${c.id}-f16.npy`);
      const tFile = path.join(tmp, `${c.id}-t.npy`);
      fs.writeFileSync(f32File, encodeNpy(x32));
      fs.writeFileSync(f16File, encodeNpy(x16));
      fs.writeFileSync(tFile, encodeNpy(target));
      const C = c.classLast ? c.shape[c.shape.length - 1] : c.shape[1];
      const sources: Array<[string, TensorSource, TensorSource]> = [
        ['in-memory float32', { kind: 'tensor', tensor: x32 }, { kind: 'tensor', tensor: target }],
        ['float32 .npy', { kind: 'file', path: f32File }, { kind: 'file', path: tFile }],
        ['float16 .npy', { kind: 'file', path: f16File }, { kind: 'file', path: tFile }],
      ];
      for (const [how, input, tgt] of sources) {
        for (const reduction of ['mean', 'sum'] as const) {
          const req: EngineRequest = {
            input, target: tgt, weight: weight ? { kind: 'tensor', tensor: weight } : null,
            options: { reduction, labelSmoothing: c.labelSmoothing, classDim: c.classLast ? -1 : 1 },
          };
          const r = await engine.compute(req);
          const where = `${c.id}, ${how}, ${reduction}`;
          assert.equal(r.engine, 'wasm-simd', `${where}: took the ${r.engine} path`);
          const want = reduction === 'mean' ? c.mean : c.sum;
          const rel = Math.abs(r.value! - want) / Math.abs(want);
          if (rel > worst.value) Object.assign(worst, { value: rel, valueAt: where });
          assert.ok(simdValueOk(r.value!, want), `${where}: ${r.value} vs PyTorch ${want} (relative ${rel.toExponential(2)} > 2e-6)`);
          if (reduction === 'sum') continue;
          const maps = r.maps!;
          assert.equal(maps.loss.length, loss.length);
          for (let i = 0; i < loss.length; i++) {
            const share = boundShare(maps.loss[i], loss[i]);
            if (share > worst.element) Object.assign(worst, { element: share, elementAt: `${where}, element ${i}: ${maps.loss[i]} vs ${loss[i]}` });
            if (!simdElementOk(maps.loss[i], loss[i])) assert.fail(`${where}: element ${i}: ${maps.loss[i]} vs PyTorch ${loss[i]} (${share.toFixed(2)} x the bound 2e-6 |l| + 2e-7)`);
            if (target.data[i] !== -100 && maps.predicted[i] !== predicted[i]) assert.fail(`${where}: argmax of element ${i}: ${maps.predicted[i]} vs PyTorch ${predicted[i]}`);
          }
          assert.equal(r.stats.confusion.length, C <= CONFUSION_MATRIX_MAX_CLASSES ? C * C : 0, `${where}: confusion size`);
          assert.deepEqual(r.stats.topConfusions, expectedTop(target.data, predicted), `${where}: top confusions`);
        }
      }
    });
  }
});
