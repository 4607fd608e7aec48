// Hostile inputs at every entry point that reads untrusted JSON or echoes untrusted text: 100k levels of
// nesting must be refused with one line naming the limit (never a RangeError from the stack), and a 60 KB
// string where a name or dtype is expected must come back cut short.
import * as assert from 'node:assert/strict';
import type { OutputItem } from 'vscode-notebook-renderer';
import { readPayload } from '../../../media/rendererCore';
import { LensError } from '../../../src/errors';
import { decodeTensorFile } from '../../../src/tensor/load';
import { MAX_TENSOR_DIMS, parseJsonTensor, parseJsonTensorFile } from '../../../src/tensor/text/json';
import { decodePayload, jsonNestsDeeperThan, MAX_PAYLOAD_DEPTH } from '../../../src/tensor/text/payload';
import { fromWire, toWire } from '../../../src/wire';

const LEVELS = 100_000;
const deepList = (n: number, leaf = '1'): string => '['.repeat(n) + leaf + ']'.repeat(n);
const deepObject = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const BIG = 'x'.repeat(60_000);

/** The LensError fn throws: one line, short, never another exception. */
function refused(fn: () => unknown, re: RegExp, maxLength = 300): LensError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof LensError, `expected a LensError, got ${error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : String(error)}`);
  assert.doesNotMatch(error.message, /[\r\n]/, 'one line');
  assert.ok(error.message.length < maxLength, `${error.message.length} characters: ${error.message.slice(0, 200)}…`);
  assert.match(error.message, re);
  return error;
}

function outputItem(text: string): Pick<OutputItem, 'data' | 'json'> {
  const bytes = new TextEncoder().encode(text);
  return { data: () => bytes, json: () => JSON.parse(text) as unknown };
}

describe('hostile inputs: 100k levels of nesting', function () {
  const depthLimit = /nested more than \d+ levels deep \(a tensor has at most 64 dimensions\)|nest more than 64 levels deep: a tensor has at most 64 dimensions/;

  it('payload text (decodePayload of a string) is refused before JSON.parse', function () {
    refused(() => decodePayload(`{"input": ${deepList(LEVELS)}, "target": [0]}`), /^payload is nested more than 66 levels deep/);
    refused(() => decodePayload(`{"input": [[1]], "target": [0], "options": ${deepObject(LEVELS)}}`), depthLimit);
  });

  it('payload value (what the host gets from renderer messaging, already parsed)', function () {
    refused(() => decodePayload(JSON.parse(`{"input": ${deepList(LEVELS)}, "target": [0]}`)), /^payload\.input is nested more than 65 levels deep/);
    refused(() => decodePayload(JSON.parse(`{"input": [[1]], "target": {"dtype": "int64", "shape": [1], "data": ${deepList(LEVELS)}}}`)), /^payload\.target is nested/);
    refused(() => decodePayload(JSON.parse(`{"input": [[1]], "target": [0], "options": {"classNames": ${deepList(LEVELS, '"a"')}}}`)), /^payload\.options is nested/);
    refused(() => decodePayload(JSON.parse(`{"input": [[1]], "target": [0], "extra": ${deepObject(LEVELS)}}`)), /^payload\.extra is nested/);
    // A long key is named cut short.
    refused(() => decodePayload(JSON.parse(`{"input": [[1]], "target": [0], "${BIG}": ${deepList(LEVELS)}}`)), /^payload\["x{40}…"\] is nested/);
  });

  it('payload nesting up to the limit still decodes: a 64-dimensional tensor in a record', function () {
    const list = deepList(MAX_TENSOR_DIMS, '0.5');
    const p = decodePayload(`{"input": {"dtype": "float32", "shape": [${new Array(MAX_TENSOR_DIMS).fill(1).join(',')}], "data": ${list}}, "target": ${deepList(MAX_TENSOR_DIMS - 1, '0')}}`);
    assert.equal(p.input.shape.length, MAX_TENSOR_DIMS);
    assert.equal(p.target.shape.length, MAX_TENSOR_DIMS - 1);
    refused(() => decodePayload({ input: JSON.parse(deepList(MAX_TENSOR_DIMS + 1)) as unknown, target: [0] }), /lists at payload\.input nest more than 64 levels deep: a tensor has at most 64 dimensions/);
  });

  it('the renderer checks the output bytes before parsing them', function () {
    const item = outputItem(`{"input": ${deepList(LEVELS)}, "target": [0]}`);
    refused(() => readPayload({ data: item.data, json: () => assert.fail('a 100k-level output must not be parsed') }), /^payload is nested more than 66 levels deep/);
  });

  it('JSON tensor files (parseJsonTensorFile, decodeTensorFile), lists and objects', function () {
    refused(() => parseJsonTensorFile(deepList(LEVELS), 'x.json'), /^x\.json: invalid JSON at line 1:73: nested more than 72 levels deep/);
    refused(() => parseJsonTensorFile(`{"logits": ${deepObject(LEVELS)}}`, 'x.json'), depthLimit);
    refused(() => decodeTensorFile('x.json', new TextEncoder().encode(deepList(LEVELS)), 'input'), depthLimit);
    refused(() => parseJsonTensorFile(deepList(MAX_TENSOR_DIMS + 1), 'x.json'), /^x\.json: lists at \$ nest more than 64 levels deep/);
    assert.equal(parseJsonTensorFile(deepList(MAX_TENSOR_DIMS), 'x.json').tensor?.shape.length, MAX_TENSOR_DIMS);
  });

  it('already-parsed values (parseJsonTensor of JSON.parse output, as the selection command does)', function () {
    refused(() => parseJsonTensor(JSON.parse(deepList(LEVELS)) as unknown), /^lists at \$ nest more than 64 levels deep/);
    refused(() => parseJsonTensor(JSON.parse(`{"dtype": "float32", "shape": [1], "data": ${deepList(LEVELS)}}`) as unknown), /lists at \$\.data nest more than 64/);
    refused(() => parseJsonTensor({ dtype: 'float32', shape: new Array(1000).fill(1), data: [1] }), /\$\.shape has 1000 dimensions: a tensor has at most 64/);
  });

  it('the wire: fromWire refuses a 100k-level message, toWire a 100k-level value', function () {
    refused(() => fromWire(JSON.parse(deepList(LEVELS))), /message nested more than 100 levels deep/);
    refused(() => fromWire(JSON.parse(deepObject(LEVELS))), /message nested more than 100 levels deep/);
    assert.throws(() => toWire(JSON.parse(deepList(LEVELS))), (e: unknown) => e instanceof TypeError && /nested more than 100 levels/.test(e.message));
    // A real message's depth is far below the bound.
    const msg = { outputId: 'o', msg: { type: 'summary', summary: { confusion: [[1, 2], [3, NaN]], perClass: [{ class: 0, share: Infinity }] } } };
    assert.deepEqual(fromWire(JSON.parse(JSON.stringify(toWire(msg)))), msg);
  });

  it('the pre-scan counts brackets outside strings only, in text and UTF-8 bytes alike', function () {
    const cases: Array<[string, number]> = [
      ['[[1]]', 2],
      ['{"a": [{"b": []}]}', 4],
      [`["${'['.repeat(100)}", "\\"[[[", "é[[["]`, 1],
      ['"unterminated [[[[', 0],
      ['', 0],
    ];
    for (const [text, depth] of cases) {
      for (const form of [text, new TextEncoder().encode(text)]) {
        assert.equal(jsonNestsDeeperThan(form, depth), false, `${text} within ${depth}`);
        if (depth > 0) assert.equal(jsonNestsDeeperThan(form, depth - 1), true, `${text} over ${depth - 1}`);
      }
    }
    assert.equal(MAX_PAYLOAD_DEPTH, MAX_TENSOR_DIMS + 2);
  });
});

