// Confidence maps (SampleMaps.confidence): the threshold slider of the top-1, margin, entropy and
// confidently-wrong modes, and how many elements of the sample it marks. The modes themselves are drawn by
// rasterize (media/view/render/raster.ts); this component only controls and counts.
import type { ElementDetail } from '../../../src/protocol';
import { fmt6, fmtCount } from '../format';
import type { ViewContext, ViewModel } from '../model';
import { countMarked, isConfidenceMode, type ConfidenceMode } from '../render/raster';

const WHAT: Readonly<Record<ConfidenceMode, string>> = {
  top1: 'top-class probability below',
  margin: 'margin below',
  entropy: 'entropy above',
  confWrong: 'confidently wrong: predicted ≠ target with top-class probability above',
};

/**
 * Read-out lines of element k (the hover tooltip's extra lines): from the sample's confidence maps, or,
 * while the host holds them (confidenceOnRequest), from the element's details, which carry its values.
 */
export function confidenceLines(model: ViewModel, k: number, detail?: ElementDetail): string[] {
  const maps = model.maps;
  if (!maps || maps.ignored[k]) return [];
  const c = maps.confidence;
  const v = c ? { top1: c.top1[k], margin: c.margin[k], entropy: c.entropy[k] } : detail?.confidence;
  if (!v) return [];
  return [`top-1 p ${fmt6(v.top1)} · margin ${fmt6(v.margin)} · entropy ${fmt6(v.entropy)}`];
}

export class ConfidenceControls {
  readonly el: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly valueEl: HTMLElement;
  private readonly countEl: HTMLElement;
  private countKey = '';

  constructor(private readonly ctx: ViewContext, private readonly model: ViewModel, redraw: () => void) {
    const h = ctx.h;
    this.slider = h('input', { type: 'range', min: 0, max: 1, step: 0.01, value: ctx.store.state.confidenceThreshold, 'data-testid': 'confidence-threshold', 'aria-label': 'Confidence threshold' });
    this.valueEl = h('span', { class: 'cel-mono' });
    this.countEl = h('span', { class: 'cel-confidence-count', 'data-testid': 'confidence-count', role: 'status' });
    this.el = h('div', { class: 'cel-confidence', role: 'group', 'aria-label': 'Confidence threshold', hidden: true },
      h('label', { class: 'cel-group' }, h('span', { class: 'cel-label', text: 'Threshold' }), this.slider, this.valueEl),
      this.countEl);
    this.slider.addEventListener('input', () => {
      ctx.store.update({ confidenceThreshold: Number(this.slider.value) });
      this.sync();
      redraw();
    });
  }

  /** Largest threshold of a mode: 1 for probabilities, ln C for entropy. */
  private maxFor(mode: ConfidenceMode): number {
    const C = this.model.summary?.perClass.length ?? 0;
    return mode === 'entropy' ? Math.max(1, Math.log(Math.max(2, C))) : 1;
  }

  /** Shown in the confidence modes when the sample has confidence maps; the count follows the threshold. */
  sync(): void {
    const s = this.ctx.store.state;
    const maps = this.model.maps;
    const mode = s.mode;
    if (!isConfidenceMode(mode) || !maps?.confidence) {
      this.el.hidden = true;
      this.countKey = '';
      return;
    }
    this.el.hidden = false;
    const max = this.maxFor(mode);
    // One threshold serves every mode: from entropy (up to ln C) back to a probability it is clamped.
    if (s.confidenceThreshold > max) this.ctx.store.update({ confidenceThreshold: max });
    const t = Math.min(max, s.confidenceThreshold);
    this.slider.max = String(max);
    this.slider.step = String(max / 100);
    if (this.slider.ownerDocument.activeElement !== this.slider) this.slider.value = String(t);
    this.valueEl.textContent = fmt6(Number(t.toPrecision(3)));
    const key = `${mode}|${t}|${maps.n}`;
    if (key === this.countKey) return;
    this.countKey = key;
    const { marked, total } = countMarked(maps, mode, t);
    this.countEl.textContent = `${fmtCount(marked)} of ${fmtCount(total)} pixels in this sample: ${WHAT[mode]} ${fmt6(Number(t.toPrecision(3)))}`;
  }

  /** The maps changed (same mode and threshold may count differently). */
  invalidate(): void {
    this.countKey = '';
  }
}
