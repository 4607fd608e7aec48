#!/usr/bin/env python3
"""Draws media/icon.png (the marketplace icon, 128x128): a per-pixel loss heatmap under a magnifying lens.

Run with /usr/bin/python3 (Debian's python3-pil): /usr/bin/python3 scripts/make-icon.py
Drawn at 4x and downsampled, so edges are smooth; the output is deterministic (no randomness).
"""
import math
import os
import sys

from PIL import Image, ImageDraw

SIZE = 128
SCALE = 4
BACKGROUND = (30, 27, 46)  # the galleryBanner colour in package.json
# Anchors of viridis, the panel's default colormap.
VIRIDIS = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]


def viridis(t):
    t = min(max(t, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(t), len(VIRIDIS) - 2)
    f = t - i
    return tuple(round(a + (b - a) * f) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1]))


def loss_at(x, y):
    """A segmentation-like loss field in [0, 1]: high along a curved class boundary, low inside regions."""
    boundary = 0.55 + 0.18 * math.sin(x * 5.0)
    d = abs(y - boundary)
    return math.exp(-(d / 0.12) ** 2) * (0.75 + 0.25 * math.cos(x * 9.0)) + 0.08 * (1 - y)


def main(out):
    s = SIZE * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle([0, 0, s - 1, s - 1], radius=22 * SCALE, fill=BACKGROUND + (255,))
    cells, margin, gap = 8, 14 * SCALE, 2 * SCALE
    cell = (s - 2 * margin - (cells - 1) * gap) / cells
    for r in range(cells):
        for c in range(cells):
            x0 = margin + c * (cell + gap)
            y0 = margin + r * (cell + gap)
            color = viridis(loss_at((c + 0.5) / cells, (r + 0.5) / cells))
            draw.rounded_rectangle([x0, y0, x0 + cell, y0 + cell], radius=2 * SCALE, fill=color + (255,))
    # The lens: a ring over the hottest part of the boundary, and its handle towards the corner.
    cx, cy, rad, ring = 0.60 * s, 0.56 * s, 0.22 * s, 6 * SCALE
    angle = math.radians(45)
    hx0, hy0 = cx + (rad + ring / 2) * math.cos(angle), cy + (rad + ring / 2) * math.sin(angle)
    hx1, hy1 = cx + (rad + 0.17 * s) * math.cos(angle), cy + (rad + 0.17 * s) * math.sin(angle)
    draw.line([hx0, hy0, hx1, hy1], fill=(255, 255, 255, 255), width=10 * SCALE)
    draw.ellipse([hx1 - 5 * SCALE, hy1 - 5 * SCALE, hx1 + 5 * SCALE, hy1 + 5 * SCALE], fill=(255, 255, 255, 255))
    draw.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], outline=(255, 255, 255, 255), width=ring)
    img = img.resize((SIZE, SIZE), Image.LANCZOS)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    img.save(out, optimize=True)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "media", "icon.png"))
