// The run slider (data-testid "run-slider"): a panel opened from the runs view steps through the image's
// checkpoints on the same heatmap. The range picks a run; the host recomputes the panel on that run's
// prediction (same target and options), so the loss shown is that run's per-image value. "against"
// (data-testid "run-baseline") picks the run it is compared with (the comparison's A: delta map and
// per-class change). Hidden in every other panel (ViewSummary.runs absent).
import type { RunSliderState, ViewToHost } from '../../../src/protocol';
import { clear, type Builder } from '../dom';

export class RunSlider {
  readonly el: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly nameEl: HTMLElement;
  private readonly base: HTMLSelectElement;
  private names: readonly string[] = [];

  constructor(private readonly h: Builder, post: (msg: ViewToHost) => void) {
    this.input = h('input', { type: 'range', min: 0, max: 0, step: 1, value: 0, 'data-testid': 'run-slider', 'aria-label': 'run' });
    this.nameEl = h('output', { class: 'cel-run-name', 'data-testid': 'run-name' });
    this.base = h('select', { 'data-testid': 'run-baseline', 'aria-label': 'compared against run' });
    this.el = h('div', { class: 'cel-run-slider', hidden: true }, h('label', {}, 'run ', this.input), ' ', this.nameEl, ' ', h('label', {}, 'against ', this.base));
    // Names follow the thumb at once; the recompute goes on release (change), not for every step dragged past.
    this.input.addEventListener('input', () => {
      this.nameEl.textContent = this.names[Number(this.input.value)] ?? '';
    });
    this.input.addEventListener('change', () => post({ type: 'selectRun', index: Number(this.input.value) }));
    this.base.addEventListener('change', () => post({ type: 'selectBaseRun', index: Number(this.base.value) }));
  }

  render(runs: RunSliderState | null | undefined): void {
    this.el.hidden = !runs || runs.names.length < 2;
    if (!runs) return;
    this.names = runs.names;
    this.input.max = String(runs.names.length - 1);
    this.input.value = String(runs.index);
    this.input.setAttribute('aria-valuetext', runs.names[runs.index] ?? '');
    this.nameEl.textContent = `${runs.names[runs.index] ?? ''} (${runs.index + 1} of ${runs.names.length})`;
    clear(this.base);
    runs.names.forEach((name, r) => this.base.appendChild(this.h('option', { value: r, text: name })));
    this.base.value = String(runs.base ?? 0);
  }
}
