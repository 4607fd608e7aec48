// Fuzzing the PNG mask decoder (src/tensor/image/pngMask.ts) with the file's structure in mind: masks of every
// colour type, bit depth, row filter and interlace method made by an independent encoder and decoded back
// exactly; then chunks reordered, lengths and CRCs rewritten, IHDR sizes up to 2^31, compressed ancillary
// chunks (iCCP, zTXt, iTXt) that inflate to hundreds of MB, image data that inflates past its header, chunk
// contents mutated with their CRC fixed (so the mutation reaches the decoder), and every truncation. Every
// case is a decoded mask or a one-line LensError, within the kit's time and memory bounds. Seeds are fixed.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeTensorFile } from '../../../../src/tensor/load';
import { decodePngMask, MAX_MASK_PIXELS } from '../../../../src/tensor/image/pngMask';
import type { Tensor } from '../../../../src/tensor/tensor';
import { applyEdits, byteEdit, checkTensor, total } from '../fuzzKit';
import { iccp, ihdr, itxt, IEND, maskChunks, pngFile, zlibZeros, ztxt, type Chunk, type MaskSpec } from '../../hostile/pngKit';

// Storage per input byte: deflate expands at most about 1032:1, and a 16-bit sample takes 2 bytes.
const PNG_GROWTH = 2 * 1100;

/** Depths PNG allows for each mask colour type. */
const DEPTHS: Record<0 | 3 | 4, readonly number[]> = { 0: [1, 2, 4, 8, 16], 3: [1, 2, 4, 8], 4: [8, 16] };

const maskSpec: fc.Arbitrary<MaskSpec> = fc
  .record({
    width: fc.integer({ min: 1, max: 19 }),
    height: fc.integer({ min: 1, max: 13 }),
    colorType: fc.constantFrom(0 as const, 3 as const, 4 as const),
    depthIndex: fc.nat(),
    interlace: fc.boolean(),
    filters: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 8 }),
    seed: fc.integer(),
  })
  .map((r) => {
    const depths = DEPTHS[r.colorType];
    const bitDepth = depths[r.depthIndex % depths.length];
    const max = 2 ** bitDepth;
    const values = Array.from({ length: r.width * r.height }, (_, i) => Math.floor(Math.abs(Math.sin(r.seed + i * 12.9898)) * 43758.5453) % max);
    return { width: r.width, height: r.height, bitDepth, colorType: r.colorType, interlace: r.interlace, values, filters: r.filters };
  });

/** Decodes through the file loader as well (the name is added to messages); both agree. */
function decodeBoth(bytes: Uint8Array): Tensor | undefined {
  const direct = total(() => decodePngMask(bytes));
  const loaded = total(() => decodeTensorFile('m.png', bytes, 'target'));
  assert.equal(direct === undefined, loaded === undefined, 'the loader and the decoder agree');
  checkTensor(direct, bytes.length, PNG_GROWTH);
  return direct;
}

function assertMask(t: Tensor | undefined, s: MaskSpec, what: string): void {
  assert.ok(t !== undefined, `${what}: decodes`);
  assert.deepEqual(t.shape, [s.height, s.width], what);
  assert.equal(t.dtype, s.bitDepth === 16 ? 'uint16' : 'uint8', what);
  assert.deepEqual(Array.from(t.data), s.values, what);
}

/** Whether the spec is one the decoder refuses by design (interlaced below 8 bits). */
const refused = (s: MaskSpec): boolean => s.interlace && s.bitDepth < 8;

// Compressed ancillary chunks: bombs of 64 to 256 MB (64 to 256 KB each) and broken streams.
const bombs: Chunk[] = [iccp(zlibZeros(256 << 20)), ztxt(zlibZeros(128 << 20)), itxt(zlibZeros(64 << 20))];
const ancillary: Chunk[] = [
  ...bombs,
  iccp(Uint8Array.of(0x78, 0x9c, 0xff, 0xff, 0xff)),
  { type: 'tEXt', data: new TextEncoder().encode('Comment\0hello') },
  { type: 'pHYs', data: new Uint8Array(9) },
  { type: 'gAMA', data: Uint8Array.of(0, 0, 0xb1, 0x8f) },
  { type: 'tRNS', data: Uint8Array.of(0, 1) },
  { type: 'prVt', data: new Uint8Array(1000).fill(7) },
  { type: 'sBIT', data: new Uint8Array(0) },
];

