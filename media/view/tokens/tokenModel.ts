// Token view logic without DOM: when a result reads as a language model's, the vocabulary's class names,
// the language-model statistics and the token read-out lines (media/view/tokens/tokenView.ts draws them).
import { normalizeAxis } from '../../../src/kernel/options';
import type { SampleMaps, TokenDetails, ViewSummary } from '../../../src/protocol';
import { tokenLabel } from '../../../src/tensor/text/tokenText';
import { tokenIndex, type Vocabulary } from '../../../src/tensor/text/vocab';
import { fmt6, fmtCount } from '../format';

/** The view can show this result as tokens: cross-entropy with class-index targets, a loss [B, T] or [T], C > 1. */
export function tokenViewCapable(s: ViewSummary): boolean {
  const ls = s.lossShape;
  return s.mapsAvailable && s.targetKind === 'index' && s.options.loss === 'ce' && (ls.length === 1 || ls.length === 2) && s.perClass.length > 1;
}

/**
 * Shown without asking: a class-last input [B, T, V] (loss [B, T]), or [T, V] (loss [T]) with a vocabulary.
 * A class count alone says nothing: ImageNet-21k's [N, 21841] is a classification, not N tokens.
 */
export function tokenViewAuto(s: ViewSummary): boolean {
  if (!tokenViewCapable(s)) return false;
  const nd = s.input.shape.length;
  if (nd !== s.lossShape.length + 1) return false;
  const classLast = normalizeAxis(s.options.classDim, nd) === nd - 1;
  if (!classLast) return false;
  return s.lossShape.length === 2 || !!s.tokens?.vocabulary;
}

/** Two maps draw the same tokens: the same sequence with the same loss, target, prediction and ignored marks. */
export function sameTokens(a: SampleMaps, b: SampleMaps): boolean {
  if (a.n !== b.n || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const n = a.loss.length;
  if (b.loss.length !== n || a.target.length !== b.target.length || a.predicted.length !== b.predicted.length || a.ignored.length !== b.ignored.length) return false;
  for (let i = 0; i < n; i++) if (!Object.is(a.loss[i], b.loss[i])) return false;
  for (let i = 0; i < a.target.length; i++) if (a.target[i] !== b.target[i]) return false;
  for (let i = 0; i < a.predicted.length; i++) if (a.predicted[i] !== b.predicted[i]) return false;
  for (let i = 0; i < a.ignored.length; i++) if (a.ignored[i] !== b.ignored[i]) return false;
  return true;
}

/** Class names from the vocabulary (token text with visible whitespace), for the per-class table; null without one. */
export function tokenClassNames(s: ViewSummary): string[] | null {
  const v = s.tokens?.vocabulary;
  if (!v) return null;
  const C = s.perClass.length;
  const names = new Array<string>(C).fill('');
  for (let i = 0; i < v.ids.length; i++) {
    const id = v.ids[i];
    if (id < C) names[id] = tokenLabel(v, id);
  }
  return names;
}

/** Mean loss over the tokens that count (the mean reduction's numerator / denominator), perplexity and bits. */
export function lmStats(s: Pick<ViewSummary, 'numerator' | 'denominator'>): { mean: number; perplexity: number; bits: number } {
  const mean = s.numerator / s.denominator;
  return { mean, perplexity: Math.exp(mean), bits: mean / Math.LN2 };
}

export function labelOf(v: Vocabulary | null, id: number): string {
  return tokenLabel(v && tokenIndex(v, id) >= 0 ? v : null, id);
}

/** The read-out of token t of a sequence: where, target, predicted, loss, p(target) and rank once known. */
export function tokenLines(m: SampleMaps, vocab: Vocabulary | null, d: TokenDetails | undefined, t: number): string[] {
  const v = d?.vocabulary ?? vocab;
  const ignored = m.ignored[t] !== 0;
  const out = [m.n >= 0 ? `token ${t} of sequence ${m.n}` : `token ${t}`];
  out.push(`target ${labelOf(v, m.target[t])}${ignored ? ' (ignored)' : ''}`);
  out.push(`predicted ${labelOf(vocab ?? v, m.predicted[t])}`);
  if (!ignored) {
    out.push(`loss ${fmt6(m.loss[t])}`);
    const p = d ? d.pTarget : m.pTarget ? m.pTarget[t] : null;
    if (p !== null) out.push(`p(target) ${fmt6(p)}`);
    if (d && d.rank > 0) out.push(`rank ${fmtCount(d.rank)} of ${fmtCount(d.C)}`);
  }
  return out;
}
