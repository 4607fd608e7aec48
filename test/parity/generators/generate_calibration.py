#!/usr/bin/env python3
"""NumPy side of the calibration-edge test (test/parity/calibrationEdges.test.ts).

  generate_calibration.py candidates --seed S --classes C --bins 5,10,15,20
      JSON on stdout: for every B and b in 1..B, logit rows of C classes whose float64 softmax (top_prob
      below) is exactly b / B, and interior rows whose top probability is far from every edge of every B.
  generate_calibration.py expect PRED_DIR LABEL_DIR --bins B --ignore-index I
      JSON on stdout: what `eval --bins B --json` must report for calibration, from NumPy in float64 with
      equal-width bins (lo, hi] (edges k / B, as DESIGN.md's eval contract and the report list them); also
      the counts the off-by-one rule [lo, hi) would give, and how many pixels lie exactly on an inner edge.

A row of probability p = b / B: the top class at logit 0, q = (B - b) // b more classes tied with it (so
1 + q terms of exactly 1), one class at d = log(r) for the remainder r = (B - b) % b / b (d searched over
nearby doubles until the float64 softmax gives exactly b / B; rows without such a d are dropped), the rest at
-1e4 (exp gives exactly 0), the columns permuted. Ties put the argmax on the first of the tied classes.
"""

import argparse
import json
import os
import sys

import numpy as np


def top_prob(row):
    """Top-class softmax probability of one row, float64, as np.softmax would compute it."""
    row = np.ascontiguousarray(row, dtype=np.float64)
    e = np.exp(row - row.max())
    return float((e / e.sum()).max())


def edge_rows(rng, B, b, C, variants):
    p = np.float64(b) / np.float64(B)
    if b == B:
        base, d0 = [0.0], None
    else:
        q, rem = divmod(B - b, b)
        base = [0.0] * (1 + q)
        d0 = float(np.log(rem / b)) if rem else None
    if len(base) + (d0 is not None) > C:
        return []
    def nearby():
        # d0, then its neighbours one double further out on alternating sides.
        up = down = d0
        yield d0
        for _ in range(100):
            up = float(np.nextafter(up, np.inf))
            down = float(np.nextafter(down, -np.inf))
            yield up
            yield down

    out = []
    for d in (nearby() if d0 is not None else [None] * 20):
        vals = base + ([d] if d is not None else [])
        row = np.full(C, -1e4)
        row[:len(vals)] = vals
        row = row[rng.permutation(C)]
        if top_prob(row) == p:
            out.append([float(v) for v in row])
            if len(out) == variants:
                break
    return out


def candidates(args):
    rng = np.random.default_rng(args.seed)
    C = args.classes
    bins = [int(v) for v in args.bins.split(',')]
    edges = {}
    for B in bins:
        edges[str(B)] = [{'b': b, 'rows': edge_rows(rng, B, b, C, 3)} for b in range(1, B + 1)]
    interior = []
    all_edges = np.unique(np.concatenate([np.arange(B + 1) / B for B in bins]))
    while len(interior) < 400:
        row = rng.standard_normal(C) * rng.choice([0.5, 1.5, 4.0])
        p = top_prob(row)
        if np.min(np.abs(all_edges - p)) > 1e-6:
            interior.append([float(v) for v in row])
    json.dump({'classes': C, 'edges': edges, 'interior': interior}, sys.stdout)


def expect(args):
    B = args.bins
    ii = args.ignore_index
    edges = np.arange(B + 1) / B
    tops, hits = [], []
    for name in sorted(os.listdir(args.pred_dir)):
        x = np.load(os.path.join(args.pred_dir, name)).astype(np.float64)
        t = np.load(os.path.join(args.label_dir, name)).astype(np.int64)
        C, H, W = x.shape
        for h in range(H):
            for w in range(W):
                if t[h, w] == ii:
                    continue
                row = x[:, h, w]
                tops.append(top_prob(row))
                hits.append(int(np.argmax(row)) == int(t[h, w]))
    top = np.array(tops)
    hit = np.array(hits, dtype=np.float64)
    n = top.size

    def binned(side):
        # side 'left': edges[i-1] < p <= edges[i], the (lo, hi] rule; 'right': the [lo, hi) rule.
        return np.clip(np.searchsorted(edges, top, side=side) - 1, 0, B - 1)

    idx = binned('left')
    count = np.bincount(idx, minlength=B)
    conf = np.bincount(idx, weights=top, minlength=B)
    acc = np.bincount(idx, weights=hit, minlength=B)
    ece, mce = 0.0, 0.0
    confidence, accuracy = [], []
    for k in range(B):
        if count[k] == 0:
            confidence.append(None)
            accuracy.append(None)
            continue
        c, a = conf[k] / count[k], acc[k] / count[k]
        confidence.append(float(c))
        accuracy.append(float(a))
        ece += count[k] / n * abs(c - a)
        mce = max(mce, abs(c - a))
    inner = np.isin(top, edges[1:-1])
    json.dump({
        'pixels': int(n), 'ece': float(ece), 'mce': float(mce), 'count': [int(v) for v in count],
        'confidence': confidence, 'accuracy': accuracy,
        'countLeftClosed': [int(v) for v in np.bincount(binned('right'), minlength=B)],
        'onInnerEdges': int(inner.sum()),
    }, sys.stdout)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('candidates')
    c.add_argument('--seed', type=int, default=0)
    c.add_argument('--classes', type=int, default=24)
    c.add_argument('--bins', default='5,10,15,20')
    e = sub.add_parser('expect')
    e.add_argument('pred_dir')
    e.add_argument('label_dir')
    e.add_argument('--bins', type=int, required=True)
    e.add_argument('--ignore-index', type=int, default=255)
    args = ap.parse_args(argv)
    (candidates if args.cmd == 'candidates' else expect)(args)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
