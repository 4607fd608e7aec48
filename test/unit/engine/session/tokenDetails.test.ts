// The token view's hover, served by a session: top-5, p(target), rank and loss of one token's row, read
// from a .npy by its byte range (a 6.6 GB sparse file answers at once) or from an in-memory input, and
// checked against a float64 softmax written here; and the vocabulary read and parsed in a worker.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openInPage } from '../../../../media/inPageSession';
import { encodeNpyHeader } from '../../../../src/tensor/binary/npy';
import type { Payload } from '../../../../src/tensor/text/payload';
import type { Tensor } from '../../../../src/tensor/tensor';
import { Engine } from '../../../../src/worker/engine/engine';
import { LossSession } from '../../../../src/worker/engine/session';
import { DIST, randomLogits, rng, writeNpy } from '../helpers';

/** Independent reference: float64 softmax of one row, ranks by sorting, top 5 by sorting (ties: lower id). */
function reference(row: readonly number[], target: number): { loss: number; p: number; rank: number; top: Array<{ id: number; prob: number }> } {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  const probs = e.map((v) => v / z);
  const order = row.map((v, id) => ({ id, v })).sort((a, b) => b.v - a.v || a.id - b.id);
  const valid = target >= 0 && target < row.length;
  return {
    loss: valid ? -(row[target] - m - Math.log(z)) : NaN,
    p: valid ? probs[target] : NaN,
    rank: valid ? row.filter((v) => v > row[target]).length + 1 : 0,
    top: order.slice(0, 5).map((o) => ({ id: o.id, prob: probs[o.id] })),
  };
}

