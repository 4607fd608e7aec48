// display(..., image=...): the photo under a notebook output's heatmap. The Python helper encodes it (a file's
// own bytes, or a PNG it writes from an array with zlib); the payload carries it inline or, when large, as a
// checked { file, bytes, sha256 } reference; a bad image is a note beside the loss, never an error hiding it.
// Pixels are checked against what PIL decodes from the same bytes, and against the array NumPy was given.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decode as decodePng } from 'fast-png';
import type { OutputItem, RendererApi, RendererContext } from 'vscode-notebook-renderer';
import { createRenderer } from '../../../media/rendererCore';
import { loadRefImage, NOT_TRUSTED, type RefContext } from '../../../src/host/editor/payloadFiles';
import { decodePayloadWithRefs, isTensorRef, PAYLOAD_MIME } from '../../../src/tensor/text/payload';
import { decodePayloadImage, MAX_PAYLOAD_IMAGE_BYTES, type PayloadImage } from '../../../src/tensor/image/payloadImage';

const ROOT = path.resolve(__dirname, '../../..');
const PY = '/usr/bin/python3';

function python(code: string, cwd: string): string {
  const r = spawnSync(PY, ['-c', code], { cwd, encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python') } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cel-image-'));
}

const PNG_1PX = Uint8Array.from(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC', 'base64'));

describe('display(..., image=...): payload image', function () {
  this.timeout(60_000);

  it('an array becomes a PNG whose pixels are the array (checked by PIL and by fast-png)', function () {
    const dir = tmpdir();
    const out = python(`
import json, io, base64, numpy as np
from PIL import Image
from cross_entropy_lens import to_payload
rng = np.random.default_rng(3)
rgb = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
chw = rng.integers(0, 256, size=(3, 9, 11), dtype=np.uint8)
gray = rng.random((5, 6))
res = {}
for name, img in (("rgb", rgb), ("chw", chw), ("gray", gray)):
    p = to_payload(np.zeros((1, 2, 4, 4), np.float32), np.zeros((1, 4, 4), np.int64), image=img)
    b = base64.b64decode(p["image"]["data"])
    pil = np.asarray(Image.open(io.BytesIO(b)))
    res[name] = {"payload": p, "pil": pil.ravel().tolist(), "shape": list(pil.shape)}
res["expected"] = {"rgb": rgb.ravel().tolist(), "chw": np.moveaxis(chw, 0, -1).ravel().tolist(),
                   "gray": np.clip(np.rint(gray * 255), 0, 255).astype(np.uint8).ravel().tolist()}
print(json.dumps(res))
`, dir);
    const res = JSON.parse(out) as Record<string, { payload: unknown; pil: number[]; shape: number[] }> & { expected: Record<string, number[]> };
    for (const name of ['rgb', 'chw', 'gray']) {
      // PIL decodes the helper's PNG to exactly the pixels it was given.
      assert.deepEqual(res[name].pil, res.expected[name], name);
      const p = decodePayloadWithRefs(res[name].payload);
      const img = p.image as PayloadImage;
      assert.equal(img.kind, 'inline', name);
      if (img.kind !== 'inline') return;
      assert.equal(img.mime, 'image/png');
      const png = decodePng(img.bytes);
      assert.deepEqual([png.height, png.width, png.channels].slice(0, res[name].shape.length), res[name].shape.length === 2 ? res[name].shape : [...res[name].shape.slice(0, 2), png.channels]);
      assert.deepEqual(Array.from(png.data as Uint8Array), res.expected[name], name);
    }
  });

  it('a JPEG path travels as the file\'s own bytes; store="file" writes it beside the notebook as a checked reference', async function () {
    const dir = tmpdir();
    const out = python(`
import json, numpy as np
from PIL import Image
from cross_entropy_lens import to_payload
Image.fromarray((np.indices((40, 60)).sum(0) % 256).astype(np.uint8)).convert("RGB").save("photo.jpg", quality=90)
x, t = np.zeros((1, 2, 40, 60), np.float32), np.zeros((1, 40, 60), np.int64)
print(json.dumps([to_payload(x, t, image="photo.jpg", store="inline"), to_payload(x, t, image="photo.jpg", store="file")]))
`, dir);
    const [inline, byFile] = JSON.parse(out) as [unknown, unknown];
    const jpeg = fs.readFileSync(path.join(dir, 'photo.jpg'));
    const a = decodePayloadWithRefs(inline).image;
    assert.ok(a && a.kind === 'inline');
    assert.equal(a.mime, 'image/jpeg');
    assert.equal(a.name, 'photo.jpg');
    assert.ok(Buffer.from(a.bytes).equals(jpeg));

    const b = decodePayloadWithRefs(byFile);
    assert.ok(isTensorRef(b.input) && isTensorRef(b.target), 'store="file" writes the tensors as references too');
    const ref = b.image;
    assert.ok(ref && ref.kind === 'ref');
    assert.match(ref.ref.file, /^\.cross_entropy_lens\/[0-9a-f]{64}\.jpg$/);
    const ctx: RefContext = { notebookDir: dir, workspaceFolders: [dir], trusted: true };
    const loaded = await loadRefImage(ref, ctx);
    assert.ok(loaded.image.kind === 'inline' && Buffer.from(loaded.image.bytes).equals(jpeg));
    assert.equal(loaded.path, fs.realpathSync(path.join(dir, ref.ref.file)));

    // The host's checks hold for photos as for tensors, each a note naming the photo.
    const untrusted = await loadRefImage(ref, { ...ctx, trusted: false });
    assert.ok(untrusted.image.kind === 'invalid' && untrusted.image.message.includes(NOT_TRUSTED) && untrusted.image.message.startsWith('photo.jpg: '));
    const outside = await loadRefImage(ref, { ...ctx, workspaceFolders: [tmpdir()] });
    assert.ok(outside.image.kind === 'invalid' && /outside the workspace folder/.test(outside.image.message));
    fs.appendFileSync(path.join(dir, ref.ref.file), 'x');
    const changed = await loadRefImage(ref, ctx);
    assert.ok(changed.image.kind === 'invalid' && /changed since the cell ran/.test(changed.image.message), JSON.stringify(changed.image));
    fs.rmSync(path.join(dir, ref.ref.file));
    const gone = await loadRefImage(ref, ctx);
    assert.ok(gone.image.kind === 'invalid' && /data not present: re-run the cell/.test(gone.image.message));
    assert.equal(gone.path, null);
  });

  it('the helper refuses what is not an image with one line', function () {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    const out = python(`
import numpy as np
from cross_entropy_lens import to_payload
x, t = np.zeros((1, 2, 4, 4), np.float32), np.zeros((1, 4, 4), np.int64)
for bad in ("notes.txt", b"GIF89a", np.zeros((2, 3, 5, 5), np.uint8), np.full((4, 4), 300), np.zeros((0, 4, 3), np.uint8)):
    try:
        to_payload(x, t, image=bad)
        print("accepted")
    except ValueError as e:
        print("refused:", e)
`, dir);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 5);
    for (const l of lines) assert.match(l, /^refused: image: /);
  });

  it('a bad image decodes as a note and the loss payload still decodes', function () {
    const base = { input: [[0.5, 1.5]], target: [1] };
    const b64 = Buffer.from(PNG_1PX).toString('base64');
    const cases: [unknown, RegExp][] = [
      ['photo.png', /must be \{ mime, data \}/],
      [{ mime: 'image/gif', data: b64 }, /mime must be image\/png or image\/jpeg/],
      [{ mime: 'image/png', data: 42 }, /data must be base64 text/],
      [{ mime: 'image/png', data: '!!!' }, /not valid base64/],
      [{ mime: 'image/png', data: Buffer.from('GIF89a....').toString('base64'), name: 'x.gif' }, /x\.gif is not a PNG or JPEG file/],
      [{ mime: 'image/jpeg', data: b64, name: 'p.jpg' }, /p\.jpg is a PNG, not image\/jpeg/],
      [{ mime: 'image/png', data: 'A'.repeat(Math.ceil(MAX_PAYLOAD_IMAGE_BYTES / 3) * 4 + 8192) }, /larger than 32 MB/],
      [{ mime: 'image/png', file: '../x.png', bytes: 10, sha256: 'ab'.repeat(32) }, /contains '\.\.'/],
    ];
    for (const [image, re] of cases) {
      const p = decodePayloadWithRefs({ ...base, image });
      assert.ok(!isTensorRef(p.input) && p.input.shape.join() === '1,2', 'the loss payload is intact');
      const img = p.image;
      assert.ok(img && img.kind === 'invalid', JSON.stringify(image).slice(0, 80));
      assert.match(img.message, re);
      assert.ok(!img.message.includes('\n'));
    }
    // Absent is no image, not a note.
    assert.equal(decodePayloadImage(undefined), null);
    const good = decodePayloadImage({ mime: 'image/png', data: b64, name: 'a\u0007b.png' });
    assert.ok(good && good.kind === 'inline' && good.name === 'a b.png');
  });

  it('the renderer hands an inline photo to the view, which decodes it itself', async function () {
    const { Window: HappyWindow } = await import('happy-dom');
    const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
    const decoded: { type: string; size: number }[] = [];
    // happy-dom has no image decoder: record what the view asks to decode and give it a 1x1 bitmap.
    (win as unknown as { createImageBitmap: (b: Blob) => Promise<unknown> }).createImageBitmap = async (b: Blob) => {
      decoded.push({ type: b.type, size: b.size });
      return { width: 1, height: 1, close: () => undefined };
    };
    const doc = win.document as unknown as Document;
    const el = doc.createElement('div');
    doc.body.appendChild(el);
    const payload = { input: [[[[0.5]], [[1.5]]]], target: [[[1]]], image: { mime: 'image/png', data: Buffer.from(PNG_1PX).toString('base64'), name: 'street.png' } };
    const bytes = new TextEncoder().encode(JSON.stringify(payload));
    const item = { id: 'i1', mime: PAYLOAD_MIME, metadata: undefined, data: () => bytes, text: () => '', json: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown } as unknown as OutputItem;
    const ctx = { workspace: { isTrusted: true }, getState: () => undefined, setState: () => undefined } as unknown as RendererContext<unknown>;
    const api = (await createRenderer('.cel-root{}', 1000)(ctx)) as RendererApi;
    try {
      await api.renderOutputItem(item, el, new AbortController().signal);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(decoded, [{ type: 'image/png', size: PNG_1PX.length }]);
      assert.match(el.textContent ?? '', /street\.png/, 'the overlay names the photo');
      assert.ok(el.querySelector('[data-testid="overlay-opacity"]'), 'the opacity slider is offered');
    } finally {
      api.disposeOutputItem?.();
      await win.happyDOM.close();
    }
  });
});
