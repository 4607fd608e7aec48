// A tiny element builder. Text goes in as text nodes and attributes through setAttribute, so data never
// becomes markup; styles are set through the CSSOM only (a webview's CSP blocks style attributes).

export type AttrValue = string | number | boolean | null | undefined;
export type Child = Node | string | number | null | undefined | false;

export interface Builder {
  <K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, AttrValue>, ...children: Child[]): HTMLElementTagNameMap[K];
  readonly doc: Document;
  text(s: string): Text;
}

export function builder(doc: Document): Builder {
  const h = (<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, AttrValue>, ...children: Child[]): HTMLElementTagNameMap[K] => {
    const e = doc.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') e.className = String(v);
        else if (k === 'text') e.textContent = String(v);
        else if (k === 'style') throw new Error('set styles through element.style');
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(e, ...children);
    return e;
  }) as Builder;
  Object.defineProperty(h, 'doc', { value: doc });
  Object.defineProperty(h, 'text', { value: (s: string) => doc.createTextNode(s) });
  return h;
}

export function append(parent: Node, ...children: Child[]): void {
  const doc = parent.ownerDocument ?? (parent as Document);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? doc.createTextNode(String(c)) : c);
  }
}

export function clear(e: Node): void {
  while (e.firstChild) e.removeChild(e.firstChild);
}

export function setHidden(e: HTMLElement, hidden: boolean): void {
  e.hidden = hidden;
}
