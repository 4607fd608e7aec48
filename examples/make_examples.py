"""Writes the sample workspace that `npm start` opens; the outputs are committed.

Run: /usr/bin/python3 examples/make_examples.py   (NumPy, PIL and PyTorch: Debian's python3-numpy, python3-pil,
python3-torch). Deterministic: every sample has its own seeded generator, so a rerun writes the same bytes.

  segmentation/     [2, 5, 64, 64] float32 logits, int64 target with a 255 border (void)
  classification/   a JSON pair (8 samples, 4 classes)
  lm/               a language model's logits [2, 64, V] float16, target [2, 64] with -100 padding, and the
                    byte-level BPE tokenizer.json (V tokens, learned here from lm/corpus.txt) beside them
  ade20k_val/       an ADE20K-like validation folder for Evaluate Folder…: predictions/*_logits.npy
                    ([10, 64, 96] float16), labels/*.png (8-bit masks) with the photos beside them (*.jpg)
  runs/             three checkpoints (checkpoints/step05k, step15k, step30k) of six ADE-like scenes at half
                    size and their labels, for Evaluate Checkpoints…
  cityscapes/       one Cityscapes-style sample: the photo, the gtFine labelIds mask and torch.save logits
  checkpoints/      two checkpoints' logits for Compare Losses…, their target, and state.pt (torch.save dict)
  model_outputs.safetensors   logits and labels as safetensors
  console_session.txt   a Python console session (>>> prompts, torch.Size, reprs) for a selection
  multilabel/       multi-label tags: logits [16, 6] float32 and 0/1 float32 labels (sigmoid focal, bce)
  notebook/         losses.ipynb with stored outputs, one of them a batch stored by reference in
                    notebook/.cross_entropy_lens/, one the multi-label tags with torchvision's sigmoid focal
  debug/            train_step.py, a training loop to run under the debugger (.vscode/launch.json: "Debug
                    train_step.py"): it pauses in train_step, and its last step raises PyTorch's error for a
                    one-hot target (Explain with Cross-Entropy Lens)
"""
import collections
import json
import os
import re
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)
CLASSES = ["background", "road", "car", "person", "sky"]


def out(*parts):
    p = os.path.join(HERE, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


# Segmentation: 2 images of 64x64 with 5 classes in blocky regions, logits from a "model" that is right
# most of the time, uncertain on region borders and wrong on a patch; a 255 border marks ignored pixels.
N, C, H, W = 2, len(CLASSES), 64, 64
yy, xx = np.mgrid[0:H, 0:W]
target = np.zeros((N, H, W), dtype=np.int64)
for n in range(N):
    target[n][yy < 20 + 4 * n] = 4  # sky
    target[n][(yy >= 40)] = 1  # road
    target[n][(yy >= 30) & (yy < 52) & (np.abs(xx - 20 - 10 * n) < 9)] = 2  # car
    target[n][(yy >= 24) & (yy < 56) & (np.abs(xx - 48) < 4)] = 3  # person
target[:, :2, :] = 255
target[:, -2:, :] = 255
logits = rng.normal(0, 1.0, size=(N, C, H, W))
onehot = np.eye(C)[np.clip(target, 0, C - 1)].transpose(0, 3, 1, 2)
logits += 4.0 * onehot
logits[:, 1, 44:60, 4:20] += 6.0  # the model paints road where there is road and car: a confident mistake
np.save(out("segmentation", "logits.npy"), logits.astype(np.float32))
np.save(out("segmentation", "target.npy"), target)
with open(out("segmentation", "classes.json"), "w") as f:
    json.dump(CLASSES, f)

# Classification: 8 samples, 4 classes, as one JSON object.
cls_logits = rng.normal(0, 2, size=(8, 4)).round(4)
labels = rng.integers(0, 4, size=8)
with open(out("classification", "pair.json"), "w") as f:
    json.dump({"logits": cls_logits.tolist(), "labels": labels.tolist()}, f, indent=1)


# ---------------------------------------------------------------------------------------------------------
# Language model: a byte-level BPE tokenizer learned from lm/corpus.txt (GPT-2's scheme: bytes as printable
# characters, "Ġ" for a space, merges of the most frequent pair), and a bigram "model" of the same corpus whose
# log-probabilities are the logits. The evaluated text (LM_TEXT) is held out: words the corpus never had are
# split into several pieces, and the model is unsure of them.

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
PRE_TOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")
SPECIALS = ["<|endoftext|>", "<pad>"]


def pre_tokens(text):
    return ["".join(B2U[b] for b in w.encode("utf-8")) for w in PRE_TOKENIZE.findall(text)]


def learn_bpe(text, merges_wanted):
    words = collections.Counter(pre_tokens(text))
    splits = {w: list(w) for w in words}
    merges = []
    while len(merges) < merges_wanted:
        pairs = collections.Counter()
        for w, c in words.items():
            s = splits[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        # Most frequent first; ties: the shorter result, then the pair's text (deterministic).
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], -len(kv[0][0] + kv[0][1]), kv[0]))
        merges.append((a, b))
        for w in words:
            s, i, joined = splits[w], 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    joined.append(a + b)
                    i += 2
                else:
                    joined.append(s[i])
                    i += 1
            splits[w] = joined
    return merges


