// npx tsx bench/engineAB.ts BEFORE_ENGINE_TS BEFORE_DIST [workers] [rounds]: this checkout's engine against
// another's (a worktree of an earlier commit, built there with npm run build) in one process, alternating
// request by request on the same resident segmentation case ([8, 21, 512, 512] float32, 5% ignore_index 255),
// each pair of answers checked equal. On a shared machine two separate runs can differ by 1.5x; alternating
// in one process lets both see the same load. Example:
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s "$PWD/node_modules" . && npm run build)
//   npx tsx bench/engineAB.ts /tmp/before/src/worker/engine/engine.ts /tmp/before/dist 1 21
// (before the worker folder was split by concern, the engine was src/worker/engine.ts)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../src/tensor/binary/npy';
import { Engine } from '../src/worker/engine/engine';
import { segmentationCase, xorshift } from './random';

async function main(): Promise<void> {
  const [beforeModule, beforeDist, w = '1', r = '21'] = process.argv.slice(2);
  if (!beforeModule || !beforeDist) throw new Error('usage: engineAB.ts BEFORE_ENGINE_TS BEFORE_DIST [workers] [rounds]');
  const workers = Number(w);
  const rounds = Number(r);
  const { Engine: Before } = (await import(path.resolve(beforeModule))) as { Engine?: typeof Engine };
  if (typeof Before !== 'function') throw new Error(`${beforeModule} exports no Engine class`);
  const [N, C, H, W] = [8, 21, 512, 512];
  const { input, target } = segmentationCase(xorshift(), N, C, H, W);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-ab-'));
  try {
    fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(input));
    fs.writeFileSync(path.join(dir, 't.npy'), encodeNpy(target));
    const req = { input: { kind: 'file' as const, path: path.join(dir, 'x.npy') }, target: { kind: 'file' as const, path: path.join(dir, 't.npy') }, options: { ignoreIndex: 255, reduction: 'none' as const } };
    const after = new Engine({ distDir: path.resolve(__dirname, '../dist'), maxWorkers: workers });
    const before = new Before({ distDir: path.resolve(beforeDist), maxWorkers: workers });
    // Start the workers and read the files once: the timed requests find the input resident.
    await after.compute(req);
    await before.compute(req);
    const tA: number[] = [];
    const tB: number[] = [];
    const ratio: number[] = [];
    for (let k = 0; k < rounds; k++) {
      const a0 = performance.now();
      const ra = await after.compute(req);
      const a = performance.now() - a0;
      const b0 = performance.now();
      const rb = await before.compute(req);
      const b = performance.now() - b0;
      if (!ra.reusedInput || !rb.reusedInput) throw new Error('an input was read again');
      if (ra.numerator !== rb.numerator) throw new Error(`the engines disagree: ${ra.numerator} vs ${rb.numerator}`);
      tA.push(a);
      tB.push(b);
      ratio.push(a / b);
    }
    const med = (v: number[]): number => [...v].sort((p, q) => p - q)[v.length >> 1];
    console.log(JSON.stringify({
      workers, rounds, load: os.loadavg()[0],
      after_ms: { best: Math.min(...tA), median: med(tA) }, before_ms: { best: Math.min(...tB), median: med(tB) },
      medianRatio: med(ratio),
    }));
    await after.dispose();
    await before.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
