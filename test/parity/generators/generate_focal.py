#!/usr/bin/env python3
"""Writes the focal-loss parity fixtures for Cross-Entropy Lens.

Usage: /usr/bin/python3 test/parity/generators/generate_focal.py [OUTDIR] [--seed S]
(default OUTDIR: test/fixtures/parity-focal; needs torch and torchvision, which /usr/bin/python3 has.)

Every case is one .npz (members: input, target, optional weight, expected_loss) plus one entry in
OUTDIR/cases.json. Inputs are stored in their own dtype (float16/float32/float64); every reference is
computed by real PyTorch on CPU in float64 from exactly the stored values:

- loss 'focal' (multi-class focal loss, -alpha[t] (1 - p_t)^gamma log p_t, alpha = the per-class weight
  or 1, ignore_index as in cross_entropy, mean = sum over non-ignored elements / their count): PyTorch has
  no such function, so it is written here in torch ops (log_softmax / log / as given, gather, weight,
  masking) with 1 - p_t as -expm1(log p_t), which is exact where p_t is near 1 (1 - exp(log p_t) cancels).
  Every case is cross-checked against F.cross_entropy / F.nll_loss for gamma 0 without weight, and against
  the plain 1 - p_t form where that one is accurate. expect.ceValue is F.cross_entropy itself (same weight,
  ignore_index and reduction); expect.perClass.ceMean the mean of its unweighted per-element loss by
  target class.
- loss 'sigmoid-focal': torchvision.ops.sigmoid_focal_loss itself.

expected_loss is always the reduction='none' output; expect.value the reduced value (null for 'none').
Error cases store PyTorch's message where PyTorch has one (otherwise our wording) and the substrings our
one-line message must contain. The output is a pure function of --seed.
"""

import argparse
import io
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.ops import sigmoid_focal_loss

# The cross-entropy generator's JSON number and self-check helpers (this script's folder is on sys.path).
from generate import jnum, same

REDUCTIONS = ['none', 'mean', 'sum']
FLOATS = ['float16', 'float32', 'float64']


def check(cond, what):
    if not cond:
        sys.exit(f'generator self-check failed: {what}')


class Writer:
    def __init__(self, outdir):
        self.outdir = outdir
        self.cases = []

    def add(self, kind, options, members, expect):
        cid = f'{kind}-{len([c for c in self.cases if c["id"].startswith(kind + "-")]):03d}'
        buf = io.BytesIO()
        np.savez_compressed(buf, **members)
        name = cid + '.npz'
        with open(os.path.join(self.outdir, name), 'wb') as f:
            f.write(buf.getvalue())
        full = {'loss': 'ce', 'reduction': 'mean', 'ignoreIndex': -100, 'labelSmoothing': 0.0,
                'inputKind': 'logits', 'classDim': 1, 'gamma': 2.0, 'alpha': 0.25}
        full.update(options)
        self.cases.append({'id': cid, 'file': name, 'options': full, 'hasWeight': 'weight' in members,
                           'expect': expect})


# ---------------------------------------------------------------------------------------------------
# Multi-class focal, written in torch ops


def log_probs(x64, kind):
    if kind == 'logits':
        return F.log_softmax(x64, 1)
    if kind == 'probs':
        return torch.log(x64)
    return x64


def focal_reference(x64, t, w, ignore, gamma, kind):
    """x64 [N, C, *] float64 (class axis 1), t [N, *] int64. Returns the unreduced focal loss, the
    unweighted per-element cross-entropy -log p_t and the non-ignored mask."""
    lp = log_probs(x64, kind)
    valid = t != ignore
    tc = torch.where(valid, t, torch.zeros_like(t))
    lpt = lp.gather(1, tc.unsqueeze(1)).squeeze(1)
    alpha_t = w[tc] if w is not None else torch.ones_like(lpt)
    loss = -alpha_t * (-torch.expm1(lpt)) ** gamma * lpt
    zero = torch.zeros_like(lpt)
    loss = torch.where(valid, loss, zero)
    ce = torch.where(valid, -lpt, zero)
    # Where 1 - p_t is not tiny, the textbook form agrees (it loses digits only as p_t nears 1).
    plain = torch.where(valid, -alpha_t * (1 - lpt.exp()) ** gamma * lpt, zero)
    ok = valid & (lpt < -1e-3) & torch.isfinite(lpt)
    check(same(plain[ok].numpy(), loss[ok].numpy(), 1e-9), 'focal: expm1 form against 1 - p_t')
    return loss, ce, valid


