// bfloat16 logits (torch.save and .safetensors) are widened exactly to float32 for the kernels; the report
// names the dtype the file holds. It said float32, which read as if the file did.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

describe('CLI: bfloat16 inputs', function () {
  this.timeout(60_000);
  let dir: string;
  let want: Record<string, number>;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-bf16-'));
    // PyTorch writes the files and computes the loss from the bfloat16 values in float64. The .safetensors
    // is written by hand (8-byte header length, JSON header, little-endian data), as the format defines.
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, struct, torch, torch.nn.functional as F
g = torch.Generator().manual_seed(5)
rows = (torch.randn(64, 300, generator=g) * 4).bfloat16()
seg = (torch.randn(2, 21, 8, 8, generator=g) * 4).bfloat16()
t_rows = torch.randint(0, 300, (64,), generator=g)
t_seg = torch.randint(0, 21, (2, 8, 8), generator=g)
torch.save(rows, "rows.pt"); torch.save(t_rows, "t_rows.pt"); torch.save(seg, "seg.pt"); torch.save(t_seg, "t_seg.pt")
raw = rows.view(torch.int16).numpy().astype("<i2").tobytes()
head = json.dumps({"logits": {"dtype": "BF16", "shape": [64, 300], "data_offsets": [0, len(raw)]}}).encode()
open("rows.safetensors", "wb").write(struct.pack("<Q", len(head)) + head + raw)
print(json.dumps({"rows": F.cross_entropy(rows.double(), t_rows).item(), "seg": F.cross_entropy(seg.double(), t_seg).item()}))
`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    want = JSON.parse(r.stdout) as Record<string, number>;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, input, target] of [
    ['torch.save [64, 300] (rows)', 'rows.pt', 't_rows.pt'],
    ['torch.save [2, 21, 8, 8]', 'seg.pt', 't_seg.pt'],
    ['.safetensors [64, 300]', 'rows.safetensors:logits', 't_rows.pt'],
  ] as const) {
    it(`${name}: reported as bfloat16, loss as PyTorch's from the same values`, function () {
      const r = spawnSync(process.execPath, [CLI, input, target, '--json'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { value: number; input: { dtype: string }; engine: string };
      assert.equal(out.input.dtype, 'bfloat16');
      const w = input.startsWith('seg') ? want.seg : want.rows;
      assert.ok(Math.abs(out.value - w) <= 2e-6 * Math.abs(w), `${out.value} vs PyTorch ${w}`);
      const text = spawnSync(process.execPath, [CLI, input, target], { cwd: dir, encoding: 'utf8' });
      assert.match(text.stdout, /input {3}\S+ {2}\[[\d, ]+\] bfloat16 \(logits\)/);
    });
  }
});
