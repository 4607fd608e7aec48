// Number and label formatting shared by every part of the view (pure; no DOM).
import { elementClassAxis } from '../../src/mapLayout';

/** Six significant digits exactly as the CLI prints them (src/cli/report.ts fmt6). */
export function fmt6(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return Number(v.toPrecision(6)).toString();
}

/** A fraction as a percentage with one decimal; '-' for NaN (an empty class). */
export function fmtPct(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return `${(v * 100).toFixed(1)}%`;
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '-';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return `${s.toFixed(2)} s`;
}

/** An integer count with thin grouping (1 234 567), locale independent. */
export function fmtCount(v: number): string {
  if (!Number.isFinite(v)) return fmt6(v);
  const s = String(Math.trunc(Math.abs(v)));
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  return (v < 0 ? '-' : '') + grouped;
}

/** The display name of class c: its name from the summary when there is one, else its index. */
export function className(names: readonly string[] | null | undefined, c: number): string {
  const name = names && c >= 0 && c < names.length ? names[c] : undefined;
  return name !== undefined && name !== '' ? name : String(c);
}

/**
 * The class of an element of an elementwise loss (bce, sigmoid focal), whose target and prediction are 0/1
 * for the class its position along the class axis names: that position, from the element's index in the
 * loss map (which has the input's shape). Null for other losses, and for a loss map without a class axis
 * (bce on [N] logits).
 */
export function binaryElementClass(s: BinaryClassSummary, index: readonly number[]): number | null {
  const axis = binaryClassAxis(s);
  return axis !== null && index.length === s.lossShape.length ? index[axis] : null;
}

type BinaryClassSummary = { readonly targetKind: string; readonly lossShape: readonly number[]; readonly options: { readonly classDim?: number } };

/**
 * Names of the loss map's own axes, for a map that holds them all (a strip, a matrix) or a sample's row of
 * a 2-D loss map: an elementwise loss's class axis c, the first axis n, any other i.
 */
export function matrixAxes(s: BinaryClassSummary): string[] {
  const c = binaryClassAxis(s);
  return s.lossShape.map((_, a) => (a === c ? 'c' : a === 0 ? 'n' : 'i'));
}

/** The loss map's class axis for an elementwise loss (see binaryElementClass), or null. */
export function binaryClassAxis(s: BinaryClassSummary): number | null {
  if (s.targetKind !== 'binary' || s.lossShape.length < 2) return null;
  return elementClassAxis(s.lossShape, s.options.classDim ?? 1);
}

/**
 * The tooltip's target and prediction lines for the element at `index` in the loss map: class indices
 * (the target's argmax for probability targets), or for an elementwise loss the class the element stands
 * for and its 0/1 target and prediction.
 */
export function targetLines(s: Parameters<typeof binaryElementClass>[0] & { readonly classNames: readonly string[] }, index: readonly number[], target: number, predicted: number, ignored: boolean): string[] {
  if (s.targetKind === 'binary') {
    const c = binaryElementClass(s, index);
    return [...(c === null ? [] : [`class ${classLabel(s.classNames, c)}`]), `target ${target}`, `predicted ${predicted}`];
  }
  const t = s.targetKind === 'probs' ? `target argmax ${classLabel(s.classNames, target)}` : `target ${classLabel(s.classNames, target)}`;
  return [ignored ? `${t} (ignored)` : t, `predicted ${classLabel(s.classNames, predicted)}`];
}

/** "3 (cat)" when a name exists, "3" otherwise. */
export function classLabel(names: readonly string[] | null | undefined, c: number): string {
  const name = className(names, c);
  return name === String(c) ? name : `${c} (${name})`;
}

/** "a,b,c" → numbers; '' → null (no weights); undefined when it does not parse. */
export function parseWeights(text: string): number[] | null | undefined {
  const t = text.trim();
  if (t === '') return null;
  const parts = t.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter((p) => p !== '');
  const out = parts.map(Number);
  if (out.length === 0 || out.some((v) => !Number.isFinite(v))) return undefined;
  return out;
}
