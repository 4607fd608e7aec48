// The debug hover's name chain (src/debug/dottedName.ts): what it asks the debuggee for on a line, and a
// long identifier run before the word (a hex string) handled in one walk, where a backtracking regex took
// seconds per hover.
import * as assert from 'node:assert/strict';
import { dottedNameIn } from '../../../src/debug/dottedName';

/** The chain at the word `word` (its last occurrence on the line), as the hover would ask for it. */
function at(line: string, word: string): string | null {
  const s = line.lastIndexOf(word);
  const r = dottedNameIn(line, s, s + word.length);
  if (!r) return null;
  assert.equal(line.slice(r.start, s + word.length), r.parts.join('.'), 'start is where the chain begins');
  return r.parts.join('.');
}

describe('debug hover: the dotted name at the hovered word', function () {
  it('takes a plain name and its attribute chain', function () {
    assert.equal(at('loss = F.cross_entropy(logits, y)', 'logits'), 'logits');
    assert.equal(at('out = outputs.logits', 'logits'), 'outputs.logits');
    assert.equal(at('  z = self.model.out + 1', 'out'), 'self.model.out');
    assert.equal(at('v = _a1.b_2', 'b_2'), '_a1.b_2');
  });

  it('starts a name at a letter or underscore, as Python does', function () {
    assert.equal(at('x = 9abc.val', 'val'), 'abc.val');
    assert.equal(at('x = ab9c.val', 'val'), 'ab9c.val');
    assert.equal(at('x = 1.5 + 2.e', 'e'), null, 'the attribute of a number: a . before it with no name');
  });

  it('refuses the attribute of a call, a subscript or a broken chain', function () {
    assert.equal(at('y = model(x).logits', 'logits'), null);
    assert.equal(at('y = batch[0].target', 'target'), null);
    assert.equal(at('y = batch[0] .target', 'target'), null);
    assert.equal(at('y = a..b', 'b'), null);
    assert.equal(at('y = a. b', 'b'), null);
    assert.equal(at('y = (a) + b', 'b'), 'b', 'a name after a bracket and an operator is a name');
  });

  it('refuses Python keywords anywhere in the chain', function () {
    assert.equal(at('def forward', 'forward'), 'forward');
    assert.equal(at('import torch', 'import'), null);
    assert.equal(at('x = None', 'None'), null);
    assert.equal(at('x = self.None', 'None'), null);
  });

  it('walks a million-character identifier run before the word in one pass', function () {
    // Two seconds is far above the walk's milliseconds; the regex it replaced took ~3 s at 80 K characters
    // and grew with the square of the run.
    this.timeout(2000);
    const run = 'ab'.repeat(500_000);
    assert.equal(at(`key = "${run}"; loss = f(logits)`, 'logits'), 'logits');
    assert.equal(at(`x = ${run}.logits`, 'logits'), `${run}.logits`);
    assert.equal(at(`x = ${'a.'.repeat(200_000)}logits`, 'logits')?.length, 400_006);
  });
});
