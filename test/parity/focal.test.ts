// Focal and sigmoid-focal parity with PyTorch/torchvision (fixtures from test/parity/generators/generate_focal.py in
// test/fixtures/parity-focal): every case through the reference kernel, through the Engine (in memory, from
// .npy files, and from .npy files streamed in blocks of samples) and through the CLI as a process
// (--json and --out).
//
// Expected values are PyTorch's only: expected_loss (reduction='none', float64), the reduced value,
// F.cross_entropy's value beside focal (ceValue), and per-class counts, focal loss sums and mean plain
// cross-entropy (ceMean). Bounds: the float64 paths (kernel, the Engine's 'typescript' path) within the
// reference comparator's 1e-9 * max(1, |want|); a 'wasm-simd' result (focal on logits with class-index
// targets) within 2e-5 relative, its elements within the SIMD kernels' 2e-6 |want| + 2e-7 (simdBound.ts);
// the float64 path's --out map is float32, so within float32 rounding. NaN matches only NaN and infinities
// match exactly.
//
// The Engine and the CLI come from a built dist folder: dist/ (npm run build), or the folder named by
// CROSS_ENTROPY_LENS_DIST (a private build). The CLI part is skipped when that folder has no cli.js.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../src/errors';
import { computeLoss } from '../../src/kernel/index';
import type { LossResult } from '../../src/kernel/types';
import { decodeNpy, encodeNpy } from '../../src/tensor/binary/npy';
import { readNpz } from '../../src/tensor/binary/npz';
import { numel, type Tensor } from '../../src/tensor/tensor';
import { Engine, type EngineRequest, type EngineResult, type TensorSource } from '../../src/worker/engine/engine';
import { wholeMaps } from '../../src/worker/engine/resultMaps';
import { close, fromJson, type JsonNumber } from './fixtures';
import { simdElementOk } from './simdBound';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'parity-focal');
const DIST = process.env.CROSS_ENTROPY_LENS_DIST ? path.resolve(process.env.CROSS_ENTROPY_LENS_DIST) : path.join(REPO, 'dist');

interface FocalOptions {
  readonly loss: 'focal' | 'sigmoid-focal';
  readonly reduction: 'none' | 'mean' | 'sum';
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly inputKind: 'logits' | 'probs' | 'log-probs';
  readonly classDim: number;
  readonly gamma: number;
  readonly alpha: number;
}

interface ComputedExpect {
  readonly value: JsonNumber | null;
  /** focal: F.cross_entropy with the same weight, ignore_index and reduction. */
  readonly ceValue?: JsonNumber | null;
  readonly perClass?: { readonly count: readonly number[]; readonly lossSum: readonly JsonNumber[]; readonly ceMean: readonly JsonNumber[] };
}

interface ErrorExpect {
  readonly error: string;
  readonly mustMention: readonly string[];
}

interface FocalCase {
  readonly id: string;
  readonly file: string;
  readonly options: FocalOptions;
  readonly hasWeight: boolean;
  readonly expect: ComputedExpect | ErrorExpect;
}

const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8')) as { readonly torch: string; readonly torchvision: string; readonly cases: readonly FocalCase[] };

function isError(e: ComputedExpect | ErrorExpect): e is ErrorExpect {
  return typeof (e as ErrorExpect).error === 'string';
}

interface Loaded {
  readonly input: Tensor;
  readonly target: Tensor;
  readonly weight: Tensor | null;
  readonly expectedLoss: Tensor | null;
}

function load(c: FocalCase): Loaded {
  const npz = readNpz(new Uint8Array(fs.readFileSync(path.join(FIXTURES, c.file))), c.file);
  const names = new Set(npz.members.map((m) => m.name));
  return {
    input: npz.get('input'),
    target: npz.get('target'),
    weight: c.hasWeight ? npz.get('weight') : null,
    expectedLoss: names.has('expected_loss') ? npz.get('expected_loss') : null,
  };
}

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined ? String(v) : Number.isFinite(v) ? v.toPrecision(17) : String(v);
}

type Bound = (got: number, want: number) => boolean;

const float64Bound: Bound = close;

