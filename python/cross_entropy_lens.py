"""Show cross-entropy losses in VS Code notebooks with Cross-Entropy Lens.

    from cross_entropy_lens import display
    display(logits, target, ignore_index=255, class_names=["bg", "road", "car"])

Large tensors: with store="auto" (the default) input and target over 16 MB together are written as .npy
files into .cross_entropy_lens/ in the working directory (the notebook's folder under VS Code's Jupyter),
named by sha256, and the payload holds {"file": ".cross_entropy_lens/<sha256>.npy", "bytes": N,
"sha256": hex} instead; store="inline" always embeds, store="file" always writes files.

One file, NumPy only. Accepts NumPy arrays and PyTorch tensors (moved to the CPU with
.detach().cpu().numpy() when torch is installed). The output is a MIME bundle with the type
application/vnd.cross-entropy-lens+json that the extension's notebook renderer draws (loss, per-class
table, heatmaps), plus a text/plain fallback for other front ends.

Language models: pass tokenizer= (a Hugging Face tokenizer, or a list of strings where index = token id)
and the token view shows the targets as text, each token shaded by its loss:

    display(logits, labels, class_dim=-1, tokenizer=tokenizer)

Only the strings the view needs travel in the payload, as options["tokenizer"]:

    {"strings": {"<id>": "<piece>", ...},  # target ids, plus the argmax and top-5 predicted ids per position
     "kind": "byte-level-bpe" | "sentencepiece" | "wordpiece" | "plain",
     "special": [id, ...],                 # those of the ids above that are special tokens (may be empty)
     "separator": " "}                     # only for word-level lists: put a space between tokens

Pieces are the tokenizer's own strings (convert_ids_to_tokens: "Ġthe", "▁the", "##ing", "<0x0A>"), which
the extension decodes by "kind"; a tokenizer with only decode() sends decode([id]) with kind "plain".
Keys are decimal ids; ids the tokenizer has no string for are left out. Top-5 is skipped (argmax only)
for inputs over 2**26 elements.

The photo the model saw: image= draws the heatmaps over it (an opacity slider in the output). It takes a
PNG or JPEG file path, PNG/JPEG bytes, a PIL image, or a uint8 array [H, W], [H, W, 3|4] or [3|4, H, W]
(floats in [0, 1] are scaled to 0-255), which is encoded as PNG here (zlib, no extra package). The payload
carries {"mime": "image/png" | "image/jpeg", "data": base64, "name": ...}, or with store="file" (or an
image over 4 MB under store="auto") a {"file", "bytes", "sha256", "mime", "name"} reference like the tensors.
"""

import base64
import hashlib
import io
import os
import re
import struct
import zlib

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


# ---- store= : large tensors go to .npy files beside the notebook ----

CACHE_DIR = ".cross_entropy_lens"
INLINE_LIMIT = 16 << 20  # store="auto": input and target inline up to this many bytes in all, else files


def _npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a.astype(a.dtype.newbyteorder("<"), copy=False), allow_pickle=False)
    return buf.getvalue()


def _same_file(path, size, sha):
    """Whether path already holds these bytes (a re-run): a regular file of this size and hash."""
    if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) != size:
        return False
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest() == sha


def _store_file(a, folder):
    """Writes a as <folder>/.cross_entropy_lens/<sha256>.npy (named by content: re-runs do not pile up)."""
    return _store_bytes(_npy_bytes(a), ".npy", folder)


# ---- image= : the photo under the heatmap (display only, never a loss input) ----

IMAGE_INLINE_LIMIT = 4 << 20  # store="auto": photos up to this many bytes inline, else a file


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _encode_png(a):
    """A uint8 array [H, W] (gray), [H, W, 3] (RGB) or [H, W, 4] (RGBA) as PNG bytes (filter 0 rows)."""
    h, w = a.shape[:2]
    channels = 1 if a.ndim == 2 else a.shape[2]
    color = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.zeros((h, 1 + w * channels), dtype=np.uint8)
    rows[:, 1:] = a.reshape(h, w * channels)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _png_chunk(b"IEND", b""))


