// WorkerPool's queue: a batch of short jobs (runQueued) may wait in a busy worker's message queue, so the
// worker starts the next job the moment one ends; a plain run (whose cancellation stops its worker) never
// shares a worker's queue with anything. The worker here is a script that holds a job until the test lets
// it go, then looks at its own message port: what it finds there is what the pool sent while it was busy.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkerPool } from '../../../../src/worker/engine/pool';
import type { WorkerRequest, WorkerResponse } from '../../../../src/protocol';

const WORKER = `
const { parentPort, receiveMessageOnPort } = require('node:worker_threads');
let gate = null;
function handle(msg) {
  if (msg.kind === 'gate') { gate = new Int32Array(msg.sab); parentPort.postMessage({ kind: 'done', id: msg.id }); return; }
  if (msg.kind === 'crash') process.exit(3);
  // Hold until the test opens slot msg.slot of the gate.
  if (msg.hold !== undefined) Atomics.wait(gate, msg.hold, 0);
  // What was already waiting for this worker when the job ended, handled after this job's answer.
  const waiting = receiveMessageOnPort(parentPort);
  parentPort.postMessage({ kind: 'done', id: msg.id, queuedBehind: waiting ? waiting.message.id : null });
  if (waiting) handle(waiting.message);
}
parentPort.on('message', handle);
`;

/** The test worker's messages and answers, outside the engine's protocol. */
interface TestRequest { kind: 'job' | 'gate' | 'crash'; id: number; hold?: number; sab?: SharedArrayBuffer }
interface TestReply { kind: 'done'; id: number; queuedBehind: number | null }
// The pool is typed for the engine's protocol; this script speaks its own, so its messages pass as those.
const req = (m: TestRequest) => (): WorkerRequest => m as unknown as WorkerRequest;
const reply = (r: WorkerResponse): TestReply => r as unknown as TestReply;

describe('WorkerPool queue', function () {
  this.timeout(30_000);
  let dir: string;
  let pool: WorkerPool;
  let gate: Int32Array;
  const open = (slot: number): void => {
    Atomics.store(gate, slot, 1);
    Atomics.notify(gate, slot);
  };
  /** Lets the event loop run until the pool has had every chance to send what it would send. */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-pool-'));
    const file = path.join(dir, 'worker.js');
    fs.writeFileSync(file, WORKER);
    pool = new WorkerPool(file, 1);
    const sab = new SharedArrayBuffer(64);
    gate = new Int32Array(sab);
    await pool.run(req({ kind: 'gate', id: 0, sab }));
  });
  afterEach(async () => {
    for (let i = 0; i < gate.length; i++) open(i);
    await pool.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends a second queued job to a worker busy with one, never a third', async () => {
    const a = pool.runQueued(req({ kind: 'job', id: 1, hold: 1 }));
    const b = pool.runQueued(req({ kind: 'job', id: 2, hold: 2 }));
    const c = pool.runQueued(req({ kind: 'job', id: 3 }));
    await settle();
    open(1);
    // Job 2 was in the worker's queue when job 1 ended; job 3 was not (only two per worker).
    assert.deepEqual(reply(await a), { kind: 'done', id: 1, queuedBehind: 2 });
    await settle();
    open(2);
    assert.deepEqual(reply(await b), { kind: 'done', id: 2, queuedBehind: 3 });
    assert.equal(reply(await c).id, 3);
  });

  it('queues nothing behind a plain run, and a plain run behind nothing', async () => {
    const plain = pool.run(req({ kind: 'job', id: 1, hold: 1 }));
    const queued = pool.runQueued(req({ kind: 'job', id: 2, hold: 2 }));
    const plainAfter = pool.run(req({ kind: 'job', id: 3 }));
    await settle();
    open(1);
    assert.deepEqual(reply(await plain), { kind: 'done', id: 1, queuedBehind: null });
    // The queued job went once the worker was free; the plain run waits for it to be free again.
    await settle();
    open(2);
    assert.deepEqual(reply(await queued), { kind: 'done', id: 2, queuedBehind: null });
    assert.deepEqual(reply(await plainAfter), { kind: 'done', id: 3, queuedBehind: null });
  });

  it('a plain run waiting behind a batch goes before the batch\'s later jobs', async () => {
    const a = pool.runQueued(req({ kind: 'job', id: 1, hold: 1 }));
    const b = pool.runQueued(req({ kind: 'job', id: 2, hold: 2 }));
    const plain = pool.run(req({ kind: 'job', id: 3 }));
    const c = pool.runQueued(req({ kind: 'job', id: 4 }));
    await settle();
    open(1);
    assert.deepEqual(reply(await a), { kind: 'done', id: 1, queuedBehind: 2 });
    // Job 4 was not put behind job 2: the plain run waiting before it needs the worker idle.
    await settle();
    open(2);
    assert.deepEqual(reply(await b), { kind: 'done', id: 2, queuedBehind: null });
    const order: number[] = [];
    await Promise.all([plain.then((r) => order.push(reply(r).id)), c.then((r) => order.push(reply(r).id))]);
    assert.deepEqual(order, [3, 4]);
  });

  it('cancelling a plain run stops only its own job', async () => {
    const ctl = new AbortController();
    const plain = pool.run(req({ kind: 'job', id: 1, hold: 1 }), undefined, ctl.signal);
    const queued = pool.runQueued(req({ kind: 'job', id: 2 }));
    await settle();
    ctl.abort();
    await assert.rejects(plain);
    // The worker was replaced; the queued job, never sent to the stopped one, runs on the new one.
    assert.deepEqual(reply(await queued), { kind: 'done', id: 2, queuedBehind: null });
  });

  it('a worker that dies fails both jobs it held, and the pool goes on', async () => {
    const a = pool.runQueued(req({ kind: 'job', id: 1, hold: 1 }));
    const b = pool.runQueued(req({ kind: 'crash', id: 2 }));
    await settle();
    open(1);
    // Job 1 answers before the worker reads the crash; then the crash fails job 2.
    assert.equal(reply(await a).id, 1);
    await assert.rejects(b, /stopped unexpectedly/);
    await pool.run(req({ kind: 'gate', id: 0, sab: gate.buffer as SharedArrayBuffer }));
    assert.deepEqual(reply(await pool.runQueued(req({ kind: 'job', id: 3 }))), { kind: 'done', id: 3, queuedBehind: null });
  });
});
