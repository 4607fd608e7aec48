// The status lines above the results: progress, a note (how the result was computed), the waiting
// placeholder and the error shown in place of results (data-testid "error").
import type { ErrorFix } from '../../src/protocol';
import { append, clear, type Builder } from './dom';

export class Notices {
  readonly progressEl: HTMLElement;
  readonly noteEl: HTMLElement;
  readonly waitingEl: HTMLElement;
  readonly errorEl: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly text: HTMLElement;
  private readonly h: Builder;

  constructor(h: Builder) {
    this.h = h;
    this.bar = h('progress', { max: 1, value: 0, 'aria-label': 'Progress' });
    this.text = h('span', { class: 'cel-progress-text' });
    this.progressEl = h('div', { class: 'cel-progress', role: 'status', hidden: true }, this.bar, this.text);
    this.noteEl = h('div', { class: 'cel-note', role: 'status', hidden: true });
    this.waitingEl = h('div', { class: 'cel-waiting', role: 'status', text: 'Waiting for results…' });
    this.errorEl = h('div', { class: 'cel-error', 'data-testid': 'error', role: 'alert', hidden: true });
  }

  progress(fraction: number, message: string): void {
    const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
    this.bar.value = f;
    this.text.textContent = `${message} ${Math.round(f * 100)}%`;
    this.progressEl.hidden = f >= 1;
  }

  note(message: string): void {
    this.noteEl.textContent = message;
    this.noteEl.hidden = !message;
  }

  /**
   * An error replaces the results; an empty message still says something went wrong. A fix becomes a button
   * (data-testid "error-fix") that hands its options to `apply`.
   */
  error(message: string, fix?: ErrorFix, apply?: (fix: ErrorFix) => void): void {
    this.progressEl.hidden = true;
    this.waitingEl.hidden = true;
    clear(this.errorEl);
    const text = message && String(message).trim() ? String(message) : 'Something went wrong, but no message came with it.';
    append(this.errorEl, this.h('span', { text }));
    if (fix !== undefined && apply !== undefined) {
      const button = this.h('button', { type: 'button', class: 'cel-error-fix', 'data-testid': 'error-fix', text: String(fix.label) });
      button.addEventListener('click', () => {
        (button as HTMLButtonElement).disabled = true;
        apply(fix);
      });
      append(this.errorEl, ' ', button);
    }
    this.errorEl.hidden = false;
  }

  /** Results arrived: no progress, placeholder or error. */
  results(): void {
    this.progressEl.hidden = true;
    this.waitingEl.hidden = true;
    this.errorEl.hidden = true;
  }
}
