#!/usr/bin/python3
"""Generates the folder-evaluation fixtures under test/fixtures/eval/ and their expected `eval --json`
figures, computed independently in float64 with PyTorch and NumPy (run with /usr/bin/python3, which has
torch 1.13, numpy and PIL).

Sets:
  basic/          C = 6, seven pairs of varying sizes, every stem suffix, PNG (PIL) and .npy labels,
                  float32 / float16 / float64 logits, [C, H, W] and [1, C, H, W], ignored pixels (255), an
                  image with every pixel ignored, class 4 never a target, class 5 never a target nor
                  predicted, an unmatched file on each side and a README that is not a tensor.
  channels_last/  [1, H, W, C] float32 logits (--class-dim -1), three pairs.
  bad/            a label holding 7 with C = 6 (error message test).

The reference for each option set is written to <set>/expected_<name>.json with the CLI's conventions
(NaN as the string "NaN"). Definitions follow DESIGN.md and src/eval/finalize.ts; they are implemented
here from the definitions, not from our code (the boundary band, for instance, counts distinct labels per
window with one max filter per class, where src/eval/boundary.ts uses min/max filters).
"""
import json
import math
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'eval')
IGNORE = 255


def blocky_labels(rng, h, w, classes, ignore_frac=0.08):
    """Rectangles of classes on a background, plus a few ignored rectangles."""
    t = np.full((h, w), classes[0], dtype=np.int64)
    for _ in range(6):
        c = classes[rng.integers(len(classes))]
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        y1, x1 = min(h, y0 + rng.integers(2, max(3, h // 2))), min(w, x0 + rng.integers(2, max(3, w // 2)))
        t[y0:y1, x0:x1] = c
    if ignore_frac > 0:
        for _ in range(2):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            t[y0:min(h, y0 + max(1, h // 6)), x0:min(w, x0 + max(1, w // 5))] = IGNORE
        # scattered ignored pixels too
        mask = rng.random((h, w)) < 0.02
        t[mask] = IGNORE
    return t


def logits_for(rng, t, C):
    h, w = t.shape
    x = rng.normal(0, 1.5, size=(C, h, w))
    valid = t != IGNORE
    onehot = np.zeros((C, h, w))
    for c in range(C):
        onehot[c] = (t == c) & valid
    x += 2.0 * onehot
    x[C - 1] = -12.0 + rng.normal(0, 0.1, size=(h, w))  # the last class is never predicted
    return x


def save_png(path, t):
    Image.fromarray(t.astype(np.uint8), mode='L').save(path)


def max_filter_bool(a, w):
    """Window maximum of a boolean map over (2w+1)^2, clipped at the edges."""
    h, wd = a.shape
    out = np.zeros_like(a)
    for dy in range(-w, w + 1):
        for dx in range(-w, w + 1):
            ys, ye = max(0, dy), min(h, h + dy)
            xs, xe = max(0, dx), min(wd, wd + dx)
            out[ys - dy:ye - dy, xs - dx:xe - dx] |= a[ys:ye, xs:xe]
    return out


def band_of(t, C, w):
    if w == 0:
        return np.zeros(t.shape, dtype=bool)
    distinct = np.zeros(t.shape, dtype=np.int64)
    for c in range(C):
        distinct += max_filter_bool(t == c, w).astype(np.int64)
    return distinct > 1


def miou_of(tp, fp, fn):
    union = tp + fp + fn
    ok = union > 0
    return None if not ok.any() else float(np.mean(tp[ok] / union[ok]))


def confusion_parts(pred, tgt, C):
    tp = np.zeros(C)
    fp = np.zeros(C)
    fn = np.zeros(C)
    for c in range(C):
        tp[c] = np.sum((pred == c) & (tgt == c))
        fp[c] = np.sum((pred == c) & (tgt != c))
        fn[c] = np.sum((pred != c) & (tgt == c))
    return tp, fp, fn


def nan_str(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    return v


def clean(o):
    if isinstance(o, dict):
        return {k: clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    if isinstance(o, (np.floating,)):
        return nan_str(float(o))
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, float):
        return nan_str(o)
    return o


def reference(images, C, ignore, weight, ls, bins, width, unmatched):
    """images: list of (stem, x float64 [C, H, W], t int64 [H, W]) in stem order."""
    wt = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    X = torch.cat([torch.from_numpy(x.reshape(C, -1).T.copy()) for _, x, _ in images])
    T = torch.cat([torch.from_numpy(t.reshape(-1).copy()) for _, _, t in images])
    value = F.cross_entropy(X, T, weight=wt, ignore_index=ignore, label_smoothing=ls).item()
    loss = F.cross_entropy(X, T, ignore_index=ignore, label_smoothing=ls, reduction='none').numpy()
    pred = X.argmax(1).numpy()
    conf = torch.softmax(X, 1).max(1).values.numpy()
    t = T.numpy()
    valid = t != ignore
    n = int(valid.sum())
    lv, pv, tv, cv = loss[valid], pred[valid], t[valid], conf[valid]
    tp, fp, fn = confusion_parts(pv, tv, C)
    count = np.array([np.sum(tv == c) for c in range(C)], dtype=np.float64)
    L = np.array([lv[tv == c].sum() for c in range(C)])
    total = lv.sum()
    per_class = []
    for c in range(C):
        u = tp[c] + fp[c] + fn[c]
        per_class.append({
            'class': c, 'count': int(count[c]),
            'iou': None if u == 0 else tp[c] / u,
            'accuracy': None if count[c] == 0 else tp[c] / count[c],
            'dice': None if u == 0 else 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]),
            'meanLoss': None if count[c] == 0 else L[c] / count[c],
            'share': None if total == 0 else L[c] / total,
        })
    edges = np.linspace(0, 1, bins + 1)
    # (lo, hi]: the first edge >= conf closes the bin
    b = np.clip(np.searchsorted(edges, cv, side='left') - 1, 0, bins - 1)
    bc = np.array([np.sum(b == k) for k in range(bins)], dtype=np.float64)
    bconf = [None if bc[k] == 0 else float(cv[b == k].mean()) for k in range(bins)]
    bacc = [None if bc[k] == 0 else float((pv[b == k] == tv[b == k]).mean()) for k in range(bins)]
    gaps = [abs(bconf[k] - bacc[k]) for k in range(bins) if bc[k] > 0]
    ece = sum(bc[k] / n * abs(bconf[k] - bacc[k]) for k in range(bins) if bc[k] > 0)
    # boundary band, image by image
    band = np.concatenate([band_of(np.where(ti == ignore, -1, ti), C, width).reshape(-1) for _, _, ti in images])[valid]
    freq = count / n
    present = freq[freq > 0]
    med = float(np.median(present))
    mf = np.where(freq > 0, med / np.where(freq > 0, freq, 1), 0.0)
    si = np.where(freq > 0, 1 / np.sqrt(np.where(freq > 0, freq, 1)), 0.0)
    en = np.where(freq > 0, 1 / np.log(1.02 + freq), 0.0)

    def wvalue(w):
        return float((w[tv] * lv).sum() / w[tv].sum())

    if ls == 0:
        # The definition sum(w_t l) / sum(w_t) is F.cross_entropy with that weight when there is no smoothing.
        chk = F.cross_entropy(X, T, weight=torch.from_numpy(mf), ignore_index=ignore).item()
        assert abs(chk - wvalue(mf)) <= 1e-12 * abs(chk), (chk, wvalue(mf))
    per_image = []
    for stem, x, ti in images:
        xi = torch.from_numpy(x.reshape(C, -1).T.copy())
        tt = torch.from_numpy(ti.reshape(-1).copy())
        v = F.cross_entropy(xi, tt, weight=wt, ignore_index=ignore, label_smoothing=ls).item()
        li = F.cross_entropy(xi, tt, ignore_index=ignore, label_smoothing=ls, reduction='none').numpy()
        pi = xi.argmax(1).numpy()
        tn = tt.numpy()
        ok = tn != ignore
        a, bb, cc = confusion_parts(pi[ok], tn[ok], C)
        worst = None
        worst_mean = -1.0
        for c in range(C):
            m = tn[ok] == c
            if m.any():
                mean = li[ok][m].mean()
                if worst is None or mean > worst_mean:
                    worst, worst_mean = c, mean
        per_image.append({
            'name': stem, 'value': v,
            'pixelAccuracy': None if ok.sum() == 0 else float((pi[ok] == tn[ok]).mean()),
            'miou': miou_of(a, bb, cc), 'worstClass': worst,
        })
    mious = [p['miou'] for p in per_image if p['miou'] is not None]
    return clean({
        'images': len(images),
        'value': value,
        'pixelAccuracy': float((pv == tv).mean()),
        'perClass': per_class,
        'miou': miou_of(tp, fp, fn),
        'miouPerImage': float(np.mean(mious)) if mious else None,
        'ece': float(ece), 'mce': float(max(gaps)),
        'calibration': {'edges': [float(e) for e in edges], 'count': [int(c) for c in bc], 'confidence': bconf, 'accuracy': bacc},
        'boundary': {'width': width, 'share': float(lv[band].sum() / total),
                     'meanInside': float(lv[band].mean()), 'meanOutside': float(lv[~band].mean())},
        'weights': {'frequency': freq.tolist(), 'medianFrequency': mf.tolist(), 'sqrtInverse': si.tolist(), 'enet': en.tolist(),
                    'valueMedianFrequency': wvalue(mf), 'valueSqrtInverse': wvalue(si), 'valueEnet': wvalue(en)},
        'perImage': per_image,
        'unmatched': unmatched,
    }), cv, edges


def check_edges(conf, edges, what):
    # The float32 kernel's confidences differ from float64 by ~1e-7: keep every one clear of a bin edge so
    # that both land in the same bin.
    d = np.min(np.abs(conf[:, None] - edges[None, 1:-1])) if len(edges) > 2 else 1.0
    assert d > 1e-5, f'{what}: a confidence lies {d} from a bin edge; change the seed'


def basic():
    d = os.path.join(ROOT, 'basic')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, 'pred'))
    os.makedirs(os.path.join(d, 'labels'))
    rng = np.random.default_rng(20261201)
    C = 6
    # stem, pred file, label file, (H, W), pred dtype, 4-D?, label kind
    spec = [
        ('img001', 'img001_logits.npy', 'img001_gt.png', (24, 32), np.float32, False, 'png'),
        ('img002', 'img002_pred.npy', 'img002_label.npy', (17, 23), np.float16, True, 'npy64'),
        ('img003', 'img003_output.npy', 'img003_mask.png', (32, 16), np.float32, True, 'png'),
        ('img004', 'img004.npy', 'img004_seg.png', (9, 40), np.float16, False, 'png'),
        ('img005', 'img005_logits.npy', 'img005_gtFine_labelIds.png', (20, 20), np.float32, False, 'png'),
        ('img006', 'img006_logits.npy', 'img006_labels.npy', (13, 29), np.float64, False, 'npyu8'),
        ('img007', 'img007_logits.npy', 'img007_gt.png', (8, 8), np.float32, False, 'png'),  # every pixel ignored
    ]
    images = []
    for stem, pf, lf, (h, w), dt, four, kind in spec:
        t = blocky_labels(rng, h, w, [0, 1, 2, 3] if stem != 'img003' else [1, 2])
        if stem == 'img007':
            t[:] = IGNORE
        x = logits_for(rng, t, C).astype(dt)
        np.save(os.path.join(d, 'pred', pf), x[None] if four else x)
        if kind == 'png':
            save_png(os.path.join(d, 'labels', lf), t)
        elif kind == 'npy64':
            np.save(os.path.join(d, 'labels', lf), t.astype(np.int64))
        else:
            np.save(os.path.join(d, 'labels', lf), t.astype(np.uint8))
        images.append((stem, x.astype(np.float64), t))
    # unmatched on each side, and a file that is not a tensor
    t = blocky_labels(rng, 10, 10, [0, 1])
    np.save(os.path.join(d, 'pred', 'orphan_logits.npy'), logits_for(rng, t, C).astype(np.float32))
    save_png(os.path.join(d, 'labels', 'lonely_gt.png'), t)
    with open(os.path.join(d, 'pred', 'README.txt'), 'w') as f:
        f.write('not a tensor: skipped by pairing\n')
    unmatched = ['orphan_logits.npy', 'lonely_gt.png']
    runs = {
        'default': dict(weight=None, ls=0.0, bins=15, width=3),
        'weighted': dict(weight=[1.0, 2.0, 0.5, 1.5, 3.0, 0.25], ls=0.0, bins=10, width=2),
        'smooth': dict(weight=[1.0, 2.0, 0.5, 1.5, 3.0, 0.25], ls=0.1, bins=7, width=1),
    }
    for name, o in runs.items():
        ref, conf, edges = reference(images, C, IGNORE, o['weight'], o['ls'], o['bins'], o['width'], unmatched)
        check_edges(conf, edges, f'basic/{name}')
        ref['_args'] = ['--ignore-index', str(IGNORE), '--bins', str(o['bins']), '--boundary', str(o['width'])] + \
            (['--weight', ','.join(str(v) for v in o['weight'])] if o['weight'] else []) + \
            (['--label-smoothing', str(o['ls'])] if o['ls'] else [])
        with open(os.path.join(d, f'expected_{name}.json'), 'w') as f:
            json.dump(ref, f, indent=1)


def channels_last():
    d = os.path.join(ROOT, 'channels_last')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, 'pred'))
    os.makedirs(os.path.join(d, 'labels'))
    rng = np.random.default_rng(8)
    C = 4
    images = []
    for i, (h, w) in enumerate([(12, 15), (7, 9), (16, 4)]):
        stem = f'cl{i}'
        t = blocky_labels(rng, h, w, [0, 1, 2, 3])
        x = logits_for(rng, t, C).astype(np.float32)
        np.save(os.path.join(d, 'pred', f'{stem}_logits.npy'), np.ascontiguousarray(np.moveaxis(x, 0, -1))[None])
        save_png(os.path.join(d, 'labels', f'{stem}.png'), t)
        images.append((stem, x.astype(np.float64), t))
    ref, conf, edges = reference(images, C, IGNORE, None, 0.0, 15, 3, [])
    check_edges(conf, edges, 'channels_last')
    ref['_args'] = ['--ignore-index', str(IGNORE), '--class-dim', '-1']
    with open(os.path.join(d, 'expected_default.json'), 'w') as f:
        json.dump(ref, f, indent=1)


def bad():
    d = os.path.join(ROOT, 'bad')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, 'pred'))
    os.makedirs(os.path.join(d, 'labels'))
    rng = np.random.default_rng(3)
    t = np.zeros((5, 6), dtype=np.int64)
    t[2, 3] = 7
    np.save(os.path.join(d, 'pred', 'a_logits.npy'), rng.normal(size=(6, 5, 6)).astype(np.float32))
    save_png(os.path.join(d, 'labels', 'a_gt.png'), t)
    # a label whose size does not match its prediction
    np.save(os.path.join(d, 'pred', 'b_logits.npy'), rng.normal(size=(6, 5, 6)).astype(np.float32))
    save_png(os.path.join(d, 'labels', 'b_gt.png'), np.zeros((4, 6)))


if __name__ == '__main__':
    basic()
    channels_last()
    bad()
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(ROOT) for f in fs)
    print(f'wrote {ROOT} ({total / 1024:.0f} KiB)')
