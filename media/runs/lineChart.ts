// A small SVG line chart of one figure over the runs (the curves and the per-class multiples): built with
// createElementNS (media/dataset/svg.ts), no markup strings. Null values leave a gap in the line.
import { svgEl, svgTitle } from '../dataset/svg';

export interface LineChartSpec {
  readonly values: ReadonlyArray<number | null>;
  readonly width: number;
  readonly height: number;
  /** Hover text of each point (run name and value). */
  readonly pointTitle?: (k: number) => string;
  /** Draw axis ticks (min and max) at the left. */
  readonly ticks?: (v: number) => string;
  readonly cls?: string;
  /** Hover text of the whole chart (where points have none of their own). */
  readonly title?: string;
}

/** The y range of the finite values (a flat series gets a small range so it sits in the middle). */
export function yRange(values: ReadonlyArray<number | null>): { lo: number; hi: number } | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length === 0) return null;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 0.5;
    lo -= pad;
    hi += pad;
  }
  return { lo, hi };
}

export function lineChart(doc: Document, spec: LineChartSpec): SVGSVGElement {
  const { values, width, height } = spec;
  const padL = spec.ticks ? 50 : 3;
  const pad = 4;
  const svg = svgEl(doc, 'svg', { class: `rv-svg ${spec.cls ?? ''}`, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  if (spec.title !== undefined) svgTitle(doc, svg, spec.title);
  svg.appendChild(svgEl(doc, 'rect', { class: 'rv-frame', x: padL, y: 0.5, width: width - padL - 0.5, height: height - 1 }));
  const range = yRange(values);
  if (!range) return svg;
  const n = values.length;
  const x = (k: number): number => padL + pad + (n <= 1 ? (width - padL - 2 * pad) / 2 : (k * (width - padL - 2 * pad)) / (n - 1));
  const y = (v: number): number => height - pad - ((v - range.lo) / (range.hi - range.lo)) * (height - 2 * pad);
  if (spec.ticks) {
    svg.appendChild(svgEl(doc, 'text', { class: 'rv-tick', x: padL - 3, y: pad + 6, 'text-anchor': 'end' }, spec.ticks(range.hi)));
    svg.appendChild(svgEl(doc, 'text', { class: 'rv-tick', x: padL - 3, y: height - pad, 'text-anchor': 'end' }, spec.ticks(range.lo)));
  }
  // One polyline per unbroken stretch of finite values.
  let stretch: string[] = [];
  const flush = (): void => {
    if (stretch.length > 1) svg.appendChild(svgEl(doc, 'polyline', { class: 'rv-line', points: stretch.join(' ') }));
    stretch = [];
  };
  values.forEach((v, k) => {
    if (v === null || !Number.isFinite(v)) return flush();
    stretch.push(`${x(k).toFixed(1)},${y(v).toFixed(1)}`);
  });
  flush();
  if (spec.pointTitle) {
    values.forEach((v, k) => {
      if (v === null || !Number.isFinite(v)) return;
      const dot = svgEl(doc, 'circle', { class: 'rv-dot', cx: x(k).toFixed(1), cy: y(v).toFixed(1), r: n > 20 ? 1.5 : 2.5 });
      svgTitle(doc, dot, spec.pointTitle!(k));
      svg.appendChild(dot);
    });
  }
  return svg;
}
