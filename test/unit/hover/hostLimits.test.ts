// What the extension host itself does for hovers and Compute Loss from Selection stays small whatever the
// document (up to 64 MiB): it scans or searches only texts under HOST_SCAN_CHARS / HOST_FIND_CHARS, and a
// larger document crosses to the workers a slice per task, so no single task of the host runs long. (At
// HEAD the host scanned documents up to 256 K characters in place, 40 s for a hostile one, and posted larger
// ones to a worker in one piece.) Times are CPU time, the host's work: other jobs on a shared test machine
// stretch wall time by whole scheduling slices.
import * as assert from 'node:assert/strict';
import { isLensError } from '../../../src/errors';
import { HOST_FIND_CHARS, HOST_SCAN_CHARS, SHARE_SLICE_CHARS } from '../../../src/hover/limits';
import { scanDocument, type DocumentSyntax } from '../../../src/hover/scan';
import { findTensorLiterals } from '../../../src/tensor/text/printed';
import { readShared, shareText, stringSource, type TextSource } from '../../../src/worker/engine/sharedText';
import { cpuMs, medianWork } from './timing';

/** Hostile texts of exactly `n` characters, each the worst of its kind for the scanner. */
const HOSTILE_DOCUMENTS: ReadonlyArray<[string, DocumentSyntax, (n: number) => string]> = [
  ['( then ]', 'python', (n) => '('.repeat(n / 2) + ']'.repeat(n / 2)],
  ['{ then )', 'json', (n) => '{'.repeat(n / 2) + ')'.repeat(n / 2)],
  ['[1] [1] ...', 'python', (n) => '[1] '.repeat(n / 4)],
  ['fences with /*', 'markdown', (n) => '```json\n/*\n```\n\n'.repeat(n / 16)],
  ['empty fences', 'markdown', (n) => '```\n```\n'.repeat(n / 8)],
  ['~~~ lines', 'markdown', (n) => '~~~\n'.repeat(n / 4)],
  ['a.a.a.(', 'python', (n) => 'a.'.repeat(n / 2 - 1) + '(('],
];

/** Hostile texts for the printed-tensor search: literals that all fail, each with an error to build. */
const HOSTILE_PRINTS: ReadonlyArray<[string, (n: number) => string]> = [
  ['ragged lists', (n) => '[[1],[2,3]] '.repeat(n / 12)],
  ['unterminated dtype strings', (n) => 'tensor([1], dtype=")'.repeat(n / 20)],
  ['summarized prints', (n) => '[1., …] '.repeat(n / 8)],
  ['a.a.a.', (n) => 'a.'.repeat(n / 2)],
];

describe('hover: the host does bounded work', function () {
  this.timeout(120_000);

  it(`scans documents of up to ${HOST_SCAN_CHARS} characters in well under 50 ms, the hostile ones included`, function () {
    for (const [label, syntax, make] of HOSTILE_DOCUMENTS) {
      const doc = make(HOST_SCAN_CHARS);
      assert.ok(Math.abs(doc.length - HOST_SCAN_CHARS) <= 16, label);
      scanDocument(doc, syntax);
      const t = medianWork(() => scanDocument(doc, syntax));
      assert.ok(t.cpu < 50, `${label}: ${t.cpu.toFixed(1)} ms (wall ${t.wall.toFixed(1)} ms)`);
    }
  });

  it(`searches texts of up to ${HOST_FIND_CHARS} characters for printed tensors in well under 50 ms`, function () {
    for (const [label, make] of HOSTILE_PRINTS) {
      const text = make(HOST_FIND_CHARS);
      findTensorLiterals(text);
      const t = medianWork(() => findTensorLiterals(text));
      assert.ok(t.cpu < 50, `${label}: ${t.cpu.toFixed(1)} ms (wall ${t.wall.toFixed(1)} ms)`);
    }
  });

  it('copies a 64 MiB hostile document to shared memory in tasks of well under 50 ms each', async function () {
    const doc = '('.repeat(32 << 20) + ']'.repeat(32 << 20);
    // Untimed: the first slice of the concatenated test string flattens all of it (a document's lines
    // are separate strings), and the copy's code is compiled.
    await shareText(stringSource(doc));
    const longest: number[] = [];
    for (let run = 0; run < 3; run++) {
      let last = cpuMs();
      let max = 0;
      const pause = async (): Promise<void> => {
        max = Math.max(max, cpuMs() - last);
        await new Promise((resolve) => setImmediate(resolve));
        last = cpuMs();
      };
      const shared = await shareText(stringSource(doc), undefined, pause);
      max = Math.max(max, cpuMs() - last);
      longest.push(max);
      assert.equal(shared.length, doc.length);
      for (const at of [0, SHARE_SLICE_CHARS - 3, (32 << 20) - 5, doc.length - 7]) assert.equal(readShared(shared, at, at + 7), doc.slice(at, at + 7), `at ${at}`);
    }
    longest.sort((a, b) => a - b);
    assert.ok(longest[1] < 50, `longest task of each run: ${longest.map((t) => t.toFixed(1)).join(', ')} ms`);
  });

  it('keeps every UTF-16 code unit in place, also where a read comes out a character short', async function () {
    const text = 'a\r\nb\ud800c\u00e9\r\n\udfff[1, 2]\r\n'.repeat(50);
    // Like a TextDocument: an offset inside a CRLF reads as the line's end, so that slice is one short and
    // the next one long.
    const snap = (o: number): number => (o > 0 && text[o - 1] === '\r' && text[o] === '\n' ? o - 1 : o);
    const crlf: TextSource = { length: text.length, read: (a, b) => text.slice(snap(a), snap(b)), isCurrent: () => true };
    for (const slice of [1, 2, 3, 7, 64]) {
      const shared = await shareText(crlf, undefined, async () => undefined, slice);
      assert.equal(readShared(shared), text, `slices of ${slice}`);
    }
  });

  it('stops copying when the document changes or the copy is aborted', async function () {
    const text = 'x'.repeat(10_000);
    let current = true;
    const changing: TextSource = { ...stringSource(text), isCurrent: () => current };
    const cancelled = (e: unknown): boolean => isLensError(e) && e.kind === 'cancelled';
    let slices = 0;
    await assert.rejects(shareText(changing, undefined, async () => {
      if (++slices === 2) current = false;
    }, 1000), cancelled);
    assert.equal(slices, 2);
    const ac = new AbortController();
    await assert.rejects(shareText(stringSource(text), ac.signal, async () => ac.abort(), 1000), cancelled);
  });
});
