#!/usr/bin/env python3
"""Writes PyTorch parity fixtures for Cross-Entropy Lens.

Usage: /usr/bin/python3 test/parity/generators/generate.py OUTDIR [--seed S] [--count-scale F]

Every case is one .npz (members: input, target, optional weight / pos_weight, expected_loss) plus one
entry in OUTDIR/cases.json. References come from real PyTorch on CPU in float64: inputs are stored in
their own dtype (float16/float32/float64, either byte order, C or Fortran order) and the reference is
computed on exactly the stored values cast to float64. expected_loss is always the reduction='none'
output; expect.value is the reduced value for the case's reduction (null for 'none').

Error cases store the message PyTorch raises (or, for options PyTorch does not have, our own wording)
and the substrings our one-line message must contain.

The output is a pure function of --seed and --count-scale.
"""

import argparse
import collections
import io
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

FLOAT_DTYPES = ['float16', 'float32', 'float64']
INT_DTYPES = ['int64', 'int32', 'uint8', 'int16']
REDUCTIONS = ['none', 'mean', 'sum']
MAX_ELEMS = 2000
INF = float('inf')
NAN = float('nan')

# Largest "huge" logit per stored dtype (float16 tops out at 65504).
HUGE = {'float16': 6.0e4, 'float32': 1.0e30, 'float64': 1.0e300}


def jnum(v):
    """A float for JSON: NaN / +-Infinity become strings (the manifest must stay strict JSON)."""
    v = float(v)
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return v


