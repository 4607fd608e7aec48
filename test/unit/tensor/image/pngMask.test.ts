// PNG label masks: every expected array is np.array(Image.open(f)) as PIL reads the fixture
// (test/fixtures/tensor/make_png_fixtures.py), every header field the file's own IHDR bytes as Python
// unpacks them, and the VOC palette the devkit's algorithm as Python computes it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mapColorsToClasses, namedColorTable, parseColorTable, vocPalette, type Rgb } from '../../../../src/tensor/image/colorTable';
import { decodeTensorFile } from '../../../../src/tensor/load';
import {
  decodePngMask, describePngHeader, maskValueCounts, MAX_MASK_PIXELS, pairMaskShapes, pngMaskDType, pngMaskShape, readPngHeader,
} from '../../../../src/tensor/image/pngMask';
import { fileHoverMarkdown } from '../../../../src/hover/markdown';
import { assignRoles, checkPair, isInputCandidate, rankTargets } from '../../../../src/kernel/roles';
import { scanDocument } from '../../../../src/hover/scan';
import { readMaskTarget } from '../../../../src/worker/files/maskTarget';
import { summarizeTensorFile } from '../../../../src/worker/jobs/tensorSummary';
import { FIXTURES, fixture, fixtureJson, lensError } from '../helpers';

interface Entry {
  readonly file: string;
  readonly ihdr: { width: number; height: number; bitDepth: number; colorType: number; interlaced: boolean };
  readonly mode?: string;
  readonly shape?: number[];
  readonly values?: number[];
  readonly gray?: number[];
  readonly classes?: number[];
  readonly table?: number[][];
  readonly error?: string[];
}

const manifest = fixtureJson<{ voc: number[][]; fixtures: Entry[] }>('png', 'manifest.json');
const byName = new Map(manifest.fixtures.map((e) => [e.file, e]));
const entry = (name: string): Entry => {
  const e = byName.get(name);
  assert.ok(e, `fixture ${name} missing from manifest.json`);
  return e;
};
const png = (name: string): Uint8Array => fixture('png', name);

describe('PNG masks: header (IHDR) without decoding', () => {
  for (const e of manifest.fixtures) {
    it(`${e.file}: width, height, bit depth, colour type as the file states them`, () => {
      assert.deepEqual(readPngHeader(png(e.file).subarray(0, 33)), e.ihdr);
    });
  }

  it('describes the header and gives the [H, W] shape and dtype without reading pixels', () => {
    const h = readPngHeader(png('gray16.png'));
    assert.deepEqual(pngMaskShape(h), entry('gray16.png').shape);
    assert.equal(pngMaskDType(h), 'uint16');
    assert.equal(describePngHeader(h), '16-bit gray PNG');
    assert.equal(describePngHeader(readPngHeader(png('voc_p.png'))), '8-bit palette PNG');
  });

  it('refuses a file that is not a PNG, or ends inside the header', () => {
    assert.match(lensError(() => readPngHeader(new TextEncoder().encode('hello, world, not a png at all!!!'))).message, /not a PNG/);
    assert.match(lensError(() => readPngHeader(png('l8.png').subarray(0, 20))).message, /truncated/);
  });
});

describe('PNG masks: decoded values equal np.array(Image.open(f))', () => {
  for (const name of ['l8.png', 'voc_p.png', 'p1.png', 'p2.png', 'p4.png', 'gray1.png', 'gray16.png']) {
    it(name, () => {
      const e = entry(name);
      const t = decodeTensorFile(name, png(name), 'target');
      assert.deepEqual(t.shape, e.shape);
      assert.deepEqual(Array.from(t.data), e.values);
      assert.equal(t.dtype, e.ihdr.bitDepth === 16 ? 'uint16' : 'uint8');
    });
  }

  it('a palette PNG gives the index, not the colour (VOC borders are 255)', () => {
    const t = decodeTensorFile('voc_p.png', png('voc_p.png'), 'target');
    const values = Array.from(t.data);
    assert.ok(values.includes(255), 'the VOC fixture has a 255 border');
    assert.ok(values.every((v) => v === 255 || v <= 20));
  });

  it('16-bit gray keeps exact values above 255 (65535 included)', () => {
    const t = decodeTensorFile('gray16.png', png('gray16.png'), 'target');
    assert.ok(t.data instanceof Uint16Array);
    assert.equal(t.data[0], 65535);
    assert.deepEqual(Array.from(t.data), entry('gray16.png').values);
  });

  it('gray+alpha reads the gray channel when every pixel is opaque', () => {
    const e = entry('la_opaque.png');
    const t = decodeTensorFile('la_opaque.png', png('la_opaque.png'), 'target');
    assert.deepEqual(t.shape, e.shape!.slice(0, 2));
    assert.deepEqual(Array.from(t.data), e.gray);
    // What PIL read: the gray channel is every other value.
    assert.deepEqual(e.values!.filter((_, i) => i % 2 === 0), e.gray);
  });

  it('gray+alpha with a transparent pixel is refused, naming the pixel', () => {
    const m = lensError(() => decodeTensorFile('la_alpha.png', png('la_alpha.png'), 'target')).message;
    assert.match(m, /^la_alpha\.png: /);
    for (const w of entry('la_alpha.png').error!) assert.ok(m.includes(w), m);
  });
});

