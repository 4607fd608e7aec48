// The printed-tensor finder's cost on hostile texts (the CLI reads .txt files with it, Compute Loss from
// Selection whole documents): linear. It was quadratic: a regular expression for dotted call names
// backtracked over `a.a.a...` from every word (80 KB took 6 s), and after a literal that failed the search
// went back to its closing bracket even when the parser had read far past it (a comment or an argument).
import * as assert from 'node:assert/strict';
import { findTensorLiterals, parsePrintedTensor } from '../../../../src/tensor/text/printed';
import { assertLinear, medianMs } from '../../hover/timing';

function find(text: string): void {
  findTensorLiterals(text);
}

describe('printed: cost on hostile texts', function () {
  this.timeout(120_000);

  it('80 KB of "a." is searched in well under a second (it took 6 s), and linearly', function () {
    const text = 'a.'.repeat(40_000);
    find(text.slice(0, 1000));
    const ms = medianMs(() => find(text));
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    assertLinear('a.a.a...', (n) => 'a.'.repeat(n / 2), find, 16 * 1024);
  });

  it('a failed call whose argument runs on past its closing bracket: linear', function () {
    // A brace the bracket index does not know: the argument runs on to the end of the text.
    assertLinear('tensor([1], x={)', (n) => 'tensor([1], x={)'.repeat(n / 16), find, 32 * 1024);
  });

  it('a failed call whose comment runs on past its closing bracket: linear', function () {
    // A ')' in a comment closes the call for the bracket index; the parser reads on to the next line.
    assertLinear('tensor([1] # )', (n) => 'tensor([1] # )'.repeat(n / 14) + '\nx', find, 16 * 1024);
    // The search goes on after what the failed parser read, and still finds what follows.
    const found = findTensorLiterals('x = tensor([1] # ) see below\n  oops)\ny = tensor([2, 3])');
    assert.equal(found.length, 2);
    assert.ok('error' in found[0]);
    assert.ok('tensor' in found[1] && found[1].tensor.shape[0] === 2);
  });

  it('one long number followed by something else is rejected in linear time', function () {
    const run = (text: string): void => {
      assert.throws(() => parsePrintedTensor(text));
    };
    assertLinear('1111...x', (n) => '1'.repeat(n - 1) + 'x', run, 16 * 1024);
    assert.equal(parsePrintedTensor(' 2.5e-3 \n').data[0], 2.5e-3);
    assert.equal(parsePrintedTensor('-inf').data[0], -Infinity);
    assert.deepEqual(Array.from(parsePrintedTensor('True').data), [1]);
  });
});
