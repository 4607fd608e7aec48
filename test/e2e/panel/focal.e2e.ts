// The focal losses end to end in real VS Code, each value from PyTorch (and torchvision's sigmoid_focal_loss)
// in float64 on the same numbers: the panel's loss selector turns a file pair's cross-entropy into the focal
// loss and its gamma field recomputes it; a notebook output asking for torchvision's sigmoid focal loss, and
// one for binary_cross_entropy_with_logits, render torchvision's and PyTorch's values.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PAYLOAD_MIME } from '../../../src/tensor/text/payload';
import { VsCode, cleanUpAfterSuite, filterPick, fmt6, lossShown, openFile, outputFrame, outputLossText, panelWithValue, sleep } from '../harness';
import { PYTHON } from '../reference';

/** NumPy writes the pair; PyTorch and torchvision give every expected value (float64 on the float32 numbers). */
const MAKE = String.raw`
import json, sys, numpy as np, torch, torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss
ws = sys.argv[1]
rng = np.random.default_rng(7)
x = (rng.standard_normal((2, 5, 24, 32)) * 3).astype(np.float32)
t = rng.integers(0, 5, (2, 24, 32)).astype(np.int64)
np.save(ws + "/pair/logits.npy", x)
np.save(ws + "/pair/target.npy", t)
xd = torch.from_numpy(x).double()
tt = torch.from_numpy(t)
lp = F.log_softmax(xd, 1).gather(1, tt[:, None])[:, 0]
focal = lambda g: float((-(1 - lp.exp()) ** g * lp).mean())
ml = (rng.standard_normal((3, 4, 5)) * 2).astype(np.float32)
mt = (rng.random((3, 4, 5)) < 0.3).astype(np.float32)
b = (rng.standard_normal((6, 3)) * 2).astype(np.float32)
bt = (rng.random((6, 3)) < 0.5).astype(np.float32)
json.dump({
  "ce": float(F.cross_entropy(xd, tt)), "focal2": focal(2.0), "focal05": focal(0.5),
  "ml": ml.astype(np.float64).tolist(), "mt": mt.tolist(),
  "sigmoidFocal": float(sigmoid_focal_loss(torch.from_numpy(ml).double(), torch.from_numpy(mt).double(), alpha=0.25, gamma=2.0, reduction="mean")),
  "b": b.astype(np.float64).tolist(), "bt": bt.tolist(),
  "bce": float(F.binary_cross_entropy_with_logits(torch.from_numpy(b).double(), torch.from_numpy(bt).double())),
  "bceElements": F.binary_cross_entropy_with_logits(torch.from_numpy(b).double(), torch.from_numpy(bt).double(), reduction="none").tolist(),
}, sys.stdout)
`;

interface Expected {
  readonly ce: number;
  readonly focal2: number;
  readonly focal05: number;
  readonly ml: number[][][];
  readonly mt: number[][][];
  readonly sigmoidFocal: number;
  readonly b: number[][];
  readonly bt: number[][];
  readonly bce: number;
  readonly bceElements: number[][];
}

