// Parity with PyTorch where users see it (issue 13): every committed fixture of test/fixtures/parity
// (computed and error cases) through the Engine itself — one shared Engine with 2 workers — from in-memory
// tensors, from .npy files in C order and native byte order, and, where the fixture stores a member
// big-endian or in Fortran order, from .npy files written that way too. Weights and pos_weight go as tensors.
//
// Expected values are PyTorch's only: the fixture's reduction='none' output (expected_loss, float64), its
// reduced value, and per class the count, the loss sum and the argmax count. Bounds, by the path the engine
// reports (engineCheck.ts):
// - 'wasm-simd' (float32 kernel): each element within 2e-6 |want| + 2e-7 (the bound src/wasm/ce.ts documents
//   and test/unit/wasm measures; relative for all but the smallest losses, so a confident prediction's loss
//   of 1e-3 may be off by 2e-6 of it, not by 1%), the reduced value within 2e-6 relative, a class's loss sum
//   within the element bound summed over its elements;
// - 'typescript' (the float64 reference kernel in workers): the reference comparator's 1e-9 bound.
// NaN matches only NaN and infinities match exactly on both paths. Errors: a one-line LensError of the
// same kind as the reference kernel's, naming what PyTorch's message names (the fixture's mustMention).
//
// Which path each case took is tallied per source and printed; float32/float16 logits with integer
// class-index targets, at least one class, two or more axes and the class axis 1 or last (C order) must
// take 'wasm-simd' — in memory and from files alike (unbatched 1-D inputs, a class axis between the first
// and the last, and inputs without classes take the reference kernel by design: see planFast).
//
// Second part: the 16-pixel block layout. Fixtures hold a few pixels per sample, below the 64 the file
// path needs to lay logits out in 16-pixel blocks, so each eligible fixture (float32/float16 logits,
// integer targets, [N, C, d1..dk] with the class axis 1) is tiled along its last axis until every sample
// has at least 64 pixels. PyTorch's loss is per element, so the tiled expected loss is the fixture's
// expected_loss tiled the same way, the sum k times the fixture's sum and the mean the fixture's mean
// (numerator and denominator both scale by k). The layout is confirmed with the engine's own planner
// (planFast + fastLayout, what Engine.compute runs) besides result.engine === 'wasm-simd'.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../src/errors';
import { computeLoss } from '../../src/kernel/index';
import { resolveOptions } from '../../src/kernel/options';
import { encodeNpy } from '../../src/tensor/binary/npy';
import { readNpz, type NpzArchive } from '../../src/tensor/binary/npz';
import { isIntegerDType, numel, type Tensor } from '../../src/tensor/tensor';
import { Engine, type EngineRequest, type EngineResult, type TensorSource } from '../../src/worker/engine/engine';
import { closeFiles, planFast } from '../../src/worker/fast/fastPlan';
import { fastLayout } from '../../src/worker/fast/memoryLayout';
import { checkComputed, describeWorst, fmt, newWorst } from './engineCheck';
import { fromJson, isErrorExpect, loadManifest, type ComputedExpect, type ErrorExpect, type ParityCase } from './fixtures';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'parity');
const DIST = path.join(REPO, 'dist');
/** The file path keeps logits in 16-pixel blocks from this many pixels per sample (memoryLayout.ts). */
const BLOCKED_MIN_PIXELS = 64;

const manifest = loadManifest(FIXTURES);

/** The class axis of a logits input as PyTorch takes it, or null when it has none (0-d or 1-d). */
function classAxisOf(c: ParityCase, nd: number): number | null {
  if (nd < 2) return null;
  const a = c.options.classDim < 0 ? c.options.classDim + nd : c.options.classDim;
  return a >= 0 && a < nd ? a : null;
}

/**
 * Whether the engine must take its SIMD path for this case from this source: float32/float16 logits,
 * integer class-index targets, two or more axes, the class axis 1 or (C order) last, at least one class;
 * from files, input and target in the same order (a Fortran-order input only with the class axis 1).
 */
