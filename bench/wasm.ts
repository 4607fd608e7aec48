// Times the WebAssembly SIMD kernel (one thread, whole tensor, argmax + statistics included; logits in rows
// and in the 16-pixel block layout the engine keeps file inputs in) against PyTorch's
// F.cross_entropy on one CPU thread, in one run on the same data, and reports the largest per-element error
// against PyTorch in float64. Usage: npx tsx bench/wasm.ts [--n 8 --c 21 --hw 512 --rounds 5 --json]
// Needs dist/ce.wasm (node scripts/build-wasm.mjs; $CEL_WASM_DIR overrides dist) and /usr/bin/python3 with
// torch for the comparison.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockedLength, ceAccLength, instantiateCeKernel, simdSupported } from '../src/kernel/wasmKernel';
import { decodeNpy, encodeNpy } from '../src/tensor/npy';
import { TorchChild } from './torchChild';
import { xorshift } from './random';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const N = arg('n', 8);
const C = arg('c', 21);
const HW = arg('hw', 512);
const S = HW * HW;
const ROUNDS = arg('rounds', 5);
const asJson = process.argv.includes('--json');
const IGNORE = 255;

const wasmPath = path.join(process.env.CEL_WASM_DIR ?? path.join(__dirname, '..', 'dist'), 'ce.wasm');
if (!fs.existsSync(wasmPath)) {
  console.error(`${wasmPath} is missing: run node scripts/build-wasm.mjs first`);
  process.exit(1);
}
if (!simdSupported()) {
  console.error('this engine has no WebAssembly SIMD');
  process.exit(1);
}

// Deterministic pseudo-random data, the same generator as bench/bench.ts.
const rnd = xorshift();

// Memory layout: reserved | logits | targets | loss | pred | weight | acc | confusion | logits in 16-pixel
// blocks, 64-byte aligned.
const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
const align = (n: number): number => Math.ceil(n / 64) * 64;
const reserve = 1 << 16;
const xOff = reserve;
const tOff = align(xOff + N * C * S * 4);
const lossOff = align(tOff + N * S * 4);
const predOff = align(lossOff + N * S * 4);
const wOff = align(predOff + N * S * 4);
const accOff = align(wOff + C * 4);
const confOff = align(accOff + ceAccLength(C) * 8);
const blockOff = align(confOff + C * C * 8);
const perBlocked = blockedLength(C, S);
const end = blockOff + N * perBlocked * 4;
const pages = Math.ceil(end / 65536);
const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
const k = instantiateCeKernel(module, memory);
if (k.reservedBytes > reserve) throw new Error(`kernel reserves ${k.reservedBytes} bytes`);
const buf = memory.buffer;
const logits = new Float32Array(buf, xOff, N * C * S);
for (let i = 0; i < logits.length; i++) logits[i] = (rnd() - 0.5) * 8;
const target = new Int32Array(buf, tOff, N * S);
for (let i = 0; i < target.length; i++) target[i] = rnd() < 0.05 ? IGNORE : Math.floor(rnd() * C);
const weight = new Float32Array(buf, wOff, C);
for (let c = 0; c < C; c++) weight[c] = 0.5 + rnd();
const acc = new Float64Array(buf, accOff, ceAccLength(C));
const conf = new Float64Array(buf, confOff, C * C);
const loss = new Float32Array(buf, lossOff, N * S);
k.toBlocks(xOff, blockOff, C, S, N, 0, C);

function best(fn: () => void, reps = 3): number {
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    b = Math.min(b, (performance.now() - t0) / 1000);
  }
  return b;
}

interface Variant {
  w: boolean;
  eps: number;
  pred: boolean;
  confusion: boolean;
  /** The 16-pixel block layout (ceIndexF32Blocked), as the engine keeps file inputs. */
  blocked?: boolean;
}
function runOurs(v: Variant): void {
  acc.fill(0);
  conf.fill(0);
  for (let n = 0; n < N; n++) {
    const ce = v.blocked ? k.ceIndexF32Blocked : k.ceIndexF32;
    const r = ce(v.blocked ? blockOff + n * perBlocked * 4 : xOff + n * C * S * 4, tOff + n * S * 4, v.w ? wOff : 0, C, S, 0, S, IGNORE, v.eps,
      lossOff + n * S * 4, v.pred ? predOff + n * S * 4 : 0, accOff, v.confusion ? confOff : 0);
    if (r !== -1) throw new Error(`bad target at ${r}`);
  }
}
const plain: Variant = { w: false, eps: 0, pred: true, confusion: true };

