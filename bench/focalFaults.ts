// tsx bench/focalFaults.ts [--reps R]: where the page faults of torchvision's sigmoid focal loss land (Linux
// only). The segmentation case of bench/focalCase.ts ([8, 21, 512, 512] float32 logits, one-hot float
// targets, reduction none, 2 workers, tensors in memory); for each rep after a warm-up: the Engine's time,
// and each thread's minor faults and CPU time over the compute (/proc/self/task/*/stat), the main thread
// apart from the others (the pool's workers and V8's helpers), with their user and system CPU time; then the
// resident set and its peak.
// Cross-entropy on the same logits is timed in the same run for comparison.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine, type EngineRequest } from '../src/worker/engine/engine';
import { focalTensors } from './focalCase';

const ROOT = path.resolve(__dirname, '..');
const DIST = process.env.CROSS_ENTROPY_LENS_DIST ?? path.join(ROOT, 'dist');
const repsAt = process.argv.indexOf('--reps');
const REPS = repsAt >= 0 ? Number(process.argv[repsAt + 1]) : 3;
const TICK_S = 0.01; // USER_HZ is 100 on Linux

interface ThreadCounters {
  readonly name: string;
  readonly minflt: number;
  readonly utime: number;
  readonly stime: number;
}

function threads(): Map<number, ThreadCounters> {
  const out = new Map<number, ThreadCounters>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const s = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const f = s.slice(close + 2).split(' ');
      // Fields from the state (3rd) on: minflt is the 10th, utime the 14th, stime the 15th.
      out.set(Number(tid), { name: s.slice(s.indexOf('(') + 1, close), minflt: Number(f[7]), utime: Number(f[11]) * TICK_S, stime: Number(f[12]) * TICK_S });
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

function rssMb(): number {
  return (Number(fs.readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096) / 2 ** 20;
}

async function main(): Promise<void> {
  const { input, target, floatTarget } = focalTensors();
  const cases: Array<[string, EngineRequest]> = [
    ['ce', { input: { kind: 'tensor', tensor: input }, target: { kind: 'tensor', tensor: target }, options: { ignoreIndex: 255, reduction: 'none' } }],
    ['sigmoid focal', { input: { kind: 'tensor', tensor: input }, target: { kind: 'tensor', tensor: floatTarget }, options: { loss: 'sigmoid-focal', gamma: 2, alpha: 0.25, reduction: 'none' } }],
  ];
  const engine = new Engine({ distDir: DIST, maxWorkers: 2 });
  try {
    for (const [name, req] of cases) {
      await engine.compute(req);
      let best = Infinity;
      for (let k = 0; k < REPS; k++) {
        const before = threads();
        const rss0 = rssMb();
        const t0 = performance.now();
        const r = await engine.compute(req);
        const s = (performance.now() - t0) / 1000;
        const after = threads();
        best = Math.min(best, s);
        let main = { minflt: 0, utime: 0, stime: 0 };
        let rest = { minflt: 0, utime: 0, stime: 0 };
        const busy: string[] = [];
        for (const [tid, a] of after) {
          const b = before.get(tid) ?? { name: a.name, minflt: 0, utime: 0, stime: 0 };
          const d = { minflt: a.minflt - b.minflt, utime: a.utime - b.utime, stime: a.stime - b.stime };
          if (tid === process.pid) main = d;
          else {
            rest = { minflt: rest.minflt + d.minflt, utime: rest.utime + d.utime, stime: rest.stime + d.stime };
            if (d.minflt > 1000) busy.push(`#${tid} ${d.minflt} (${d.utime.toFixed(2)} s user, ${d.stime.toFixed(2)} s sys)`);
          }
        }
        const m = r.maps;
        const maps = m ? `${m.loss.constructor.name}/${m.predicted.constructor.name}/${m.targetClass.constructor.name}` : r.mapsOnDemand ? 'on demand' : 'none';
        console.log(`${name.padEnd(14)} ${s.toFixed(3)} s; faults: main ${main.minflt} (${main.utime.toFixed(2)} s user, ${main.stime.toFixed(2)} s sys), other threads ${rest.minflt} (${rest.utime.toFixed(2)} s user, ${rest.stime.toFixed(2)} s sys) [${busy.join(', ')}]; maps ${maps}; rss ${rss0.toFixed(0)} -> ${rssMb().toFixed(0)} MB`);
      }
      console.log(`${name.padEnd(14)} best ${best.toFixed(3)} s`);
    }
    console.log(`peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  } finally {
    await engine.dispose();
  }
}

void main();
