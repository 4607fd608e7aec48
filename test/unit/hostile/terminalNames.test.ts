// File names that drive the terminal (issue #21, round two): a name holding `\x1b[31m` (or a screen clear, a
// one-byte CSI, a bidi override) went raw into eval's and merge's human output and into `error:` lines. Every
// name the CLI prints for people is now escaped (`\x1b`); --json needs nothing (JSON.stringify escapes).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapeControls } from '../../../src/cli/terminalText';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { assertBounded, assertOneLineError, runCliBounded, type BoundedRun } from './boundedCli';
import { C, H, W, imageData } from './evalKit';

const RED = '\x1b[31m';
/** Any C0 or C1 control other than the newlines between lines, and bidi controls. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function assertNoRawControls(text: string, what: string): void {
  const m = RAW_CONTROL.exec(text);
  assert.equal(m, null, `${what}: raw U+${(m?.[0].charCodeAt(0) ?? 0).toString(16).padStart(4, '0')} in ${JSON.stringify(text.slice(0, 300))}`);
}

function cleanText(r: BoundedRun, what: string): string {
  assertBounded(r, what);
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  assertNoRawControls(r.stdout, what);
  return r.stdout;
}

describe('hostile names: the terminal sees control characters escaped', function () {
  this.timeout(60000);
  let root: string;
  let pred: string;
  let labels: string;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-names-'));
    pred = path.join(root, 'pred');
    labels = path.join(root, 'labels');
    fs.mkdirSync(pred);
    fs.mkdirSync(labels);
    const d = imageData(1);
    fs.writeFileSync(path.join(pred, `e${RED}_logits.npy`), encodeNpy({ dtype: 'float32', shape: [C, H, W], data: d.logits }));
    fs.writeFileSync(path.join(labels, `e${RED}_gt.npy`), encodeNpy({ dtype: 'int64', shape: [H, W], data: d.labels }));
    fs.writeFileSync(path.join(pred, 'g_logits.npy'), encodeNpy({ dtype: 'float32', shape: [C, H, W], data: imageData(2).logits }));
    fs.writeFileSync(path.join(labels, 'g_gt.npy'), encodeNpy({ dtype: 'int64', shape: [H, W], data: imageData(2).labels }));
    // Unmatched: a screen clear, and a one-byte CSI with a right-to-left override.
    fs.writeFileSync(path.join(pred, 'u\x1b[2J_logits.npy'), encodeNpy({ dtype: 'float32', shape: [C, H, W], data: d.logits }));
    fs.writeFileSync(path.join(labels, 'v\u009b1m\u202e_gt.npy'), encodeNpy({ dtype: 'int64', shape: [H, W], data: d.labels }));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('escapeControls writes C0, DEL, C1 and bidi controls as \\x / \\u escapes and leaves the rest', () => {
    assert.equal(escapeControls(`a${RED}b`), 'a\\x1b[31mb');
    assert.equal(escapeControls('\u0000\t\n\u007f\u0085\u009b\u202e\u2066'), '\\x00\\x09\\x0a\\x7f\\x85\\x9b\\u202e\\u2066');
    assert.equal(escapeControls('plain é 😀 \\x1b'), 'plain é 😀 \\x1b');
  });

  it('eval: image names (worst images, unmatched files) are escaped in the human output', () => {
    const out = cleanText(runCliBounded(['eval', pred, labels], { killAfterMs: 15000 }), 'eval');
    assert.match(out, /^ {2}e\\x1b\[31m +loss /m);
    assert.match(out, /unmatched files: u\\x1b\[2J_logits\.npy, v\\x9b1m\\u202e_gt\.npy/);
    // --json carries the names as they are (JSON escapes the control characters itself).
    const json = runCliBounded(['eval', pred, labels, '--json'], { killAfterMs: 15000 });
    assert.equal(json.status, 0, json.stderr);
    assert.ok((JSON.parse(json.stdout) as { perImage: Array<{ name: string }> }).perImage.some((p) => p.name === `e${RED}`));
    assert.ok(!json.stdout.includes('\x1b'), 'JSON escapes ESC');
  });

  it('merge: the merged human output escapes the names too', () => {
    const parts = [0, 1].map((i) => {
      const r = runCliBounded(['eval', pred, labels, '--shard', `${i}/2`, '--json'], { killAfterMs: 15000 });
      assert.equal(r.status, 0, r.stderr);
      const f = path.join(root, `part${i}.json`);
      fs.writeFileSync(f, r.stdout);
      return f;
    });
    const out = cleanText(runCliBounded(['merge', ...parts], { killAfterMs: 15000 }), 'merge');
    assert.match(out, /^ {2}e\\x1b\[31m +loss /m);
    assert.match(out, /unmatched files: u\\x1b\[2J_logits\.npy/);
  });

  it('error lines escape the names they quote (merge, eval, a single pair)', () => {
    const missing = path.join(root, `gone${RED}.json`);
    const line = assertOneLineError(runCliBounded(['merge', missing], { killAfterMs: 15000 }), /gone\\x1b\[31m\.json: no such file/, 'merge, missing part');
    assertNoRawControls(line, 'merge error');
    // A part whose field is a string with an escape: quoted, and escaped.
    const part = JSON.parse(fs.readFileSync(path.join(root, 'part0.json'), 'utf8')) as { sums: { counts: { pixels: unknown } } };
    part.sums.counts.pixels = `1${RED}`;
    const bad = path.join(root, `bad${RED}.json`);
    fs.writeFileSync(bad, JSON.stringify(part));
    assertNoRawControls(assertOneLineError(runCliBounded(['merge', bad], { killAfterMs: 15000 }), /bad\\x1b\[31m\.json: sums\.counts\.pixels is the string/, 'merge, bad field'), 'field error');
    // eval: a label that does not fit its prediction names both files.
    const badLabels = path.join(root, `labels${RED}`);
    fs.mkdirSync(badLabels);
    fs.writeFileSync(path.join(badLabels, `e${RED}_gt.npy`), encodeNpy({ dtype: 'int64', shape: [2, 2], data: [0, 0, 0, 0] }));
    assertNoRawControls(assertOneLineError(runCliBounded(['eval', pred, badLabels], { killAfterMs: 15000 }), /labels\\x1b\[31m\/e\\x1b\[31m_gt\.npy: label \[2, 2\] does not match/, 'eval error'), 'eval error');
    // A single pair: the text report's file names, and an error.
    const x = path.join(root, `x${RED}.npy`);
    const t = path.join(root, `t${RED}.npy`);
    fs.writeFileSync(x, encodeNpy({ dtype: 'float32', shape: [2, 3], data: [0, 1, 2, 3, 4, 5] }));
    fs.writeFileSync(t, encodeNpy({ dtype: 'int64', shape: [2], data: [0, 2] }));
    const report = cleanText(runCliBounded([x, t], { killAfterMs: 15000 }), 'single pair');
    assert.match(report, /^ {2}input +.*x\\x1b\[31m\.npy /m);
    assert.match(report, /^ {2}target +.*t\\x1b\[31m\.npy /m);
    const compare = cleanText(runCliBounded(['compare', x, x, t], { killAfterMs: 15000 }), 'compare');
    assert.match(compare, /^ {2}A +.*x\\x1b\[31m\.npy /m);
    fs.writeFileSync(t, encodeNpy({ dtype: 'int64', shape: [2], data: [0, 7] }));
    assertNoRawControls(assertOneLineError(runCliBounded([x, t], { killAfterMs: 15000 }), /x\\x1b\[31m\.npy vs .*t\\x1b\[31m\.npy: target value 7/, 'single pair error'), 'single pair error');
  });
});
