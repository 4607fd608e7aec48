// Hover and selection jobs on text in shared memory (see SharedText in src/protocol.ts): the host never
// copies a large document in one piece, and never receives a large index. A worker scans a document once
// per version, keeps the index, and answers each hover with the few spans it needs.
import { workerScanLimits } from '../../hover/limits';
import { hoverReport, type HoverReport } from '../../hover/report';
import { PairFinder, literalRange, literalsToWarm, lookupAt, scanDocument, type HoverTarget, type LiteralIndex, type WarmLiteral } from '../../hover/scan';
import { findTensorLiterals } from '../../tensor/text/printed';
import type { FoundLiteral, WorkerRequest } from '../../protocol';
import { readShared } from '../engine/sharedText';

interface CachedIndex {
  readonly key: string;
  readonly index: LiteralIndex;
  readonly pairs: PairFinder;
}

/** Indexes of the last documents this worker scanned: a hover usually lands on the worker that scanned. */
const KEPT_INDEXES = 2;
const kept: CachedIndex[] = [];

function indexFor(msg: Extract<WorkerRequest, { kind: 'hover-lookup' }>): CachedIndex {
  const hit = kept.find((c) => c.key === msg.key);
  if (hit !== undefined) return hit;
  const index = scanDocument(readShared(msg.text), msg.syntax, workerScanLimits());
  const entry: CachedIndex = { key: msg.key, index, pairs: new PairFinder(index) };
  kept.push(entry);
  if (kept.length > KEPT_INDEXES) kept.shift();
  return entry;
}

export function hoverLookup(msg: Extract<WorkerRequest, { kind: 'hover-lookup' }>): { target: HoverTarget; warm: WarmLiteral[] } {
  const c = indexFor(msg);
  const target: HoverTarget = msg.offset === null ? { kind: 'none' } : lookupAt(c.index, msg.offset, c.pairs);
  const warm = msg.warm === null ? [] : literalsToWarm(c.index, msg.warm.minChars, msg.warm.max, c.pairs);
  return { target, warm };
}

export function hoverReportShared(msg: Extract<WorkerRequest, { kind: 'hover-report-shared' }>): HoverReport {
  const literals = msg.spans.map((s) => {
    const r = literalRange(s);
    return { text: readShared(msg.text, r.start, r.end), syntax: s.syntax, name: s.name };
  });
  return hoverReport({ ...msg.request, literals });
}

export function findLiteralsShared(msg: Extract<WorkerRequest, { kind: 'find-literals' }>): FoundLiteral[] {
  return findTensorLiterals(readShared(msg.text)).map((f) =>
    'tensor' in f ? { start: f.start, end: f.end, tensor: f.tensor } : { start: f.start, end: f.end, error: { kind: f.error.kind, message: f.error.message } },
  );
}
