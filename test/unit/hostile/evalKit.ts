// Small evaluation folders for the hostile eval / merge tests: a few [C, H, W] float32 predictions and
// [H, W] int64 labels as .npy, made in milliseconds, and PyTorch's pooled cross-entropy over them.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeNpy } from '../../../src/tensor/binary/npy';

export const PY = '/usr/bin/python3';
export const C = 3;
export const H = 4;
export const W = 5;

/** float32 logits and int64 labels of one image, from a seed (labels cover every class). */
export function imageData(seed: number): { logits: Float32Array; labels: number[] } {
  const logits = Float32Array.from({ length: C * H * W }, (_, i) => Math.round(Math.sin(seed * 7.1 + i * 1.3) * 300) / 100);
  const labels = Array.from({ length: H * W }, (_, i) => (i * 7 + seed) % C);
  return { logits, labels };
}

/** Writes pred/STEM_logits.npy and labels/STEM_gt.npy for each stem; returns the two folders. */
export function writeEvalSet(root: string, stems: readonly string[]): { pred: string; labels: string } {
  const pred = path.join(root, 'pred');
  const labels = path.join(root, 'labels');
  fs.mkdirSync(pred, { recursive: true });
  fs.mkdirSync(labels, { recursive: true });
  stems.forEach((stem, k) => {
    const d = imageData(k + 1);
    fs.writeFileSync(path.join(pred, `${stem}_logits.npy`), encodeNpy({ dtype: 'float32', shape: [C, H, W], data: d.logits }));
    fs.writeFileSync(path.join(labels, `${stem}_gt.npy`), encodeNpy({ dtype: 'int64', shape: [H, W], data: d.labels }));
  });
  return { pred, labels };
}

/** PyTorch's F.cross_entropy (mean, float64) over the given images as one batch. */
export function torchPooledMean(seeds: readonly number[]): number {
  const images = seeds.map((s) => {
    const d = imageData(s);
    return { x: Array.from(d.logits), t: d.labels };
  });
  const code = [
    'import json, sys, torch, torch.nn.functional as F',
    'ims = json.loads(sys.stdin.read())',
    `x = torch.tensor([im['x'] for im in ims], dtype=torch.float32).reshape(-1, ${C}, ${H}, ${W}).double()`,
    `t = torch.tensor([im['t'] for im in ims], dtype=torch.long).reshape(-1, ${H}, ${W})`,
    'print(repr(F.cross_entropy(x, t).item()))',
  ].join('\n');
  const r = spawnSync(PY, ['-c', code], { input: JSON.stringify(images), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

/** float32 kernel against float64 PyTorch. */
export function assertClose(got: unknown, want: number, what: string, rel = 2e-6): void {
  assert.equal(typeof got, 'number', `${what}: ${JSON.stringify(got)}`);
  assert.ok(Math.abs((got as number) - want) <= rel * Math.max(1, Math.abs(want)), `${what}: ${String(got)} != ${want}`);
}