def bpe_encode(text, vocab, ranks):
    ids = []
    for w in pre_tokens(text):
        parts = list(w)
        while len(parts) > 1:
            best = min(range(len(parts) - 1), key=lambda i: ranks.get((parts[i], parts[i + 1]), 1 << 30))
            if (parts[best], parts[best + 1]) not in ranks:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        ids.extend(vocab[p] for p in parts)
    return ids


LM_TEXT = [
    # 65 tokens: the input positions 0..63 predict the tokens 1..64.
    "Before dawn the baker lit his ovens, and the smell of fresh bread drifted across the quiet harbour. "
    "A cormorant dried its wings on the breakwater while the fishermen untied their boats and argued about "
    "the weather, the price of diesel and the new harbourmaster, who had arrived from the city in spring.",
    # Shorter: the rest of the row is padding (label -100, ignored by the loss).
    "The model was sure that the next word would be the, and it was right; then it met the word "
    "cormorant, which it had never seen, and its loss jumped.",
]
T = 64
with open(os.path.join(HERE, "lm", "corpus.txt"), encoding="utf-8") as f:
    corpus = f.read()
merges = learn_bpe(corpus, 1800)
pieces = [B2U[b] for b in range(256)] + [a + b for a, b in merges]
pieces = list(dict.fromkeys(pieces))  # a merge result equal to an earlier piece keeps its first id
vocab = {p: i for i, p in enumerate(pieces)}
for s in SPECIALS:
    vocab[s] = len(vocab)
