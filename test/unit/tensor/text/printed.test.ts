import * as assert from 'node:assert/strict';
import { LensError } from '../../../../src/errors';
import { findTensorLiterals, parsePrintedTensor } from '../../../../src/tensor/text/printed';
import type { DType } from '../../../../src/tensor/tensor';
import { type Expected, assertValues, assertWellFormed, fixtureJson, lensError } from '../helpers';

interface PrintedCase {
  name: string;
  source?: string;
  text: string;
  dtype?: DType;
  shape?: number[];
  values?: Expected[];
  error?: string;
}

const printed = fixtureJson<{ torch: string; numpy: string; cases: PrintedCase[] }>('printed.json');

const SUMMARIZED =
  "summarized print, values missing: ... at line 1 — print with torch.set_printoptions(profile='full') or np.set_printoptions(threshold=sys.maxsize)";

describe(`printed: reprs and prints from torch ${printed.torch} and numpy ${printed.numpy}`, () => {
  for (const c of printed.cases) {
    if (c.error === undefined) {
      it(`${c.name}: ${c.text.split('\n')[0].slice(0, 60)}`, () => {
        const t = parsePrintedTensor(c.text);
        assert.equal(t.dtype, c.dtype);
        assert.deepEqual(t.shape, c.shape);
        assertWellFormed(t);
        assertValues(t, c.values ?? [], c.name);
        // The same text inside other text, and padded with whitespace.
        const found = findTensorLiterals(`out = ${c.text}\n# done`);
        assert.equal(found.length, 1);
        assert.ok('tensor' in found[0]);
        assert.deepEqual(found[0].tensor.shape, c.shape);
        assert.deepEqual(parsePrintedTensor(`\n  ${c.text}  \n`).shape, c.shape);
      });
    } else {
      it(`${c.name}: rejected`, () => {
        const e = lensError(() => parsePrintedTensor(c.text, 'sel'));
        assert.ok(e.message.startsWith('sel: '), e.message);
        assert.ok(e.message.includes(c.error ?? ''), e.message);
      });
    }
  }
});

