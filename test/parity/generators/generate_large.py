#!/usr/bin/env python3
"""Large-class-count parity fixtures (issue 13), written by real PyTorch.

Each case is an .npz holding the logits as float16 (exactly representable, so a float32 or float16 copy of
them is the same numbers; keeps the files small), the int64 target, optional weight, and what PyTorch
computes from them in float64: the unreduced loss, the reduced value for mean and sum, and the argmax.

  /usr/bin/python3 test/parity/generators/generate_large.py test/fixtures/parity-large
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def case(out, name, shape, class_last, pad=0, weight=False, smoothing=0.0, seed=0, peak=None):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(np.float16)
    C = shape[-1] if class_last else shape[1]
    if peak is not None:
        # A confident language model: at each position one class `peak` above the rest and a runner-up one
        # float16 step below it, so the sum of exp(x - max) is near 1 with tens of thousands of small terms
        # (one float32 sum over the classes loses them).
        xc = np.moveaxis(x, -1 if class_last else 1, 0)
        top = rng.integers(0, C, size=xc.shape[1:])
        idx = np.indices(top.shape)
        xc[(top, *idx)] = np.float16(peak)
        xc[((top + 7) % C, *idx)] = np.nextafter(np.float16(peak), np.float16(0))
    tshape = shape[:-1] if class_last else (shape[0],) + tuple(shape[2:])
    t = rng.integers(0, C, size=tshape).astype(np.int64)
    if pad:
        t[..., -pad:] = -100
    # Some targets equal to the argmax, so true positives and pairs both occur.
    xt = torch.from_numpy(x.astype(np.float64))
    if class_last:
        xt = xt.movedim(-1, 1) if xt.dim() > 2 else xt
    pred = xt.argmax(1)
    tt = torch.from_numpy(t)
    keep = (torch.rand(tt.shape, generator=torch.Generator().manual_seed(seed)) < 0.3) & (tt != -100)
    tt = torch.where(keep, pred, tt)
    w = torch.from_numpy(rng.uniform(0.2, 2.0, size=C)) if weight else None
    kw = dict(weight=w, ignore_index=-100, label_smoothing=smoothing)
    none = F.cross_entropy(xt, tt, reduction='none', **kw)
    mean = F.cross_entropy(xt, tt, reduction='mean', **kw).item()
    total = F.cross_entropy(xt, tt, reduction='sum', **kw).item()
    arrays = dict(input=x, target=tt.numpy(), loss=none.numpy(), predicted=pred.numpy().astype(np.int64))
    if w is not None:
        arrays['weight'] = w.numpy()
    np.savez_compressed(os.path.join(out, name + '.npz'), **arrays)
    return dict(id=name, file=name + '.npz', shape=list(shape), classLast=class_last, labelSmoothing=smoothing,
                hasWeight=weight, mean=mean, sum=total, torch=torch.__version__)


def main(argv):
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    cases = [
        case(out, 'imagenet-1000', (64, 1000), False, seed=1),
        case(out, 'imagenet-1000-weighted-smoothed', (48, 1000), False, weight=True, smoothing=0.1, seed=2),
        case(out, 'gpt2-50257-rows', (8, 50257), False, seed=3),
        case(out, 'lm-32000-class-last-padded', (2, 16, 32000), True, pad=5, seed=4),
        case(out, 'lm-32000-class-last-smoothed', (1, 12, 32000), True, pad=3, smoothing=0.1, seed=5),
        case(out, 'vocab-262144', (3, 262144), False, seed=6),
        case(out, 'seg-1100-classes', (1, 1100, 4, 8), False, seed=7),
        # Logits [B, V, T], as F.cross_entropy(logits.transpose(1, 2), t) takes a language model's output.
        case(out, 'lm-50257-class-first-confident', (2, 50257, 8), False, seed=8, peak=16.0),
        case(out, 'lm-32000-class-first-weighted-smoothed', (1, 32000, 12), False, weight=True, smoothing=0.1,
             seed=9, peak=16.0),
    ]
    with open(os.path.join(out, 'cases.json'), 'w') as f:
        json.dump(dict(cases=cases), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
