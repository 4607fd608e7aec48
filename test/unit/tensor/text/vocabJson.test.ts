// The vocabulary JSON reader against JSON.parse (the oracle) on valid and invalid documents, and its
// streaming of {token: id} tables in file order.
import * as assert from 'node:assert/strict';
import { JsonScanError, scanJson } from '../../../../src/tensor/text/vocabJson';

const plain = { stream: [] as string[], skip: [] as string[], maxDepth: 64, onMember: (): void => {} };
// Null-prototype objects compare by content: round-trip both sides through JSON.stringify.
const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

describe('vocabulary JSON reader', function () {
  it('reads what JSON.parse reads: escapes, surrogate pairs, numbers, nesting, whitespace', function () {
    const docs = [
      '{"a": "\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t", "b": "\\ud83d\\ude00 \u2581x", "c": [1, -0, 0.5, -1.5e3, 1E-7, 12345678901234567890, 9007199254740993]}',
      ' \r\n\t[ { } , [ ] , "" , true , false , null ] ',
      '"\\u0000x\\u001f"',
      '-12.75e+2',
      '{"model": {"vocab": {"Ġthe": 262, "__proto__": 1}, "merges": ["a b", ["c", "d"]]}, "deep": [[[[["x"]]]]]}',
      '\ufeff{"bom": 1}',
    ];
    for (const d of docs) assert.deepEqual(norm(scanJson(d, plain)), norm(JSON.parse(d.replace(/^\ufeff/, ''))), d);
    const big = JSON.stringify({ model: { vocab: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`t${i}\\"é${String.fromCharCode(0x100 + (i % 300))}`, i])) } });
    assert.deepEqual(norm(scanJson(big, plain)), JSON.parse(big));
  });

  it('refuses what JSON.parse refuses, with a position', function () {
    const bad = ['[1,]', '{"a" 1}', '01', '1.', '.5', '+1', '"\\x"', '"abc', 'tru', '[1 2]', '{,}', '-', '1e', '"\\u12G4"', '{} x', '', '{"a":1,}', "{'a':1}", 'NaN', '[', '{"a":'];
    for (const d of bad) {
      assert.throws(() => JSON.parse(d), SyntaxError, `JSON.parse accepts ${d}`);
      assert.throws(() => scanJson(d, plain), (e: unknown) => e instanceof JsonScanError && /at line \d+ column \d+$/.test(e.message), d);
    }
    assert.throws(() => scanJson('{\n  "a": [1,\n  ]}', plain), /at line 3 column 3/);
  });

  it('streams number members of the named tables in file order and skips the named values', function () {
    const got: [string, string, number][] = [];
    const doc = scanJson('{"x": 3, "model": {"vocab": {"b": 1, "12": 0, "s": "str"}, "merges": [["a", "b"]]}, "y": {"z": 4}}', {
      stream: ['', 'model.vocab'],
      skip: ['model.merges'],
      maxDepth: 8,
      onMember: (path, key, value) => got.push([path, key, value]),
    }) as Record<string, Record<string, unknown>>;
    assert.deepEqual(got, [['', 'x', 3], ['model.vocab', 'b', 1], ['model.vocab', '12', 0]]);
    assert.deepEqual(norm(doc), { model: { vocab: { s: 'str' }, merges: null }, y: { z: 4 } });
    assert.equal(Object.getPrototypeOf(doc), null);
    // Skipped values are still checked.
    assert.throws(() => scanJson('{"model": {"merges": [1,]}}', { ...plain, skip: ['model.merges'] }), JsonScanError);
  });

  it('keeps "__proto__" an own property and bounds nesting', function () {
    const doc = scanJson('{"__proto__": {"polluted": 1}}', plain) as Record<string, unknown>;
    assert.ok(Object.prototype.hasOwnProperty.call(doc, '__proto__'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.throws(() => scanJson('['.repeat(65) + ']'.repeat(65), plain), /nesting deeper than 64 levels/);
    assert.doesNotThrow(() => scanJson('['.repeat(64) + ']'.repeat(64), plain));
  });
});
