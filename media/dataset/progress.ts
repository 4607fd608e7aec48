// The run's progress in the view: a bar, images done of all, and Cancel while it runs; the outcome after.
import type { DatasetRunState } from '../../src/protocol';
import type { Builder } from '../view/dom';
import { fmtSeconds } from '../view/format';

export class ProgressSection {
  readonly el: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly text: HTMLElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly message: HTMLElement;
  private done = 0;
  private total = 0;

  constructor(h: Builder, onCancel: () => void) {
    this.bar = h('progress', { max: 1, value: 0 });
    this.text = h('span', { class: 'ds-progress-text', 'data-testid': 'dataset-progress' });
    this.cancelButton = h('button', { type: 'button', class: 'ds-cancel', 'data-testid': 'dataset-cancel' }, 'Cancel');
    this.cancelButton.addEventListener('click', () => {
      this.cancelButton.disabled = true;
      onCancel();
    });
    this.message = h('span', { class: 'ds-state', 'data-testid': 'dataset-state' });
    this.el = h('div', { class: 'ds-progress' }, this.bar, this.text, this.cancelButton, this.message);
  }

  setProgress(done: number, total: number): void {
    this.done = done;
    this.total = total;
    this.bar.max = Math.max(1, total);
    this.bar.value = done;
    this.text.textContent = `${done} / ${total} images`;
  }

  setState(state: DatasetRunState, message?: string, seconds?: number): void {
    const running = state === 'running';
    this.cancelButton.hidden = !running;
    this.cancelButton.disabled = !running;
    this.bar.hidden = !running;
    this.el.setAttribute('data-state', state);
    this.message.textContent =
      state === 'done' ? `done${seconds !== undefined ? ` in ${fmtSeconds(seconds)}` : ''}`
        : state === 'cancelled' ? (message ?? 'cancelled')
          : state === 'error' ? `error: ${message ?? 'evaluation failed'}`
            : 'evaluating…';
    if (state === 'error') this.message.setAttribute('data-testid', 'error');
    else this.message.setAttribute('data-testid', 'dataset-state');
  }

  get counts(): { done: number; total: number } {
    return { done: this.done, total: this.total };
  }
}
