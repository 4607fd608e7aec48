// npx tsx bench/labelIssues.ts [--n 200] [--size 128] [--rounds 1] [--json]: folder label issues (`cli.js eval
// --label-issues`) against a Python script that runs cleanlab's segmentation functions on the same files,
// in the same run. The bench writes N seeded images of SIZE x SIZE with 10 classes to a temp folder (float16
// logits `<stem>_logits.npy` [10, H, W] and 8-bit PNG labels `<stem>_label.png` with an ignored 255 border
// and, in every tenth image, a rectangle relabelled to another class), then times, as processes:
// - ours: `node dist/cli.js eval PRED LABELS --label-issues --ignore-index 255 --json`;
// - cleanlab: a script (written to the temp folder) that loads the same files, takes the float64 softmax,
//   pools the non-ignored pixels of all images as one 1 x M image (docs/label-issues.md §1) and runs
//   cleanlab.segmentation.filter.find_label_issues, cleanlab.segmentation.rank.get_label_quality_scores (per
//   image, on its own non-ignored pixels) and cleanlab.segmentation.summary.common_label_issues.
// Wall time and each process's peak RSS (/usr/bin/time %M: the largest resident set of the process or of
// any child it waited for; cleanlab forks a pool of n_jobs = cores workers), ours then cleanlab, --rounds
// times: medians of the times, the largest RSS, the 1-minute load average before and after each. Both must
// flag the same pixels per image (and give the same image scores and table); the bench fails otherwise.
// Goals (issue): at N = 200, 128 x 128, at most 0.5x the cleanlab script's time and peak RSS at most
// 600 MB; at N = 1000, 256 x 256 ours only (the script's float64 probabilities alone take N*K*H*W*8
// bytes; the script is run only up to 1 GiB of them), streaming in at most 600 MB. The bench exits 1 when
// a goal is missed.
// cleanlab is not a dependency (AGPL): the env variable CLEANLAB_PATH (default /tmp/cleanlab-src, a v2.9.x
// checkout) is put on the script's PYTHONPATH; without cleanlab the bench says so and reports ours only. Needs `npm run build` (dist/) and
// /usr/bin/python3 with numpy and PIL.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QUIET_LOAD } from './quiet';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const PY = '/usr/bin/python3';
const TIME = '/usr/bin/time';
const K = 10;
const IGNORE = 255;
const RSS_GOAL_MB = 600;
const RATIO_GOAL = 0.5;
const CLEANLAB_PATH = process.env.CLEANLAB_PATH ?? '/tmp/cleanlab-src';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const N = flag('--n', 200);
const SIZE = flag('--size', 128);
const ROUNDS = Math.max(1, flag('--rounds', 1));
const asJson = process.argv.includes('--json');
const log = (s: string): void => {
  if (!asJson) console.log(s);
};

// Seeded and vectorised: per image, K coarse Gaussian fields (5 x 5) upsampled bilinearly (two matrix
// products) give a smooth ground truth (their argmax) and the model's logits (16 x the field plus unit
// Gaussian noise per pixel and class): confident inside regions (about 92% pixel accuracy against the
// ground truth, mean probability of the true class 0.88), unsure near boundaries. Labels: the ground truth with a 255 border of
// 0-4 pixels, and in images 3, 13, 23, ... a rectangle relabelled to another class (the planted issues).
const GENERATE = `
import os, sys
import numpy as np
from PIL import Image
out, n, size, K, IGN = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
H = W = size
G = 5
rng = np.random.default_rng(20261206)
def upsample(n_out, n_in):
    x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    i0 = np.floor(x).astype(np.int64); i1 = np.minimum(i0 + 1, n_in - 1); f = (x - i0).astype(np.float32)
    a = np.zeros((n_out, n_in), np.float32)
    np.add.at(a, (np.arange(n_out), i0), 1 - f)
    np.add.at(a, (np.arange(n_out), i1), f)
    return a
ah, aw = upsample(H, G), upsample(W, G)
pred, lab = os.path.join(out, 'pred'), os.path.join(out, 'labels')
os.makedirs(pred, exist_ok=True); os.makedirs(lab, exist_ok=True)
planted = 0
for i in range(n):
    field = ah @ rng.standard_normal((K, G, G), dtype=np.float32) @ aw.T
    gt = field.argmax(0).astype(np.uint8)
    logits = 16.0 * field + rng.standard_normal((K, H, W), dtype=np.float32)
    label = gt.copy()
    if i % 10 == 3:
        h, w = rng.integers(H // 5, H // 2 + 1), rng.integers(W // 5, W // 2 + 1)
        r, c = rng.integers(0, H - h + 1), rng.integers(0, W - w + 1)
        label[r:r + h, c:c + w] = (label[r:r + h, c:c + w] + rng.integers(1, K)) % K
        planted += int(h * w)
    b = int(rng.integers(0, 5))
    if b:
        label[:b] = IGN; label[-b:] = IGN; label[:, :b] = IGN; label[:, -b:] = IGN
    stem = f'img{i:04d}'
    np.save(os.path.join(pred, stem + '_logits.npy'), logits.astype(np.float16))
    Image.fromarray(label, mode='L').save(os.path.join(lab, stem + '_label.png'))
print(planted)
`;

