// Tensor-file summaries for hovers (the code the worker runs, called directly here): header, statistics
// of the whole data, and the documented sample of large files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SAMPLING, sampleRanges, type SamplingPolicy } from '../../../src/hover/files';
import { encodeNpy } from '../../../src/tensor/binary/npy';
import { writeNpz } from '../../../src/tensor/binary/npz';
import { summarizeTensorFile } from '../../../src/worker/jobs/tensorSummary';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-hover-files-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Statistics written out plainly, independent of StatsAccumulator. */
function plainStats(v: ArrayLike<number>): { min: number; max: number; mean: number; nan: number } {
  const xs = Array.from(v);
  const ok = xs.filter((x) => !Number.isNaN(x));
  const finite = ok.filter((x) => Number.isFinite(x));
  return { min: Math.min(...ok), max: Math.max(...ok), mean: finite.reduce((a, b) => a + b, 0) / finite.length, nan: xs.length - ok.length };
}

describe('hover: sampling plan', function () {
  it('covers small data whole and large data with evenly spaced, item-aligned blocks from first to last', function () {
    assert.deepEqual(sampleRanges(1000, 4, DEFAULT_SAMPLING), [[0, 1000]]);
    const dataBytes = 400_000_004;
    const r = sampleRanges(dataBytes, 4, DEFAULT_SAMPLING);
    assert.equal(r.length, 32);
    assert.deepEqual(r[0], [0, 512 * 1024]);
    assert.equal(r[31][0] + r[31][1], dataBytes);
    for (let k = 0; k < r.length; k++) {
      assert.equal(r[k][0] % 4, 0);
      assert.equal(r[k][1], 512 * 1024);
      if (k > 0) assert.ok(r[k][0] >= r[k - 1][0] + r[k - 1][1], 'blocks do not overlap');
    }
    const gaps = r.slice(1).map((x, k) => x[0] - r[k][0]);
    assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 4, 'evenly spaced');
  });
});

describe('hover: tensor file summaries', function () {
  it('reads a .npy header and the statistics of all its values', function () {
    const data = Float32Array.from({ length: 600 }, (_, i) => (i === 7 ? NaN : i === 9 ? Infinity : Math.cos(i) * 3));
    const file = path.join(tmp, 'a.npy');
    fs.writeFileSync(file, encodeNpy({ dtype: 'float32', shape: [20, 30], data }));
    const s = summarizeTensorFile(file);
    assert.equal(s.kind, 'npy');
    assert.equal(s.sizeBytes, fs.statSync(file).size);
    assert.equal(s.sampled, null);
    const a = s.arrays[0];
    assert.deepEqual([a.shape, a.dtype, a.descr, a.fortranOrder], [[20, 30], 'float32', '<f4', false]);
    const ref = plainStats(data);
    assert.equal(a.stats!.nanCount, ref.nan);
    assert.equal(a.stats!.posInfCount, 1);
    assert.equal(a.stats!.min, ref.min);
    assert.equal(a.stats!.max, Infinity);
    assert.ok(Math.abs(a.stats!.mean - ref.mean) < 1e-12);
  });

  it('samples a file over the threshold from exactly the documented blocks', function () {
    const n = 100_000;
    const data = Float64Array.from({ length: n }, (_, i) => i);
    const file = path.join(tmp, 'big.npy');
    const bytes = encodeNpy({ dtype: 'float64', shape: [n], data });
    fs.writeFileSync(file, bytes);
    const policy: SamplingPolicy = { overBytes: 100_000, blocks: 5, blockBytes: 800 };
    const s = summarizeTensorFile(file, policy);
    assert.ok(s.sampled !== null);
    assert.deepEqual(s.sampled, { blocks: 5, blockBytes: 800, elements: 500, totalElements: n });
    // Blocks of 100 values, spaced evenly from element 0 to the last: values are their own indices.
    const picked: number[] = [];
    for (const [off, len] of sampleRanges(n * 8, 8, policy)) for (let i = off / 8; i < (off + len) / 8; i++) picked.push(i);
    assert.equal(picked[0], 0);
    assert.equal(picked[picked.length - 1], n - 1);
    const ref = plainStats(picked);
    const st = s.arrays[0].stats!;
    assert.deepEqual([st.count, st.min, st.max], [500, ref.min, ref.max]);
    assert.ok(Math.abs(st.mean - ref.mean) < 1e-9);
    // Below the threshold the same file is read whole.
    const whole = summarizeTensorFile(file, { ...policy, overBytes: bytes.length });
    assert.equal(whole.sampled, null);
    assert.equal(whole.arrays[0].stats!.count, n);
    assert.equal(whole.arrays[0].stats!.mean, (n - 1) / 2);
  });

  it('summarizes .npz members, one member when named, and int64 values beyond int32', function () {
    const file = path.join(tmp, 'pair.npz');
    const big = new Int32Array([0, 0, 0, 1]); // two int64 words per value: 0 and 2^32
    const bigNpy = encodeNpy({ dtype: 'int32', shape: [4], data: big });
    // Rewrite the header's descr to int64 with 2 elements: the same bytes read as [0, 4294967296].
    const text = new TextDecoder('latin1').decode(bigNpy).replace("'<i4'", "'<i8'").replace('(4,)', '(2,)');
    const int64Bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    fs.writeFileSync(file, writeNpz({
      'logits.npy': encodeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }),
      'labels.npy': encodeNpy({ dtype: 'int64', shape: [2], data: Int32Array.from([2, 0]) }),
      'ids.npy': int64Bytes,
    }));
    const s = summarizeTensorFile(file);
    assert.equal(s.kind, 'npz');
    assert.deepEqual(s.arrays.map((a) => [a.name, a.shape, a.dtype]), [['logits', [2, 3], 'float32'], ['labels', [2], 'int64'], ['ids', [2], 'int64']]);
    assert.equal(s.arrays[0].stats!.mean, 3.5);
    assert.equal(s.arrays[1].stats!.max, 2);
    const one = summarizeTensorFile(`${file}:labels`);
    assert.deepEqual(one.arrays.map((a) => a.name), ['labels']);
    const missing = summarizeTensorFile(`${file}:nope`);
    assert.match(missing.arrays[0].error ?? '', /no member named 'nope'/);
  });

  it('widens int64 .npy values that do not fit int32 instead of failing', function () {
    const file = path.join(tmp, 'i64.npy');
    const bytes = encodeNpy({ dtype: 'int32', shape: [4], data: new Int32Array([5, 0, 0, 1]) });
    const text = new TextDecoder('latin1').decode(bytes).replace("'<i4'", "'<i8'").replace('(4,)', '(2,)');
    fs.writeFileSync(file, Uint8Array.from(text, (c) => c.charCodeAt(0)));
    const st = summarizeTensorFile(file).arrays[0].stats!;
    assert.deepEqual([st.min, st.max], [5, 2 ** 32]);
  });

  it('fails with one line naming the file', function () {
    assert.throws(() => summarizeTensorFile(path.join(tmp, 'none.npy')), (e: Error) => /none\.npy: no such file/.test(e.message) && !e.message.includes('\n'));
    const bad = path.join(tmp, 'bad.npy');
    fs.writeFileSync(bad, 'not numpy');
    assert.throws(() => summarizeTensorFile(bad), /bad\.npy: not a \.npy file/);
  });
});
