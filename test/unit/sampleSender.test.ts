// The two-step sample message: the quick maps are handed over before the complete maps' job starts, and a
// reply for a sample that is no longer the latest, or for a result no longer shown, is dropped.
import * as assert from 'node:assert/strict';
import type { HostToView, SampleMaps } from '../../src/protocol';
import { SampleSender } from '../../src/sampleSender';

function maps(n: number, complete: boolean): SampleMaps {
  return { n, shape: [1], loss: Float32Array.of(n), target: Int32Array.of(0), predicted: Int32Array.of(0), ignored: Uint8Array.of(0), pTarget: complete ? Float32Array.of(0.5) : null };
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SampleSender', function () {
  it('starts the complete maps only once the quick ones are handed over', async function () {
    const events: string[] = [];
    const delivered = deferred<void>();
    const sender = new SampleSender((msg: HostToView) => {
      events.push(`post ${msg.type === 'sample' && msg.maps.pending ? 'quick' : 'complete'}`);
      return msg.type === 'sample' && msg.maps.pending ? delivered.promise : undefined;
    });
    const sent = sender.send(0, { quick: () => maps(0, false), complete: async () => (events.push('complete job'), maps(0, true)) }, () => true);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events, ['post quick'], 'no job while the quick maps are on their way');
    delivered.resolve();
    await sent;
    assert.deepEqual(events, ['post quick', 'complete job', 'post complete']);
  });

  it('drops the complete maps of a sample asked for before another', async function () {
    const posted: SampleMaps[] = [];
    const sender = new SampleSender((msg: HostToView) => void (msg.type === 'sample' && posted.push(msg.maps)));
    const slow = deferred<SampleMaps>();
    const first = sender.send(0, { quick: () => maps(0, false), complete: () => slow.promise }, () => true);
    await sender.send(1, { complete: async () => maps(1, true) }, () => true);
    slow.resolve(maps(0, true));
    await first;
    assert.deepEqual(posted.map((m) => [m.n, m.pending === true, m.pTarget !== null]), [[0, true, false], [1, false, true]]);
  });

  it('quick maps computed for the sample (maps on demand): posted first when they come, dropped once another sample was asked for', async function () {
    const posted: SampleMaps[] = [];
    const sender = new SampleSender((msg: HostToView) => void (msg.type === 'sample' && posted.push(msg.maps)));
    await sender.send(0, { quick: async () => maps(0, false), complete: async () => maps(0, true) }, () => true);
    assert.deepEqual(posted.map((m) => [m.n, m.pending === true]), [[0, true], [0, false]]);
    posted.length = 0;
    const slowQuick = deferred<SampleMaps>();
    const first = sender.send(1, { quick: () => slowQuick.promise, complete: async () => maps(1, true) }, () => true);
    await sender.send(2, { quick: async () => maps(2, false), complete: async () => maps(2, true) }, () => true);
    slowQuick.resolve(maps(1, false));
    await first;
    assert.deepEqual(posted.map((m) => [m.n, m.pending === true]), [[2, true], [2, false]], 'sample 1 was left before its maps came');
  });

  it('drops the complete maps of a result no longer shown', async function () {
    const posted: HostToView[] = [];
    let shown = true;
    const sender = new SampleSender((msg: HostToView) => void posted.push(msg));
    await sender.send(0, { quick: () => maps(0, false), complete: async () => ((shown = false), maps(0, true)) }, () => shown);
    assert.equal(posted.length, 1);
  });
});
