// The step-by-step breakdown of one element's loss, from the rows the host chose (ExplainedElement; pure, no DOM).
import type { ElementDetail, ViewSummary } from '../../../src/protocol';
import { MAX_EXPLAIN_ROWS } from '../../../src/kernel/sample/explainRows';
import { classLabel, fmt6 } from '../format';

export interface ExplainRow {
  readonly cls: number;
  readonly label: string;
  readonly input: number;
  /** x - max (logits only). */
  readonly shifted: number | null;
  /** exp(x - max) (logits only). */
  readonly exp: number | null;
  readonly prob: number;
  readonly logProb: number;
  /** Effective target probability (probability targets or label smoothing), else null. */
  readonly q: number | null;
  readonly weight: number | null;
  readonly isTarget: boolean;
  readonly isPredicted: boolean;
}

export interface ExplainStep {
  readonly label: string;
  /** Plain text (never markup). */
  readonly formula: string;
}

export interface Breakdown {
  readonly heading: string;
  readonly columns: readonly string[];
  readonly rows: readonly ExplainRow[];
  /** Classes left out of the rows (large C: the target and the most probable classes are shown). */
  readonly hidden: number;
  readonly steps: readonly ExplainStep[];
}

/** Rows shown for at most this many classes (target and most probable first): chosen by the host. */
export const MAX_ROWS = MAX_EXPLAIN_ROWS;

export function fmtIndex(n: number, index: readonly number[]): string {
  return n >= 0 ? `(${[n, ...index].join(', ')})` : `(${index.join(', ')})`;
}

export function buildBreakdown(detail: ElementDetail, summary: ViewSummary): Breakdown {
  const e = detail.explanation;
  const names = summary.classNames;
  const o = summary.options;
  const C = e.C;
  const w = summary.weight;
  const pred = e.predicted;
  const t = e.target;
  const logits = o.inputKind === 'logits' && e.max !== null;
  // Where a class's values sit in the rows' arrays (the target's always do, when it is a class).
  const at = (c: number): number => e.classes.indexOf(c);

  const rows: ExplainRow[] = e.classes.map((c, i) => ({
    cls: c,
    label: classLabel(names, c),
    input: e.inputs[i],
    shifted: logits ? e.inputs[i] - (e.max as number) : null,
    exp: e.expShifted ? e.expShifted[i] : null,
    prob: e.probs[i],
    logProb: e.logProbs[i],
    q: e.targetProbs ? e.targetProbs[i] : null,
    weight: w ? w[c] ?? null : null,
    isTarget: t === c,
    isPredicted: pred === c,
  }));

  const inputName = o.inputKind === 'logits' ? 'logit x' : o.inputKind === 'probs' ? 'probability x' : 'log-probability x';
  const columns = ['class', inputName];
  if (logits) columns.push('x − max', 'exp(x − max)');
  columns.push('p = softmax', 'log p');
  if (e.targetProbs) columns.push('target q');
  if (w) columns.push('weight');

  const steps: ExplainStep[] = [];
  const eps = o.labelSmoothing;
  if (logits) {
    steps.push({ label: 'Subtract the maximum (for stability)', formula: `m = max_c x_c = ${fmt6(e.max)}` });
    steps.push({ label: 'Exponentiate', formula: 'e_c = exp(x_c − m)' });
    steps.push({ label: 'Sum', formula: `S = Σ_c e_c = ${fmt6(e.sumExp)}` });
    steps.push({ label: 'Softmax', formula: `p_c = e_c / S;  log p_c = x_c − m − log S = x_c − ${fmt6((e.max as number) + Math.log(e.sumExp as number))}` });
  } else if (o.inputKind === 'probs') {
    steps.push({ label: 'Log of the given probabilities', formula: 'log p_c = log(x_c)' });
  } else {
    steps.push({ label: 'Log-probabilities used as given (nll_loss)', formula: 'log p_c = x_c' });
  }

  if (t !== null && e.ignored) {
    steps.push({ label: 'Ignored', formula: `target ${t} = ignore_index ${o.ignoreIndex}: loss 0, and the element is left out of the mean's denominator` });
  } else if (t !== null) {
    const lp = e.logProbs[at(t)];
    steps.push({ label: `Target class ${classLabel(names, t)}`, formula: `p[target] = ${fmt6(e.probs[at(t)])};  −log p[target] = ${fmt6(-lp)}` });
    steps.push({ label: 'Class weight', formula: `w[target] = ${fmt6(e.weight)};  nll = w[target] · (−log p[target]) = ${fmt6(e.nll)}` });
    if (eps > 0 && e.smoothing !== null) {
      steps.push({
        label: `Label smoothing ε = ${fmt6(eps)}`,
        formula: `smooth = −Σ_c w_c · log p_c = ${fmt6(e.smoothing)};  loss = (1 − ε) · nll + ε / C · smooth = ${fmt6(1 - eps)} · ${fmt6(e.nll)} + ${fmt6(eps)} / ${C} · ${fmt6(e.smoothing)}`,
      });
    }
  } else {
    const wtxt = w ? 'w_c · ' : '';
    steps.push({
      label: eps > 0 ? `Probability target, smoothed: q = (1 − ε) · target + ε / C (ε = ${fmt6(eps)})` : 'Probability target q',
      formula: `loss = −Σ_c ${wtxt}q_c · log p_c`,
    });
  }
  steps.push({ label: 'Element loss', formula: `loss = ${fmt6(e.loss)}` });

  const r = o.reduction;
  if (r === 'mean') {
    const den = summary.targetKind === 'index' ? (w ? 'Σ w[target] over non-ignored elements' : 'non-ignored elements') : 'elements';
    steps.push({ label: 'Reduction: mean', formula: `loss = Σ loss / ${den} = ${fmt6(summary.numerator)} / ${fmt6(summary.denominator)} = ${fmt6(summary.value)}` });
  } else if (r === 'sum') {
    steps.push({ label: 'Reduction: sum', formula: `loss = Σ loss = ${fmt6(summary.numerator)}` });
  } else {
    steps.push({ label: 'Reduction: none', formula: `this element's loss is returned as it is (the map's mean is ${fmt6(summary.numerator)} / ${fmt6(summary.denominator)} = ${fmt6(summary.numerator / summary.denominator)})` });
  }

  return {
    heading: `Element ${fmtIndex(detail.n, detail.index)}`,
    columns,
    rows,
    hidden: C - rows.length,
    steps,
  };
}