def _sniff(data):
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    return None


def _image_bytes(image):
    """(bytes, mime, name) of image= (see the module docstring for what it accepts)."""
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        with open(path, "rb") as f:
            data = f.read()
        mime = _sniff(data)
        if mime is None:
            raise ValueError(f"image: {path} is not a PNG or JPEG file")
        return data, mime, os.path.basename(path)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        mime = _sniff(data)
        if mime is None:
            raise ValueError("image: the bytes are not a PNG or JPEG file")
        return data, mime, "image"
    if hasattr(image, "save") and hasattr(image, "mode") and hasattr(image, "size"):  # a PIL image
        buf = io.BytesIO()
        (image if image.mode in ("L", "RGB", "RGBA") else image.convert("RGB")).save(buf, format="PNG")
        return buf.getvalue(), "image/png", "image"
    if hasattr(image, "detach") and hasattr(image, "cpu"):
        image = image.detach().cpu().numpy()
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[2] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # [C, H, W] as torchvision keeps images
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))) or a.size == 0:
        raise ValueError(f"image: expected [H, W], [H, W, 3|4] or [3|4, H, W], got shape {list(a.shape)}")
    if a.dtype.kind == "f":
        a = np.clip(np.rint(np.nan_to_num(a) * 255), 0, 255)
    elif a.dtype.kind not in "biu" or (a.size and (a.min() < 0 or a.max() > 255)):
        raise ValueError("image: expected uint8 values 0-255 (or floats in [0, 1])")
    return _encode_png(np.ascontiguousarray(a.astype(np.uint8))), "image/png", "image"


