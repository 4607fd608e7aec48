// Hand-written .npy headers checked against NumPy's own verdict (test/fixtures/tensor/make_hostile_fixtures.py
// loads each with np.load and records whether NumPy reads or refuses it): we refuse exactly the headers
// NumPy refuses, through every reader (the pure decoder, the whole-file read of the CLI and engine, the
// engine's range reads, the hover summary), with one short line naming the file.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { LensError } from '../../../../src/errors';
import { decodeNpy, parseNpyHeader } from '../../../../src/tensor/binary/npy';
import { closeNpy, openNpy } from '../../../../src/worker/files/npyFile';
import { readTensorFile } from '../../../../src/worker/files/readTensorFile';
import { summarizeTensorFile } from '../../../../src/worker/jobs/tensorSummary';
import { FIXTURES, fixture, fixtureJson, lensError } from '../helpers';

interface Case {
  readonly file: string;
  readonly contains: string;
  readonly numpy: 'reads' | 'refuses';
  readonly numpy_error?: string;
  readonly shape?: number[];
  readonly dtype?: string;
  readonly values?: number[];
}

const manifest = fixtureJson<{ npy: Case[] }>('hostile', 'manifest.json');
const DIR = path.join(FIXTURES, 'hostile');

/** Room for the path, the fixed wording and one quoted snippet: far less than any echoed 9 KB header field. */
const MAX_MESSAGE = 400;

function thrown(fn: () => unknown): LensError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LensError, `expected a LensError, got ${e instanceof Error ? e.stack : String(e)}`);
    return e;
  }
  assert.fail('expected a LensError, but the call succeeded');
}

describe('npy: headers NumPy refuses are refused here, naming the file', function () {
  const refused = manifest.npy.filter((c) => c.numpy === 'refuses');
  it('has the cases issue 12 lists', function () {
    const names = refused.map((c) => c.file);
    for (const f of ['npy_float_dims.npy', 'npy_list_shape.npy', 'npy_extra_key.npy', 'npy_v3_bad_utf8.npy', 'npy_long_descr.npy']) {
      assert.ok(names.includes(f), f);
    }
  });

  for (const c of refused) {
    it(`${c.file} (NumPy: ${c.numpy_error?.slice(0, 60)})`, function () {
      const bytes = fixture('hostile', c.file);
      const e = lensError(() => decodeNpy(bytes));
      assert.ok(e.message.includes(c.contains), `"${c.contains}" in: ${e.message}`);
      assert.ok(e.message.length < MAX_MESSAGE, `message cut short: ${e.message.length} chars`);

      const file = path.join(DIR, c.file);
      for (const [reader, read] of [
        ['whole-file read (CLI, engine)', () => readTensorFile(file, 'input')],
        ['range reads (engine)', () => closeNpy(openNpy(file))],
        ['hover summary', () => summarizeTensorFile(file)],
      ] as const) {
        const r = thrown(read);
        assert.ok(r.message.startsWith(`${file}: `), `${reader} names the file: ${r.message.slice(0, 200)}`);
        assert.ok(r.message.includes(c.contains), `${reader}: ${r.message.slice(0, 200)}`);
        assert.ok(!/[\r\n]/.test(r.message), `${reader}: one line`);
        assert.ok(r.message.length < file.length + MAX_MESSAGE, `${reader}: ${r.message.length} chars`);
      }
    });
  }

  it('quotes only the start of a long field', function () {
    const e = lensError(() => decodeNpy(fixture('hostile', 'npy_long_descr.npy')), 'dtype');
    assert.match(e.message, /^unknown dtype "A{40}…" in \.npy header/);
    assert.match(lensError(() => decodeNpy(fixture('hostile', 'npy_long_fortran_order.npy'))).message, /fortran_order "'B{39}…", expected True or False/);
    assert.match(lensError(() => decodeNpy(fixture('hostile', 'npy_long_extra_key.npy'))).message, /keys NumPy does not read \("C{40}…"\)/);
  });

  it('says what NumPy says about float dimensions', function () {
    const e = lensError(() => parseNpyHeader(fixture('hostile', 'npy_float_dims.npy')), 'format');
    assert.equal(e.message, '.npy header has shape "(2.0, 3.0)": dimensions must be non-negative integers');
  });
});

describe('npy: unusual headers NumPy reads are read the same here', function () {
  for (const c of manifest.npy.filter((x) => x.numpy === 'reads')) {
    it(`${c.file}: shape ${JSON.stringify(c.shape)} ${c.dtype}`, function () {
      const t = decodeNpy(fixture('hostile', c.file));
      assert.deepEqual(t.shape, c.shape);
      assert.ok(t.shape.every((d) => !Object.is(d, -0)), 'no negative zero in the shape');
      assert.equal(t.dtype, c.dtype);
      assert.deepEqual(Array.from(t.data), c.values);
    });
  }
});
