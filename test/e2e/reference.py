"""PyTorch's answer on the files the e2e suites give the CLI, so no expected value rests on our engine alone.

Takes the CLI's arguments and prints one JSON object:

  reference.py INPUT TARGET [--weight FILE|a,b,c] [--ignore-index N] [--reduction none|mean|sum]
               [--label-smoothing F] [--input-kind logits|probs|log-probs] [--class-dim D]
               [--out LOSS.npy] [--per-class] [--json]
      {"value": reduced loss (null for none), "perClass": [{"class", "count", "meanLoss"}] with --per-class}
      --out writes the unreduced loss (reduction='none') as a float64 .npy.
  reference.py eval PRED_DIR LABEL_DIR [same loss options]
      {"images", "value" (pooled over all images as one batch), "perImage": [{"name", "value"}]}

INPUT/TARGET: .npy, .npz (file.npz:member), .json (a tensor, or {"logits": ..., "labels": ...}), torch.save
files (file.pt:key, nested file.pth:out.logits or file.pth:batch.1), .safetensors (file.safetensors:name),
PNG label masks (read with PIL; one sample [H, W] paired with an input [1, C, H, W] or [C, H, W]).
Everything is computed in float64 on the CPU. Non-finite numbers are written as "NaN", "Infinity", "-Infinity".
Run with /usr/bin/python3 (PyTorch 1.13, NumPy, PIL).
"""
import argparse
import base64
import io
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROLE_NAMES = {
    "input": ["logits", "input", "inputs", "pred", "preds", "outputs", "output"],
    "target": ["target", "targets", "labels", "label", "mask", "gt", "y"],
    "weight": ["weight", "weights"],
}
MEMBER_CONTAINER = re.compile(r"\.(npz|pt|pth|bin|safetensors)$", re.I)
PRED_SUFFIXES = ["_logits", "_pred", "_output"]
LABEL_SUFFIXES = ["_gtFine_labelIds", "_labels", "_label", "_mask", "_seg", "_gt"]


def split_member(spec):
    m = re.match(r"^(.*\.(?:npz|pt|pth|bin|safetensors)):(.+)$", spec, re.I)
    return (m.group(1), m.group(2)) if m else (spec, None)


def pick_role(names, role, source):
    hits = [n for n in names if str(n).lower() in ROLE_NAMES[role]]
    if len(hits) != 1:
        raise SystemExit(f"reference: {source}: cannot tell which entry is the {role} among {list(names)}")
    return hits[0]


def as_array(v):
    if isinstance(v, torch.Tensor):
        t = v.detach().cpu()
        # NumPy has no bfloat16; float64 holds every bfloat16 exactly.
        return (t.double() if t.dtype == torch.bfloat16 else t).numpy()
    return np.asarray(v)


def json_tensor(v):
    if isinstance(v, dict):
        if "npy" in v:
            return np.load(io.BytesIO(base64.b64decode(v["npy"])))
        dtype = np.dtype(v["dtype"])
        if isinstance(v["data"], str):
            return np.frombuffer(base64.b64decode(v["data"]), dtype=dtype.newbyteorder("<")).reshape(v["shape"])
        return np.asarray(v["data"], dtype=dtype).reshape(v["shape"])
    return np.asarray(v)


def read_json(path, role):
    with open(path, encoding="utf8") as f:
        doc = json.load(f)
    if isinstance(doc, dict) and not ("npy" in doc or {"dtype", "shape", "data"} <= doc.keys()):
        return json_tensor(doc[pick_role(doc.keys(), role, path)])
    return json_tensor(doc)


def read_safetensors(path, member, role):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        header.pop("__metadata__", None)
        name = member if member is not None else pick_role(header.keys(), role, path)
        e = header[name]
        lo, hi = e["data_offsets"]
        f.seek(base + lo)
        raw = f.read(hi - lo)
    kinds = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
    if e["dtype"] == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64).reshape(e["shape"])
    return np.frombuffer(raw, dtype=kinds[e["dtype"]]).reshape(e["shape"])


def walk(obj, path, source):
    """file.pth:out.logits, file.pth:batch.1: dict keys, list indices and attributes, dotted keys first whole."""
    if path == "":
        return obj
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    head, _, rest = path.partition(".")
    if isinstance(obj, dict) and head in obj:
        return walk(obj[head], rest, source)
    if isinstance(obj, (list, tuple)) and head.isdigit():
        return walk(obj[int(head)], rest, source)
    if hasattr(obj, head):
        return walk(getattr(obj, head), rest, source)
    raise SystemExit(f"reference: {source}: no member {path}")