/** Inserts chunks at positions after IHDR (never inside the run of IDAT chunks, which must stay consecutive). */
function withAncillary(chunks: readonly Chunk[], picks: ReadonlyArray<readonly [number, number]>): Chunk[] {
  const out = [...chunks];
  for (const [which, where] of picks) {
    const firstIdat = out.findIndex((c) => c.type === 'IDAT');
    const lastIdat = out.length - 1 - [...out].reverse().findIndex((c) => c.type === 'IDAT');
    const slots = [...Array.from({ length: firstIdat }, (_, i) => i + 1).filter((i) => i <= firstIdat), lastIdat + 1, out.length - 1];
    out.splice(slots[where % slots.length], 0, ancillary[which % ancillary.length]);
  }
  return out;
}

describe('fuzz: PNG masks', function () {
  this.timeout(60_000);

  it('round trip: every colour type, bit depth, row filter, interlace and IDAT split decodes to its values', () => {
    fc.assert(
      fc.property(maskSpec, fc.integer({ min: 1, max: 6 }), (s, pieces) => {
        const t = decodeBoth(pngFile(maskChunks(s, pieces)));
        if (refused(s)) assert.equal(t, undefined);
        else assertMask(t, s, JSON.stringify({ ...s, values: undefined }));
      }),
      { numRuns: 600, seed: 21 },
    );
  });

  it('compressed and other ancillary chunks anywhere outside the IDAT run are skipped without inflating', () => {
    fc.assert(
      fc.property(maskSpec, fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }), (s, picks) => {
        const t = decodeBoth(pngFile(withAncillary(maskChunks(s, 2), picks)));
        if (refused(s)) assert.equal(t, undefined);
        else assertMask(t, s, 'with ancillary chunks');
      }),
      { numRuns: 200, seed: 22 },
    );
  });

  it('chunks reordered, duplicated or dropped: the same mask or a one-line error', () => {
    fc.assert(
      fc.property(maskSpec, fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('move', 'copy', 'drop')), { minLength: 1, maxLength: 4 }), (s, ops) => {
        const chunks = withAncillary(maskChunks(s, 3), [[3, 0]]);
        for (const [from, to, op] of ops) {
          const i = from % chunks.length;
          const c = chunks[i];
          if (op !== 'copy') chunks.splice(i, 1);
          if (op !== 'drop') chunks.splice(to % (chunks.length + 1), 0, c);
        }
        const t = decodeBoth(pngFile(chunks));
        if (t === undefined) return;
        // Decoded only when the critical chunks are in an order PNG allows: IHDR first and once, PLTE once and
        // before the image data, the IDAT chunks in one run, IEND after them.
        const read = chunks.slice(0, chunks.findIndex((c) => c.type === 'IEND') + 1);
        const types = read.map((c) => c.type).filter((x) => x === 'IHDR' || x === 'IDAT' || x === 'IEND' || x === 'PLTE').join(' ');
        assert.match(types, /^IHDR (PLTE )?(IDAT )+IEND$/, 'decoded only in a valid order');
        // The same image data gives the same mask (a copied piece after the zlib stream's end is ignored).
        const idat = (cs: readonly Chunk[]): string => cs.filter((c) => c.type === 'IDAT').map((c) => Buffer.from(c.data).toString('hex')).join('');
        if (idat(read) === idat(maskChunks(s, 3)) && !refused(s)) assertMask(t, s, 'reordered');
      }),
      { numRuns: 400, seed: 23 },
    );
  });

  it('a rewritten CRC or length field in any chunk is refused', () => {
    fc.assert(
      fc.property(maskSpec, fc.nat(), fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff)), fc.boolean(), (s, which, value, crc) => {
        if (refused(s)) return;
        const chunks = maskChunks(s, 2);
        const i = which % chunks.length;
        const good = pngFile(chunks);
        if (crc) {
          const b = good.slice();
          let o = 8;
          for (let k = 0; k < i; k++) o += 12 + chunks[k].data.length;
          const at = o + 8 + chunks[i].data.length;
          const old = ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
          if (old === value) return;
          b.set([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff], at);
          assert.equal(decodeBoth(b), undefined, `a CRC of ${value} on ${chunks[i].type}`);
        } else {
          if (value === chunks[i].data.length) return;
          chunks[i] = { ...chunks[i], length: value };
          assert.equal(decodeBoth(pngFile(chunks)), undefined, `a length of ${value} on ${chunks[i].type}`);
        }
      }),
      { numRuns: 500, seed: 24 },
    );
  });

  it('IHDR sizes up to 2^31 - 1 for every colour type and depth, with small image data: refused at once, or decoded', () => {
    const side = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 0x7fffffff }), fc.constantFrom(16384, 16385, 65535, 0x7fffffff, 0x80000000, 0xffffffff));
    const streams = [zlibZeros(4096), zlibZeros(1 << 20), zlibZeros(256 << 20), Uint8Array.of(0x78, 0x9c, 3, 0, 0, 0, 0, 1)];
    fc.assert(
      fc.property(side, side, fc.constantFrom(0, 2, 3, 4, 6), fc.constantFrom(1, 2, 4, 8, 16), fc.boolean(), fc.nat({ max: 3 }), (width, height, colorType, bitDepth, interlace, data) => {
        const idat: Chunk = { type: 'IDAT', data: streams[data] };
        const plte: Chunk[] = colorType === 3 ? [{ type: 'PLTE', data: new Uint8Array(768) }] : [];
        const b = pngFile([ihdr({ width, height, bitDepth, colorType, interlace: interlace ? 1 : 0 }), ...plte, idat, IEND]);
        const t = decodeBoth(b);
        if (t !== undefined) {
          assert.ok(width * height <= MAX_MASK_PIXELS);
          assert.ok(Array.from(t.data.subarray(0, 64)).every((v) => v === 0), 'zeros in, zeros out');
        }
      }),
      { numRuns: 300, seed: 25 },
    );
  });

  it('image data that inflates to exactly the header\'s size decodes; one byte more, or a gigabyte more, is refused', () => {
    for (const [w, h] of [[4, 4], [1, 1], [300, 7], [1000, 1000]]) {
      const raw = h * (1 + w);
      const at = (n: number): Uint8Array => pngFile([ihdr({ width: w, height: h, bitDepth: 8, colorType: 0 }), { type: 'IDAT', data: zlibZeros(n) }, IEND]);
      const t = decodeBoth(at(raw));
      assert.ok(t !== undefined && t.data.length === w * h && t.data.every((v) => v === 0));
      for (const n of [raw - 1, raw + 1, raw + (1 << 20), 1 << 30]) assert.equal(decodeBoth(at(n)), undefined, `${w} x ${h} with ${n} bytes`);
    }
  });

  it('an unknown critical chunk is refused; an unknown ancillary one is skipped', () => {
    const s: MaskSpec = { width: 3, height: 2, bitDepth: 8, colorType: 0, interlace: false, values: [0, 1, 2, 3, 4, 5], filters: [0] };
    const [head, ...rest] = maskChunks(s);
    assert.equal(decodeBoth(pngFile([head, { type: 'XYZW', data: new Uint8Array(4) }, ...rest])), undefined);
    assertMask(decodeBoth(pngFile([head, { type: 'xYZW', data: new Uint8Array(4) }, ...rest])), s, 'ancillary');
    assert.equal(decodeBoth(pngFile([head, { type: 'x1ZW', data: new Uint8Array(4) }, ...rest])), undefined, 'a type that is not letters');
  });

  it('every truncation of masks of each colour type fails', () => {
    const specs: MaskSpec[] = [
      { width: 5, height: 3, bitDepth: 8, colorType: 3, interlace: false, values: Array.from({ length: 15 }, (_, i) => i), filters: [0, 1, 2, 3, 4] },
      { width: 9, height: 9, bitDepth: 16, colorType: 0, interlace: true, values: Array.from({ length: 81 }, (_, i) => i * 700), filters: [4, 3] },
      { width: 7, height: 2, bitDepth: 2, colorType: 0, interlace: false, values: Array.from({ length: 14 }, (_, i) => i % 4), filters: [2] },
      { width: 4, height: 4, bitDepth: 8, colorType: 4, interlace: false, values: Array.from({ length: 16 }, (_, i) => i), filters: [1] },
    ];
    for (const s of specs) {
      const b = pngFile(withAncillary(maskChunks(s, 3), [[5, 0], [4, 99]]));
      assertMask(decodeBoth(b), s, 'whole');
      for (let n = 0; n < b.length; n++) assert.equal(decodeBoth(b.subarray(0, n)), undefined, `cut at ${n} of ${b.length}`);
    }
  });

  it('chunk contents mutated with their CRC fixed, and whole files mutated without', () => {
    fc.assert(
      fc.property(maskSpec, fc.nat(), fc.array(byteEdit, { minLength: 1, maxLength: 4 }), fc.boolean(), (s, which, edits, fixCrc) => {
        const chunks = withAncillary(maskChunks(s, 2), [[4, 0]]);
        if (fixCrc) {
          const i = which % chunks.length;
          chunks[i] = { type: chunks[i].type, data: applyEdits(chunks[i].data, edits) };
          decodeBoth(pngFile(chunks));
        } else {
          decodeBoth(applyEdits(pngFile(chunks), edits));
        }
      }),
      { numRuns: 800, seed: 26 },
    );
  });
});
