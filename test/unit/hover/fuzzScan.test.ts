// Fuzzing the hover path: the literal scanner (scanDocument, literalAt, pathAt, findPair) on generated
// Python, JSON and Markdown documents, mutated and as token soup, and hoverReport on what it finds. The
// index must be consistent (sorted, non-overlapping spans inside the text, bracketed lists), a literal
// planted in a document must be found and read back equal, and reports hold values or one-line messages
// of ours (never "internal error"), each case within the kit's time and memory bounds.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { hoverReport, parseLiteral, type HoverReport } from '../../../src/hover/report';
import { findPair, literalAt, pathAt, scanDocument, type DocumentSyntax, type LiteralIndex } from '../../../src/hover/scan';
import { CASE_MS, MAX_MESSAGE, assertSameTensor, awkwardString, total } from '../tensor/fuzzKit';

function checkMessage(text: string): void {
  assert.doesNotMatch(text, /^internal error|Maximum call stack|RangeError|TypeError/, text.slice(0, 200));
  assert.doesNotMatch(text, /[\r\n]/, 'one line');
  assert.ok(text.length <= MAX_MESSAGE, `${text.length} characters`);
}

function checkReport(r: HoverReport): void {
  if (!r.tensor.ok) checkMessage(r.tensor.error);
  if (r.loss !== null && !r.loss.ok) checkMessage(r.loss.error);
}

/** Scans a document in every syntax and checks the index, the lookups, the pairs and the reports. */
function scanned(text: string, syntaxes: readonly DocumentSyntax[] = ['python', 'json', 'markdown']): void {
  for (const syntax of syntaxes) {
    const idx = total(() => scanDocument(text, syntax));
    if (idx === undefined) continue;
    checkIndex(text, idx);
    for (const l of idx.literals.slice(0, 6)) {
      const pair = total(() => findPair(idx, l));
      const literals = [l, ...(pair === null || pair === undefined ? [] : [pair.input, pair.target, ...(pair.weight ? [pair.weight] : [])])];
      for (const x of literals) assert.ok(idx.literals.includes(x), 'a pair is made of the index');
      const texts = literals.map((x) => ({ text: text.slice(x.start, x.end), syntax: x.syntax, name: x.name }));
      const req = { literals: texts, hovered: 0, pair: pair ? { input: 1, target: 2, weight: pair.weight ? 3 : null } : null, options: {} };
      const r = total(() => hoverReport(req), CASE_MS * 2);
      assert.ok(r !== undefined, 'hoverReport returns messages, never throws');
      checkReport(r);
    }
  }
}

function checkIndex(text: string, idx: LiteralIndex): void {
  let last = 0;
  for (const l of idx.literals) {
    assert.ok(l.start >= last, 'sorted, not overlapping');
    assert.ok(l.start <= l.listStart && l.listStart < l.listEnd && l.listEnd <= l.end && l.end <= text.length, `span ${l.start} ${l.listStart} ${l.listEnd} ${l.end} of ${text.length}`);
    assert.equal(text[l.listStart], '[');
    assert.equal(text[l.listEnd - 1], ']');
    assert.equal(literalAt(idx, l.start), l);
    assert.equal(literalAt(idx, l.end - 1), l);
    assert.notEqual(literalAt(idx, l.end), l);
    last = l.end;
  }
  last = 0;
  for (const p of idx.paths) {
    assert.ok(p.start >= last && p.end > p.start && p.end <= text.length, 'paths sorted, inside the text');
    assert.equal(pathAt(idx, p.start), p);
    last = p.start;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Documents

const numberText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -1000, max: 1000 }).map((k) => (k / 8).toString()) },
  { weight: 2, arbitrary: fc.integer({ min: -50, max: 50 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('nan', 'inf', '-inf', 'NaN', 'Infinity', '1e999', '1e-3', '2.', '.5', 'True', 'False', 'true', '…', '...', '1j', 'x', '"s"', '1_0') },
);

const listText: fc.Arbitrary<string> = fc.letrec<{ list: string; item: string }>((tie) => ({
  list: fc.tuple(fc.array(tie('item'), { maxLength: 4 }), fc.constantFrom(', ', ',', ' ', ',\n  ', '  ')).map(([xs, sep]) => `[${xs.join(sep)}]`),
  item: fc.oneof({ depthSize: 'small', maxDepth: 5 }, { weight: 3, arbitrary: numberText }, { weight: 2, arbitrary: tie('list') }),
})).list;

const name = fc.constantFrom('logits', 'labels', 'target', 'input', 'weight', 'pred', 'y', 'x', 'outputs', 'Logits', 'data', '__proto__');
const wrap = fc.constantFrom('', 'torch.tensor(', 'np.array(', 'tensor(', 'array(', 'torch.as_tensor(', 'f(');
const pyLine = fc.oneof(
  fc.tuple(name, wrap, listText, fc.constantFrom('', ', dtype=torch.float64', ', dtype=float32', ', requires_grad=True')).map(([n, w, l, a]) => `${n} = ${w}${l}${w === '' ? '' : `${a})`}`),
  fc.tuple(awkwardString, listText).map(([s, l]) => `# ${s.slice(0, 40).replace(/\n/g, ' ')} ${l}`),
  awkwardString.map((s) => `s = ${JSON.stringify(s.slice(0, 60))}`),
  fc.constantFrom("np.load('x.npy')", 'f = "data/a.npz:logits"', "'''\n[1, 2]\n'''", 'x = a[0] + f(1)[2]', 'print(t)', '```', '```python', '```json'),
);
const pythonDoc = fc.array(pyLine, { maxLength: 8 }).map((ls) => ls.join('\n'));

