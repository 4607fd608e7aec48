// The arithmetic anchor of npm run bench (issue #24): one thread, one SIMD pass over the logits computing
// exp of each with the pixel kernel's own degree-5 polynomial and summing them (src/wasm/anchor.ts, built
// here into a temporary folder: the extension never loads it). The kernel does this and more per
// logit, so its time over the anchor's says how far it is from what the machine can do.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

interface AnchorExports {
  expSum(p: number, n: number, deg5: number): number;
}

/** Best time of `reps` passes over `xs` (float32 logits), in seconds. */
export async function measureAnchor(xs: Float32Array, reps: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-anchor-'));
  try {
    const file = path.join(dir, 'anchor.wasm');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-wasm.mjs'), '--anchor', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the anchor failed: ${r.stderr}`);
    const at = 1024;
    const memory = new WebAssembly.Memory({ initial: Math.ceil((at + xs.byteLength) / 65536) + 1 });
    const inst = await WebAssembly.instantiate(new WebAssembly.Module(fs.readFileSync(file)), { env: { memory } });
    const anchor = inst.exports as unknown as AnchorExports;
    new Float32Array(memory.buffer, at, xs.length).set(xs);
    let best = Infinity;
    let sink = 0;
    for (let k = 0; k <= reps; k++) {
      const t0 = performance.now();
      sink += anchor.expSum(at, xs.length, 1);
      // The first pass warms the pages and the compiled code.
      if (k > 0) best = Math.min(best, (performance.now() - t0) / 1000);
    }
    if (!Number.isFinite(sink)) throw new Error('the anchor summed to a non-finite value');
    return best;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
