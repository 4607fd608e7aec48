// The loss options form: reduction, ignore_index, label_smoothing, input kind, class dim, weights, and the
// loss itself (cross-entropy or focal, with gamma). A valid change is sent to the host, which recomputes;
// an invalid one is marked in place and not sent.
import type { InputKind, LossOptions, Reduction } from '../../src/kernel/types';
import type { ViewSummary } from '../../src/protocol';
import type { Builder } from './dom';
import { parseWeights } from './format';

export interface OptionsEvents {
  /** New options (and weights when given) for the host to recompute with. */
  submit(options: Partial<LossOptions>, weight?: number[] | null): void;
}

/** The losses the selector offers for each family (the target decides the family, so it is never switched). */
const FAMILIES: ReadonlyArray<ReadonlyArray<{ readonly value: LossOptions['loss']; readonly text: string }>> = [
  [{ value: 'ce', text: 'cross-entropy' }, { value: 'focal', text: 'focal' }],
  [{ value: 'bce', text: 'binary cross-entropy' }, { value: 'sigmoid-focal', text: 'sigmoid focal' }],
];

const DEFAULT_GAMMA = 2;

export class OptionsForm {
  readonly el: HTMLFormElement;
  private readonly reduction: HTMLSelectElement;
  private readonly ignoreIndex: HTMLInputElement;
  private readonly labelSmoothing: HTMLInputElement;
  private readonly inputKind: HTMLSelectElement;
  private readonly classDim: HTMLInputElement;
  private readonly weight: HTMLInputElement;
  private readonly loss: HTMLSelectElement;
  private readonly gamma: HTMLInputElement;
  private readonly message: HTMLElement;
  private readonly fIgnore: HTMLElement;
  private readonly fSmooth: HTMLElement;
  private readonly fKind: HTMLElement;
  private readonly fGamma: HTMLElement;
  private family = -1;

  constructor(private readonly h: Builder, private readonly events: OptionsEvents) {
    const field = (label: string, control: HTMLElement, hint?: string): HTMLElement =>
      h('label', { class: 'cel-field', title: hint }, h('span', { class: 'cel-label', text: label }), control);
    this.reduction = h('select', { name: 'reduction' }, ...['mean', 'sum', 'none'].map((r) => h('option', { value: r, text: r })));
    this.ignoreIndex = h('input', { type: 'number', step: 1, name: 'ignoreIndex', class: 'cel-num' });
    this.labelSmoothing = h('input', { type: 'number', step: 0.05, min: 0, max: 1, name: 'labelSmoothing', class: 'cel-num' });
    this.inputKind = h('select', { name: 'inputKind' }, ...['logits', 'probs', 'log-probs'].map((k) => h('option', { value: k, text: k })));
    this.classDim = h('input', { type: 'number', step: 1, name: 'classDim', class: 'cel-num' });
    this.weight = h('input', { type: 'text', name: 'weight', class: 'cel-text', placeholder: 'a,b,c (empty: none)', spellcheck: 'false', autocomplete: 'off' });
    this.loss = h('select', { name: 'loss', 'data-testid': 'loss-kind' });
    this.gamma = h('input', { type: 'number', step: 0.5, min: 0, name: 'gamma', class: 'cel-num', 'data-testid': 'focal-gamma' });
    this.message = h('span', { class: 'cel-field-message', role: 'status' });
    this.fIgnore = field('ignore_index', this.ignoreIndex, 'Target value that does not contribute to the loss');
    this.fSmooth = field('label_smoothing', this.labelSmoothing, 'Label smoothing in [0, 1]');
    this.fKind = field('input', this.inputKind, 'What the input tensor holds');
    this.fGamma = field('gamma', this.gamma, 'Focusing exponent of the focal loss (0: the plain loss)');
    this.el = h('form', { class: 'cel-options', 'aria-label': 'Loss options' },
      field('reduction', this.reduction),
      this.fIgnore, this.fSmooth, this.fKind,
      field('class dim', this.classDim, 'Axis of the input holding the classes (-1 for channels-last)'),
      field('weight', this.weight, 'Per-class weights, comma separated; empty for none'),
      field('loss', this.loss, 'Cross-entropy or the focal loss (-(1 - p_t)^gamma log p_t)'),
      this.fGamma,
      this.message);
    this.wire();
  }