V = len(vocab)
ranks = {m: i for i, m in enumerate(merges)}
tokenizer = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True} for s in SPECIALS],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
}
with open(out("lm", "tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(tokenizer, f, ensure_ascii=False, separators=(",", ":"))
    f.write("\n")

# The "model": smoothed bigram counts of the corpus's tokens, mixed with the unigram distribution.
corpus_ids = bpe_encode(corpus, vocab, ranks)
big = np.full((V, V), 0.02)
np.add.at(big, (np.array(corpus_ids[:-1]), np.array(corpus_ids[1:])), 1.0)
uni = np.bincount(corpus_ids, minlength=V) + 0.1
p_next = 0.85 * big / big.sum(1, keepdims=True) + 0.15 * uni / uni.sum()
lm_rng = np.random.default_rng(2601)
seen = set(corpus_ids)
lm_logits = np.zeros((len(LM_TEXT), T, V))
lm_target = np.full((len(LM_TEXT), T), -100, dtype=np.int64)
for n, text in enumerate(LM_TEXT):
    ids = [vocab["<|endoftext|>"]] + bpe_encode(text, vocab, ranks)
    ids = ids[:T + 1]
    steps = len(ids) - 1
    lm_target[n, :steps] = ids[1:]
    prev = np.array(ids[:steps] + [vocab["<pad>"]] * (T - steps))
    lm_logits[n] = np.log(p_next[prev]) + lm_rng.normal(0, 0.3, size=(T, V))
    # What the bigram cannot know, a real model partly does: the next token gets a boost, large for pieces the
    # corpus uses and small for the fragments of unseen words (those stay the hard ones).
    for s, tok in enumerate(ids[1:]):
        lm_logits[n, s, tok] += (7.0 if tok in seen else 2.5) * lm_rng.uniform(0.6, 1.2)
assert (lm_target[0] != -100).all() and (lm_target[1] == -100).sum() >= 16, "row 0 full, row 1 padded"
np.save(out("lm", "logits.npy"), lm_logits.astype(np.float16))
np.save(out("lm", "target.npy"), lm_target)


# ---------------------------------------------------------------------------------------------------------
# Street scenes drawn procedurally: a label map at twice the mask size (the photo's size), a photo painted
# from it with texture and shading, and the mask taken at every second pixel.

ADE_CLASSES = ["other", "sky", "building", "tree", "road", "grass", "sidewalk", "person", "car", "mountain"]
A = {name: i for i, name in enumerate(ADE_CLASSES)}
ADE_COLORS = {"other": (150, 120, 90), "sky": (120, 170, 230), "building": (170, 150, 140), "tree": (60, 110, 50),
              "road": (90, 90, 95), "grass": (100, 160, 70), "sidewalk": (185, 180, 170), "person": (200, 60, 60),
              "car": (40, 70, 160), "mountain": (110, 110, 130)}


def draw_scene(r, h, w):
    """Class names per pixel (an int map over ADE_CLASSES) of a street scene of h x w."""
    lab = np.full((h, w), A["sky"], dtype=np.int64)
    y, x = np.mgrid[0:h, 0:w]
    horizon = int(h * r.uniform(0.38, 0.55))
    if r.random() < 0.6:  # mountains behind everything
        ridge = horizon - h * (0.08 + 0.12 * np.abs(np.sin(x / w * r.uniform(2, 5) + r.uniform(0, 6))))
        lab[(y > ridge) & (y < horizon)] = A["mountain"]
    lab[y >= horizon] = A["grass"]
    # Road in perspective: narrow at the horizon, wide at the bottom; sidewalks along it.
    centre = w * r.uniform(0.35, 0.65)
    half = (y - horizon) / max(h - horizon, 1) * w * r.uniform(0.35, 0.5) + 1
    below = y >= horizon
    lab[below & (np.abs(x - centre) < half * 1.35)] = A["sidewalk"]
    lab[below & (np.abs(x - centre) < half)] = A["road"]
    for _ in range(r.integers(2, 6)):  # buildings standing on the horizon
        bw, bh = r.uniform(0.1, 0.25) * w, r.uniform(0.15, 0.4) * h
        bx = r.uniform(0, w - bw)
        lab[(x >= bx) & (x < bx + bw) & (y >= horizon - bh) & (y < horizon + 2)] = A["building"]
    for _ in range(r.integers(1, 5)):  # trees: a trunk and a round crown
        tx, ty, rad = r.uniform(0, w), horizon + r.uniform(-0.02, 0.08) * h, r.uniform(0.05, 0.1) * h
        lab[(np.abs(x - tx) < rad * 0.2) & (y > ty - rad) & (y < ty + rad * 0.8)] = A["other"]
        lab[(x - tx) ** 2 + (y - ty + rad * 1.4) ** 2 < rad ** 2] = A["tree"]
    for _ in range(r.integers(0, 4)):  # cars on the road
        cy = r.uniform(horizon + 0.1 * h, h - 0.05 * h)
        scale = (cy - horizon) / max(h - horizon, 1)
        cw, ch = (0.12 + 0.2 * scale) * w, (0.05 + 0.1 * scale) * h
        cx = centre + r.uniform(-0.6, 0.6) * (cy - horizon) / max(h - horizon, 1) * w * 0.3 - cw / 2
        lab[(x >= cx) & (x < cx + cw) & (y >= cy - ch) & (y < cy)] = A["car"]
    for _ in range(r.integers(0, 4)):  # people on the sidewalk
        py = r.uniform(horizon + 0.08 * h, h - 0.02 * h)
        scale = (py - horizon) / max(h - horizon, 1)
        side = r.choice([-1, 1])
        px = centre + side * ((py - horizon) / max(h - horizon, 1) * w * 0.42 + 2)
        ph = (0.08 + 0.2 * scale) * h
        lab[((x - px) / (ph * 0.18)) ** 2 + ((y - py + ph / 2) / (ph / 2)) ** 2 < 1] = A["person"]
    return lab


def paint(r, lab, colors, names, dark=1.0):
    """A photo of a label map: each class's colour with texture, light from above, soft edges."""
    from PIL import Image, ImageFilter
    h, w = lab.shape
    table = np.array([colors[n] for n in names], dtype=np.float64)
    img = table[lab]
    img *= (1.0 + 0.12 * r.standard_normal((h, w, 1)))  # texture
    img *= (1.1 - 0.25 * np.mgrid[0:h, 0:w][0] / h)[..., None]  # light from above
    img[lab == names.index("sky")] += np.linspace(40, 0, h)[np.nonzero(lab == names.index("sky"))[0]][:, None]
    if "building" in names:  # windows
        yy_, xx_ = np.mgrid[0:h, 0:w]
        win = (lab == names.index("building")) & (yy_ % 6 < 3) & (xx_ % 5 < 2)
        img[win] = img[win] * 0.55 + np.array([60, 70, 90]) * 0.45
    img = np.clip(img * dark, 0, 255).astype(np.uint8)
    return Image.fromarray(img).filter(ImageFilter.GaussianBlur(0.7))


def box_blur(a, k):
    """Mean over a (2k+1) square window of the last two axes, edges repeated."""
    p = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(k, k), (k, k)], mode="edge")
    c = p.cumsum(-1).cumsum(-2)
    c = np.pad(c, [(0, 0)] * (a.ndim - 2) + [(1, 0), (1, 0)])
    n = 2 * k + 1
    return (c[..., n:, n:] - c[..., :-n, n:] - c[..., n:, :-n] + c[..., :-n, :-n]) / (n * n)


