// Times the pure-TypeScript kernel against PyTorch (CPU, 1 thread) on one segmentation case, in one run on
// the same data. Usage: npm run bench [-- --n 2 --c 21 --hw 256 --json]. The full engine benchmark
// (workers, WebAssembly, streaming) extends this with its issue.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeLoss } from '../src/kernel/index';
import { decodeNpy, encodeNpy } from '../src/tensor/npy';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const N = arg('n', 2);
const C = arg('c', 21);
const HW = arg('hw', 256);
const asJson = process.argv.includes('--json');

// Deterministic pseudo-random data (xorshift), so runs compare.
let seed = 12345;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const logits = new Float32Array(N * C * HW * HW);
for (let i = 0; i < logits.length; i++) logits[i] = (rnd() - 0.5) * 8;
const target = new Int32Array(N * HW * HW);
for (let i = 0; i < target.length; i++) target[i] = rnd() < 0.05 ? 255 : Math.floor(rnd() * C);

const input = { dtype: 'float32' as const, shape: [N, C, HW, HW], data: logits };
const tgt = { dtype: 'int64' as const, shape: [N, HW, HW], data: target };
const opts = { ignoreIndex: 255, reduction: 'none' as const };

function best(fn: () => void, reps = 3): number {
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    b = Math.min(b, (performance.now() - t0) / 1000);
  }
  return b;
}

const pureTs = best(() => computeLoss({ input, target: tgt, options: opts }));

let torch1: number | null = null;
let maxAbsErr: number | null = null;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-bench-'));
try {
  fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(input));
  fs.writeFileSync(path.join(dir, 't.npy'), encodeNpy({ dtype: 'int64', shape: tgt.shape, data: target }));
  const py = `
import time, numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(1)
x = torch.from_numpy(np.load('${dir}/x.npy')); t = torch.from_numpy(np.load('${dir}/t.npy'))
best = 1e9
for _ in range(3):
    t0 = time.perf_counter(); l = F.cross_entropy(x, t, ignore_index=255, reduction='none'); best = min(best, time.perf_counter() - t0)
np.save('${dir}/l.npy', F.cross_entropy(x.double(), t, ignore_index=255, reduction='none').numpy())
print(best)
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  if (r.status === 0) {
    torch1 = Number(r.stdout.trim());
    const ref = decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'l.npy')))).data;
    const ours = computeLoss({ input, target: tgt, options: opts }).lossMap;
    maxAbsErr = 0;
    for (let i = 0; i < ours.length; i++) maxAbsErr = Math.max(maxAbsErr, Math.abs(ours[i] - ref[i]));
  } else if (!asJson) {
    console.log(`PyTorch not available (${(r.stderr || '').split('\n').filter(Boolean).pop() ?? 'no /usr/bin/python3'})`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const result = { case: { shape: input.shape, dtype: 'float32', ignoreIndex: 255, reduction: 'none' }, pureTs_s: pureTs, torch: { threads1_s: torch1 }, maxAbsErr };
if (asJson) console.log(JSON.stringify(result));
else {
  console.log(`case [${input.shape.join(', ')}] float32, int64 targets, 5% ignore_index=255, reduction none`);
  console.log(`  pure-TS kernel        ${pureTs.toFixed(3)} s`);
  if (torch1 !== null) console.log(`  PyTorch, 1 thread     ${torch1.toFixed(3)} s   (pure-TS / torch = ${(pureTs / torch1).toFixed(2)}x)`);
  if (maxAbsErr !== null) console.log(`  max |ours - torch float64| = ${maxAbsErr.toExponential(2)}`);
}