def torch_ce(x64, t, w, ignore, reduction, kind):
    """F.cross_entropy (logits) or F.nll_loss of the log-probabilities, as our 'ce' takes each input kind."""
    if kind == 'logits':
        return F.cross_entropy(x64, t, weight=w, ignore_index=ignore, reduction=reduction)
    return F.nll_loss(log_probs(x64, kind), t, weight=w, ignore_index=ignore, reduction=reduction)


def focal_case(wr, rng, shape, gamma, reduction, dtype='float32', weighted=False, ignore=-100,
               ignore_frac=0.0, kind='logits', class_dim=1, tdtype='int64', all_ignored=False,
               extreme=False, scale=3.0):
    nd = len(shape)
    axis = class_dim % nd if nd >= 2 else 0
    C = shape[axis]
    x = rng.standard_normal(shape) * scale
    if kind == 'probs':
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        x = e / e.sum(axis=axis, keepdims=True)
    elif kind == 'log-probs':
        x = x - np.log(np.exp(x).sum(axis=axis, keepdims=True))
    tshape = [s for d, s in enumerate(shape) if d != axis]
    t = rng.integers(0, C, size=tshape)
    if extreme:
        # Huge logits: the target's logit at +1e4 (p_t = 1, loss 0) or -1e4 (loss 2e4), others 0 or -1e4.
        xm = np.moveaxis(x, axis, -1).reshape(-1, C)
        tf = t.reshape(-1)
        for r in range(xm.shape[0]):
            xm[r, :] = 0.0 if r % 3 else -1e4
            xm[r, tf[r]] = 1e4 if r % 2 == 0 else -1e4
            if r % 4 == 1:
                xm[r, (tf[r] + 1) % C] = 1e4
        x = np.moveaxis(xm.reshape([*tshape, C]), -1, axis)
    if ignore_frac > 0 or all_ignored:
        mask = np.ones(t.shape, bool) if all_ignored else rng.random(t.shape) < ignore_frac
        t = np.where(mask, ignore, t)
    # np.array, not np.ascontiguousarray, which turns a 0-d target into shape (1,).
    xs = np.array(x.astype(dtype), order='C')
    ts = np.array(np.asarray(t).astype(tdtype), order='C')
    w = (rng.random(C) * 2 + 0.1) if weighted else None
    x64 = torch.from_numpy(xs.astype(np.float64))
    if nd >= 2 and axis != 1:
        x64 = x64.movedim(axis, 1)
    t64 = torch.from_numpy(ts.astype(np.int64))
    unbatched = nd == 1
    if unbatched:
        x64 = x64.unsqueeze(0)
        t64 = t64.reshape(1)
    w64 = torch.from_numpy(w) if w is not None else None
    loss, ce, valid = focal_reference(x64, t64, w64, ignore, gamma, kind)
    count = int(valid.sum())
    value = None if reduction == 'none' else float(loss.sum() / count if reduction == 'mean' else loss.sum())
    if reduction == 'mean' and count == 0:
        value = float('nan')
    ce_value = torch_ce(x64, t64, w64, ignore, reduction, kind)
    ce_none = torch_ce(x64, t64, w64, ignore, 'none', kind)
    # Our unweighted -log p_t agrees with PyTorch's own unweighted cross-entropy.
    check(same(ce.numpy(), torch_ce(x64, t64, None, ignore, 'none', kind).numpy()), 'ce map')
    if gamma == 0 and w is None:
        check(same(loss.numpy(), ce_none.numpy()), 'gamma 0 focal equals cross_entropy (none)')
        if reduction != 'none':
            check(same([value], [float(ce_value)]), 'gamma 0 focal equals cross_entropy')
    if gamma == 0:
        check(same(loss.numpy(), ce_none.numpy()), 'gamma 0 focal equals weighted nll per element')
    tflat = t64.reshape(-1).numpy()
    vflat = valid.reshape(-1).numpy()
    lflat = loss.reshape(-1).numpy()
    cflat = ce.reshape(-1).numpy()
    counts, sums, ce_means = [], [], []
    for c in range(C):
        sel = vflat & (tflat == c)
        counts.append(int(sel.sum()))
        sums.append(jnum(lflat[sel].sum()))
        ce_means.append(jnum(cflat[sel].mean() if sel.any() else float('nan')))
    expected = loss.numpy()
    if unbatched:
        expected = expected.reshape(())
    members = {'input': xs, 'target': ts, 'expected_loss': expected}
    if w is not None:
        members['weight'] = w
    expect = {
        'value': None if value is None else jnum(value),
        'ceValue': None if reduction == 'none' else jnum(ce_value),
        'perClass': {'count': counts, 'lossSum': sums, 'ceMean': ce_means},
    }
    wr.add('focal', {'loss': 'focal', 'reduction': reduction, 'ignoreIndex': ignore, 'inputKind': kind,
                     'classDim': class_dim, 'gamma': float(gamma)}, members, expect)