def model_logits(r, lab, classes, skill, noise, blur, confusions=()):
    """What a segmentation network might output for a label map: right on the whole, soft at borders,
    with systematic confusions (true class, predicted class, strength)."""
    h, w = lab.shape
    onehot = np.eye(classes)[lab].transpose(2, 0, 1)
    x = skill * box_blur(onehot, blur) if blur else skill * onehot
    for true, pred, strength in confusions:
        x[pred] += strength * skill * (lab == true)
    x += noise * box_blur(r.standard_normal((classes, h, w)), 1) * 3
    return x


# ADE20K-like validation folder: 10 images, masks [64, 96], photos [128, 192].
MH, MW = 64, 96
ade_rng = np.random.default_rng(2602)
from PIL import Image  # noqa: E402

for i in range(1, 11):
    stem = f"ADE_val_{i:08d}"
    big_lab = draw_scene(ade_rng, 2 * MH, 2 * MW)
    dark = 0.45 if i == 7 else 1.0  # a night scene: the model struggles
    paint(ade_rng, big_lab, ADE_COLORS, ADE_CLASSES, dark).save(out("ade20k_val", "labels", f"{stem}.jpg"), quality=85)
    lab = big_lab[::2, ::2]
    skill = 2.2 if i == 7 else ade_rng.uniform(3.0, 5.0)
    confusions = [(A["sidewalk"], A["road"], 0.9)] if i % 3 == 0 else []
    if i % 4 == 1:
        confusions.append((A["person"], A["sidewalk"], 1.1))  # people missed
    x = model_logits(ade_rng, lab, len(ADE_CLASSES), skill, 0.9, 1, confusions)
    mask = lab.astype(np.uint8)
    if i == 4:  # a labelling mistake: a car the annotator marked as road; the model sees the car
        mask[40:52, 10:30] = A["road"]
        x[A["car"], 40:52, 10:30] += 6.0
    np.save(out("ade20k_val", "predictions", f"{stem}_logits.npy"), x.astype(np.float16))
    Image.fromarray(mask, mode="L").save(out("ade20k_val", "labels", f"{stem}.png"), optimize=True)