/** The SIMD kernel's documented bound on reduced values (2e-5 relative), elements within 1e-5. */
const simdBound: Bound = (got, want) => (Number.isFinite(want) ? Math.abs(got - want) <= 2e-5 * Math.max(1e-30, Math.abs(want)) || close(got, want) : close(got, want));

/** A float64 value written as float32 (--out): its rounding, or flushed to 0 below float32's range. */
const float32Bound: Bound = (got, want) => {
  if (!Number.isFinite(want)) return close(got, want);
  if (Math.abs(want) < 1.2e-38) return Math.abs(got) < 1.2e-38;
  return Math.abs(got - want) <= 1e-7 * Math.abs(want) || close(got, want);
};

/** What a computed result must match; problems as lines. */
interface Computed {
  readonly value: number | null;
  readonly ceValue?: number | null;
  readonly lossShape: readonly number[];
  readonly map: ArrayLike<number> | null;
  readonly perClass: readonly { readonly index: number; readonly count: number; readonly lossSum: number; readonly ceMean?: number }[];
}

function checkComputed(r: Computed, c: FocalCase, want: Tensor, bound: Bound, mapBound: Bound): string[] {
  const e = c.expect as ComputedExpect;
  const problems: string[] = [];
  if (JSON.stringify(r.lossShape) !== JSON.stringify(want.shape)) problems.push(`lossShape ${JSON.stringify(r.lossShape)}, PyTorch ${JSON.stringify(want.shape)}`);
  if (e.value === null) {
    if (r.value !== null) problems.push(`value ${fmt(r.value)} for reduction 'none' (want null)`);
  } else if (r.value === null || !bound(r.value, fromJson(e.value))) {
    problems.push(`value (${c.options.reduction}): ${fmt(r.value)}, PyTorch ${fmt(fromJson(e.value))}`);
  }
  if (c.options.loss === 'focal') {
    if (e.ceValue === null || e.ceValue === undefined) {
      if (r.ceValue !== null) problems.push(`ceValue ${fmt(r.ceValue)} for reduction 'none' (want null)`);
    } else if (typeof r.ceValue !== 'number' || !bound(r.ceValue, fromJson(e.ceValue))) {
      problems.push(`ceValue: ${fmt(r.ceValue)}, F.cross_entropy ${fmt(fromJson(e.ceValue))}`);
    }
  } else if (r.ceValue !== undefined) {
    problems.push(`ceValue ${fmt(r.ceValue)} on ${c.options.loss} (focal only)`);
  }
  if (r.map) {
    const n = numel(want.shape);
    if (r.map.length !== n) problems.push(`loss map has ${r.map.length} elements, PyTorch ${n}`);
    else {
      let bad = 0;
      for (let i = 0; i < n; i++) {
        if (mapBound(r.map[i], want.data[i])) continue;
        if (++bad <= 5) problems.push(`element ${i}: ${fmt(r.map[i])}, PyTorch ${fmt(want.data[i])}`);
      }
      if (bad > 5) problems.push(`${bad} of ${n} elements differ in all`);
    }
  }
  if (e.perClass) {
    const pc = e.perClass;
    for (let k = 0; k < pc.count.length; k++) {
      const s = r.perClass.find((x) => x.index === k);
      if (!s) {
        problems.push(`no perClass entry for class ${k}`);
        continue;
      }
      if (s.count !== pc.count[k]) problems.push(`class ${k}: count ${s.count}, PyTorch ${pc.count[k]}`);
      if (!bound(s.lossSum, fromJson(pc.lossSum[k]))) problems.push(`class ${k}: lossSum ${fmt(s.lossSum)}, PyTorch ${fmt(fromJson(pc.lossSum[k]))}`);
      if (s.ceMean === undefined || !bound(s.ceMean, fromJson(pc.ceMean[k]))) problems.push(`class ${k}: ceMean ${fmt(s.ceMean)}, PyTorch ${fmt(fromJson(pc.ceMean[k]))}`);
    }
  }
  return problems;
}