def same(a, b, rtol=1e-12):
    """Elementwise equality up to rtol with NaN == NaN and exact infinities (generator self-checks)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return False
    for x, y in zip(a, b):
        if math.isnan(y):
            if not math.isnan(x):
                return False
        elif math.isinf(y):
            if x != y:
                return False
        elif not (abs(x - y) <= rtol * max(1.0, abs(y))):
            return False
    return True


def stored(arr, dtype, byteorder, fortran):
    """Casts to the stored dtype and byte order; Fortran order for arrays of 2 or more dimensions."""
    dt = np.dtype(dtype)
    if dt.itemsize > 1:
        dt = dt.newbyteorder(byteorder)
    with np.errstate(over="ignore"):  # huge log-probs may overflow float16 to -inf, as stored
        out = np.asarray(arr).astype(dt)
    if fortran and out.ndim >= 2:
        out = np.asfortranarray(out)
    return out


def f64(arr):
    """The stored values as a float64 torch tensor (native order, C-contiguous)."""
    return torch.from_numpy(np.array(arr, dtype=np.float64, order='C'))  # ascontiguousarray makes 0-d 1-d


def mirror_ce(lp, target, weight, ignore_index, ls, reduction):
    """PyTorch 1.13's cross_entropy on log-probabilities that are used as they are (no log_softmax).

    This is ATen's cross_entropy_loss (prob-target and label-smoothing branches) written with torch ops,
    minus the initial log_softmax. The generator checks it against F.cross_entropy on every logits case,
    so it is validated by PyTorch itself; it serves inputKind 'probs' (lp = log p) and 'log-probs', where
    calling F.cross_entropy would renormalize values that are not exactly normalized (float16, say).
    """
    cd = 0 if lp.dim() == 1 else 1
    C = lp.shape[cd]
    bshape = [1] * lp.dim()
    bshape[cd] = C
    if target.is_floating_point():
        t = target * (1 - ls) + ls / C if ls > 0 else target
        terms = lp * t * weight.view(bshape) if weight is not None else lp * t
        if reduction == 'none':
            return -terms.sum(cd)
        if reduction == 'sum':
            return -terms.sum()
        if lp.numel() == 0:
            return torch.tensor(NAN, dtype=torch.float64)
        return -terms.sum() / (lp.numel() // C)
    nll = F.nll_loss(lp, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if ls <= 0:
        return nll
    smooth = -(lp * weight.view(bshape)).sum(cd) if weight is not None else -lp.sum(cd)
    mask = target == ignore_index
    smooth = smooth.masked_fill(mask, 0.0)
    if reduction == 'mean':
        if weight is not None:
            ret = smooth.sum() / weight.gather(0, target.masked_select(~mask).flatten()).sum()
        else:
            ret = smooth.sum() / (~mask).sum()
    elif reduction == 'sum':
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - ls) * nll + ret * (ls / C)


class Generator:
    def __init__(self, outdir, seed, scale):
        self.outdir = outdir
        self.seed = seed
        self.scale = scale
        self.rng = np.random.default_rng(seed)
        self.cases = []
        self.counts = collections.Counter()
        self.next_id = collections.Counter()
        self.bytes_written = 0

    # ----- helpers -----------------------------------------------------------------------------

    def n(self, base):
        return max(1, int(round(base * self.scale)))

    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def new_id(self, category):
        k = self.next_id[category]
        self.next_id[category] += 1
        return f'{category}-{k:03d}'

    def write_npz(self, case_id, members, compressed):
        name = f'{case_id}.npz'
        path = os.path.join(self.outdir, name)
        buf = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(buf, **members)
        data = buf.getvalue()
        with open(path, 'wb') as fh:
            fh.write(data)
        self.bytes_written += len(data)
        return name

    def add(self, category, entry):
        self.cases.append(entry)
        self.counts[category] += 1

    # ----- shapes ------------------------------------------------------------------------------

    def canonical_shape(self, shape_kind, C, empty=False):
        """(C,) or (N, C, d1, ...) with at most MAX_ELEMS elements (class axis at 1)."""
        if shape_kind == 'unbatched':
            return (C,)
        nsp = {'2d': 0, '3d': 1, '4d': 2, '5d': 3}[shape_kind]
        limit = {0: 40, 1: 12, 2: 8, 3: 4}[nsp]
        while True:
            N = 0 if empty else int(self.rng.integers(1, 7))
            spatial = [int(self.rng.integers(1, limit + 1)) for _ in range(nsp)]
            if empty and nsp > 0 and self.rng.random() < 0.3:
                spatial[int(self.rng.integers(nsp))] = 0
                N = int(self.rng.integers(0, 3))
            shape = (N, C, *spatial)
            if int(np.prod(shape)) <= MAX_ELEMS:
                return shape

    # ----- cross-entropy -----------------------------------------------------------------------

    def draw_ce(self, **ov):
        r = self.rng
        p = dict(
            shape_kind=self.choice(['2d', '2d', '3d', '4d', '4d', '5d']),
            C=int(r.integers(2, 11)),
            input_dtype=self.choice(FLOAT_DTYPES),
            target_kind='index',  # 'index' | 'softmax' | 'raw'
            target_dtype=self.choice(INT_DTYPES),
            prob_dtype=self.choice(FLOAT_DTYPES),
            weight=r.random() < 0.35,
            weight_dtype=self.choice(FLOAT_DTYPES),
            ignore_index=-100,
            ignore_frac=0.0,
            ls=0.0,
            reduction=self.choice(REDUCTIONS),
            input_kind='logits',
            class_dim=None,  # None: 1 (0 for unbatched), stored canonically
            special=None,
            empty=False,
            byteorder=self.choice(['<', '>']),
            fortran=r.random() < 0.35,
            explain=r.random() < 0.35,
            scale=self.choice([0.5, 1.0, 3.0, 8.0]),
            compressed=r.random() < 0.5,
            per_class=True,
            zero_target_weight=False,
            peak_class=None,  # with special 'peak-far': the class made the max, and the only one weighted
            signed_weight=False,  # weights of both signs (PyTorch allows them)
        )
        p.update(ov)
        return p

    def random_ignore(self, C):
        """An ignore_index (in range, -100, 255 or -1) and a fraction of targets set to it."""
        kind = self.choice(['default', 'default', 'in', 'in', '255', 'neg1'])
        ii = {'default': -100, 'in': int(self.rng.integers(0, C)), '255': 255, 'neg1': -1}[kind]
        return ii, self.choice([0.0, 0.1, 0.25, 0.5])

    def ce_case(self, category, **ov):
        p = self.draw_ce(**ov)
        r = self.rng
        C = p['C']
        unbatched = p['shape_kind'] == 'unbatched'
        shape = self.canonical_shape(p['shape_kind'], C, p['empty'])
        cd = 0 if unbatched else 1
        tshape = shape[:cd] + shape[cd + 1:]
        ii = int(p['ignore_index'])
        index_target = p['target_kind'] == 'index'
        tdtype = p['target_dtype'] if index_target else p['prob_dtype']

        # Logits in the canonical layout, class axis moved last for row-wise edits.
        x = r.standard_normal(shape) * p['scale']
        xm = np.moveaxis(x, cd, -1)  # view: writes go to x
        nrows = int(np.prod(tshape)) if len(tshape) else 1
        row_idx = np.array(list(np.ndindex(*tshape))) if len(tshape) else np.zeros((1, 0), dtype=int)

        def set_row(k, cls, value):
            idx = tuple(row_idx[k]) if len(tshape) else ()
            if cls is None:
                xm[idx] = value
            else:
                xm[idx + (cls,)] = value

        # Targets.
        if index_target:
            t = r.integers(0, C, size=tshape) if nrows else np.zeros(tshape, dtype=np.int64)
            t = np.asarray(t, dtype=np.int64)
            info = np.iinfo(np.dtype(tdtype))
            representable = info.min <= ii <= info.max
            ign = np.zeros(tshape, dtype=bool)
            if representable and nrows and p['ignore_frac'] > 0:
                ign = np.asarray(r.random(tshape) < p['ignore_frac'])
                if p['ignore_frac'] >= 1.0:
                    ign[...] = True
                t = np.where(ign, ii, t)
            ign = np.asarray(t == ii)
        else:
            if p['target_kind'] == 'softmax':
                z = r.standard_normal(shape) * self.choice([0.5, 1.0, 2.0])
                t = torch.softmax(torch.from_numpy(z), cd).numpy()
            else:  # arbitrary non-negative, not normalized, some exact zeros
                t = r.random(shape) * self.choice([0.5, 1.0, 3.0])
                t = np.where(r.random(shape) < 0.2, 0.0, t)
            ign = np.zeros(tshape, dtype=bool)

        flat_t = np.asarray(t).reshape(-1) if index_target else None
        flat_ign = ign.reshape(-1)
        special = p['special']
        live = [k for k in range(nrows) if not flat_ign[k]]
        dead = [k for k in range(nrows) if flat_ign[k]]

        def pick(pool, frac=0.3):
            if not pool:
                return []
            m = max(1, int(len(pool) * frac))
            return [pool[i] for i in r.choice(len(pool), size=min(m, len(pool)), replace=False)]

        if special == 'neginf':  # -inf logits at non-target classes (and anywhere for prob targets)
            for k in pick(list(range(nrows))):
                cls = int(r.integers(C))
                if index_target and not flat_ign[k] and cls == flat_t[k]:
                    cls = (cls + 1) % C
                set_row(k, cls, -INF)
        elif special == 'neginf-target':  # -inf at the target class: infinite loss
            for k in pick(live):
                set_row(k, int(flat_t[k]) if index_target else int(r.integers(C)), -INF)
            for k in pick(list(range(nrows)), 0.15):
                set_row(k, int(r.integers(C)), -INF)
        elif special == 'neginf-row':  # whole rows of -inf: NaN loss
            for k in pick(list(range(nrows)), 0.2):
                set_row(k, None, -INF)
            for k in pick(list(range(nrows)), 0.2):
                set_row(k, int(r.integers(C)), -INF)
        elif special == 'nan-ignored':  # NaN only where the target is ignored: PyTorch skips them
            for k in dead:
                if r.random() < 0.5:
                    set_row(k, None, NAN)
                else:
                    set_row(k, int(r.integers(C)), NAN)
        elif special == 'nan':  # NaN at live positions too
            for k in pick(dead, 0.5):
                set_row(k, int(r.integers(C)), NAN)
            for k in pick(list(range(nrows)), 0.2):
                set_row(k, int(r.integers(C)), NAN)
        elif special == 'huge':
            h = HUGE[p['input_dtype']]
            for k in pick(list(range(nrows)), 0.5):
                for _ in range(int(r.integers(1, 3))):
                    set_row(k, int(r.integers(C)), h * self.choice([1.0, -1.0, 0.5, -0.25]))
            if index_target:
                for k in pick(live, 0.2):
                    set_row(k, int(flat_t[k]), h)
                for k in pick(live, 0.2):
                    set_row(k, int(flat_t[k]), -h)
        elif special == 'peak-far':  # the weighted class is the max, another class far below it
            kp = int(p['peak_class'])
            for k in pick(list(range(nrows)), 0.6):
                idx = tuple(row_idx[k]) if len(tshape) else ()
                top = float(np.max(xm[idx]))
                far = (kp + 1 + int(r.integers(C - 1))) % C
                set_row(k, kp, top + abs(float(r.standard_normal())) * 0.1 * p['scale'])
                set_row(k, far, top - self.choice([12.5, 300.7, 3000.3]))
        elif special is not None:
            raise ValueError(special)

        # What the input holds.
        xt = torch.from_numpy(x)
        if p['input_kind'] == 'probs':
            xk = torch.softmax(xt, cd).numpy()
        elif p['input_kind'] == 'log-probs':
            xk = torch.log_softmax(xt, cd).numpy()
        else:
            xk = x

        # Channels-last (or another class axis): store with the class axis at class_dim.
        class_dim = p['class_dim']
        if class_dim is None:
            class_dim = cd
            xs, ts = xk, t
        else:
            xs = np.moveaxis(xk, cd, class_dim)
            ts = t if index_target else np.moveaxis(t, cd, class_dim)

        inp = stored(xs, p['input_dtype'], p['byteorder'], p['fortran'])
        tgt = stored(ts, tdtype, p['byteorder'], p['fortran'])
        w = None
        if p['weight']:
            wv = r.random(C) * 2.0
            wv[r.random(C) < 0.1] = 0.0
            if p['peak_class'] is not None:
                wv = np.zeros(C)
                wv[int(p['peak_class'])] = self.choice([1.0, 100.0, 1000.0])
            if p['signed_weight']:
                wv = r.standard_normal(C)
            if p['zero_target_weight'] and index_target:  # every live target weighs 0: mean is 0/0
                wv[np.unique(np.asarray(t)[~ign]).astype(np.int64)] = 0.0
            if p['weight_dtype'] == 'float16':
                wv = wv.astype(np.float16)
            w = stored(wv, p['weight_dtype'], p['byteorder'], False)

        # Reference, from the stored values only.
        inp_t = torch.movedim(f64(inp), class_dim, cd)
        if index_target:
            tgt_t = torch.from_numpy(np.array(tgt, dtype=np.int64, order='C'))
        else:
            tgt_t = torch.movedim(f64(tgt), class_dim, cd)
        w_t = f64(w) if w is not None else None
        ls = float(p['ls'])
        red = p['reduction']
        if p['input_kind'] == 'logits':
            lp = torch.log_softmax(inp_t, cd)
            kw = dict(weight=w_t, ignore_index=ii, label_smoothing=ls)
            loss_none = F.cross_entropy(inp_t, tgt_t, reduction='none', **kw)
            loss_red = F.cross_entropy(inp_t, tgt_t, reduction=red, **kw)
            # The mirror used for probs / log-probs must agree with PyTorch on every logits case.
            for rr, ref in (('none', loss_none), (red, loss_red)):
                mine = mirror_ce(lp, tgt_t, w_t, ii, ls, rr)
                if not same(mine, ref):
                    raise AssertionError(f'mirror_ce disagrees with F.cross_entropy ({category}, {rr})')
        else:
            lp = torch.log(inp_t) if p['input_kind'] == 'probs' else inp_t
            loss_none = mirror_ce(lp, tgt_t, w_t, ii, ls, 'none')
            loss_red = mirror_ce(lp, tgt_t, w_t, ii, ls, red)
            if ls == 0 and index_target:
                nl = F.nll_loss(lp, tgt_t, weight=w_t, ignore_index=ii, reduction=red)
                assert same(nl, loss_red)

        loss_np = loss_none.numpy().astype(np.float64)
        assert loss_np.shape == tuple(tshape), (loss_np.shape, tshape)
        expect = {'value': None if red == 'none' else jnum(loss_red.item())}

        if index_target and p['per_class']:
            valid = ~(tgt_t == ii)
            tv = tgt_t[valid]
            pred = torch.argmax(inp_t, cd)  # NaN counts as the largest value, like PyTorch
            pv = pred[valid]
            count = torch.bincount(tv.reshape(-1), minlength=C)
            loss_sum = torch.zeros(C, dtype=torch.float64).index_add_(0, tv.reshape(-1), loss_none[valid].reshape(-1))
            predicted = torch.bincount(pv.reshape(-1), minlength=C)
            confusion = torch.bincount((tv * C + pv).reshape(-1), minlength=C * C)
            expect['perClass'] = {
                'count': [int(v) for v in count],
                'lossSum': [jnum(v) for v in loss_sum],
                'predicted': [int(v) for v in predicted],
            }
            expect['confusion'] = [int(v) for v in confusion]

        if p['explain'] and live:
            k = int(self.choice(live))
            rows_lp = lp.movedim(cd, -1).reshape(-1, C)
            expect['explain'] = {'flat': k, 'logProbs': [jnum(v) for v in rows_lp[k]]}

        case_id = self.new_id(category)
        members = {'input': inp, 'target': tgt}
        if w is not None:
            members['weight'] = w
        members['expected_loss'] = loss_np
        fname = self.write_npz(case_id, members, p['compressed'])
        self.add(category, {
            'id': case_id,
            'file': fname,
            'options': {
                'loss': 'ce', 'reduction': red, 'ignoreIndex': ii, 'labelSmoothing': ls,
                # classDim 1 is the setting's default, also for an unbatched (C,) input
                'inputKind': p['input_kind'], 'classDim': int(p['class_dim'] if p['class_dim'] is not None else 1),
            },
            'hasWeight': w is not None,
            'hasPosWeight': False,
            'expect': expect,
        })

    # ----- binary cross-entropy with logits ----------------------------------------------------

    def bce_case(self, category, special=None, empty=False):
        r = self.rng
        while True:
            nd = self.choice([0, 1, 2, 2, 3, 3, 4])
            if empty:
                nd = max(nd, 2)
            shape = [int(r.integers(1, 9)) for _ in range(nd)]
            if empty:
                shape[int(r.integers(nd - 1))] = 0
            if int(np.prod(shape)) <= 600:
                break
        shape = tuple(shape)
        x = r.standard_normal(shape) * self.choice([0.5, 2.0, 6.0])
        idt = self.choice(FLOAT_DTYPES)
        if special == 'huge' and x.size:
            h = HUGE[idt]
            m = r.random(shape) < 0.3
            x = np.where(m, h * np.sign(r.standard_normal(shape)) * self.choice([1.0, 0.5]), x)
        if special == 'inf' and x.size:
            m = r.random(shape)
            x = np.where(m < 0.15, INF, np.where(m < 0.3, -INF, np.where(m < 0.35, NAN, x)))
        tk = self.choice(['uniform', 'binary', 'mixed'])
        t = r.random(shape)
        if tk == 'binary':
            t = (t < 0.5).astype(np.float64)
        elif tk == 'mixed':
            t = np.where(r.random(shape) < 0.5, np.round(t), t)

        def bshape(kind):
            if kind == 'full':
                return shape
            if kind == 'last':
                return (shape[-1],)
            if kind == 'one':
                return (1,)
            k = int(r.integers(len(shape)))  # 'channel': (shape[k], 1, ..., 1)
            return (shape[k],) + (1,) * (len(shape) - k - 1)

        kinds = ['none', 'none', 'full'] + (['last', 'channel', 'one'] if nd >= 1 else [])
        wk = self.choice(kinds)
        pk = self.choice(['none', 'full'] + (['last', 'last', 'channel'] if nd >= 1 else []))
        bo = self.choice(['<', '>'])
        fo = r.random() < 0.35
        red = self.choice(REDUCTIONS)
        inp = stored(x, idt, bo, fo)
        tgt = stored(t, self.choice(FLOAT_DTYPES), bo, fo)
        w = pw = None
        if wk != 'none':
            w = stored(r.random(bshape(wk)) * 2.0, self.choice(FLOAT_DTYPES), bo, fo)
        if pk != 'none':
            pw = stored(r.random(bshape(pk)) * 3.0, self.choice(FLOAT_DTYPES), bo, fo)
        kw = dict(weight=f64(w) if w is not None else None, pos_weight=f64(pw) if pw is not None else None)
        loss_none = F.binary_cross_entropy_with_logits(f64(inp), f64(tgt), reduction='none', **kw)
        loss_red = F.binary_cross_entropy_with_logits(f64(inp), f64(tgt), reduction=red, **kw)
        assert tuple(loss_none.shape) == shape
        case_id = self.new_id(category)
        members = {'input': inp, 'target': tgt}
        if w is not None:
            members['weight'] = w
        if pw is not None:
            members['pos_weight'] = pw
        members['expected_loss'] = loss_none.numpy().astype(np.float64)
        fname = self.write_npz(case_id, members, r.random() < 0.5)
        self.add(category, {
            'id': case_id,
            'file': fname,
            'options': {'loss': 'bce', 'reduction': red, 'ignoreIndex': -100, 'labelSmoothing': 0.0,
                        'inputKind': 'logits', 'classDim': 1},
            'hasWeight': w is not None,
            'hasPosWeight': pw is not None,
            'expect': {'value': None if red == 'none' else jnum(loss_red.item())},
        })

    # ----- errors ------------------------------------------------------------------------------

    def error_case(self, category, fn, inp, tgt, weight=None, options=None, must=None, torch_call=True,
                   message=None):
        """fn() must raise (PyTorch's message is stored); with torch_call False, `message` is stored."""
        r = self.rng
        if torch_call:
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - we record whatever PyTorch raises
                message = str(e)
            else:
                raise AssertionError(f'PyTorch did not raise for {category}')
        bo = self.choice(['<', '>'])
        fo = r.random() < 0.3
        members = {'input': stored(inp, str(inp.dtype), bo, fo), 'target': stored(tgt, str(tgt.dtype), bo, fo)}
        if weight is not None:
            members['weight'] = stored(weight, str(weight.dtype), bo, False)
        opts = {'loss': 'ce', 'reduction': self.choice(REDUCTIONS), 'ignoreIndex': -100,
                'labelSmoothing': 0.0, 'inputKind': 'logits', 'classDim': 1}
        opts.update(options or {})
        case_id = self.new_id(category)
        fname = self.write_npz(case_id, members, r.random() < 0.5)
        entry = {'id': case_id, 'file': fname, 'options': opts, 'hasWeight': weight is not None,
                 'hasPosWeight': False, 'expect': {'error': message}}
        if must:
            entry['expect']['mustMention'] = must
        self.add(category, entry)

    def errors(self):
        r = self.rng
        T = torch.from_numpy

        def logits(*shape, dtype=None):
            return (r.standard_normal(shape)).astype(dtype or self.choice(FLOAT_DTYPES))

        def ce(inp, tgt, **kw):
            ti = T(np.array(tgt, order='C'))
            if not ti.is_floating_point():
                ti = ti.long()
            else:
                ti = ti.double()
            return lambda: F.cross_entropy(f64(inp), ti, **kw)

        def fmt(shape):
            return '[' + ', '.join(str(int(s)) for s in shape) + ']'

        for _ in range(self.n(4)):  # [N,1,H,W] target for [N,C,H,W] input
            N, C, H, W = (int(r.integers(1, 4)), int(r.integers(2, 6)), int(r.integers(2, 6)), int(r.integers(2, 6)))
            x = logits(N, C, H, W)
            t = r.integers(0, C, size=(N, 1, H, W)).astype(self.choice(['int64', 'int32', 'uint8']))
            self.error_case('error-singleton', ce(x, t), x, t, must=['singleton', 'squeeze'])
        for _ in range(self.n(4)):  # batch size mismatch
            C = int(r.integers(2, 6))
            N = int(r.integers(1, 5))
            sp = [int(r.integers(1, 5)) for _ in range(int(r.integers(0, 3)))]
            x = logits(N, C, *sp)
            t = r.integers(0, C, size=(N + int(r.integers(1, 3)), *sp)).astype('int64')
            self.error_case('error-batch', ce(x, t), x, t, must=[fmt(x.shape), fmt(t.shape)])
        for i in range(self.n(4)):  # spatial size mismatch (3-D and 4-D inputs raise different messages)
            C = int(r.integers(2, 6))
            N = int(r.integers(1, 4))
            sp = [int(r.integers(1, 5)) for _ in range(1 + i % 2)]
            bad = list(sp)
            bad[int(r.integers(len(bad)))] += int(r.integers(1, 3))
            x = logits(N, C, *sp)
            t = r.integers(0, C, size=(N, *bad)).astype('int64')
            self.error_case('error-spatial', ce(x, t), x, t, must=[fmt(x.shape), fmt(t.shape)])
        for i in range(self.n(6)):  # class index out of range (>= C, or negative and not ignore_index)
            C = int(r.integers(2, 6))
            shape = self.choice([(5,), (3, 4), (2, 3, 3), ()])
            x = logits(*((C,) if shape == () else (shape[0], C, *shape[1:])))
            ii = self.choice([-100, 255, 0])
            bad = self.choice([C, C + 7, -3, -100 if ii != -100 else -5])
            t = r.integers(0, C, size=shape).astype('int64')
            if t.ndim:
                t.reshape(-1)[int(r.integers(t.size))] = bad
            else:
                t = np.array(bad, dtype='int64')
            ls = self.choice([0.0, 0.0, 0.2])
            self.error_case('error-target-range', ce(x, t, ignore_index=ii, label_smoothing=ls), x, t,
                            options={'ignoreIndex': ii, 'labelSmoothing': ls}, must=[str(bad)])
        for _ in range(self.n(3)):  # weight of the wrong length
            C = int(r.integers(2, 6))
            N = int(r.integers(1, 5))
            sp = [int(r.integers(1, 4)) for _ in range(int(r.integers(0, 3)))]
            x = logits(N, C, *sp)
            t = r.integers(0, C, size=(N, *sp)).astype('int64')
            w = r.random(C + self.choice([-1, 1, 2])).astype('float32')
            self.error_case('error-weight', ce(x, t, weight=f64(w)), x, t, weight=w, must=['weight'])
        for _ in range(self.n(2)):  # label_smoothing out of [0, 1]
            C = int(r.integers(2, 6))
            x = logits(4, C)
            t = r.integers(0, C, size=(4,)).astype('int64')
            self.error_case('error-label-smoothing', ce(x, t, label_smoothing=1.5), x, t,
                            options={'labelSmoothing': 1.5}, must=['1.5'])
        for _ in range(self.n(3)):  # index target stored as float (shape is not the input's)
            C = int(r.integers(2, 6))
            N = int(r.integers(1, 5))
            sp = [int(r.integers(1, 4)) for _ in range(int(r.integers(0, 3)))]
            x = logits(N, C, *sp)
            t = r.integers(0, C, size=(N, *sp)).astype(self.choice(FLOAT_DTYPES))
            self.error_case('error-float-index-target', ce(x, t), x, t)
        for _ in range(self.n(3)):  # integer target of the input's exact shape
            C = int(r.integers(2, 6))
            N = int(r.integers(1, 5))
            sp = [int(r.integers(1, 4)) for _ in range(int(r.integers(0, 2)))]
            x = logits(N, C, *sp)
            t = r.integers(0, 2, size=x.shape).astype(self.choice(['int64', 'int32', 'uint8']))
            self.error_case('error-int-prob-target', ce(x, t), x, t)
        for _ in range(self.n(3)):  # probability target with ignore_index >= 0
            C = int(r.integers(2, 6))
            x = logits(3, C)
            t = torch.softmax(T(r.standard_normal((3, C))), 1).numpy().astype('float32')
            ii = self.choice([0, 1, 255])
            self.error_case('error-prob-target-ignore', ce(x, t, ignore_index=ii), x, t,
                            options={'ignoreIndex': ii}, must=['ignore'])
        for _ in range(self.n(3)):  # bce target shape mismatch
            shape = [int(r.integers(1, 5)) for _ in range(int(r.integers(1, 4)))]
            bad = list(shape)
            bad[-1] += 1
            x = logits(*shape)
            t = r.random(bad).astype('float32')
            fn = (lambda a, b: lambda: F.binary_cross_entropy_with_logits(f64(a), f64(b)))(x, t)
            self.error_case('error-bce-shape', fn, x, t, options={'loss': 'bce'}, must=[fmt(x.shape), fmt(t.shape)])
        for _ in range(self.n(3)):  # classDim out of range (an option PyTorch does not have)
            shape = self.choice([(4,), (2, 3), (2, 3, 4), (1, 3, 2, 2)])
            x = logits(*shape)
            tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
            t = np.asarray(r.integers(0, 2, size=tshape)).astype('int64')
            bad = self.choice([len(shape) + 2, len(shape) + 5, -len(shape) - 3])
            self.error_case('error-class-dim', None, x, t, options={'classDim': bad}, must=[str(bad)],
                            torch_call=False, message='classDim out of range')

    # ----- inputs without classes (C = 0) ------------------------------------------------------

    def no_classes(self):
        """C = 0: PyTorch computes when every class-index target is ignored (or the targets are probabilities,
        or empty) and raises otherwise; a 3-D or 5-D+ input with a non-empty index target raises a size
        mismatch in nll_loss. Drawn after every other case, so adding them changed no earlier fixture."""
        r = self.rng
        shapes = [(3, 0), (0, 0), (0,), (2, 0, 3, 4), (0, 0, 3), (2, 0, 0), (1, 0, 2, 0, 3)]
        for shape in shapes:
            for tk in ('index', 'probs'):
                for ls in (0.0, 0.1):
                    cd = 0 if len(shape) == 1 else 1
                    tshape = shape[:cd] + shape[cd + 1:]
                    ii = self.choice([-100, 255, -1]) if tk == 'index' else -100
                    red = self.choice(REDUCTIONS)
                    idt = self.choice(FLOAT_DTYPES)
                    bo = self.choice(['<', '>'])
                    fo = r.random() < 0.35
                    x = np.zeros(shape)
                    if tk == 'index':
                        t = np.full(tshape, ii, dtype=np.int64)
                        tdt = self.choice(['int64', 'int32', 'int16'] if ii < 0 else INT_DTYPES)
                    else:
                        t = np.zeros(shape)
                        tdt = self.choice(FLOAT_DTYPES)
                    inp = stored(x, idt, bo, fo)
                    tgt = stored(t, tdt, bo, fo)
                    w = stored(np.zeros(0), self.choice(FLOAT_DTYPES), bo, False) if r.random() < 0.4 else None
                    inp_t = f64(inp)
                    tgt_t = torch.from_numpy(np.array(tgt, dtype=np.int64)) if tk == 'index' else f64(tgt)
                    kw = dict(weight=f64(w) if w is not None else None, ignore_index=ii, label_smoothing=ls)
                    loss_none = F.cross_entropy(inp_t, tgt_t, reduction='none', **kw)
                    loss_red = F.cross_entropy(inp_t, tgt_t, reduction=red, **kw)
                    assert tuple(loss_none.shape) == tuple(tshape), (loss_none.shape, tshape)
                    expect = {'value': None if red == 'none' else jnum(loss_red.item())}
                    if tk == 'index':
                        expect['perClass'] = {'count': [], 'lossSum': [], 'predicted': []}
                        expect['confusion'] = []
                    case_id = self.new_id('ce-no-classes')
                    members = {'input': inp, 'target': tgt}
                    if w is not None:
                        members['weight'] = w
                    members['expected_loss'] = loss_none.numpy().astype(np.float64)
                    fname = self.write_npz(case_id, members, r.random() < 0.5)
                    self.add('ce-no-classes', {
                        'id': case_id, 'file': fname,
                        'options': {'loss': 'ce', 'reduction': red, 'ignoreIndex': ii, 'labelSmoothing': ls,
                                    'inputKind': 'logits', 'classDim': 1},
                        'hasWeight': w is not None, 'hasPosWeight': False, 'expect': expect,
                    })

        def ce(inp, tgt, **kw):
            return lambda: F.cross_entropy(f64(inp), torch.from_numpy(np.array(tgt, dtype=np.int64)), **kw)

        def fmt(shape):
            return '[' + ', '.join(str(int(s)) for s in shape) + ']'

        for shape, tshape in (((3, 0), (3,)), ((0,), ()), ((2, 0, 5), (2, 5)), ((4, 0, 1), (4, 1))):
            x = np.zeros(shape, dtype=self.choice(FLOAT_DTYPES))
            t = np.zeros(tshape, dtype='int64')  # class 0 of none
            self.error_case('error-no-classes', ce(x, t), x, t, must=['no classes'])
        for shape in ((2, 0, 3), (1, 0, 2, 3, 4)):  # ignored targets, but nll_loss cannot reshape the input
            x = np.zeros(shape, dtype=self.choice(FLOAT_DTYPES))
            t = np.full(shape[:1] + shape[2:], -100, dtype='int64')
            self.error_case('error-no-classes-reshape', ce(x, t), x, t, must=['no classes', fmt(shape), 'size mismatch'])

    # ----- the plan ----------------------------------------------------------------------------

    def run(self):
        r = self.rng
        n = self.n
        for _ in range(n(90)):  # everything random with class-index targets
            ii, frac = self.random_ignore(10)
            self.ce_case('ce-index', ignore_index=ii, ignore_frac=frac,
                         ls=self.choice([0.0, 0.0, 0.0, 0.1, 0.37, 1.0]))
        for _ in range(n(12)):  # (C,) input with a 0-d target, or a (C,) probability target
            tk = self.choice(['index', 'index', 'softmax', 'raw'])
            C = int(r.integers(2, 11))
            ii = self.choice([-100, 0, 255]) if tk == 'index' else -100
            self.ce_case('ce-unbatched', shape_kind='unbatched', C=C, target_kind=tk, ignore_index=ii,
                         ignore_frac=0.3, ls=self.choice([0.0, 0.1, 0.37]),
                         class_dim=self.choice([0, -1]), fortran=False)
        for _ in range(n(3)):  # unbatched with the default classDim setting (1)
            self.ce_case('ce-unbatched-default-class-dim', shape_kind='unbatched', ls=self.choice([0.0, 0.1]))
        for _ in range(n(40)):  # probability targets
            self.ce_case('ce-prob-target', target_kind=self.choice(['softmax', 'raw']),
                         ignore_index=self.choice([-100, -100, -1]), ls=self.choice([0.0, 0.0, 0.1, 0.37, 1.0]))
        for _ in range(n(30)):  # label smoothing with and without weight and ignore_index
            ii, frac = self.random_ignore(10)
            self.ce_case('ce-label-smoothing', ls=self.choice([0.1, 0.37, 1.0]), weight=r.random() < 0.5,
                         ignore_index=ii, ignore_frac=frac)
        for _ in range(n(25)):  # ignore_index in and out of [0, C), with targets equal to it
            C = int(r.integers(2, 11))
            ii = self.choice([int(r.integers(0, C)), -100, 255, -1])
            self.ce_case('ce-ignore', C=C, ignore_index=ii, ignore_frac=self.choice([0.1, 0.3, 0.6]),
                         target_dtype=self.choice(['int64', 'int32', 'int16']) if ii < 0 else self.choice(INT_DTYPES),
                         ls=self.choice([0.0, 0.0, 0.2]))
        for _ in range(n(8)):  # every target ignored: mean is NaN
            C = int(r.integers(2, 11))
            ii = self.choice([int(r.integers(0, C)), -100, 255])
            self.ce_case('ce-all-ignored', C=C, ignore_index=ii, ignore_frac=1.0,
                         target_dtype='int16' if ii == -100 else self.choice(INT_DTYPES),
                         ls=self.choice([0.0, 0.1]), reduction=self.choice(['mean', 'mean', 'sum', 'none']))
        for _ in range(n(6)):  # weights that are 0 for every live target (mean = 0/0, also with smoothing)
            ii, frac = self.random_ignore(10)
            self.ce_case('ce-zero-target-weight', weight=True, zero_target_weight=True, ignore_index=ii,
                         ignore_frac=frac, ls=self.choice([0.0, 0.1, 0.37, 1.0]),
                         reduction=self.choice(['mean', 'mean', 'sum', 'none']),
                         target_kind='index', input_kind=self.choice(['logits', 'logits', 'probs']))
        for _ in range(n(18)):  # -inf logits, at the target class, and whole rows
            tk = self.choice(['index', 'index', 'index', 'softmax', 'raw'])
            ii, frac = self.random_ignore(10)
            self.ce_case('ce-neginf', special=self.choice(['neginf', 'neginf-target', 'neginf-row']),
                         target_kind=tk, ignore_index=ii if tk == 'index' else -100, ignore_frac=frac,
                         ls=self.choice([0.0, 0.0, 0.1]))
        for _ in range(n(14)):  # NaN logits, only at ignored positions or also at live ones
            C = int(r.integers(2, 11))
            ii = self.choice([int(r.integers(0, C)), -100, 255])
            self.ce_case('ce-nan', C=C, special=self.choice(['nan-ignored', 'nan-ignored', 'nan']),
                         ignore_index=ii, ignore_frac=0.3, target_dtype='int16' if ii == -100 else self.choice(INT_DTYPES),
                         ls=self.choice([0.0, 0.0, 0.1]))
        for _ in range(n(14)):  # huge logits
            tk = self.choice(['index', 'index', 'softmax'])
            self.ce_case('ce-huge', special='huge', target_kind=tk, ls=self.choice([0.0, 0.1]),
                         input_kind=self.choice(['logits', 'logits', 'log-probs']))
        for _ in range(n(10)):  # N = 0 (or a zero spatial size)
            tk = self.choice(['index', 'index', 'softmax'])
            self.ce_case('ce-empty', empty=True, target_kind=tk, shape_kind=self.choice(['2d', '3d', '4d']),
                         ls=self.choice([0.0, 0.1]), weight=r.random() < 0.5)
        for kind, cat in (('probs', 'ce-input-probs'), ('log-probs', 'ce-input-log-probs')):
            for _ in range(n(20)):
                tk = self.choice(['index', 'index', 'index', 'softmax', 'raw'])
                ii, frac = self.random_ignore(10)
                self.ce_case(cat, input_kind=kind, target_kind=tk, ignore_index=ii if tk == 'index' else -100,
                             ignore_frac=frac, ls=self.choice([0.0, 0.0, 0.1, 0.37, 1.0]),
                             special=self.choice([None, None, None, 'neginf-target']))
        for _ in range(n(25)):  # class axis elsewhere (channels-last and others)
            sk = self.choice(['2d', '3d', '4d', '4d', '5d'])
            nd = {'2d': 2, '3d': 3, '4d': 4, '5d': 5}[sk]
            axes = [a for a in range(-nd, nd) if a not in (1, 1 - nd)]
            cdim = self.choice([-1, -1] + axes)
            tk = self.choice(['index', 'index', 'softmax'])
            ii, frac = self.random_ignore(10)
            self.ce_case('ce-class-dim', shape_kind=sk, class_dim=cdim, target_kind=tk,
                         ignore_index=ii if tk == 'index' else -100, ignore_frac=frac,
                         ls=self.choice([0.0, 0.0, 0.1]), input_kind=self.choice(['logits', 'logits', 'probs', 'log-probs']))
        for _ in range(n(45)):
            self.bce_case('bce')
        for _ in range(n(8)):
            self.bce_case('bce-huge', special='huge')
        for _ in range(n(3)):
            self.bce_case('bce-empty', empty=True)
        for _ in range(n(5)):  # +-inf / NaN logits (PyTorch's formula gives NaN for +-inf)
            self.bce_case('bce-inf', special='inf')
        self.errors()
        self.no_classes()
        # Last, so the draws of every case above (and the committed seed-0 fixtures) stay as they were.
        for _ in range(n(12)):  # label smoothing, the weight only on a class that is the max
            C = int(r.integers(2, 11))
            self.ce_case('ce-smoothing-peak-weight', C=C, weight=True, special='peak-far',
                         peak_class=int(r.integers(C)), ls=self.choice([0.37, 0.9, 1.0]),
                         input_dtype=self.choice(['float32', 'float64']))
        for _ in range(n(12)):  # label smoothing with weights of both signs: the classes' terms cancel
            self.ce_case('ce-smoothing-signed-weight', weight=True, signed_weight=True,
                         ls=self.choice([0.3, 0.7, 1.0]), scale=self.choice([300.0, 3000.0, 30000.0]),
                         input_dtype='float32', weight_dtype='float32')


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('outdir')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--count-scale', type=float, default=1.0)
    args = ap.parse_args(argv)
    t0 = time.time()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    os.makedirs(args.outdir, exist_ok=True)
    for name in os.listdir(args.outdir):  # a rerun replaces the previous output
        if name.endswith('.npz') or name == 'cases.json':
            os.remove(os.path.join(args.outdir, name))
    g = Generator(args.outdir, args.seed, args.count_scale)
    g.run()
    manifest = {
        'generator': 'test/parity/generators/generate.py',
        'seed': args.seed,
        'countScale': args.count_scale,
        'torch': torch.__version__,
        'numpy': np.__version__,
        'cases': g.cases,
    }
    # One case per line: compact, and diffs of regenerated fixtures stay readable.
    head = json.dumps({k: v for k, v in manifest.items() if k != 'cases'}, allow_nan=False)[:-1]
    body = ',\n  '.join(json.dumps(c, allow_nan=False) for c in manifest['cases'])
    text = f'{head}, "cases": [\n  {body}\n]}}\n'
    assert json.loads(text) == manifest
    with open(os.path.join(args.outdir, 'cases.json'), 'w') as fh:
        fh.write(text)
    errors = sum(v for k, v in g.counts.items() if k.startswith('error-'))
    print(f'seed {args.seed}, count scale {args.count_scale}: {len(g.cases)} cases '
          f'({len(g.cases) - errors} computed, {errors} errors), '
          f'{g.bytes_written / 1e6:.2f} MB of npz, {time.time() - t0:.1f} s')
    for k in sorted(g.counts):
        print(f'  {k:34s} {g.counts[k]}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
