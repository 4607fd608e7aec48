// The literal scanner's cost on hostile documents: each character is handled a bounded number of times,
// so time grows linearly. It was quadratic: every closing bracket with no opener of its kind walked the
// whole stack (256 KiB of '(' then ']' froze the extension host for 40 s), and every search for the end of
// a comment or string in a Markdown fence ran on to the end of the document.
import * as assert from 'node:assert/strict';
import { isLensError } from '../../../src/errors';
import { scanDocument, type DocumentSyntax } from '../../../src/hover/scan';
import { assertLinear, medianMs } from './timing';

function scan(syntax: DocumentSyntax): (text: string) => void {
  return (text) => void scanDocument(text, syntax);
}

describe('hover scan: cost on hostile documents', function () {
  this.timeout(120_000);

  it('256 KiB of "(" then "]" scans in well under a second (it took 40 s)', function () {
    const doc = '('.repeat(128 * 1024) + ']'.repeat(128 * 1024);
    scanDocument(doc.slice(0, 4096), 'python');
    const ms = medianMs(() => scanDocument(doc, 'python'));
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
  });

  it('closing brackets that match no open one of their kind: linear (Python and JSON)', function () {
    assertLinear('( then ]', (n) => '('.repeat(n / 2) + ']'.repeat(n / 2), scan('python'), 32 * 1024);
    assertLinear('{ then )', (n) => '{'.repeat(n / 2) + ')'.repeat(n / 2), scan('json'), 32 * 1024);
    // Interleaved: runs of openers, each closed by a run of another kind.
    assertLinear('[ then }', (n) => ('['.repeat(1024) + '}'.repeat(1024)).repeat(n / 2048), scan('json'), 64 * 1024);
  });

  it('Markdown fences with an unterminated comment or string: each search ends at its fence (linear)', function () {
    assertLinear('/* in json fences', (n) => '```json\n/*\n```\n'.repeat(n / 16), scan('markdown'), 128 * 1024);
    assertLinear('# and \'\'\' in python fences', (n) => "```python\n'''\n```\n```\n# x".repeat(n / 28), scan('markdown'), 128 * 1024);
  });

  it('empty Markdown fences: each is a step of the budget, so the deadline stops them; linear', function () {
    // They hold no tokens, and the deadline was read every 4096 tokens: 32 MB of them took 48 s past a 20 s
    // limit (a new bracket stack and closing pattern per fence; now one of each per scan).
    const fences = '```\n```\n'.repeat(100_000);
    assert.throws(() => scanDocument(fences, 'markdown', { deadline: performance.now() - 1 }), (e: unknown) => isLensError(e) && /took too long/.test(e.message));
    assertLinear('empty ``` fences', (n) => '```\n```\n'.repeat(n / 8), scan('markdown'), 128 * 1024);
    assertLinear('~~~ lines', (n) => '~~~\n'.repeat(n / 4), scan('markdown'), 128 * 1024);
  });

  it('gives up past a deadline, past a number of literals, and past a nesting depth', function () {
    const many = '[1] '.repeat(100_000);
    const fails = (f: () => unknown, re: RegExp): void => {
      assert.throws(f, (e: unknown) => isLensError(e) && re.test(e.message));
    };
    fails(() => scanDocument(many, 'python', { deadline: performance.now() - 1 }), /took too long/);
    fails(() => scanDocument(many, 'python', { maxEntries: 1000 }), /more than 1000 tensor literals/);
    fails(() => scanDocument('('.repeat(5000), 'python', { maxDepth: 4096 }), /nest more than 4096 deep/);
    // Within the limits, the same document scans in full; nested rows do not count as literals.
    assert.equal(scanDocument(many, 'python', { maxEntries: 100_000, maxDepth: 2 }).literals.length, 100_000);
    const rows = `[${'[1, 2], '.repeat(5000)}[3, 4]]`;
    assert.equal(scanDocument(rows, 'json', { maxEntries: 1 }).literals.length, 1);
  });
});
