// What the CLI prints: one JSON object (--json) or a short human report.
import { fmtShape } from '../errors';
import type { LossResult } from '../kernel/types';
import { escapeControls } from './terminalText';

/** What the reports need: a kernel LossResult or an engine result. */
export type Reported = Pick<LossResult, 'value' | 'options' | 'lossShape' | 'numerator' | 'denominator' | 'targetKind' | 'stats' | 'ceValue'>;

export interface TensorInfo {
  readonly path: string;
  /** The shape as stored in the file. */
  readonly shape: readonly number[];
  readonly dtype: string;
  /** The shape computed with, when it differs from the stored one (a PNG mask [H, W] paired as [1, H, W]). */
  readonly pairedAs?: readonly number[];
  /** How the file was read, for the text report ("PNG mask, one sample; paired as [1, H, W]"). */
  readonly note?: string;
}

export function tensorInfo(path: string, t: { readonly shape: readonly number[]; readonly dtype: string }, as?: { readonly stored: readonly number[]; readonly note?: string }): TensorInfo {
  if (as === undefined) return { path, shape: t.shape, dtype: t.dtype };
  const differs = as.stored.length !== t.shape.length || as.stored.some((s, i) => s !== t.shape[i]);
  return { path, shape: as.stored, dtype: t.dtype, ...(differs ? { pairedAs: t.shape } : {}), ...(as.note ? { note: as.note } : {}) };
}

/** JSON has no NaN or Infinity; the contract writes them as strings. */
export function jsonNumber(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return v;
}

export function jsonReport(r: Reported, input: TensorInfo, target: TensorInfo, seconds: number, extra: Record<string, unknown> = {}): string {
  const s = r.stats;
  const obj = {
    value: r.value,
    loss: r.options.loss,
    reduction: r.options.reduction,
    lossShape: r.lossShape,
    numerator: r.numerator,
    denominator: r.denominator,
    targetKind: r.targetKind,
    options: r.options,
    input,
    target,
    numClasses: s.numClasses,
    elementCount: s.elementCount,
    ignoredCount: s.ignoredCount,
    accuracy: s.accuracy,
    nanCount: s.nanCount,
    infCount: s.infCount,
    perClass: s.perClass,
    // focal: plain cross-entropy with the same weight, ignore_index and reduction, beside the focal value
    // (each perClass entry carries its ceMean).
    ...(r.options.loss === 'focal' ? { ceValue: r.ceValue ?? null } : {}),
    // The full matrix while it is small (C <= 1024); above that, the most frequent pairs (never C² output).
    ...(s.confusion.length > 0 || s.numClasses === 0 ? { confusion: Array.from(s.confusion) } : { topConfusions: s.topConfusions }),
    ...(perplexityOf(r) === null ? {} : { perplexity: perplexityOf(r) }),
    worst: s.worst,
    seconds,
    ...extra,
  };
  return JSON.stringify(obj, jsonNumber);
}

/** exp of a mean cross-entropy (what language-model people read); null for other losses and reductions. */
export function perplexityOf(r: Pick<Reported, 'value' | 'options'>): number | null {
  if (r.value === null || r.options.loss !== 'ce' || r.options.reduction !== 'mean') return null;
  return Math.exp(r.value);
}

/** PyTorch-style 6 significant digits, without trailing noise for integers. */
export function fmt6(v: number | null): string {
  if (v === null) return '-';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return Number(v.toPrecision(6)).toString();
}

function pct(v: number): string {
  return Number.isNaN(v) ? '-' : `${(v * 100).toFixed(1)}%`;
}

const MAX_ROWS = 50;

const LOSS_NAMES: Readonly<Record<LossResult['options']['loss'], string>> = {
  ce: 'cross-entropy',
  bce: 'binary cross-entropy with logits',
  focal: 'focal loss',
  'sigmoid-focal': 'sigmoid focal loss',
};