for d in ("predictions", "labels"):
    with open(out("ade20k_val", d, "classes.json"), "w") as f:
        json.dump(ADE_CLASSES, f)

# Three checkpoints of one model on six of those scenes at half size ([10, 32, 48] float16), for Evaluate
# Checkpoints…: each step more skilled, except ADE_val_00000005, which the last one sees as road nearly everywhere
# (it regresses), and the night scene ADE_val_00000006, hard in every run. Own generator: the samples above
# keep their bytes.
runs_rng = np.random.default_rng(2505)
RUN_SKILL = {"step05k": 1.2, "step15k": 2.4, "step30k": 3.6}
for i in range(1, 7):
    stem = f"ADE_val_{i:08d}"
    full = np.array(Image.open(out("ade20k_val", "labels", f"{stem}.png")))
    lab = full[::2, ::2].astype(np.int64)
    Image.fromarray(lab.astype(np.uint8), mode="L").save(out("runs", "labels", f"{stem}.png"), optimize=True)
    Image.open(out("ade20k_val", "labels", f"{stem}.jpg")).resize((2 * lab.shape[1], 2 * lab.shape[0])).save(out("runs", "labels", f"{stem}.jpg"), quality=85)
    for k, (run, skill) in enumerate(RUN_SKILL.items()):
        regress = i == 5 and run == "step30k"
        confusions = [(c, A["road"], 2.5) for c in range(len(ADE_CLASSES)) if c != A["road"]] if regress else []
        x = model_logits(runs_rng, lab, len(ADE_CLASSES), 0.9 if i == 6 else 2.0 if regress else skill, 0.9, 1, confusions)
        np.save(out("runs", "checkpoints", run, f"{stem}_logits.npy"), x.astype(np.float16))
with open(out("runs", "labels", "classes.json"), "w") as f:
    json.dump(ADE_CLASSES, f)
for run in RUN_SKILL:
    with open(out("runs", "checkpoints", run, "classes.json"), "w") as f:
        json.dump(ADE_CLASSES, f)

# Cityscapes-style sample: labelIds (34 classes) [96, 192], the photo [192, 384], logits saved with torch.save.
CITYSCAPES = ["unlabeled", "ego vehicle", "rectification border", "out of roi", "static", "dynamic", "ground",
              "road", "sidewalk", "parking", "rail track", "building", "wall", "fence", "guard rail", "bridge",
              "tunnel", "pole", "polegroup", "traffic light", "traffic sign", "vegetation", "terrain", "sky",
              "person", "rider", "car", "truck", "bus", "caravan", "trailer", "train", "motorcycle", "bicycle"]
ADE_TO_CS = {"other": "vegetation", "sky": "sky", "building": "building", "tree": "vegetation", "road": "road",
             "grass": "terrain", "sidewalk": "sidewalk", "person": "person", "car": "car", "mountain": "static"}
# The photo in natural colours (the scene's ADE colours), not Cityscapes' label palette.
CS_COLORS = {ADE_TO_CS[n]: c for n, c in ADE_COLORS.items()}
CS_COLORS.update({"pole": (120, 120, 125), "static": ADE_COLORS["mountain"], "ego vehicle": (25, 25, 35),
                  "traffic sign": (230, 200, 40)})
CS_STEM = "frankfurt_000000_000019"
cs_rng = np.random.default_rng(2603)
big_ade = draw_scene(cs_rng, 192, 384)
to_cs = np.array([CITYSCAPES.index(ADE_TO_CS[n]) for n in ADE_CLASSES])
big_cs = to_cs[big_ade]
big_cs[-14:, :] = CITYSCAPES.index("ego vehicle")  # the bonnet of the recording car
big_cs[60:74, 300:316] = CITYSCAPES.index("traffic sign")
big_cs[74:120, 307:309] = CITYSCAPES.index("pole")
paint(cs_rng, big_cs, {n: CS_COLORS.get(n, (111, 74, 0)) for n in CITYSCAPES}, CITYSCAPES).save(
    out("cityscapes", f"{CS_STEM}_leftImg8bit.png"), optimize=True)
