#!/usr/bin/python3
"""Generates the `runs` fixture under test/fixtures/runs/ and its expected `runs --json` report, computed
with PyTorch and NumPy in float64 (run with /usr/bin/python3: torch 1.13, NumPy 1.24, PIL).

The set: C = 6 classes, eight 48 x 64 images (img00 ... img07, PNG labels, a 2-pixel border and a few
scattered pixels ignored as 255), four runs ep1 ... ep4 of float32 logits [C, H, W] (`<stem>_logits.npy`),
the model getting better from run to run, with three planted changes:
  - class 3 is learned at run 3 (ep3): before, its pixels' logits favour class 0 (high loss, IoU 0);
  - img05 regresses: a region (a third of it) good in ep1 ... ep3 is confidently wrong in ep4, so img05 is
    the one image whose value rises from the first run to the last (first in `changed`);
  - img02 has a region that is confidently wrong in every run, so img02 has the largest `persistent` share.

Reference definitions (DESIGN.md, runs):
  - runs[k]: value, pixelAccuracy, miou, ece of run k's folder, as `eval` defines them; computed by the eval
    generator's own reference (test/eval/generate_eval.py `reference`, PyTorch float64 over the images
    concatenated); p90: np.percentile(losses, 90), NumPy's default (linear) method, where losses are
    F.cross_entropy(x.double(), t, ignore_index=255, reduction='none') of the float32 logits over the
    non-ignored pixels of all images of the run.
  - perClass[c]: meanLoss and iou of class c in each run; perImage: each image's value in each run.
  - changed: value in the last run minus the first, largest first (NaN last), ties in stem order.
  - persistent: per image, the share of its non-ignored pixels whose loss is > p90 in every run; largest
    first (images without pixels last), ties in stem order.
  - hard.json (beside expected.json): per image, those pixels' flat positions in its H x W raster (row-major),
    ascending: the panel's "Hard in every run" mode must mark exactly these.
Our per-pixel losses come from the float32 kernel (relative error ~1e-7), so the generator keeps every
pixel's float64 loss further than a relative 1e-5 from its run's p90 (the decision "above" is then the same
in float32), every confidence 1e-5 away from a calibration bin edge (nudging the few that are not), and the deltas 1e-5 apart (their
order is the same); it tries seeds until all hold.
"""
import importlib.util
import json
import math
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..', 'fixtures', 'runs')
IGNORE = 255
C, H, W = 6, 48, 64
STEMS = [f'img{i:02d}' for i in range(8)]
RUNS = ['ep1', 'ep2', 'ep3', 'ep4']
LEARNED_AT = 2        # class 3 learned from the third run on
REGRESS = 'img05'     # region wrong in the last run only
HARD = 'img02'        # region wrong in every run
MARGIN = 1e-5

spec = importlib.util.spec_from_file_location('generate_eval', os.path.join(HERE, '..', '..', 'eval', 'generate_eval.py'))
generate_eval = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate_eval)


def labels_for(rng, stem):
    t = np.full((H, W), rng.integers(0, 3), dtype=np.int64)
    for _ in range(7):
        c = int(rng.integers(0, C))
        y0, x0 = int(rng.integers(0, H - 8)), int(rng.integers(0, W - 8))
        t[y0:y0 + int(rng.integers(6, 20)), x0:x0 + int(rng.integers(6, 24))] = c
    # class 3 in most images, so that learning it shows in several images
    if stem not in ('img01', 'img06'):
        y0, x0 = int(rng.integers(4, H - 16)), int(rng.integers(4, W - 20))
        t[y0:y0 + 10, x0:x0 + 14] = 3
    t[:2, :] = IGNORE
    t[-2:, :] = IGNORE
    t[:, :2] = IGNORE
    t[:, -2:] = IGNORE
    t[rng.random((H, W)) < 0.01] = IGNORE
    return t


def region(stem):
    """The planted region of img05 / img02 (rows, cols)."""
    return (slice(10, 22), slice(20, 36)) if stem == HARD else (slice(14, 40), slice(8, 40))


