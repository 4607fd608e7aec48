// A pool of worker_threads running dist/worker.js: started lazily up to `size`, kept warm between
// requests, replaced when one dies. One message in flight per worker, callers waiting behind busy ones;
// a batch of short jobs (runQueued) may put a second one in a worker's queue, so that the worker starts
// it the moment the first ends instead of idling a message round trip (~0.4 ms a job, 10% of a 16-job
// request at 3 ms a job).
import { Worker } from 'node:worker_threads';
import { LensError } from '../../errors';
import type { WorkerRequest, WorkerResponse } from '../../protocol';

interface Pending {
  readonly resolve: (r: WorkerResponse) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly index: number;
  worker: Worker;
  /** Messages sent to the worker and not yet answered, oldest first (a worker answers in order). */
  readonly pending: Pending[];
  /** Taken by callers: at most one, or two when both are runQueued's (it can be taken before it is sent). */
  taken: number;
  /** Whether a taker is a plain run, whose cancellation stops the worker: nothing may queue behind it. */
  exclusive: boolean;
  /** The wasm memory generation this worker has been initialised with. */
  generation: number;
}

/** How many messages one caller kind may have on a worker at once. */
const PLAIN = 1;
const QUEUED = 2;

export interface WasmInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly generation: number;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiters: Array<{ depth: number; resolve: (slot: Slot) => void; reject: (e: Error) => void }> = [];
  private disposed = false;

  constructor(
    private readonly workerFile: string,
    readonly size: number,
    /** Heap limit per worker; tensors live in shared buffers outside the heap. */
    private readonly heapMb = 4096,
  ) {
    if (!(size >= 1)) throw new LensError('option', `maxWorkers must be at least 1, got ${size}`);
  }

  /** Workers started so far (for tests and diagnostics). */
  get started(): number {
    return this.slots.length;
  }

  private spawn(index: number): Slot {
    const slot: Slot = { index, worker: this.newWorker(), pending: [], taken: 0, exclusive: false, generation: -1 };
    this.attach(slot);
    return slot;
  }

  private newWorker(): Worker {
    return new Worker(this.workerFile, { resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
  }

  private attach(slot: Slot): void {
    const w = slot.worker;
    w.on('message', (msg: WorkerResponse) => {
      if (msg.kind === 'ready') return;
      slot.pending.shift()?.resolve(msg);
    });
    const fail = (err: Error): void => {
      const lost = slot.pending.splice(0);
      // A dead worker is replaced at once, so the next request finds a healthy pool.
      if (!this.disposed) {
        slot.worker.removeAllListeners();
        slot.worker = this.newWorker();
        slot.generation = -1;
        this.attach(slot);
      }
      for (const p of lost) p.reject(err);
    };
    w.on('error', (e) => fail(new LensError('io', `a compute worker failed: ${e.message.split('\n')[0]}`)));
    w.on('exit', (code) => {
      if (slot.worker === w && !this.disposed) fail(new LensError('io', `a compute worker stopped unexpectedly (exit code ${code}) — it may have run out of memory`));
    });
  }

  /** Whether a caller allowed `depth` messages on a worker may take this slot now. */
  private fits(slot: Slot, depth: number): boolean {
    return slot.taken === 0 || (slot.taken < depth && !slot.exclusive);
  }

  private take(slot: Slot, depth: number): Slot {
    slot.taken++;
    slot.exclusive ||= depth === PLAIN;
    return slot;
  }

  private acquire(depth: number): Promise<Slot> {
    if (this.disposed) return Promise.reject(new LensError('cancelled', 'the compute engine was shut down'));
    // Callers are served in order: with anyone waiting, a newcomer waits behind them. Otherwise an idle
    // worker first, then a new one, and only then a place in a busy worker's queue.
    if (this.waiters.length === 0) {
      const idle = this.slots.find((s) => s.taken === 0);
      if (idle) return Promise.resolve(this.take(idle, depth));
      if (this.slots.length < this.size) {
        const s = this.spawn(this.slots.length);
        this.slots.push(s);
        return Promise.resolve(this.take(s, depth));
      }
      const queue = this.slots.find((s) => this.fits(s, depth));
      if (queue) return Promise.resolve(this.take(queue, depth));
    }
    return new Promise((resolve, reject) => this.waiters.push({ depth, resolve, reject }));
  }

  private release(slot: Slot): void {
    slot.taken--;
    if (slot.taken === 0) slot.exclusive = false;
    // In order: a plain run at the head waits for the worker to be idle, and the batch's jobs behind it wait
    // too (a hover's job waits for at most the two jobs a worker holds, not for the end of a long batch).
    while (this.waiters.length > 0 && this.fits(slot, this.waiters[0].depth)) {
      const w = this.waiters.shift()!;
      w.resolve(this.take(slot, w.depth));
    }
  }

  /**
   * Runs one message on a free worker. `make` builds the message for the worker it lands on (its index
   * selects per-worker scratch regions); `init` is sent first to a worker that has not seen that memory.
   * Aborting `signal` stops this job's worker only (it is replaced, as after a crash) and rejects; a job
   * still waiting for a worker is never sent. `transfer` lists buffers of the message handed over, not
   * copied (they are unusable here afterwards).
   */
  async run(make: (workerIndex: number) => WorkerRequest, init?: WasmInit, signal?: AbortSignal, transfer: readonly ArrayBuffer[] = []): Promise<WorkerResponse> {
    const slot = await this.acquire(PLAIN);
    try {
      if (signal?.aborted) throw new LensError('cancelled', 'computation cancelled');
      return await new Promise<WorkerResponse>((resolve, reject) => {
        let pending: Pending = { resolve, reject };
        if (signal) {
          const w = slot.worker;
          const stop = (): void => void w.terminate();
          signal.addEventListener('abort', stop, { once: true });
          const done = (): void => signal.removeEventListener('abort', stop);
          pending = { resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) };
        }
        this.send(slot, pending, make, init, transfer);
      });
    } finally {
      this.release(slot);
    }
  }

  /**
   * run() for one of a batch of short jobs that are not cancelled one by one (a cancelled batch lets its
   * sent jobs finish): it may wait in a busy worker's queue behind another such job, never behind a plain
   * run, whose cancellation stops the worker.
   */
  async runQueued(make: (workerIndex: number) => WorkerRequest, init?: WasmInit): Promise<WorkerResponse> {
    const slot = await this.acquire(QUEUED);
    try {
      return await new Promise<WorkerResponse>((resolve, reject) => this.send(slot, { resolve, reject }, make, init, []));
    } finally {
      this.release(slot);
    }
  }

  private send(slot: Slot, pending: Pending, make: (workerIndex: number) => WorkerRequest, init: WasmInit | undefined, transfer: readonly ArrayBuffer[]): void {
    slot.pending.push(pending);
    if (init && slot.generation !== init.generation) {
      slot.worker.postMessage({ kind: 'init-wasm', module: init.module, memory: init.memory, generation: init.generation } satisfies WorkerRequest);
      slot.generation = init.generation;
    }
    slot.worker.postMessage(make(slot.index), transfer as ArrayBuffer[]);
  }

  /** Stops every busy worker now (cancellation of long work); they are replaced on their exit. */
  async terminateBusy(): Promise<void> {
    const busy = this.slots.filter((s) => s.pending.length > 0);
    await Promise.all(busy.map((s) => s.worker.terminate()));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const w of this.waiters.splice(0)) w.reject(new LensError('cancelled', 'the compute engine was shut down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const s of this.slots) for (const p of s.pending.splice(0)) p.reject(new LensError('cancelled', 'the compute engine was shut down'));
    this.slots.length = 0;
  }
}
