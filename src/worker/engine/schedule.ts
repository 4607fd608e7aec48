// Scheduling: running jobs on the worker pool in lanes (one job in flight per worker), cancellation,
// and progress. Jobs are collected by index, so partials merge in job order whatever worker ran them.
import { LensError } from '../../errors';
import type { StatsPartial } from '../../kernel/stats';
import type { WorkerRequest, WorkerResponse } from '../../protocol';
import type { WasmInit, WorkerPool } from './pool';

const PROGRESS_EVERY_MS = 100;

export function cancelled(): LensError {
  return new LensError('cancelled', 'computation cancelled');
}

export function unexpected(r: WorkerResponse): LensError {
  return new LensError('io', `unexpected worker reply ${r.kind}`);
}

/** Runs one message on any free worker; aborting stops that worker and rejects with 'cancelled'. */
export function runOne(getPool: () => WorkerPool, msg: WorkerRequest, signal: AbortSignal | undefined, transfer: readonly ArrayBuffer[] = []): Promise<WorkerResponse> {
  if (signal?.aborted) return Promise.reject(cancelled());
  const run = getPool().run(() => msg, undefined, signal, transfer);
  return new Promise<WorkerResponse>((resolve, reject) => {
    // Answer a cancel at once, also while the job still waits for a busy pool.
    const onAbort = (): void => reject(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    run.then(
      (r) => {
        signal?.removeEventListener('abort', onAbort);
        if (r.kind === 'error') reject(r.lensKind ? new LensError(r.lensKind as LensError['kind'], r.message) : new LensError('io', `internal error in a compute worker: ${r.message}`));
        else resolve(r);
      },
      (e: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        reject(signal?.aborted ? cancelled() : e);
      },
    );
  });
}

/** A job, optionally waiting for its data: the lane that takes it dispatches it once `ready` settles. */
export interface FastJob {
  readonly ready?: Promise<unknown>;
  readonly make: (worker: number) => WorkerRequest;
  /** Settled with the job: resolved when it is done, rejected when it fails or is never sent. */
  readonly settles?: Deferred;
}

export interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Observed here so that a rejection nobody waits for is not reported as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Runs jobs on the pool, collecting each job's partial by index. Stops dispatching on abort. General jobs
 * are long: one in flight per worker, and their workers are terminated when `terminateOnAbort`. Otherwise
 * jobs are a few milliseconds and let finish: two lanes per worker keep one waiting in its queue
 * (WorkerPool.runQueued), so it never idles between them.
 */
export async function runJobs(
  pool: WorkerPool,
  jobs: ReadonlyArray<((worker: number) => WorkerRequest) | FastJob>,
  init: WasmInit | undefined,
  signal: AbortSignal | undefined,
  onDone: (index: number) => void,
  onOther: (r: WorkerResponse) => Error | null,
  terminateOnAbort = false,
  drain?: (settled: Promise<unknown>) => void,
): Promise<StatsPartial[]> {
  const results = new Array<StatsPartial>(jobs.length);
  const finished: Array<Promise<void>> = [];
  let next = 0;
  let failure: Error | null = null;
  let aborted = false;
  // Cancellation answers at once; jobs already on a worker finish in the background (a few ms each) and
  // `drain` lets the caller wait for them before reusing the memory they write.
  let wakeOnAbort: () => void = () => undefined;
  const abortedNow = new Promise<void>((resolve) => (wakeOnAbort = resolve));
  const onAbort = (): void => {
    aborted = true;
    if (terminateOnAbort) void pool.terminateBusy();
    wakeOnAbort();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) {
    aborted = true;
    wakeOnAbort();
  }
  const lanesPerWorker = terminateOnAbort ? 1 : 2;
  const dispatch = (make: (worker: number) => WorkerRequest): Promise<WorkerResponse> =>
    terminateOnAbort ? pool.run(make, init) : pool.runQueued(make, init);
  const lane = async (): Promise<void> => {
    while (next < jobs.length && !failure && !aborted) {
      const i = next++;
      const job = jobs[i];
      let r: WorkerResponse;
      // A job taken but never sent settles too: lanes and reads may be waiting on it.
      const drop = (e: unknown): void => {
        if (typeof job !== 'function') job.settles?.reject(e);
      };
      try {
        if (typeof job === 'function') r = await dispatch(job);
        else {
          if (job.ready) await job.ready;
          if (aborted || failure) {
            drop(failure ?? cancelled());
            return;
          }
          r = await dispatch(job.make);
        }
      } catch (e) {
        failure ??= e as Error;
        drop(e);
        return;
      }
      if (typeof job !== 'function') {
        if (r.kind === 'done') job.settles?.resolve();
        else job.settles?.reject(new Error(`job ${i} failed`));
      }
      if (r.kind === 'done') {
        results[i] = r.stats;
        // After this lane has sent its next job: the worker computes while the host copies maps out.
        finished.push(new Promise<void>((resolve) => setImmediate(() => {
          try {
            onDone(i);
          } catch (e) {
            failure ??= e as Error;
          }
          resolve();
        })));
      } else if (r.kind === 'error') {
        failure ??= r.lensKind ? new LensError(r.lensKind as LensError['kind'], r.message) : new LensError('io', `internal error in a compute worker: ${r.message}`);
      } else {
        failure ??= onOther(r) ?? new LensError('io', `unexpected worker reply ${r.kind}`);
      }
    }
  };
  const all = Promise.all(Array.from({ length: Math.min(lanesPerWorker * pool.size, jobs.length) }, lane));
  try {
    await Promise.race([all, abortedNow]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (aborted) drain?.(all.catch(() => undefined));
  if (aborted) throw cancelled();
  await Promise.all(finished);
  if (failure) throw failure;
  return results;
}

/**
 * Progress as a fraction of work units, reported at most every PROGRESS_EVERY_MS as units complete, and
 * at least every 2 * PROGRESS_EVERY_MS while work is under way (a slow disk read still shows life).
 */
export class Progress {
  private done = 0;
  private last = 0;
  private readonly timer: ReturnType<typeof setInterval> | null;
  constructor(
    private readonly report: ((f: number) => void) | undefined,
    private readonly total: number,
  ) {
    this.timer = report ? setInterval(() => this.emitIfStale(), PROGRESS_EVERY_MS) : null;
    this.timer?.unref();
    this.emit();
  }
  private emit(): void {
    this.last = Date.now();
    // Nothing to do (an empty input) is all done.
    this.report?.(this.total > 0 ? Math.min(1, this.done / this.total) : 1);
  }
  private emitIfStale(): void {
    if (Date.now() - this.last >= PROGRESS_EVERY_MS) this.emit();
  }
  add(units: number): void {
    this.done += units;
    if (Date.now() - this.last >= PROGRESS_EVERY_MS || this.done >= this.total) this.emit();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
