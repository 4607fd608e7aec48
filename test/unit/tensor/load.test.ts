import * as assert from 'node:assert/strict';
import { decodeTensorFile, splitMemberSpec } from '../../../src/tensor/load';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { writeNpz } from '../../../src/tensor/binary/npz';
import { fixture, lensError } from './helpers';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('load: splitMemberSpec', () => {
  const cases: [string, { path: string; member?: string }][] = [
    ['a/b.npz:labels', { path: 'a/b.npz', member: 'labels' }],
    ['a/b.npz', { path: 'a/b.npz' }],
    ['a/b.NPZ:x', { path: 'a/b.NPZ', member: 'x' }],
    ['a/b.npz:', { path: 'a/b.npz' }],
    ['C:\\data\\x.npy', { path: 'C:\\data\\x.npy' }],
    ['C:\\d\\x.npz:y', { path: 'C:\\d\\x.npz', member: 'y' }],
    ['C:\\d\\x.npz', { path: 'C:\\d\\x.npz' }],
    ['x.npz:a:b', { path: 'x.npz', member: 'a:b' }],
    ['/tmp/odd:name.npy', { path: '/tmp/odd:name.npy' }],
    ['/tmp/dir.npz/x.npy', { path: '/tmp/dir.npz/x.npy' }],
  ];
  for (const [spec, want] of cases) it(spec, () => assert.deepEqual(splitMemberSpec(spec), want));
});

describe('load: decodeTensorFile', () => {
  it('dispatches on the extension', () => {
    assert.deepEqual(decodeTensorFile('x.npy', fixture('npy', 'f4_v2.npy'), 'input').shape, [2, 3]);
    assert.deepEqual(decodeTensorFile('x.npz', fixture('npz', 'stored.npz'), 'input').shape, [2, 3, 4]);
    assert.deepEqual(decodeTensorFile('x.npz', fixture('npz', 'stored.npz'), 'target').shape, [2, 4]);
    assert.deepEqual(decodeTensorFile('x.npz', fixture('npz', 'seg.npz'), 'target', 'b').shape, [2, 4]);
    assert.deepEqual([...decodeTensorFile('t.json', utf8('[1, 2]'), 'target').data], [1, 2]);
    const obj = utf8('{"logits": [[0.5, 1.5]], "labels": [1]}');
    assert.deepEqual(decodeTensorFile('t.json', obj, 'input').shape, [1, 2]);
    assert.deepEqual(decodeTensorFile('t.json', obj, 'target').shape, [1]);
    assert.deepEqual(decodeTensorFile('p.txt', utf8('tensor([[0.1, 0.2]])\n'), 'input').shape, [1, 2]);
    assert.deepEqual(decodeTensorFile('p.py', utf8('import torch\nx = torch.tensor([1, 2, 3])\n'), 'input').shape, [3]);
  });

  it('reads UTF-16 text with a byte-order mark', () => {
    const le = new Uint8Array([0xff, 0xfe, ...Buffer.from('tensor([1, 2])', 'utf16le')]);
    assert.deepEqual([...decodeTensorFile('out.txt', le, 'target').data], [1, 2]);
    const json = new Uint8Array([0xff, 0xfe, ...Buffer.from('[[0.5]]', 'utf16le')]);
    assert.deepEqual(decodeTensorFile('x.json', json, 'input').shape, [1, 1]);
  });

  it('sniffs .npy and zip magic when the extension says nothing', () => {
    assert.equal(decodeTensorFile('blob', fixture('npy', 'i8_le_f_3x4.npy'), 'target').dtype, 'int64');
    assert.equal(decodeTensorFile('blob.bin', fixture('npz', 'deflated.npz'), 'weight').dtype, 'float32');
  });

  it('picks a literal by variable name when a text holds several', () => {
    const text = utf8('logits = tensor([[1.0, 2.0]])\ntarget = tensor([1])\n');
    assert.deepEqual(decodeTensorFile('s.txt', text, 'input').shape, [1, 2]);
    assert.deepEqual(decodeTensorFile('s.txt', text, 'target').shape, [1]);
    assert.match(lensError(() => decodeTensorFile('s.txt', text, 'weight'), 'format').message, /^s\.txt: holds 2 tensors \(lines 1, 2\)/);
  });

  it('prefixes every error with the file, on one line', () => {
    const cases: [string, Uint8Array, RegExp, string?][] = [
      ['bad.npy', utf8('nope'), /^bad\.npy: not a \.npy file/],
      ['seg.npz', fixture('npz', 'seg.npz'), /^seg\.npz: no member named like a target .* name one as seg\.npz:b$/],
      ['seg.npz', fixture('npz', 'seg.npz'), /^seg\.npz: no member named 'zz'/, 'zz'],
      ['x.json', utf8('[[1, 2], [3]]'), /^x\.json: ragged list at \$\[1\]/],
      ['x.json', utf8('{"logits": [1]}'), /^x\.json: the object holds input but no target/],
      ['x.txt', utf8('tensor([0, 1, ..., 9])'), /^x\.txt: summarized print/],
      ['x.txt', utf8('hello world'), /^x\.txt: no tensor found/],
      ['x.txt', new Uint8Array([1, 2, 0, 3]), /^x\.txt: unrecognized binary file/],
      ['x.txt', new Uint8Array([0xc3, 0x28, 0x41]), /^x\.txt: the file is neither/],
      ['model.pt', new Uint8Array([0x80, 2]), /^model\.pt: is a plain pickle, not a torch\.save zip archive — re-save with torch\.save/],
      ['model.pkl', new Uint8Array([0x80, 2]), /^model\.pkl: a pickle cannot be read here — save the tensor with np\.save/],
      ['x.npy', fixture('npy', 'i8_overflow.npy'), /^x\.npy: int64 value 3000000000 at index \[0, 5\]/],
      ['x.npy', fixture('npy', 'f4_v2.npy'), /^x\.npy: a member name \(:m\) only applies to \.npz, torch\.save \(\.pt\/\.pth\/\.bin\) and \.safetensors files/, 'm'],
    ];
    for (const [name, bytes, re, member] of cases) {
      const e = lensError(() => decodeTensorFile(name, bytes, 'target', member));
      assert.match(e.message, re);
      assert.equal(e.message.indexOf(`${name}: `, 1), -1, `prefixed once: ${e.message}`);
    }
  });

  it('reads archives written by writeNpz', () => {
    const bytes = writeNpz({ logits: encodeNpy({ dtype: 'float32', shape: [1, 3], data: [1, 2, 3] }), y: encodeNpy({ dtype: 'int64', shape: [1], data: [2] }) }, { compress: true });
    assert.deepEqual([...decodeTensorFile('a.npz', bytes, 'target').data], [2]);
    assert.match(lensError(() => decodeTensorFile('a.npz', bytes, 'weight')).message, /^a\.npz: no member named like a weight \(weight, weights\); members: logits \[1, 3\] float32, y \[1\] int64 — name one as a\.npz:logits$/);
  });
});
