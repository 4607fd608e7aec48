// Files found by name (classes.json / classes.txt beside an input, hovered paths, workspace scans) are read
// only when they are regular files of modest size: a link to /dev/zero or a FIFO costs nothing.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { MAX_CLASS_NAMES_BYTES, readClassNamesBeside } from '../../../src/worker/files/classNames';
import { closeNpy, openNpy } from '../../../src/worker/files/npyFile';
import { readTensorFile } from '../../../src/worker/files/readTensorFile';
import { readSmallRegularFile } from '../../../src/worker/files/regularFile';
import { summarizeTensorFile } from '../../../src/worker/jobs/tensorSummary';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-regular-files-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const posix = process.platform !== 'win32' && fs.existsSync('/dev/zero');
let dirs = 0;

/** A fresh directory holding an input file and the given class-name files. */
function dirWith(files: Record<string, (p: string) => void>): string {
  const dir = path.join(tmp, `d${dirs++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'logits.npy'), encodeNpy({ dtype: 'float32', shape: [1, 2], data: [0, 1] }));
  for (const [name, make] of Object.entries(files)) make(path.join(dir, name));
  return path.join(dir, 'logits.npy');
}

function mkfifo(p: string): void {
  const r = spawnSync('mkfifo', [p]);
  assert.equal(r.status, 0, 'mkfifo');
}

/** Runs fn and checks that it took under `seconds` and raised the process's peak memory by under 64 MiB. */
async function cheap<T>(fn: () => Promise<T> | T, seconds = 2): Promise<T> {
  const rss = process.resourceUsage().maxRSS * 1024;
  const t0 = performance.now();
  const r = await fn();
  const took = (performance.now() - t0) / 1000;
  assert.ok(took < seconds, `took ${took.toFixed(2)} s`);
  const grew = process.resourceUsage().maxRSS * 1024 - rss;
  assert.ok(grew < 64 << 20, `peak memory grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
  return r;
}

describe('class names beside the input', function () {
  it('reads classes.json, else classes.txt', async function () {
    const a = dirWith({ 'classes.json': (p) => fs.writeFileSync(p, '["cat", "dog", 3]') });
    assert.deepEqual(await readClassNamesBeside(a), { names: ['cat', 'dog', '3'], note: null });
    const b = dirWith({ 'classes.txt': (p) => fs.writeFileSync(p, 'cat\r\n\n dog \n') });
    assert.deepEqual(await readClassNamesBeside(b), { names: ['cat', 'dog'], note: null });
    assert.deepEqual(await readClassNamesBeside(dirWith({})), { names: [], note: null });
  });

  it('ignores a classes.json linked to /dev/zero, says why, and falls back to classes.txt', async function () {
    if (!posix) this.skip();
    const input = dirWith({
      'classes.json': (p) => fs.symlinkSync('/dev/zero', p),
      'classes.txt': (p) => fs.writeFileSync(p, 'road\nsky\n'),
    });
    const r = await cheap(() => readClassNamesBeside(input));
    assert.deepEqual(r.names, ['road', 'sky']);
    assert.equal(r.note, `${path.join(path.dirname(input), 'classes.json')}: is a device, not a regular file — class names are not read from it`);
  });

  it('ignores a FIFO without waiting for a writer', async function () {
    if (!posix) this.skip();
    const input = dirWith({ 'classes.json': mkfifo });
    const r = await cheap(() => readClassNamesBeside(input));
    assert.deepEqual(r.names, []);
    assert.match(r.note ?? '', /classes\.json: is a FIFO, not a regular file/);
  });

  it(`ignores a file over ${MAX_CLASS_NAMES_BYTES} bytes and reads one of exactly that size`, async function () {
    const names = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
    const exact = JSON.stringify(names);
    const fill = (p: string, size: number): void => fs.writeFileSync(p, exact + ' '.repeat(size - exact.length));
    const over = dirWith({ 'classes.json': (p) => fill(p, MAX_CLASS_NAMES_BYTES + 1) });
    const r = await cheap(() => readClassNamesBeside(over));
    assert.deepEqual(r.names, []);
    assert.match(r.note ?? '', new RegExp(`classes\\.json: is ${MAX_CLASS_NAMES_BYTES + 1} bytes, over the ${MAX_CLASS_NAMES_BYTES} read for it`));
    const at = dirWith({ 'classes.json': (p) => fill(p, MAX_CLASS_NAMES_BYTES) });
    assert.deepEqual(await readClassNamesBeside(at), { names, note: null });
  });

  it('ignores a directory named classes.json', async function () {
    const input = dirWith({ 'classes.json': (p) => fs.mkdirSync(p), 'classes.txt': (p) => fs.writeFileSync(p, 'a\n') });
    const r = await readClassNamesBeside(input);
    assert.deepEqual(r.names, ['a']);
    assert.match(r.note ?? '', /classes\.json: is a directory, not a regular file/);
  });
});

describe('regular files only', function () {
  it('reads the head of a large file when asked to, and refuses it otherwise', async function () {
    const p = path.join(tmp, 'big.bin');
    fs.writeFileSync(p, Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff));
    const head = await readSmallRegularFile(p, 100, { head: true });
    assert.equal(head.kind, 'read');
    assert.deepEqual(head.kind === 'read' ? [...head.bytes] : [], Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(await readSmallRegularFile(p, 100), { kind: 'refused', reason: 'is 5000 bytes, over the 100 read for it' });
    assert.deepEqual(await readSmallRegularFile(path.join(tmp, 'none'), 100), { kind: 'missing' });
  });

  it('hover summaries and range reads refuse a tensor-file name linked to /dev/zero or naming a FIFO', async function () {
    if (!posix) this.skip();
    const zeroNpz = path.join(tmp, 'zero.npz');
    const zeroNpy = path.join(tmp, 'zero.npy');
    const fifoNpy = path.join(tmp, 'fifo.npy');
    fs.symlinkSync('/dev/zero', zeroNpz);
    fs.symlinkSync('/dev/zero', zeroNpy);
    mkfifo(fifoNpy);
    for (const [file, what] of [[zeroNpz, 'a device'], [zeroNpy, 'a device'], [fifoNpy, 'a FIFO']]) {
      const want = `${file}: is ${what}, not a regular file`;
      await cheap(() => assert.throws(() => summarizeTensorFile(file), (e: Error) => e.message === want));
      await cheap(() => assert.throws(() => closeNpy(openNpy(file)), (e: Error) => e.message === want));
    }
  });

  it('whole-file reads (the CLI, JSON and .npz inputs) refuse /dev/zero and a FIFO instead of reading for ever', async function () {
    if (!posix) this.skip();
    const zeroJson = path.join(tmp, 'zero.json');
    const fifoNpz = path.join(tmp, 'fifo.npz');
    fs.symlinkSync('/dev/zero', zeroJson);
    mkfifo(fifoNpz);
    for (const [file, what] of [[zeroJson, 'a device'], [fifoNpz, 'a FIFO']]) {
      const want = `${file}: is ${what}, not a regular file`;
      await cheap(() => assert.throws(() => readTensorFile(file, 'input'), (e: Error) => e.message === want));
    }
  });
});
