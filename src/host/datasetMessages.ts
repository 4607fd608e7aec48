// What the dataset view is sent, made from the evaluation's results (pure; no VS Code import, so unit tests
// use it too). Webview messages are JSON: NaN and infinities become null, a thumbnail's bytes base64.
import type { EvalReport, ImageResult } from '../eval/types';
import type { DatasetImageRow, DatasetSummary } from '../protocol';

const finite = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

/** The report in the view's form: JSON carries no NaN, so non-finite figures become null ('-' in the view). */
export function toDatasetSummary(r: EvalReport): DatasetSummary {
  return {
    images: r.images,
    value: finite(r.value),
    pixelAccuracy: finite(r.pixelAccuracy),
    miou: finite(r.miou),
    miouPerImage: finite(r.miouPerImage),
    ece: finite(r.ece),
    mce: finite(r.mce),
    calibration: {
      edges: r.calibration.edges.map(finite),
      count: r.calibration.count.map(finite),
      confidence: r.calibration.confidence.map(finite),
      accuracy: r.calibration.accuracy.map(finite),
    },
    boundary: { width: r.boundary.width, share: finite(r.boundary.share), meanInside: finite(r.boundary.meanInside), meanOutside: finite(r.boundary.meanOutside) },
    perClass: r.perClass.map((c) => ({ class: c.class, count: c.count, iou: finite(c.iou), accuracy: finite(c.accuracy), dice: finite(c.dice), meanLoss: finite(c.meanLoss), share: finite(c.share) })),
    unmatched: r.unmatched,
  };
}

export function toDatasetRow(result: ImageResult, index: number): DatasetImageRow {
  const r = result.record;
  const t = result.thumbnail;
  const bytes = t ? Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) : null;
  return {
    index,
    name: r.name,
    value: finite(r.value),
    pixelAccuracy: finite(r.pixelAccuracy),
    miou: finite(r.miou),
    worstClass: r.worstClass,
    thumbnail: t && bytes ? { h: t.h, w: t.w, base64: bytes.toString('base64') } : null,
  };
}
