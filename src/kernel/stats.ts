// Statistics the UI shows next to the loss: per-class table, confusion matrix, worst elements.
import { unravelIndex } from '../errors';
import type { LossMaps } from './crossEntropy';
import type { ClassStats, LossStats, WorstElement } from './types';
import type { Problem } from './validate';

/** NaN is the worst loss of all: it is what a person most needs to find. */
function worse(a: number, b: number): boolean {
  if (a !== a) return b === b;
  return a > b;
}

export function computeStats(p: Problem, m: LossMaps, topK: number): LossStats {
  const C = p.C;
  const M = m.lossMap.length;
  const count = new Float64Array(C);
  const ignored = new Float64Array(C);
  const lossSum = new Float64Array(C);
  const predicted = new Float64Array(C);
  const correct = new Float64Array(C);
  const isBce = p.loss === 'bce';
  // For bce each channel is its own binary problem: IoU of its positives.
  const tp = new Float64Array(C);
  const fp = new Float64Array(C);
  const fn = new Float64Array(C);
  const confusion = new Float64Array(isBce ? 0 : C * C);
  let ignoredCount = 0;
  let nanCount = 0;
  let infCount = 0;
  let correctAll = 0;
  const worst: number[] = []; // flat indices, worst first
  const k = Math.max(0, Math.floor(topK));

  for (let i = 0; i < M; i++) {
    const tc = m.targetClass[i];
    if (m.ignoredMask[i]) {
      ignoredCount++;
      if (tc >= 0 && tc < C) ignored[tc]++;
      continue;
    }
    const loss = m.lossMap[i];
    if (loss !== loss) nanCount++;
    else if (loss === Infinity || loss === -Infinity) infCount++;
    const pc = m.predicted[i];
    const c = isBce ? Math.floor(i / (p as { inner: number }).inner) % C : tc;
    count[c]++;
    lossSum[c] += loss;
    if (isBce) {
      if (pc) predicted[c]++;
      if (pc === tc) {
        correct[c]++;
        correctAll++;
      }
      if (pc && tc) tp[c]++;
      else if (pc) fp[c]++;
      else if (tc) fn[c]++;
    } else {
      predicted[pc]++;
      confusion[tc * C + pc]++;
      if (pc === tc) {
        correct[c]++;
        correctAll++;
      }
    }
    if (k > 0 && (worst.length < k || worse(loss, m.lossMap[worst[worst.length - 1]]))) {
      let j = worst.length < k ? worst.length : k - 1;
      while (j > 0 && worse(loss, m.lossMap[worst[j - 1]])) {
        if (j < k) worst[j] = worst[j - 1];
        j--;
      }
      worst[j] = i;
    }
  }

  let total = 0;
  for (let c = 0; c < C; c++) total += lossSum[c];
  const perClass: ClassStats[] = [];
  for (let c = 0; c < C; c++) {
    let iou: number;
    if (isBce) {
      iou = tp[c] / (tp[c] + fp[c] + fn[c]);
    } else {
      const diag = confusion[c * C + c];
      iou = diag / (count[c] + predicted[c] - diag);
    }
    perClass.push({
      index: c,
      count: count[c],
      ignored: ignored[c],
      lossSum: lossSum[c],
      lossMean: lossSum[c] / count[c],
      weight: p.loss === 'ce' && p.w ? p.w[c] : 1,
      share: lossSum[c] / total,
      accuracy: correct[c] / count[c],
      iou,
      predicted: predicted[c],
    });
  }
  const valid = M - ignoredCount;
  const worstElements: WorstElement[] = worst.map((flat) => ({
    flat,
    index: unravelIndex(flat, p.lossShape),
    loss: m.lossMap[flat],
    target: m.targetClass[flat],
    predicted: m.predicted[flat],
  }));
  return {
    numClasses: C,
    perClass,
    confusion,
    ignoredCount,
    elementCount: M,
    accuracy: correctAll / valid,
    nanCount,
    infCount,
    worst: worstElements,
  };
}