describe('PNG masks: RGB needs a colour table', () => {
  it('an RGB mask without a table is a clear one-line error', () => {
    const m = lensError(() => decodeTensorFile('x.png', png('voc_rgb.png'), 'target')).message;
    assert.equal(
      m,
      'x.png: an RGB mask: colours are not class indices — save the mask as 8-bit gray or palette PNG, or give a colour table (classes.json with "colors", or palette VOC)',
    );
    assert.match(lensError(() => decodeTensorFile('y.png', png('voc_rgba.png'), 'target')).message, /^y\.png: an RGBA mask: colours are not class indices/);
  });

  it('the VOC palette equals the devkit algorithm as Python computes it; 255 is (224, 224, 192)', () => {
    assert.deepEqual(vocPalette(256), manifest.voc);
    assert.deepEqual(vocPalette()[255], [224, 224, 192]);
    assert.deepEqual(namedColorTable('VOC')!.colors, manifest.voc);
    assert.equal(namedColorTable('cityscapes'), undefined);
  });

  for (const name of ['voc_rgb.png', 'voc_rgba.png']) {
    it(`${name} with the VOC table gives the classes the colours were made from`, () => {
      const e = entry(name);
      // The colours PIL read are the VOC colours of those classes.
      const ch = e.shape![2];
      e.classes!.forEach((c, i) => assert.deepEqual(e.values!.slice(i * ch, i * ch + 3), manifest.voc[c]));
      const t = decodePngMask(png(name), { colorTable: namedColorTable('voc') });
      assert.deepEqual(t.shape, e.shape!.slice(0, 2));
      assert.equal(t.dtype, 'uint8');
      assert.deepEqual(Array.from(t.data), e.classes);
      // The same classes as the palette PNG holds as indices.
      assert.deepEqual(Array.from(t.data), entry('voc_p.png').values);
    });
  }

  it('a colour in no table is an error naming the first pixel and the colour', () => {
    const m = lensError(() => decodePngMask(png('odd_rgb.png'), { colorTable: namedColorTable('voc') })).message;
    for (const w of entry('odd_rgb.png').error!) assert.ok(m.includes(w), m);
    assert.match(m, /VOC palette/);
  });

  it('a classes.json "colors" table maps each colour to its class index', () => {
    const e = entry('table3_rgb.png');
    const table = parseColorTable({ names: ['a', 'b', 'c'], colors: e.table }, 'classes.json')!;
    assert.deepEqual(Array.from(decodePngMask(png('table3_rgb.png'), { colorTable: table }).data), e.classes);
    // "#rrggbb" strings work too.
    const hex = parseColorTable({ colors: e.table!.map((c) => '#' + c.map((x) => x.toString(16).padStart(2, '0')).join('')) })!;
    assert.deepEqual(Array.from(decodePngMask(png('table3_rgb.png'), { colorTable: hex }).data), e.classes);
    // That table does not hold VOC's colours.
    assert.match(lensError(() => decodePngMask(png('voc_rgb.png'), { colorTable: table })).message, /\(224, 224, 192\) at pixel \[0, 0\] is not in classes\.json/);
  });

  it('ignoreColors map to the ignore value (VOC boundary -> 255) with a 21-colour table', () => {
    const e = entry('voc_rgb.png');
    const table = parseColorTable({ colors: manifest.voc.slice(0, 21), ignoreColors: [[224, 224, 192]], ignoreValue: 255 })!;
    assert.deepEqual(Array.from(mapColorsToClasses(e.values!, 3, e.shape![1], table)), e.classes);
    // A large ignore value needs int32.
    const wide = parseColorTable({ colors: manifest.voc.slice(0, 21), ignoreColors: [[224, 224, 192]], ignoreValue: -100 })!;
    const out = mapColorsToClasses(e.values!, 3, e.shape![1], wide);
    assert.ok(out instanceof Int32Array);
    assert.deepEqual(Array.from(out), e.classes!.map((c) => (c === 255 ? -100 : c)));
  });

  it('parseColorTable: none for a list of names; errors for bad colours and duplicates', () => {
    assert.equal(parseColorTable(['cat', 'dog']), undefined);
    assert.equal(parseColorTable({ names: ['cat'] }), undefined);
    assert.match(lensError(() => parseColorTable({ colors: [[1, 2, 300]] })).message, /colors\[0\] is not a colour/);
    assert.match(lensError(() => parseColorTable({ colors: 'rainbow' })).message, /unknown palette/);
    const dup = parseColorTable({ colors: [[1, 2, 3], [1, 2, 3]] })!;
    assert.match(lensError(() => mapColorsToClasses([1, 2, 3], 3, 1, dup)).message, /both 0 and 1/);
    const rgba: Rgb[] = [[1, 2, 3]];
    assert.match(lensError(() => mapColorsToClasses([1, 2, 3, 0], 4, 1, { name: 't', colors: rgba })).message, /transparent/);
  });
});