const jsonDoc = fc.letrec<{ doc: string; value: string }>((tie) => ({
  doc: fc.array(fc.tuple(fc.oneof(name, awkwardString.map((s) => s.slice(0, 40))), tie('value')), { maxLength: 4 }).map((kvs) => `{${kvs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(',\n ')}}`),
  value: fc.oneof({ depthSize: 'small', maxDepth: 3 }, { weight: 4, arbitrary: listText }, { weight: 1, arbitrary: tie('doc') }, { weight: 1, arbitrary: fc.constantFrom('"x.npy"', '"a.npz:y"', 'null', '1', '// c\n[1]', '/* [ */ [2]') }),
})).doc;

const markdownDoc = fc.array(fc.oneof(
  fc.tuple(fc.constantFrom('```python', '```json', '```', '~~~', '```py'), fc.oneof(pythonDoc, jsonDoc)).map(([f, body]) => `${f}\n${body}\n${f.startsWith('~') ? '~~~' : '```'}`),
  awkwardString.map((s) => s.slice(0, 40)),
  listText,
), { maxLength: 5 }).map((parts) => parts.join('\n\n'));

describe('fuzz: hover scanner and reports', function () {
  this.timeout(30000);

  it('generated Python, JSON and Markdown documents', () => {
    fc.assert(fc.property(fc.oneof(pythonDoc, jsonDoc, markdownDoc), (text) => scanned(text)), { numRuns: 400, seed: 41 });
  });

  it('generated documents mutated character by character', () => {
    const pieces = ['', '[', ']', '(', ')', '"', "'", '#', '\n', '```', '//', '/*', '*/', '\\', ',', ' ', '…', 'e', '{', '}'];
    fc.assert(
      fc.property(fc.oneof(pythonDoc, jsonDoc, markdownDoc), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 6 }), (doc, edits) => {
        let text = doc;
        for (const [at, del, add] of edits) {
          const p = at % (text.length + 1);
          text = text.slice(0, p) + add + text.slice(p + del);
        }
        scanned(text);
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  it('random strings and token soup', () => {
    const tokens = ['[', ']', '(', ')', '{', '}', ',', ' ', '\n', '1', '-2.5', 'nan', 'True', '"', "'", '#', '//', '/*', '*/', '```', '```python\n', 'tensor(', 'np.array(', 'x = ', '"logits": ', '"labels": ', '"a.npy"', '\\', '…', '\u2028', '😀'];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((a) => a.join(''))), (text) => scanned(text)),
      { numRuns: 500, seed: 43 },
    );
  });

  it('a numeric list planted in any document is found whole and reads back equal', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: -800, max: 800 }), { minLength: 27, maxLength: 27 }),
        fc.constantFrom('python' as const, 'json' as const, 'markdown' as const),
        fc.oneof(pythonDoc, fc.constant('')),
        (shape, pool, syntax, around) => {
          let k = 0;
          const build = (d: number): string => (d === shape.length ? (pool[k++] / 8).toFixed(3) : `[${Array.from({ length: shape[d] }, () => build(d + 1)).join(', ')}]`);
          const list = build(0);
          const values = pool.slice(0, k).map((x) => Number((x / 8).toFixed(3)));
          const safe = around.replace(/```|~~~/g, '');
          const body = syntax === 'json' ? `{"logits": ${list}, "other": "${safe.length % 7}"}` : `${safe}\nlogits = ${list}\n`;
          const text = syntax === 'markdown' ? `# notes\n\n\`\`\`python\n${body}\n\`\`\`\n` : body;
          const idx = scanDocument(text, syntax);
          const start = text.indexOf(`${syntax === 'json' ? '"logits": ' : 'logits = '}${list}`) + (syntax === 'json' ? 10 : 9);
          const l = literalAt(idx, start);
          assert.ok(l !== undefined, `found at ${start} in ${JSON.stringify(text).slice(0, 300)}`);
          assert.equal(text.slice(l.listStart, l.listEnd), list);
          assert.equal(l.name, 'logits');
          assertSameTensor(parseLiteral({ text: text.slice(l.start, l.end), syntax: l.syntax, name: l.name }), { dtype: 'float64', shape, data: values });
        },
      ),
      { numRuns: 300, seed: 44 },
    );
  });

  describe('pathological documents finish within bounds', function () {
    const BIG_CASE_MS = 3000;
    const docs: Array<[string, DocumentSyntax, string]> = [
      ['100k-level JSON list', 'json', `{"logits": ${'['.repeat(100000)}1${']'.repeat(100000)}}`],
      ['100k-level Python list', 'python', `x = ${'['.repeat(100000)}1${']'.repeat(100000)}`],
      ['100k open brackets', 'python', '['.repeat(100000)],
      ['100k-level JSON objects', 'json', '{"a": '.repeat(100000) + '[1]' + '}'.repeat(100000)],
      ['50k small literals', 'python', 'x = [1, 2]\n'.repeat(50000)],
      ['50k fences', 'markdown', '```python\n[1]\n```\n'.repeat(50000)],
      ['300k-character line of numbers', 'json', `{"logits": [${'1.5, '.repeat(60000)}1]}`],
      ['a 200k-character string', 'python', `s = "${'['.repeat(200000)}"`],
    ];
    for (const [title, syntax, text] of docs) {
      it(title, function () {
        const idx = total(() => scanDocument(text, syntax), BIG_CASE_MS);
        if (idx === undefined) return;
        checkIndex(text, idx);
        for (const l of idx.literals.slice(0, 2)) {
          const r = total(() => hoverReport({ literals: [{ text: text.slice(l.start, l.end), syntax: l.syntax, name: l.name }], hovered: 0, pair: null, options: {} }), BIG_CASE_MS);
          assert.ok(r !== undefined);
          checkReport(r);
        }
      });
    }
  });
});
