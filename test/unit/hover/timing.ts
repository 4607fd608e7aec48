// Timing helpers for the cost tests: medians of a few runs, and "linear, not quadratic" as the time at 4n
// against the time at n. Loaded 2-core machines stretch times unevenly, so ratios get a floor and a wide
// margin: a linear pass takes about 4x at 4n and a quadratic one about 16x.
import * as assert from 'node:assert/strict';

/** CPU time of this process in milliseconds (user and system). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Median CPU and wall time of `run`. The CPU time is the work done: on a machine shared with other jobs,
 * wall time also counts the slices in which this process was not running at all.
 */
export function medianWork(run: () => void, runs = 5): { readonly cpu: number; readonly wall: number } {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let k = 0; k < runs; k++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
    cpu.push(cpuMs() - c0);
  }
  const mid = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1];
  return { cpu: mid(cpu), wall: mid(wall) };
}

export function medianMs(run: () => void, runs = 3): number {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/**
 * Asserts that `run` on make(4n) takes less than 8 times as long as on make(n), the time at n counted as
 * at least `floorMs` (so that noise on a fast small case cannot fail it).
 */
export function assertLinear(label: string, make: (n: number) => string, run: (text: string) => void, n: number, floorMs = 25): void {
  const small = make(n);
  const large = make(4 * n);
  run(small); // compiled before it is timed
  const a = medianMs(() => run(small));
  const b = medianMs(() => run(large));
  const ratio = b / Math.max(a, floorMs);
  assert.ok(ratio < 8, `${label}: ${a.toFixed(1)} ms at ${small.length} characters, ${b.toFixed(1)} ms at ${large.length} (${ratio.toFixed(1)}x for 4x the text)`);
}