function timeOurs(v: Variant): number {
  const t0 = performance.now();
  runOurs(v);
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  runOurs(plain); // warm-up: compiles the optimised tier
  let ours = Infinity;
  let oursBlocked = Infinity;
  const blockedRatios: number[] = [];
  let torch1: number | null = null;
  let maxAbsErr: number | null = null;
  const ratios: number[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-wasm-bench-'));
  try {
    fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy({ dtype: 'float32', shape: [N, C, HW, HW], data: logits }));
    fs.writeFileSync(path.join(dir, 't.npy'), encodeNpy({ dtype: 'int64', shape: [N, HW, HW], data: target }));
    const torch = new TorchChild(dir, IGNORE);
    if (await torch.ready()) {
      // Alternate the two so both see the same machine (other processes come and go); best of each.
      torch1 = Infinity;
      for (let r = 0; r < ROUNDS; r++) {
        const a = timeOurs(plain);
        const a2 = timeOurs({ ...plain, blocked: true });
        const b = await torch.time(1);
        ours = Math.min(ours, a);
        oursBlocked = Math.min(oursBlocked, a2);
        torch1 = Math.min(torch1, b);
        ratios.push(a / b);
        blockedRatios.push(a2 / b);
      }
      await torch.reference();
      const ref = decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'ref.npy')))).data;
      maxAbsErr = 0;
      for (const blocked of [false, true]) {
        runOurs({ ...plain, blocked });
        for (let i = 0; i < loss.length; i++) maxAbsErr = Math.max(maxAbsErr, Math.abs(loss[i] - ref[i]));
      }
    } else if (!asJson) {
      console.log(`PyTorch not available (${torch.err.split('\n').filter(Boolean).pop() ?? 'no /usr/bin/python3'})`);
    }
    torch.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (torch1 === null) {
    ours = best(() => runOurs(plain), ROUNDS);
    oursBlocked = best(() => runOurs({ ...plain, blocked: true }), ROUNDS);
  }
  const lossOnly = best(() => runOurs({ ...plain, pred: false, confusion: false }));
  const weighted = best(() => runOurs({ ...plain, w: true }));
  const smoothed = best(() => runOurs({ ...plain, eps: 0.1 }));
  const smoothedWeighted = best(() => runOurs({ ...plain, w: true, eps: 0.1 }));
  const median = (v: number[]): number | null => (v.length ? [...v].sort((p, q) => p - q)[v.length >> 1] : null);
  const medianRatio = median(ratios);
  const medianBlockedRatio = median(blockedRatios);

  const result = {
    case: { shape: [N, C, HW, HW], dtype: 'float32', target: 'int32 (int64 for PyTorch), 5% = 255', ignoreIndex: IGNORE, reduction: 'none' },
    rounds: ROUNDS,
    wasm1_s: ours,
    wasm1Blocked_s: oursBlocked,
    torch1_s: torch1,
    ratio: torch1 === null ? null : ours / torch1,
    medianRoundRatio: medianRatio,
    blockedRatio: torch1 === null ? null : oursBlocked / torch1,
    medianRoundBlockedRatio: medianBlockedRatio,
    maxAbsErr,
    variants_s: { lossOnly, weighted, labelSmoothing: smoothed, weightedLabelSmoothing: smoothedWeighted },
  };
  if (asJson) {
    console.log(JSON.stringify(result));
    return;
  }
  const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;
  console.log(`F.cross_entropy [${N}, ${C}, ${HW}, ${HW}] float32, ignore_index ${IGNORE}, reduction none, 1 thread, best of ${ROUNDS} alternating rounds`);
  console.log(`  wasm SIMD (loss + argmax + stats + confusion): ${ms(ours)} in rows, ${ms(oursBlocked)} in 16-pixel blocks`);
  if (torch1 !== null) {
    console.log(`  PyTorch 1 thread:                             ${ms(torch1)}`);
    console.log(`  ratio wasm / torch: rows ${(ours / torch1).toFixed(3)}x (median of per-round ratios ${medianRatio?.toFixed(3)}x), blocks ${(oursBlocked / torch1).toFixed(3)}x (median ${medianBlockedRatio?.toFixed(3)}x)`);
    console.log(`  max |loss - float64 reference|: ${maxAbsErr?.toExponential(2)}`);
  }
  console.log(`  variants: loss only ${ms(lossOnly)}, weighted ${ms(weighted)}, label smoothing ${ms(smoothed)}, both ${ms(smoothedWeighted)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
