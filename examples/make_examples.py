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

print("wrote examples")
