#!/usr/bin/env python3
"""Writes the confident-learning (label-issue) fixtures for Cross-Entropy Lens from cleanlab's OUTPUTS.

cleanlab is AGPL-3.0. It is run only here, by this generator, to produce reference outputs; no cleanlab
code is copied into the project and neither the extension nor CI needs it. The algorithm the product
implements is described in our own words in docs/label-issues.md; label_issues_reference.py (next to
this file) is an independent NumPy model of that document, and this generator checks it against
cleanlab on every case before writing anything.

How to run (cleanlab 2.9.0 = github.com/cleanlab/cleanlab tag v2.9.0, commit 75062574...):
    git clone --depth 1 --branch v2.9.0 https://github.com/cleanlab/cleanlab /tmp/cleanlab-src
    PYTHONPATH=/tmp/cleanlab-src /usr/bin/python3 test/parity/generators/label_issues_generate.py [OUTDIR]
OUTDIR defaults to test/fixtures/label-issues. cleanlab's own dependencies are numpy, scikit-learn,
scipy, pandas, tqdm and termcolor (Debian: python3-sklearn python3-pandas python3-tqdm python3-termcolor);
no optional dependency and no stub is needed. The output is a pure function of SEED below (and of the
NumPy version where noted in docs/label-issues.md §8: tie order beyond 16 items). It takes ~15 s.

Output: one manifest.json plus .npy files (written by np.save; little-endian, C order):
  <id>.logits.npy   float32  segmentation [N,K,H,W] (class axis 1); classification [N,K]; LM [B,T,V]
  <id>.labels.npy   uint8 [N,H,W] (255 = ignored) | int64 [N] | int64 [B,T] (-100 = ignored)
  and expected outputs named in each case's "files". pred_probs are the softmax of the stored logits
  over the class axis, computed in float64 (the float32 logits are widened to float64, the row maximum
  subtracted, exp, divided by the sum of the exponentials added in class order: ref.softmax64); they
  are also stored (<id>.pred_probs.npy, float64) for cases of at most 100000 values.

Calls (all with default algorithm arguments; verbose=False only silences printing):
  cleanlab.segmentation.filter.find_label_issues(labels, pred_probs)
  cleanlab.segmentation.rank.get_label_quality_scores(labels, pred_probs)    (softmin, temperature 0.1)
  cleanlab.segmentation.summary.common_label_issues(issues, labels, pred_probs)   (top=20, and top=K*K)
  cleanlab.experimental.label_issues_batched.find_label_issues_batched(labels=..., pred_probs=...)
  cleanlab.filter.find_label_issues(labels, pred_probs)
  cleanlab.rank.get_label_quality_scores(labels, pred_probs)
The LabelInspector that the batched and segmentation functions create internally is captured by a
subclass installed in place of cleanlab's class name (it only records the instance), so its
confident_thresholds, get_num_issues() and get_label_issues() (the ranked candidates) are recorded.

Ignored pixels / tokens: cleanlab has no ignore index (labels must be in 0..K-1; 255 makes
segmentation find_label_issues raise ValueError and get_label_quality_scores raise IndexError, see the
manifest's "ignoreIndexProbe"). Our semantics, used here: ignored pixels are removed before calling
cleanlab. The non-ignored pixels of all images, in (image, row, column) order, form one flat pixel
dataset passed to cleanlab's segmentation functions as one 1 x M "image"; image scores are computed per
image on that image's non-ignored pixels (also a 1 x M_i image); an image with no non-ignored pixel has
no score (null). Ignored pixels are never issues and have NaN pixel scores. LM tokens with label -100
are dropped; the remaining tokens, in (sequence, position) order, are the classification examples.
"""

import contextlib
import io
import json
import math
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import label_issues_reference as ref  # noqa: E402

import cleanlab  # noqa: E402
import cleanlab.experimental.label_issues_batched as cl_batched  # noqa: E402
import cleanlab.filter as cl_filter  # noqa: E402
import cleanlab.rank as cl_rank  # noqa: E402
import cleanlab.count as cl_count  # noqa: E402
import cleanlab.segmentation.filter as seg_filter  # noqa: E402
import cleanlab.segmentation.rank as seg_rank  # noqa: E402
import cleanlab.segmentation.summary as seg_summary  # noqa: E402

SEED = 20250611
VOID = 255
IGNORE_TOKEN = -100
CLEANLAB_COMMIT = '750625747de1b26d8530954f51f0530bd0b51d3c'  # tag v2.9.0


# ----- capture the LabelInspector that cleanlab's functions build internally -----------------------

class RecordingInspector(cl_batched.LabelInspector):
    last = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        RecordingInspector.last = self


cl_batched.LabelInspector = RecordingInspector
seg_filter.LabelInspector = RecordingInspector


def inspector_record():
    lab = RecordingInspector.last
    return {
        'thresholds': np.array(lab.get_confident_thresholds(silent=True), dtype=np.float64),
        'numIssuesEstimate': int(lab.get_num_issues(silent=True)),
        'candidates': np.asarray(lab.get_label_issues(), dtype=np.int64),
        'examplesPerClass': [int(v) for v in lab.examples_per_class],
    }


