// What the dataset view is sent, made from the evaluation's results, and the request it keeps for a window
// reload (pure; no VS Code import, so unit tests use it too). Webview messages are JSON: NaN and infinities
// become null, a thumbnail's bytes base64.
import type { EvalOptions, EvalReport, ImageResult } from '../../eval/types';
import type { DatasetImageRow, DatasetRequest, DatasetSummary } from '../../protocol';

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

/** The request a dataset view keeps in its saved state (plain JSON: folders and options only). */
export function toDatasetRequest(run: { readonly predDir: string; readonly labelDir: string; readonly options: EvalOptions }): DatasetRequest {
  const o = run.options;
  return {
    predDir: run.predDir,
    labelDir: run.labelDir,
    options: { ignoreIndex: o.ignoreIndex, labelSmoothing: o.labelSmoothing, classDim: o.classDim, bins: o.bins, boundary: o.boundary, weight: o.weight ? [...o.weight] : null },
  };
}

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= lo && v <= hi;

/**
 * A saved request read back after a window reload, or null where it is not one (state from an older
 * version, or edited): the serializer then closes the view rather than evaluate with made-up options.
 */
export function parseDatasetRequest(v: unknown): DatasetRequest | null {
  if (v === null || typeof v !== 'object') return null;
  const r = v as Partial<Record<keyof DatasetRequest, unknown>>;
  if (typeof r.predDir !== 'string' || r.predDir === '' || typeof r.labelDir !== 'string' || r.labelDir === '') return null;
  const o = r.options;
  if (o === null || typeof o !== 'object') return null;
  const { ignoreIndex, labelSmoothing, classDim, bins, boundary, weight } = o as Partial<Record<keyof EvalOptions, unknown>>;
  // The bounds eval's flags and merge's part schema accept (src/eval/partSchema.ts).
  if (!isInt(ignoreIndex, -(2 ** 31), 2 ** 31 - 1) || !isInt(classDim, -4, 3) || !isInt(bins, 1, 100000) || !isInt(boundary, 0, 100000)) return null;
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) return null;
  if (weight !== null && !(Array.isArray(weight) && weight.every((w) => typeof w === 'number' && Number.isFinite(w)))) return null;
  return { predDir: r.predDir, labelDir: r.labelDir, options: { ignoreIndex, labelSmoothing, classDim, bins, boundary, weight: weight === null ? null : [...(weight as number[])] } };
}
