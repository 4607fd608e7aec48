#!/usr/bin/env python3
"""Writes the dtype-acceptance parity fixtures for Cross-Entropy Lens: which (loss, input dtype, target dtype)
combinations PyTorch accepts, what it returns, and what it raises.

Usage: /usr/bin/python3 test/parity/generators/generate_dtypes.py [OUTDIR] [--seed S]
(default OUTDIR: test/fixtures/parity-dtypes; needs torch and torchvision, which /usr/bin/python3 has.)

Output: OUTDIR/arrays.npz (every input and target, one member each, all tiny) and OUTDIR/cases.json, one
case per (group, input dtype, target dtype). Only the dtype varies within a group; the values do not:

- input [4, 3] (float dtypes: seeded normals; integer and bool dtypes: the same normals rounded, so that
  PyTorch's verdict can only come from the dtype);
- 'index' targets [4] with values in {0, 1} (valid class indices for C = 3 and valid 0/1 values), for
  groups ce (F.cross_entropy), nll (our ce with inputKind 'log-probs' = F.nll_loss on the input) and
  focal; 'same-shape' targets [4, 3] with values in {0, 1}: one-hot rows for ce-probs (F.cross_entropy,
  which takes a floating target of the input's shape as class probabilities) and 0/1 for bce
  (F.binary_cross_entropy_with_logits) and sigmoid-focal (torchvision.ops.sigmoid_focal_loss, alpha 0.25,
  gamma 2). Reduction 'mean' throughout.
- focal has no PyTorch function. Its reference is F.cross_entropy for acceptance (focal takes index
  targets exactly as cross_entropy does, so cross_entropy's dtype checks are the ones that apply) and, where
  that accepts, the value -(1 - p_t)^2 log p_t (gamma 2, no alpha) in torch ops in the input's dtype, as in
  generate_focal.py, with the target as .long() (torch.gather itself takes int64 indices only, a detail of
  the reference, not of focal loss).

Each case records two things:

- case.torch: what PyTorch 1.13 does with exactly the stored dtypes: {"value": v} or {"error": first line
  of its message, "halfKernel": bool}.
- case.expect: what the product must do, derived from PyTorch by these rules:
  1. "PyTorch lacks a CPU Half kernel" is not a semantic rejection. PyTorch 1.13 on CPU has no float16
     kernel for log_softmax, nll_loss, clamp_min or sigmoid, so every float16 input raises "... not
     implemented for 'Half'" before any dtype check of the target. The product deliberately computes
     float16 inputs in float32/float64, so for a float16 input the expectation is PyTorch's answer with the
     input cast to float32 (an exact widening of the stored values): its value, or its semantic rejection
     (a wrong target dtype). torch.halfKernel marks a raw error that is this quirk and nothing else.
  2. PyTorch's bce arithmetic runs in the target's dtype ((1 - target).mul_(input)... in place), so a
     float16 target rounds every intermediate to float16 (about 4e-4 relative here) even for a float64
     input; sigmoid_focal_loss inherits it. That is float16 rounding, not semantics: for a float16 target of
     bce / sigmoid-focal the expected value is PyTorch's with the target cast to float32 (exact widening);
     torch.value keeps the raw float16-rounded value (checked here to be within 1e-3 of it).
  expect is {"value": v, "valueFrom": which casts, if any, the reference made} where PyTorch returns a
  value: within 2e-6 relative for the product. Otherwise {"error": PyTorch's message (after rule 1),
  "mustMentionAny": [...]}: PyTorch rejects the combination for a dtype reason, and the product must raise a
  LensError whose one-line message names (as our dtype names, e.g. 'int32', 'bool') at least one of the
  dtypes PyTorch blames. The blamed operands are found by asking PyTorch again: the input is blamed when
  it raises with a known-good target of that group (int64 index / float32 same-shape), the target when it
  raises with a float64 input. A rejection that blames neither would make this script fail.
- Targets of uint16 / uint32 / uint64 (which the product reads from .npy files) have no torch dtype in 1.13:
  torch.from_numpy raises, so a user cannot even build them. Those cases (float32 input only) record that
  message as torch.error with "noTorchDtype": true, and expect {"noTorchDtype": true, "mustMentionAny":
  [dtype], "valueAsInt64": v | null}: the product may raise (naming the dtype) or, for index targets only,
  read them as labels and give the value of the same labels as int64 (valueAsInt64; null for bce and
  sigmoid-focal, where PyTorch rejects every integer target).

Every value is cross-checked against PyTorch on the same stored values cast to float64 (within 1e-6
relative). The output is a pure function of --seed.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.ops import sigmoid_focal_loss

# The cross-entropy generator's JSON number helper (this script's folder is on sys.path).
from generate import jnum

INPUT_DTYPES = ['float16', 'float32', 'float64', 'int64', 'int32', 'uint8', 'bool']
TARGET_DTYPES = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'float16', 'float32', 'float64']
NO_TORCH_DTYPES = ['uint16', 'uint32', 'uint64']
N, C = 4, 3

# group -> (the product's options, target layout). Options not named take the product's defaults
# (ignore_index -100, no label smoothing, classDim 1, gamma 2, alpha 0.25), which are PyTorch's.
GROUPS = {
    'ce': ({'loss': 'ce', 'inputKind': 'logits'}, 'index'),
    'ce-probs': ({'loss': 'ce', 'inputKind': 'logits'}, 'same-shape'),
    'nll': ({'loss': 'ce', 'inputKind': 'log-probs'}, 'index'),
    'focal': ({'loss': 'focal', 'inputKind': 'logits'}, 'index'),
    'bce': ({'loss': 'bce', 'inputKind': 'logits'}, 'same-shape'),
    'sigmoid-focal': ({'loss': 'sigmoid-focal', 'inputKind': 'logits'}, 'same-shape'),
}

FLOATS = ('float16', 'float32', 'float64')


def check(cond, what):
    if not cond:
        sys.exit(f'generator self-check failed: {what}')


def first_line(e):
    return str(e).split('\n')[0]


def outcome(fn):
    """('value', float) or ('error', first line of the message)."""
    try:
        return 'value', float(fn())
    except Exception as e:  # noqa: BLE001 - any PyTorch exception is the reference outcome
        return 'error', first_line(e)


# ---------------------------------------------------------------------------------------------------
# The losses, as PyTorch computes them (x, t: torch tensors of any dtype)


def focal_value(x, t):
    # Acceptance first, exactly as F.cross_entropy decides it (see the header).
    F.cross_entropy(x, t, reduction='none')
    lp = F.log_softmax(x, 1)
    lpt = lp.gather(1, t.long().unsqueeze(1)).squeeze(1)
    return (-(-torch.expm1(lpt)) ** 2 * lpt).mean()


LOSSES = {
    'ce': lambda x, t: F.cross_entropy(x, t),
    'ce-probs': lambda x, t: F.cross_entropy(x, t),
    'nll': lambda x, t: F.nll_loss(x, t),
    'focal': focal_value,
    'bce': lambda x, t: F.binary_cross_entropy_with_logits(x, t),
    'sigmoid-focal': lambda x, t: sigmoid_focal_loss(x, t, alpha=0.25, gamma=2, reduction='mean'),
}


# ---------------------------------------------------------------------------------------------------
# Arrays


def make_arrays(rng):
    x = rng.standard_normal((N, C)) * 2
    # Both classes 0 and 1 present; the same values serve as class indices and as 0/1 labels.
    index = rng.permutation(np.array([0, 1, 0, 1]))
    onehot = np.eye(C)[index]
    binary = rng.integers(0, 2, size=(N, C))
    binary[0, 0], binary[0, 1] = 0, 1  # both labels present
    arrays = {}
    for d in INPUT_DTYPES:
        if d in FLOATS:
            v = x.astype(d)
        elif d == 'bool':
            v = x > 0
        elif d == 'uint8':
            v = np.abs(np.rint(x)).astype(d)
        else:
            v = np.rint(x).astype(d)
        arrays[f'input_{d}'] = np.ascontiguousarray(v)
    for d in TARGET_DTYPES + NO_TORCH_DTYPES:
        arrays[f'target_index_{d}'] = np.ascontiguousarray(index.astype(d))
        arrays[f'target_onehot_{d}'] = np.ascontiguousarray(onehot.astype(d))
        arrays[f'target_binary_{d}'] = np.ascontiguousarray(binary.astype(d))
    return arrays


def target_member(group, dtype):
    layout = GROUPS[group][1]
    if layout == 'index':
        return f'target_index_{dtype}'
    return f'target_onehot_{dtype}' if group == 'ce-probs' else f'target_binary_{dtype}'


def good_target(arrays, group):
    """A target PyTorch accepts for this group (int64 indices, float32 same-shape)."""
    return torch.from_numpy(arrays[target_member(group, 'int64' if GROUPS[group][1] == 'index' else 'float32')])


# ---------------------------------------------------------------------------------------------------
# Cases


def dtype_case(arrays, group, idt, tdt):
    fn = LOSSES[group]
    xs, ts = arrays[f'input_{idt}'], arrays[target_member(group, tdt)]
    x, t = torch.from_numpy(xs), torch.from_numpy(ts)

    kind, raw = outcome(lambda: fn(x, t))
    half_kernel = kind == 'error' and idt == 'float16' and "not implemented for 'Half'" in raw
    torch_rec = {'value': jnum(raw)} if kind == 'value' else {'error': raw, 'halfKernel': half_kernel}

    # Rules 1 and 2 of the header: the casts that turn PyTorch's answer into the product's expectation.
    casts = []
    xe, te = x, t
    if idt == 'float16':
        xe = x.float()
        casts.append('float16 input cast to float32')
    if tdt == 'float16' and group in ('bce', 'sigmoid-focal'):
        te = t.float()
        casts.append('float16 target cast to float32')
    ekind, eraw = outcome(lambda: fn(xe, te))

    # PyTorch on the same stored values, both cast to float64 (floating targets) / int64 (index targets).
    x64 = torch.from_numpy(xs.astype(np.float64))
    t64 = torch.from_numpy(ts.astype(np.int64 if GROUPS[group][1] == 'index' and tdt not in FLOATS else np.float64))

    if ekind == 'value':
        ref64 = float(fn(x64, t64))
        check(abs(eraw - ref64) <= 1e-6 * abs(ref64), f'{group} {idt}/{tdt}: {eraw} vs float64 {ref64}')
        if 'float16 target cast to float32' in casts and kind == 'value':
            check(abs(raw - eraw) <= 1e-3 * abs(eraw), f'{group} {idt}/{tdt}: float16-rounded {raw} vs {eraw}')
        expect = {'value': jnum(eraw), 'valueFrom': ', '.join(casts) if casts else 'the stored dtypes'}
    else:
        input_bad = outcome(lambda: fn(xe, good_target(arrays, group)))[0] == 'error'
        target_bad = outcome(lambda: fn(x64, t))[0] == 'error'
        blamed = ([idt] if input_bad else []) + ([tdt] if target_bad else [])
        check(blamed, f'{group} {idt}/{tdt}: PyTorch raises ({eraw}) but blames neither dtype alone')
        expect = {'error': eraw, 'mustMentionAny': blamed}
    return {
        'id': f'{group}-{idt}-{tdt}', 'group': group, 'options': {**GROUPS[group][0], 'reduction': 'mean'},
        'input': f'input_{idt}', 'target': target_member(group, tdt), 'inputDtype': idt, 'targetDtype': tdt,
        'targetLayout': GROUPS[group][1], 'torch': torch_rec, 'expect': expect,
    }


def no_torch_dtype_case(arrays, group, tdt):
    fn = LOSSES[group]
    idt = 'float32'
    ts = arrays[target_member(group, tdt)]
    kind, raw = outcome(lambda: torch.from_numpy(ts))
    check(kind == 'error', f'torch {torch.__version__} has a {tdt} tensor now: move {tdt} into TARGET_DTYPES')
    as_int64 = None
    if GROUPS[group][1] == 'index':
        as_int64 = jnum(float(fn(torch.from_numpy(arrays[f'input_{idt}']), torch.from_numpy(ts.astype(np.int64)))))
    return {
        'id': f'{group}-{idt}-{tdt}', 'group': group, 'options': {**GROUPS[group][0], 'reduction': 'mean'},
        'input': f'input_{idt}', 'target': target_member(group, tdt), 'inputDtype': idt, 'targetDtype': tdt,
        'targetLayout': GROUPS[group][1], 'torch': {'error': raw, 'halfKernel': False, 'noTorchDtype': True},
        'expect': {'noTorchDtype': True, 'mustMentionAny': [tdt], 'valueAsInt64': as_int64},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('outdir', nargs='?', default=os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'parity-dtypes'))
    ap.add_argument('--seed', type=int, default=20261207)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(a.seed)
    arrays = make_arrays(rng)
    # np.savez (not _compressed): a fixed layout, and at a few KB nothing to gain.
    np.savez(os.path.join(a.outdir, 'arrays.npz'), **arrays)

    cases = []
    for group in GROUPS:
        for idt in INPUT_DTYPES:
            for tdt in TARGET_DTYPES:
                cases.append(dtype_case(arrays, group, idt, tdt))
        for tdt in NO_TORCH_DTYPES:
            cases.append(no_torch_dtype_case(arrays, group, tdt))

    manifest = {'seed': a.seed, 'torch': torch.__version__, 'torchvision': torchvision.__version__,
                'shapes': {'input': [N, C], 'index': [N], 'same-shape': [N, C]}, 'cases': cases}
    with open(os.path.join(a.outdir, 'cases.json'), 'w') as f:
        head = json.dumps({k: v for k, v in manifest.items() if k != 'cases'}, allow_nan=False)[:-1]
        body = ',\n  '.join(json.dumps(c, allow_nan=False) for c in cases)
        f.write(f'{head}, "cases": [\n  {body}\n]}}\n')
    values = sum(1 for c in cases if 'value' in c['expect'])
    errors = sum(1 for c in cases if 'error' in c['expect'])
    print(f'{len(cases)} cases in {a.outdir}: {values} values, {errors} rejections, {len(cases) - values - errors} without a torch dtype')


if __name__ == '__main__':
    main()