describe('printed: forms and tails', () => {
  const cases: [string, DType, number[], number[]][] = [
    ["tensor([[ 1.2000, -0.3000], [ 0.1000,  2.0000]], device='cuda:0')", 'float32', [2, 2], [1.2, -0.3, 0.1, 2].map(Math.fround)],
    ["tensor([0.5000, 1.0000], device='cuda:0', dtype=torch.float64, requires_grad=True)", 'float64', [2], [0.5, 1]],
    ["tensor([[0.1, 0.2]], device='cuda:0', grad_fn=<AddmmBackward0>)", 'float32', [1, 2], [0.1, 0.2].map(Math.fround)],
    ["tensor([1, 2, 0], device='cuda:0')", 'int64', [3], [1, 2, 0]],
    ['tensor(3, dtype=torch.int32)', 'int32', [], [3]],
    ['tensor(-inf)', 'float32', [], [-Infinity]],
    ['torch.tensor([[1, 2]], dtype=torch.float)', 'float32', [1, 2], [1, 2]],
    ['torch.tensor([1, 2], dtype=torch.long)', 'int64', [2], [1, 2]],
    ['torch.tensor([1, 2], dtype=float)', 'float64', [2], [1, 2]],
    ['torch.tensor([0.5, 1], dtype=torch.half)', 'float16', [2], [0.5, 1]],
    ['np.array([0.1, 0.2])', 'float64', [2], [0.1, 0.2]],
    ['numpy.array([[1, 2]], dtype=np.uint8)', 'uint8', [1, 2], [1, 2]],
    ["np.array([1, 2], dtype='float32')", 'float32', [2], [1, 2]],
    ["np.array([1, 2], dtype='<f8')", 'float64', [2], [1, 2]],
    ['np.array([1, 2], np.int32)', 'int32', [2], [1, 2]],
    ['np.array([1, 0], dtype=bool)', 'bool', [2], [1, 0]],
    ['np.asarray([1.5])', 'float64', [1], [1.5]],
    ['torch.as_tensor([1.5])', 'float32', [1], [1.5]],
    ['[[1, 2], [3, 4]]', 'int64', [2, 2], [1, 2, 3, 4]],
    ['[[1, 2],\n [3, 4],]', 'int64', [2, 2], [1, 2, 3, 4]],
    ['[0.5, 1e-3]', 'float64', [2], [0.5, 1e-3]],
    ['[[1 2]\n [3 4]]', 'int64', [2, 2], [1, 2, 3, 4]],
    ['[0.1 0.2]', 'float64', [2], [0.1, 0.2]],
    ['[ True False]', 'bool', [2], [1, 0]],
    ['[1. 2.]', 'float64', [2], [1, 2]],
    ['[NaN, Infinity, -Infinity]', 'float64', [3], [NaN, Infinity, -Infinity]],
    ['3.5', 'float64', [], [3.5]],
    ['7', 'int64', [], [7]],
    ['tensor([], size=(0, 3))', 'float32', [0, 3], []],
    ['tensor([1,\n        2],  # trailing comment\n       dtype=torch.int8)', 'int8', [2], [1, 2]],
    ['tensor(\n  [[1.0], [2.0]],\n)', 'float32', [2, 1], [1, 2]],
  ];
  for (const [text, dtype, shape, values] of cases) {
    it(JSON.stringify(text), () => {
      const t = parsePrintedTensor(text);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, shape);
      assertWellFormed(t);
      assertValues(t, values, text);
    });
  }

  it('rejects summarized prints naming the line', () => {
    assert.equal(lensError(() => parsePrintedTensor('tensor([0.1000, 0.2000, 0.3000,  ..., 0.7000, 0.8000, 0.9000])'), 'format').message, SUMMARIZED);
    assert.match(lensError(() => parsePrintedTensor('array([[1, 2, 3],\n       [4, 5, 6],\n       ...,\n       [7, 8, 9]])')).message, /\.\.\. at line 3/);
    assert.equal(lensError(() => parsePrintedTensor('[0 1 2 ... 7 8 9]')).message, SUMMARIZED);
  });

  it('explains other problems with a position', () => {
    assert.match(lensError(() => parsePrintedTensor('tensor([[1, 2], [3]])'), 'format').message, /ragged list at line 1, column 17: expected 2 elements/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1, 2) ')).message, /line 1, column 13: expected ',' or '\]'/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1, , 2])')).message, /expected a value after ','/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1, x])')).message, /expected a number, found 'x\]\)'/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1.5], dtype=torch.int64)'), 'dtype').message, /value 1\.5 at index \[0\] is not an integer/);
    assert.match(lensError(() => parsePrintedTensor('tensor([300], dtype=torch.uint8)'), 'dtype').message, /300 .* does not fit uint8/);
    assert.match(lensError(() => parsePrintedTensor('tensor([3000000000])'), 'dtype').message, /int64 value 3000000000 at index \[0\] does not fit the kernel's 32-bit integer type/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1], dtype=mystery)'), 'dtype').message, /cannot tell the dtype from dtype=mystery/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1, True])')).message, /a boolean among numbers/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1]) tensor([2])')).message, /unexpected text after the tensor at line 1, column 13/);
    assert.match(lensError(() => parsePrintedTensor('hello')).message, /not a printed tensor/);
    assert.match(lensError(() => parsePrintedTensor('   ')).message, /empty/);
    assert.match(lensError(() => parsePrintedTensor('tensor([1, 2], size=(3,))'), 'shape').message, /shape \[2\] but the print says \[3\]/);
  });

  it('bounds what a print claims: 64 dimensions, sizes below 2^31, and a short message', () => {
    // 64 levels of lists are a tensor; 65 are refused, as JSON refuses them.
    assert.deepEqual(parsePrintedTensor(`${'['.repeat(64)}1${']'.repeat(64)}`).shape.length, 64);
    assert.match(lensError(() => parsePrintedTensor(`${'['.repeat(65)}1${']'.repeat(65)}`)).message, /lists nested too deeply/);
    // An empty tensor's size=(...) is the print's own claim: it went on to the kernels (an internal error
    // allocating 1e11 elements in a hover).
    assert.match(lensError(() => parsePrintedTensor(`tensor([], size=(0, ${'3, '.repeat(100)}))`), 'shape').message, /^the print says 101 dimensions, more than a tensor has \(64\)$/);
    assert.match(lensError(() => parsePrintedTensor('tensor([], size=(0, 99999999999))'), 'shape').message, /dimension 1 has size 99999999999, more than a tensor is read with \(2147483647\)/);
    assert.match(lensError(() => parsePrintedTensor('tensor([], size=(0, 99999999999999999999999))'), 'shape').message, /dimension 1 has size 1e\+23/);
    assert.deepEqual(parsePrintedTensor('tensor([], size=(0, 2147483647))').shape, [0, 2147483647]);
    const long = lensError(() => parsePrintedTensor(`tensor([1.], size=(${'1, '.repeat(60)}))`), 'shape').message;
    assert.match(long, /^the values have shape \[1\] but the print says \[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, … \(60 dimensions\)\]$/);
  });

  it('reads Unicode spaces (no-break spaces from a web page or rendered notebook) as spaces', () => {
    const t = parsePrintedTensor('tensor([[1.5,\u00a02.],\n\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0[3.,\u20034.]],\u00a0dtype=torch.float16)');
    assert.equal(t.dtype, 'float16');
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual(Array.from(t.data), [1.5, 2, 3, 4]);
  });

  it('prefixes errors with the source', () => {
    assert.match(lensError(() => parsePrintedTensor('[1, x]', 'notes.txt')).message, /^notes\.txt: /);
  });
});

