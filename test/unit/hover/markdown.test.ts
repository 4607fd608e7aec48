// Hover texts: what they say, that numbers read like the CLI's, and that document or file text can never
// turn into links, images or HTML.
import * as assert from 'node:assert/strict';
import { fmt6 } from '../../../src/cli/report';
import type { FileSummary } from '../../../src/hover/files';
import { commandUri, escapeMarkdown, fileHoverMarkdown, fmtBytes, literalHoverMarkdown } from '../../../src/hover/markdown';
import { hoverReport } from '../../../src/hover/report';

describe('hover: Markdown text', function () {
  it('escapes every Markdown and HTML construct in data text', function () {
    const evil = '[click](command:workbench.action.terminal.new) ![img](http://x/y.png) <img src=x onerror=alert(1)> `code` *b* _i_ # h\nline2 | cell';
    const out = escapeMarkdown(evil);
    assert.doesNotMatch(out, /(?<!\\)[[\]()<>`*_#|]/);
    assert.doesNotMatch(out, /\n/);
    // Unescaping gives the text back (minus the newline): nothing was dropped.
    assert.equal(out.replace(/\\(.)/g, '$1'), evil.replace('\n', ' '));
  });

  it('a literal hover names the tensor and gives its statistics and softmax', function () {
    const r = hoverReport({ literals: [{ text: '[[0.0, 1.0], [2.0, -1.0]]', syntax: 'json', name: 'logits' }], hovered: 0, pair: null, options: {} });
    const md = literalHoverMarkdown('logits', r, null);
    assert.match(md, /^\*\*logits\*\* · shape \[2, 2\] · float64 \(floating point\) · 4 elements/);
    assert.match(md, /min -1 · max 2 · mean 0\.5 · NaN 0 · \+Inf 0 · −Inf 0/);
    assert.match(md, /softmax \(read as logits\)/);
    // Row 0: softmax([0, 1]) = [1/(1+e), e/(1+e)].
    const p0 = 1 / (1 + Math.E);
    assert.ok(md.includes(`| 0 | ${fmt6(p0)} | ${fmt6(1 - p0)} | 1 |`), md);
    assert.doesNotMatch(md, /Cross-entropy/);
    assert.doesNotMatch(md, /command:/);
  });

  it('a pair hover shows the reduced loss like the CLI, the options, rows and the panel link', function () {
    const r = hoverReport({
      literals: [{ text: '[[0.0, 1.0], [2.0, -1.0]]', syntax: 'json', name: 'logits' }, { text: '[1, 1]', syntax: 'json', name: 'labels' }],
      hovered: 1,
      pair: { input: 0, target: 1, weight: null },
      options: { reduction: 'mean' },
    });
    // Independent: mean of -log softmax at the targets.
    const l0 = Math.log(1 + Math.E) - 1;
    const l1 = Math.log(Math.exp(2) + Math.exp(-1)) + 1;
    const link = commandUri('crossEntropyLens.openPanelForLiterals', [{ uri: 'file:///w/a b.json', offset: 3 }]);
    const md = literalHoverMarkdown('labels', r, link);
    assert.ok(md.includes(`**Cross-entropy** (mean): **${fmt6((l0 + l1) / 2)}**`), md);
    assert.match(md, /ignore_index -100 \(0 of 2 ignored\) · label_smoothing 0 · input logits · class dim 1/);
    assert.ok(md.includes(`| [1] | 1 | 0 | ${fmt6(l1)} |`), md);
    assert.ok(md.includes(`[Open in Cross-Entropy Lens panel](${link} `));
    assert.doesNotMatch(link, /[\s()]/);
    assert.deepEqual(JSON.parse(decodeURIComponent(link.split('?')[1])), [{ uri: 'file:///w/a b.json', offset: 3 }]);
  });

  it('reduction none shows the sum and the mean of the loss map', function () {
    const r = hoverReport({
      literals: [{ text: '[[0.0, 0.0]]', syntax: 'json', name: 'logits' }, { text: '[0]', syntax: 'json', name: 'labels' }],
      hovered: 0,
      pair: { input: 0, target: 1, weight: null },
      options: { reduction: 'none' },
    });
    assert.match(literalHoverMarkdown('logits', r, null), new RegExp(`reduction none\\): loss map \\[1\\], sum ${fmt6(Math.LN2)}, mean ${fmt6(Math.LN2)}`));
  });

  it('errors are shown escaped, in place of numbers', function () {
    const r = hoverReport({ literals: [{ text: '[[1, 2], [3]]', syntax: 'json', name: 'x[0](y)' }], hovered: 0, pair: null, options: {} });
    const md = literalHoverMarkdown('x[0](y)', r, null);
    assert.match(md, /^\*\*x\\\[0\\\]\\\(y\\\)\*\*: ragged list/);
  });

  it('a file hover gives header, size, statistics and says when it sampled', function () {
    const s: FileSummary = {
      path: '/w/big.npy', sizeBytes: 123_456_789, kind: 'npy', moreArrays: 0, note: null,
      arrays: [{ name: null, shape: [8, 21, 512, 512], dtype: 'float32', descr: '<f4', fortranOrder: false, error: null, stats: { count: 4194304, nanCount: 3, posInfCount: 0, negInfCount: 1, min: -1, max: 2.5, mean: 0.25 } }],
      sampled: { blocks: 32, blockBytes: 524288, elements: 4194304, totalElements: 44040192 },
    };
    const md = fileHoverMarkdown('data/big.npy', s);
    assert.match(md, /^\*\*data/);
    assert.match(md, /123 MB on disk/);
    assert.match(md, /shape \[8, 21, 512, 512\] · float32 \(\\<f4, floating point\) · C order/);
    assert.match(md, /min -1 · max 2\.5 · mean 0\.25 · NaN 3 · \+Inf 0 · −Inf 1/);
    assert.match(md, /_Sampled: the file is over 100 MB, so these statistics cover 4194304 of 44040192 elements, read as 32 evenly spaced blocks of 524 kB/);
    const whole = fileHoverMarkdown('a.npy', { ...s, sampled: null });
    assert.doesNotMatch(whole, /Sampled/);
  });

  it('a file hover lists npz members and their problems', function () {
    const md = fileHoverMarkdown('x.npz', {
      path: '/w/x.npz', sizeBytes: 900, kind: 'npz', moreArrays: 2, sampled: null, note: '1 entry not usable as an array',
      arrays: [
        { name: 'labels', shape: [4], dtype: 'int64', descr: '<i8', fortranOrder: false, error: null, stats: { count: 4, nanCount: 0, posInfCount: 0, negInfCount: 0, min: 0, max: 3, mean: 1.5 } },
        { name: 'big', shape: [2], dtype: 'int64', descr: '<i8', fortranOrder: true, error: 'value does not fit', stats: null },
      ],
    });
    assert.match(md, /\*\*labels\*\* · shape \[4\] · int64 \(\\<i8, integers\) · C order/);
    assert.match(md, /Fortran order\n\nstatistics: value does not fit/);
    assert.match(md, /and 2 more members/);
    assert.match(md, /900 bytes on disk/);
  });

  it('formats sizes in decimal units', function () {
    assert.equal(fmtBytes(999), '999 bytes');
    assert.equal(fmtBytes(100_000_000), '100 MB');
    assert.equal(fmtBytes(1_234_567_890), '1.23 GB');
  });
});