// The cleanlab side, as one would write it. Ignored pixels are removed first (cleanlab has no ignore
// index): the non-ignored pixels of all images, in (image, row, column) order, are one 1 x M image; each
// image's score is cleanlab's score of its own pixels as a 1 x M_i image. The softmax is float64 (the
// logits widened, the maximum subtracted, exp, divided by the sum over classes). Phases are timed so the
// report can say where the time goes; stdout is one JSON object (cleanlab's own prints are silenced).
const CLEANLAB = `
import contextlib, io, json, os, sys, time
t0 = time.perf_counter()
import numpy as np
from PIL import Image
try:
    import cleanlab
    from cleanlab.segmentation.filter import find_label_issues
    from cleanlab.segmentation.rank import get_label_quality_scores
    from cleanlab.segmentation.summary import common_label_issues
except ImportError as e:
    print(json.dumps({'importError': str(e)})); sys.exit(3)
pred_dir, label_dir, IGN = sys.argv[1], sys.argv[2], int(sys.argv[3])
phases = {'import': time.perf_counter() - t0}
t = time.perf_counter()
stems = sorted(n[:-len('_logits.npy')] for n in os.listdir(pred_dir) if n.endswith('_logits.npy'))
labels = [np.array(Image.open(os.path.join(label_dir, s + '_label.png'))) for s in stems]
valid = [l != IGN for l in labels]
counts = [int(v.sum()) for v in valid]
offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
M = int(offsets[-1])
y = np.empty((1, 1, M), np.int64)
p = None
for i, s in enumerate(stems):
    x = np.load(os.path.join(pred_dir, s + '_logits.npy')).astype(np.float64)
    if p is None:
        p = np.empty((1, x.shape[0], 1, M), np.float64)
    x -= x.max(0, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(0, keepdims=True)
    a, b = offsets[i], offsets[i + 1]
    p[0, :, 0, a:b] = x[:, valid[i]]
    y[0, 0, a:b] = labels[i][valid[i]]
del x
phases['load_softmax'] = time.perf_counter() - t
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    t = time.perf_counter()
    issues = find_label_issues(y, p, verbose=False)
    phases['find_label_issues'] = time.perf_counter() - t
    t = time.perf_counter()
    scores = []
    for i in range(len(stems)):
        a, b = offsets[i], offsets[i + 1]
        scores.append(None if a == b else float(get_label_quality_scores(y[:, :, a:b], p[:, :, :, a:b], verbose=False)[0][0]))
    phases['get_label_quality_scores'] = time.perf_counter() - t
    t = time.perf_counter()
    table = common_label_issues(issues, y, p, verbose=False)
    phases['common_label_issues'] = time.perf_counter() - t
flat = issues.reshape(-1)
per_image = {s: {'issues': int(flat[offsets[i]:offsets[i + 1]].sum()), 'score': scores[i]} for i, s in enumerate(stems)}
common = [[int(r.given_label), int(r.predicted_label), int(r.num_pixel_issues)] for r in table.itertuples()]
phases['total'] = time.perf_counter() - t0
print(json.dumps({'cleanlab': cleanlab.__version__, 'pixels': M, 'count': int(flat.sum()), 'perImage': per_image, 'common': common, 'phases': phases}))
`;

interface Timed {
  s: number;
  rssMB: number | null;
  out: string;
  err: string;
  status: number | null;
}

