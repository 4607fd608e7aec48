#!/usr/bin/env python3
"""Independent NumPy model of confident-learning label-issue detection, written from docs/label-issues.md.

This file does NOT import cleanlab and contains no cleanlab code: it re-derives every quantity from the
description in docs/label-issues.md (sections are cited as "§n"). test/parity/generators/label_issues_generate.py
runs it next to cleanlab on every fixture and fails if the two disagree, which is what proves that the
document is precise enough to reimplement.

Ties: cleanlab orders with NumPy's default argsort (kind='quicksort', an introsort that is not stable).
argsort_numpy() below re-implements NumPy 1.24's algorithm as described in §8.1; with SORT = 'numpy' the
model reproduces cleanlab exactly, ties included. With SORT = 'stable' equal keys keep index order
instead, which agrees with NumPy for lists of at most 16 items; the generator reports which fixtures
depend on the difference.

Usage (also imported by the generator):
    /usr/bin/python3 test/parity/generators/label_issues_reference.py      # runs the tiny worked examples of §8
"""

import numpy as np

EPS = 1e-6            # the fuzz added to threshold comparisons and to the given label's probability
THRESHOLD_FLOOR = 2e-6  # per-class thresholds are never below this
ABSENT_THRESHOLD = 2.0  # filter.find_label_issues: threshold of a class nobody is labelled with
BATCH = 10000           # default batch size (examples; for segmentation: pixels*classes budget, §6)
SORT = 'numpy'          # 'numpy' (NumPy 1.24 introsort, §8.1) or 'stable'


def _less(a, b):
    """NumPy's float order: NaN after everything, NaNs equal to each other."""
    return a < b or (b != b and a == a)


def _heapsort(v, idx, lo, count):
    """§8.1 fallback: heapsort of idx[lo:lo+count] by v (a 1-based binary max-heap)."""
    def get(i):
        return idx[lo + i - 1]

    def put(i, val):
        idx[lo + i - 1] = val

    def sift(top, tmp, m):
        i, j = top, top * 2
        while j <= m:
            if j < m and _less(v[get(j)], v[get(j + 1)]):
                j += 1
            if _less(v[tmp], v[get(j)]):
                put(i, get(j))
                i, j = j, j * 2
            else:
                break
        put(i, tmp)

    m = count
    for top in range(m >> 1, 0, -1):
        sift(top, get(top), m)
    while m > 1:
        tmp = get(m)
        put(m, get(1))
        m -= 1
        sift(1, tmp, m)


def argsort_numpy(values):
    """§8.1: NumPy 1.24's default argsort (introsort) for float64, written out so that its order of equal
    keys is reproducible without NumPy. Verified against np.argsort by the generator."""
    v = [float(x) for x in np.asarray(values, dtype=np.float64).ravel()]
    n = len(v)
    idx = list(range(n))
    stack = []
    lo, hi = 0, n - 1
    depth = 2 * (n.bit_length() - 1) if n > 0 else 0
    while True:
        if depth < 0:
            _heapsort(v, idx, lo, hi - lo + 1)
        else:
            while hi - lo > 15:
                mid = lo + ((hi - lo) >> 1)
                if _less(v[idx[mid]], v[idx[lo]]):
                    idx[mid], idx[lo] = idx[lo], idx[mid]
                if _less(v[idx[hi]], v[idx[mid]]):
                    idx[hi], idx[mid] = idx[mid], idx[hi]
                if _less(v[idx[mid]], v[idx[lo]]):
                    idx[mid], idx[lo] = idx[lo], idx[mid]
                pivot = v[idx[mid]]
                i, j = lo, hi - 1
                idx[mid], idx[j] = idx[j], idx[mid]
                while True:
                    i += 1
                    while _less(v[idx[i]], pivot):
                        i += 1
                    j -= 1
                    while _less(pivot, v[idx[j]]):
                        j -= 1
                    if i >= j:
                        break
                    idx[i], idx[j] = idx[j], idx[i]
                idx[i], idx[hi - 1] = idx[hi - 1], idx[i]
                depth -= 1
                if i - lo < hi - i:
                    stack.append((i + 1, hi, depth))
                    hi = i - 1
                else:
                    stack.append((lo, i - 1, depth))
                    lo = i + 1
            for a in range(lo + 1, hi + 1):  # insertion sort of what is left
                item = idx[a]
                key = v[item]
                b = a
                while b > lo and _less(key, v[idx[b - 1]]):
                    idx[b] = idx[b - 1]
                    b -= 1
                idx[b] = item
        if not stack:
            break
        lo, hi, depth = stack.pop()
    return np.array(idx, dtype=np.int64)


