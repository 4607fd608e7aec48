// The two-step sample message: the quick maps are handed over before the complete maps' job starts, the
// second message carries only what completes them, and a reply for a sample that is no longer the latest, or
// for a result no longer shown, is dropped.
import * as assert from 'node:assert/strict';
import type { HostToView, SampleMaps } from '../../../src/protocol';
import { SampleSender, holdConfidence, restOf } from '../../../src/sampleSender';

/** What a view receives of a sample, in order: [n, 'quick' | 'complete' | 'rest']. */
function received(posted: readonly HostToView[]): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (const m of posted) {
    if (m.type === 'sample') out.push([m.maps.n, m.maps.pending ? 'quick' : 'complete']);
    else if (m.type === 'sampleRest') out.push([m.rest.n, 'rest']);
  }
  return out;
}

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
      events.push(`post ${msg.type === 'sample' && msg.maps.pending ? 'quick' : msg.type}`);
      return msg.type === 'sample' && msg.maps.pending ? delivered.promise : undefined;
    });
    const sent = sender.send(0, { quick: () => maps(0, false), complete: async () => (events.push('complete job'), maps(0, true)) }, () => true);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events, ['post quick'], 'no job while the quick maps are on their way');
    delivered.resolve();
    await sent;
    assert.deepEqual(events, ['post quick', 'complete job', 'post sampleRest']);
  });

  it('drops the complete maps of a sample asked for before another', async function () {
    const posted: HostToView[] = [];
    const sender = new SampleSender((msg: HostToView) => void posted.push(msg));
    const slow = deferred<SampleMaps>();
    const first = sender.send(0, { quick: () => maps(0, false), complete: () => slow.promise }, () => true);
    await sender.send(1, { complete: async () => maps(1, true) }, () => true);
    slow.resolve(maps(0, true));
    await first;
    assert.deepEqual(received(posted), [[0, 'quick'], [1, 'complete']]);
  });

  it('after quick maps, the second message is their rest only: p(target) and the confidence flag', async function () {
    const posted: HostToView[] = [];
    const sender = new SampleSender((msg: HostToView) => void posted.push(msg));
    const complete = { ...maps(0, true), confidenceOnRequest: true, delta: Float32Array.of(-0.25) };
    await sender.send(0, { quick: () => maps(0, false), complete: async () => complete }, () => true);
    assert.deepEqual(received(posted), [[0, 'quick'], [0, 'rest']]);
    const rest = posted[1];
    assert.ok(rest.type === 'sampleRest');
    assert.deepEqual(Object.keys(rest.rest).sort(), ['confidenceOnRequest', 'n', 'pTarget'], 'the delta came with the quick maps');
    assert.deepEqual([...rest.rest.pTarget!], [0.5]);
  });

  it('the rest alone where the view holds the quick maps from the computation (quickSent), the whole maps where it holds none', async function () {
    const posted: HostToView[] = [];
    const sender = new SampleSender((msg: HostToView) => void posted.push(msg));
    await sender.send(0, { complete: async () => maps(0, true), quickSent: true }, () => true);
    await sender.send(1, { complete: async () => maps(1, true) }, () => true);
    assert.deepEqual(received(posted), [[0, 'rest'], [1, 'complete']]);
  });

  it('holdConfidence keeps the confidence maps with the host and says so; restOf passes maps that carry them', function () {
    const c = { top1: Float32Array.of(0.9), margin: Float32Array.of(0.8), entropy: Float32Array.of(0.3) };
    const held = holdConfidence({ ...maps(0, true), confidence: c });
    assert.equal(held.confidence, null);
    assert.equal(held.confidenceOnRequest, true);
    const none = maps(0, true);
    assert.equal(holdConfidence(none), none, 'nothing to hold: the maps as they are');
    assert.equal(restOf({ ...maps(0, true), confidence: c }).confidence, c, "a session in the view's page sends them along");
  });

  it('quick maps computed for the sample (maps on demand): posted first when they come, dropped once another sample was asked for', async function () {
    const posted: HostToView[] = [];
    const sender = new SampleSender((msg: HostToView) => void posted.push(msg));
    await sender.send(0, { quick: async () => maps(0, false), complete: async () => maps(0, true) }, () => true);
    assert.deepEqual(received(posted), [[0, 'quick'], [0, 'rest']]);
    posted.length = 0;
    const slowQuick = deferred<SampleMaps>();
    const first = sender.send(1, { quick: () => slowQuick.promise, complete: async () => maps(1, true) }, () => true);
    await sender.send(2, { quick: async () => maps(2, false), complete: async () => maps(2, true) }, () => true);
    slowQuick.resolve(maps(1, false));
    await first;
    assert.deepEqual(received(posted), [[2, 'quick'], [2, 'rest']], 'sample 1 was left before its maps came');
  });

  it('drops the complete maps of a result no longer shown', async function () {
    const posted: HostToView[] = [];
    let shown = true;
    const sender = new SampleSender((msg: HostToView) => void posted.push(msg));
    await sender.send(0, { quick: () => maps(0, false), complete: async () => ((shown = false), maps(0, true)) }, () => shown);
    assert.equal(posted.length, 1);
  });
});