export function textReport(r: Reported, input: TensorInfo, target: TensorInfo, seconds: number): string {
  const o = r.options;
  const s = r.stats;
  const name = LOSS_NAMES[o.loss];
  const focal = o.loss === 'focal';
  const elementwise = o.loss === 'bce' || o.loss === 'sigmoid-focal';
  const lines: string[] = [];
  if (r.value === null) {
    lines.push(`${name} (reduction none): loss map ${fmtShape(r.lossShape)}, sum ${fmt6(r.numerator)}, mean ${fmt6(r.numerator / r.denominator)}`);
  } else {
    lines.push(`${name} (${o.reduction}): ${fmt6(r.value)}${focal && typeof r.ceValue === 'number' ? `; cross-entropy ${fmt6(r.ceValue)}` : ''}`);
  }
  const paired = (t: TensorInfo): string => (t.note ? `; ${t.note}` : t.pairedAs ? `; paired as ${fmtShape(t.pairedAs)}` : '');
  lines.push(`  input   ${escapeControls(input.path)}  ${fmtShape(input.shape)} ${input.dtype} (${elementwise ? 'logits' : o.inputKind}${o.classDim !== 1 ? `, class dim ${o.classDim}` : ''}${paired(input)})`);
  lines.push(`  target  ${escapeControls(target.path)}  ${fmtShape(target.shape)} ${target.dtype} (${r.targetKind === 'index' ? 'class indices' : r.targetKind === 'probs' ? 'class probabilities' : 'binary'}${paired(target)})`);
  const extras: string[] = [];
  if (r.targetKind === 'index') extras.push(`ignore_index ${o.ignoreIndex}: ${s.ignoredCount} of ${s.elementCount} ignored`);
  if (o.labelSmoothing) extras.push(`label_smoothing ${o.labelSmoothing}`);
  if (focal || o.loss === 'sigmoid-focal') extras.push(`gamma ${o.gamma}`);
  if (o.loss === 'sigmoid-focal') extras.push(o.alpha >= 0 ? `alpha ${o.alpha}` : 'no alpha weighting');
  if (o.reduction === 'mean') extras.push(`mean = ${fmt6(r.numerator)} / ${fmt6(r.denominator)}`);
  if (s.nanCount || s.infCount) extras.push(`${s.nanCount} NaN and ${s.infCount} infinite losses`);
  extras.push(`accuracy ${pct(s.accuracy)}`);
  extras.push(`${seconds.toFixed(3)} s`);
  lines.push(`  ${extras.join('; ')}`);
  const header = ['class', 'count', 'ignored', focal ? 'alpha' : 'weight', 'mean loss', ...(focal ? ['mean CE'] : []), 'loss sum', 'share', 'accuracy', 'IoU'];
  const rows = s.perClass.slice(0, MAX_ROWS).map((c) => [
    // A class without elements has no mean loss (NaN in --json): a dash, like its other ratios.
    String(c.index), String(c.count), String(c.ignored), fmt6(c.weight), c.count ? fmt6(c.lossMean) : '-',
    ...(focal ? [c.count && c.ceMean !== undefined ? fmt6(c.ceMean) : '-'] : []),
    fmt6(c.lossSum), pct(c.share), pct(c.accuracy), pct(c.iou),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  if (s.numClasses === 0) lines.push('  no classes: the input\'s class axis is empty');
  else if (s.perClass.length === 0) lines.push(`  ${s.numClasses} classes, no elements: no per-class figures`);
  else lines.push(line(header));
  for (const row of rows) lines.push(line(row));
  if (s.perClass.length > MAX_ROWS) lines.push(`  … ${s.perClass.length - MAX_ROWS} more classes (use --json for all)`);
  if (s.worst.length) {
    lines.push(`  worst: ${s.worst.slice(0, 5).map((w) => `${fmtShape(w.index)} loss ${fmt6(w.loss)} (target ${w.target}, predicted ${w.predicted})`).join('; ')}`);
  }
  return lines.join('\n');
}