cs_lab = big_cs[::2, ::2]
cs_x = model_logits(cs_rng, cs_lab, len(CITYSCAPES), 4.0, 0.8, 1,
                    [(CITYSCAPES.index("sidewalk"), CITYSCAPES.index("road"), 0.8),
                     (CITYSCAPES.index("pole"), CITYSCAPES.index("building"), 1.2)])
Image.fromarray(cs_lab.astype(np.uint8), mode="L").save(out("cityscapes", f"{CS_STEM}_gtFine_labelIds.png"), optimize=True)
with open(out("cityscapes", "classes.json"), "w") as f:
    json.dump(CITYSCAPES, f)

import torch  # noqa: E402

torch.save(torch.from_numpy(cs_x[None].astype(np.float16)), out("cityscapes", f"{CS_STEM}_logits.pt"))

# Two checkpoints of one segmentation model on the same 4 images [48, 64]: epoch 30 is better on the whole
# but has started to miss people (Compare Losses… shows both in the B - A map and the per-class change).
ck_rng = np.random.default_rng(2604)
ck_lab = np.stack([draw_scene(ck_rng, 96, 128)[::2, ::2] for _ in range(4)])
for k in range(4):  # everyone gets a person, so the regression shows
    ck_lab[k, 30:44, 8 + 12 * k:12 + 12 * k] = A["person"]
ep10 = np.stack([model_logits(ck_rng, l, len(ADE_CLASSES), 2.0, 1.0, 2, [(A["sidewalk"], A["road"], 0.7)]) for l in ck_lab])
ep30 = np.stack([model_logits(ck_rng, l, len(ADE_CLASSES), 4.0, 0.8, 1, [(A["person"], A["sidewalk"], 1.3)]) for l in ck_lab])
np.save(out("checkpoints", "epoch10_logits.npy"), ep10.astype(np.float16))
np.save(out("checkpoints", "epoch30_logits.npy"), ep30.astype(np.float16))
np.save(out("checkpoints", "target.npy"), ck_lab)
with open(out("checkpoints", "classes.json"), "w") as f:
    json.dump(ADE_CLASSES, f)
# What an evaluation loop might dump: the first two images at epoch 30, as a dict (torch.save).
torch.save({"epoch": 30, "logits": torch.from_numpy(ep30[:2].astype(np.float32)), "labels": torch.from_numpy(ck_lab[:2])},
           out("checkpoints", "state.pt"))

# safetensors, written by hand (8-byte little-endian header length, JSON header, raw little-endian data):
# a classifier's outputs on 32 samples of 4 classes.
st_rng = np.random.default_rng(2605)
st_labels = st_rng.integers(0, 4, size=32).astype(np.int64)
st_logits = (st_rng.normal(0, 1.5, size=(32, 4)) + 2.5 * np.eye(4)[st_labels]).astype(np.float32)
tensors = {"labels": st_labels, "logits": st_logits}
header, offset = {"__metadata__": {"format": "pt"}}, 0
for name, a in tensors.items():
    header[name] = {"dtype": {"float32": "F32", "int64": "I64"}[a.dtype.name], "shape": list(a.shape),
                    "data_offsets": [offset, offset + a.nbytes]}
    offset += a.nbytes
