// npx tsx bench/runsBench.ts [--n N] [--runs R] [--rounds K] [--json]: `cli.js runs` over R checkpoints of N
// ADE20K-shaped pairs ([150, 256, 256] float16 logits + PNG labels, bench/adeSet.ts) against R separate
// `cli.js eval` processes, one per checkpoint folder. Goal (#25) at N = 200, R = 5: runs at most the R evals'
// total time plus 10%, peak RSS at most 600 MB.
//
// The checkpoints share one generated set on disk: run k's image i is a hard link to the set's logits of
// image (i + k) mod N, so every run has different per-pixel losses (percentiles, persistent pixels) while
// the R x N logits files cost the disk and the page cache one set. Both sides read the same files; rounds
// alternate, after one warm-up eval, and the figures are per-round medians of wall time, of CPU time (user +
// system of all threads: less sensitive to a busy machine than wall time) and each process's peak RSS
// (/usr/bin/time; for the evals, the sums of the R processes' times and the largest of their peaks).
// Needs `npm run build` (dist/) and /usr/bin/python3 with NumPy and PIL.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeAdeSet } from './adeSet';
import { warnIfLoaded } from './quiet';

const CLI = path.resolve(__dirname, '..', 'dist', 'cli.js');
const TIME = '/usr/bin/time';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const N = flag('--n', 20);
const R = flag('--runs', 5);
const ROUNDS = flag('--rounds', 2);
const asJson = process.argv.includes('--json');
const log = (s: string): void => {
  if (!asJson) console.log(s);
};

/** Wall time, CPU time (user + system, all threads) and peak RSS of one CLI process. */
function timed(args: string[]): { s: number; cpu: number; rssMB: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-f', '%U %S %M', process.execPath, CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`cli.js ${args[0]} failed: ${r.stderr}`);
  const m = /([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  return { s, cpu: Number(m?.[1]) + Number(m?.[2]), rssMB: Number(m?.[3]) / 1024, out: r.stdout };
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main(): void {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build first');
  if (!fs.existsSync(TIME)) throw new Error(`${TIME} missing (apt-get install time)`);
  const loadAtStart = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-runsbench-'));
  try {
    const g0 = performance.now();
    writeAdeSet(path.join(dir, 'set'), N);
    const labels = path.join(dir, 'set', 'labels');
    const runs = Array.from({ length: R }, (_, k) => {
      const d = path.join(dir, `ckpt${k + 1}`);
      fs.mkdirSync(d);
      for (let i = 0; i < N; i++) {
        const from = path.join(dir, 'set', 'pred', `img${String((i + k) % N).padStart(4, '0')}_logits.npy`);
        fs.linkSync(from, path.join(d, `img${String(i).padStart(4, '0')}_logits.npy`));
      }
      return d;
    });
    log(`generated ${N} pairs [150, 256, 256] float16 + PNG, ${R} checkpoints of hard links, in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
    timed(['eval', runs[0], labels, '--ignore-index', '255', '--json']);
    const rounds: Array<{ runs: number; evals: number; runsCpu: number; evalsCpu: number; runsRss: number; evalRss: number }> = [];
    let same = true;
    for (let r = 0; r < ROUNDS; r++) {
      const a = timed(['runs', labels, ...runs, '--ignore-index', '255', '--json']);
      const evals = runs.map((d) => timed(['eval', d, labels, '--ignore-index', '255', '--json']));
      const report = JSON.parse(a.out) as { runs: Array<{ value: number }> };
      same &&= evals.every((e, k) => (JSON.parse(e.out) as { value: number }).value === report.runs[k].value);
      const evalS = evals.reduce((t, e) => t + e.s, 0);
      const evalCpu = evals.reduce((t, e) => t + e.cpu, 0);
      const evalRss = Math.max(...evals.map((e) => e.rssMB));
      rounds.push({ runs: a.s, evals: evalS, runsCpu: a.cpu, evalsCpu: evalCpu, runsRss: a.rssMB, evalRss });
      log(`round ${r + 1}: runs ${a.s.toFixed(2)} s (CPU ${a.cpu.toFixed(1)} s, peak RSS ${a.rssMB.toFixed(0)} MB), ${R} evals ${evalS.toFixed(2)} s (CPU ${evalCpu.toFixed(1)} s, largest peak RSS ${evalRss.toFixed(0)} MB): ${(a.s / evalS).toFixed(3)}x wall, ${(a.cpu / evalCpu).toFixed(3)}x CPU; load ${os.loadavg()[0].toFixed(1)}`);
    }
    const runsS = median(rounds.map((x) => x.runs));
    const evalsS = median(rounds.map((x) => x.evals));
    const runsCpu = median(rounds.map((x) => x.runsCpu));
    const evalsCpu = median(rounds.map((x) => x.evalsCpu));
    const result = {
      n: N, runs: R, rounds: ROUNDS, runs_s: runsS, evals_s: evalsS, ratio: runsS / evalsS,
      runs_cpu_s: runsCpu, evals_cpu_s: evalsCpu, cpuRatio: runsCpu / evalsCpu,
      runsPeakRssMB: Math.max(...rounds.map((x) => x.runsRss)), evalPeakRssMB: Math.max(...rounds.map((x) => x.evalRss)),
      sameValues: same, loadAverage: os.loadavg(), loadWarning: warnIfLoaded(loadAtStart),
    };
    if (asJson) console.log(JSON.stringify(result));
    else {
      log(`N = ${N}, ${R} runs: runs ${runsS.toFixed(2)} s vs ${R} evals ${evalsS.toFixed(2)} s (${result.ratio.toFixed(3)}x; goal <= 1.1), CPU ${runsCpu.toFixed(1)} s vs ${evalsCpu.toFixed(1)} s (${result.cpuRatio.toFixed(3)}x); peak RSS ${result.runsPeakRssMB.toFixed(0)} MB (goal <= 600) vs ${result.evalPeakRssMB.toFixed(0)} MB`);
      log(`each run's value equal to its eval's: ${same}`);
      log(`load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')} (a shared machine: compare within one run)`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
