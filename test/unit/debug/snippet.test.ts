// The request quoting and the evaluateName parser, against Python itself: every string the lens quotes
// reads back unchanged in Python, and every evaluateName it accepts is one Python would read as that path.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseEvaluateName, parsePyStringLiteral, parseReply, pyStr, refLabel, DebuggeeError } from '../../../src/debug/snippet';

function python(code: string, input: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('debug snippet quoting', function () {
  const nasty = [
    '', 'plain', "it's", 'say "hi"', 'back\\slash', 'new\nline', 'cr\rtab\t', '\0nul', '\x7f\x80\xff', 'é日本', '😀 astral',
    '\ud800 lone', "'); __import__('os').system('x'); ('", '\\x41 not an escape', '\u2028\u2029', 'a'.repeat(5000),
  ];

  it('pyStr: Python reads every literal back as the same string, and the literal is ASCII', function () {
    for (const s of nasty) assert.match(pyStr(s), /^[\x20-\x7e]*$/, JSON.stringify(s));
    // Python's repr of each read-back value, compared through JSON code points (lone surrogates included).
    const got = python(
      'import ast, json, sys\nfor line in sys.stdin.read().split("\\n"):\n    if line: print(json.dumps([ord(c) for c in ast.literal_eval(line)]))',
      nasty.map(pyStr).join('\n') + '\n',
    ).trim().split('\n');
    assert.equal(got.length, nasty.length);
    nasty.forEach((s, i) => {
      const want = [...s].map((c) => c.codePointAt(0));
      assert.deepEqual(JSON.parse(got[i]!), want, JSON.stringify(s));
    });
  });

  it('parsePyStringLiteral reads what Python\'s repr() writes, for every test string', function () {
    const reprs = python('import ast, json, sys\nfor s in json.loads(sys.stdin.read()): print(repr(s))', JSON.stringify(nasty.filter((s) => !/[\ud800-\udfff]/.test(s.replace(/😀/g, ''))))).split('\n').filter((l) => l !== '');
    const kept = nasty.filter((s) => !/[\ud800-\udfff]/.test(s.replace(/😀/g, '')));
    assert.equal(reprs.length, kept.length);
    reprs.forEach((r, i) => {
      const lit = parsePyStringLiteral(r, 0);
      assert.ok(lit, r);
      assert.equal(lit.value, kept[i]);
      assert.equal(lit.end, r.length);
    });
  });

  it('parseEvaluateName: names, attributes, int indices and str keys; everything else is refused', function () {
    assert.deepEqual(parseEvaluateName('logits'), { root: 'logits', steps: [] });
    assert.deepEqual(parseEvaluateName('outputs.logits'), { root: 'outputs', steps: [['attr', 'logits']] });
    assert.deepEqual(parseEvaluateName("batch['labels']"), { root: 'batch', steps: [['key', 'labels']] });
    assert.deepEqual(parseEvaluateName('batch["it\'s"][0].x'), { root: 'batch', steps: [['key', "it's"], ['index', 0], ['attr', 'x']] });
    assert.deepEqual(parseEvaluateName('d[-1]'), { root: 'd', steps: [['index', -1]] });
    for (const bad of ['len(batch)', "d[__import__('os')]", "d['a'] + x", 'd[1.5]', 'x.y()', "d[b'k']", "d[f'{x}']", "d['''x''']", 'a b', '1x', "d['unterminated]", "d['\\q']", 'x[', "special variables"]) {
      assert.equal(parseEvaluateName(bad), null, bad);
    }
  });

  it('refLabel writes keys as JSON strings (batch["labels"]) and indices as numbers', function () {
    assert.equal(refLabel({ root: 'batch', steps: [['key', 'labels'], ['index', 2], ['attr', 'x']] }), 'batch["labels"][2].x');
    assert.equal(refLabel({ root: 'd', steps: [['key', 3]] }), 'd[3]');
  });

  it('parseReply: the quoted base64 JSON; an error reply throws DebuggeeError with its line; anything else says what came', function () {
    const b64 = (o: unknown): string => `'${Buffer.from(JSON.stringify(o)).toString('base64')}'`;
    assert.deepEqual(parseReply<'remove'>(b64({ removed: '/tmp/x' })), { removed: '/tmp/x' });
    assert.throws(() => parseReply(b64({ error: 'x is a int, not a torch.Tensor' })), (e: Error) => e instanceof DebuggeeError && e.message === 'x is a int, not a torch.Tensor');
    assert.throws(() => parseReply("NameError: name 'torch' is not defined"), /the debugger answered "NameError/);
  });
});