  /** Show what was computed (the field being edited is left alone). */
  reflect(s: ViewSummary): void {
    const o = s.options;
    const active = this.el.ownerDocument.activeElement;
    const setVal = (e: HTMLInputElement | HTMLSelectElement, v: string): void => {
      if (e !== active) {
        e.value = v;
        e.removeAttribute('aria-invalid');
      }
    };
    this.setFamily(o.loss === 'bce' || o.loss === 'sigmoid-focal' ? 1 : 0);
    setVal(this.reduction, o.reduction);
    setVal(this.ignoreIndex, String(o.ignoreIndex));
    setVal(this.labelSmoothing, String(o.labelSmoothing));
    setVal(this.inputKind, o.inputKind);
    setVal(this.classDim, String(o.classDim));
    setVal(this.weight, s.weight ? s.weight.join(',') : '');
    setVal(this.loss, o.loss);
    // gamma is optional in older hosts' options.
    const gamma = typeof o.gamma === 'number' ? o.gamma : DEFAULT_GAMMA;
    setVal(this.gamma, String(gamma));
    this.message.textContent = '';
    const binary = o.loss === 'bce' || o.loss === 'sigmoid-focal';
    const focal = o.loss === 'focal' || o.loss === 'sigmoid-focal';
    this.fIgnore.hidden = binary;
    this.fKind.hidden = binary;
    this.fSmooth.hidden = binary || focal;
    this.fGamma.hidden = !focal;
  }

  private setFamily(f: number): void {
    if (f === this.family) return;
    this.family = f;
    this.loss.replaceChildren(...FAMILIES[f].map((l) => this.h('option', { value: l.value, text: l.text })));
  }

  private send(options: Partial<LossOptions>, weight?: number[] | null): void {
    this.message.textContent = '';
    if (weight === undefined) this.events.submit(options);
    else this.events.submit(options, weight);
  }

  private bad(input: HTMLElement, text: string): void {
    input.setAttribute('aria-invalid', 'true');
    this.message.textContent = text;
  }

  /** A number field's value when it passes `valid`, else undefined (and the field is marked). */
  private num(input: HTMLInputElement, valid: (v: number) => boolean, text: string): number | undefined {
    const v = Number(input.value);
    if (input.value.trim() === '' || !valid(v)) {
      this.bad(input, text);
      return undefined;
    }
    input.removeAttribute('aria-invalid');
    return v;
  }

  private wire(): void {
    this.el.addEventListener('submit', (e) => e.preventDefault());
    this.reduction.addEventListener('change', () => this.send({ reduction: this.reduction.value as Reduction }));
    this.inputKind.addEventListener('change', () => this.send({ inputKind: this.inputKind.value as InputKind }));
    this.ignoreIndex.addEventListener('change', () => {
      const v = this.num(this.ignoreIndex, Number.isInteger, 'ignore_index must be an integer.');
      if (v !== undefined) this.send({ ignoreIndex: v });
    });
    this.labelSmoothing.addEventListener('change', () => {
      const v = this.num(this.labelSmoothing, (x) => x >= 0 && x <= 1, 'label_smoothing must be a number in [0, 1].');
      if (v !== undefined) this.send({ labelSmoothing: v });
    });
    this.classDim.addEventListener('change', () => {
      const v = this.num(this.classDim, Number.isInteger, 'class dim must be an integer.');
      if (v !== undefined) this.send({ classDim: v });
    });
    this.weight.addEventListener('change', () => {
      const parsed = parseWeights(this.weight.value);
      if (parsed === undefined) return this.bad(this.weight, 'weight must be numbers separated by commas, or empty.');
      this.weight.removeAttribute('aria-invalid');
      this.send({}, parsed);
    });
    const sendLoss = (): void => {
      const loss = this.loss.value as LossOptions['loss'];
      const gamma = this.num(this.gamma, (x) => Number.isFinite(x) && x >= 0, 'gamma must be a number >= 0.');
      if (gamma !== undefined) this.send({ loss, gamma });
      // A bad gamma does not hold back a loss that has none.
      else if (loss === 'ce' || loss === 'bce') this.send({ loss });
    };
    this.loss.addEventListener('change', sendLoss);
    this.gamma.addEventListener('change', sendLoss);
  }
}
