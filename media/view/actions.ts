// Export buttons (PNG of the heatmap, CSV of the class table, .npy of the loss map) and, in a notebook
// output, "Open in panel"; in the panel, "Compare with…". Hidden where no extension host can save files.
import { safeDataUrl, type ViewContext } from './model';

export interface ActionSources {
  /** The heatmap canvas when a map is drawn, else null. */
  heatmap(): HTMLCanvasElement | null;
  /** The class table as CSV, or null before a summary. */
  csv(): string | null;
  note(text: string): void;
}

export class ExportActions {
  readonly el: HTMLElement;
  readonly png: HTMLButtonElement;
  readonly csv: HTMLButtonElement;
  readonly npy: HTMLButtonElement;

  constructor(ctx: ViewContext, sources: ActionSources) {
    const h = ctx.h;
    const post = ctx.post;
    this.png = h('button', { type: 'button', class: 'cel-button', text: 'Export PNG', title: 'Save the current heatmap as PNG' });
    this.csv = h('button', { type: 'button', class: 'cel-button', text: 'Export CSV', title: 'Save the per-class table as CSV' });
    this.npy = h('button', { type: 'button', class: 'cel-button', text: 'Export .npy', title: 'Save the unreduced loss map as .npy' });
    this.el = h('div', { class: 'cel-actions' }, this.png, this.csv, this.npy);
    this.el.hidden = !ctx.hostActions;
    if (!ctx.compact && ctx.hostActions) {
      const compare = h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Compare with…', title: 'Compare this input with another one against the same target' });
      compare.addEventListener('click', () => post({ type: 'compareWith' }));
      this.el.appendChild(compare);
    }
    if (ctx.compact) {
      const open = h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Open in panel' });
      open.addEventListener('click', () => post({ type: 'openInPanel' }));
      this.el.appendChild(open);
    }
    this.png.addEventListener('click', () => {
      const canvas = sources.heatmap();
      if (!canvas) return;
      const data = safeDataUrl(canvas);
      if (data) post({ type: 'export', kind: 'png', data });
      else sources.note('This page cannot encode PNG images.');
    });
    this.csv.addEventListener('click', () => {
      const data = sources.csv();
      if (data !== null) post({ type: 'export', kind: 'csv', data });
    });
    this.npy.addEventListener('click', () => post({ type: 'export', kind: 'npy' }));
  }
}
