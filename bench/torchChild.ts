// PyTorch (/usr/bin/python3, Debian's python3-torch) in a child process that times one F.cross_entropy per
// request, so the benchmarks can alternate it with our own runs: this machine's speed drifts by tens of
// percent from one second to the next, and timing the two far apart would compare the drift.
//
// Two ways to run it. As called (the default): F.cross_entropy allocates its float32 log-softmax (as large
// as the input) and its output afresh every call, glibc maps allocations above 32 MiB straight from the
// kernel, and the first touch of each new page is a page fault. Warm (`warmAllocator`): glibc told never
// to map (MALLOC_MMAP_MAX_=0) nor to give memory back (MALLOC_TRIM_THRESHOLD_), so from the second call on
// PyTorch reuses the pages of the first, as our engine reuses its working memory. On a machine where a
// page fault costs ~0.2 us the two differ little; on a VM where it costs 10 us (bench.ts measures it)
// most of the as-called time is page faults, and only the warm figure says how fast PyTorch computes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export class TorchChild {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private readonly waiting: Array<(line: string) => void> = [];
  // Lines that came before anyone asked for them: a second child's 'ready' arrives while the bench still
  // awaits the first's, and dropping it left the bench waiting forever.
  private readonly early: string[] = [];
  private exited = false;
  err = '';

  /**
   * x.npy and t.npy in dir (or the files named in `files`); ref writes ref.npy there (the float64 loss).
   * `classLast`: the input's last axis holds the classes ([B, T, V]), given to PyTorch as rows [B*T, V]
   * (what language-model code does; F.cross_entropy wants the classes on axis 1).
   */
  constructor(dir: string, ignoreIndex: number, files: { x?: string; t?: string; classLast?: boolean; warmAllocator?: boolean } = {}) {
    const flat = files.classLast ? '\nx = x.reshape(-1, x.shape[-1]); t = t.reshape(-1)' : '';
    const py = `
import sys, time, numpy as np, torch, torch.nn.functional as F
x = torch.from_numpy(np.load('${dir}/${files.x ?? 'x.npy'}')); t = torch.from_numpy(np.load('${dir}/${files.t ?? 't.npy'}'))${flat}
print('ready', flush=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd and cmd[0] == 'time':
        torch.set_num_threads(int(cmd[1]))
        t0 = time.perf_counter(); l = F.cross_entropy(x, t, ignore_index=${ignoreIndex}, reduction='none'); dt = time.perf_counter() - t0
        print(dt, flush=True)
    elif cmd and cmd[0] == 'ref':
        np.save('${dir}/ref.npy', F.cross_entropy(x.double(), t, ignore_index=${ignoreIndex}, reduction='none').numpy())
        print('saved', flush=True)
    else:
        break
`;
    const env = files.warmAllocator ? { ...process.env, MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: String(2 ** 50) } : process.env;
    this.proc = spawn('/usr/bin/python3', ['-c', py], { env });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiting.shift();
        if (w) w(line);
        else this.early.push(line);
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => (this.err += d));
    this.proc.on('error', (e) => (this.err += String(e)));
    this.proc.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w('');
    });
  }

  private next(): Promise<string> {
    const line = this.early.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.resolve('');
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Whether PyTorch loaded the data (false: no python3 with torch and numpy). */
  async ready(): Promise<boolean> {
    return (await this.next()) === 'ready';
  }

  /** Seconds for one F.cross_entropy on `threads` threads, timed inside Python. */
  async time(threads: number): Promise<number> {
    const v = Number(await this.send(`time ${threads}`));
    if (!Number.isFinite(v)) throw new Error(`PyTorch timing failed: ${this.err.split('\n').filter(Boolean).pop() ?? 'no answer'}`);
    return v;
  }

  /** Writes ref.npy: PyTorch's loss in float64. */
  async reference(): Promise<void> {
    if ((await this.send('ref')) !== 'saved') throw new Error(`PyTorch reference failed: ${this.err}`);
  }

  private send(cmd: string): Promise<string> {
    const p = this.next();
    this.proc.stdin.write(`${cmd}\n`);
    return p;
  }

  close(): void {
    this.proc.stdin.end('quit\n');
  }
}