function mustBeFast(c: ParityCase, input: Tensor, target: Tensor, order: { input: boolean; target: boolean }): boolean {
  const nd = input.shape.length;
  const axis = classAxisOf(c, nd);
  if (c.options.loss !== 'ce' || c.options.inputKind !== 'logits') return false;
  if (input.dtype !== 'float32' && input.dtype !== 'float16') return false;
  if (!isIntegerDType(target.dtype) || axis === null) return false;
  if (input.shape[axis] < 1) return false;
  const inF = order.input && nd > 1;
  const tF = (order.target && target.shape.length > 1) || (inF && target.shape.length <= 1);
  if (inF !== tF) return false;
  return axis === 1 || (axis === nd - 1 && !inF);
}

interface Loaded {
  readonly npz: NpzArchive;
  readonly input: Tensor;
  readonly target: Tensor;
  readonly weight: Tensor | null;
  readonly posWeight: Tensor | null;
  readonly expectedLoss: Tensor | null;
}

function load(c: ParityCase): Loaded {
  const npz = readNpz(new Uint8Array(fs.readFileSync(path.join(FIXTURES, c.file))), c.file);
  const names = new Set(npz.members.map((m) => m.name));
  return {
    npz,
    input: npz.get('input'),
    target: npz.get('target'),
    weight: c.hasWeight ? npz.get('weight') : null,
    posWeight: c.hasPosWeight ? npz.get('pos_weight') : null,
    expectedLoss: names.has('expected_loss') ? npz.get('expected_loss') : null,
  };
}

/** How the fixture stores a member: byte order and Fortran order. */
function storedAs(npz: NpzArchive, name: string): { bigEndian: boolean; fortranOrder: boolean } {
  const h = npz.members.find((m) => m.name === name)!.header;
  return { bigEndian: !h.littleEndian && h.itemSize > 1, fortranOrder: h.fortranOrder && h.shape.length > 1 };
}

interface Route {
  readonly name: string;
  readonly input: TensorSource;
  readonly target: TensorSource;
  readonly fortran: { input: boolean; target: boolean };
}

/** The largest deviations the SIMD path showed (printed after the run). */
const worstSimd = newWorst();

/** The reference kernel's error for this request (its kind is what the engine must give too). */
function referenceError(l: Loaded, c: ParityCase): LensError {
  try {
    computeLoss({ input: l.input, target: l.target, weight: l.weight, posWeight: l.posWeight, options: c.options });
  } catch (e) {
    if (e instanceof LensError) return e;
    throw e;
  }
  throw new Error(`${c.id}: the reference kernel computes a loss where PyTorch raises`);
}

function checkError(thrown: unknown, expect: ErrorExpect, ref: LensError): string[] {
  if (!(thrown instanceof LensError)) {
    return [`threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}, not a LensError (PyTorch: ${expect.error})`];
  }
  const problems: string[] = [];
  if (thrown.kind !== ref.kind) problems.push(`error kind ${thrown.kind}, the reference kernel's ${ref.kind} (${JSON.stringify(thrown.message)})`);
  if (/[\r\n]/.test(thrown.message)) problems.push(`message is not one line: ${JSON.stringify(thrown.message)}`);
  for (const s of expect.mustMention ?? []) {
    if (!thrown.message.toLowerCase().includes(s.toLowerCase())) problems.push(`message ${JSON.stringify(thrown.message)} does not mention ${JSON.stringify(s)} (PyTorch: ${expect.error})`);
  }
  return problems;
}

/** Tiles the last axis k times: out[..., j] = t[..., j mod d]. */
function tileLast(t: Tensor, k: number): Tensor {
  const d = t.shape[t.shape.length - 1];
  const outer = numel(t.shape) / d;
  const data = new (t.data.constructor as new (n: number) => Tensor['data'])(outer * d * k);
  for (let o = 0; o < outer; o++) {
    const src = t.data.subarray(o * d, (o + 1) * d);
    for (let r = 0; r < k; r++) data.set(src, (o * k + r) * d);
  }
  return { dtype: t.dtype, shape: [...t.shape.slice(0, -1), d * k], data };
}

