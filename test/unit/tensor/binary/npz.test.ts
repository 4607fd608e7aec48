import * as assert from 'node:assert/strict';
import { encodeNpy } from '../../../../src/tensor/binary/npy';
import { readNpz, resolveNpzMember, writeNpz } from '../../../../src/tensor/binary/npz';
import { type Expected, assertValues, assertWellFormed, fixture, fixtureJson, hasNumpy, lensError, python } from '../helpers';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

type Want = { shape: number[]; dtype: string; values: Expected[] };
const want = fixtureJson<Record<string, Want>>('npz', 'manifest.json');

describe('npz', () => {
  it('lists and decodes a stored archive (np.savez)', () => {
    const a = readNpz(fixture('npz', 'stored.npz'));
    assert.deepEqual(a.members.map((m) => m.name), ['logits', 'target']);
    assert.deepEqual(a.members[0].header.shape, [2, 3, 4]);
    assert.equal(a.members[1].header.dtype, 'int64');
    const logits = a.get('logits');
    assert.deepEqual(logits.shape, want.logits.shape);
    assertValues(logits, want.logits.values, 'logits');
    assertValues(a.get('target.npy'), want.target.values, 'target');
  });

  it('lists and decodes a deflated archive (np.savez_compressed)', () => {
    const a = readNpz(fixture('npz', 'deflated.npz'));
    assert.deepEqual(a.members.map((m) => m.name), ['logits', 'labels', 'weight']);
    assertValues(a.get('labels'), want.target.values, 'labels');
    assertValues(a.get('weight'), want.weight.values, 'weight');
    assertValues(a.get('logits'), want.logits.values, 'logits');
  });

  it('decodes big-endian Fortran-order members', () => {
    const a = readNpz(fixture('npz', 'fortran_be.npz'));
    const pred = a.get('pred');
    assertWellFormed(pred);
    assertValues(pred, want.fortran_be_pred.values, 'pred');
    assertValues(a.get('mask'), want.fortran_be_mask.values, 'mask');
  });

  it('lists a compressed archive from the first bytes of each member', () => {
    const bytes = fixture('npz', 'big.npz').slice();
    // Wreck the middle of the first member's deflate stream: listing must not notice, decoding must.
    bytes.fill(0xff, 1500, 2500);
    const a = readNpz(bytes);
    assert.deepEqual(a.members.map((m) => [m.name, m.header.shape]), [['logits', [64, 21, 32, 32]], ['target', [64, 32, 32]]]);
    lensError(() => a.get('logits'), 'format');
    assert.equal(readNpz(fixture('npz', 'big.npz')).get('logits').data.length, 64 * 21 * 32 * 32);
  });

  it('skips non-.npy members but says what they are when asked for', () => {
    const a = readNpz(fixture('npz', 'with_readme.npz'), 'r.npz');
    assert.deepEqual(a.members.map((m) => m.name), ['target']);
    assert.deepEqual(a.skipped.map((s) => s.name), ['README.txt']);
    assert.equal(lensError(() => a.get('README.txt'), 'format').message, 'r.npz: member README.txt is not a .npy array');
    assert.match(lensError(() => a.get('nope'), 'option').message, /^r\.npz: no member named 'nope'; members: target \[2, 4\] int64, README\.txt \(not usable\)$/);
  });

  it('rejects an archive whose only member is not NumPy data', () => {
    const e = lensError(() => readNpz(fixture('npz', 'fake_member.npz'), 'f.npz'), 'format');
    assert.equal(e.message, 'f.npz: member logits.npy: not a .npy file (missing \\x93NUMPY magic)');
  });

  it('rejects corrupt zips', () => {
    assert.match(lensError(() => readNpz(new Uint8Array(0)), 'format').message, /empty/);
    assert.match(lensError(() => readNpz(new TextEncoder().encode('definitely not a zip file at all')), 'format').message, /PK zip signature/);
    const bytes = fixture('npz', 'stored.npz');
    assert.match(lensError(() => readNpz(bytes.subarray(0, bytes.length - 30)), 'format').message, /truncated/);
    const deflated = fixture('npz', 'deflated.npz').slice();
    deflated.fill(0xff, 60, 200); // inside the first member's deflate stream
    const a = readNpz(deflated, 'd.npz');
    assert.deepEqual(a.members.map((m) => m.name), ['weight'], 'intact members stay usable');
    assert.match(lensError(() => a.get('logits'), 'format').message, /^d\.npz: not a valid \.npz \(zip\) archive: member logits\.npy does not inflate/);
    assert.match(lensError(() => a.get('labels'), 'format').message, /bad local header for labels\.npy/);
  });

  it('writes stored and deflated archives that read back', () => {
    const x = encodeNpy({ dtype: 'float32', shape: [2, 2], data: [1, 2, 3, 4] });
    const y = encodeNpy({ dtype: 'int64', shape: [2], data: [0, 1] });
    for (const compress of [false, true]) {
      const bytes = writeNpz({ logits: x, 'target.npy': y }, { compress });
      const a = readNpz(bytes);
      assert.deepEqual(a.members.map((m) => m.name), ['logits', 'target']);
      assert.deepEqual([...a.get('logits').data], [1, 2, 3, 4]);
      assert.deepEqual([...a.get('target').data], [0, 1]);
      assert.deepEqual(writeNpz({ logits: x, 'target.npy': y }, { compress }), bytes, 'deterministic');
    }
  });

  it('writes archives np.load reads', function () {
    if (!hasNumpy()) this.skip(); // no numpy in /usr/bin/python3
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'npz-'));
    try {
      const x = encodeNpy({ dtype: 'float32', shape: [2, 2], data: [1, 2, 3, 4] });
      fs.writeFileSync(path.join(dir, 's.npz'), writeNpz({ x }));
      fs.writeFileSync(path.join(dir, 'd.npz'), writeNpz({ x }, { compress: true }));
      const out = python('import numpy as np, sys\nfor f in sys.argv[1:]:\n    print(np.load(f)["x"].tolist())', [path.join(dir, 's.npz'), path.join(dir, 'd.npz')]);
      assert.equal(out.trim(), '[[1.0, 2.0], [3.0, 4.0]]\n[[1.0, 2.0], [3.0, 4.0]]');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npz: resolveNpzMember', () => {
  it('picks members named like the role', () => {
    const a = readNpz(fixture('npz', 'deflated.npz'));
    assert.equal(resolveNpzMember(a, 'input', 'd.npz'), 'logits');
    assert.equal(resolveNpzMember(a, 'target', 'd.npz'), 'labels');
    assert.equal(resolveNpzMember(a, 'weight', 'd.npz'), 'weight');
    const f = readNpz(fixture('npz', 'fortran_be.npz'));
    assert.equal(resolveNpzMember(f, 'input', 'f.npz'), 'pred');
    assert.equal(resolveNpzMember(f, 'target', 'f.npz'), 'mask');
  });

  it('lists members with shapes and dtypes when no name fits', () => {
    const a = readNpz(fixture('npz', 'seg.npz'));
    assert.equal(
      lensError(() => resolveNpzMember(a, 'target', 'seg.npz'), 'format').message,
      'seg.npz: no member named like a target (target, targets, labels, label, mask, gt, y); members: a [2, 3, 4] float32, b [2, 4] int64 — name one as seg.npz:b',
    );
    assert.match(lensError(() => resolveNpzMember(a, 'input', 'seg.npz')).message, /name one as seg\.npz:a$/);
    const p = readNpz(fixture('npz', 'positional.npz'));
    assert.match(lensError(() => resolveNpzMember(p, 'weight', 'p.npz')).message, /members: arr_0 \[2, 3, 4\] float32, arr_1 \[2, 4\] int64/);
  });

  it('refuses to guess between two members named like the role', () => {
    const a = readNpz(fixture('npz', 'two_inputs.npz'));
    assert.equal(resolveNpzMember(a, 'target', 't.npz'), 'target');
    assert.match(lensError(() => resolveNpzMember(a, 'input', 't.npz')).message, /^t\.npz: several members named like an input \(logits, output\); members: .* — name one as t\.npz:logits$/);
  });
});
