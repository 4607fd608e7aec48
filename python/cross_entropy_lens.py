"""Show cross-entropy losses in VS Code notebooks with Cross-Entropy Lens.

    from cross_entropy_lens import display
    display(logits, target, ignore_index=255, class_names=["bg", "road", "car"])

One file, NumPy only. Accepts NumPy arrays and PyTorch tensors (moved to the CPU with
.detach().cpu().numpy() when torch is installed). The output is a MIME bundle with the type
application/vnd.cross-entropy-lens+json that the extension's notebook renderer draws (loss, per-class
table, heatmaps), plus a text/plain fallback for other front ends.
"""

import base64

import numpy as np

MIME = "application/vnd.cross-entropy-lens+json"
__all__ = ["display", "to_payload", "MIME"]


def _as_array(x, name):
    if x is None:
        return None
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: dtype {a.dtype} is not numeric")
    if a.dtype.kind == "f" and a.dtype.itemsize > 8:  # long double: no such dtype on the other side
        a = a.astype(np.float64)
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8 and a.size and (a.max() > 2**31 - 1 or a.min() < -2**31):
        raise ValueError(f"{name}: values outside the 32-bit integer range")
    return np.ascontiguousarray(a)


def _encode(a):
    # dtype, shape and little-endian C-order bytes: exact, and decodable without parsing a .npy header.
    le = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return {"dtype": np.dtype(a.dtype).name, "shape": list(a.shape), "data": base64.b64encode(le.tobytes()).decode("ascii")}


def to_payload(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
               class_names=None, input_kind="logits", class_dim=1):
    """The renderer's payload: {input, target, weight?, options}."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError("reduction must be 'none', 'mean' or 'sum'")
    x = _as_array(logits, "logits")
    t = _as_array(target, "target")
    payload = {
        "input": _encode(x),
        "target": _encode(t),
        "options": {
            "ignoreIndex": int(ignore_index),
            "reduction": reduction,
            "labelSmoothing": float(label_smoothing),
            "inputKind": input_kind,
            "classDim": int(class_dim),
            "classNames": [str(n) for n in class_names] if class_names is not None else None,
        },
    }
    w = _as_array(weight, "weight")
    if w is not None:
        payload["weight"] = _encode(w)
    return payload


def _text(payload):
    o = payload["options"]
    parts = [f"input {payload['input']['shape']} {payload['input']['dtype']}",
             f"target {payload['target']['shape']} {payload['target']['dtype']}",
             f"reduction={o['reduction']}", f"ignore_index={o['ignoreIndex']}",
             f"label_smoothing={o['labelSmoothing']}"]
    if "weight" in payload:
        parts.append(f"weight {payload['weight']['shape']}")
    return "Cross-Entropy Lens: " + ", ".join(parts) + " (open in VS Code with the Cross-Entropy Lens extension to see the loss)"


def display(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
            class_names=None, input_kind="logits", class_dim=1):
    """Emits the MIME bundle with IPython.display (prints the text form outside IPython)."""
    payload = to_payload(logits, target, weight, ignore_index, reduction, label_smoothing, class_names,
                         input_kind, class_dim)
    bundle = {MIME: payload, "text/plain": _text(payload)}
    try:
        from IPython.display import display as ipy_display
    except ImportError:
        print(bundle["text/plain"])
        return
    ipy_display(bundle, raw=True)
