// SVG elements built through createElementNS with attributes set one by one: no markup strings anywhere.
export const SVG_NS = 'http://www.w3.org/2000/svg';

export function svgEl<K extends keyof SVGElementTagNameMap>(doc: Document, tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const e = doc.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A hover title on an SVG element. */
export function svgTitle(doc: Document, parent: SVGElement, text: string): void {
  parent.appendChild(svgEl(doc, 'title', {}, text));
}
