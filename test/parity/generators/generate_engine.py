#!/usr/bin/env python3
"""Live PyTorch references for the engine's WebAssembly path (test/parity/engineLive.test.ts).

Usage: /usr/bin/python3 test/parity/generators/generate_engine.py OUTDIR --seed S

The committed fixtures (generate.py) hold a few pixels of small class counts at moderate scales; this draws,
afresh for every seed, what the SIMD kernels are built for and where float32 loses accuracy first:
- every geometry the engine plans differently: rows [N, C] below and at or above 64 classes (transposed
  pixel kernel / row kernel), class-last [B, T, C] and [N, H, W, C] (classDim -1), spatial [N, C, L],
  [N, C, H, W] with few pixels and with 64 or more (the 16-pixel block layout from files), [N, C, D, H, W];
- every logit regime: plain N(0, s); confident (a margin of log C + 4..17 on the target, so losses run
  from ~1e-2 down to ~1e-7, a fifth of the rows confidently wrong); wide (N(0, 30): peaked softmaxes, losses
  in the hundreds); offset (each row shifted by up to +-60, which float32 must not notice);
- float32 and float16 logits, int64/int32 targets (half the cases in runs of one class), weights,
  ignore_index (none, -100, 255, a class),
  label smoothing, every reduction; a few probability-target cases (the engine's float64 path).

Each case is one .npz (input, target, optional weight, expected_loss) and one cases.json entry in the
format of generate.py (fixtures.ts reads both). References come from F.cross_entropy in float64 on exactly
the stored values; per class (class-index targets): the count of non-ignored elements, the sum of their
reduction='none' losses, and the count of torch.argmax predictions among them.
The output is a pure function of --seed.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# The cross-entropy generator's JSON number helper (this script's folder is on sys.path).
from generate import jnum

MAX_LOGITS = 48_000

GEOMETRIES = ['rows-narrow', 'rows-wide', 'class-last-narrow', 'class-last-wide',
              'spatial-3d', 'spatial-4d-few', 'spatial-4d-blocked', 'spatial-5d']
REGIMES = ['plain', 'confident', 'wide', 'offset']




class Gen:
    def __init__(self, outdir, seed):
        self.outdir = outdir
        self.rng = np.random.default_rng(seed)
        self.cases = []

    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def shape_for(self, geometry):
        """(shape with the class axis where it is stored, class axis, C)."""
        r = self.rng
        if geometry == 'rows-narrow':
            C = self.choice([2, 3, 5, 10, 21, 63])
            return (int(r.integers(16, max(17, min(3000, MAX_LOGITS // C)))), C), 1, C
        if geometry == 'rows-wide':
            C = self.choice([64, 100, 257, 1000, 4099])
            return (int(r.integers(3, max(4, min(200, MAX_LOGITS // C)))), C), 1, C
        if geometry == 'class-last-narrow':
            C = self.choice([3, 8, 21, 50])
            if r.random() < 0.5:
                return (int(r.integers(1, 4)), int(r.integers(5, 40)), C), -1, C
            return (int(r.integers(1, 3)), int(r.integers(3, 12)), int(r.integers(3, 12)), C), -1, C
        if geometry == 'class-last-wide':
            C = self.choice([64, 257, 1000])
            return (int(r.integers(1, 3)), int(r.integers(2, max(3, min(24, MAX_LOGITS // C // 2)))), C), -1, C
        if geometry == 'spatial-3d':
            C = self.choice([2, 5, 19, 64, 150])
            return (int(r.integers(1, 5)), C, int(r.integers(3, max(4, min(300, MAX_LOGITS // C // 4))))), 1, C
        if geometry == 'spatial-4d-few':
            C = self.choice([2, 3, 8, 21, 64])
            return (int(r.integers(1, 6)), C, int(r.integers(1, 6)), int(r.integers(1, 10))), 1, C
        if geometry == 'spatial-4d-blocked':  # >= 64 pixels per sample
            C = self.choice([2, 7, 21, 64, 100])
            hw = int(r.integers(64, max(65, min(900, MAX_LOGITS // C // 2))))
            h = int(r.integers(1, 17))
            return (int(r.integers(1, 3)), C, h, -(-hw // h)), 1, C
        if geometry == 'spatial-5d':
            C = self.choice([3, 11, 64])
            return (int(r.integers(1, 3)), C, int(r.integers(1, 4)), int(r.integers(2, 8)), int(r.integers(2, 9))), 1, C
        raise ValueError(geometry)

    def logits(self, regime, rows, C, target_rows):
        """Logits as rows [rows, C] (classes last) for a regime; target_rows holds each row's class index."""
        r = self.rng
        if regime == 'plain':
            return r.standard_normal((rows, C)) * self.choice([0.5, 2.0, 6.0])
        if regime == 'wide':
            return r.standard_normal((rows, C)) * 30.0
        if regime == 'offset':
            return r.standard_normal((rows, C)) * 3.0 + r.uniform(-60, 60, size=(rows, 1))
        if regime == 'confident':
            x = r.standard_normal((rows, C)) * 1.5
            margin = math.log(C) + r.uniform(4.0, 17.0, size=rows)
            cls = np.array(target_rows, dtype=np.int64) % C
            wrong = r.random(rows) < 0.2
            cls = np.where(wrong, (cls + 1 + r.integers(0, max(1, C - 1), size=rows)) % C, cls)
            x[np.arange(rows), cls] += margin
            return x
        raise ValueError(regime)

    def case(self, geometry, regime, target_kind, smoothing=None):
        r = self.rng
        shape, class_dim, C = self.shape_for(geometry)
        nd = len(shape)
        cd = nd - 1 if class_dim == -1 else 1
        tshape = shape[:cd] + shape[cd + 1:]
        rows = int(np.prod(tshape))
        in_dtype = 'float16' if r.random() < 0.3 else 'float32'
        ii = -100
        if target_kind == 'index':
            t = r.integers(0, C, size=tshape).astype(np.int64)
            if r.random() < 0.5 and len(tshape) >= 1 and tshape[-1] > 1:
                # Runs of one class along the last axis, as segmentation masks and padded batches have: the
                # kernels update a class's sums once for four equal neighbours.
                blk = int(r.integers(4, 17))
                t = np.repeat(t[..., ::blk], blk, axis=-1)[..., :tshape[-1]]
            ignore = self.choice(['none', '-100', '255', 'class'])
            if ignore == '-100':
                t = np.where(r.random(tshape) < 0.15, -100, t)
            elif ignore == '255':
                ii = 255
                t = np.where(r.random(tshape) < 0.2, 255, t)
            elif ignore == 'class':
                ii = int(r.integers(0, C))  # targets equal to it are ignored, as they come
            t_rows = np.where(t.reshape(-1) >= 0, t.reshape(-1), 0) % C
        else:
            t_rows = r.integers(0, C, size=rows)
        # Logits drawn as rows of classes, then laid out with the class axis where it is stored.
        xr = self.logits(regime, rows, C, t_rows)
        x_last = xr.reshape(*tshape, C)
        x = x_last if cd == nd - 1 else np.moveaxis(x_last, -1, cd)
        x = np.ascontiguousarray(x.astype(in_dtype))
        xt = torch.movedim(torch.from_numpy(x.astype(np.float64)), cd, 1) if cd != 1 else torch.from_numpy(x.astype(np.float64))
        w = None
        if r.random() < 0.4:
            w = r.uniform(0.2, 2.0, size=C).astype(np.float32)
            w[r.random(C) < 0.08] = 0.0
        ls = float(self.choice([0.0, 0.0, 0.1, 0.3]) if smoothing is None else smoothing)
        red = self.choice(['mean', 'mean', 'sum', 'none'])
        wt = torch.from_numpy(w.astype(np.float64)) if w is not None else None
        if target_kind == 'index':
            tgt = t.astype(self.choice(['int64', 'int64', 'int32']))
            tt = torch.from_numpy(t)
        else:
            z = r.standard_normal((rows, C)) * self.choice([0.5, 2.0])
            p = torch.softmax(torch.from_numpy(z), 1).numpy().reshape(*tshape, C)
            p = p if cd == nd - 1 else np.moveaxis(p, -1, cd)
            tgt = np.ascontiguousarray(p.astype(np.float32))
            tt = torch.from_numpy(tgt.astype(np.float64))
            tt = torch.movedim(tt, cd, 1) if cd != 1 else tt
            ii = -100
        kw = dict(weight=wt, ignore_index=ii, label_smoothing=ls)
        loss_none = F.cross_entropy(xt, tt, reduction='none', **kw)
        expect = {'value': None if red == 'none' else jnum(F.cross_entropy(xt, tt, reduction=red, **kw).item())}
        if target_kind == 'index':
            valid = tt != ii
            tv = tt[valid].reshape(-1)
            pv = torch.argmax(xt, 1)[valid].reshape(-1)
            expect['perClass'] = {
                'count': [int(v) for v in torch.bincount(tv, minlength=C)],
                'lossSum': [jnum(v) for v in torch.zeros(C, dtype=torch.float64).index_add_(0, tv, loss_none[valid].reshape(-1))],
                'predicted': [int(v) for v in torch.bincount(pv, minlength=C)],
            }
        case_id = f'{geometry}-{regime}-{target_kind}-{len(self.cases):02d}'
        members = {'input': x, 'target': tgt, 'expected_loss': loss_none.numpy().astype(np.float64)}
        if w is not None:
            members['weight'] = w
        fname = case_id + '.npz'
        np.savez(os.path.join(self.outdir, fname), **members)
        ln = loss_none.numpy()
        live = ln[(tt != ii).numpy()] if target_kind == 'index' else ln.reshape(-1)
        self.cases.append({
            'id': case_id, 'file': fname, 'geometry': geometry, 'regime': regime, 'targetKind': target_kind,
            'shape': list(shape), 'inputDtype': in_dtype,
            'options': {'loss': 'ce', 'reduction': red, 'ignoreIndex': ii, 'labelSmoothing': ls,
                        'inputKind': 'logits', 'classDim': class_dim},
            'hasWeight': w is not None, 'hasPosWeight': False, 'expect': expect,
            'minLoss': jnum(live.min()) if live.size else None,
        })

    def run(self):
        for k, g in enumerate(GEOMETRIES):
            for regime in REGIMES:
                # Half the confident cases without smoothing, every run: their tiny losses are the point.
                self.case(g, regime, 'index', 0.0 if regime == 'confident' and k % 2 == 0 else None)
        for _ in range(4):
            self.case(self.choice(GEOMETRIES), self.choice(REGIMES), 'probs')


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('outdir')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.time()
    torch.set_num_threads(1)
    os.makedirs(args.outdir, exist_ok=True)
    g = Gen(args.outdir, args.seed)
    g.run()
    manifest = {'generator': 'test/parity/generators/generate_engine.py', 'seed': args.seed, 'countScale': 1,
                'torch': torch.__version__, 'cases': g.cases}
    with open(os.path.join(args.outdir, 'cases.json'), 'w') as fh:
        json.dump(manifest, fh, allow_nan=False)
    print(f'seed {args.seed}: {len(g.cases)} cases, {time.time() - t0:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