def read_torch(path, member, role):
    obj = torch.load(path, map_location="cpu")
    if member is not None:
        return as_array(walk(obj, member, path))
    if isinstance(obj, dict):
        return as_array(obj[pick_role(obj.keys(), role, path)])
    return as_array(obj)


def read_png(path):
    from PIL import Image

    im = Image.open(path)
    if im.mode not in ("L", "P", "I;16", "I;16B", "I"):
        raise SystemExit(f"reference: {path}: PNG mode {im.mode} is not a label mask")
    return np.array(im).astype(np.int64)


def read_tensor(spec, role):
    path, member = split_member(spec)
    low = path.lower()
    if low.endswith(".npy"):
        return np.load(path)
    if low.endswith(".npz"):
        with np.load(path) as z:
            return z[member if member is not None else pick_role(z.files, role, path)]
    if low.endswith(".json"):
        return read_json(path, role)
    if low.endswith(".safetensors"):
        return read_safetensors(path, member, role)
    if low.endswith(".png"):
        return read_png(path)
    if MEMBER_CONTAINER.search(low):
        return read_torch(path, member, role)
    raise SystemExit(f"reference: {spec}: unknown format")


def companion_weight(spec):
    """A weight stored beside the input in its own .json/.npz (as the CLI reads it), or None."""
    path, member = split_member(spec)
    low = path.lower()
    if member is not None:
        return None
    if low.endswith(".json"):
        with open(path, encoding="utf8") as f:
            doc = json.load(f)
        if isinstance(doc, dict):
            hits = [k for k in doc if k.lower() in ROLE_NAMES["weight"]]
            return json_tensor(doc[hits[0]]) if len(hits) == 1 else None
    if low.endswith(".npz"):
        with np.load(path) as z:
            hits = [k for k in z.files if k.lower() in ROLE_NAMES["weight"]]
            return z[hits[0]] if len(hits) == 1 else None
    return None


def read_weight(spec):
    if re.fullmatch(r"\s*-?[\d.eE+-]+(\s*,\s*-?[\d.eE+-]+)*\s*", spec) and not os.path.exists(split_member(spec)[0]):
        return np.array([float(s) for s in spec.split(",")])
    return read_tensor(spec, "weight").reshape(-1)


def loss(x, t, w, o, reduction):
    """F.cross_entropy (or nll_loss for probs/log-probs) in float64; x [N, C, ...] with the class axis at 1.
    A tensor for reduction none, else a float."""
    index = not np.issubdtype(t.dtype, np.floating)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    tt = torch.from_numpy(np.ascontiguousarray(t, dtype=np.int64 if index else np.float64))
    wt = None if w is None else torch.from_numpy(np.ascontiguousarray(w, dtype=np.float64))
    eps = o.label_smoothing

    def run(reduction):
        if o.input_kind == "logits":
            return F.cross_entropy(xt, tt, weight=wt, ignore_index=o.ignore_index, reduction=reduction, label_smoothing=eps)
        logp = torch.log(xt) if o.input_kind == "probs" else xt
        if eps == 0 and index:
            return F.nll_loss(logp, tt, weight=wt, ignore_index=o.ignore_index, reduction=reduction)
        return smoothed_from_logp(logp, tt, wt, o.ignore_index, eps, reduction, index)

    return run("none").numpy() if reduction == "none" else float(run(reduction))


def smoothed_from_logp(logp, t, w, ignore_index, eps, reduction, index):
    """F.cross_entropy's label-smoothing formula (ATen LossNLL.cpp, 1.13) on given log-probabilities."""
    C = logp.shape[1]
    shape = [1] * logp.dim()
    shape[1] = C
    wb = torch.ones(C, dtype=logp.dtype) if w is None else w
    if not index:
        tgt = t * (1 - eps) + eps / C
        loss = -(logp * tgt * wb.view(shape)).sum(1)
        return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.sum() / loss.numel()
    nll = F.nll_loss(logp, t, weight=w, ignore_index=ignore_index, reduction=reduction)
    ignored = t == ignore_index
    smooth = -(logp * wb.view(shape)).sum(1)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "none":
        s = smooth
    elif reduction == "sum":
        s = smooth.sum()
    elif w is not None:
        s = smooth.sum() / w.gather(0, t.masked_select(~ignored).flatten()).sum()
    else:
        s = smooth.sum() / (~ignored).sum()
    return (1 - eps) * nll + (eps / C) * s


