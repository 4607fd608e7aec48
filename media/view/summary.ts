// The summary header: title, the reduced loss (data-testid "loss-value") with how it was reduced, the
// input/target/weight facts, a line of counts, and the options form under it (media/view/options.ts).
import { CLASS_LAST_NOTE, type ViewSummary } from '../../src/protocol';
import { append, clear, type Builder } from './dom';
import { fmt6, fmtCount, fmtPct, fmtSeconds, fmtShape } from './format';
import { OptionsForm, type OptionsEvents } from './options';

const LOSS_NAMES: Readonly<Record<string, string>> = {
  ce: 'cross-entropy',
  bce: 'binary cross-entropy with logits',
  focal: 'focal loss',
  'sigmoid-focal': 'sigmoid focal loss',
};

/** The focal result's plain cross-entropy over the same elements, when the host sent it (optional field). */
export function ceValueOf(s: ViewSummary): number | null {
  return typeof s.ceValue === 'number' ? s.ceValue : null;
}

export class SummaryHeader {
  readonly el: HTMLElement;
  readonly options: OptionsForm;
  private readonly titleEl: HTMLElement;
  private readonly nameEl: HTMLElement;
  private readonly valueEl: HTMLElement;
  private readonly formulaEl: HTMLElement;
  private readonly ceEl: HTMLElement;
  private readonly factsEl: HTMLElement;
  private readonly metaEl: HTMLElement;

  constructor(private readonly h: Builder, events: OptionsEvents) {
    this.titleEl = h('h2', { class: 'cel-title' });
    this.nameEl = h('span', { class: 'cel-loss-name' });
    this.valueEl = h('span', { class: 'cel-loss-value', 'data-testid': 'loss-value' });
    this.formulaEl = h('span', { class: 'cel-loss-formula' });
    this.ceEl = h('span', { class: 'cel-loss-ce', 'data-testid': 'ce-value', hidden: true });
    this.factsEl = h('dl', { class: 'cel-facts' });
    this.metaEl = h('div', { class: 'cel-meta' });
    this.options = new OptionsForm(h, events);
    this.el = h('header', { class: 'cel-header', hidden: true },
      this.titleEl,
      h('div', { class: 'cel-loss' }, this.nameEl, this.valueEl, this.formulaEl, this.ceEl),
      this.factsEl, this.metaEl, this.options.el);
  }

  render(s: ViewSummary): void {
    const h = this.h;
    const o = s.options;
    this.titleEl.textContent = s.title;
    this.titleEl.hidden = !s.title;
    const lossName = LOSS_NAMES[o.loss] ?? o.loss;
    if (s.value === null || o.reduction === 'none') {
      this.nameEl.textContent = `${lossName}, mean of the unreduced map:`;
      this.valueEl.textContent = fmt6(s.numerator / s.denominator);
      this.formulaEl.textContent = `reduction none returns the map ${fmtShape(s.lossShape)}; this is its mean ${fmt6(s.numerator)} / ${fmt6(s.denominator)}`;
    } else {
      this.nameEl.textContent = `${lossName} (${o.reduction}):`;
      this.valueEl.textContent = fmt6(s.value);
      this.formulaEl.textContent = o.reduction === 'mean' ? `= ${fmt6(s.numerator)} / ${fmt6(s.denominator)}` : '';
    }
    const ce = ceValueOf(s);
    this.ceEl.hidden = ce === null;
    this.ceEl.textContent = ce === null ? '' : `cross-entropy on the same elements: ${fmt6(ce)}`;

    clear(this.factsEl);
    const binary = o.loss === 'bce' || o.loss === 'sigmoid-focal';
    const kind = binary ? 'logits' : o.inputKind;
    const tkind = s.targetKind === 'index' ? 'class indices' : s.targetKind === 'probs' ? 'class probabilities' : 'binary';
    const fact = (term: string, ...desc: (string | HTMLElement)[]): void => {
      append(this.factsEl, h('dt', { text: term }), h('dd', {}, ...desc));
    };
    const tensor = (t: ViewSummary['input'], extra: string): HTMLElement[] => [
      h('span', { class: 'cel-file', text: t.label, title: t.label }),
      h('span', { class: 'cel-dim', text: ` ${fmtShape(t.shape)} ${t.dtype} · ${extra}` }),
    ];
    const axis = s.classLastFromShapes === true && o.classDim === -1 ? `, ${CLASS_LAST_NOTE}` : o.classDim !== 1 ? `, class dim ${o.classDim}` : '';
    fact('input', ...tensor(s.input, `${kind}${axis}`));
    fact('target', ...tensor(s.target, tkind));
    if (s.weight) fact('weight', h('span', { class: 'cel-dim', text: s.weight.length > 12 ? `${s.weight.slice(0, 12).map(fmt6).join(', ')}, … (${s.weight.length})` : s.weight.map(fmt6).join(', ') }));

    const meta: string[] = [];
    if (s.targetKind === 'index') meta.push(`ignore_index ${o.ignoreIndex}: ${fmtCount(s.ignoredCount)} of ${fmtCount(s.elementCount)} ignored`);
    else meta.push(`${fmtCount(s.elementCount)} elements`);
    if (o.labelSmoothing) meta.push(`label_smoothing ${fmt6(o.labelSmoothing)}`);
    if ((o.loss === 'focal' || o.loss === 'sigmoid-focal') && typeof o.gamma === 'number') meta.push(`gamma ${fmt6(o.gamma)}`);
    meta.push(`accuracy ${fmtPct(s.accuracy)}`);
    if (s.nanCount) meta.push(`${fmtCount(s.nanCount)} NaN`);
    if (s.infCount) meta.push(`${fmtCount(s.infCount)} infinite`);
    meta.push(fmtSeconds(s.seconds));
    if (s.engine) meta.push(`engine ${s.engine}`);
    this.metaEl.textContent = meta.join(' · ');
    this.metaEl.classList.toggle('cel-warn', s.nanCount > 0 || s.infCount > 0);
    this.options.reflect(s);
  }
}