hb = json.dumps(header, separators=(",", ":")).encode()
hb += b" " * (-len(hb) % 8)
with open(out("model_outputs.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + b"".join(a.astype(a.dtype.newbyteorder("<")).tobytes() for a in tensors.values()))


# ---------------------------------------------------------------------------------------------------------
# A console session as a Python prompt shows it (reprs printed by PyTorch itself): select all of it and run
# Cross-Entropy Loss of Selected Text; the torch.Size line and the prompts are passed over.
cs_gen = torch.Generator().manual_seed(11)
cs_logits = torch.randn(6, 4, generator=cs_gen) * 2
cs_target = torch.tensor([0, 3, 1, 1, 2, 0])
with open(out("console_session.txt"), "w") as f:
    f.write(">>> logits = model(batch)\n>>> logits.shape\n" + repr(cs_logits.shape) + "\n>>> logits\n" + repr(cs_logits)
            + "\n>>> target = batch_labels\n>>> target\n" + repr(cs_target) + "\n>>> F.cross_entropy(logits, target).item()\n"
            + repr(torch.nn.functional.cross_entropy(cs_logits, cs_target).item()) + "\n")

# ---------------------------------------------------------------------------------------------------------
# Multi-label tagging: one logit per tag, 0/1 float labels (binary_cross_entropy_with_logits and torchvision's
# sigmoid_focal_loss take float targets of the input's shape). A model that is usually right, two photos it
# tags confidently where the labels say no (a dog the labeller missed), and one tag it never learned (bicycle).
TAGS = ["person", "dog", "cat", "car", "bicycle", "tree"]
ml_rng = np.random.default_rng(606)
ml_labels = (ml_rng.random((16, len(TAGS))) < 0.3).astype(np.float32)
ml_labels[3, 1] = ml_labels[11, 1] = 0.0
ml_logits = (np.where(ml_labels > 0, 1.0, -1.0) * ml_rng.uniform(1.5, 4.0, ml_labels.shape)
             + ml_rng.normal(0.0, 0.8, ml_labels.shape))
ml_logits[3, 1], ml_logits[11, 1] = 5.5, 4.8
ml_logits[:, 4] = ml_rng.normal(-0.3, 0.4, 16)
np.save(out("multilabel", "logits.npy"), ml_logits.astype(np.float32))
np.save(out("multilabel", "labels.npy"), ml_labels)


# ---------------------------------------------------------------------------------------------------------
# A notebook with stored outputs of our MIME type: VS Code renders them with the extension's notebook
# renderer without running any kernel. The outputs are exactly what the cells' display() calls emit.
sys.path.insert(0, os.path.join(HERE, "..", "python"))
from cross_entropy_lens import MIME, to_payload, _text  # noqa: E402


def code_cell(source, payload, count):
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {},
        "source": source.strip("\n").splitlines(keepends=True),
        "outputs": [{"output_type": "display_data", "metadata": {},
                     "data": {MIME: payload, "text/plain": [_text(payload)]}}],
    }


seg_payload = to_payload(np.load(os.path.join(HERE, "segmentation", "logits.npy")),
                         np.load(os.path.join(HERE, "segmentation", "target.npy")),
                         ignore_index=255, class_names=CLASSES)
cls_payload = to_payload(np.array(cls_logits, dtype=np.float32), labels, label_smoothing=0.1)
# By reference: store="file" writes the batch as .npy files named by their sha256 into
# notebook/.cross_entropy_lens/ (the kernel's working directory), and the output holds only the reference.
NB = os.path.join(HERE, "notebook")
ref_x, ref_t = np.load(os.path.join(HERE, "checkpoints", "epoch30_logits.npy")), np.load(os.path.join(HERE, "checkpoints", "target.npy"))
ml_payload = to_payload(np.load(out("multilabel", "logits.npy")), np.load(out("multilabel", "labels.npy")),
                        class_names=TAGS, loss="sigmoid-focal")
ref_payload = to_payload(ref_x, ref_t, class_names=ADE_CLASSES, store="file", folder=NB)
ref_text = _text(ref_payload, ref_x, ref_t)
keep = {os.path.basename(ref_payload[k]["file"]) for k in ("input", "target")}
for name in os.listdir(os.path.join(NB, ".cross_entropy_lens")):
    if name not in keep:  # files of earlier runs whose content changed
        os.remove(os.path.join(NB, ".cross_entropy_lens", name))
ref_cell = code_cell("""
logits = np.load("../checkpoints/epoch30_logits.npy")   # (4, 10, 48, 64) float16
target = np.load("../checkpoints/target.npy")           # (4, 48, 64) int64
# store="file": the batch goes into .cross_entropy_lens/<sha256>.npy beside the notebook, the output holds
# only {file, bytes, sha256} (the default, store="auto", does this above 16 MB)
display(logits, target, class_names=json.load(open("../checkpoints/classes.json")), store="file")
""", ref_payload, 4)
ref_cell["outputs"][0]["data"]["text/plain"] = [ref_text]
notebook = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": [
            "# Cross-Entropy Lens in a notebook\n", "\n",
            "`display(logits, target, ...)` from `python/cross_entropy_lens.py` shows the loss, the per-class table and\n",
            "the per-pixel heatmaps right under the cell. The outputs below are stored: no kernel is needed to see them.\n"]},
        code_cell("""
import sys; sys.path.insert(0, "../../python")
import numpy as np
from cross_entropy_lens import display

logits = np.load("../segmentation/logits.npy")   # (2, 5, 64, 64) float32
target = np.load("../segmentation/target.npy")   # (2, 64, 64) int64, 255 on the border
display(logits, target, ignore_index=255, class_names=["background", "road", "car", "person", "sky"])
""", seg_payload, 1),
        code_cell("""
import json
pair = json.load(open("../classification/pair.json"))
display(np.array(pair["logits"], dtype=np.float32), np.array(pair["labels"]), label_smoothing=0.1)
""", cls_payload, 2),
        code_cell("""
tags = ["person", "dog", "cat", "car", "bicycle", "tree"]
logits = np.load("../multilabel/logits.npy")   # (16, 6) float32: one logit per tag
labels = np.load("../multilabel/labels.npy")   # (16, 6) float32: 1 where the photo has the tag
# torchvision's sigmoid_focal_loss (alpha 0.25, gamma 2); loss="bce" for binary_cross_entropy_with_logits
display(logits, labels, loss="sigmoid-focal", class_names=tags)
""", ml_payload, 3),
        ref_cell,
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                 "language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 4,
}
with open(out("notebook", "losses.ipynb"), "w") as f:
    json.dump(notebook, f, indent=1)
    f.write("\n")

