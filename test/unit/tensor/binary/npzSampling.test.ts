// Hover summaries of .npz archives decide from the zip directory's uncompressed sizes what to read whole and
// what to sample, and never inflate more than the sample: a 1 MB archive of three 1 GiB members (a zip bomb)
// used to cost half a minute and gigabytes per hover.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { inflateSync, zipSync } from 'fflate';
import { DEFAULT_SAMPLING, npzSampleBytes, type SamplingPolicy } from '../../../../src/hover/files';
import { fileHoverMarkdown } from '../../../../src/hover/markdown';
import { encodeNpy, encodeNpyHeader } from '../../../../src/tensor/binary/npy';
import { writeNpz } from '../../../../src/tensor/binary/npz';
import { summarizeTensorFile } from '../../../../src/worker/jobs/tensorSummary';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-npz-sampling-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MiB = 1 << 20;

/**
 * One member's deflate stream for a .npy of `mib` MiB of float32 zeros, built from pieces compressed with a
 * full flush (each ends byte-aligned and refers to nothing before it), so 1 GiB costs one 1 MiB compression.
 */
function zeroMember(mib: number): { header: Uint8Array; deflated: Uint8Array; size: number; crc: number } {
  const header = encodeNpyHeader('float32', [(mib * MiB) / 4]);
  const zeros = new Uint8Array(MiB);
  const flush = { finishFlush: zlib.constants.Z_FULL_FLUSH, level: 9 };
  const first = zlib.deflateRawSync(Buffer.concat([header, zeros]), flush);
  const rest = zlib.deflateRawSync(zeros, flush);
  const parts: Uint8Array[] = [first];
  for (let i = 1; i < mib; i++) parts.push(rest);
  parts.push(Uint8Array.of(0x03, 0x00)); // an empty final block
  let crc = zlib.crc32(header);
  for (let i = 0; i < mib; i++) crc = zlib.crc32(zeros, crc);
  return { header, deflated: Buffer.concat(parts), size: header.length + mib * MiB, crc };
}

/** A zip of deflated members (method 8), as np.savez_compressed writes them, from prepared streams. */
function zipOf(members: ReadonlyArray<{ name: string; deflated: Uint8Array; size: number; crc: number }>): Uint8Array {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(8, 8);
    lh.writeUInt32LE(m.crc, 14);
    lh.writeUInt32LE(m.deflated.length, 18);
    lh.writeUInt32LE(m.size, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt32LE(m.crc, 16);
    ch.writeUInt32LE(m.deflated.length, 20);
    ch.writeUInt32LE(m.size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    local.push(lh, name, Buffer.from(m.deflated));
    central.push(ch, name);
    offset += 30 + name.length + m.deflated.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, cd, end]);
}

describe('npz hover summaries: a zip bomb', function () {
  this.timeout(180000); // the old code needs 30 s or more here; the assertions below are what should fail

  it('samples three 1 GiB members of a 3 MB archive quickly, with bounded memory, and says so', function () {
    const member = zeroMember(1024);
    const file = path.join(tmp, 'bomb.npz');
    fs.writeFileSync(file, zipOf(['logits.npy', 'target.npy', 'extra.npy'].map((name) => ({ name, ...member }))));
    assert.ok(fs.statSync(file).size < 4 * MiB, `archive is ${fs.statSync(file).size} bytes`);

    // What inflating one sample costs on this machine now, for a bound that holds under load: the summary
    // inflates three such samples; the old code inflated 3 GiB (192 of them).
    const sample = zeroMember(npzSampleBytes(DEFAULT_SAMPLING) / MiB);
    const r0 = performance.now();
    inflateSync(sample.deflated);
    const oneSample = (performance.now() - r0) / 1000;

    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const t0 = performance.now();
    const s = summarizeTensorFile(file);
    const seconds = (performance.now() - t0) / 1000;
    const grewBy = process.resourceUsage().maxRSS * 1024 - rssBefore;

    assert.ok(seconds < 12 * oneSample + 1, `took ${seconds.toFixed(2)} s; one sample inflates in ${oneSample.toFixed(2)} s`);
    // 48 MiB inflated in all, some of it garbage not yet collected.
    assert.ok(grewBy < 200 * MiB, `peak memory grew by ${(grewBy / MiB).toFixed(0)} MiB`);
    const elements = npzSampleBytes(DEFAULT_SAMPLING) / 4;
    assert.equal(s.arrays.length, 3);
    for (const a of s.arrays) {
      assert.equal(a.error, null);
      assert.deepEqual(a.shape, [(1024 * MiB) / 4]);
      assert.deepEqual(a.sampled, {
        layout: 'first', blocks: 1, blockBytes: elements * 4, elements, totalElements: (1024 * MiB) / 4, memberBytes: member.size,
      });
      assert.deepEqual([a.stats?.count, a.stats?.min, a.stats?.max, a.stats?.mean], [elements, 0, 0, 0]);
    }
    assert.match(fileHoverMarkdown('bomb.npz', s), /_Sampled: this member is 1\.07 GB uncompressed, so these statistics cover 4194304 of 268435456 elements, read as the first 16\.8 MB of data/);
  });
});

