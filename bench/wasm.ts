// Times the WebAssembly SIMD kernel (one thread, whole tensor, argmax + statistics included; logits in rows
// and in the 16-pixel block layout the engine keeps file inputs in) against PyTorch's
// F.cross_entropy on one CPU thread, in one run on the same data, and reports the largest per-element error
// against PyTorch in float64. Usage: npx tsx bench/wasm.ts [--n 8 --c 21 --hw 512 --rounds 5 --json]
// Row mode (logits [rows, C], classes contiguous: classification, language models): --rows R --c C times
// ceRowsF32 (and ceRowsF16 / ceRowsBF16 on the same logits rounded to 2 bytes) against PyTorch on the f32
// [R, C] tensor, e.g. --rows 50000 --c 1000, --rows 4096 --c 50257, --rows 2048 --c 32000.
// Needs dist/ce.wasm (node scripts/build-wasm.mjs; $CEL_WASM_DIR overrides dist) and /usr/bin/python3 with
// torch for the comparison.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockedLength, ceAccLength, instantiateCeKernel, simdSupported, warmUpCeRows, type CeWasmKernel } from '../src/kernel/wasm/wasmKernel';
import { decodeNpy, encodeNpy, encodeNpyHeader } from '../src/tensor/binary/npy';
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

const ROWS = arg('rows', 0);

if (ROWS > 0) {
  rowMain().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else {
  segmentation();
}

function segmentation(): void {
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
}

/** float32 -> float16 bits, truncating the mantissa (bench data only; values below 2^-14 become 0). */
function toHalfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  if (exp < 113) return sign;
  if (exp > 142) return sign | 0x7c00;
  return sign | ((exp - 112) << 10) | ((bits >>> 13) & 0x3ff);
}

