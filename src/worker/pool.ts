// A pool of worker_threads running dist/worker.js: started lazily up to `size`, kept warm between
// requests, replaced when one dies. One message in flight per worker; callers queue behind busy ones.
import { Worker } from 'node:worker_threads';
import { LensError } from '../errors';
import type { WorkerRequest, WorkerResponse } from '../protocol';

interface Slot {
  readonly index: number;
  worker: Worker;
  busy: boolean;
  /** The wasm memory generation this worker has been initialised with. */
  generation: number;
  pending: { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void } | null;
}

export interface WasmInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly generation: number;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiters: Array<{ resolve: (slot: Slot) => void; reject: (e: Error) => void }> = [];
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
    const slot: Slot = { index, worker: this.newWorker(), busy: false, generation: -1, pending: null };
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
      const p = slot.pending;
      slot.pending = null;
      p?.resolve(msg);
    });
    const fail = (err: Error): void => {
      const p = slot.pending;
      slot.pending = null;
      // A dead worker is replaced at once, so the next request finds a healthy pool.
      if (!this.disposed) {
        slot.worker.removeAllListeners();
        slot.worker = this.newWorker();
        slot.generation = -1;
        this.attach(slot);
      }
      p?.reject(err);
    };
    w.on('error', (e) => fail(new LensError('io', `a compute worker failed: ${e.message.split('\n')[0]}`)));
    w.on('exit', (code) => {
      if (slot.worker === w && !this.disposed) fail(new LensError('io', `a compute worker stopped unexpectedly (exit code ${code}) — it may have run out of memory`));
    });
  }

  private acquire(): Promise<Slot> {
    if (this.disposed) return Promise.reject(new LensError('cancelled', 'the compute engine was shut down'));
    const idle = this.slots.find((s) => !s.busy);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (this.slots.length < this.size) {
      const s = this.spawn(this.slots.length);
      this.slots.push(s);
      s.busy = true;
      return Promise.resolve(s);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(slot: Slot): void {
    const next = this.waiters.shift();
    if (next) next.resolve(slot);
    else slot.busy = false;
  }

  /**
   * Runs one message on a free worker. `make` builds the message for the worker it lands on (its index
   * selects per-worker scratch regions); `init` is sent first to a worker that has not seen that memory.
   * Aborting `signal` stops this job's worker only (it is replaced, as after a crash) and rejects; a job
   * still waiting for a worker is never sent. `transfer` lists buffers of the message handed over, not
   * copied (they are unusable here afterwards).
   */
  async run(make: (workerIndex: number) => WorkerRequest, init?: WasmInit, signal?: AbortSignal, transfer: readonly ArrayBuffer[] = []): Promise<WorkerResponse> {
    const slot = await this.acquire();
    try {
      if (signal?.aborted) throw new LensError('cancelled', 'computation cancelled');
      return await new Promise<WorkerResponse>((resolve, reject) => {
        slot.pending = { resolve, reject };
        if (signal) {
          const w = slot.worker;
          const stop = (): void => void w.terminate();
          signal.addEventListener('abort', stop, { once: true });
          const done = (): void => signal.removeEventListener('abort', stop);
          slot.pending = { resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) };
        }
        if (init && slot.generation !== init.generation) {
          slot.worker.postMessage({ kind: 'init-wasm', module: init.module, memory: init.memory, generation: init.generation } satisfies WorkerRequest);
          slot.generation = init.generation;
        }
        slot.worker.postMessage(make(slot.index), transfer as ArrayBuffer[]);
      });
    } finally {
      this.release(slot);
    }
  }

  /** Stops every busy worker now (cancellation of long work); they are replaced on their exit. */
  async terminateBusy(): Promise<void> {
    const busy = this.slots.filter((s) => s.pending);
    await Promise.all(busy.map((s) => s.worker.terminate()));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const w of this.waiters.splice(0)) w.reject(new LensError('cancelled', 'the compute engine was shut down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const s of this.slots) s.pending?.reject(new LensError('cancelled', 'the compute engine was shut down'));
    this.slots.length = 0;
  }
}
