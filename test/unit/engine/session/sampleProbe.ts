// A class-last sample's probabilities through a LossSession while watching this thread's event loop; run as
// a script in a fresh process (node --import tsx sampleProbe.ts DIST INPUT TARGET OUT_DIR SAMPLE) it prints
// what it saw as JSON and writes the sample's probabilities (C, S) and p(target) as .npy files into OUT_DIR.
// In a fresh process because a test runner's heap, after many tests, collects garbage for 100-200 ms at a
// time whatever the session does.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sampleGeometry, sampleTensor } from '../../../../src/kernel/sample/sampleView';
import { resolveOptions } from '../../../../src/kernel/options';
import { encodeNpy } from '../../../../src/tensor/binary/npy';
import { Engine } from '../../../../src/worker/engine/engine';
import { readTensorFile } from '../../../../src/worker/files/readTensorFile';
import { LossSession } from '../../../../src/worker/engine/session';
import { loopProbe } from '../../hostile/listingProbe';

async function main(distDir: string, input: string, target: string, outDir: string, n: number): Promise<void> {
  // The extension's engine settings (src/extension.ts), so the session behaves as the panel's does.
  const engine = new Engine({ distDir, maxWorkers: 2, streamFilesOverBytes: 32 << 20, blockBytes: 16 << 20, keepStreamedMapsBytes: 512 << 20 });
  try {
    const s = await LossSession.open(engine, { input: { kind: 'file', path: input }, target: { kind: 'file', path: target }, options: { classDim: -1 } });
    const stop = loopProbe();
    const t0 = performance.now();
    let seen;
    let maps;
    let classes;
    try {
      maps = await s.sampleMapsWithProbs(n);
      classes = await s.classMaps(n);
    } finally {
      seen = stop();
    }
    const ms = performance.now() - t0;
    // Control: what the host thread spent before, reading the whole file and moving the class axis here.
    const stopControl = loopProbe();
    const c0 = performance.now();
    const o = resolveOptions({ classDim: -1 });
    const old = sampleTensor(readTensorFile(input, 'input'), n, o, sampleGeometry(s.result));
    const syncMs = performance.now() - c0;
    await new Promise((r) => setTimeout(r, 10));
    const control = { ms: performance.now() - c0, syncMs, ...stopControl(), values: old.length };
    fs.writeFileSync(path.join(outDir, 'probs.npy'), encodeNpy({ dtype: 'float32', shape: [s.geometry.C, ...classes.shape], data: classes.probs }));
    fs.writeFileSync(path.join(outDir, 'ptarget.npy'), encodeNpy({ dtype: 'float32', shape: [...maps.shape], data: maps.pTarget ?? new Float32Array(0) }));
    process.stdout.write(JSON.stringify({ ms, ...seen, shape: classes.shape, C: s.geometry.C, top1: maps.confidence ? Array.from(maps.confidence.top1) : null, control }));
  } finally {
    await engine.dispose();
  }
}

if (process.argv[1]?.endsWith('sampleProbe.ts')) {
  main(process.argv[2], process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6])).catch((e: unknown) => {
    process.stderr.write(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  });
}