@contextlib.contextmanager
def quiet():
    """cleanlab's tqdm bars (common_label_issues shows one even with verbose=False) go nowhere."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        yield


# ----- helpers -------------------------------------------------------------------------------------

def softmax64(logits, axis):
    return ref.softmax64(logits, axis)


def flist(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def ilist(a):
    return [int(v) for v in np.asarray(a).ravel()]


def jnum(v):
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return v


class Failures:
    def __init__(self):
        self.items = []

    def check(self, ok, what):
        if not ok:
            self.items.append(what)
            print(f'  DISAGREE: {what}')


FAIL = Failures()


def max_rel(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ok = ~(np.isnan(a) | np.isnan(b))
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)))


# ----- decision margins (how close any compared quantity is to its boundary) -------------------------

def top2_gap(p):
    s = np.sort(p, axis=1)
    g = s[:, -1] - s[:, -2]
    g = g[g > 0]
    return float(g.min()) if g.size else None


def batched_margins(y, p, t, T, scores, candidates, seg):
    a = np.argmax(p, axis=1)
    pa = p[np.arange(len(y)), a]
    off = a != y
    thr_gap = float(np.min(np.abs(pa[off] - (t[a[off]] - ref.EPS)))) if off.any() else None
    out = {'thresholdGap': thr_gap, 'argmaxGap': top2_gap(p)}
    s = np.sort(scores)
    if 0 < T < len(s):
        out['cutoffGap'] = float(s[T] - s[T - 1])
    else:
        out['cutoffGap'] = None
    if not seg and len(candidates):
        c = np.asarray(candidates)
        q = p[c].copy()
        v = q[np.arange(len(c)), y[c]] + ref.EPS
        q[np.arange(len(c)), y[c]] = -np.inf
        out['reduceGap'] = float(np.min(np.abs(q.max(axis=1) - v)))
    return out


def tie_at_cutoff(scores, T, cleanlab_candidates):
    """When equal scores straddle the T-th position, which of them did cleanlab take, and is that the
    lowest-index-first choice (docs §8)?"""
    n = len(scores)
    if not (0 < T < n):
        return None
    s = np.sort(scores)
    if s[T] != s[T - 1]:
        return None
    v = s[T - 1]
    tied = np.flatnonzero(scores == v)
    inside = T - int(np.sum(scores < v))
    chosen = sorted(int(i) for i in cleanlab_candidates if scores[i] == v)
    return {'score': float(v), 'tied': ilist(tied), 'taken': inside, 'cleanlabTook': chosen,
            'lowestIndexFirst': chosen == ilist(tied[:inside]), 'listLength': n}


def filter_margins(y, p, t, cj, ccj_float, pc):
    K = p.shape[1]
    finite = t < 1.5
    g = np.abs(p[:, finite] - (t[finite] - ref.EPS))
    frac = np.abs(ccj_float - np.floor(ccj_float) - 0.5)
    prune_gap = None
    ties = []
    for k in range(K):
        members = np.flatnonzero(y == k)
        if len(members) <= 1:
            continue
        for j in range(K):
            n = int(pc[j, k])
            if j == k or n <= 0 or n >= len(members):
                continue
            m = np.sort(p[members, j] - p[members, k])[::-1]
            gap = float(m[n - 1] - m[n])
            prune_gap = gap if prune_gap is None else min(prune_gap, gap)
            if gap == 0:
                ties.append({'given': k, 'other': j, 'n': n, 'members': len(members)})
    return {'thresholdGap': float(g.min()) if g.size else None,
            'calibrationHalfGap': float(frac.min()),
            'pruneCutoffGap': prune_gap, 'pruneCutoffTies': ties}


# ----- the generator ------------------------------------------------------------------------------

class Generator:
    def __init__(self, outdir):
        self.outdir = outdir
        self.cases = []
        self.bytes = 0

    def maybe_probs(self, cid, p):
        """pred_probs as float64 for cases small enough (<= 100000 values): a test can then check the
        label-issue logic on exactly cleanlab's input, independent of its own softmax and exp."""
        if p.size <= 100000:
            return {'predProbs': self.save(f'{cid}.pred_probs.npy', np.ascontiguousarray(p, dtype=np.float64))}
        return {}

    def save(self, name, arr):
        path = os.path.join(self.outdir, name)
        np.save(path, arr, allow_pickle=False)
        self.bytes += os.path.getsize(path)
        return name

    # ---- classification (also used for LM tokens) ----

    def classification_expect(self, cid, y, p, K):
        """Runs the three classification functions and the reference; returns the expect dict."""
        N = len(y)
        with quiet():
            b_idx = cl_batched.find_label_issues_batched(labels=y, pred_probs=p, verbose=False)
        b = inspector_record()
        with quiet():
            f_mask = cl_filter.find_label_issues(y, p)
            scores = cl_rank.get_label_quality_scores(y, p)
            t_f = cl_count.get_confident_thresholds(y, p)
            cj_raw, off = cl_count.compute_confident_joint(y, p, calibrate=False, return_indices_of_off_diagonals=True)
            ccj = cl_count.calibrate_confident_joint(cj_raw, y)
            pc = cl_filter._keep_at_least_n_per_class(prune_count_matrix=ccj.T, n=1, frac_noise=1.0)
            num_off_diag = int(cl_count.num_label_issues(y, p))
        f_idx = np.flatnonzero(f_mask)

        # independent model of the document
        tie = tie_at_cutoff(scores, b['numIssuesEstimate'], b['candidates'])
        fm = filter_margins(y, p, t_f, cj_raw, ref.calibrated_float(cj_raw, y), pc)
        exact = np.array_equal(scores, p[np.arange(N), y])
        tie_dependent = []
        for mode in ('numpy', 'stable'):
            ref.SORT = mode
            rb = ref.batched_classification(y, p)
            rf = ref.find_label_issues(y, p)
            diffs = [what for ok, what in [
                (np.array_equal(rb['thresholds'], b['thresholds']), f'batched thresholds (max rel {max_rel(rb["thresholds"], b["thresholds"]):.3g})'),
                (rb['numIssuesEstimate'] == b['numIssuesEstimate'], f'batched T {rb["numIssuesEstimate"]} vs {b["numIssuesEstimate"]}'),
                (np.array_equal(rb['candidates'], b['candidates']), 'batched candidates (ranked)'),
                (np.array_equal(rb['issues'], b_idx), 'batched issues'),
                (exact and np.array_equal(rb['scores'], scores), 'self-confidence'),
                (np.array_equal(rf['thresholds'], t_f), 'filter thresholds'),
                (np.array_equal(rf['confidentJoint'], cj_raw), 'confident joint'),
                (np.array_equal(rf['offDiagonal'], np.asarray(off)), 'off-diagonal examples'),
                (np.array_equal(rf['calibratedJoint'], ccj), 'calibrated joint'),
                (np.array_equal(rf['pruneCounts'], pc), 'prune counts'),
                (np.array_equal(rf['issues'], f_idx), f'filter issues ({len(rf["issues"])} vs {len(f_idx)})'),
                (ref.num_label_issues(y, p) == num_off_diag, 'num_label_issues'),
            ] if not ok]
            if mode == 'numpy':
                for d in diffs:
                    FAIL.check(False, f'{cid}: {d}')
            else:
                tie_dependent = diffs
        ref.SORT = 'numpy'

        arrays = {
            'batchedIssues': np.asarray(b_idx, dtype=np.int64),
            'batchedCandidates': b['candidates'],
            'filterIssues': f_idx.astype(np.int64),
            'qualityScores': np.asarray(scores, dtype=np.float64),
        }
        expect = {
            'batched': {
                'thresholds': flist(b['thresholds']),
                'examplesPerClass': b['examplesPerClass'],
                'batchSize': 10000,
                'numBatches': (N + 9999) // 10000,
                'numIssuesEstimate': b['numIssuesEstimate'],
                'numIssues': int(len(b_idx)),
                'tieAtCutoff': tie,
                'margins': batched_margins(y, p, b['thresholds'], b['numIssuesEstimate'], scores, b['candidates'], seg=False),
            },
            'filter': {
                'thresholds': flist(t_f),
                'confidentJoint': [ilist(r) for r in cj_raw],
                'calibratedJoint': [ilist(r) for r in ccj],
                'pruneCounts': [ilist(r) for r in pc],
                'numIssues': int(len(f_idx)),
                'numLabelIssuesOffDiagonal': num_off_diag,
                'margins': fm,
            } if K <= 100 else {
                'thresholds': flist(t_f),
                'numIssues': int(len(f_idx)),
                'numLabelIssuesOffDiagonal': num_off_diag,
                'confidentJointNonzero': [[int(i), int(j), int(cj_raw[i, j])] for i, j in zip(*np.nonzero(cj_raw))],
                'calibratedJointNonzero': [[int(i), int(j), int(ccj[i, j])] for i, j in zip(*np.nonzero(ccj))],
                'margins': fm,
            },
        }
        expect['differsWithStableTieOrder'] = tie_dependent
        return arrays, expect

    def classification_case(self, cid, logits, y, note):
        K = logits.shape[1]
        p = softmax64(logits, axis=1)
        arrays, expect = self.classification_expect(cid, y, p, K)
        files = {'logits': self.save(f'{cid}.logits.npy', logits.astype(np.float32)),
                 'labels': self.save(f'{cid}.labels.npy', y.astype(np.int64)),
                 'batchedIssues': self.save(f'{cid}.batched_issues.npy', arrays['batchedIssues']),
                 'batchedCandidates': self.save(f'{cid}.batched_candidates.npy', arrays['batchedCandidates']),
                 'filterIssues': self.save(f'{cid}.filter_issues.npy', arrays['filterIssues']),
                 'qualityScores': self.save(f'{cid}.quality_scores.npy', arrays['qualityScores']),
                 **self.maybe_probs(cid, p)}
        counts = np.bincount(y, minlength=K)
        self.cases.append({'id': cid, 'kind': 'classification', 'N': int(len(y)), 'K': int(K), 'note': note,
                           'classAxis': 1, 'files': files,
                           'unlabelledClasses': ilist(np.flatnonzero(counts == 0)),
                           'singletonClasses': ilist(np.flatnonzero(counts == 1)),
                           'expect': expect})
        e = expect
        print(f'{cid}: N={len(y)} K={K} batched T={e["batched"]["numIssuesEstimate"]} -> {e["batched"]["numIssues"]}, '
              f'filter {e["filter"]["numIssues"]}')

    def lm_case(self, cid, logits, labels, note):
        B, T, V = logits.shape
        keep = labels != IGNORE_TOKEN
        pos = np.flatnonzero(keep.ravel())
        y = labels[keep].astype(np.int64)
        p = softmax64(logits.reshape(B * T, V)[pos], axis=1)
        arrays, expect = self.classification_expect(cid, y, p, V)
        # cleanlab's indices count kept tokens only; the fixture stores flat positions b*T+t instead
        q = np.full(B * T, np.nan)
        q[pos] = arrays['qualityScores']
        files = {
            'logits': self.save(f'{cid}.logits.npy', logits.astype(np.float32)),
            'labels': self.save(f'{cid}.labels.npy', labels.astype(np.int64)),
            'batchedIssues': self.save(f'{cid}.batched_issues.npy', pos[arrays['batchedIssues']].astype(np.int64)),
            'batchedCandidates': self.save(f'{cid}.batched_candidates.npy', pos[arrays['batchedCandidates']].astype(np.int64)),
            'filterIssues': self.save(f'{cid}.filter_issues.npy', pos[arrays['filterIssues']].astype(np.int64)),
            'qualityScores': self.save(f'{cid}.quality_scores.npy', q.reshape(B, T)),
        }
        self.cases.append({'id': cid, 'kind': 'lm-tokens', 'shape': [B, T, V], 'K': int(V), 'note': note,
                           'classAxis': -1, 'ignoreIndex': IGNORE_TOKEN,
                           'numTokens': int(B * T), 'numKept': int(len(pos)),
                           'indexSpace': 'flat position b*T+t in the [B,T] label grid (cleanlab saw only the kept tokens, in that order)',
                           'files': files,
                           'unlabelledClasses': int(np.sum(np.bincount(y, minlength=V) == 0)),
                           'expect': expect})
        print(f'{cid}: tokens {len(pos)}/{B * T} batched T={expect["batched"]["numIssuesEstimate"]} -> '
              f'{expect["batched"]["numIssues"]}, filter {expect["filter"]["numIssues"]}')

    # ---- segmentation ----

    def segmentation_case(self, cid, logits, labels, note):
        N, K, H, W = logits.shape
        p = softmax64(logits, axis=1)
        keep = labels != VOID
        direct = bool(keep.all())
        flat_y = labels[keep].astype(np.int64)               # (image, row, column) order
        flat_p = np.moveaxis(p, 1, -1)[keep]                  # [M, K]
        M = len(flat_y)
        as_img_y = flat_y.reshape(1, 1, M)
        as_img_p = np.ascontiguousarray(flat_p.T).reshape(1, K, 1, M)

        with quiet():
            if direct:
                issues = seg_filter.find_label_issues(labels.astype(np.int64), p, verbose=False)
                insp = inspector_record()
                # the flattened call (our semantics for ignored pixels) must agree with the direct one
                flat_issues = seg_filter.find_label_issues(as_img_y, as_img_p, verbose=False)
                flat_insp = inspector_record()
                FAIL.check(np.array_equal(flat_issues.reshape(-1), issues.reshape(-1)), f'{cid}: flattened call differs from direct call')
                flat_thr_rel = max_rel(flat_insp['thresholds'], insp['thresholds'])
                img_scores, pix_scores = seg_rank.get_label_quality_scores(labels.astype(np.int64), p, verbose=False)
                img_scores = [float(v) for v in img_scores]
                table = seg_summary.common_label_issues(issues, labels.astype(np.int64), p, verbose=False)
                table_all = seg_summary.common_label_issues(issues, labels.astype(np.int64), p, top=K * K, verbose=False)
                issues_flat = issues.reshape(-1)
            else:
                fi = seg_filter.find_label_issues(as_img_y, as_img_p, verbose=False)
                insp = inspector_record()
                issues = np.zeros((N, H, W), dtype=bool)
                issues[keep] = fi.reshape(-1)
                issues_flat = fi.reshape(-1)
                img_scores = []
                pix_scores = np.full((N, H, W), np.nan)
                empty_error = None
                for i in range(N):
                    ki = keep[i]
                    mi = int(ki.sum())
                    if mi == 0:
                        try:
                            seg_rank.get_label_quality_scores(np.zeros((1, 1, 0), np.int64), np.zeros((1, K, 1, 0)), verbose=False)
                        except Exception as e:  # noqa: BLE001 - recorded as evidence
                            empty_error = f'{type(e).__name__}: {e}'
                        img_scores.append(None)
                        continue
                    yi = labels[i][ki].astype(np.int64).reshape(1, 1, mi)
                    pi = np.ascontiguousarray(np.moveaxis(p[i], 0, -1)[ki].T).reshape(1, K, 1, mi)
                    s_img, s_pix = seg_rank.get_label_quality_scores(yi, pi, verbose=False)
                    img_scores.append(float(s_img[0]))
                    pix_scores[i][ki] = s_pix.reshape(-1)
                table = seg_summary.common_label_issues(fi, as_img_y, as_img_p, verbose=False)
                table_all = seg_summary.common_label_issues(fi, as_img_y, as_img_p, top=K * K, verbose=False)
                flat_thr_rel = None

        # reference model, in cleanlab's tie order and in index order
        scores_flat = flat_p[np.arange(M), flat_y]
        tie = tie_at_cutoff(scores_flat, insp['numIssuesEstimate'], insp['candidates'])
        tie_dependent = []
        for mode in ('numpy', 'stable'):
            ref.SORT = mode
            if direct:
                r = ref.segmentation_issues(labels.astype(np.int64), p)
            else:
                r = ref.segmentation_issues(as_img_y, as_img_p)
            diffs = [what for ok, what in [
                (np.array_equal(r['thresholds'], insp['thresholds']), f'thresholds (max rel {max_rel(r["thresholds"], insp["thresholds"]):.3g})'),
                (r['numIssuesEstimate'] == insp['numIssuesEstimate'], f'T {r["numIssuesEstimate"]} vs {insp["numIssuesEstimate"]}'),
                (np.array_equal(r['candidates'], insp['candidates']), 'candidates (ranked)'),
                (np.array_equal(r['issues'].reshape(-1), issues_flat), 'issues mask'),
            ] if not ok]
            if mode == 'numpy':
                for d in diffs:
                    FAIL.check(False, f'{cid}: {d}')
            else:
                tie_dependent = diffs
        ref.SORT = 'numpy'
        ref_scores = []
        for i in range(N):
            s = pix_scores[i][keep[i]]
            ref_scores.append(ref.softmin(s) if s.size else None)
        FAIL.check(all((a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-12)
                       for a, b in zip(ref_scores, img_scores)), f'{cid}: image scores')
        own = np.take_along_axis(p, np.where(keep, labels, 0).astype(np.int64)[:, None], axis=1)[:, 0]
        FAIL.check(np.array_equal(np.where(keep, own, np.nan), pix_scores, equal_nan=True), f'{cid}: pixel scores')
        pred = np.argmax(flat_p, axis=1)
        ref_rows = ref.common_label_issues(issues_flat, flat_y, pred, K, top=20)
        rows = [{'given': int(g), 'predicted': int(q), 'count': int(c)} for g, q, c in
                zip(table['given_label'], table['predicted_label'], table['num_pixel_issues'])]
        rows_all = [{'given': int(g), 'predicted': int(q), 'count': int(c)} for g, q, c in
                    zip(table_all['given_label'], table_all['predicted_label'], table_all['num_pixel_issues'])]
        FAIL.check([(d['given'], d['predicted'], d['count']) for d in rows] == ref_rows, f'{cid}: common_label_issues')

        files = {
            'logits': self.save(f'{cid}.logits.npy', logits.astype(np.float32)),
            'labels': self.save(f'{cid}.labels.npy', labels.astype(np.uint8)),
            'issues': self.save(f'{cid}.issues.npy', issues.astype(np.bool_)),
            'pixelScores': self.save(f'{cid}.pixel_scores.npy', pix_scores.astype(np.float64)),
            **self.maybe_probs(cid, p),
        }
        counts = np.bincount(flat_y, minlength=K)
        case = {
            'id': cid, 'kind': 'segmentation', 'N': N, 'K': K, 'H': H, 'W': W, 'note': note,
            'classAxis': 1, 'ignoreIndex': VOID,
            'numPixels': int(N * H * W), 'numIgnored': int((~keep).sum()),
            'ignoredPerImage': ilist((~keep).reshape(N, -1).sum(axis=1)),
            'call': 'direct: labels [N,H,W], pred_probs [N,K,H,W]' if direct else
                    'flattened: the M non-ignored pixels as labels [1,1,M], pred_probs [1,K,1,M]; image scores per image as [1,1,M_i]',
            'unlabelledClasses': ilist(np.flatnonzero(counts == 0)),
            'files': files,
            'expect': {
                'thresholds': flist(insp['thresholds']),
                'examplesPerClass': insp['examplesPerClass'],
                'thresholdBatches': [[int(a), int(b)] for a, b in r['batches']],
                'numIssuesEstimate': insp['numIssuesEstimate'],
                'numIssues': int(issues.sum()),
                'issuesPerImage': ilist(issues.reshape(N, -1).sum(axis=1)),
                'imageScores': [jnum(v) for v in img_scores],
                'softminTemperature': 0.1,
                'commonLabelIssues': rows,
                'commonLabelIssuesAll': rows_all,
                'commonLabelIssuesColumns': list(table.columns),
                'tieAtCutoff': tie,
                'differsWithStableTieOrder': tie_dependent,
                'margins': batched_margins(flat_y, flat_p, insp['thresholds'], insp['numIssuesEstimate'], scores_flat,
                                           insp['candidates'], seg=True),
            },
        }
        if direct:
            case['expect']['flattenedCallThresholdMaxRelDiff'] = flat_thr_rel
            # downsample (not a default; the document's §6.3 is checked here, nothing is stored but counts)
            checks = {}
            for f in (2, 4):
                if H % f or W % f:
                    continue
                with quiet():
                    ds = seg_filter.find_label_issues(labels.astype(np.int64), p, downsample=f, verbose=False)
                rd = ref.segmentation_issues(labels.astype(np.int64), p, downsample=f)['issues']
                FAIL.check(np.array_equal(ds, rd), f'{cid}: downsample={f}')
                checks[str(f)] = {'numIssues': int(ds.sum()), 'referenceAgrees': bool(np.array_equal(ds, rd))}
            case['downsampleCheck'] = checks
        if not direct and any(v is None for v in img_scores):
            case['expect']['emptyImageError'] = empty_error
        self.cases.append(case)
        print(f'{cid}: {N}x{K}x{H}x{W} ignored {case["numIgnored"]} T={insp["numIssuesEstimate"]} -> issues {int(issues.sum())}'
              f' rows {len(rows)}/{len(rows_all)}')



