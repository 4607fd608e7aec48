// Where hover and selection work runs, and how much of it one job may do. The extension host must stay
// responsive (no task over a few milliseconds, whatever the document), so it handles small texts only;
// the rest goes to the workers in shared memory, where one scan is bounded in time and in size.
import type { ScanLimits } from './scan';

/**
 * Documents up to this many characters are scanned for literals on the extension host. The scan is
 * linear; at this size the worst text (brackets that never match) takes about a millisecond, and stays
 * far under 50 ms on a loaded 2-core machine (test/unit/hover/hostLimits.test.ts). Larger documents go to
 * a worker, which costs a round trip of a millisecond or two.
 */
export const HOST_SCAN_CHARS = 16 * 1024;

/**
 * Texts up to this many characters are searched for printed tensors (Compute Loss from Selection, the
 * typed target) on the host. Smaller than HOST_SCAN_CHARS: every literal that cannot be read costs an
 * error with its message, and a text of ragged lists is nothing but those.
 */
export const HOST_FIND_CHARS = 4 * 1024;

/** Literal text up to this many characters (all literals of one hover) is parsed on the host. */
export const HOST_REPORT_CHARS = 32 * 1024;

/** Characters the host reads from a document and copies into shared memory per task. */
export const SHARE_SLICE_CHARS = 256 * 1024;

/** One worker scan gives up after this long (a 64 MiB document scans in a few seconds). */
export const WORKER_SCAN_MS = 20_000;

/** ... beyond this many literals and paths (a few hundred bytes of worker heap each, kept per document)... */
export const WORKER_SCAN_ENTRIES = 1_000_000;

/** ... and beyond brackets nested this deep (no real document comes near; each open one holds a frame). */
export const WORKER_SCAN_DEPTH = 100_000;

/** The limits of a worker scan starting now. */
export function workerScanLimits(now: number = performance.now()): ScanLimits {
  return { deadline: now + WORKER_SCAN_MS, maxEntries: WORKER_SCAN_ENTRIES, maxDepth: WORKER_SCAN_DEPTH };
}