def logits_for(rng, shared, t, run):
    """float32 logits of one image in one run: a shared and a per-run noise, the target's logit raised by a
    strength that grows with the run, and the planted changes."""
    strength = [1.2, 1.7, 2.3, 2.9][run]
    x = 0.8 * shared + 0.9 * rng.normal(0, 1, size=(C, H, W))
    valid = t != IGNORE
    target = np.where(valid, t, 0)
    learned = (target != 3) | (run >= LEARNED_AT)
    boost = np.where(learned, target, 0)  # before it is learned, class 3 looks like class 0
    rows, cols = np.nonzero(valid)
    x[boost[rows, cols], rows, cols] += strength
    unlearned = valid & ~learned
    x[3][unlearned] -= 1.5
    return x


def plant(x, t, stem, run):
    if stem == HARD or (stem == REGRESS and run == len(RUNS) - 1):
        ys, xs = region(stem)
        tt = t[ys, xs]
        wrong = (np.where(tt == IGNORE, 0, tt) + 2) % C
        for c in range(C):
            x[c, ys, xs] = np.where(tt == c, -3.0, np.where(wrong == c, 4.5, x[c, ys, xs]))
    return x


def clear_of_edges(x, t, bins=15):
    """Raises the top logit of the pixels whose float64 top-class probability lies within MARGIN of an inner
    calibration edge k / bins (by 0.01: the probability moves by about 0.01 p (1 - p), over 5e-4 here), so
    that the float32 kernel puts every pixel in the reference's bin."""
    edges = np.arange(1, bins) / bins
    valid = t != IGNORE
    while True:
        x64 = x.astype(np.float64)
        p = np.exp(x64 - x64.max(0)) / np.exp(x64 - x64.max(0)).sum(0)
        conf = p.max(0)
        near = valid & (np.min(np.abs(conf[..., None] - edges), axis=-1) <= MARGIN)
        if not near.any():
            return x
        top = x64.argmax(0)
        ys, xs = np.nonzero(near)
        x[top[ys, xs], ys, xs] += np.float32(0.01)


def largest_first(items, key):
    """Descending by key, NaN / None last, ties in the given (stem) order."""
    def k(item):
        v = key(item)
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        return (1, 0.0) if missing else (0, -v)
    return sorted(items, key=k)


def build(seed):
    rng = np.random.default_rng(seed)
    labels = {s: labels_for(rng, s) for s in STEMS}
    shared = {s: rng.normal(0, 1, size=(C, H, W)) for s in STEMS}
    runs = []
    for r in range(len(RUNS)):
        images = []
        for s in STEMS:
            x = clear_of_edges(plant(logits_for(rng, shared[s], labels[s], r), labels[s], s, r).astype(np.float32), labels[s])
            images.append((s, x, labels[s]))
        runs.append(images)
    return labels, runs


def run_losses(images):
    """Per image, float64 losses of the non-ignored pixels in raster order (as the CLI keeps them)."""
    out = []
    for _, x, t in images:
        X = torch.from_numpy(x.astype(np.float64).reshape(C, -1).T.copy())
        T = torch.from_numpy(t.reshape(-1).copy())
        l = F.cross_entropy(X, T, ignore_index=IGNORE, reduction='none').numpy()
        out.append(l[T.numpy() != IGNORE])
    return out


