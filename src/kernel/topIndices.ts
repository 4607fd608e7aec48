// The k largest of n keyed items in one pass, for the views that show a few of up to millions of classes
// (the class bar chart, a breakdown's rows, a tooltip's top three): sorting all n took seconds at a
// million classes. Pure: the host, the workers and the view share it.

/**
 * The k indices in [0, n) of largest key(i), largest first (NaN left out), ties to the smaller tie(i) (by
 * default the index itself): one pass keeping a sorted list of k, O(n k) at worst for the small k used.
 */
export function topIndices(n: number, key: (i: number) => number, k: number, tie: (i: number) => number = (i) => i): number[] {
  const top: number[] = [];
  const keys: number[] = [];
  const ties: number[] = [];
  if (k <= 0) return top;
  // Whether (v, t) goes before kept entry j.
  const before = (v: number, t: number, j: number): boolean => v > keys[j] || (v === keys[j] && t < ties[j]);
  for (let i = 0; i < n; i++) {
    const v = key(i);
    if (Number.isNaN(v)) continue;
    const t = tie(i);
    // Full and not before the last kept: not in the top.
    if (top.length === k && !before(v, t, k - 1)) continue;
    let j = Math.min(top.length, k - 1);
    if (top.length < k) {
      top.push(i);
      keys.push(v);
      ties.push(t);
    }
    while (j > 0 && before(v, t, j - 1)) {
      top[j] = top[j - 1];
      keys[j] = keys[j - 1];
      ties[j] = ties[j - 1];
      j--;
    }
    top[j] = i;
    keys[j] = v;
    ties[j] = t;
  }
  return top;
}