function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Timed {
  const haveTime = fs.existsSync(TIME);
  const t0 = performance.now();
  const opts = { encoding: 'utf8' as const, maxBuffer: 256 << 20, env: env ?? process.env };
  const r = haveTime ? spawnSync(TIME, ['-f', '%M', cmd, ...args], opts) : spawnSync(cmd, args, opts);
  const s = (performance.now() - t0) / 1000;
  const err = r.stderr ?? '';
  const kb = haveTime ? Number(/(\d+)\s*$/.exec(err)?.[1]) : NaN;
  return { s, rssMB: Number.isFinite(kb) ? kb / 1024 : null, out: r.stdout ?? '', err, status: r.status };
}

const load1 = (): number => os.loadavg()[0];

interface OursReport {
  labelIssues: { count: number; commonIssues: Array<{ given: number; predicted: number; count: number }> };
  perImage: Array<{ name: string; labelIssues: number; labelQuality: number | null }>;
}

interface CleanlabReport {
  cleanlab: string;
  pixels: number;
  count: number;
  perImage: Record<string, { issues: number; score: number | null }>;
  common: Array<[number, number, number]>;
  phases: Record<string, number>;
}

interface Case {
  n: number;
  size: number;
  classes: number;
  dataMB: number;
  tool: 'cross-entropy-lens' | 'cleanlab';
  s: number;
  peakRssMB: number | null;
  loadStart: number;
  loadEnd: number;
  flagged: number;
  rounds: Round[];
}