def argsort(values):
    """Ascending order of `values` with cleanlab's tie order (SORT='numpy') or index order ('stable')."""
    if SORT == 'stable':
        return np.argsort(np.asarray(values, dtype=np.float64), kind='stable')
    return argsort_numpy(values)


def _pairwise(a, lo, n):
    """§8.2: NumPy's pairwise summation of a[lo:lo+n] (float64, Python floats)."""
    if n < 8:
        r = 0.0
        for i in range(lo, lo + n):
            r += a[i]
        return r
    if n <= 128:
        r = a[lo:lo + 8]
        i = 8
        while i < n - (n % 8):
            r = [r[j] + a[lo + i + j] for j in range(8)]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2)


def np_sum(values):
    """§8.2: what np.sum / np.mean's numerator gives for a float64 array read in the given order:
    blocks of 8192 values, each summed pairwise, the block sums added left to right."""
    a = [float(x) for x in np.asarray(values, dtype=np.float64).ravel()]
    total = 0.0
    for lo in range(0, len(a), 8192):
        total += _pairwise(a, lo, min(8192, len(a) - lo))
    return total


def np_mean(values):
    v = np.asarray(values, dtype=np.float64).ravel()
    return np_sum(v) / len(v)


def softmax64(logits, axis):
    """§1: p = e / s with e = exp(x - max(x)) and s = e_0 + e_1 + ... + e_{K-1} added in class order, in
    float64 (x = the stored logits widened to float64)."""
    x = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, 0)
    e = np.exp(x - x.max(axis=0))
    s = np.zeros_like(e[0])
    for k in range(e.shape[0]):
        s = s + e[k]
    return np.moveaxis(e / s, 0, axis)


def first_argmax(p):
    """§2: the predicted class is the lowest index among the maximal probabilities."""
    return np.argmax(p, axis=1)


def self_confidence(labels, p):
    """§2: the probability the model gives to the given label."""
    return p[np.arange(len(labels)), labels]


def label_near_argmax(labels, p):
    """§5.2 rule: True where the given label, with EPS added to its probability, is the first
    argmax. Such examples are never reported by the classification functions."""
    q = p.copy()
    q[np.arange(len(labels)), labels] += EPS
    return np.argmax(q, axis=1) == labels


# ---------------------------------------------------------------------------------------------------
# §3 batched (LabelInspector / find_label_issues_batched / segmentation.find_label_issues)
# ---------------------------------------------------------------------------------------------------

def batched_thresholds(labels, p, batches):
    """§3.1: running, count-weighted mean of per-batch class means, floored at THRESHOLD_FLOOR after
    every batch. `batches` is a list of (start, end) example ranges."""
    K = p.shape[1]
    t = np.zeros(K)
    n = np.zeros(K)
    for s, e in batches:
        y = labels[s:e]
        pb = p[s:e]
        c = np.bincount(y, minlength=K).astype(float)
        m = np.array([np_mean(pb[y == k, k]) if c[k] > 0 else 0.0 for k in range(K)])
        m = np.maximum(m, THRESHOLD_FLOOR)  # a present class's batch mean is floored too
        m[c == 0] = 0.0                     # an absent class contributes nothing (weight 0)
        t = (n * t + c * m) / np.maximum(n + c, 1)
        t = np.maximum(t, THRESHOLD_FLOOR)
        n += c
    return t


def batched_num_issues(labels, p, t):
    """§3.2: examples whose predicted class differs from the label and whose predicted-class probability
    reaches that class's threshold (minus EPS)."""
    a = first_argmax(p)
    pa = p[np.arange(len(labels)), a]
    return int(np.sum((a != labels) & (pa >= t[a] - EPS)))


def lowest_scores(scores, count):
    """§3.3: indices of the `count` lowest scores (ties: §8)."""
    return argsort(scores)[:count]


def batched_classification(labels, p, batch_size=BATCH):
    """§3: find_label_issues_batched with defaults. Returns a dict of everything it derives."""
    N = len(labels)
    batches = [(s, min(s + batch_size, N)) for s in range(0, N, batch_size)]
    t = batched_thresholds(labels, p, batches)
    T = batched_num_issues(labels, p, t)
    scores = self_confidence(labels, p)
    cand = lowest_scores(scores, T)
    mask = np.zeros(N, bool)
    mask[cand] = True
    mask[label_near_argmax(labels, p)] = False
    return {'thresholds': t, 'numIssuesEstimate': T, 'scores': scores, 'candidates': cand,
            'issues': np.flatnonzero(mask)}


