// Listing a tensor file through the engine's worker while watching this thread's event loop; run as a
// script in a fresh process (node --import tsx listingProbe.ts DIST FILE [FORMAT]) it prints what it saw as
// JSON.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Engine } from '../../../src/worker/engine/engine';
import type { ListingFormat } from '../../../src/worker/jobs/tensorListing';

/**
 * Watches this thread's event loop with a 5 ms timer: the longest gap between ticks, and the longest time
 * the loop was busy between two ticks (event loop utilization's `active`). On this 2-core machine other
 * processes and the worker itself take the CPU, which makes ticks late while the loop is idle; `active`
 * counts only time spent running this thread's callbacks, which is what a blocking parse would take.
 */
export function loopProbe(): () => { readonly gapMs: number; readonly busyMs: number; readonly delayMs: number } {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let last = performance.now();
  let lastElu = performance.eventLoopUtilization();
  let gapMs = 0;
  let busyMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    const elu = performance.eventLoopUtilization();
    gapMs = Math.max(gapMs, now - last);
    busyMs = Math.max(busyMs, performance.eventLoopUtilization(elu, lastElu).active);
    last = now;
    lastElu = elu;
  }, 5);
  return () => {
    clearInterval(tick);
    h.disable();
    return { gapMs, busyMs, delayMs: h.max / 1e6 };
  };
}

async function main(distDir: string, file: string, format: ListingFormat): Promise<void> {
  const engine = new Engine({ distDir, maxWorkers: 1 });
  try {
    const stop = loopProbe();
    const t0 = performance.now();
    let listing;
    let seen;
    try {
      listing = await engine.listTensorFile(file, format);
    } finally {
      seen = stop();
    }
    const ms = performance.now() - t0;
    process.stdout.write(JSON.stringify({ ms, ...seen, count: listing.tensors.length, omitted: listing.omitted, first: listing.tensors[0], lastName: listing.tensors[listing.tensors.length - 1]?.name }));
  } finally {
    await engine.dispose();
  }
}

if (process.argv[1]?.endsWith('listingProbe.ts')) {
  main(process.argv[2], process.argv[3], (process.argv[4] ?? 'safetensors') as ListingFormat).catch((e: unknown) => {
    process.stderr.write(String(e));
    process.exitCode = 1;
  });
}
