// The photo under the heatmap (issue #21, round two): its size is read from the header (PNG IHDR, JPEG SOFn)
// and checked against MAX_PHOTO_PIXELS before anything decodes it, because createImageBitmap allocates what a
// header claims. Real files come from PIL (their sizes as PIL reads them); hostile ones are those files with
// their size fields rewritten, cut short, or with their segments reordered. A refused photo is a one-line
// note and the loss payload still decodes; the view never hands such bytes to createImageBitmap.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OutputItem, RendererApi, RendererContext } from 'vscode-notebook-renderer';
import { createRenderer } from '../../../media/rendererCore';
import { HeatmapPainter } from '../../../media/view/heatmap/heatmapPaint';
import { LensError } from '../../../src/errors';
import { decodePayloadWithRefs, isTensorRef, PAYLOAD_MIME } from '../../../src/tensor/text/payload';
import { MAX_PHOTO_PIXELS, photoProblem, readPhotoHeader } from '../../../src/tensor/image/imageHeader';
import { decodePayloadImage } from '../../../src/tensor/image/payloadImage';
import { chunkBytes, concat, ihdr, SIGNATURE } from './pngKit';

const PY = '/usr/bin/python3';

interface Made {
  readonly file: string;
  readonly width: number;
  readonly height: number;
}

/** Photos as PIL writes them, with the size PIL reads back. */
function pilPhotos(dir: string): Made[] {
  const code = `
import json, sys, numpy as np
from PIL import Image
out = []
def save(name, img, **kw):
    img.save(name, **kw)
    w, h = Image.open(name).size
    out.append({"file": name, "width": w, "height": h})
a = (np.indices((23, 37)).sum(0) * 9 % 256).astype(np.uint8)
save("rgb.png", Image.fromarray(a).convert("RGB"))
save("gray.png", Image.fromarray(a))
save("pal.png", Image.fromarray(a).convert("P"))
save("rgba16.png", Image.fromarray(a).convert("RGBA"))
save("base.jpg", Image.fromarray(a).convert("RGB"), quality=90)
save("prog.jpg", Image.fromarray(np.tile(a, (3, 2))).convert("RGB"), quality=80, progressive=True)
save("gray.jpg", Image.fromarray(a), quality=75)
exif = Image.Exif(); exif[0x010e] = "a photo with EXIF before its frame header"
save("exif.jpg", Image.fromarray(a).convert("RGB"), exif=exif.tobytes(), icc_profile=b"\\0" * 3000)
print(json.dumps(out))
`;
  const r = spawnSync(PY, ['-c', code], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Made[];
}

/** Offset of the first SOFn marker's segment (the FF byte) in a JPEG. */
function sofAt(b: Uint8Array): number {
  for (let o = 2; o + 4 <= b.length;) {
    const m = b[o + 1];
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return o;
    o += 2 + ((b[o + 2] << 8) | b[o + 3]);
  }
  throw new Error('no SOF');
}

function lensError(fn: () => unknown): LensError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LensError, String(e));
    assert.doesNotMatch(e.message, /[\r\n]/);
    return e;
  }
  assert.fail('no error');
}

function pngOf(width: number, height: number): Uint8Array {
  return concat([SIGNATURE, chunkBytes(ihdr({ width, height, bitDepth: 8, colorType: 2 }))]);
}

