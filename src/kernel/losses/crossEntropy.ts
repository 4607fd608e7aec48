// The reference cross-entropy loops (pure TypeScript, float64 accumulation). They follow PyTorch's
// F.cross_entropy term by term, including where IEEE arithmetic makes NaN (0 * -inf), so NaN and Inf
// land exactly where PyTorch puts them. Layout: input (N, C, S), loss map (N, S).
import type { TensorData } from '../../tensor/tensor';
import type { CeProblem } from '../validate';

export interface LossMaps {
  readonly lossMap: Float64Array;
  readonly predicted: Int32Array;
  readonly targetClass: Int32Array;
  readonly ignoredMask: Uint8Array;
  readonly numerator: number;
  readonly denominator: number;
  /** Index targets with label smoothing: the two terms' sums, which reducedValue mixes as PyTorch does. */
  readonly smoothingParts?: { readonly nllSum: number; readonly smoothSum: number };
}

/**
 * Per-pixel row statistics over the class axis, computed the way PyTorch's log_softmax does:
 * max (the first NaN wins, as in torch.argmax), then log(sum(exp(x - max))).
 * For probs/log-probs inputs only the argmax is needed; `max`/`logSum` stay unused.
 */
function rowStats(
  x: TensorData,
  base: number,
  C: number,
  S: number,
  kind: CeProblem['options']['inputKind'],
  mx: Float64Array,
  am: Int32Array,
  ls: Float64Array,
): void {
  if (C === 0) {
    // No class to take the max over: no prediction (-1), and nothing of the input to read.
    am.fill(-1, 0, S);
    mx.fill(NaN, 0, S);
    ls.fill(NaN, 0, S);
    return;
  }
  for (let s = 0; s < S; s++) {
    mx[s] = x[base + s];
    am[s] = 0;
  }
  for (let c = 1; c < C; c++) {
    const row = base + c * S;
    for (let s = 0; s < S; s++) {
      const v = x[row + s];
      const m = mx[s];
      // NaN beats everything and the first NaN stays (m === m is false once m is NaN).
      if (m === m && (v > m || v !== v)) {
        mx[s] = v;
        am[s] = c;
      }
    }
  }
  if (kind !== 'logits') return;
  ls.fill(0, 0, S);
  for (let c = 0; c < C; c++) {
    const row = base + c * S;
    for (let s = 0; s < S; s++) ls[s] += Math.exp(x[row + s] - mx[s]);
  }
  for (let s = 0; s < S; s++) ls[s] = Math.log(ls[s]);
}

/** log p[c] for one element, given the row statistics (logits) or the input kind. */
export function logProb(kind: CeProblem['options']['inputKind'], v: number, max: number, logSum: number): number {
  if (kind === 'logits') return v - max - logSum;
  if (kind === 'probs') return Math.log(v);
  return v;
}

export function crossEntropyMaps(p: CeProblem): LossMaps {
  const { x, t, w, N, C, S, options } = p;
  const kind = options.inputKind;
  const eps = options.labelSmoothing;
  const M = N * S;
  const lossMap = new Float64Array(M);
  const predicted = new Int32Array(M);
  const targetClass = new Int32Array(M);
  const ignoredMask = new Uint8Array(M);
  // Row buffers only when there are rows: an empty [0, 3, 1e11] (a print's size=(...)) has S = 1e11.
  const R = M > 0 ? S : 0;
  const mx = new Float64Array(R);
  const am = new Int32Array(R);
  const lsum = new Float64Array(R);
  let numerator = 0;
  let denominator = 0;
  let nllSum = 0;
  let smoothSum = 0;
  // PyTorch adds the smoothing term of an ignored element, masked to 0, times eps / C: 0, or NaN (0 * inf)
  // for an input without classes.
  const ignoredLoss = eps > 0 ? 0 * (eps / C) : 0;

  // Without spatial elements there is nothing to add; rowStats would still walk all C classes per sample
  // (an empty [1, 2^30, 0, 0] took seconds).
  for (let n = 0; S > 0 && n < N; n++) {
    const base = n * C * S;
    rowStats(x, base, C, S, kind, mx, am, lsum);
    const out = n * S;
    for (let s = 0; s < S; s++) predicted[out + s] = am[s];

    if (p.targetKind === 'index') {
      const ignoreIndex = options.ignoreIndex;
      for (let s = 0; s < S; s++) {
        const tc = t[out + s];
        targetClass[out + s] = tc;
        if (tc === ignoreIndex) {
          ignoredMask[out + s] = 1;
          lossMap[out + s] = ignoredLoss;
          continue; // PyTorch leaves ignored elements out of both sums.
        }
        const wt = w ? w[tc] : 1;
        const nll = -wt * logProb(kind, x[base + tc * S + s], mx[s], lsum[s]);
        let loss = nll;
        if (eps > 0) {
          let smooth = 0;
          for (let c = 0; c < C; c++) {
            const lp = logProb(kind, x[base + c * S + s], mx[s], lsum[s]);
            smooth += w ? lp * w[c] : lp;
          }
          loss = (1 - eps) * nll + -smooth * (eps / C);
          nllSum += nll;
          smoothSum += -smooth;
        }
        lossMap[out + s] = loss;
        numerator += loss;
        denominator += wt;
      }
    } else {
      // Probability targets: -(sum_c logp * t' * w), t' = t (1 - eps) + eps / C; mean divides by N * S.
      for (let s = 0; s < S; s++) {
        let acc = 0;
        // The target's argmax; none (-1) without classes.
        let best = C > 0 ? 0 : -1;
        let bestV = t[base + s];
        for (let c = 0; c < C; c++) {
          const i = base + c * S + s;
          const tv = eps > 0 ? t[i] * (1 - eps) + eps / C : t[i];
          if (c > 0 && bestV === bestV && (t[i] > bestV || t[i] !== t[i])) {
            bestV = t[i];
            best = c;
          }
          let term = logProb(kind, x[i], mx[s], lsum[s]) * tv;
          if (w) term *= w[c];
          acc += term;
        }
        const loss = -acc;
        lossMap[out + s] = loss;
        targetClass[out + s] = best;
        numerator += loss;
      }
      // PyTorch divides by input.numel() / C, and returns NaN for an empty input: a denominator of 0 gives
      // that also when only C is 0.
      if (C > 0) denominator += S;
    }
  }
  const smoothingParts = p.targetKind === 'index' && eps > 0 ? { nllSum, smoothSum } : undefined;
  return { lossMap, predicted, targetClass, ignoredMask, numerator, denominator, smoothingParts };
}