def segmentation_issues(labels_nhw, p_nkhw, batch_size=BATCH, downsample=1):
    """§6: segmentation.find_label_issues (default downsample=1; §6.3 for other factors)."""
    N, K, H, W = p_nkhw.shape
    if downsample != 1:
        f = downsample
        h, w = H // f, W // f
        small_y = np.round(labels_nhw.reshape(N, h, f, w, f).mean(axis=(4, 2)))
        small_p = p_nkhw.reshape(N, K, h, f, w, f).mean(axis=(5, 3))
        small_p = small_p / small_p.sum(axis=1, keepdims=True)
        r = segmentation_issues_full(small_y.astype(np.int64), small_p, batch_size, argmax_rule=False)
        big = r['issues'].repeat(f, axis=1).repeat(f, axis=2)
        big[np.argmax(p_nkhw, axis=1) == labels_nhw] = False
        r['issues'] = big
        return r
    return segmentation_issues_full(labels_nhw, p_nkhw, batch_size)


def segmentation_issues_full(labels_nhw, p_nkhw, batch_size=BATCH, argmax_rule=True):
    N, K, H, W = p_nkhw.shape
    per = max(batch_size // (K * H * W), 1)  # whole images per batch
    y = labels_nhw.reshape(-1).astype(np.int64)
    batches = [(s * H * W, min(s + per, N) * H * W) for s in range(0, N, per)]
    p = np.moveaxis(p_nkhw, 1, -1).reshape(-1, K)  # pixels in image, row, column order
    t = batched_thresholds(y, p, batches)
    T = batched_num_issues(y, p, t)
    scores = self_confidence(y, p)
    cand = lowest_scores(scores, T)
    mask = np.zeros(len(y), bool)
    mask[cand] = True
    if argmax_rule:
        mask[first_argmax(p) == y] = False  # plain argmax here, no EPS (§6.2)
    return {'thresholds': t, 'numIssuesEstimate': T, 'candidates': cand,
            'batches': batches, 'issues': mask.reshape(N, H, W)}


def softmin(scores, temperature=0.1):
    """§7: sum_i s_i * softmax((1 - s_i) / temperature)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    x = (1.0 - s) / temperature
    w = np.exp(x - x.max())
    return float(np.dot(s, w / w.sum()))


def common_label_issues(issues, labels, predicted, K, top=20):
    """§7: rows (given, predicted, count) of flagged pixels; count desc, then given asc, predicted asc."""
    counts = {}
    for g, q in zip(labels[issues].ravel().tolist(), predicted[issues].ravel().tolist()):
        counts[(g, q)] = counts.get((g, q), 0) + 1
    rows = sorted(((g, q, c) for (g, q), c in counts.items() if 0 <= g < K), key=lambda r: (-r[2], r[0], r[1]))
    return rows[:top]


# ---------------------------------------------------------------------------------------------------
# §4-5 filter.find_label_issues (prune_by_noise_rate)
# ---------------------------------------------------------------------------------------------------

def global_thresholds(labels, p):
    """§4.1: mean self-confidence per given class over the whole dataset; ABSENT_THRESHOLD for a class
    with no examples; floored at THRESHOLD_FLOOR."""
    K = p.shape[1]
    t = np.array([np_mean(p[labels == k, k]) if np.any(labels == k) else ABSENT_THRESHOLD for k in range(K)])
    return np.maximum(t, THRESHOLD_FLOOR)


def confident_joint(labels, p, t):
    """§4.2: cj[given, guessed true class]; diagonal floored at 1."""
    K = p.shape[1]
    conf = p >= t - EPS
    nconf = conf.sum(axis=1)
    guess = np.where(nconf > 1, first_argmax(p), np.argmax(conf, axis=1))
    cj = np.zeros((K, K), dtype=np.int64)
    keep = nconf > 0
    np.add.at(cj, (labels[keep], guess[keep]), 1)
    off = np.flatnonzero(keep)[guess[keep] != labels[keep]]
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    return cj, off


def round_keep_total(x):
    """§4.3: round half to even, then move units until the integers add up to the rounded float total.
    Units go to the largest remainders (x - rounded) when adding, to the smallest when removing; see
    §8 for the order among equal remainders."""
    x = np.asarray(x, dtype=float)
    r = np.round(x)
    goal = np.round(np_sum(x))
    while abs(np.round(r.sum()) - goal) > EPS:
        diff = goal - np.round(r.sum())
        inc = 1 if diff > 0 else -1
        n = min(int(abs(diff)), len(x))
        order = argsort(x - r)
        pick = order[::-1][:n] if inc > 0 else order[:n]
        r[pick] += inc
    return r.astype(np.int64)


def calibrated_float(cj, labels):
    """§4.3 before rounding: scale each row to the number of examples given that label, then the whole
    matrix to N (its total is summed column by column, §8.2)."""
    K = cj.shape[0]
    counts = np.bincount(labels, minlength=K).astype(float)
    c = (cj.T / np.maximum(cj.sum(axis=1), 1e-100) * counts).T
    total = np_sum(c.T)
    return c / max(total, 1e-100) * counts.sum()


def calibrate(cj, labels):
    """§4.3: the calibrated confident joint, each row rounded keeping its total."""
    return np.array([round_keep_total(row) for row in calibrated_float(cj, labels)])


def prune_counts(ccj):
    """§5.1: per given class k (a column of the transposed matrix), how many examples to flag for each
    other class j; at least one example per class is kept."""
    m = ccj.T.astype(float)
    K = m.shape[0]
    out = m.copy()
    for k in range(K):
        col = m[:, k]
        d = col[k]
        if d < 1:
            div = max(np.count_nonzero(col) - 1.0, 1.0)
            newcol = col - (1 - d) / div
            newcol[newcol < 0] = 0
            newcol[k] = 1
            out[:, k] = newcol
    return np.trunc(out).astype(np.int64)  # counts are truncated toward zero


def num_label_issues(labels, p):
    """§4.4: count.num_label_issues with defaults: off-diagonal examples of the (uncalibrated) confident
    joint, less those whose label is (nearly) the argmax."""
    t = global_thresholds(labels, p)
    _, off = confident_joint(labels, p, t)
    return int(np.sum(~label_near_argmax(labels[off], p[off])))


def find_label_issues(labels, p):
    """§4-5: filter.find_label_issues with defaults (filter_by='prune_by_noise_rate')."""
    N, K = p.shape
    t = global_thresholds(labels, p)
    cj, off = confident_joint(labels, p, t)
    ccj = calibrate(cj, labels)
    pc = prune_counts(ccj)
    mask = np.zeros(N, bool)
    for k in range(K):
        members = np.flatnonzero(labels == k)
        if len(members) <= 1:
            continue
        for j in range(K):
            n = pc[j, k]
            if j == k or n <= 0:
                continue
            margin = p[members, j] - p[members, k]
            order = argsort(-margin)
            mask[members[order[:n]]] = True
    mask[label_near_argmax(labels, p)] = False
    return {'thresholds': t, 'confidentJoint': cj, 'offDiagonal': off, 'calibratedJoint': ccj,
            'pruneCounts': pc, 'issues': np.flatnonzero(mask)}


if __name__ == '__main__':
    # argsort_numpy against NumPy (the default argsort, and kind='heapsort' for the fallback)
    rng = np.random.default_rng(0)
    bad = 0
    for trial in range(2000):
        n = int(rng.integers(0, 200))
        a = rng.integers(0, 1 + trial % 9, n).astype(float)
        if trial % 5 == 0 and n:
            a[rng.integers(0, n, max(1, n // 8))] = np.nan
        bad += not np.array_equal(argsort_numpy(a), np.argsort(a))
        idx = list(range(n))
        _heapsort([float(x) for x in a], idx, 0, n)
        bad += not np.array_equal(np.array(idx, dtype=np.int64), np.argsort(a, kind='heapsort'))
    print('argsort_numpy mismatches vs NumPy', np.__version__, ':', bad)
    # np_sum against np.sum
    bad = 0
    for trial in range(200):
        n = int(rng.integers(0, 30000))
        a = rng.random(n) * np.exp(rng.normal(size=n) * 4)
        bad += np_sum(a) != np.sum(a)
    print('np_sum mismatches vs np.sum:', bad)
    # §8 worked examples
    p = np.array([[0.5, 0.25, 0.25]])
    print('argmax of [0.5,0.25,0.25]:', first_argmax(p))
    p = np.array([[0.4, 0.4, 0.2]])
    print('argmax of a tie [0.4,0.4,0.2]:', first_argmax(p), 'label 1 near argmax:', label_near_argmax(np.array([1]), p))
    print('round_keep_total([1.5, 1.5]) ->', round_keep_total([1.5, 1.5]))
    print('round_keep_total([0.5, 0.5, 2.0]) ->', round_keep_total([0.5, 0.5, 2.0]))