describe('PyTorch parity through the Engine (every fixture, in memory and from .npy files)', function () {
  this.timeout(120_000);
  let engine: Engine;
  let tmp: string;
  /** route -> engine path -> cases. */
  const tally = new Map<string, Map<string, number>>();
  let fastChecked = 0;
  const count = (route: string, p: string): void => {
    const m = tally.get(route) ?? new Map<string, number>();
    m.set(p, (m.get(p) ?? 0) + 1);
    tally.set(route, m);
  };

  before(() => {
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-engine-parity-'));
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
    const lines = [...tally.entries()].map(([route, m]) => `${route}: ${[...m.entries()].map(([p, n]) => `${n} ${p}`).join(', ')}`);
    console.log(`      engine paths taken (cases per source): ${lines.join('; ')}`);
    console.log(`      SIMD path: ${describeWorst(worstSimd)}`);
  });

  it('has computed and error fixtures', () => {
    assert.ok(manifest.cases.filter((c) => !isErrorExpect(c.expect)).length >= 300);
    assert.ok(manifest.cases.filter((c) => isErrorExpect(c.expect)).length >= 30);
  });

  for (const c of manifest.cases) {
    const what = isErrorExpect(c.expect) ? `raises like PyTorch: ${c.expect.error.slice(0, 60)}` : `${c.options.loss} ${c.options.reduction}`;
    it(`${c.id} (${what})`, async () => {
      const l = load(c);
      const base = path.join(tmp, c.id);
      const write = (name: string, t: Tensor, opts?: { bigEndian: boolean; fortranOrder: boolean }): string => {
        fs.writeFileSync(name, encodeNpy(t, opts));
        return name;
      };
      const routes: Route[] = [
        { name: 'in-memory', input: { kind: 'tensor', tensor: l.input }, target: { kind: 'tensor', tensor: l.target }, fortran: { input: false, target: false } },
        {
          name: '.npy',
          input: { kind: 'file', path: write(`${base}-x.npy`, l.input) },
          target: { kind: 'file', path: write(`${base}-t.npy`, l.target) },
          fortran: { input: false, target: false },
        },
      ];
      const si = storedAs(l.npz, 'input');
      const st = storedAs(l.npz, 'target');
      if (si.bigEndian || si.fortranOrder || st.bigEndian || st.fortranOrder) {
        routes.push({
          name: '.npy as stored',
          input: { kind: 'file', path: write(`${base}-xs.npy`, l.input, si) },
          target: { kind: 'file', path: write(`${base}-ts.npy`, l.target, st) },
          fortran: { input: si.fortranOrder, target: st.fortranOrder },
        });
      }
      const problems: string[] = [];
      for (const route of routes) {
        const req: EngineRequest = {
          input: route.input, target: route.target,
          weight: l.weight ? { kind: 'tensor', tensor: l.weight } : null,
          posWeight: l.posWeight ? { kind: 'tensor', tensor: l.posWeight } : null,
          options: c.options,
        };
        const expect = c.expect;
        if (isErrorExpect(expect)) {
          let r: EngineResult | null = null;
          let thrown: unknown = null;
          try {
            r = await engine.compute(req);
          } catch (e) {
            thrown = e;
          }
          count(route.name, 'error');
          if (r) problems.push(`${route.name}: returned ${fmt(r.value)} (${r.engine}) where PyTorch raises: ${expect.error}`);
          else problems.push(...checkError(thrown, expect, referenceError(l, c)).map((p) => `${route.name}: ${p}`));
          continue;
        }
        const r = await engine.compute(req);
        count(route.name, r.engine);
        if (mustBeFast(c, l.input, l.target, route.fortran)) {
          fastChecked++;
          if (r.engine !== 'wasm-simd') problems.push(`${route.name}: took the ${r.engine} path, not wasm-simd`);
        }
        problems.push(...checkComputed(r, expect, l.expectedLoss!, c.options.reduction, `${c.id} ${route.name}`, worstSimd).map((p) => `${route.name} (${r.engine}): ${p}`));
      }
      if (problems.length) assert.fail(`${c.id} ${JSON.stringify(l.input.shape)} ${l.input.dtype}, target ${l.target.dtype}:\n  ${problems.join('\n  ')}`);
    });
  }

  it('took the SIMD path for a good share of cases on every source', () => {
    for (const route of ['in-memory', '.npy']) {
      const n = tally.get(route)?.get('wasm-simd') ?? 0;
      assert.ok(n >= 100, `${route}: only ${n} cases took wasm-simd`);
    }
    assert.ok(fastChecked >= 200, `only ${fastChecked} case-sources were required to take wasm-simd`);
  });
});

