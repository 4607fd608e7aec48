// Literal discovery for hovers: which text is a tensor literal, where it starts and ends, what names it,
// and which literals pair up as input and target.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { findPair, literalAt, pathAt, roleOfName, scanDocument, type LiteralSpan } from '../../../src/hover/scan';

function texts(src: string, spans: readonly LiteralSpan[]): string[] {
  return spans.map((s) => src.slice(s.start, s.end));
}

/** The literal under the first occurrence of `needle`, as text. */
function at(src: string, syntax: 'json' | 'python' | 'markdown', needle: string): string | undefined {
  const i = src.indexOf(needle);
  assert.ok(i >= 0, needle);
  const l = literalAt(scanDocument(src, syntax), i);
  return l === undefined ? undefined : src.slice(l.start, l.end);
}

describe('hover: literal discovery (Python)', function () {
  it('finds nested, multi-line calls with arguments and comments, outermost only', function () {
    const src = [
      'import torch',
      'logits = torch.tensor([[2.0, 1.0, 0.1],  # first [row]',
      '                       [0.5, 2.5, 0.3]],',
      '                      dtype=torch.float64, requires_grad=True)',
      'labels = np.array([0, 1])',
    ].join('\n');
    const idx = scanDocument(src, 'python');
    assert.deepEqual(texts(src, idx.literals), [src.slice(src.indexOf('torch.tensor'), src.indexOf('True)') + 5), 'np.array([0, 1])']);
    assert.deepEqual(idx.literals.map((l) => l.name), ['logits', 'labels']);
    const first = idx.literals[0];
    assert.equal(src.slice(first.listStart, first.listEnd).startsWith('[[2.0'), true);
    assert.equal(src.slice(first.listStart, first.listEnd).endsWith('0.3]]'), true);
    // Hovering anywhere inside, including inner rows, the comment and the dtype argument, gives the call.
    for (const needle of ['2.5', 'first [row]', 'float64', 'tensor(']) assert.equal(at(src, 'python', needle), texts(src, [first])[0], needle);
  });

  it('passes over strings, comments, indexing and non-numeric lists', function () {
    const src = [
      '# [1, 2, 3] in a comment',
      's = "[4, 5]"',
      "d = '''",
      '[6, 7]',
      "'''",
      'x = a[0] + f(1)[2]',
      "names = ['cat', 'dog']",
      'mixed = [1, x, 2]',
      'empty = []',
      'ok = [ 1  2\n  3]',
    ].join('\n');
    const idx = scanDocument(src, 'python');
    assert.deepEqual(texts(src, idx.literals), ['[ 1  2\n  3]']);
    assert.equal(at(src, 'python', '4, 5'), undefined);
    assert.equal(at(src, 'python', '6, 7'), undefined);
  });

  it('keeps numeric lists that sit inside a non-numeric list, and printed reprs with nan/inf', function () {
    const src = 'pairs = [[1, 2], "x", [3, 4]]\nt = tensor([nan, -inf, 1.5e-3, True])\ns = array([1., …, 9.])';
    const idx = scanDocument(src, 'python');
    assert.deepEqual(texts(src, idx.literals), ['[1, 2]', '[3, 4]', 'tensor([nan, -inf, 1.5e-3, True])', 'array([1., …, 9.])']);
  });

  it('survives malformed text: unclosed lists, stray closers, unterminated strings', function () {
    const src = 'a = [1, 2\nb = [3, 4]\n]]) c = [5]\nd = "open\ne = [6, 7]';
    const idx = scanDocument(src, 'python');
    // a's '[' runs to the first stray ']' and holds `b = ...`, so it is not numeric; b's list inside it is.
    assert.deepEqual(texts(src, idx.literals), ['[3, 4]', '[5]', '[6, 7]']);
    assert.equal(at(src, 'python', '1, 2'), undefined);
    // Ragged or odd lists are still literals (the parser says what is wrong with them).
    assert.deepEqual(texts('r = [[1, 2], [3]]', scanDocument('r = [[1, 2], [3]]', 'python').literals), ['[[1, 2], [3]]']);
  });

  it("a call's other list arguments lie inside its literal: literals never overlap", function () {
    const src = 'x = torch.tensor([1, 2], w=[3, 4])\ny = np.array([[1]], [5])\nz = f([6], [7])';
    const idx = scanDocument(src, 'python');
    assert.deepEqual(texts(src, idx.literals), ['torch.tensor([1, 2], w=[3, 4])', 'np.array([[1]], [5])', '[6]', '[7]']);
    assert.equal(at(src, 'python', '3, 4'), 'torch.tensor([1, 2], w=[3, 4])');
    // A list inside an indexing bracket inside the call (found by a fuzz of real prints): one literal.
    const indexed = 'a = np.array([1, 2][[0, 1]])\nb = torch.tensor([0.5, 0.5], idx[[1, 2]])';
    assert.deepEqual(texts(indexed, scanDocument(indexed, 'python').literals), ['np.array([1, 2][[0, 1]])', 'torch.tensor([0.5, 0.5], idx[[1, 2]])']);
    assert.equal(at(indexed, 'python', '0, 1'), 'np.array([1, 2][[0, 1]])');
  });

  it('names literals from assignments, not from comparisons', function () {
    const src = 'self.logits = [1.0]\ny: list = [0]\nif z == [1]:\n  pass\nf(target=[2])';
    const idx = scanDocument(src, 'python');
    assert.deepEqual(idx.literals.map((l) => l.name), ['logits', 'y', null, 'target']);
    // Annotations across a line break, Unicode spaces, a name cut at a digit, augmented assignments.
    const more = 'labels\n  : Dict[str, int] = [1]\nw\u00a0=\u3000[2]\n9ab = [3]\nc += [4]\nd: x = y = [5]';
    assert.deepEqual(scanDocument(more, 'python').literals.map((l) => l.name), ['labels', 'w', 'ab', null, 'y']);
  });

  it('reads path strings as Python does: escapes in plain strings, backslashes kept in raw ones (r, R, rb, Rf...)', function () {
    const literals = [
      String.raw`r'C:\\x\\y.npz:labels'`, String.raw`'C:\\x\\y.npz'`, String.raw`R"runs\\a.npy"`, String.raw`rb'a\\b.npy'`,
      String.raw`Rf"c\\d.npy"`, String.raw`bR"c2\\d.npy"`, String.raw`'e\'f.npy'`, String.raw`r'g\'h.npy'`, String.raw`u'i\\j.npy'`,
      String.raw`"k\"l.npy"`, String.raw`r"m\"n.npy"`, String.raw`r'C:\runs\t.npy'`,
    ];
    const r = spawnSync('/usr/bin/python3', ['-c', 'import json, sys\nvals = [eval(l) for l in json.load(sys.stdin)]\nprint(json.dumps([v.decode("latin-1") if isinstance(v, bytes) else v for v in vals]))'], { input: JSON.stringify(literals), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const want = JSON.parse(r.stdout) as string[];
    const src = literals.map((l, i) => `x${i} = np.load(${l})`).join('\n');
    assert.deepEqual(scanDocument(src, 'python').paths.map((p) => p.value), want);
  });

  it('finds .npy/.npz path strings, with escapes and npz members', function () {
    const src = 'a = np.load("data/logits.npy")\nb = r\'C:\\\\x\\\\y.npz:labels\'\nc = "notes.txt"';
    const idx = scanDocument(src, 'python');
    // A raw string keeps its backslashes, as Python reads it (the next test asks Python).
    assert.deepEqual(idx.paths.map((p) => p.value), ['data/logits.npy', 'C:\\\\x\\\\y.npz:labels']);
    const p = pathAt(idx, src.indexOf('logits.npy'));
    assert.equal(p?.value, 'data/logits.npy');
    assert.equal(src.slice(p!.start, p!.end), '"data/logits.npy"');
    assert.equal(pathAt(idx, src.indexOf('notes')), undefined);
  });

  it('never offers a network or device path for a lookup (on Windows one would connect to that host)', function () {
    // The values as a program means them; JSON.stringify writes each as a string literal of Python and JSON.
    const refused = ['\\\\evil.example\\share\\x.npy', '//evil.example/share/y.npz', '\\\\?\\C:\\data\\z.pt', '\\/evil/w.safetensors'];
    const kept = ['/data/ok.npy', 'C:\\data\\ok.npz', 'data\\t.npy'];
    const src = [...refused, ...kept].map((v, i) => `v${i} = np.load(${JSON.stringify(v)})`).join('\n');
    assert.deepEqual(scanDocument(src, 'python').paths.map((p) => p.value), kept);
    const json = `{${[...refused, ...kept].map((v, i) => `"k${i}": ${JSON.stringify(v)}`).join(', ')}}`;
    assert.deepEqual(scanDocument(json, 'json').paths.map((p) => p.value), kept);
  });
});

describe('hover: literal discovery (JSON, JSONC, Markdown)', function () {
  it('finds the outermost numeric array under the cursor, with its key and object', function () {
    const src = '{\n  "logits": [[1, 2, 3],\n             [4, 5, 6.5]],\n  "labels": [2, 0],\n  "meta": {"input": [1.0], "other": [[1, "a"], [2, 3]]}\n}';
    const idx = scanDocument(src, 'json');
    assert.deepEqual(texts(src, idx.literals), ['[[1, 2, 3],\n             [4, 5, 6.5]]', '[2, 0]', '[1.0]', '[2, 3]']);
    assert.deepEqual(idx.literals.map((l) => l.name), ['logits', 'labels', 'input', null]);
    const [logits, labels, inner] = idx.literals;
    assert.equal(logits.group, 0);
    assert.equal(labels.group, 0);
    assert.equal(inner.group, src.indexOf('{"input"'));
    assert.equal(at(src, 'json', '5, 6.5'), texts(src, [logits])[0]);
    assert.equal(at(src, 'json', '"labels"'), undefined);
    // The first and last characters belong to the literal; the one after does not.
    const i = idx.literals[1];
    assert.equal(literalAt(idx, i.start), i);
    assert.equal(literalAt(idx, i.end - 1), i);
    assert.equal(literalAt(idx, i.end), undefined);
  });

  it('treats JSONC comments as whitespace, also inside lists, and ignores brackets in strings', function () {
    const src = '// [9]\n{ /* [8] */ "input": [1, /* two */ 2, // three\n 3], "s": "[7]" }';
    const idx = scanDocument(src, 'json');
    assert.deepEqual(texts(src, idx.literals), ['[1, /* two */ 2, // three\n 3]']);
  });

  it('a whole-document array is one literal; a malformed document still yields what closed', function () {
    assert.deepEqual(texts('[[1,2],[3,4]]', scanDocument('[[1,2],[3,4]]', 'json').literals), ['[[1,2],[3,4]]']);
    const bad = '{"input": [1, 2], "target": [0, 1';
    assert.deepEqual(texts(bad, scanDocument(bad, 'json').literals), ['[1, 2]']);
  });

  it('reads Markdown code fences only, each in its own syntax and pairing group', function () {
    const src = "Don't read [1, 2] in prose.\n\n```python\nlogits = [[1.0, 2.0]]\ny = [1]\n```\n\n~~~json\n{\"input\": [3.5]}\n~~~\n```\nno = 'unterminated\n```\n";
    const idx = scanDocument(src, 'markdown');
    assert.deepEqual(texts(src, idx.literals), ['[[1.0, 2.0]]', '[1]', '[3.5]']);
    assert.deepEqual(idx.literals.map((l) => l.syntax), ['python', 'python', 'json']);
    assert.equal(idx.literals[0].group, idx.literals[1].group);
    assert.notEqual(idx.literals[0].group, idx.literals[2].group);
  });
});

describe('hover: pairing input and target', function () {
  it('pairs JSON keys of one object (either one hovered), with a weight', function () {
    const src = '{"logits": [[1.0, 2.0]], "labels": [1], "weight": [1, 2], "x": {"target": [0]}}';
    const idx = scanDocument(src, 'json');
    const [logits, labels, weight, other] = idx.literals;
    for (const hovered of [logits, labels]) {
      const p = findPair(idx, hovered);
      assert.equal(p?.input, logits);
      assert.equal(p?.target, labels);
      assert.equal(p?.weight, weight);
    }
    assert.equal(findPair(idx, labels)?.hovered, 'target');
    // The nested object has a target but no input.
    assert.equal(findPair(idx, other), null);
  });

  it('refuses ambiguous JSON objects (two inputs), as the CLI does', function () {
    const src = '{"logits": [[1.0]], "input": [[2.0]], "labels": [0]}';
    const idx = scanDocument(src, 'json');
    assert.equal(findPair(idx, idx.literals[2]), null);
  });

  it('pairs Python assignments with the nearest literal of the other role', function () {
    const src = 'logits = [[1.0, 2.0]]\ny = [0]\n\nlogits = [[3.0, 1.0], [0.0, 0.0]]\ntarget = [1, 1]\nweights_other = [1.0]';
    const idx = scanDocument(src, 'python');
    const [l1, y, l2, t2, w] = idx.literals;
    assert.equal(findPair(idx, l1)?.target, y);
    assert.equal(findPair(idx, l2)?.target, t2);
    assert.equal(findPair(idx, t2)?.input, l2);
    assert.equal(findPair(idx, w), null);
    assert.equal(findPair(idx, l1)?.weight, null);
    // The nearer literal, the earlier one on a tie, within one file, cell or block.
    const ties = 'y = [0]\nlogits = [[1.0]]\ny      = [1]\n\nlogits = [[2.0]]\n\n\n\n\n\n\n\n\n\ny = [2]';
    const tidx = scanDocument(ties, 'python');
    const [y0, m1, y1, m2, y2] = tidx.literals;
    assert.equal(m1.start - y0.end, y1.start - m1.end);
    assert.equal(findPair(tidx, m1)?.target, y0, 'equally near: the earlier');
    assert.equal(findPair(tidx, m2)?.target, y1, 'nearer before');
    assert.equal(findPair(tidx, y2)?.input, m2);
    const md = '```python\nlogits = [[1.0]]\n```\n```python\ny = [0]\n```\n';
    const midx = scanDocument(md, 'markdown');
    assert.equal(findPair(midx, midx.literals[0]), null, 'other code block');
  });

  it('knows the role names', function () {
    for (const n of ['input', 'logits', 'pred', 'outputs']) assert.equal(roleOfName(n), 'input', n);
    for (const n of ['target', 'labels', 'y', 'Labels']) assert.equal(roleOfName(n), 'target', n);
    assert.equal(roleOfName('weight'), 'weight');
    assert.equal(roleOfName('x'), null);
    assert.equal(roleOfName(null), null);
  });
});