describe('focal losses in real VS Code', function () {
  let vs: VsCode;
  let ws: string;
  let expected: Expected;

  before(async function () {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-focal-'));
    fs.mkdirSync(path.join(ws, 'pair'));
    const r = spawnSync(PYTHON, ['-c', MAKE, ws], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    expected = JSON.parse(r.stdout) as Expected;
    const output = (data: unknown): unknown => ({ output_type: 'display_data', metadata: {}, data: { [PAYLOAD_MIME]: data, 'text/plain': ['fallback'] } });
    const notebook = {
      cells: [{ cell_type: 'code', execution_count: 1, metadata: {}, source: ['display(...)'], outputs: [
        output({ input: expected.ml, target: expected.mt, options: { loss: 'sigmoid-focal', gamma: 2, alpha: 0.25 } }),
        output({ input: expected.b, target: expected.bt, options: { loss: 'bce' } }),
      ] }],
      metadata: {}, nbformat: 4, nbformat_minor: 4,
    };
    fs.writeFileSync(path.join(ws, 'focal.ipynb'), JSON.stringify(notebook));
    vs = await VsCode.launch({ name: 'focal', workspace: ws, extension: { kind: 'dev' } });
  });

  cleanUpAfterSuite(() => ({ vs, workspace: ws }));

  it('the panel\'s loss selector: focal gives PyTorch\'s -(1 - p_t)^2 log p_t, and gamma 0.5 recomputes it', async function () {
    const page = vs.workbench;
    await vs.runCommand('Cross-Entropy Lens: Compute Loss…');
    await filterPick(page, /input \(logits\)/, 'pair/logits', 'pair/logits.npy', 60_000);
    await page.keyboard.press('Enter');
    await filterPick(page, /: target$/, 'pair/target', 'pair/target.npy', 60_000);
    await page.keyboard.press('Enter');
    const frame = await panelWithValue(page);
    assert.equal(await lossShown(frame, fmt6(expected.ce)), fmt6(expected.ce), 'cross-entropy first');
    await frame.locator('[data-testid="loss-kind"]').selectOption('focal');
    assert.equal(await lossShown(frame, fmt6(expected.focal2)), fmt6(expected.focal2), 'focal, gamma 2');
    const gamma = frame.locator('[data-testid="focal-gamma"]');
    await gamma.fill('0.5');
    await gamma.press('Enter');
    await gamma.blur();
    assert.equal(await lossShown(frame, fmt6(expected.focal05)), fmt6(expected.focal05), 'focal, gamma 0.5');
    await vs.screenshot('focal-panel');
  });

  it('notebook outputs asking for torchvision\'s sigmoid_focal_loss and for bce render their values', async function () {
    const page = vs.workbench;
    await openFile(page, 'focal.ipynb');
    const frame = await outputFrame(page, 1, '[3, 4, 5]');
    assert.equal(await outputLossText(frame, '[3, 4, 5]'), fmt6(expected.sigmoidFocal), 'sigmoid focal (alpha 0.25, gamma 2)');
    const bceFrame = await outputFrame(page, 1, '[6, 3]');
    assert.equal(await outputLossText(bceFrame, '[6, 3]'), fmt6(expected.bce), 'binary_cross_entropy_with_logits');

    // The multi-label [6, 3] is one map, samples down and classes across, with no sample selector; the
    // keyboard's read-out of the worst cell (the output sits below the fold of the notebook, out of the
    // pointer's reach) gives PyTorch's loss for that sample and class.
    const out = bceFrame.locator('.cel-output', { hasText: '[6, 3]' });
    const canvas = out.locator('canvas[data-testid="heatmap"]');
    const size = await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    assert.deepEqual(size, [3, 6], 'a 3 x 6 map: 3 classes across, 6 samples down');
    assert.equal(await out.locator('input[aria-label="Sample index"]').isVisible(), false, 'no sample selector');
    const flat = expected.bceElements.flat();
    const k = flat.indexOf(Math.max(...flat));
    const [n, c] = [Math.floor(k / 3), k % 3];
    const viewport = out.locator('.cel-viewport');
    // From wherever the selection starts: the first column, the top row, then down n rows and right c columns.
    for (const key of ['Home', ...Array<string>(6).fill('ArrowUp'), ...Array<string>(n).fill('ArrowDown'), ...Array<string>(c).fill('ArrowRight')]) await viewport.press(key);
    // The selection's announcement (the status line screen readers read; the tooltip beside it goes when
    // the workbench takes the focus back, as it may here).
    const status = out.locator('.cel-status');
    let text = '';
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && !text.includes(`(n, c) = (${n}, ${c})`); await sleep(100)) text = (await status.textContent()) ?? '';
    assert.ok(text.includes(`(n, c) = (${n}, ${c})`), text);
    assert.ok(text.includes(`loss ${fmt6(flat[k])}`), `${text}: PyTorch's ${fmt6(flat[k])}`);
  });
});
