// Large class counts for bench/bench.ts (issue 13's goals): [50000, 1000], [4096, 50257] and class-last
// [4, 512, 32000] with -100 padding, float32 logits and int64 targets in .npy files:
// - engine time at 1 and 2 workers, the input resident in the engine's memory (read by an earlier
//   request; the engines keep any size here, the product keeps up to 512 MiB), reduction none plus the
//   per-class statistics, against PyTorch's F.cross_entropy kernel (reduction none) at 1 and 2 threads on
//   the same data, alternating round by round in one persistent Python child;
// - the CLI end to end (`node dist/cli.js X T [--class-dim -1]`, mean and the report) against a Python
//   script that loads both files with numpy and prints F.cross_entropy's mean, alternating; the CLI's
//   peak RSS (/usr/bin/time's %M for the CLI process: its own high-water mark) against the input's size;
// - a class-last float16 file over the in-memory budget, [16, 2048, 32000] (2 GiB), through the CLI:
//   peak RSS and time.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeNpyHeader } from '../src/tensor/binary/npy';
import { Engine } from '../src/worker/engine/engine';
import { xorshift } from './random';
import { TorchChild } from './torchChild';

const PY = '/usr/bin/python3';
const TIME = '/usr/bin/time';
const IGNORE = -100;

export interface LargeCaseResult {
  shape: number[];
  classLast: boolean;
  target: string;
  inputMB: number;
  ours: { workers1_s: number; workers2_s: number };
  /** PyTorch as called (fresh pages for its intermediates every call, see bench/torchChild.ts). */
  torch: { threads1_s: number | null; threads2_s: number | null };
  medianRoundRatio: { workers1: number | null; workers2: number | null };
  /** PyTorch with its allocator reusing pages. */
  torchWarm: { threads1_s: number | null; threads2_s: number | null };
  medianRoundRatioWarm: { workers1: number | null; workers2: number | null };
  endToEnd: { cli_s: number; torchScript_s: number | null; ratio: number | null; cliPeakRssMB: number | null; rssOverInputMB: number | null };
}

export interface StreamedResult {
  shape: number[];
  dtype: 'float16';
  inputMB: number;
  cli_s: number;
  cliPeakRssMB: number | null;
  streamed: boolean | null;
}

/** Writes a .npy in chunks from a generator of chunk contents (no whole copy of a large tensor in memory). */
function writeNpyChunks(file: string, dtype: 'float32' | 'float16' | 'int64', shape: number[], chunks: Iterable<Uint8Array>): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, encodeNpyHeader(dtype, shape));
    for (const c of chunks) fs.writeSync(fd, c);
  } finally {
    fs.closeSync(fd);
  }
}

function* randomF32(n: number, rnd: () => number): Generator<Uint8Array> {
  const CH = 1 << 22;
  const buf = new Float32Array(CH);
  for (let done = 0; done < n; done += CH) {
    const m = Math.min(CH, n - done);
    for (let i = 0; i < m; i++) buf[i] = (rnd() - 0.5) * 8;
    yield new Uint8Array(buf.buffer, 0, m * 4);
  }
}

/** Class indices, row r of T positions per sequence: -100 after the sequence's length when `lengths`. */
function targets(rows: number, C: number, rnd: () => number, T = 0, lengths: number[] = []): Uint8Array {
  const t = new BigInt64Array(rows);
  for (let i = 0; i < rows; i++) {
    const padded = T > 0 && i % T >= lengths[Math.floor(i / T) % lengths.length];
    t[i] = BigInt(padded ? IGNORE : Math.floor(rnd() * C));
  }
  return new Uint8Array(t.buffer);
}