describe('photo headers (src/tensor/image/imageHeader.ts): size before decoding', function () {
  this.timeout(60_000);
  let dir: string;
  let made: Made[];
  const bytesOf = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, name)));

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-photo-'));
    made = pilPhotos(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('real PNG and JPEG files from PIL: the size PIL reads, and no problem', () => {
    assert.equal(made.length, 8);
    for (const m of made) {
      const h = readPhotoHeader(bytesOf(m.file));
      assert.deepEqual([h.width, h.height], [m.width, m.height], m.file);
      assert.equal(h.mime, m.file.endsWith('.png') ? 'image/png' : 'image/jpeg', m.file);
      assert.equal(photoProblem(bytesOf(m.file)), null, m.file);
    }
  });

  it('a PNG over the cap is refused from IHDR; one at the cap passes', () => {
    assert.equal(MAX_PHOTO_PIXELS, 8192 * 8192);
    assert.equal(photoProblem(pngOf(8192, 8192)), null);
    for (const [w, h] of [[8193, 8192], [100_000, 100_000], [0x7fffffff, 1], [1, 0x7fffffff]]) {
      const p = photoProblem(pngOf(w, h));
      assert.ok(p !== null && p.includes(`${w} x ${h}`) && p.includes(String(MAX_PHOTO_PIXELS)), String(p));
    }
    assert.match(photoProblem(pngOf(0, 5)) ?? '', /0 x 5/);
    assert.match(photoProblem(pngOf(0x80000000, 1)) ?? '', /corrupt/);
  });

  it('a JPEG whose SOF claims 65535 x 65535 is refused; its real size passes', () => {
    for (const name of ['base.jpg', 'prog.jpg', 'exif.jpg']) {
      const b = bytesOf(name);
      const at = sofAt(b);
      const big = b.slice();
      big.set([0xff, 0xff, 0xff, 0xff], at + 5);
      assert.match(photoProblem(big) ?? '', /65535 x 65535 = 4294836225 pixels, above the 67108864/, name);
      // Height 0 (the DNL form): the size is not known before decoding.
      const dnl = b.slice();
      dnl.set([0, 0], at + 5);
      assert.match(photoProblem(dnl) ?? '', /DNL/, name);
    }
  });

  it('every truncation before the size fields is refused with one line', () => {
    const png = bytesOf('rgb.png');
    for (let n = 0; n < 33; n++) assert.ok(photoProblem(png.subarray(0, n)) !== null, `PNG cut at ${n}`);
    assert.equal(photoProblem(png.subarray(0, 33)), null, 'the header is enough');
    for (const name of ['base.jpg', 'exif.jpg']) {
      const jpg = bytesOf(name);
      const end = sofAt(jpg) + 9;
      for (let n = 0; n < end; n++) {
        const e = lensError(() => readPhotoHeader(jpg.subarray(0, n)));
        assert.match(e.message, n < 3 ? /not a PNG or JPEG/ : /truncated|corrupt/, `${name} cut at ${n}: ${e.message}`);
      }
      assert.doesNotThrow(() => readPhotoHeader(jpg.subarray(0, end)));
    }
  });

  it('a JPEG that reaches its scan or its end before a frame header, or a segment that breaks the marker chain, is refused', () => {
    const b = bytesOf('base.jpg');
    const at = sofAt(b);
    const sofLen = 2 + ((b[at + 2] << 8) | b[at + 3]);
    // The SOF segment moved to the end of the file: SOS comes first.
    const moved = concat([b.subarray(0, at), b.subarray(at + sofLen), b.subarray(at, at + sofLen)]);
    assert.match(lensError(() => readPhotoHeader(moved)).message, /SOS/);
    assert.match(lensError(() => readPhotoHeader(Uint8Array.of(0xff, 0xd8, 0xff, 0xd9))).message, /EOI/);
    assert.match(lensError(() => readPhotoHeader(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0x12))).message, /no JPEG marker at byte 8/);
    assert.match(lensError(() => readPhotoHeader(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 1))).message, /length 1/);
    // Fill bytes and restart markers before the frame header are allowed.
    const filled = concat([b.subarray(0, 2), Uint8Array.of(0xff, 0xff, 0xff, 0xd0), b.subarray(2)]);
    assert.deepEqual(readPhotoHeader(filled), readPhotoHeader(b));
  });

  it('a million APPn segments before the frame header are walked in linear time', () => {
    const seg = Uint8Array.of(0xff, 0xe1, 0, 2);
    const many = new Uint8Array(2 + seg.length * 1_000_000 + 20);
    many.set([0xff, 0xd8]);
    for (let i = 0; i < 1_000_000; i++) many.set(seg, 2 + i * 4);
    many.set([0xff, 0xc0, 0, 11, 8, 0, 7, 0, 9, 1, 1, 0x11, 0], 2 + 4_000_000);
    const t0 = performance.now();
    assert.deepEqual(readPhotoHeader(many), { mime: 'image/jpeg', width: 9, height: 7 });
    assert.ok(performance.now() - t0 < 500);
  });

  it('a payload photo over the cap or with a broken header is a note; the loss payload still decodes', () => {
    const b = bytesOf('base.jpg');
    const big = b.slice();
    big.set([0xff, 0xff, 0xff, 0xff], sofAt(b) + 5);
    const base = { input: [[0.5, 1.5]], target: [1] };
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['image/png', pngOf(60_000, 60_000), /huge\.png: 60000 x 60000 = 3600000000 pixels, above the 67108864/],
      ['image/jpeg', big, /huge\.png: 65535 x 65535/],
      ['image/jpeg', b.subarray(0, 40), /huge\.png: the JPEG ends after 40 bytes/],
      ['image/png', bytesOf('rgb.png').subarray(0, 20), /huge\.png: the PNG ends after 20 bytes/],
    ];
    for (const [mime, bytes, re] of cases) {
      const p = decodePayloadWithRefs({ ...base, image: { mime, data: Buffer.from(bytes).toString('base64'), name: 'huge.png' } });
      assert.ok(!isTensorRef(p.input) && p.input.shape.join() === '1,2', 'the loss payload is intact');
      const img = p.image;
      assert.ok(img && img.kind === 'invalid', String(img?.kind));
      assert.match(img.message, re);
      assert.match(img.message, /^payload\.image: .* — no photo under the heatmap$/);
      assert.doesNotMatch(img.message, /\n/);
    }
    const ok = decodePayloadImage({ mime: 'image/jpeg', data: Buffer.from(b).toString('base64'), name: 'ok.jpg' });
    assert.equal(ok?.kind, 'inline');
  });

  it('the view never hands an oversized photo to createImageBitmap: the note shows instead, and the loss', async function () {
    const { Window: HappyWindow } = await import('happy-dom');
    const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
    const decoded: number[] = [];
    (win as unknown as { createImageBitmap: (b: Blob) => Promise<unknown> }).createImageBitmap = async (b: Blob) => {
      decoded.push(b.size);
      return { width: 1, height: 1, close: () => undefined };
    };
    const doc = win.document as unknown as Document;
    const el = doc.createElement('div');
    doc.body.appendChild(el);
    const ctx = { workspace: { isTrusted: true }, getState: () => undefined, setState: () => undefined } as unknown as RendererContext<unknown>;
    const api = (await createRenderer('.cel-root{}', 1000)(ctx)) as RendererApi;
    // Bytes the payload decoder would refuse are sent to the view as if they had passed (a host that did not
    // check): the view checks again.
    const notes: string[] = [];
    const painter = Object.create(HeatmapPainter.prototype) as InstanceType<typeof HeatmapPainter>;
    Object.assign(painter, { imageSeq: 0, ctx: { win }, overlay: { setPhoto: (_: unknown, note = '') => notes.push(note) } });
    try {
      assert.equal(await painter.setImage({ name: 'huge.png', mime: 'image/png', bytes: pngOf(60_000, 60_000) }), true);
      assert.deepEqual(decoded, []);
      assert.match(notes[0], /^huge\.png: 60000 x 60000 = 3600000000 pixels, above the 67108864/);
      await painter.setImage({ name: 'ok.png', mime: 'image/png', bytes: bytesOf('rgb.png') });
      assert.equal(decoded.length, 1, 'a photo within the cap is decoded');

      // Through the renderer: a notebook output with an oversized photo shows the loss, and the photo is not
      // decoded (its note is the payload's, replaced here by the in-page engine's own note: no host).
      const payload = { input: [[[[0.5]], [[1.5]]]], target: [[[1]]], image: { mime: 'image/png', data: Buffer.from(pngOf(60_000, 60_000)).toString('base64'), name: 'street.png' } };
      const bytes = new TextEncoder().encode(JSON.stringify(payload));
      const item = { id: 'i1', mime: PAYLOAD_MIME, metadata: undefined, data: () => bytes, text: () => '', json: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown } as unknown as OutputItem;
      await api.renderOutputItem(item, el, new AbortController().signal);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(decoded.length, 1, 'not decoded');
      assert.ok(el.querySelector('[data-testid="loss-value"]'), 'the loss still shows');
    } finally {
      api.disposeOutputItem?.();
      await win.happyDOM.close();
    }
  });
});