function close(a: number, b: number, tol = 1e-12): boolean {
  return (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

function checkAgainst(d: { loss: number; pTarget: number; rank: number; top: ReadonlyArray<{ id: number; prob: number }> }, want: ReturnType<typeof reference>, what: string): void {
  assert.ok(close(d.loss, want.loss), `${what}: loss ${d.loss} vs ${want.loss}`);
  assert.ok(close(d.pTarget, want.p), `${what}: p ${d.pTarget} vs ${want.p}`);
  assert.equal(d.rank, want.rank, `${what}: rank`);
  assert.deepEqual(d.top.map((t) => t.id), want.top.map((t) => t.id), `${what}: top ids`);
  d.top.forEach((t, i) => assert.ok(close(t.prob, want.top[i].prob), `${what}: top ${i} prob`));
}

describe('engine: token details for the token view', function () {
  let engine: Engine;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-tokens-'));
  before(() => (engine = new Engine({ distDir: DIST, maxWorkers: 2 })));
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const B = 3;
  const T = 6;
  const V = 11;
  const x = randomLogits([B, T, V], 21);
  // Ties in one row: the target shares its logit with two others, and one class is above.
  const xd = x.data as Float32Array;
  for (let c = 0; c < V; c++) xd[(1 * T + 2) * V + c] = c === 9 ? 2 : c === 4 || c === 6 || c === 7 ? 1 : -1;
  const tdata = new Int32Array(B * T);
  const r = rng(5);
  for (let i = 0; i < B * T; i++) tdata[i] = Math.floor(r() * V);
  tdata[1 * T + 2] = 6;
  tdata[2 * T + 4] = -100; // padding
  tdata[2 * T + 5] = -100;
  const target: Tensor = { dtype: 'int64', shape: [B, T], data: tdata };
  const xf = path.join(dir, 'logits.npy');
  const tf = path.join(dir, 'target.npy');
  writeNpy(xf, x);
  writeNpy(tf, target);

  const rowOf = (data: Float32Array, k: number): number[] => Array.from(data.subarray(k * V, (k + 1) * V));

  it('a class-last .npy input: every token row against a float64 softmax, ties and padding included', async function () {
    const s = await LossSession.open(engine, { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, options: { classDim: -1 } });
    for (let k = 0; k < B * T; k++) {
      const d = await s.tokenDetails(k);
      assert.equal(d.row, k);
      assert.equal(d.target, tdata[k]);
      assert.equal(d.C, V);
      checkAgainst(d, reference(rowOf(xd, k), tdata[k]), `row ${k}`);
    }
    const tie = await s.tokenDetails(1 * T + 2);
    assert.equal(tie.rank, 2); // one logit strictly above; the tied ones do not count
    const pad = await s.tokenDetails(2 * T + 5);
    assert.equal(pad.rank, 0);
    assert.ok(Number.isNaN(pad.loss) && Number.isNaN(pad.pTarget));
    await assert.rejects(s.tokenDetails(B * T), /outside/);
  });

  it('an in-memory input (notebook, selection) gives the same numbers', async function () {
    const s = await LossSession.open(engine, { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: target }, options: { classDim: -1 } });
    for (const k of [0, 5, 8, 13, 17]) checkAgainst(await s.tokenDetails(k), reference(rowOf(xd, k), tdata[k]), `row ${k}`);
  });

  it('a [T, V] input and a class-first [B, V, T] file read the right rows', async function () {
    const x2 = randomLogits([7, V], 8);
    const t2: Tensor = { dtype: 'int64', shape: [7], data: Int32Array.from([1, 2, 3, 4, 5, 6, 0]) };
    const s2 = await LossSession.open(engine, { input: { kind: 'tensor', tensor: x2 }, target: { kind: 'tensor', tensor: t2 } });
    for (let k = 0; k < 7; k++) checkAgainst(await s2.tokenDetails(k), reference(rowOf(x2.data as Float32Array, k), k === 6 ? 0 : k + 1), `[T, V] row ${k}`);
    // [B, V, T]: class values of (b, t) sit T apart.
    const cf = randomLogits([2, V, 4], 9);
    const cfFile = path.join(dir, 'cf.npy');
    writeNpy(cfFile, cf);
    const tcf: Tensor = { dtype: 'int64', shape: [2, 4], data: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]) };
    const s3 = await LossSession.open(engine, { input: { kind: 'file', path: cfFile }, target: { kind: 'tensor', tensor: tcf } });
    const cd = cf.data as Float32Array;
    for (let k = 0; k < 8; k++) {
      const b = Math.floor(k / 4);
      const t = k % 4;
      const row = Array.from({ length: V }, (_, c) => cd[(b * V + c) * 4 + t]);
      checkAgainst(await s3.tokenDetails(k), reference(row, k), `class-first row ${k}`);
    }
  });

  it('reads only the row from a huge .npy: a 6.6 GB sparse [16, 2048, 50257] file answers at once', async function () {
    const shape = [16, 2048, 50257];
    const big = path.join(dir, 'big.npy');
    const header = encodeNpyHeader('float32', shape);
    fs.writeFileSync(big, header);
    fs.truncateSync(big, header.length + shape[0] * shape[1] * shape[2] * 4);
    const row = 15 * 2048 + 2000;
    const values = new Float32Array(shape[2]);
    const rr = rng(77);
    for (let c = 0; c < values.length; c++) values[c] = (rr() - 0.5) * 8;
    const fd = fs.openSync(big, 'r+');
    fs.writeSync(fd, new Uint8Array(values.buffer), 0, values.byteLength, header.length + row * shape[2] * 4);
    fs.closeSync(fd);
    const t0 = performance.now();
    const reply = await engine.runRaw({ kind: 'token-details', id: 0, source: { kind: 'file', path: big }, classDim: -1, row, target: 1234, inputKind: 'logits', topK: 5, terms: { weight: null, labelSmoothing: 0, ignoreIndex: -100 } });
    const ms = performance.now() - t0;
    assert.equal(reply.kind, 'token-details-done', JSON.stringify(reply));
    if (reply.kind !== 'token-details-done') return;
    checkAgainst(reply.details, reference(Array.from(values), 1234), 'big row');
    assert.ok(ms < 3000, `${ms.toFixed(0)} ms for one row`);
    // A zero row of the same file: every class equally likely, rank 1 (nothing strictly above).
    const zero = await engine.runRaw({ kind: 'token-details', id: 0, source: { kind: 'file', path: big }, classDim: -1, row: 3, target: 7, inputKind: 'logits', topK: 5, terms: { weight: null, labelSmoothing: 0, ignoreIndex: -100 } });
    assert.equal(zero.kind, 'token-details-done');
    if (zero.kind !== 'token-details-done') return;
    assert.equal(zero.details.rank, 1);
    assert.ok(close(zero.details.loss, Math.log(shape[2])));
    assert.deepEqual(zero.details.top.map((t) => t.id), [0, 1, 2, 3, 4]);
  });

  it('with class weights and label smoothing 0.1, a token\'s loss is PyTorch\'s reduction=\'none\' value and the loss map\'s', async function () {
    const weight: Tensor = { dtype: 'float32', shape: [V], data: Float32Array.from({ length: V }, (_, c) => 0.25 + ((c * 7) % 5) * 0.4) };
    const wf = path.join(dir, 'weight.npy');
    writeNpy(wf, weight);
    const py = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, numpy as np, torch, torch.nn.functional as F
x = torch.from_numpy(np.load(sys.argv[1]).astype(np.float64))
t = torch.from_numpy(np.load(sys.argv[2]).astype(np.int64))
w = torch.from_numpy(np.load(sys.argv[3]).astype(np.float64))
l = F.cross_entropy(x.permute(0, 2, 1), t, weight=w, label_smoothing=0.1, reduction='none')
print(json.dumps(l.flatten().tolist()))
`, xf, tf, wf], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const torchLoss = JSON.parse(py.stdout) as number[];
    const options = { classDim: -1, labelSmoothing: 0.1 };
    const s = await LossSession.open(engine, { input: { kind: 'file', path: xf }, target: { kind: 'file', path: tf }, weight: { kind: 'file', path: wf }, options });
    const map = s.result.maps!.loss;
    const page = openInPage({ input: x, target, weight } as unknown as Payload, { options, weight: undefined });
    for (let k = 0; k < B * T; k++) {
      const d = await s.tokenDetails(k);
      if (tdata[k] === -100) {
        assert.ok(Number.isNaN(d.loss), `row ${k}: padding has no loss`);
        continue;
      }
      const want = torchLoss[k];
      // The plain -log p(target) differs from this by far more than the tolerance (a weight of 0.25 to 1.85).
      assert.ok(close(d.loss, want, 1e-9), `row ${k}: loss ${d.loss} vs PyTorch ${want}`);
      assert.ok(Math.abs(d.loss - map[k]) <= 2e-6 * Math.abs(want) + 2e-7, `row ${k}: loss ${d.loss} vs the loss map's ${map[k]}`);
      // p(target) and the top-5 are probabilities: weights and smoothing do not enter.
      checkAgainst({ ...d, loss: NaN }, { ...reference(rowOf(xd, k), tdata[k]), loss: NaN }, `row ${k}`);
      const inPage = await page.tokenDetails!(k);
      assert.ok(close(inPage.loss, want, 1e-9), `row ${k}, in the notebook page: loss ${inPage.loss} vs PyTorch ${want}`);
    }
  });

  it('reads a vocabulary in a worker; a directory or a missing file is one clear error', async function () {
    const vf = path.join(dir, 'vocab.json');
    fs.writeFileSync(vf, JSON.stringify({ '<|endoftext|>': 3, 'Ġthe': 0, 'cat': 1, 'Ġsat': 2 }));
    const v = await LossSession.readVocabulary(engine, vf);
    assert.deepEqual(Array.from(v.ids), [0, 1, 2, 3]);
    assert.deepEqual(v.pieces, ['Ġthe', 'cat', 'Ġsat', '<|endoftext|>']);
    assert.equal(v.size, 4);
    const sub = path.join(dir, 'tokenizer.json');
    fs.mkdirSync(sub);
    await assert.rejects(LossSession.readVocabulary(engine, sub), /directory/);
    await assert.rejects(LossSession.readVocabulary(engine, path.join(dir, 'nope.txt')), /no such file/);
  });

  it('the session\'s vocabulary names the ids the view shows and the top-5 of a hover', async function () {
    const s = await LossSession.open(engine, { input: { kind: 'tensor', tensor: x }, target: { kind: 'tensor', tensor: target }, options: { classDim: -1 } });
    const pieces = Array.from({ length: V }, (_, i) => `tok${i}`);
    const vf = path.join(dir, 'vocab.txt');
    fs.writeFileSync(vf, pieces.join('\n') + '\n');
    s.vocabulary = await LossSession.readVocabulary(engine, vf);
    const d = await s.tokenDetails(4);
    const want = new Set([tdata[4], ...d.top.map((t) => t.id)]);
    assert.deepEqual(new Set(Array.from(d.vocabulary?.ids ?? [])), want);
    const ts = s.tokenSummary('test');
    const shown = new Set<number>();
    const maps = s.result.maps!;
    for (let i = 0; i < B * T; i++) {
      if (maps.targetClass[i] >= 0) shown.add(maps.targetClass[i]);
      shown.add(maps.predicted[i]);
    }
    assert.deepEqual(new Set(Array.from(ts.vocabulary?.ids ?? [])), shown);
  });
});
