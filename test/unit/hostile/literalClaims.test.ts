// Nested lists whose first elements claim a far larger tensor than the text holds (hostile review, twelfth
// session): [[[100 numbers], [], ... 90,000 lists], [], ... 100 lists] claims [100, 90000, 100], 900 M values,
// in 361 K characters. The parsers allocated that claim (7.2 GB) before their walk found the list ragged; a
// hover on such a literal, or a .json tensor file, now allocates no more than the values there are and
// refuses it in one line.
import * as assert from 'node:assert/strict';
import { isLensError } from '../../../src/errors';
import { parseLiteral } from '../../../src/hover/report';
import { parseJsonTensorFile } from '../../../src/tensor/text/json';
import { parsePrintedTensor } from '../../../src/tensor/text/printed';

const leaf = `[${Array.from({ length: 100 }, () => '1.5').join(', ')}]`;
const claim = `[[${leaf}${', []'.repeat(89_999)}]${', []'.repeat(99)}]`;

/** Runs `parse`, which must refuse the list as ragged in one line, and returns the array memory it added. */
function refusedWithin(parse: () => unknown, what: string): number {
  global.gc?.();
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  const watch = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
  try {
    assert.throws(parse, (e: unknown) => isLensError(e) && /ragged/.test(e.message) && !e.message.includes('\n'), what);
  } finally {
    clearInterval(watch);
  }
  return Math.max(peak, process.memoryUsage().arrayBuffers) - before;
}

describe('hostile: nested lists that claim more than they hold', function () {
  this.timeout(60_000);

  it(`a ${claim.length.toLocaleString('en-US')}-character list claiming 900 M values is refused without allocating the claim`, function () {
    assert.ok(claim.length < 400_000);
    const cases: Array<[string, () => unknown]> = [
      ['a JSON literal in a hover', () => parseLiteral({ text: claim, syntax: 'json', name: 'x' })],
      ['a printed tensor in a hover', () => parseLiteral({ text: `tensor(${claim})`, syntax: 'python', name: 'x' })],
      ['printed text', () => parsePrintedTensor(`tensor(${claim})`)],
      ['a .json tensor file', () => parseJsonTensorFile(claim, 'claim.json')],
    ];
    for (const [what, parse] of cases) {
      // Allocated without ever being touched, the claim counts in full here (7.2 GB).
      const grew = refusedWithin(parse, what);
      assert.ok(grew < 64 << 20, `${what}: array memory grew by ${(grew / 2 ** 20).toFixed(0)} MB`);
    }
  });
});
