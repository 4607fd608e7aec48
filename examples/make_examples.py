"""Writes the sample workspace that `npm start` opens. NumPy only; outputs are committed.

Run: /usr/bin/python3 examples/make_examples.py
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)
CLASSES = ["background", "road", "car", "person", "sky"]

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
np.save(os.path.join(HERE, "segmentation", "logits.npy"), logits.astype(np.float32))
np.save(os.path.join(HERE, "segmentation", "target.npy"), target)
with open(os.path.join(HERE, "segmentation", "classes.json"), "w") as f:
    json.dump(CLASSES, f)

# Classification: 8 samples, 4 classes, as one JSON object.
cls_logits = rng.normal(0, 2, size=(8, 4)).round(4)
labels = rng.integers(0, 4, size=8)
with open(os.path.join(HERE, "classification", "pair.json"), "w") as f:
    json.dump({"logits": cls_logits.tolist(), "labels": labels.tolist()}, f, indent=1)

# A notebook with stored outputs of our MIME type: VS Code renders them with the extension's notebook
# renderer without running any kernel. The outputs are exactly what the cells' display() calls emit.
import sys  # noqa: E402

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
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                 "language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 4,
}
os.makedirs(os.path.join(HERE, "notebook"), exist_ok=True)
with open(os.path.join(HERE, "notebook", "losses.ipynb"), "w") as f:
    json.dump(notebook, f, indent=1)
    f.write("\n")

print("wrote examples")