def _store_bytes(data, ext, folder):
    """Writes data as <folder>/.cross_entropy_lens/<sha256><ext>, atomically (a reader never sees half a file)."""
    sha = hashlib.sha256(data).hexdigest()
    cache = os.path.join(folder, CACHE_DIR)
    os.makedirs(cache, exist_ok=True)
    name = sha + ext
    dest = os.path.join(cache, name)
    if not _same_file(dest, len(data), sha):
        tmp = os.path.join(cache, f".{name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    return {"file": CACHE_DIR + "/" + name, "bytes": len(data), "sha256": sha}


def _image_entry(image, store, folder):
    data, mime, name = _image_bytes(image)
    if store == "file" or (store == "auto" and len(data) > IMAGE_INLINE_LIMIT):
        where = os.getcwd() if folder is None else os.fspath(folder)
        entry = _store_bytes(data, ".png" if mime == "image/png" else ".jpg", where)
    else:
        entry = {"data": base64.b64encode(data).decode("ascii")}
    entry.update({"mime": mime, "name": name})
    return entry


def class_dim_from_shapes(input_shape, target_shape):
    """1 (PyTorch's class axis), or -1 when the target fits only with the classes on the input's last axis."""
    x, t = tuple(input_shape), tuple(target_shape)
    fits_1 = len(x) >= 2 and (t == x[:1] + x[2:] or t == x)
    fits_last = len(x) >= 3 and t == x[:-1]
    return -1 if fits_last and not fits_1 else 1


def _meta(entry, a):
    return {"dtype": np.dtype(a.dtype).name, "shape": list(a.shape)} if "file" in entry else entry


def to_payload(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
               class_names=None, input_kind="logits", class_dim=None, tokenizer=None, store="auto", folder=None,
               image=None, loss="ce", gamma=None, alpha=None):
    """The renderer's payload: {input, target, weight?, image?, options}.

    store="inline" puts the tensors in the payload; store="file" writes input and target as .npy files into
    .cross_entropy_lens/ in `folder` (default os.getcwd(), the notebook's folder under VS Code's Jupyter)
    and the payload holds {"file": ".cross_entropy_lens/<sha256>.npy", "bytes": N, "sha256": hex};
    store="auto" does that when input and target are over 16 MB together. The weight is always inline.
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError("reduction must be 'none', 'mean' or 'sum'")
    if store not in ("auto", "inline", "file"):
        raise ValueError("store must be 'auto', 'inline' or 'file'")
    x = _as_array(logits, "logits")
    t = _as_array(target, "target")
    to_file = store == "file" or (store == "auto" and x.nbytes + t.nbytes > INLINE_LIMIT)
    if to_file:
        where = os.getcwd() if folder is None else os.fspath(folder)
        xs, ts = _store_file(x, where), _store_file(t, where)
    else:
        xs, ts = _encode(x), _encode(t)
    payload = {
        "input": xs,
        "target": ts,
        "options": {
            "ignoreIndex": int(ignore_index),
            "reduction": reduction,
            "labelSmoothing": float(label_smoothing),
            "inputKind": input_kind,
            "classNames": [str(n) for n in class_names] if class_names is not None else None,
        },
    }
    # class_dim=None leaves the class axis to the shapes, as the extension finds it: 1, or the last axis when
    # only that fits ([B, T, V] logits with [B, T] labels).
    if class_dim is not None:
        payload["options"]["classDim"] = int(class_dim)
    w = _as_array(weight, "weight")
    if w is not None:
        payload["weight"] = _encode(w)
    if tokenizer is not None:
        axis = int(class_dim) if class_dim is not None else class_dim_from_shapes(x.shape, t.shape)
        payload["options"]["tokenizer"] = _tokenizer_option(tokenizer, x, t, axis, int(ignore_index))
    if loss not in ("ce", "bce", "focal", "sigmoid-focal"):
        raise ValueError("loss must be 'ce', 'bce', 'focal' or 'sigmoid-focal'")
    if loss != "ce":
        payload["options"]["loss"] = loss
    if gamma is not None:
        payload["options"]["gamma"] = float(gamma)
    if alpha is not None:
        payload["options"]["alpha"] = float(alpha)
    if image is not None:
        payload["image"] = _image_entry(image, store, folder)
    return payload


# ---- tokenizer= : token strings for the language-model token view ----

TOP_K = 5
_TOP_K_MAX_ELEMENTS = 1 << 26  # larger inputs send the argmax only
_BLOCK_ELEMENTS = 1 << 22      # logits ranked per block of rows, so no full-size index array is built
_MAX_TOKEN_ID = 2**24 - 1      # what the extension accepts
_MAX_PIECE = 1024              # longer strings are cut (the extension cuts them too)
_SPECIAL_NAME = re.compile(r"^(?:<\|[^|\s]{1,64}\|>|\[[A-Z][A-Z0-9_]{0,31}\]|</?(?:s|unk|pad|mask|cls|sep|bos|eos)>)$")


def _rows(v, chunk):
    """2-D blocks [rows, C] of a [..., C] view, without copying the whole tensor."""
    if v.ndim == 1:
        yield v[None, :]
    elif v.ndim == 2:
        for s in range(0, v.shape[0], chunk):
            yield v[s:s + chunk]
    else:
        for i in range(v.shape[0]):
            yield from _rows(v[i], chunk)


def _needed_ids(x, t, class_dim, ignore_index):
    """Sorted token ids the view shows: targets (not ignore_index), argmax and top-5 predictions."""
    ids = set()
    axis = None
    if x.ndim == 1:
        axis = 0
    elif x.ndim >= 2 and -x.ndim <= class_dim < x.ndim:
        axis = class_dim % x.ndim
    if t is not None and t.size:
        if t.dtype.kind in "biu":
            u = np.unique(t).astype(np.int64)
            ids.update(int(i) for i in u[(u >= 0) & (u <= _MAX_TOKEN_ID) & (u != ignore_index)])
        elif axis is not None and t.dtype.kind == "f" and t.shape == x.shape:  # class probabilities
            ids.update(int(i) for i in np.unique(np.argmax(t, axis=axis)))
    if axis is not None and x.size:
        c = x.shape[axis]
        seen = np.zeros(c, dtype=bool)
        k = min(TOP_K, c) if x.size <= _TOP_K_MAX_ELEMENTS else 1
        chunk = max(1, _BLOCK_ELEMENTS // c)
        for block in _rows(np.moveaxis(x, axis, -1), chunk):
            seen[np.argmax(block, axis=-1)] = True  # NaN rows: the NaN's index, as torch.argmax
            if 1 < k < c:
                seen[np.argpartition(block, c - k, axis=-1)[:, c - k:]] = True
            elif k == c:
                seen[:] = True
        ids.update(int(i) for i in np.flatnonzero(seen))
    return sorted(i for i in ids if i <= _MAX_TOKEN_ID)


def _guess_kind(pieces):
    """How pieces read as text when the tokenizer does not say (the extension guesses the same way)."""
    bl = sp = wp = spaced = longer = 0
    for p in pieces:
        if not isinstance(p, str) or not p or _SPECIAL_NAME.match(p):
            continue
        if p[0] in "\u0120\u010a":  # Ġ, Ċ
            bl += 1
        elif p[0] == "\u2581":  # ▁
            sp += 1
        elif p.startswith("##") and len(p) > 2:
            wp += 1
        longer += len(p) > 1
        spaced += any(ch.isspace() for ch in p)
    best = max(bl, sp, wp)
    if best:
        return ("byte-level-bpe" if best == bl else "sentencepiece" if best == sp else "wordpiece"), ""
    return "plain", (" " if not spaced and longer else "")


def _state_text(obj):
    try:
        state = obj.__getstate__()
    except Exception:  # noqa: BLE001 - any object may stand here; its class name is the fallback
        state = None
    if isinstance(state, bytes):
        state = state.decode("utf-8", "replace")
    return (state if isinstance(state, str) else "") + " " + type(obj).__name__


def _tokenizer_kind(tok):
    """The scheme from a Hugging Face tokenizer's parts (duck-typed; transformers is never imported)."""
    backend = getattr(tok, "backend_tokenizer", None)  # fast tokenizers
    if backend is not None:
        desc = " ".join(_state_text(getattr(backend, part)) for part in ("decoder", "pre_tokenizer", "normalizer")
                        if getattr(backend, part, None) is not None)
        model = type(getattr(backend, "model", None)).__name__
        if "ByteLevel" in desc:
            return "byte-level-bpe"
        if "Metaspace" in desc or "\u2581" in desc or model == "Unigram":
            return "sentencepiece"
        if "WordPiece" in desc or model == "WordPiece":
            return "wordpiece"
    if getattr(tok, "byte_decoder", None) is not None or getattr(tok, "byte_encoder", None) is not None:
        return "byte-level-bpe"  # GPT2Tokenizer, RobertaTokenizer, CLIPTokenizer
    if getattr(tok, "sp_model", None) is not None:
        return "sentencepiece"  # LlamaTokenizer, T5Tokenizer, ...
    if getattr(tok, "wordpiece_tokenizer", None) is not None:
        return "wordpiece"  # BertTokenizer
    return None


def _tokenizer_size(tok):
    try:
        return len(tok)
    except TypeError:
        n = getattr(tok, "vocab_size", None)
        return n if isinstance(n, int) else None


def _tokenizer_option(tokenizer, x, t, class_dim, ignore_index):
    """options["tokenizer"]: the strings of the needed ids only (see the module docstring)."""
    ids = _needed_ids(x, t, class_dim, ignore_index)
    special = set()
    if isinstance(tokenizer, np.ndarray) and tokenizer.ndim == 1 and tokenizer.dtype.kind in "UO":
        tokenizer = tokenizer.tolist()
    if isinstance(tokenizer, (list, tuple)):
        strings = {i: tokenizer[i] for i in ids if i < len(tokenizer) and isinstance(tokenizer[i], str)}
        kind, sep = _guess_kind(tokenizer)
        special = {i for i, s in strings.items() if _SPECIAL_NAME.match(s)}
    elif callable(getattr(tokenizer, "convert_ids_to_tokens", None)):
        size = _tokenizer_size(tokenizer)
        ids = [i for i in ids if size is None or i < size]
        try:
            pieces = list(tokenizer.convert_ids_to_tokens(ids))
        except Exception:  # noqa: BLE001 - one bad id must not lose the others
            pieces = []
            for i in ids:
                try:
                    pieces.append(tokenizer.convert_ids_to_tokens(i))
                except Exception:  # noqa: BLE001
                    pieces.append(None)
        strings = {i: p for i, p in zip(ids, pieces) if isinstance(p, str)}
        kind, sep = _tokenizer_kind(tokenizer), ""
        if kind is None:
            kind, sep = _guess_kind(strings.values())
        special_ids = getattr(tokenizer, "all_special_ids", None) or []
        special = {int(i) for i in special_ids if int(i) in strings}
    elif callable(getattr(tokenizer, "decode", None)):
        size = _tokenizer_size(tokenizer)
        strings = {}
        for i in ids:
            if size is not None and i >= size:
                continue
            try:
                s = tokenizer.decode([i])
            except Exception:  # noqa: BLE001
                continue
            if isinstance(s, str):
                strings[i] = s
        kind, sep = "plain", ""
    else:
        raise TypeError("tokenizer must be a Hugging Face tokenizer (with convert_ids_to_tokens or decode) "
                        "or a list of strings, one per token id")
    option = {"strings": {str(i): s[:_MAX_PIECE] for i, s in strings.items()}, "kind": kind,
              "special": sorted(special)}
    if sep:
        option["separator"] = sep
    return option


def _text(payload, x=None, t=None):
    o = payload["options"]
    xi = _meta(payload["input"], x) if x is not None else payload["input"]
    ti = _meta(payload["target"], t) if t is not None else payload["target"]
    parts = [f"input {xi.get('shape', '?')} {xi.get('dtype', '')}".rstrip(),
             f"target {ti.get('shape', '?')} {ti.get('dtype', '')}".rstrip(),
             f"reduction={o['reduction']}", f"ignore_index={o['ignoreIndex']}",
             f"label_smoothing={o['labelSmoothing']}"]
    if "weight" in payload:
        parts.append(f"weight {payload['weight']['shape']}")
    return "Cross-Entropy Lens: " + ", ".join(parts) + " (open in VS Code with the Cross-Entropy Lens extension to see the loss)"


def display(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
            class_names=None, input_kind="logits", class_dim=None, tokenizer=None, store="auto", image=None,
            loss="ce", gamma=None, alpha=None):
    """Emits the MIME bundle with IPython.display (prints the text form outside IPython).

    loss: "ce" (F.cross_entropy), "bce", "focal" (-alpha[t] (1 - p_t)^gamma log p_t, alpha from weight,
    gamma default 2) or "sigmoid-focal" (torchvision's sigmoid_focal_loss; alpha default 0.25).

    store: "auto" (inline up to 16 MB, else .npy files in .cross_entropy_lens/ beside the notebook),
    "inline" or "file"; see to_payload. image: the photo to draw the heatmaps over (see the module docstring).
    """
    x = _as_array(logits, "logits")
    t = _as_array(target, "target")
    payload = to_payload(x, t, weight, ignore_index, reduction, label_smoothing, class_names,
                         input_kind, class_dim, tokenizer=tokenizer, store=store, image=image, loss=loss,
                         gamma=gamma, alpha=alpha)
    bundle = {MIME: payload, "text/plain": _text(payload, x, t)}
    try:
        from IPython.display import display as ipy_display
    except ImportError:
        print(bundle["text/plain"])
        return
    ipy_display(bundle, raw=True)