describe('hostile inputs: 60 KB strings are echoed cut short', function () {
  it('JSON tensors: dtype names, object keys, unparsable text', function () {
    refused(() => parseJsonTensorFile(`{"dtype": "${BIG}", "shape": [1], "data": [1]}`, 'x.json'), /unknown dtype "x{40}…" at \$\.dtype/);
    refused(() => parseJsonTensorFile(`{"${BIG}": [1], "b": [2]}`, 'x.json'), /found keys: "x{40}…", b$/);
    refused(() => parseJsonTensorFile(`{"logits": {"${BIG}": 1}}`, 'x.json'), /found an object with keys "x{40}…"/);
    refused(() => parseJsonTensorFile(`[1, ${BIG}]`, 'x.json'), /expected a value, found 'x{12}'/);
    refused(() => parseJsonTensorFile(`["${BIG}"]`, 'x.json'), /expected a number at \$\[0\], found the string "x{20}…"/);
    refused(() => parseJsonTensor(JSON.parse(`{"dtype": "float32", "shape": ["${BIG}"], "data": [1]}`)), /expected a list of non-negative integers at \$\.shape/);
  });

  it('values that do not fit print short, even 1e308', function () {
    refused(() => parseJsonTensorFile(`{"dtype": "int32", "shape": [1], "data": [1${'0'.repeat(308)}]}`, 'x.json'), /value 1e\+308 at index \[0\] of \$\.data does not fit int32/);
    refused(() => parseJsonTensorFile(`[1, ${'9'.repeat(300)}]`, 'x.json'), /int64 value 1e\+300 at index \[1\] does not fit/);
  });

  it('payloads: keys, class names, unparsable text', function () {
    refused(() => decodePayload(`{"input": [1], "${BIG}`), /^payload is not valid JSON/);
    refused(() => decodePayload({ input: { dtype: BIG, shape: [1], data: [1] }, target: [0] }), /unknown dtype "x{40}…" at payload\.input\.dtype/);
    refused(() => decodePayload({ input: { [BIG]: 1 }, target: [0] }), /found an object with keys "x{40}…"/);
    refused(() => decodePayload({ input: [[1]], target: [0], options: { classNames: [{ toString: 1 }] } }), /payload\.options\.classNames\[0\] must be a string, found an object/);
    assert.equal(decodePayload({ input: [[1]], target: [0], options: { classNames: [BIG, 3] } }).classNames[0].length, 200);
  });

  it('the renderer cuts a parser message that quotes the output', function () {
    const item = outputItem('{}');
    refused(() => readPayload({ data: item.data, json: () => { throw new SyntaxError(`Unexpected token in "${BIG}"`); } }), /^output is not valid JSON \(Unexpected token in "x+…\)$/);
  });

  it('a member name given for a file that is no archive', function () {
    refused(() => decodeTensorFile('x.json', new TextEncoder().encode('[1]'), 'input', BIG), /^x\.json: a member name \(:"x{40}…"\) only applies to \.npz, torch\.save/);
    // Plain names still show as they are.
    refused(() => decodeTensorFile('x.json', new TextEncoder().encode('[1]'), 'input', 'logits'), /\(:logits\)/);
  });
});
