// Hovers on torch.save (.pt, .pth, .bin) and .safetensors path strings: the scan finds the paths, the
// worker's summary lists tensor names, shapes and dtypes (torch.save from data.pkl without reading storages,
// .safetensors from its header) with statistics of small tensors, and the hover text shows them. The fixtures
// are test/fixtures/tensor/torch (written by PyTorch, with manifest.json) and .../safetensors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileHoverMarkdown } from '../../../src/hover/markdown';
import { scanDocument } from '../../../src/hover/scan';
import { LensError } from '../../../src/errors';
import { summarizeTensorFile } from '../../../src/worker/jobs/tensorSummary';

const FIX = path.resolve(__dirname, '../../fixtures/tensor');
const TORCH = path.join(FIX, 'torch');
interface Entry { shape: number[]; dtype: string; torchDType: string; values?: number[] }
const manifest = JSON.parse(fs.readFileSync(path.join(TORCH, 'manifest.json'), 'utf8')) as { files: Record<string, Record<string, Entry>>; malicious: Record<string, { marker: string; global: string }> };

function plain(v: number[]): { min: number; max: number; mean: number } {
  return { min: Math.min(...v), max: Math.max(...v), mean: v.reduce((a, b) => a + b, 0) / v.length };
}

describe('hover: torch.save and .safetensors paths', function () {
  it('the scan finds .pt, .pth, .bin and .safetensors path strings (and members)', function () {
    const src = 'a = torch.load("ckpt/model.pt")\nb = "w.pth"\nc = "pytorch_model.bin"\nd = "m.safetensors:logits"\ne = "notes.txt"\nf = "x.ptx"';
    assert.deepEqual(scanDocument(src, 'python').paths.map((p) => p.value), ['ckpt/model.pt', 'w.pth', 'pytorch_model.bin', 'm.safetensors:logits']);
  });

  it('torch.save files: every tensor\'s name, shape and dtype as PyTorch wrote them, statistics of small ones', function () {
    for (const [file, tensors] of Object.entries(manifest.files)) {
      if (file.startsWith('safetensors/') || Object.keys(tensors).length === 0) continue;
      const s = summarizeTensorFile(path.join(TORCH, file));
      assert.equal(s.kind, 'torch', file);
      const names = Object.keys(tensors);
      assert.equal(s.arrays.length + s.moreArrays, names.length, file);
      for (const a of s.arrays) {
        const want = tensors[a.name ?? ''];
        assert.ok(want, `${file}: ${a.name}`);
        assert.deepEqual([...a.shape], want.shape, `${file}:${a.name}`);
        assert.equal(a.dtype, want.dtype);
        assert.equal(a.descr, `torch.${want.torchDType}`);
        assert.equal(a.error, null, `${file}:${a.name}: ${a.error}`);
        assert.ok(a.stats !== null, `${file}:${a.name} has statistics`);
        if (want.values && want.values.length > 0 && want.values.every((x) => Number.isFinite(x))) {
          const p = plain(want.values);
          assert.equal(a.stats.min, p.min, `${file}:${a.name} min`);
          assert.equal(a.stats.max, p.max, `${file}:${a.name} max`);
          assert.ok(Math.abs(a.stats.mean - p.mean) <= 1e-9 * Math.max(1, Math.abs(p.mean)), `${file}:${a.name} mean`);
        }
      }
    }
    const md = fileHoverMarkdown('state_dict.pth', summarizeTensorFile(path.join(TORCH, 'state_dict.pth')));
    assert.match(md, /^\*\*state\\_dict\\\.pth\*\* · torch\.save file · 1\.65 kB on disk/);
    assert.match(md, /\*\*0\\\.weight\*\* · shape \[4, 3\] · float32 \(torch\\\.float32, floating point\)\n\nmin /);
    assert.doesNotMatch(md, /C order/);
    const bare = fileHoverMarkdown('bf16_logits.pt', summarizeTensorFile(path.join(TORCH, 'bf16_logits.pt')));
    assert.match(bare, /shape \[6, 5\] · float32 \(torch\\\.bfloat16/);
  });

  it('a member spec shows that tensor alone; an unknown one says which exist', function () {
    const s = summarizeTensorFile(path.join(TORCH, 'pair.pt') + ':target');
    assert.deepEqual(s.arrays.map((a) => [a.name, [...a.shape], a.dtype]), [['target', [4], 'int64']]);
    assert.throws(() => summarizeTensorFile(path.join(TORCH, 'pair.pt') + ':nope'), (e: unknown) => e instanceof LensError && /no tensor named nope \(tensors: logits, target\)/.test(e.message));
  });

  it('malicious pickles are refused in one line and never run', function () {
    for (const [file, { marker, global }] of Object.entries(manifest.malicious)) {
      fs.rmSync(marker, { force: true });
      assert.throws(() => summarizeTensorFile(path.join(TORCH, file)), (e: unknown) => e instanceof LensError && e.message.includes(global.split('.').pop()!) && !e.message.includes('\n'), file);
      assert.equal(fs.existsSync(marker), false, `${file} ran`);
    }
    assert.throws(() => summarizeTensorFile(path.join(TORCH, 'legacy.pt')), (e: unknown) => e instanceof LensError && !e.message.includes('\n'));
  });

  it('.safetensors: names, shapes and dtypes from the header, statistics read from each tensor\'s range', function () {
    for (const [file, tensors] of Object.entries(manifest.files)) {
      if (!file.startsWith('safetensors/')) continue;
      const s = summarizeTensorFile(path.join(FIX, file));
      assert.equal(s.kind, 'safetensors', file);
      assert.deepEqual(s.arrays.map((a) => a.name).sort(), Object.keys(tensors).slice(0, 8).sort().filter((n) => s.arrays.some((a) => a.name === n)));
      assert.equal(s.arrays.length + s.moreArrays, Object.keys(tensors).length, file);
      for (const a of s.arrays) {
        const want = tensors[a.name ?? ''];
        assert.deepEqual([...a.shape], want.shape, `${file}:${a.name}`);
        assert.equal(a.dtype, want.dtype);
        assert.equal(a.error, null, `${file}:${a.name}: ${a.error}`);
        assert.ok(a.stats !== null);
        if (want.values && want.values.length > 0 && want.values.every((x) => Number.isFinite(x))) {
          const p = plain(want.values);
          assert.equal(a.stats.min, p.min, `${file}:${a.name} min`);
          assert.equal(a.stats.max, p.max, `${file}:${a.name} max`);
        }
      }
    }
    const md = fileHoverMarkdown('single.safetensors', summarizeTensorFile(path.join(FIX, 'safetensors/single.safetensors')));
    assert.match(md, /^\*\*single\\\.safetensors\*\* · \.safetensors · 128 bytes on disk/);
    assert.match(md, /\*\*x\*\* · shape \[3, 4\] · float32 \(BF16, /);
  });

  it('.safetensors: a large tensor is listed from the header without reading its data', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-st-'));
    try {
      // 64 MiB of float32 declared, as a sparse file: listed, no statistics, and a note says why.
      const n = 16 << 20;
      const header = Buffer.from(JSON.stringify({ big: { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] }, small: { dtype: 'I64', shape: [2], data_offsets: [4 * n, 4 * n + 16] } }));
      const len = Buffer.alloc(8);
      len.writeUInt32LE(header.length, 0);
      const file = path.join(dir, 'big.safetensors');
      fs.writeFileSync(file, Buffer.concat([len, header]));
      fs.truncateSync(file, 8 + header.length + 4 * n + 16);
      const s = summarizeTensorFile(file);
      assert.deepEqual(s.arrays.map((a) => [a.name, [...a.shape], a.stats === null]), [['big', [n], true], ['small', [2], false]]);
      assert.match(s.note ?? '', /statistics of tensors beyond the first 16 MB/);
      const t0 = performance.now();
      summarizeTensorFile(file);
      assert.ok(performance.now() - t0 < 200, 'header only');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