describe('npz hover summaries: sampling by uncompressed size', function () {
  const policy: SamplingPolicy = { overBytes: 100_000, blocks: 5, blockBytes: 800 };
  const n = 20_000; // 160 kB of float64 per member: over the policy's 100 kB
  const counting = encodeNpy({ dtype: 'float64', shape: [n], data: Float64Array.from({ length: n }, (_, i) => i) });

  it('samples a stored member from evenly spaced blocks, like a .npy file, once the budget is spent', function () {
    // A stored member lies in the archive whole, so it exceeds the budget only after deflated members spent it.
    const m = 8000; // 64 kB
    const stored = encodeNpy({ dtype: 'float64', shape: [m], data: Float64Array.from({ length: m }, (_, i) => i) });
    const zeros = encodeNpy({ dtype: 'float64', shape: [12_000], data: new Float64Array(12_000) }); // 96 kB
    const file = path.join(tmp, 'stored.npz');
    fs.writeFileSync(file, zipSync({ 'z.npy': [zeros, { level: 9 }], 'x.npy': [stored, { level: 0 }] }));
    assert.ok(fs.statSync(file).size < policy.overBytes);
    const [z, a] = summarizeTensorFile(file, policy).arrays;
    assert.equal(z.sampled, undefined);
    assert.equal(z.stats?.count, 12_000);
    // 5 blocks of 100 values at element offsets round(k * (m - 100) / 4): values are their own indices.
    const picked: number[] = [];
    for (let k = 0; k < 5; k++) {
      const first = Math.round((k * (m - 100)) / 4);
      for (let i = first; i < first + 100; i++) picked.push(i);
    }
    assert.deepEqual(a.sampled, { layout: 'spaced', blocks: 5, blockBytes: 800, elements: 500, totalElements: m, memberBytes: stored.length });
    assert.deepEqual([a.stats?.count, a.stats?.min, a.stats?.max], [500, 0, m - 1]);
    assert.ok(Math.abs((a.stats?.mean ?? NaN) - picked.reduce((x, y) => x + y, 0) / picked.length) < 1e-9);
  });

  it('samples a deflated member from its first bytes only', function () {
    const file = path.join(tmp, 'deflated.npz');
    fs.writeFileSync(file, writeNpz({ x: counting }, { compress: true }));
    const a = summarizeTensorFile(file, policy).arrays[0];
    assert.deepEqual(a.sampled, { layout: 'first', blocks: 1, blockBytes: 4000, elements: 500, totalElements: n, memberBytes: counting.length });
    assert.deepEqual([a.stats?.count, a.stats?.min, a.stats?.max, a.stats?.mean], [500, 0, 499, 249.5]);
  });

  it('reads members whole while their sizes fit the budget, and samples the rest', function () {
    const small = encodeNpy({ dtype: 'float64', shape: [6000], data: Float64Array.from({ length: 6000 }, (_, i) => -i) }); // 48 kB
    const file = path.join(tmp, 'budget.npz');
    fs.writeFileSync(file, writeNpz({ a: small, b: small, c: small }, { compress: true }));
    const s = summarizeTensorFile(file, policy);
    assert.deepEqual(s.arrays.map((x) => x.sampled?.layout ?? 'whole'), ['whole', 'whole', 'first']);
    assert.deepEqual([s.arrays[0].stats?.count, s.arrays[0].stats?.min, s.arrays[0].stats?.mean], [6000, -5999, -2999.5]);
    assert.equal(s.arrays[2].stats?.count, 500);
  });
});