describe('printed: findTensorLiterals', () => {
  it('finds each literal of a selection in order', () => {
    const text = 'logits = tensor([[ 1.2000, -0.3000],\n        [ 0.1000,  2.0000]])\ntarget = tensor([1, 0])\n';
    const found = findTensorLiterals(text);
    assert.equal(found.length, 2);
    assert.equal(text.slice(found[0].start, found[0].end), 'tensor([[ 1.2000, -0.3000],\n        [ 0.1000,  2.0000]])');
    assert.equal(text.slice(found[1].start, found[1].end), 'tensor([1, 0])');
    assert.ok('tensor' in found[1] && found[1].tensor.dtype === 'int64');
  });

  it('finds literals in Python source and passes over code that is not one', () => {
    const src = [
      'import torch, numpy as np',
      'x = torch.tensor([[0.5, 1.5, -1.0]], dtype=torch.float32, requires_grad=True)',
      'y = torch.tensor(labels)',
      'w = np.array([1.0, 2.0, 0.5])',
      'z = x[0] + y[1:2]',
      'names = ["cat", "dog"]',
      'print(f"[INFO] loss={loss}")',
      'ids = [[1, 2], [3, 4]]',
      'empty = []',
      'loss = F.cross_entropy(x, torch.tensor([2]))',
    ].join('\n');
    const found = findTensorLiterals(src);
    const texts = found.map((f) => src.slice(f.start, f.end));
    assert.deepEqual(texts, [
      'torch.tensor([[0.5, 1.5, -1.0]], dtype=torch.float32, requires_grad=True)',
      'np.array([1.0, 2.0, 0.5])',
      '[[1, 2], [3, 4]]',
      'torch.tensor([2])',
    ]);
    assert.ok(found.every((f) => 'tensor' in f));
  });

  it('returns errors for literals it cannot use and keeps going', () => {
    const text = 'a = tensor([0, 1, ..., 9])\nb = tensor([[1, 2], [3]])\nc = [1 2 ... 9]\nd = tensor([5])';
    const found = findTensorLiterals(text);
    assert.equal(found.length, 4);
    assert.ok('error' in found[0] && found[0].error.message === SUMMARIZED);
    assert.ok('error' in found[1] && /ragged list at line 2/.test(found[1].error.message));
    assert.ok('error' in found[2] && /\.\.\. at line 3/.test(found[2].error.message));
    assert.ok('tensor' in found[3] && found[3].tensor.data[0] === 5);
    for (const f of found) if ('error' in f) assert.ok(f.error instanceof LensError);
  });

  it('finds a tuple of printed tensors', () => {
    const found = findTensorLiterals('(tensor([1., 2.]), tensor([0, 1]))');
    assert.deepEqual(found.map((f) => ('tensor' in f ? f.tensor.dtype : 'error')), ['float32', 'int64']);
  });

  it('reads console transcripts: >>> continuation prompts, IPython prompts (In [n]:), torch.Size', () => {
    const values = (text: string): string[] => findTensorLiterals(text).map((f) => ('tensor' in f ? `${f.tensor.shape.join('x')} ${Array.from(f.tensor.data).join(',')}` : `error ${f.error.message}`));
    // '... ' at a line's start continues a >>> line: it was read as a summarized print's '...'.
    assert.deepEqual(values('>>> x = torch.tensor([[1., 2.],\n...                    [3., 4.]])'), ['2x2 1,2,3,4']);
    // In [3]: is a prompt, not the tensor [3]; Out[3]: was already passed over (indexing).
    assert.deepEqual(values('In [3]: x\nOut[3]:\ntensor([[0.5000, 0.2500]])\n\nIn [4]: t\nOut[4]: tensor([1])'), ['1x2 0.5,0.25', '1 1']);
    // A shape printed beside the tensor is not one.
    assert.deepEqual(values('>>> x.shape\ntorch.Size([2, 3])\n>>> x\ntensor([[1., 2., 3.],\n        [4., 5., 6.]])'), ['2x3 1,2,3,4,5,6']);
    // A masked array's print is refused whole: its mask=[...] alone was taken as a bool tensor.
    assert.deepEqual(values('masked_array(data=[1, --, 3],\n             mask=[False,  True, False],\n       fill_value=999999)'), [
      'error a masked array at line 1 is not read — print x.filled(fill_value) or x.data (its values without the mask)',
    ]);
    // So is a sparse tensor's: its indices and values were read as two tensors.
    assert.deepEqual(values("tensor(indices=tensor([[0, 1],\n                       [1, 0]]),\n       values=tensor([3., 4.]),\n       size=(2, 2), nnz=2, layout=torch.sparse_coo)"), [
      'error a sparse tensor at line 1 is not read — print x.to_dense()',
    ]);
    // An indented '...' is still a summarized print.
    assert.match(values('tensor([[ 0.1,  0.2],\n        ...,\n        [ 0.5,  0.6]])')[0], /^error summarized print/);
  });

  it('finds the tensors of a list of them (print([a, b]), torch.stack([...])), which the failed list hid', () => {
    const values = (text: string): string[] => findTensorLiterals(text).map((f) => ('tensor' in f ? `${f.tensor.dtype} ${Array.from(f.tensor.data).join(',')}` : 'error'));
    assert.deepEqual(values('[tensor([1., 2.]), tensor([0, 1])]'), ['float32 1,2', 'int64 0,1']);
    assert.deepEqual(values('x = [torch.tensor([[1., 2.]]), torch.tensor([1])]'), ['float32 1,2', 'int64 1']);
    assert.deepEqual(values('torch.stack([torch.tensor([1., 2.]), torch.tensor([3., 4.])])'), ['float32 1,2', 'float32 3,4']);
    assert.deepEqual(values('[array([1, 2]), array([3, 4])]'), ['int64 1,2', 'int64 3,4']);
    assert.deepEqual(values('[1, tensor([2.])] tensor([[0.5, 0.5]])'), ['float32 2', 'float32 0.5,0.5']);
    // A list of other things is still passed over whole: its inner lists are not tensors of their own.
    assert.deepEqual(values('data = [[1, 2], "label", [3, 4]]'), []);
  });
});