describe('PNG masks: hostile and wrong files', () => {
  it('a header declaring 100000 x 100000 pixels is refused before decoding', () => {
    const e = entry('bomb_header.png');
    const t0 = performance.now();
    const m = lensError(() => decodeTensorFile('bomb_header.png', png('bomb_header.png'), 'target')).message;
    assert.ok(performance.now() - t0 < 1000, 'refused at once');
    for (const w of e.error!) assert.ok(m.includes(w), m);
    assert.ok(m.includes(String(MAX_MASK_PIXELS)), m);
  });

  it('image data that inflates beyond the header is refused (a zlib bomb in a 4 x 4 image)', () => {
    const m = lensError(() => decodeTensorFile('inflate_bomb.png', png('inflate_bomb.png'), 'target')).message;
    for (const w of entry('inflate_bomb.png').error!) assert.ok(m.includes(w), m);
  });

  it('a truncated PNG is a one-line error naming the file', () => {
    const m = lensError(() => decodeTensorFile('truncated.png', png('truncated.png'), 'target')).message;
    assert.match(m, /^truncated\.png: /);
  });

  it('a PNG is the target only', () => {
    for (const role of ['input', 'weight'] as const) {
      assert.match(lensError(() => decodeTensorFile('m.png', png('l8.png'), role)).message, /^m\.png: a PNG is a label mask; it can only be the target/);
    }
  });

  it('a PNG without the .png extension is recognised by its signature', () => {
    assert.deepEqual(Array.from(decodeTensorFile('mask_no_ext', png('l8.png'), 'target').data), entry('l8.png').values);
  });

  it('a member name does not apply to a PNG', () => {
    assert.match(lensError(() => decodeTensorFile('m.png', png('l8.png'), 'target', 'x')).message, /member name/);
  });
});

describe('PNG masks: pairing with the input', () => {
  it('[1, C, H, W] takes the mask as [1, H, W]', () => {
    assert.deepEqual(pairMaskShapes([1, 21, 6, 8], [6, 8]), { input: [1, 21, 6, 8], target: [1, 6, 8], paired: true });
  });
  it('[C, H, W] (one sample) becomes [1, C, H, W] with [1, H, W]', () => {
    assert.deepEqual(pairMaskShapes([21, 6, 8], [6, 8]), { input: [1, 21, 6, 8], target: [1, 6, 8], paired: true });
  });
  it('an input with several samples is an error that says the mask is one sample', () => {
    assert.match(lensError(() => pairMaskShapes([2, 21, 6, 8], [6, 8]), 'shape').message, /one sample \[6, 8\].*holds 2 samples/);
  });
  it('other ranks are left for the kernel to judge', () => {
    assert.deepEqual(pairMaskShapes([6, 21], [6, 8]), { input: [6, 21], target: [6, 8], paired: false });
  });
});

describe('PNG masks: class counts for hovers', () => {
  it('counts distinct values (ascending), or null past the limit', () => {
    const t = decodeTensorFile('voc_p.png', png('voc_p.png'), 'target');
    const want = new Map<number, number>();
    for (const v of entry('voc_p.png').values!) want.set(v, (want.get(v) ?? 0) + 1);
    assert.deepEqual(maskValueCounts(t), [...want.entries()].sort((a, b) => a[0] - b[0]).map(([value, count]) => ({ value, count })));
    assert.equal(maskValueCounts(t, 3), null);
  });
});

