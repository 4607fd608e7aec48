// npx tsx bench/evalBench.ts [--n N] [--rounds R] [--json]: folder evaluation (`cli.js eval`) against a
// PyTorch script computing the same pooled loss, confusion matrix and ECE, on N synthetic ADE20K-shaped
// pairs ([150, 256, 256] float16 logits .npy + 8-bit PNG labels with 5% ignore_index 255) in a temp
// folder. Both run as processes, alternating round by round; the figures are the per-round medians of wall
// time and each process's own peak RSS (/usr/bin/time %M). Goal (issue #24) at N = 20 and at N = 200: at most
// 0.2x PyTorch's time, peak RSS at most 300 MB. Needs `npm run build` (dist/) and /usr/bin/python3 with torch,
// numpy and PIL.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeAdeSet } from './adeSet';
import { warnIfLoaded } from './quiet';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const PY = '/usr/bin/python3';
const TIME = '/usr/bin/time';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const N = flag('--n', 20);
const ROUNDS = flag('--rounds', 2);
const asJson = process.argv.includes('--json');
const log = (s: string): void => {
  if (!asJson) console.log(s);
};

// The same figures with PyTorch as one would write them: pooled mean loss, confusion matrix, ECE (15 bins).
const TORCH = `
import os, sys, json
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
pred_dir, label_dir = sys.argv[1], sys.argv[2]
C, B, IGN = 150, 15, 255
loss_sum = 0.0; n = 0
conf_mat = torch.zeros(C * C, dtype=torch.int64)
bin_count = torch.zeros(B, dtype=torch.float64); bin_conf = torch.zeros(B, dtype=torch.float64); bin_acc = torch.zeros(B, dtype=torch.float64)
edges = torch.linspace(0, 1, B + 1, dtype=torch.float64)
for name in sorted(os.listdir(pred_dir)):
    stem = name[:-len('_logits.npy')]
    x = torch.from_numpy(np.load(os.path.join(pred_dir, name))).float()
    t = torch.from_numpy(np.array(Image.open(os.path.join(label_dir, stem + '_gt.png')))).long()
    loss_sum += F.cross_entropy(x[None], t[None], ignore_index=IGN, reduction='sum').item()
    valid = t != IGN
    n += int(valid.sum())
    p = torch.softmax(x, 0)
    conf, pred = p.max(0)
    tv, pv, cv = t[valid], pred[valid], conf[valid].double()
    conf_mat += torch.bincount(tv * C + pv, minlength=C * C)
    b = (torch.bucketize(cv, edges, right=False) - 1).clamp(0, B - 1)
    bin_count += torch.bincount(b, minlength=B).double()
    bin_conf += torch.zeros(B, dtype=torch.float64).index_add_(0, b, cv)
    bin_acc += torch.zeros(B, dtype=torch.float64).index_add_(0, b, (pv == tv).double())
nz = bin_count > 0
ece = float(((bin_conf[nz] - bin_acc[nz]).abs()).sum() / n)
print(json.dumps({'value': loss_sum / n, 'ece': ece, 'pixelAccuracy': float(conf_mat.view(C, C).diag().sum()) / n}))
`;

function timed(cmd: string, args: string[]): { s: number; rssMB: number | null; out: string; ok: boolean } {
  const haveTime = fs.existsSync(TIME);
  const t0 = performance.now();
  const r = haveTime ? spawnSync(TIME, ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }) : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const s = (performance.now() - t0) / 1000;
  const kb = haveTime ? Number(/(\d+)\s*$/.exec(r.stderr ?? '')?.[1]) : NaN;
  return { s, rssMB: Number.isFinite(kb) ? kb / 1024 : null, out: r.stdout ?? '', ok: r.status === 0 };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

function main(): void {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build first');
  const loadAtStart = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-evalbench-'));
  try {
    const g0 = performance.now();
    writeAdeSet(dir, N);
    log(`generated ${N} pairs [150, 256, 256] float16 + PNG in ${((performance.now() - g0) / 1000).toFixed(1)} s (${dir})`);
    const pred = path.join(dir, 'pred');
    const labels = path.join(dir, 'labels');
    const ours: Array<{ s: number; rss: number | null }> = [];
    const theirs: Array<{ s: number; rss: number | null }> = [];
    let check: { ours: Record<string, number>; torch: Record<string, number> } | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      const a = timed(process.execPath, [CLI, 'eval', pred, labels, '--ignore-index', '255', '--json']);
      if (!a.ok) throw new Error(`eval failed: ${a.out}`);
      const b = timed(PY, ['-c', TORCH, pred, labels]);
      if (!b.ok) throw new Error(`PyTorch script failed: ${b.out}`);
      ours.push({ s: a.s, rss: a.rssMB });
      theirs.push({ s: b.s, rss: b.rssMB });
      const o = JSON.parse(a.out) as Record<string, number>;
      check = { ours: { value: o.value, ece: o.ece, pixelAccuracy: o.pixelAccuracy }, torch: JSON.parse(b.out) as Record<string, number> };
      log(`round ${r + 1}: eval ${a.s.toFixed(2)} s (peak RSS ${a.rssMB?.toFixed(0) ?? '-'} MB), PyTorch ${b.s.toFixed(2)} s (peak RSS ${b.rssMB?.toFixed(0) ?? '-'} MB)`);
    }
    const oursS = median(ours.map((o) => o.s));
    const torchS = median(theirs.map((o) => o.s));
    const result = {
      n: N,
      rounds: ROUNDS,
      eval_s: oursS,
      torch_s: torchS,
      ratio: oursS / torchS,
      evalPeakRssMB: Math.max(...ours.map((o) => o.rss ?? 0)),
      torchPeakRssMB: Math.max(...theirs.map((o) => o.rss ?? 0)),
      check,
      loadAverage: os.loadavg(),
      loadWarning: warnIfLoaded(loadAtStart),
    };
    if (asJson) console.log(JSON.stringify(result));
    else {
      log(`N = ${N}: eval ${oursS.toFixed(2)} s vs PyTorch ${torchS.toFixed(2)} s (${result.ratio.toFixed(2)}x); peak RSS ${result.evalPeakRssMB.toFixed(0)} MB vs ${result.torchPeakRssMB.toFixed(0)} MB`);
      log(`same figures: ${JSON.stringify(check)}`);
      log(`load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')} (a shared machine: compare within one run)`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