describe('PyTorch parity through the Engine in the 16-pixel block layout (fixtures tiled to >= 64 pixels per sample)', function () {
  this.timeout(120_000);
  let engine: Engine;
  let tmp: string;
  let wasm: WebAssembly.Module;
  let ran = 0;

  /** Fixtures the file path lays out in blocks once tiled: float32/float16 logits [N, C, d1..dk], class axis 1. */
  const eligible = manifest.cases.filter((c) => {
    if (isErrorExpect(c.expect) || c.options.loss !== 'ce' || c.options.inputKind !== 'logits') return false;
    const { input, target } = load(c);
    const nd = input.shape.length;
    return (input.dtype === 'float32' || input.dtype === 'float16') && isIntegerDType(target.dtype) &&
      nd >= 3 && classAxisOf(c, nd) === 1 && input.shape[1] >= 1 && input.shape[0] >= 1 && numel(input.shape.slice(2)) >= 1;
  });

  before(() => {
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-engine-blocked-'));
    wasm = new WebAssembly.Module(fs.readFileSync(path.join(DIST, 'ce.wasm')));
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`      ${ran} fixtures ran tiled in the 16-pixel block layout; SIMD path so far: ${describeWorst(worstSimd)}`);
  });

  for (const c of eligible) {
    it(`${c.id} tiled (${c.options.reduction})`, async () => {
      const l = load(c);
      const S = numel(l.input.shape.slice(2));
      const k = Math.ceil(BLOCKED_MIN_PIXELS / S);
      const input = tileLast(l.input, k);
      const target = tileLast(l.target, k);
      const want = tileLast(l.expectedLoss!, k);
      const expect = c.expect as ComputedExpect;
      const xFile = path.join(tmp, `${c.id}-x.npy`);
      const tFile = path.join(tmp, `${c.id}-t.npy`);
      fs.writeFileSync(xFile, encodeNpy(input));
      fs.writeFileSync(tFile, encodeNpy(target));
      const req: EngineRequest = {
        input: { kind: 'file', path: xFile }, target: { kind: 'file', path: tFile },
        weight: l.weight ? { kind: 'tensor', tensor: l.weight } : null, options: c.options,
      };
      // The engine's own planner on this request: the file path, samples of S * k pixels, in blocks.
      const plan = planFast(req, resolveOptions(c.options), wasm);
      assert.ok(plan, `${c.id}: the planner sends the tiled fixture to the general path`);
      try {
        assert.equal(plan.S, S * k, `${c.id}: the plan's pixels per sample`);
        assert.ok(plan.S >= BLOCKED_MIN_PIXELS, `${c.id}: tiled to only ${plan.S} pixels per sample`);
        const layout = fastLayout(plan, { workers: 2, reservedBytes: 65536 });
        assert.ok(layout.blocked, `${c.id}: ${plan.S} pixels per sample but not in the block layout`);
      } finally {
        closeFiles(plan);
      }
      const r = await engine.compute(req);
      assert.equal(r.engine, 'wasm-simd', `${c.id}: took the ${r.engine} path`);
      assert.equal(r.streamed, false);
      // Tiling repeats every element k times: the sum is k times PyTorch's, the mean PyTorch's (numerator
      // and denominator both k times), the counts k times.
      const v = expect.value === null ? null : fromJson(expect.value);
      const tiled: ComputedExpect = {
        value: v === null ? null : c.options.reduction === 'sum' ? v * k : v,
        perClass: expect.perClass && {
          count: expect.perClass.count.map((x) => x * k),
          lossSum: expect.perClass.lossSum.map((x) => fromJson(x) * k),
          predicted: expect.perClass.predicted.map((x) => x * k),
        },
        confusion: expect.confusion?.map((x) => x * k),
      };
      const problems = checkComputed(r, tiled, want, c.options.reduction, `${c.id} tiled`, worstSimd);
      if (problems.length) assert.fail(`${c.id} tiled x${k} to ${JSON.stringify(input.shape)} ${input.dtype}:\n  ${problems.join('\n  ')}`);
      ran++;
    });
  }

  it('ran enough fixtures in the block layout', () => {
    assert.ok(ran >= 50, `only ${ran} tiled fixtures ran`);
  });
});