describe('PNG masks: reading from disk with a colour table (src/worker/files/maskTarget.ts)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'png-mask-'));
    fs.copyFileSync(path.join(FIXTURES, 'png', 'voc_rgb.png'), path.join(dir, 'mask.png'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without classes.json an RGB mask is refused, naming the file', () => {
    assert.match(lensError(() => readMaskTarget(path.join(dir, 'mask.png'))).message, /mask\.png: an RGB mask: colours are not class indices/);
  });

  it('classes.json with "colors": "VOC" beside the mask maps the colours', () => {
    fs.writeFileSync(path.join(dir, 'classes.json'), JSON.stringify({ names: ['background'], colors: 'VOC' }));
    assert.deepEqual(Array.from(readMaskTarget(path.join(dir, 'mask.png')).data), entry('voc_rgb.png').classes);
  });

  it('a classes.json holding only names does not make a table', () => {
    fs.writeFileSync(path.join(dir, 'classes.json'), JSON.stringify(['background', 'aeroplane']));
    assert.match(lensError(() => readMaskTarget(path.join(dir, 'mask.png'))).message, /an RGB mask/);
  });

  it('a table passed in (the CLI\'s --palette) wins', () => {
    assert.deepEqual(Array.from(readMaskTarget(path.join(dir, 'mask.png'), namedColorTable('voc')).data), entry('voc_rgb.png').classes);
  });
});

describe('PNG masks: hovers on a path string', () => {
  it('a "mask.png" string in Python is a path the hover looks up', () => {
    const src = 'mask = Image.open("data/masks/2007_000032.png")\nx = np.load("logits.npy")\n';
    const values = scanDocument(src, 'python').paths.map((p) => p.value);
    assert.deepEqual(values, ['data/masks/2007_000032.png', 'logits.npy']);
  });

  it('the summary gives size, bit depth, colour type and the class counts np.unique finds', () => {
    const e = entry('voc_p.png');
    const s = summarizeTensorFile(path.join(FIXTURES, 'png', 'voc_p.png'));
    assert.equal(s.kind, 'png');
    assert.deepEqual({ w: s.mask!.width, h: s.mask!.height, d: s.mask!.bitDepth, t: s.mask!.colorType }, { w: e.ihdr.width, h: e.ihdr.height, d: 8, t: 'palette' });
    const want = new Map<number, number>();
    for (const v of e.values!) want.set(v, (want.get(v) ?? 0) + 1);
    assert.deepEqual(s.mask!.classes, [...want.entries()].sort((a, b) => a[0] - b[0]).map(([value, count]) => ({ value, count })));
    const md = fileHoverMarkdown('masks/voc_p.png', s);
    assert.match(md, /PNG label mask/);
    assert.match(md, /8 x 6 · 8-bit palette · target shape \[6, 8\] uint8/);
    assert.match(md, new RegExp(`255: ${want.get(255)}`));
  });

  it('an RGB image says its colours are not classes; a PNG bomb shows an error, not a decode', () => {
    const rgb = summarizeTensorFile(path.join(FIXTURES, 'png', 'voc_rgb.png'));
    assert.equal(rgb.mask!.classes, null);
    assert.match(rgb.note ?? '', /colours are not class indices/);
    const bomb = summarizeTensorFile(path.join(FIXTURES, 'png', 'bomb_header.png'));
    assert.equal(bomb.mask!.classes, null);
    assert.equal(bomb.mask!.width, 100000);
  });
});

describe('PNG masks: Quick Pick and explorer roles (src/kernel/roles.ts)', () => {
  const mask = { id: 'm.png', name: 'gt/m.png', shape: [6, 8], dtype: 'uint8' as const, mask: true };
  const other = { id: 'o.png', name: 'o.png', shape: [5, 8], dtype: 'uint8' as const, mask: true };
  const x4 = { id: 'x4.npy', name: 'logits.npy', shape: [1, 21, 6, 8], dtype: 'float32' as const };
  const x3 = { id: 'x3.npy', name: 'pred.npy', shape: [21, 6, 8], dtype: 'float32' as const };
  const x8 = { id: 'x8.npy', name: 'batch.npy', shape: [8, 21, 6, 8], dtype: 'float32' as const };

  it('a mask of matching size is a target of [1, C, H, W] and [C, H, W]; another size or a batch is not', () => {
    assert.equal(checkPair(x4, mask), null);
    assert.equal(checkPair(x3, mask), null);
    assert.notEqual(checkPair(x4, other), null);
    assert.match(checkPair(x8, mask) ?? '', /one sample/);
    assert.deepEqual(rankTargets(x4, [other, mask, x3]).map((c) => c.id), ['m.png']);
  });

  it('a mask is never an input, and the explorer selection makes it the target', () => {
    assert.equal(isInputCandidate(mask), false);
    assert.match(checkPair(mask, x4) ?? '', /can only be the target/);
    const a = assignRoles([mask, x3]);
    assert.equal(a.kind, 'ok');
    assert.deepEqual(a.kind === 'ok' ? [a.input.id, a.target.id] : [], ['x3.npy', 'm.png']);
  });
});
