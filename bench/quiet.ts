// Whether this machine was quiet enough for the figures to mean what they say. At a 1-minute load average
// above 1 on a 2-core machine PyTorch's two threads lose more to the other processes than our workers do,
// so every ratio against PyTorch flatters us: the bench says so on stderr and in its JSON.
import * as os from 'node:os';

export const QUIET_LOAD = 1.0;

/** The warning for a run whose load average (1 min) was above QUIET_LOAD at its start or end; null if quiet. */
export function loadWarning(start: number, end: number = os.loadavg()[0]): string | null {
  const worst = Math.max(start, end);
  if (worst <= QUIET_LOAD) return null;
  return `warning: load average ${start.toFixed(2)} at the start, ${end.toFixed(2)} at the end (above ${QUIET_LOAD.toFixed(1)}): ratios against PyTorch flatter the engine; rerun on a quiet machine or report the load beside every figure`;
}

/** Writes the warning to stderr (so --json output stays one JSON object) and returns it. */
export function warnIfLoaded(start: number): string | null {
  const w = loadWarning(start);
  if (w !== null) process.stderr.write(`${w}\n`);
  return w;
}
