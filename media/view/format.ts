// Number and label formatting shared by every part of the view (pure; no DOM).

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