interface Round {
  s: number;
  peakRssMB: number | null;
  loadStart: number;
  loadEnd: number;
  phases?: Record<string, number>;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

const stemOf = (name: string): string => path.basename(name).replace(/_logits\.npy$/, '').replace(/\.npy$/, '');

/** Same pixels per image, same image scores (1e-9 relative), same table: throws with the first differences. */
function compare(ours: OursReport, theirs: CleanlabReport): string {
  const problems: string[] = [];
  if (ours.labelIssues.count !== theirs.count) problems.push(`flagged pixels: ours ${ours.labelIssues.count}, cleanlab ${theirs.count}`);
  const seen = new Set<string>();
  let worstScore = 0;
  for (const img of ours.perImage) {
    const stem = stemOf(img.name);
    seen.add(stem);
    const t = theirs.perImage[stem];
    if (t === undefined) {
      problems.push(`${stem}: not in cleanlab's output`);
      continue;
    }
    if (img.labelIssues !== t.issues) problems.push(`${stem}: ours ${img.labelIssues} pixels, cleanlab ${t.issues}`);
    if ((img.labelQuality === null) !== (t.score === null)) problems.push(`${stem}: score ours ${img.labelQuality}, cleanlab ${t.score}`);
    else if (img.labelQuality !== null && t.score !== null) {
      const rel = Math.abs(img.labelQuality - t.score) / Math.max(Math.abs(t.score), 1e-300);
      worstScore = Math.max(worstScore, rel);
      if (rel > 1e-9) problems.push(`${stem}: score ours ${img.labelQuality}, cleanlab ${t.score}`);
    }
  }
  for (const stem of Object.keys(theirs.perImage)) if (!seen.has(stem)) problems.push(`${stem}: not in our output`);
  const ourTable = ours.labelIssues.commonIssues.map((r) => `${r.given}>${r.predicted}:${r.count}`).join(' ');
  const theirTable = theirs.common.map(([g, p, c]) => `${g}>${p}:${c}`).join(' ');
  if (ourTable !== theirTable) problems.push(`common issues: ours [${ourTable}], cleanlab [${theirTable}]`);
  if (problems.length > 0) {
    throw new Error(`ours and cleanlab disagree (${problems.length} differences):\n  ${problems.slice(0, 20).join('\n  ')}`);
  }
  return `same ${theirs.count} flagged pixels, same count in each of ${seen.size} images, image scores within ${worstScore.toExponential(1)} relative, same ${theirs.common.length}-row table`;
}

function cleanlabImportable(): { ok: boolean; why: string } {
  const env = { ...process.env, PYTHONPATH: [CLEANLAB_PATH, process.env.PYTHONPATH].filter(Boolean).join(':') };
  const r = spawnSync(PY, ['-c', 'import cleanlab.segmentation.filter, cleanlab.segmentation.rank, cleanlab.segmentation.summary, cleanlab; print(cleanlab.__version__)'], { encoding: 'utf8', env });
  if (r.status === 0) return { ok: true, why: r.stdout.trim() };
  const last = (r.stderr ?? '').trim().split('\n').pop() ?? '';
  return { ok: false, why: `cleanlab cannot be imported with PYTHONPATH=${CLEANLAB_PATH} (${last}): reporting ours only` };
}

const fmt = (v: number | null | undefined, d: number): string => (v === null || v === undefined ? '-' : v.toFixed(d));

function main(): void {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build first');
  const uptime = spawnSync('uptime', [], { encoding: 'utf8' });
  const loadAtStart = load1();
  log(`uptime: ${(uptime.stdout ?? '').trim() || `load average ${os.loadavg().map((v) => v.toFixed(2)).join(', ')}`}`);

  const pixels = N * SIZE * SIZE;
  const probsBytes = pixels * K * 8;
  // The script holds all float64 probabilities (N*K*H*W*8 bytes, less the ignored pixels) at once, as
  // cleanlab's segmentation functions take them; the issue's limit for that is 600 MB on our side only.
  const runCleanlab = probsBytes <= 2 ** 30;
  const why = runCleanlab
    ? cleanlabImportable()
    : { ok: false, why: `cleanlab script not run: its float64 probabilities alone would need N*K*H*W*8 = ${N}*${K}*${SIZE}*${SIZE}*8 bytes = ${(probsBytes / 1e9).toFixed(2)} GB held at once (cleanlab's segmentation functions take one [N, K, H, W] array, and the script's peak RSS is about 2.4x that at 200 x 128 x 128); this bench runs it up to 1 GiB of probabilities` };
  if (!why.ok) log(why.why);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-labelbench-'));
  try {
    const g0 = performance.now();
    const gen = spawnSync(PY, ['-c', GENERATE, dir, String(N), String(SIZE), String(K), String(IGNORE)], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`generating the set failed: ${gen.stderr}`);
    const planted = Number(gen.stdout.trim());
    const pred = path.join(dir, 'pred');
    const labels = path.join(dir, 'labels');
    const dataMB = (N * K * SIZE * SIZE * 2) / 2 ** 20;
    log(`generated ${N} images [${K}, ${SIZE}, ${SIZE}] float16 logits (${dataMB.toFixed(0)} MiB) + PNG labels, ${planted} relabelled pixels planted, in ${((performance.now() - g0) / 1000).toFixed(1)} s (${dir})`);

    // Ours, then the cleanlab script, round after round (--rounds R): the case's time is the median of
    // its rounds' wall times, its RSS the largest; every round's time and load are kept.
    const script = path.join(dir, 'cleanlab_label_issues.py');
    fs.writeFileSync(script, CLEANLAB);
    const env = { ...process.env, PYTHONPATH: [CLEANLAB_PATH, process.env.PYTHONPATH].filter(Boolean).join(':') };
    const oursRounds: Round[] = [];
    const theirRounds: Round[] = [];
    let ours: OursReport | null = null;
    let theirs: CleanlabReport | null = null;
    let check: string | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      let l0 = load1();
      const a = timed(process.execPath, [CLI, 'eval', pred, labels, '--label-issues', '--ignore-index', String(IGNORE), '--json']);
      if (a.status !== 0) throw new Error(`eval --label-issues failed (exit ${a.status}): ${a.err.slice(-2000)}`);
      ours = JSON.parse(a.out) as OursReport;
      oursRounds.push({ s: a.s, peakRssMB: a.rssMB, loadStart: l0, loadEnd: load1() });
      log(`round ${r + 1}: eval --label-issues ${a.s.toFixed(2)} s, peak RSS ${fmt(a.rssMB, 0)} MB, ${ours.labelIssues.count} pixels flagged (load ${l0.toFixed(2)} -> ${load1().toFixed(2)})`);
      if (!why.ok) continue;
      if (r === 0) log(`cleanlab ${why.why} script: running (seconds to minutes, see the README)...`);
      l0 = load1();
      const b = timed(PY, [script, pred, labels, String(IGNORE)], env);
      if (b.status !== 0) throw new Error(`cleanlab script failed (exit ${b.status}): ${b.out.slice(-500)} ${b.err.slice(-2000)}`);
      theirs = JSON.parse(b.out) as CleanlabReport;
      theirRounds.push({ s: b.s, peakRssMB: b.rssMB, loadStart: l0, loadEnd: load1(), phases: theirs.phases });
      log(`round ${r + 1}: cleanlab script ${b.s.toFixed(2)} s, peak RSS ${fmt(b.rssMB, 0)} MB, ${theirs.count} pixels flagged (load ${l0.toFixed(2)} -> ${load1().toFixed(2)})`);
      log(`  cleanlab phases (s): ${Object.entries(theirs.phases).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
      check = compare(ours, theirs);
      if (r === 0) log(`check: ${check}`);
    }
    const caseOf = (tool: Case['tool'], rounds: Round[], flagged: number): Case => ({
      n: N,
      size: SIZE,
      classes: K,
      dataMB,
      tool,
      s: median(rounds.map((x) => x.s)),
      peakRssMB: rounds.some((x) => x.peakRssMB !== null) ? Math.max(...rounds.map((x) => x.peakRssMB ?? 0)) : null,
      loadStart: rounds[0].loadStart,
      loadEnd: rounds[rounds.length - 1].loadEnd,
      flagged,
      rounds,
    });
    const cases: Case[] = [caseOf('cross-entropy-lens', oursRounds, ours!.labelIssues.count)];
    if (theirs !== null) cases.push(caseOf('cleanlab', theirRounds, theirs.count));

    const ratio = cases.length === 2 ? cases[0].s / cases[1].s : null;
    const oursRss = cases[0].peakRssMB;
    const failures: string[] = [];
    if (oursRss !== null && oursRss > RSS_GOAL_MB) failures.push(`peak RSS ${oursRss.toFixed(0)} MB is above ${RSS_GOAL_MB} MB`);
    if (ratio !== null && ratio > RATIO_GOAL) failures.push(`time ratio ${ratio.toFixed(3)} is above ${RATIO_GOAL}`);
    const loadEnd = load1();
    const worst = Math.max(loadAtStart, loadEnd, ...cases.flatMap((c) => [c.loadStart, c.loadEnd]));
    // bench/quiet.ts's threshold; the wording differs: both sides here are processes on the same 2 vCPUs,
    // and cleanlab's script is mostly one thread while eval uses a worker per core.
    const warning = worst > QUIET_LOAD ? `warning: load average up to ${worst.toFixed(2)} during the run (above ${QUIET_LOAD.toFixed(1)}): both timings are slower than on a quiet machine and the ratio may move (eval uses both cores, the cleanlab script mostly one); report the load beside every figure` : null;
    const result = {
      load: { start: loadAtStart, end: loadEnd, loadavg: os.loadavg(), warning },
      cases,
      ratio,
      check,
      cleanlab: why.ok ? why.why : null,
      cleanlabSkipped: why.ok ? null : why.why,
      planted,
      goals: { ratio: RATIO_GOAL, peakRssMB: RSS_GOAL_MB, met: failures.length === 0, failures },
    };
    if (asJson) console.log(JSON.stringify(result));
    else {
      const rows = [['case', 'tool', 'time s', 'peak RSS MB', 'flagged px', 'load (1 min)'], ...cases.map((c) => [`${c.n} x ${c.size}x${c.size}, K=${c.classes}`, c.tool, c.s.toFixed(2), fmt(c.peakRssMB, 0), String(c.flagged), `${c.loadStart.toFixed(2)} -> ${c.loadEnd.toFixed(2)}`])];
      const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
      log('');
      for (const [i, r] of rows.entries()) {
        log(r.map((v, j) => v.padEnd(widths[j])).join('  '));
        if (i === 0) log(widths.map((w) => '-'.repeat(w)).join('  '));
      }
      log(ratio !== null ? `ratio ours / cleanlab: ${ratio.toFixed(3)} (goal <= ${RATIO_GOAL})` : 'ratio: - (cleanlab not run)');
      log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')} (2 vCPUs, shared: compare within one run)`);
    }
    if (warning !== null) process.stderr.write(`${warning}\n`);
    if (failures.length > 0) {
      process.stderr.write(`goal missed: ${failures.join('; ')}\n`);
      process.exitCode = 1;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
