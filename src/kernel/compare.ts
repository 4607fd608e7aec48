// Compare Losses…: two runs (inputs A and B) against one target with the same options, element by element.
// Pure and linear: one pass over the elements and one over the classes (never C x C), so it serves both the
// CLI and the panel host on any loss map the engine keeps.
import { perClassLength } from './classLimits';

export interface CompareInputs {
  /** Unreduced losses of run A and run B (what reduction='none' returns), flat, same length. */
  readonly lossA: ArrayLike<number>;
  readonly lossB: ArrayLike<number>;
  /** Target class per element (the target is shared, so A's and B's are the same). */
  readonly targetClass: ArrayLike<number>;
  /** 1 where the element is ignored (ignore_index). */
  readonly ignored: ArrayLike<number>;
  /** Classes reported in perClass: 0 .. numClasses - 1 (none for an empty map above EMPTY_PER_CLASS_MAX). */
  readonly numClasses: number;
}

export interface ClassDelta {
  readonly class: number;
  /** Mean unreduced loss over the class's non-ignored elements in A and in B (NaN: the class has none). */
  readonly meanA: number;
  readonly meanB: number;
  readonly deltaMeanLoss: number;
}

export interface CompareMaps {
  /** B - A per element; NaN where ignored. */
  readonly delta: Float32Array;
  /** Non-ignored elements where B's loss is lower than A's / higher. */
  readonly improved: number;
  readonly regressed: number;
  readonly perClass: ClassDelta[];
}

export function compareLossMaps(i: CompareInputs): CompareMaps {
  const n = i.lossA.length;
  if (i.lossB.length !== n || i.targetClass.length !== n || i.ignored.length !== n) {
    throw new RangeError(`compareLossMaps: maps of different lengths (${n}, ${i.lossB.length}, ${i.targetClass.length}, ${i.ignored.length})`);
  }
  // An empty loss map of many classes has no class means to list (and must not allocate C of them).
  const C = perClassLength(i.numClasses, n);
  const delta = new Float32Array(n);
  const sumA = new Float64Array(C);
  const sumB = new Float64Array(C);
  const count = new Float64Array(C);
  let improved = 0;
  let regressed = 0;
  for (let e = 0; e < n; e++) {
    if (i.ignored[e]) {
      delta[e] = NaN;
      continue;
    }
    const a = i.lossA[e];
    const b = i.lossB[e];
    delta[e] = b - a;
    // A NaN loss on either side compares false both ways, so that element counts as neither improved nor
    // regressed: there is no telling which run did better there. (inf vs inf: equal, neither.)
    if (b < a) improved++;
    else if (b > a) regressed++;
    const t = i.targetClass[e];
    // The engine rejects targets outside [0, C) unless ignored; a stray one is left out of the class means.
    if (t >= 0 && t < C) {
      sumA[t] += a;
      sumB[t] += b;
      count[t]++;
    }
  }
  const perClass: ClassDelta[] = new Array<ClassDelta>(C);
  for (let c = 0; c < C; c++) {
    // 0 / 0 = NaN for a class without non-ignored elements, as the contract asks.
    const meanA = sumA[c] / count[c];
    const meanB = sumB[c] / count[c];
    perClass[c] = { class: c, meanA, meanB, deltaMeanLoss: meanB - meanA };
  }
  return { delta, improved, regressed, perClass };
}