# ----- data with planted structure ------------------------------------------------------------------

def rects(rng, H, W, n):
    out = []
    for _ in range(n):
        h = int(rng.integers(max(2, H // 6), max(3, H // 2)))
        w = int(rng.integers(max(2, W // 6), max(3, W // 2)))
        r = int(rng.integers(0, H - h + 1))
        c = int(rng.integers(0, W - w + 1))
        out.append((r, c, h, w))
    return out


def seg_data(rng, K, N, H, W, *, void=True, missing=None, all_void_image=None):
    classes = [k for k in range(K) if k != missing]
    truth = np.zeros((N, H, W), dtype=np.int64)
    for i in range(N):
        truth[i] = rng.choice(classes)
        for (r, c, h, w) in rects(rng, H, W, int(rng.integers(2, 6))):
            truth[i, r:r + h, c:c + w] = rng.choice(classes)
    strength = rng.uniform(1.5, 4.0, size=(N, 1, 1))
    logits = rng.normal(0.0, 1.0, size=(N, K, H, W))
    onehot = np.moveaxis(np.eye(K)[truth], -1, 1)
    logits += onehot * strength[:, None]
    # confused class pairs: where the truth is a, class b gets a boost
    pairs = [(classes[0], classes[1 % len(classes)])]
    if len(classes) > 3:
        pairs.append((classes[2], classes[3]))
    for a, b in pairs:
        boost = rng.uniform(0, 3.5, size=(N, H, W)) * (truth == a)
        logits[:, b] += boost
    if missing is not None:  # the never-labelled class is sometimes predicted (where class 1 is true)
        logits[:, missing] += (truth == classes[1]) * rng.uniform(0, 5.0, size=(N, H, W))
    labels = truth.copy()
    # a relabelled region in three images (the annotator used the wrong class)
    for i in rng.choice(N, size=min(3, N), replace=False):
        r, c, h, w = rects(rng, H, W, 1)[0]
        labels[i, r:r + h, c:c + w] = (labels[i, r:r + h, c:c + w] + 1 + int(rng.integers(0, len(classes) - 1))) % K
        if missing is not None:
            labels[i][labels[i] == missing] = classes[0]
    # scattered random flips
    flip = rng.random((N, H, W)) < 0.02
    labels[flip] = rng.choice(classes, size=int(flip.sum()))
    logits = logits.astype(np.float32)
    if void:
        add_void(rng, labels)
        if all_void_image is not None:
            labels[all_void_image] = VOID
    return logits, labels


def add_void(rng, labels):
    N, H, W = labels.shape
    for i in range(N):
        if rng.random() < 0.6:  # a frame, as around a crop
            wdt = int(rng.integers(1, 3))
            labels[i, :wdt, :] = VOID
            labels[i, -wdt:, :] = VOID
        r, c, h, w = rects(rng, H, W, 1)[0]  # an unlabelled blob
        labels[i, r:r + h // 2 + 1, c:c + w // 2 + 1] = VOID


def seg_ties_data(rng, K=5, N=8, H=16, W=16):
    """Pixels of seven kinds, built so that exact ties reach the cut-off region of the ranking:
    easy and hard correctly-labelled pixels (the hard ones pull the thresholds down to ~0.55), 'mild'
    errors (the label is the runner-up at ~0.22, the true class above its threshold: they are counted),
    gross errors, pixels whose K logits are all equal (every class 1/K = 0.2: the label ties for the top
    and is the argmax only when it is class 0), pixels where the label and one other class share the top
    logit, and pixels where two classes other than the label share the top logit."""
    truth = np.zeros((N, H, W), dtype=np.int64)
    for i in range(N):
        truth[i] = rng.integers(0, K)
        for _ in range(4):
            r, c = rng.integers(0, H - 3), rng.integers(0, W - 3)
            truth[i, r:r + int(rng.integers(3, 9)), c:c + int(rng.integers(3, 9))] = rng.integers(0, K)
    labels = truth.copy()
    alt = (truth + 1 + rng.integers(0, K - 1, size=(N, H, W))) % K
    logits = rng.normal(0, 0.1, size=(N, K, H, W))
    u = rng.random((N, H, W))
    kind = np.select([u < 0.35, u < 0.75, u < 0.87, u < 0.92, u < 0.95, u < 0.98], [0, 1, 2, 3, 4, 5], 6).ravel()
    n_, h_, w_ = np.indices((N, H, W)).reshape(3, -1)
    t_, a_ = truth.ravel(), alt.ravel()

    def add(sel, cls, val):
        logits[n_[sel], cls[sel], h_[sel], w_[sel]] += val

    add(kind == 0, t_, 4.0)                        # easy, correct
    add(kind == 1, t_, 1.25)                       # hard, correct
    add(kind == 2, t_, 4.0)                        # mild error
    add(kind == 2, a_, 2.8)
    add(kind == 4, t_, 4.0)                        # gross error
    lab = labels.reshape(-1)
    lab[kind == 2] = a_[kind == 2]
    lab[kind == 4] = a_[kind == 4]
    logits = logits.astype(np.float32)
    for i in np.flatnonzero(kind == 3):            # all K logits equal
        logits[n_[i], :, h_[i], w_[i]] = 0.0
    for i in np.flatnonzero(kind == 5):            # the label and one other class share the top
        o = (lab[i] + 1 + int(rng.integers(0, K - 1))) % K
        logits[n_[i], :, h_[i], w_[i]] = 0.0
        logits[n_[i], [lab[i], o], h_[i], w_[i]] = 3.0
    for i in np.flatnonzero(kind == 6):            # two classes other than the label share the top
        a, b = [int(k) for k in rng.permutation(K) if k != lab[i]][:2]
        logits[n_[i], [a, b], h_[i], w_[i]] = 4.0
    labels = lab.reshape(N, H, W)
    add_void(rng, labels)
    return logits, labels


def cls_data(rng, N, K, *, noise=0.1, scale=1.0, margin=3.0, missing=(), singleton=None, pairs=1):
    classes = np.array([k for k in range(K) if k not in missing])
    prior = rng.dirichlet(np.ones(len(classes)) * 2.0)
    truth = classes[rng.choice(len(classes), size=N, p=prior)]
    if singleton is not None:
        truth[truth == singleton] = classes[0]
        truth[int(rng.integers(N))] = singleton
    logits = rng.normal(0, scale, size=(N, K)) + margin * np.eye(K)[truth] * rng.uniform(0.3, 1.5, size=(N, 1))
    for _ in range(pairs):  # a confused pair
        a, b = rng.choice(classes, size=2, replace=False)
        sel = truth == a
        logits[sel, b] += rng.uniform(0, margin, size=int(sel.sum()))
    for m in missing:  # predicted sometimes, never given
        sel = rng.random(N) < 0.02
        logits[sel, m] += margin * 1.5
    labels = truth.copy()
    flip = rng.random(N) < noise
    if singleton is not None:
        flip[labels == singleton] = False
    labels[flip] = classes[rng.integers(0, len(classes), size=int(flip.sum()))]
    if singleton is not None:
        labels[(labels == singleton) & (truth != singleton)] = classes[0]
    return logits.astype(np.float32), labels.astype(np.int64)


def tiny_ties():
    """N=12, K=3, small integer logits (found by a seed search): three examples share the score at the
    batched cut-off (two are taken), equal margins straddle a prune cut-off, and seven examples have
    their label's probability tied with another class. Lists of at most 16 items: NumPy's sort keeps
    index order among equal keys here."""
    logits = np.array([[1, 2, 2], [1, 3, 1], [2, 1, 1], [3, 0, 2], [1, 2, 3], [1, 2, 2],
                       [1, 0, 2], [0, 3, 3], [3, 0, 3], [3, 2, 3], [3, 3, 0], [0, 1, 0]], dtype=np.float32)
    labels = np.array([1, 2, 2, 1, 1, 1, 2, 0, 2, 0, 1, 1], dtype=np.int64)
    return logits, labels


def integer_ties(seed=1354, N=40, K=3):
    """Logits in {0,1,2,3}: many exact ties in a list longer than 16, where NumPy's introsort does NOT
    keep index order. Seed 1354 was picked (by a search) so that both the batched and the filter
    result differ from what index-order tie breaking would give."""
    rng = np.random.default_rng(seed)
    logits = rng.integers(0, 4, size=(N, K)).astype(np.float32)
    labels = rng.integers(0, K, N).astype(np.int64)
    return logits, labels


def lm_data(rng, B=4, T=64, V=1000):
    ranks = np.arange(1, V + 1)
    zipf = 1.0 / ranks ** 1.1
    zipf /= zipf.sum()
    perm = rng.permutation(V)
    truth = perm[rng.choice(V, size=(B, T), p=zipf)]
    logits = rng.normal(0, 1.0, size=(B, T, V))
    conf = rng.uniform(2.0, 9.0, size=(B, T))
    np.put_along_axis(logits, truth[..., None], np.take_along_axis(logits, truth[..., None], axis=-1) + conf[..., None], axis=-1)
    # a few near-synonym confusions: the next vocabulary id is also likely
    syn = rng.random((B, T)) < 0.15
    nb = (truth + 1) % V
    bi, ti = np.nonzero(syn)
    logits[bi, ti, nb[syn]] = logits[bi, ti, truth[syn]] + rng.uniform(-1, 1.5, size=int(syn.sum()))
    labels = truth.copy()
    flip = rng.random((B, T)) < 0.1
    labels[flip] = perm[rng.choice(V, size=int(flip.sum()), p=zipf)]
    # padding at the end of sequences and a few masked prompt tokens
    for b, n in enumerate([0, 9, 23, 40]):
        if n:
            labels[b, T - n:] = IGNORE_TOKEN
    labels[:, :3] = IGNORE_TOKEN
    return logits.astype(np.float32), labels.astype(np.int64)


# ----- evidence about ignore indices -----------------------------------------------------------------

def probe_ignore_index():
    rng = np.random.default_rng(7)
    N, K, H, W = 2, 3, 4, 5
    p = softmax64(rng.normal(size=(N, K, H, W)).astype(np.float32), axis=1)
    y = rng.integers(0, K, size=(N, H, W))
    y[0, 0, :3] = VOID
    out = {}
    for name, fn in [
        ('segmentation.filter.find_label_issues', lambda: seg_filter.find_label_issues(y, p, verbose=False)),
        ('segmentation.rank.get_label_quality_scores', lambda: seg_rank.get_label_quality_scores(y, p, verbose=False)),
    ]:
        try:
            with quiet():
                fn()
            out[name] = 'no error'
        except Exception as e:  # noqa: BLE001 - recorded as evidence
            out[name] = f'{type(e).__name__}: {e}'
    mask = np.zeros_like(y, dtype=bool)
    mask[0, 0, :3] = True
    mask[1, 0, 0] = True
    with quiet():
        df = seg_summary.common_label_issues(mask, y, p, verbose=False)
    out['segmentation.summary.common_label_issues'] = (
        f'no error; pixels labelled {VOID} that are in the issues mask are silently left out of the table '
        f'(rows: {[(g, q, int(c)) for g, q, c in zip(df["given_label"], df["predicted_label"], df["num_pixel_issues"])]})')
    try:
        with quiet():
            cl_batched.find_label_issues_batched(labels=np.array([0, 1, 2, IGNORE_TOKEN] * 3), pred_probs=np.full((12, 3), 1 / 3), verbose=False)
        out['experimental.label_issues_batched.find_label_issues_batched with -100'] = 'no error'
    except Exception as e:  # noqa: BLE001
        out['experimental.label_issues_batched.find_label_issues_batched with -100'] = f'{type(e).__name__}: {e}'
    return out


def doc_examples():
    """The worked examples of docs/label-issues.md §8, run through cleanlab (and the reference model).
    Each entry is [what the document states, what cleanlab gave]; any mismatch fails the run."""
    from cleanlab.internal.util import round_preserving_sum
    out = {}

    def record(name, stated, got):
        FAIL.check(stated == got, f'doc example {name}: document says {stated}, cleanlab gives {got}')
        out[name] = {'stated': stated, 'cleanlab': got}

    with quiet():
        # §8 (a): argmax ties take the lowest class index, also inside the confident joint
        P = np.array([[.5, .3, .2], [.4, .3, .3], [.3, .5, .2], [.3, .4, .3], [.1, .1, .8], [.45, .45, .1]])
        y = np.array([0, 0, 1, 1, 2, 2])
        record('a.thresholds', [0.45, 0.45, 0.45], [round(float(v), 12) for v in cl_count.get_confident_thresholds(y, P)])
        record('a.confidentJoint', [[1, 0, 0], [0, 1, 0], [1, 0, 1]], [ilist(r) for r in cl_count.compute_confident_joint(y, P, calibrate=False)])
        # §4.2: several confident classes -> overall argmax even when the argmax itself is not confident;
        # exactly one confident class -> that class even when it is not the argmax
        P = np.array([[0.98, 0.01, 0.01]] * 5 + [[0.6, 0.2, 0.2]] * 6 + [[0.5, 0.25, 0.25]])
        y = np.array([0] * 5 + [1] * 3 + [2] * 3 + [1])
        cj, off = cl_count.compute_confident_joint(y, P, calibrate=False, return_indices_of_off_diagonals=True)
        record('b.confidentJoint', [[5, 0, 0], [1, 1, 3], [0, 0, 3]], [ilist(r) for r in cj])
        record('b.offDiagonal', [5, 6, 7, 11], ilist(off))
        # §4.3 rounding ties
        record('c.round[1.5,1.5]', [1, 2], ilist(round_preserving_sum([1.5, 1.5])))
        record('c.round[0.5,0.5,2.0]', [0, 1, 2], ilist(round_preserving_sum([0.5, 0.5, 2.0])))
        # §5.1: a class whose calibrated diagonal rounds to 0 keeps all its examples
        P = np.array([[.05, .9, .05], [.05, .05, .9]] + [[.1, .8, .1]] * 3 + [[.1, .1, .8]] * 3)
        y = np.array([0, 0, 1, 1, 1, 2, 2, 2])
        cj = cl_count.compute_confident_joint(y, P, calibrate=False)
        ccj = cl_count.calibrate_confident_joint(cj, y)
        record('d.confidentJoint', [[1, 1, 1], [0, 3, 0], [0, 0, 3]], [ilist(r) for r in cj])
        record('d.calibratedJoint', [[0, 1, 1], [0, 3, 0], [0, 0, 3]], [ilist(r) for r in ccj])
        record('d.pruneCounts', [[1, 0, 0], [0, 3, 0], [0, 0, 3]], [ilist(r) for r in cl_filter._keep_at_least_n_per_class(ccj.T, 1)])
        record('d.filterIssues', [], ilist(np.flatnonzero(cl_filter.find_label_issues(y, P))))
        record('d.batchedIssues', [0, 1], ilist(cl_batched.find_label_issues_batched(labels=y, pred_probs=P, verbose=False)))
        # §5.2 vs §6.2: a label tied for the top with a lower class index
        lg = np.array([[1, 0, 2], [0, 0, 0], [1, 1, 0], [0, 1, 0], [0, 2, 1]], dtype=np.float32)
        y = np.array([2, 2, 0, 0, 0])
        p = softmax64(lg, axis=1)
        record('e.batchedIssues', [3, 4], ilist(cl_batched.find_label_issues_batched(labels=y, pred_probs=p, verbose=False)))
        lab = RecordingInspector.last
        record('e.batchedThresholdClass1', 2e-06, float(lab.get_confident_thresholds(silent=True)[1]))
        record('e.numIssuesEstimate', 3, int(lab.get_num_issues(silent=True)))
        record('e.candidates', [4, 3, 1], ilist(lab.get_label_issues()))
        record('e.filterThresholdClass1', 2.0, float(cl_count.get_confident_thresholds(y, p)[1]))
        seg = seg_filter.find_label_issues(y.reshape(1, 1, 5), np.ascontiguousarray(p.T).reshape(1, 3, 1, 5), verbose=False)
        record('e.segmentationIssues', [1, 3, 4], ilist(np.flatnonzero(seg.reshape(-1))))
        # §8.1: equal keys in a list longer than 16 do not keep index order
        a = np.array([1.0, 0.0] * 10)
        record('f.argsort', [9, 17, 15, 13, 11, 7, 19, 5, 3, 1, 8, 18, 10, 4, 12, 14, 2, 16, 6, 0], ilist(np.argsort(a)))
        record('f.argsortModel', ilist(np.argsort(a)), ilist(ref.argsort_numpy(a)))
    return out


def main(argv):
    outdir = argv[0] if argv else os.path.join(HERE, '..', '..', 'fixtures', 'label-issues')
    outdir = os.path.normpath(outdir)
    os.makedirs(outdir, exist_ok=True)
    for name in os.listdir(outdir):  # a rerun replaces the previous output
        if name.endswith('.npy') or name == 'manifest.json':
            os.remove(os.path.join(outdir, name))
    t0 = time.time()
    g = Generator(outdir)
    rng = np.random.default_rng(SEED)

    # segmentation
    lg, lb = seg_data(rng, 2, 8, 16, 20, all_void_image=5)
    g.segmentation_case('seg-k2', lg, lb, 'binary; image 5 is entirely ignored (no image score)')
    lg, lb = seg_data(rng, 3, 8, 20, 24, void=False)
    g.segmentation_case('seg-k3', lg, lb, 'no ignored pixels: cleanlab called directly on [N,H,W] (2 threshold batches of 6+2 images); '
                        'the flattened call is checked to give the same issues')
    lg, lb = seg_data(rng, 7, 8, 24, 32, missing=5)
    g.segmentation_case('seg-k7', lg, lb, 'class 5 is never labelled but is sometimes predicted')
    lg, lb = seg_data(rng, 19, 8, 24, 40)
    g.segmentation_case('seg-k19', lg, lb, '19 classes (Cityscapes-like); more than 20 (given, predicted) pairs, so the default table is truncated')
    lg, lb = seg_ties_data(rng)
    g.segmentation_case('seg-ties-k5', lg, lb, 'exact ties in pred_probs (see seg_ties_data): all-equal pixels reach the '
                        'ranking cut-off, so the plain-argmax rule (§6) decides which of them stay issues')

    # classification
    lg, lb = tiny_ties()
    g.classification_case('cls-ties-n12-k3', lg, lb, 'hand-made integer logits: ties in scores at the batched cut-off, '
                          'ties in margins at a prune cut-off, ties between the label and another class')
    lg = np.array([[1, 0, 2], [0, 0, 0], [1, 1, 0], [0, 1, 0], [0, 2, 1]], dtype=np.float32)
    g.classification_case('cls-ties-n5-k3', lg, np.array([2, 2, 0, 0, 0], dtype=np.int64),
                          'docs §8 example (e): example 1 has all classes equal and label 2; it is a candidate but the '
                          'classification rule (label + 1e-6 is the argmax) drops it; class 1 is never labelled')
    lg, lb = integer_ties()
    g.classification_case('cls-ties-n40-k3', lg, lb, 'integer logits, ties in lists longer than 16: cleanlab keeps '
                          "NumPy 1.24 introsort's order of equal keys, which is not index order (docs §8.1)")
    lg, lb = cls_data(rng, 200, 2, noise=0.12)
    g.classification_case('cls-n200-k2', lg, lb, 'binary')
    lg, lb = cls_data(rng, 500, 5, noise=0.15, pairs=2)
    g.classification_case('cls-n500-k5', lg, lb, 'two confused pairs, 15% flipped labels')
    lg, lb = cls_data(rng, 1000, 10, noise=0.1, missing=(7,), singleton=3, pairs=2)
    g.classification_case('cls-n1000-k10', lg, lb, 'class 7 never labelled (sometimes predicted); class 3 has exactly one example')
    lg, lb = cls_data(rng, 23456, 4, noise=0.08)
    g.classification_case('cls-n23456-k4', lg, lb, 'three batches of 10000 in find_label_issues_batched (running-mean thresholds)')
    lg, lb = cls_data(rng, 10000, 100, noise=0.1, scale=1.5, margin=5.0, pairs=10)
    g.classification_case('cls-n10000-k100', lg, lb, 'the large case')

    # LM tokens
    lg, lb = lm_data(rng)
    g.lm_case('lm-4x64x1000', lg, lb, 'class axis last; -100 on the first 3 positions and on padding (0, 9, 23, 40 tokens)')

    probe = probe_ignore_index()
    examples = doc_examples()
    total = sum(os.path.getsize(os.path.join(outdir, f)) for f in os.listdir(outdir) if f.endswith('.npy'))
    manifest = {
        'generator': 'test/parity/generators/label_issues_generate.py',
        'reference': 'test/parity/generators/label_issues_reference.py',
        'doc': 'docs/label-issues.md',
        'cleanlab': {'version': cleanlab.__version__, 'tag': 'v2.9.0', 'commit': CLEANLAB_COMMIT,
                     'source': 'https://github.com/cleanlab/cleanlab', 'license': 'AGPL-3.0 (outputs only are committed)'},
        'python': platform.python_version(),
        'numpy': np.__version__,
        'seed': SEED,
        'predProbs': 'softmax of the stored float32 logits over the class axis in float64: x = float64(logits); '
                     'e = exp(x - max(x)); p = e / (e_0 + e_1 + ... + e_{K-1}), the sum taken in class order. '
                     'Cases with at most 100000 values also store these pred_probs (files.predProbs).',
        'inspectorCapture': 'thresholds, numIssuesEstimate (LabelInspector.get_num_issues()) and candidates '
                            '(LabelInspector.get_label_issues(), ranked) come from the LabelInspector instance that '
                            "find_label_issues_batched / segmentation.find_label_issues build internally: the generator "
                            'replaces the class name in those modules by a subclass that only records the instance.',
        'indexFiles': 'issue / candidate files hold int64 indices; classification issue lists ascend (cleanlab '
                      'returns them so); candidates are in cleanlab ranking order (lowest self-confidence first)',
        'ignoreIndexProbe': probe,
        'docExamples': examples,
        'referenceDisagreements': FAIL.items,
        'cases': g.cases,
    }
    head = json.dumps({k: v for k, v in manifest.items() if k != 'cases'}, allow_nan=False, indent=1)[:-2]
    body = ',\n  '.join(json.dumps(c, allow_nan=False) for c in manifest['cases'])
    text = f'{head},\n "cases": [\n  {body}\n ]\n}}\n'
    assert json.loads(text) == manifest
    with open(os.path.join(outdir, 'manifest.json'), 'w') as fh:
        fh.write(text)
    print(f'{len(g.cases)} cases, {total / 1e6:.2f} MB of npy + {len(text) / 1e6:.2f} MB manifest, {time.time() - t0:.1f} s')
    if FAIL.items:
        print(f'{len(FAIL.items)} disagreement(s) between cleanlab and the reference model:')
        for f in FAIL.items:
            print('  ' + f)
        return 1
    print('reference model (docs/label-issues.md) agrees with cleanlab on every case')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