# ---------------------------------------------------------------------------------------------------
# Sigmoid focal: torchvision itself


def sigmoid_case(wr, rng, shape, gamma, alpha, reduction, dtype='float32', tdtype='float32', soft=False,
                 extreme=False, class_dim=1):
    x = rng.standard_normal(shape) * 3
    if extreme:
        flat = x.reshape(-1)
        flat[0::3] = 1e4
        flat[1::3] = -1e4
    t = rng.random(shape) if soft else (rng.random(shape) < 0.3).astype(np.float64)
    xs = np.ascontiguousarray(x.astype(dtype))
    ts = np.ascontiguousarray(t.astype(tdtype))
    x64 = torch.from_numpy(xs.astype(np.float64))
    t64 = torch.from_numpy(ts.astype(np.float64))
    loss = sigmoid_focal_loss(x64, t64, alpha=alpha, gamma=gamma, reduction='none')
    value = None if reduction == 'none' else float(sigmoid_focal_loss(x64, t64, alpha=alpha, gamma=gamma, reduction=reduction))
    # The per-channel statistics group by the class axis, as for bce.
    members = {'input': xs, 'target': ts, 'expected_loss': loss.numpy()}
    wr.add('sfocal', {'loss': 'sigmoid-focal', 'reduction': reduction, 'gamma': float(gamma), 'alpha': float(alpha),
                      'classDim': class_dim}, members, {'value': None if value is None else jnum(value)})


# ---------------------------------------------------------------------------------------------------
# Errors


def torch_error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any PyTorch exception is the reference message
        return str(e).split('\n')[0]
    sys.exit('expected PyTorch to raise')


def error_case(wr, options, members, error, must):
    wr.add('error', options, members, {'error': error, 'mustMention': must})


