// The benchmarks' synthetic ADE20K-shaped set: N pairs of [150, 256, 256] float16 logits .npy
// (`imgNNNN_logits.npy` in pred/) and 8-bit PNG labels with 5% ignore_index 255 (`imgNNNN_gt.png` in
// labels/), written by /usr/bin/python3 (NumPy, PIL) with a fixed seed.
import { spawnSync } from 'node:child_process';

export const ADE_SET_SCRIPT = `
import os, sys
import numpy as np
from PIL import Image
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(150)
C, H, W = 150, 256, 256
os.makedirs(os.path.join(out, 'pred'), exist_ok=True)
os.makedirs(os.path.join(out, 'labels'), exist_ok=True)
for i in range(n):
    # blocky labels: a coarse grid of classes upsampled, plus 5% ignored pixels
    coarse = rng.integers(0, C, size=(16, 16))
    t = np.kron(coarse, np.ones((16, 16), dtype=np.int64))
    t[rng.random((H, W)) < 0.05] = 255
    x = rng.standard_normal((C, H, W), dtype=np.float32)
    rows, cols = np.nonzero(t != 255)
    x[t[rows, cols], rows, cols] += 3.0
    np.save(os.path.join(out, 'pred', f'img{i:04d}_logits.npy'), x.astype(np.float16))
    Image.fromarray(t.astype(np.uint8), mode='L').save(os.path.join(out, 'labels', f'img{i:04d}_gt.png'))
`;

/** Writes DIR/pred and DIR/labels (needs /usr/bin/python3 with NumPy and PIL). */
export function writeAdeSet(dir: string, n: number): void {
  const gen = spawnSync('/usr/bin/python3', ['-c', ADE_SET_SCRIPT, dir, String(n)], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`generating the set failed: ${gen.stderr}`);
}
