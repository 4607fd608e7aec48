// A notebook output's sample maps arrive in two steps where the session can split them: the loss at once
// (painted), then the rest of the same sample (p(target); the confidence maps, or word that the host holds
// them until asked). A slower reply for a sample the view no longer shows is dropped, never drawn over the
// newer one.
import * as assert from 'node:assert/strict';
import { OutputController, type OutputSession } from '../../../src/outputController';
import type { ConfidenceMaps, HostToView, SampleMaps, ViewSummary } from '../../../src/protocol';

function confidenceOf(n: number): ConfidenceMaps {
  return { top1: Float32Array.of(0.5 + n / 8, 0.5), margin: Float32Array.of(0.25, 0.125), entropy: Float32Array.of(1, 0.75) };
}

function maps(n: number, withProbs: boolean): SampleMaps {
  return {
    n, shape: [1, 2], loss: Float32Array.of(n, n), target: Int32Array.of(0, 1), predicted: Int32Array.of(0, 0), ignored: Uint8Array.of(0, 0),
    pTarget: withProbs ? Float32Array.of(0.5, 0.25) : null,
    ...(withProbs ? { confidence: confidenceOf(n) } : {}),
  };
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('OutputController: sample maps in two steps', function () {
  const summary = { lossShape: [3, 1, 2], mapsAvailable: true, elementCount: 6 } as unknown as ViewSummary;

  function setup(gates: Map<number, { promise: Promise<void>; resolve(): void }>, onRequest = false): { sent: HostToView[]; controller: OutputController } {
    const sent: HostToView[] = [];
    const session: OutputSession = {
      summary,
      lossMap: () => null,
      quickSampleMaps: (n) => maps(n, false),
      sampleMaps: async (n) => {
        await gates.get(n)?.promise;
        return maps(n, true);
      },
      classMaps: async () => {
        throw new Error('not used');
      },
      explain: async () => {
        throw new Error('not used');
      },
      ...(onRequest ? { confidence: async (n: number) => confidenceOf(n) } : {}),
    };
    const controller = new OutputController({ open: async () => session, send: (m) => sent.push(m) });
    return { sent, controller };
  }

  const samples = (sent: HostToView[]): string[] =>
    sent.flatMap((m) => (m.type === 'sample' ? [`${m.maps.n}:${m.maps.pending ? 'pending' : m.maps.pTarget ? 'full' : 'bare'}`] : m.type === 'sampleRest' ? [`${m.rest.n}:rest`] : []));

  it('paints the loss before p(target) is computed, then sends the complete maps', async function () {
    const gate = deferred();
    const { sent, controller } = setup(new Map([[0, gate]]));
    const done = controller.compute();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(samples(sent), ['0:pending'], 'the loss is sent before the probability job finishes');
    gate.resolve();
    await done;
    assert.deepEqual(samples(sent), ['0:pending', '0:rest']);
    assert.ok(sent.findIndex((m) => m.type === 'summary') < sent.findIndex((m) => m.type === 'sample'));
  });

  it('drops a slower reply for a sample the view has moved away from', async function () {
    const slow = deferred();
    const { sent, controller } = setup(new Map([[1, slow]]));
    await controller.compute();
    sent.length = 0;
    const first = controller.handle({ type: 'selectSample', n: 1 });
    await controller.handle({ type: 'selectSample', n: 2 });
    slow.resolve();
    await first;
    assert.deepEqual(samples(sent), ['1:pending', '2:pending', '2:rest'], 'sample 1\'s complete maps came after sample 2 was asked for');
  });

  it("a session in the view's page sends the confidence maps with the rest; the host's holds them until asked", async function () {
    const inPage = setup(new Map());
    await inPage.controller.compute();
    const rest = inPage.sent.find((m) => m.type === 'sampleRest');
    assert.ok(rest?.type === 'sampleRest');
    assert.deepEqual(rest.rest.confidence, confidenceOf(0));

    const host = setup(new Map(), true);
    await host.controller.compute();
    const held = host.sent.find((m) => m.type === 'sampleRest');
    assert.ok(held?.type === 'sampleRest');
    assert.equal(held.rest.confidence, undefined);
    assert.equal(held.rest.confidenceOnRequest, true);
    assert.deepEqual([...held.rest.pTarget!], [0.5, 0.25]);
    host.sent.length = 0;
    await host.controller.handle({ type: 'requestConfidence', n: 2 });
    assert.deepEqual(host.sent, [{ type: 'confidence', n: 2, confidence: confidenceOf(2) }]);
  });
});