def prepare(x, t, o, mask_target):
    x = np.asarray(x)
    t = np.asarray(t)
    if mask_target:
        # One sample [H, W]: the input is [1, C, H, W] or [C, H, W].
        if x.ndim == 3:
            x = x[None]
        t = t[None]
    elif x.ndim >= 2 and o.class_dim != 1:
        x = np.moveaxis(x, o.class_dim, 1)
        if np.issubdtype(t.dtype, np.floating) and t.ndim == x.ndim:
            t = np.moveaxis(t, o.class_dim, 1)
    if not np.issubdtype(t.dtype, np.floating):
        t = t.astype(np.int64)
    return x, t


def finite(v):
    if v is None or math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def per_class(loss, t, o, C):
    flat_t = t.reshape(-1)
    flat_l = loss.reshape(-1)
    keep = flat_t != o.ignore_index
    out = []
    for c in range(C):
        sel = keep & (flat_t == c)
        n = int(sel.sum())
        out.append({"class": c, "count": n, "meanLoss": finite(float(flat_l[sel].mean())) if n else "NaN"})
    return out


def single(o):
    x = read_tensor(o.input, "input")
    t = read_tensor(o.target, "target")
    w = read_weight(o.weight) if o.weight is not None else companion_weight(o.input)
    x, t = prepare(x, t, o, o.target.lower().endswith(".png"))
    value = None if o.reduction == "none" else loss(x, t, w, o, o.reduction)
    report = {"value": finite(value), "lossShape": list(x.shape[:1] + x.shape[2:]) if x.ndim >= 2 else []}
    # The unreduced map costs another pass and its memory: only when asked for.
    if o.per_class or o.out:
        none = loss(x, t, w, o, "none")
        if o.per_class:
            report["perClass"] = per_class(none, t, o, x.shape[1] if x.ndim >= 2 else x.shape[0])
        if o.out:
            np.save(o.out, none.astype(np.float64))
    return report


def stem(name, suffixes):
    base = os.path.splitext(name)[0]
    for s in suffixes:
        if base.endswith(s):
            return base[: -len(s)]
    return base


def evaluate(o):
    preds = {stem(f, PRED_SUFFIXES): f for f in sorted(os.listdir(o.input)) if f.lower().endswith(".npy")}
    labels = {stem(f, LABEL_SUFFIXES): f for f in sorted(os.listdir(o.target)) if f.lower().endswith((".png", ".npy"))}
    w = read_weight(o.weight) if o.weight is not None else None
    total = 0.0
    weight_total = 0.0
    per_image = []
    for name in sorted(preds.keys() & labels.keys()):
        x = np.load(os.path.join(o.input, preds[name]))
        t = read_tensor(os.path.join(o.target, labels[name]), "target").astype(np.int64)
        x = x if x.ndim == 4 else x[None]
        t = t[None]
        s = loss(x, t, w, o, "sum")
        keep = t != o.ignore_index
        d = float(keep.sum()) if w is None else float(np.asarray(w, dtype=np.float64)[t[keep]].sum())
        total += s
        weight_total += d
        per_image.append({"name": name, "value": finite(s / d if d else float("nan"))})
    return {"images": len(per_image), "value": finite(total / weight_total if weight_total else float("nan")), "perImage": per_image}


def main(argv):
    p = argparse.ArgumentParser(prog="reference.py", allow_abbrev=False)
    p.add_argument("input")
    p.add_argument("target")
    p.add_argument("--weight")
    p.add_argument("--ignore-index", type=int, default=-100)
    p.add_argument("--reduction", choices=["none", "mean", "sum"], default="mean")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--input-kind", choices=["logits", "probs", "log-probs"], default="logits")
    p.add_argument("--class-dim", type=int, default=1)
    p.add_argument("--out")
    p.add_argument("--per-class", action="store_true")
    p.add_argument("--json", action="store_true", help="accepted for the CLI's sake; the output is always JSON")
    mode = "single"
    if argv and argv[0] == "eval":
        mode, argv = "eval", argv[1:]
    o = p.parse_args(argv)
    torch.set_num_threads(1)
    print(json.dumps(evaluate(o) if mode == "eval" else single(o)))


if __name__ == "__main__":
    main(sys.argv[1:])