/** The child's wall time and its own peak RSS in MB (via /usr/bin/time: not the forking parent's size). */
function timed(cmd: string, args: string[]): { s: number; rssMB: number | null; out: string; ok: boolean } {
  const haveTime = fs.existsSync(TIME);
  const t0 = performance.now();
  const r = haveTime
    ? spawnSync(TIME, ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const s = (performance.now() - t0) / 1000;
  const kb = haveTime ? Number(/(\d+)\s*$/.exec(r.stderr ?? '')?.[1]) : NaN;
  return { s, rssMB: Number.isFinite(kb) ? kb / 1024 : null, out: (r.stdout ?? '') + (r.stderr ?? ''), ok: r.status === 0 };
}

const median = (v: number[]): number | null => (v.length ? [...v].sort((p, q) => p - q)[v.length >> 1] : null);

export async function measureLargeC(distDir: string, dir: string, rounds: number, log: (s: string) => void): Promise<LargeCaseResult[]> {
  const rnd = xorshift(777);
  const cases: Array<{ shape: number[]; classLast: boolean }> = [
    { shape: [50000, 1000], classLast: false },
    { shape: [4096, 50257], classLast: false },
    { shape: [4, 512, 32000], classLast: true },
  ];
  const results: LargeCaseResult[] = [];
  const cli = path.join(distDir, 'cli.js');
  for (const { shape, classLast } of cases) {
    const C = shape[shape.length - 1];
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const xf = path.join(dir, 'xl.npy');
    const tf = path.join(dir, 'tl.npy');
    const T = classLast ? shape[1] : 0;
    // Class-last: sequences of 512, 448, 384 and 320 tokens, padded with -100 to 512.
    const lengths = classLast ? [512, 448, 384, 320] : [];
    writeNpyChunks(xf, 'float32', shape, randomF32(rows * C, rnd));
    writeNpyChunks(tf, 'int64', shape.slice(0, -1), [targets(rows, C, rnd, T, lengths)]);
    const inputMB = fs.statSync(xf).size / 2 ** 20;
    const options = { ignoreIndex: IGNORE, reduction: 'none' as const, ...(classLast ? { classDim: -1 } : {}) };
    const req = { input: { kind: 'file' as const, path: xf }, target: { kind: 'file' as const, path: tf }, options };
    const torch = new TorchChild(dir, IGNORE, { x: 'xl.npy', t: 'tl.npy', classLast });
    const torchWarm = new TorchChild(dir, IGNORE, { x: 'xl.npy', t: 'tl.npy', classLast, warmAllocator: true });
    const haveTorch = (await torch.ready()) && (await torchWarm.ready());
    const ours = { workers1_s: Infinity, workers2_s: Infinity };
    const torchBest = { threads1_s: Infinity, threads2_s: Infinity };
    const ratios: Record<'workers1' | 'workers2', number[]> = { workers1: [], workers2: [] };
    const warmBest = { threads1_s: Infinity, threads2_s: Infinity };
    const warmRatios: Record<'workers1' | 'workers2', number[]> = { workers1: [], workers2: [] };
    for (const w of [1, 2] as const) {
      // One engine at a time, so that only one copy of the input is resident next to PyTorch's.
      const e = new Engine({ distDir, maxWorkers: w, keepMemoryBytes: 4 * 2 ** 30 });
      try {
        await e.compute(req); // start the workers, read the files
        for (let r = 0; r < rounds; r++) {
          const t0 = performance.now();
          const res = await e.compute(req);
          const a = (performance.now() - t0) / 1000;
          if (!res.reusedInput) throw new Error('the input was read again');
          ours[`workers${w}_s`] = Math.min(ours[`workers${w}_s`], a);
          if (!haveTorch) continue;
          const b = await torch.time(w);
          torchBest[`threads${w}_s`] = Math.min(torchBest[`threads${w}_s`], b);
          ratios[`workers${w}`].push(a / b);
          const c = await torchWarm.time(w);
          warmBest[`threads${w}_s`] = Math.min(warmBest[`threads${w}_s`], c);
          warmRatios[`workers${w}`].push(a / c);
        }
      } finally {
        await e.dispose();
      }
    }
    torch.close();
    torchWarm.close();

    // End to end, alternating: the CLI (mean, text report) and a Python script doing the same.
    const cliArgs = [cli, xf, tf, ...(classLast ? ['--class-dim', '-1'] : [])];
    const flat = classLast ? 'x = x.reshape(-1, x.shape[-1]); t = t.reshape(-1)\n' : '';
    const script = `import numpy as np, torch, torch.nn.functional as F\nx = torch.from_numpy(np.load('${xf}')); t = torch.from_numpy(np.load('${tf}'))\n${flat}print(F.cross_entropy(x, t, ignore_index=${IGNORE}).item())\n`;
    let cli_s = Infinity;
    let rss: number | null = null;
    let script_s: number | null = null;
    for (let r = 0; r < 3; r++) {
      const c = timed(process.execPath, cliArgs);
      if (!c.ok) throw new Error(`CLI failed on ${JSON.stringify(shape)}: ${c.out.slice(-500)}`);
      cli_s = Math.min(cli_s, c.s);
      if (c.rssMB !== null) rss = Math.max(rss ?? 0, c.rssMB);
      if (!haveTorch) continue;
      const p = timed(PY, ['-c', script]);
      if (p.ok) script_s = Math.min(script_s ?? Infinity, p.s);
    }
    fs.rmSync(xf, { force: true });
    fs.rmSync(tf, { force: true });
    const t1 = haveTorch ? torchBest.threads1_s : null;
    const t2 = haveTorch ? torchBest.threads2_s : null;
    const res: LargeCaseResult = {
      shape, classLast, target: classLast ? 'int64, sequences padded with -100 (512, 448, 384, 320 of 512 tokens)' : 'int64', inputMB,
      ours, torch: { threads1_s: t1, threads2_s: t2 }, medianRoundRatio: { workers1: median(ratios.workers1), workers2: median(ratios.workers2) },
      torchWarm: haveTorch ? warmBest : { threads1_s: null, threads2_s: null },
      medianRoundRatioWarm: { workers1: median(warmRatios.workers1), workers2: median(warmRatios.workers2) },
      endToEnd: { cli_s, torchScript_s: script_s, ratio: script_s ? cli_s / script_s : null, cliPeakRssMB: rss, rssOverInputMB: rss === null ? null : rss - inputMB },
    };
    results.push(res);
    const f = (v: number | null): string => (v === null ? '   -   ' : `${v.toFixed(3)} s`);
    const x = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
    log(`F.cross_entropy ${JSON.stringify(shape).replace(/,/g, ', ')} float32${classLast ? ' class-last, -100 padding' : ''} (${inputMB.toFixed(0)} MB), reduction none + per-class stats for ours`);
    log(`  ours 1 worker  ${f(ours.workers1_s)} vs PyTorch 1 thread  ${f(t1)}: ${x(t1 && ours.workers1_s / t1)} (median of ${rounds} rounds ${x(res.medianRoundRatio.workers1)})`);
    log(`  ours 2 workers ${f(ours.workers2_s)} vs PyTorch 2 threads ${f(t2)}: ${x(t2 && ours.workers2_s / t2)} (median ${x(res.medianRoundRatio.workers2)})`);
    const w1 = res.torchWarm.threads1_s;
    const w2 = res.torchWarm.threads2_s;
    log(`  PyTorch warm (pages reused) 1 / 2 threads ${f(w1)} / ${f(w2)}: ours at ${x(w1 && ours.workers1_s / w1)} / ${x(w2 && ours.workers2_s / w2)} (medians ${x(res.medianRoundRatioWarm.workers1)} / ${x(res.medianRoundRatioWarm.workers2)})`);
    log(`  CLI end to end ${f(cli_s)} vs Python + PyTorch script ${f(script_s)}: ${x(res.endToEnd.ratio)}; CLI peak RSS ${rss === null ? '-' : rss.toFixed(0)} MB (input ${inputMB.toFixed(0)} MB)`);
  }
  return results;
}

/** A class-last float16 file of 2 GiB, over the in-memory budget, through the CLI: peak RSS and time. */
export function measureStreamedClassLast(distDir: string, dir: string, log: (s: string) => void): StreamedResult {
  const shape = [16, 2048, 32000];
  const [B, T, V] = shape;
  const xf = path.join(dir, 'xs.npy');
  const tf = path.join(dir, 'ts.npy');
  const rnd = xorshift(4242);
  // 64 MiB of random float16 logits in [-4, 4), written 32 times (real data, quick to set up).
  const unit = new Uint16Array(1 << 25);
  for (let i = 0; i < unit.length; i++) {
    const v = (rnd() - 0.5) * 8;
    // float16 bits of v (round toward zero is fine for benchmark data).
    const a = Math.abs(v);
    const e = a < 2 ** -14 ? 0 : Math.floor(Math.log2(a));
    unit[i] = (v < 0 ? 0x8000 : 0) | (a < 2 ** -14 ? 0 : ((e + 15) << 10) | Math.floor((a / 2 ** e - 1) * 1024));
  }
  const total = B * T * V;
  function* chunks(): Generator<Uint8Array> {
    for (let done = 0; done < total; done += unit.length) yield new Uint8Array(unit.buffer, 0, Math.min(unit.length, total - done) * 2);
  }
  writeNpyChunks(xf, 'float16', shape, chunks());
  const lengths = [2048, 1800, 1500, 1024];
  writeNpyChunks(tf, 'int64', [B, T], [targets(B * T, V, rnd, T, lengths)]);
  const inputMB = fs.statSync(xf).size / 2 ** 20;
  let cli_s = Infinity;
  let rss: number | null = null;
  let streamed: boolean | null = null;
  try {
    for (let r = 0; r < 2; r++) {
      const c = timed(process.execPath, [path.join(distDir, 'cli.js'), xf, tf, '--class-dim', '-1', '--json', '--top-k', '5']);
      if (!c.ok) throw new Error(`CLI failed on the streamed case: ${c.out.slice(-500)}`);
      cli_s = Math.min(cli_s, c.s);
      if (c.rssMB !== null) rss = Math.max(rss ?? 0, c.rssMB);
      const m = /"streamed":(true|false)/.exec(c.out);
      streamed = m ? m[1] === 'true' : null;
    }
  } finally {
    fs.rmSync(xf, { force: true });
    fs.rmSync(tf, { force: true });
  }
  log(`streamed class-last [16, 2048, 32000] float16 (${inputMB.toFixed(0)} MB) through the CLI: ${cli_s.toFixed(2)} s, peak RSS ${rss === null ? '-' : rss.toFixed(0)} MB (goal < 600 MB)${streamed ? '' : ' (not streamed!)'}`);
  return { shape, dtype: 'float16', inputMB, cli_s, cliPeakRssMB: rss, streamed };
}