/** Writes a float32 .npy straight from the typed array (no second copy of a large tensor). */
function writeF32Npy(file: string, shape: number[], data: Float32Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, encodeNpyHeader('float32', shape));
    const chunk = 1 << 26;
    for (let off = 0; off < data.byteLength; off += chunk) {
      fs.writeSync(fd, new Uint8Array(data.buffer, data.byteOffset + off, Math.min(chunk, data.byteLength - off)));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Row mode: logits [ROWS, C] float32 (and the same values as float16 / bfloat16) against PyTorch. */
async function rowMain(): Promise<void> {
  const R = ROWS;
  // --c as given (the segmentation mode's default of 21 classes is no row case: 1000 then).
  const C = process.argv.includes('--c') ? arg('c', 1000) : 1000;
  const ROW_IGNORE = -100;
  const rnd = xorshift();
  const align = (n: number): number => Math.ceil(n / 64) * 64;
  const reserve = 1 << 16;
  const n = R * C;
  const xOff = reserve;
  const hOff = align(xOff + n * 4);
  const bOff = align(hOff + n * 2);
  const tOff = align(bOff + n * 2);
  const lossOff = align(tOff + R * 4);
  const predOff = align(lossOff + R * 4);
  const wOff = align(predOff + R * 4);
  const accOff = align(wOff + C * 4);
  const withConf = C <= 1024;
  const confOff = align(accOff + ceAccLength(C) * 8);
  const end = confOff + (withConf ? C * C * 8 : 0);
  const pages = Math.ceil(end / 65536);
  if (pages > 65536) throw new Error(`[${R}, ${C}] needs ${end} bytes: more than a 4 GiB wasm memory`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const k: CeWasmKernel = instantiateCeKernel(new WebAssembly.Module(fs.readFileSync(wasmPath)), memory);
  if (k.reservedBytes > reserve) throw new Error(`kernel reserves ${k.reservedBytes} bytes`);
  const buf = memory.buffer;
  const logits = new Float32Array(buf, xOff, n);
  for (let i = 0; i < n; i++) logits[i] = (rnd() - 0.5) * 8;
  const bits = new Uint32Array(buf, xOff, n);
  const half = new Uint16Array(buf, hOff, n);
  const bf = new Uint16Array(buf, bOff, n);
  for (let i = 0; i < n; i++) {
    half[i] = toHalfBits(bits[i]);
    bf[i] = bits[i] >>> 16;
  }
  const target = new Int32Array(buf, tOff, R);
  for (let i = 0; i < R; i++) target[i] = rnd() < 0.05 ? ROW_IGNORE : Math.floor(rnd() * C);
  const weight = new Float32Array(buf, wOff, C);
  for (let c = 0; c < C; c++) weight[c] = 0.5 + rnd();
  const acc = new Float64Array(buf, accOff, ceAccLength(C));
  const loss = new Float32Array(buf, lossOff, R);

  type Dt = 'float32' | 'float16' | 'bfloat16';
  interface V { dtype: Dt; w: boolean; eps: number; pred: boolean }
  const run = (v: V): number => {
    acc.fill(0);
    if (withConf) new Float64Array(buf, confOff, C * C).fill(0);
    const fn = v.dtype === 'float32' ? k.ceRowsF32 : v.dtype === 'float16' ? k.ceRowsF16 : k.ceRowsBF16;
    const x = v.dtype === 'float32' ? xOff : v.dtype === 'float16' ? hOff : bOff;
    const t0 = performance.now();
    const r = fn(x, tOff, v.w ? wOff : 0, C, R, 0, R, ROW_IGNORE, v.eps, lossOff, v.pred ? predOff : 0, accOff, withConf ? confOff : 0);
    const dt = (performance.now() - t0) / 1000;
    if (r !== -1) throw new Error(`bad target at row ${r}`);
    return dt;
  };
  const plain: V = { dtype: 'float32', w: false, eps: 0, pred: true };
  const dtypes: Dt[] = ['float32', 'float16', 'bfloat16'];
  // Optimised code before timing: the warm-up the engine does, then one whole run of each.
  warmUpCeRows(k, memory, dtypes);
  for (const dtype of dtypes) run({ ...plain, dtype });

  const ours: Record<Dt, number> = { float32: Infinity, float16: Infinity, bfloat16: Infinity };
  const ratios: number[] = [];
  let torch1: number | null = null;
  let maxAbsErr: number | null = null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-wasm-rows-'));
  try {
    writeF32Npy(path.join(dir, 'x.npy'), [R, C], logits);
    fs.writeFileSync(path.join(dir, 't.npy'), encodeNpy({ dtype: 'int64', shape: [R], data: target }));
    const torch = new TorchChild(dir, ROW_IGNORE);
    if (await torch.ready()) {
      torch1 = Infinity;
      for (let r = 0; r < ROUNDS; r++) {
        const a = run(plain);
        const a16 = run({ ...plain, dtype: 'float16' });
        const ab = run({ ...plain, dtype: 'bfloat16' });
        const b = await torch.time(1);
        ours.float32 = Math.min(ours.float32, a);
        ours.float16 = Math.min(ours.float16, a16);
        ours.bfloat16 = Math.min(ours.bfloat16, ab);
        torch1 = Math.min(torch1, b);
        ratios.push(a / b);
        if (!asJson) console.error(`  round ${r + 1}: wasm f32 ${(a * 1000).toFixed(1)} ms, f16 ${(a16 * 1000).toFixed(1)} ms, bf16 ${(ab * 1000).toFixed(1)} ms, torch ${(b * 1000).toFixed(1)} ms`);
      }
      await torch.reference();
      const ref = decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'ref.npy')))).data;
      run(plain);
      maxAbsErr = 0;
      for (let i = 0; i < R; i++) maxAbsErr = Math.max(maxAbsErr, Math.abs(loss[i] - ref[i]) / Math.max(1, Math.abs(ref[i])));
    } else if (!asJson) {
      console.log(`PyTorch not available (${torch.err.split('\n').filter(Boolean).pop() ?? 'no /usr/bin/python3'})`);
    }
    torch.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const best = (v: V, reps = 3): number => {
    let b = Infinity;
    for (let i = 0; i < reps; i++) b = Math.min(b, run(v));
    return b;
  };
  if (torch1 === null) for (const dtype of dtypes) ours[dtype] = best({ ...plain, dtype }, ROUNDS);
  const variants = {
    lossOnly: best({ ...plain, pred: false }),
    weighted: best({ ...plain, w: true }),
    labelSmoothing: best({ ...plain, eps: 0.1 }),
    weightedLabelSmoothing: best({ ...plain, w: true, eps: 0.1 }),
  };
  const sorted = [...ratios].sort((p, q) => p - q);
  const median = sorted.length ? sorted[sorted.length >> 1] : null;
  const result = {
    case: { shape: [R, C], dtype: 'float32 (and float16 / bfloat16 copies for ours)', target: 'int32 (int64 for PyTorch), 5% = -100', ignoreIndex: ROW_IGNORE, reduction: 'none', confusion: withConf },
    rounds: ROUNDS,
    wasm1_s: ours.float32,
    wasm1F16_s: ours.float16,
    wasm1BF16_s: ours.bfloat16,
    torch1_s: torch1,
    ratio: torch1 === null ? null : ours.float32 / torch1,
    medianRoundRatio: median,
    maxRelErr: maxAbsErr,
    nsPerLogit: (ours.float32 * 1e9) / n,
    variants_s: variants,
  };
  if (asJson) {
    console.log(JSON.stringify(result));
    return;
  }
  const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;
  console.log(`F.cross_entropy [${R}, ${C}] float32 (rows), ignore_index ${ROW_IGNORE}, reduction none, 1 thread, best of ${ROUNDS} alternating rounds`);
  console.log(`  wasm SIMD rows (loss + argmax + stats${withConf ? ' + confusion' : ''}): f32 ${ms(ours.float32)} (${result.nsPerLogit.toFixed(2)} ns/logit), f16 ${ms(ours.float16)}, bf16 ${ms(ours.bfloat16)}`);
  if (torch1 !== null) {
    console.log(`  PyTorch 1 thread (float32):                 ${ms(torch1)}`);
    console.log(`  ratio wasm f32 / torch: ${(ours.float32 / torch1).toFixed(3)}x (median of per-round ratios ${median?.toFixed(3)}x)`);
    console.log(`  max |loss - float64 reference| / max(1, |reference|): ${maxAbsErr?.toExponential(2)}`);
  }
  console.log(`  variants (f32): loss only ${ms(variants.lossOnly)}, weighted ${ms(variants.weighted)}, label smoothing ${ms(variants.labelSmoothing)}, both ${ms(variants.weightedLabelSmoothing)}`);
}