def expected(runs):
    reports = []
    for images in runs:
        ref, conf, edges = generate_eval.reference([(s, x.astype(np.float64), t) for s, x, t in images], C, IGNORE, None, 0.0, 15, 3, [])
        generate_eval.check_edges(conf, edges, 'runs')
        reports.append(ref)
    losses = [run_losses(images) for images in runs]
    p90 = []
    for r, per_image in enumerate(losses):
        allv = np.concatenate(per_image)
        p = float(np.percentile(allv, 90))
        gap = float(np.min(np.abs(allv - p)) / p)
        if gap <= MARGIN:
            raise ValueError(f'run {RUNS[r]}: a loss lies {gap:.2e} (relative) from p90')
        p90.append(p)
    pixels = [len(l) for l in losses[0]]
    above = []
    hard = {}
    for i, s in enumerate(STEMS):
        alive = np.ones(pixels[i], dtype=bool)
        for r in range(len(runs)):
            alive &= losses[r][i] > p90[r]
        above.append(int(alive.sum()))
        # losses keep the non-ignored pixels in raster order: their positions are those of the valid labels.
        valid = np.flatnonzero(runs[0][i][2].reshape(-1) != IGNORE)
        hard[s] = [int(k) for k in valid[alive]]
    first, last = reports[0], reports[-1]
    deltas = [last['perImage'][i]['value'] - first['perImage'][i]['value'] for i in range(len(STEMS))]
    d = np.sort(np.array(deltas))
    if np.min(np.diff(d)) <= MARGIN * max(1.0, float(np.max(np.abs(d)))):
        raise ValueError('two deltas too close for a stable order')
    changed = largest_first([{'name': s, 'delta': deltas[i]} for i, s in enumerate(STEMS)], lambda e: e['delta'])
    persistent = largest_first([{'name': s, 'share': None if pixels[i] == 0 else above[i] / pixels[i]} for i, s in enumerate(STEMS)],
                               lambda e: e['share'])
    out = {
        'images': len(STEMS),
        'runs': [{'name': RUNS[k], 'value': rep['value'], 'pixelAccuracy': rep['pixelAccuracy'], 'miou': rep['miou'], 'ece': rep['ece'],
                  'p90': p90[k]} for k, rep in enumerate(reports)],
        'perClass': [{'class': c, 'meanLoss': [rep['perClass'][c]['meanLoss'] for rep in reports],
                      'iou': [rep['perClass'][c]['iou'] for rep in reports]} for c in range(C)],
        'perImage': [{'name': s, 'value': [rep['perImage'][i]['value'] for rep in reports]} for i, s in enumerate(STEMS)],
        'changed': changed,
        'persistent': persistent,
        'unmatched': [],
    }
    # The planted changes show as intended (the test relies on them too).
    assert changed[0]['name'] == REGRESS and changed[0]['delta'] > 0 > changed[1]['delta'], changed[:2]
    assert persistent[0]['name'] == HARD and persistent[0]['share'] > 2 * persistent[1]['share'], persistent[:2]
    ml = out['perClass'][3]['meanLoss']
    iou = out['perClass'][3]['iou']
    assert ml[LEARNED_AT] < 0.5 * ml[LEARNED_AT - 1] and iou[LEARNED_AT - 1] < 0.05 < 0.5 < iou[LEARNED_AT], (ml, iou)
    ys, xs = region(HARD)
    planted = np.zeros((H, W), dtype=bool)
    planted[ys, xs] = True
    hard_planted = set(np.flatnonzero(planted & (runs[0][STEMS.index(HARD)][2] != IGNORE)).tolist())
    assert hard_planted <= set(hard[HARD]), 'every labelled pixel of the planted region is hard in every run'
    return generate_eval.clean(out), {'p90': p90, 'above': above, 'pixels': pixels, 'hard': hard}


def main():
    for seed in range(2026, 2126):
        labels, runs = build(seed)
        try:
            ref, info = expected(runs)
        except (ValueError, AssertionError) as e:
            print(f'seed {seed}: {e}; next seed')
            continue
        break
    else:
        raise SystemExit('no seed satisfied the margins')
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, 'labels'))
    for s in STEMS:
        Image.fromarray(labels[s].astype(np.uint8), mode='L').save(os.path.join(ROOT, 'labels', f'{s}.png'))
    for r, images in enumerate(runs):
        d = os.path.join(ROOT, RUNS[r])
        os.makedirs(d)
        for s, x, _ in images:
            np.save(os.path.join(d, f'{s}_logits.npy'), x)
    ref['_seed'] = seed
    ref['_args'] = ['--ignore-index', str(IGNORE)]
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(ref, f, indent=1)
    with open(os.path.join(ROOT, 'hard.json'), 'w') as f:
        json.dump({'shape': [H, W], 'region': {HARD: [region(HARD)[0].start, region(HARD)[0].stop, region(HARD)[1].start, region(HARD)[1].stop]},
                   'hard': info['hard']}, f)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(ROOT) for f in fs)
    print(f'seed {seed}: p90 {info["p90"]}, above {info["above"]} of {info["pixels"]}; wrote {ROOT} ({total / 1024:.0f} KiB)')


if __name__ == '__main__':
    main()