print(f"wrote examples (LM vocabulary: {V} tokens)")


# --- debug/: a training loop to pause in the debugger (Loss at a breakpoint) ---------------------------------
TRAIN_STEP = """# A training loop to run under the debugger: Run and Debug -> "Debug train_step.py" (F5).
# It pauses in train_step (breakpoint() below). Then:
#   - Cross-Entropy Lens: Compute Loss from Debug Variables... -> logits, then target;
#   - or right-click `logits` in the Variables view -> Cross-Entropy Loss of This Variable...;
#   - or hover `logits` below (Show or Focus Hover) for its statistics and the loss with `target`.
# In the panel, tick "Update on each stop" and press Continue (F5): the loss of each step is added to its history.
# The last step passes a one-hot target, as a common bug does: PyTorch raises, the debugger stops, and
# "Explain with Cross-Entropy Lens" shows the fix (target.argmax(1)) with the loss after it.
import torch
import torch.nn.functional as F

CLASSES = 5


def model(images, w):
    return torch.einsum("nchw,kc->nkhw", images, w)


def train_step(step, images, target, w):
    logits = model(images, w)
    breakpoint()  # paused here: the panel reads logits and target from this frame
    loss = F.cross_entropy(logits, target)
    loss.backward()
    with torch.no_grad():
        w -= 0.5 * w.grad
        w.grad = None
    return loss.item()


g = torch.Generator().manual_seed(0)
images = torch.randn(4, 3, 32, 32, generator=g)
target = (images[:, 0] > 0).long() + 2 * (images[:, 1] > 0.5).long()
w = (0.3 * torch.randn(CLASSES, 3, generator=g)).requires_grad_()
for step in range(3):
    print(f"step {step}: loss {train_step(step, images, target, w):.4f}")

one_hot = F.one_hot(target, CLASSES).permute(0, 3, 1, 2)  # the bug: cross_entropy wants class indices
print(F.cross_entropy(model(images, w), one_hot))
"""
with open(out("debug", "train_step.py"), "w") as f:
    f.write(TRAIN_STEP)
with open(out(".vscode", "launch.json"), "w") as f:
    json.dump({
        "version": "0.2.0",
        "configurations": [{
            "name": "Debug train_step.py",
            "type": "debugpy",
            "request": "launch",
            "program": "${workspaceFolder}/debug/train_step.py",
            "console": "internalConsole",
            "justMyCode": False,
        }],
    }, f, indent=2)
    f.write("\n")