def errors(wr, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    t = rng.integers(0, 5, size=4).astype(np.int64)
    probs_t = rng.random((4, 5)).astype(np.float32)
    error_case(wr, {'loss': 'focal', 'labelSmoothing': 0.1}, {'input': x, 'target': t},
               'label_smoothing applies to cross-entropy only (our option check)', ['label_smoothing', 'focal'])
    error_case(wr, {'loss': 'focal'}, {'input': x, 'target': probs_t},
               'focal takes class-index targets (our option check)', ['class-index', 'probability'])
    error_case(wr, {'loss': 'focal', 'gamma': -1.0}, {'input': x, 'target': t},
               'gamma must be >= 0 (our option check)', ['gamma', '>= 0'])
    error_case(wr, {'loss': 'sigmoid-focal', 'gamma': -0.5}, {'input': x, 'target': probs_t},
               'gamma must be >= 0 (our option check)', ['gamma'])
    error_case(wr, {'loss': 'sigmoid-focal', 'inputKind': 'probs'}, {'input': x, 'target': probs_t},
               'sigmoid_focal_loss takes logits (our option check)', ['logits'])
    bad = t.copy()
    bad[2] = 7
    msg = torch_error(lambda: F.log_softmax(torch.from_numpy(x).double(), 1).gather(1, torch.from_numpy(bad).unsqueeze(1)))
    error_case(wr, {'loss': 'focal'}, {'input': x, 'target': bad}, msg, ['out of bounds', '7'])
    w3 = np.ones(3)
    msg = torch_error(lambda: F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), weight=torch.from_numpy(w3).float()))
    error_case(wr, {'loss': 'focal'}, {'input': x, 'target': t, 'weight': w3}, msg, ['weight', '5 classes'])
    ti = (rng.random((4, 5)) < 0.5).astype(np.int64)
    msg = torch_error(lambda: sigmoid_focal_loss(torch.from_numpy(x), torch.from_numpy(ti)))
    error_case(wr, {'loss': 'sigmoid-focal'}, {'input': x, 'target': ti}, msg, ['float', 'int64'])
    t45 = rng.random((4, 1)).astype(np.float32)
    msg = torch_error(lambda: sigmoid_focal_loss(torch.from_numpy(x), torch.from_numpy(t45)))
    error_case(wr, {'loss': 'sigmoid-focal'}, {'input': x, 'target': t45}, msg, ['Target size', 'input size'])
    error_case(wr, {'loss': 'sigmoid-focal'}, {'input': x, 'target': probs_t, 'weight': np.ones(5)},
               'sigmoid_focal_loss has no weight argument (our option check)', ['weight', 'alpha'])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('outdir', nargs='?', default=os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'parity-focal'))
    ap.add_argument('--seed', type=int, default=20261201)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for f in os.listdir(a.outdir):
        if f.endswith('.npz') or f == 'cases.json':
            os.remove(os.path.join(a.outdir, f))
    torch.set_num_threads(1)
    rng = np.random.default_rng(a.seed)
    wr = Writer(a.outdir)

    # Classification [N, C]: every gamma, with and without weight, every reduction, every float dtype.
    i = 0
    for gamma in [0, 0.5, 2, 5]:
        for weighted in [False, True]:
            for reduction in REDUCTIONS:
                focal_case(wr, rng, [9, 5], gamma, reduction, dtype=FLOATS[i % 3], weighted=weighted,
                           ignore_frac=0.25 if (i % 2) else 0.0)
                i += 1
    # A class index as ignore_index (its elements count as ignored, not as class 0), int32 targets.
    focal_case(wr, rng, [12, 4], 2, 'mean', ignore=0, ignore_frac=0.3, tdtype='int32', weighted=True)
    # Segmentation [N, C, H, W] with ignore 255 (uint8 masks), weighted and not, every reduction.
    for reduction in REDUCTIONS:
        for weighted in [False, True]:
            focal_case(wr, rng, [2, 4, 5, 6], 2, reduction, dtype='float32', weighted=weighted, ignore=255,
                       ignore_frac=0.15, tdtype='uint8')
    focal_case(wr, rng, [3, 6, 4, 4], 0.5, 'mean', dtype='float16', ignore=255, ignore_frac=0.1, tdtype='uint8')
    focal_case(wr, rng, [2, 3, 2, 3, 4], 5, 'sum', dtype='float64', weighted=True, ignore_frac=0.2)
    # Channels-last [N, H, W, C] with class dim -1.
    focal_case(wr, rng, [2, 3, 4, 5], 2, 'mean', class_dim=-1, weighted=True, ignore_frac=0.2)
    focal_case(wr, rng, [2, 3, 4, 5], 0, 'none', class_dim=-1, dtype='float64')
    # Unbatched (C,) with a 0-d target.
    focal_case(wr, rng, [7], 2, 'sum', dtype='float64')
    # Probabilities and log-probabilities as input.
    for kind in ['probs', 'log-probs']:
        for gamma, reduction in [(2, 'mean'), (0, 'none'), (5, 'sum')]:
            focal_case(wr, rng, [8, 5], gamma, reduction, dtype='float64', kind=kind, weighted=reduction == 'sum', ignore_frac=0.2)
    # Confident predictions: p_t near 1, where 1 - p_t needs expm1.
    focal_case(wr, rng, [10, 3], 2, 'none', dtype='float64', scale=12.0)
    focal_case(wr, rng, [10, 3], 5, 'mean', dtype='float64', scale=12.0, weighted=True)
    # Extreme logits 1e4 / -1e4.
    for dtype in FLOATS:
        for gamma in [0, 2]:
            focal_case(wr, rng, [8, 4], gamma, 'none' if gamma else 'sum', dtype=dtype, extreme=True)
    focal_case(wr, rng, [2, 3, 2, 2], 2, 'mean', dtype='float32', extreme=True, weighted=True)
    # Every element ignored: mean NaN, sum 0.
    for reduction in REDUCTIONS:
        focal_case(wr, rng, [3, 4, 2, 2], 2, reduction, all_ignored=True, ignore=255, tdtype='uint8', weighted=reduction == 'mean')
    # Empty batch.
    focal_case(wr, rng, [0, 4], 2, 'mean')
    focal_case(wr, rng, [0, 4], 2, 'sum')

    # Sigmoid focal: every gamma, alpha on / off / other, every reduction.
    i = 0
    for gamma in [0, 0.5, 2, 5]:
        for alpha in [0.25, -1.0, 0.75]:
            for reduction in REDUCTIONS:
                sigmoid_case(wr, rng, [6, 4], gamma, alpha, reduction, dtype=FLOATS[i % 3], tdtype=['float32', 'float64'][i % 2])
                i += 1
    for reduction in REDUCTIONS:
        sigmoid_case(wr, rng, [2, 3, 4, 5], 2, 0.25, reduction, dtype='float32')
    sigmoid_case(wr, rng, [2, 3, 4, 5], 2, 0.25, 'mean', soft=True, dtype='float64')
    sigmoid_case(wr, rng, [3, 5], 1.5, 0.5, 'none', soft=True, dtype='float16', tdtype='float16')
    sigmoid_case(wr, rng, [7], 2, 0.25, 'sum', dtype='float64')
    for dtype in FLOATS:
        sigmoid_case(wr, rng, [4, 6], 2, 0.25, 'none', dtype=dtype, extreme=True)
    sigmoid_case(wr, rng, [4, 6], 0, -1.0, 'sum', dtype='float32', extreme=True)
    sigmoid_case(wr, rng, [0, 3], 2, 0.25, 'mean')
    sigmoid_case(wr, rng, [0, 3], 2, 0.25, 'sum')

    errors(wr, rng)

    manifest = {'seed': a.seed, 'torch': torch.__version__, 'torchvision': torchvision.__version__, 'cases': wr.cases}
    with open(os.path.join(a.outdir, 'cases.json'), 'w') as f:
        head = json.dumps({k: v for k, v in manifest.items() if k != 'cases'}, allow_nan=False)[:-1]
        body = ',\n  '.join(json.dumps(c, allow_nan=False) for c in wr.cases)
        f.write(f'{head}, "cases": [\n  {body}\n]}}\n')
    print(f'{len(wr.cases)} cases in {a.outdir}')


if __name__ == '__main__':
    main()
