// Hover latency on a 10 MB JSON document (issue: answer within 300 ms, never block typing): the first
// hover pays the literal scan and the pair's parse + loss in a worker; a second hover on the same
// document version reuses the cached index and report on the host, so only the first is measured here.
import type { ReportRequest } from '../src/hover/report';
import { findPair, literalAt } from '../src/hover/scan';
import { Engine } from '../src/worker/engine/engine';
import { xorshift } from './random';

/** {"logits": (N, 10) floats, "labels": (N) ints}, about `mb` MB of text. */
export function bigJsonPair(mb: number): string {
  const r = xorshift();
  const rows: string[] = [];
  const labels: number[] = [];
  let size = 0;
  while (size < mb * 1e6) {
    const row = `[${Array.from({ length: 10 }, () => ((r() - 0.5) * 8).toFixed(5)).join(', ')}]`;
    rows.push(row);
    labels.push(Math.floor(r() * 10));
    size += row.length + 12;
  }
  return `{\n  "logits": [\n    ${rows.join(',\n    ')}\n  ],\n  "labels": ${JSON.stringify(labels)}\n}\n`;
}

export interface HoverTiming {
  readonly scan_ms: number;
  readonly report_ms: number;
  readonly total_ms: number;
  readonly jsonParse_ms: number;
}

export async function measureHover(distDir: string, reps: number): Promise<HoverTiming> {
  const doc = bigJsonPair(10);
  const e = new Engine({ distDir, maxWorkers: 2 });
  try {
    await e.hoverIndex('[1]', 'json'); // warm: VS Code keeps the pool started
    let best: HoverTiming | null = null;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const idx = await e.hoverIndex(doc, 'json');
      const t1 = performance.now();
      const pair = findPair(idx, literalAt(idx, doc.indexOf('"labels"') + 12)!)!;
      const req: ReportRequest = {
        literals: [pair.input, pair.target].map((s) => ({ text: doc.slice(s.listStart, s.listEnd), syntax: s.syntax, name: s.name })),
        hovered: 1,
        pair: { input: 0, target: 1, weight: null },
        options: {},
      };
      await e.hoverReport(req);
      const t2 = performance.now();
      const p0 = performance.now();
      JSON.parse(doc);
      const jsonParse_ms = performance.now() - p0;
      const t: HoverTiming = { scan_ms: t1 - t0, report_ms: t2 - t1, total_ms: t2 - t0, jsonParse_ms };
      if (best === null || t.total_ms < best.total_ms) best = t;
    }
    return best!;
  } finally {
    await e.dispose();
  }
}