function checkError(thrown: unknown, e: ErrorExpect, refKind: string | null): string[] {
  if (!(thrown instanceof LensError)) return [`threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}, not a LensError (PyTorch: ${e.error})`];
  const problems: string[] = [];
  if (refKind !== null && thrown.kind !== refKind) problems.push(`error kind ${thrown.kind}, the reference kernel's ${refKind}`);
  if (/[\r\n]/.test(thrown.message)) problems.push(`message is not one line: ${JSON.stringify(thrown.message)}`);
  for (const s of e.mustMention) {
    if (!thrown.message.toLowerCase().includes(s.toLowerCase())) problems.push(`message ${JSON.stringify(thrown.message)} does not mention ${JSON.stringify(s)} (PyTorch: ${e.error})`);
  }
  return problems;
}

function fromResult(r: LossResult | EngineResult): Computed {
  const map = 'lossMap' in r ? r.lossMap : r.maps ? r.maps.loss : null;
  return { value: r.value, ceValue: r.ceValue, lossShape: r.lossShape, map, perClass: r.stats.perClass };
}

const computedCases = manifest.cases.filter((c) => !isError(c.expect));
const errorCases = manifest.cases.filter((c) => isError(c.expect));

describe(`focal / sigmoid-focal parity with PyTorch ${manifest.torch} / torchvision ${manifest.torchvision}`, function () {
  this.timeout(300_000);

  it('has the fixtures the generator writes', () => {
    const focal = computedCases.filter((c) => c.options.loss === 'focal');
    const sigmoid = computedCases.filter((c) => c.options.loss === 'sigmoid-focal');
    assert.ok(focal.length >= 50 && sigmoid.length >= 30 && errorCases.length >= 10, `${focal.length} focal, ${sigmoid.length} sigmoid-focal, ${errorCases.length} error cases`);
    for (const g of [0, 0.5, 2, 5]) assert.ok(focal.some((c) => c.options.gamma === g) && sigmoid.some((c) => c.options.gamma === g), `gamma ${g}`);
    assert.ok(focal.some((c) => c.hasWeight) && focal.some((c) => c.options.inputKind === 'probs') && focal.some((c) => c.options.inputKind === 'log-probs'));
    assert.ok(sigmoid.some((c) => c.options.alpha < 0));
  });

  it('gamma 0 without weight is F.cross_entropy exactly (the fixtures say so, and so do we)', () => {
    let n = 0;
    for (const c of computedCases) {
      const e = c.expect as ComputedExpect;
      if (c.options.loss !== 'focal' || c.options.gamma !== 0 || c.hasWeight || e.value === null) continue;
      const l = load(c);
      const want = fromJson(e.ceValue!);
      assert.ok(close(fromJson(e.value), want), `${c.id}: fixture focal ${String(e.value)} vs F.cross_entropy ${String(e.ceValue)}`);
      const ce = computeLoss({ input: l.input, target: l.target, options: { ...c.options, loss: 'ce', gamma: 2 } });
      const focal = computeLoss({ input: l.input, target: l.target, options: c.options });
      assert.ok(Object.is(focal.value, ce.value) || (Number.isNaN(focal.value) && Number.isNaN(ce.value)), `${c.id}: focal ${fmt(focal.value)} vs ce ${fmt(ce.value)}`);
      n++;
    }
    assert.ok(n >= 3, `only ${n} such cases`);
  });

  describe('reference kernel (computeLoss)', () => {
    for (const c of manifest.cases) {
      it(`${c.id} ${c.options.loss} ${isError(c.expect) ? `raises: ${c.expect.error.slice(0, 60)}` : c.options.reduction}`, () => {
        const l = load(c);
        const req = { input: l.input, target: l.target, weight: l.weight, options: c.options };
        if (isError(c.expect)) {
          let thrown: unknown = null;
          try {
            computeLoss(req);
          } catch (e) {
            thrown = e;
          }
          const problems = thrown === null ? ['computed a loss where PyTorch raises'] : checkError(thrown, c.expect, null);
          if (problems.length) assert.fail(`${c.id}:\n  ${problems.join('\n  ')}`);
          return;
        }
        const problems = checkComputed(fromResult(computeLoss(req)), c, l.expectedLoss!, float64Bound, float64Bound);
        if (problems.length) assert.fail(`${c.id} ${JSON.stringify(l.input.shape)} ${l.input.dtype}:\n  ${problems.join('\n  ')}`);
      });
    }
  });

  describe('Engine: in memory, from .npy files, and from .npy files streamed in blocks of samples', () => {
    let engine: Engine;
    /** Streams any .npy input over 64 bytes in blocks of about 256 bytes of float64 samples. */
    let streaming: Engine;
    let tmp: string;
    let streamed = 0;
    before(() => {
      if (!fs.existsSync(path.join(DIST, 'worker.js'))) throw new Error(`${DIST}/worker.js missing: run npm run build first (npm test does), or set CROSS_ENTROPY_LENS_DIST`);
      engine = new Engine({ distDir: DIST, maxWorkers: 2 });
      streaming = new Engine({ distDir: DIST, maxWorkers: 2, inMemoryBytes: 64, blockBytes: 256 });
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-focal-parity-'));
    });
    after(async () => {
      await engine?.dispose();
      await streaming?.dispose();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    for (const c of manifest.cases) {
      it(`${c.id} ${c.options.loss} ${isError(c.expect) ? 'raises' : c.options.reduction}`, async () => {
        const l = load(c);
        const base = path.join(tmp, c.id);
        const write = (name: string, t: Tensor): TensorSource => {
          fs.writeFileSync(name, encodeNpy(t));
          return { kind: 'file', path: name };
        };
        const files = { input: write(`${base}-x.npy`, l.input), target: write(`${base}-t.npy`, l.target) };
        // The streamed route keeps no maps: its loss map is checked from the float32 file it writes.
        const routes: Array<{ name: string; engine: Engine; input: TensorSource; target: TensorSource; outFile?: string }> = [
          { name: 'in-memory', engine, input: { kind: 'tensor', tensor: l.input }, target: { kind: 'tensor', tensor: l.target } },
          { name: '.npy', engine, ...files },
          { name: '.npy streamed', engine: streaming, ...files, outFile: `${base}-loss.npy` },
        ];
        let refKind: string | null = null;
        try {
          computeLoss({ input: l.input, target: l.target, weight: l.weight, options: c.options });
        } catch (e) {
          if (e instanceof LensError) refKind = e.kind;
        }
        const problems: string[] = [];
        for (const route of routes) {
          const req: EngineRequest = {
            input: route.input, target: route.target, weight: l.weight ? { kind: 'tensor', tensor: l.weight } : null, options: c.options, outFile: route.outFile,
          };
          if (isError(c.expect)) {
            let thrown: unknown = null;
            try {
              const r = await route.engine.compute(req);
              problems.push(`${route.name}: returned ${fmt(r.value)} where PyTorch raises: ${c.expect.error}`);
            } catch (e) {
              thrown = e;
            }
            if (thrown !== null) problems.push(...checkError(thrown, c.expect, refKind).map((p) => `${route.name}: ${p}`));
            continue;
          }
          const r = await route.engine.compute(req);
          if (r.streamed) streamed++;
          const simd = r.engine !== 'typescript';
          const bound = simd ? simdBound : float64Bound;
          // A result that keeps no maps computes them when asked (sigmoid focal): check those.
          if (r.maps === null && !r.streamed && !r.mapsOnDemand) problems.push(`${route.name}: neither kept maps nor maps on demand, and it did not stream`);
          const got = { ...fromResult(r), map: (await wholeMaps(r))?.loss ?? null };
          const written = route.outFile ? (decodeNpy(new Uint8Array(fs.readFileSync(route.outFile))).data as Float32Array) : null;
          const where = `${route.name} (${r.engine}${r.streamed ? ', streamed' : ''})`;
          problems.push(...checkComputed(got, c, l.expectedLoss!, bound, simd ? simdElementOk : bound).map((p) => `${where}: ${p}`));
          if (written) problems.push(...checkComputed({ ...got, map: written }, c, l.expectedLoss!, bound, simd ? simdElementOk : float32Bound).map((p) => `${where}, outFile: ${p}`));
        }
        if (problems.length) assert.fail(`${c.id} ${JSON.stringify(l.input.shape)} ${l.input.dtype}:\n  ${problems.join('\n  ')}`);
      });
    }

    it('streamed batched inputs in blocks (so block-by-block merging was checked)', () => {
      assert.ok(streamed >= 30, `only ${streamed} results streamed`);
    });
  });

  describe('CLI (dist/cli.js as a process: --json and --out)', () => {
    const CLI = path.join(DIST, 'cli.js');
    let tmp: string;
    before(function () {
      if (!fs.existsSync(CLI)) this.skip();
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-focal-cli-'));
    });
    after(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    const args = (c: FocalCase): string[] => {
      const o = c.options;
      const a = ['--loss', o.loss, '--reduction', o.reduction, '--gamma', String(o.gamma), '--class-dim', String(o.classDim), '--input-kind', o.inputKind];
      if (o.loss === 'sigmoid-focal') a.push('--alpha', String(o.alpha));
      else a.push('--ignore-index', String(o.ignoreIndex));
      if (o.labelSmoothing) a.push('--label-smoothing', String(o.labelSmoothing));
      return a;
    };

    for (const c of manifest.cases) {
      it(`${c.id} ${c.options.loss} ${isError(c.expect) ? 'exits 2' : c.options.reduction}`, () => {
        const l = load(c);
        const base = path.join(tmp, c.id);
        fs.writeFileSync(`${base}-x.npy`, encodeNpy(l.input));
        fs.writeFileSync(`${base}-t.npy`, encodeNpy(l.target));
        const extra: string[] = [];
        if (l.weight) {
          fs.writeFileSync(`${base}-w.npy`, encodeNpy(l.weight));
          extra.push('--weight', `${base}-w.npy`);
        }
        const out = `${base}-loss.npy`;
        const r = spawnSync(process.execPath, [CLI, `${base}-x.npy`, `${base}-t.npy`, ...args(c), ...extra, '--json', '--out', out], { encoding: 'utf8', timeout: 60_000 });
        if (isError(c.expect)) {
          assert.equal(r.status, 2, `exit ${r.status}; stdout ${r.stdout}; stderr ${r.stderr}`);
          const lines = r.stderr.split('\n').filter((x) => x !== '');
          assert.equal(lines.length, 1, r.stderr);
          assert.match(lines[0], /^error: /);
          for (const s of c.expect.mustMention) assert.ok(lines[0].toLowerCase().includes(s.toLowerCase()), `${lines[0]} does not mention ${s}`);
          return;
        }
        assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
        const j = JSON.parse(r.stdout) as {
          value: JsonNumber | null; ceValue?: JsonNumber | null; lossShape: number[]; loss: string; engine: string;
          perClass: Array<{ index: number; count: number; lossSum: JsonNumber; ceMean?: JsonNumber }>;
        };
        assert.equal(j.loss, c.options.loss);
        if (c.options.loss === 'focal') assert.ok('ceValue' in j, '--json has no ceValue for focal');
        const map = decodeNpy(new Uint8Array(fs.readFileSync(out)));
        assert.equal(map.dtype, 'float32');
        const computed: Computed = {
          value: j.value === null ? null : fromJson(j.value),
          ceValue: j.ceValue === undefined ? undefined : j.ceValue === null ? null : fromJson(j.ceValue),
          lossShape: j.lossShape,
          map: map.data as Float32Array,
          perClass: j.perClass.map((p) => ({ index: p.index, count: p.count, lossSum: fromJson(p.lossSum), ...(p.ceMean === undefined ? {} : { ceMean: fromJson(p.ceMean) }) })),
        };
        assert.deepEqual(map.shape, l.expectedLoss!.shape);
        const simd = j.engine !== 'typescript';
        const problems = checkComputed(computed, c, l.expectedLoss!, simd ? simdBound : float64Bound, simd ? simdElementOk : float32Bound);
        if (problems.length) assert.fail(`${c.id}:\n  ${problems.join('\n  ')}`);
      });
    }
  });
});
