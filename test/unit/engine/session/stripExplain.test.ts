// The (N, C) strip of a classification input, as a panel or a notebook output shows it, with the input in a
// .npy far larger than one row: a hover's breakdown reads that row alone, and a notebook output over the
// probability budget (src/host/panels/sampleProbs.ts) takes p(target) from the loss, as the panel does, instead
// of reading and transposing the whole input on the extension host's thread (2 s for [20000, 1000]
// float32). The host loop is watched while they run; the numbers come from NumPy in float64.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openWithEngine } from '../../../../src/host/editor/engineOutput';
import type { PayloadWithRefs } from '../../../../src/tensor/text/payload';
import { decodeNpy } from '../../../../src/tensor/binary/npy';
import { Engine } from '../../../../src/worker/engine/engine';
import { LossSession } from '../../../../src/worker/engine/session';
import { DIST, longestHold } from '../helpers';

const N = 20000;
const C = 1000;

function python(dir: string, code: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('engine: an (N, C) strip far larger than a row', function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-strip-'));
  let engine: Engine;
  before(() => {
    engine = new Engine({ distDir: DIST, maxWorkers: 2 });
    python(dir, `
import numpy as np
rng = np.random.default_rng(20000)
np.save("x.npy", (rng.standard_normal((${N}, ${C})) * 3).astype(np.float32))
np.save("t.npy", rng.integers(0, ${C}, ${N}).astype(np.int64))
q = rng.random((300, 50)); q /= q.sum(axis=1, keepdims=True)
np.save("qx.npy", rng.standard_normal((300, 50)))
np.save("q.npy", q)
`);
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string): { kind: 'file'; path: string } => ({ kind: 'file', path: path.join(dir, name) });

  /** NumPy's float64 softmax and loss of rows `rows` of `x` against `t` (class indices or probabilities). */
  function numpyRows(x: string, t: string, rows: readonly number[]): Array<{ p: number[]; loss: number }> {
    return JSON.parse(python(dir, `
import json, numpy as np
x = np.load("${x}").astype(np.float64); t = np.load("${t}")
out = []
for r in ${JSON.stringify(rows)}:
    z = x[r] - x[r].max(); lp = z - np.log(np.exp(z).sum())
    loss = -(t[r] * lp).sum() if t.ndim == 2 else -lp[t[r]]
    out.append({"p": np.exp(lp).tolist(), "loss": float(loss)})
print(json.dumps(out))
`)) as Array<{ p: number[]; loss: number }>;
  }

  it(`a hover's breakdown on [${N}, ${C}] float32 reads its row alone: the host loop held under 50 ms, NumPy's numbers`, async function () {
    const s = await LossSession.open(engine, { input: file('x.npy'), target: file('t.npy'), options: {} });
    const rows = [0, 12345, N - 1];
    const want = numpyRows('x.npy', 't.npy', rows);
    const x = decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'x.npy')))).data as Float32Array;
    for (const [k, row] of rows.entries()) {
      const { value: d, heldMs } = await longestHold(() => s.explain(0, [row]));
      assert.ok(heldMs < 50, `row ${row}: the host loop was held ${heldMs.toFixed(0)} ms`);
      const e = d.explanation;
      assert.equal(e.C, C);
      assert.equal(e.classes.length, 12, 'the rows the view shows');
      e.classes.forEach((c, i) => {
        assert.equal(e.inputs[i], x[row * C + c], `row ${row}, class ${c}: the logit`);
        assert.ok(Math.abs(e.probs[i] - want[k].p[c]) <= 1e-12, `row ${row}, class ${c}: ${e.probs[i]} vs ${want[k].p[c]}`);
      });
      const pred = want[k].p.indexOf(Math.max(...want[k].p));
      assert.equal(e.predicted, pred, `row ${row}: the prediction`);
      assert.ok(Math.abs(d.top[0].prob - want[k].p[pred]) <= 1e-12 && d.top[0].cls === pred, `row ${row}: the top class`);
      assert.ok(Math.abs(e.loss - want[k].loss) <= 1e-12 * want[k].loss, `row ${row}: loss ${e.loss} vs ${want[k].loss}`);
    }
  });

  it('probability targets: the target row is read alone too', async function () {
    const s = await LossSession.open(engine, { input: file('qx.npy'), target: file('q.npy'), options: {} });
    const want = numpyRows('qx.npy', 'q.npy', [7, 299]);
    const q = decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'q.npy')))).data as Float64Array;
    for (const [k, row] of [7, 299].entries()) {
      const e = (await s.explain(0, [row])).explanation;
      assert.equal(e.classes.length, 12);
      e.classes.forEach((c, i) => assert.equal(e.targetProbs![i], q[row * 50 + c], `row ${row}, class ${c}: the target`));
      assert.ok(Math.abs(e.loss - want[k].loss) <= 1e-12 * want[k].loss, `row ${row}: loss ${e.loss} vs ${want[k].loss}`);
    }
  });

  it('a breakdown over 262,144 classes runs in a worker: the host loop held under 50 ms, NumPy\'s loss', async function () {
    const V = 262_144;
    python(dir, `
import numpy as np
rng = np.random.default_rng(262144)
np.save("v.npy", (rng.standard_normal((1, ${V}, 4)) * 2).astype(np.float32))
np.save("vt.npy", np.array([[5, 262143, 77, 0]], dtype=np.int64))
`);
    const s = await LossSession.open(engine, { input: file('v.npy'), target: file('vt.npy'), options: {} });
    const want = JSON.parse(python(dir, `
import json, numpy as np
x = np.load("v.npy")[0, :, 1].astype(np.float64)
z = x - x.max(); lp = z - np.log(np.exp(z).sum())
print(json.dumps({"loss": float(-lp[262143]), "pred": int(np.argmax(x))}))
`)) as { loss: number; pred: number };
    await s.explain(0, [0]); // the sample's values are read once (a range of the file) and kept
    const { value: d, heldMs } = await longestHold(() => s.explain(0, [1]));
    assert.ok(heldMs < 50, `the host loop was held ${heldMs.toFixed(0)} ms`);
    assert.equal(d.explanation.C, V);
    assert.equal(d.explanation.predicted, want.pred);
    assert.ok(d.explanation.classes.includes(262143) && d.explanation.classes.includes(want.pred));
    assert.ok(Math.abs(d.explanation.loss - want.loss) <= 1e-12 * want.loss, `${d.explanation.loss} vs ${want.loss}`);
  });

  it(`a notebook output over the probability budget: p(target) from the loss, no class maps, and the host loop held under 50 ms`, async function () {
    // The tensors as a checked reference would give them (src/host/editor/engineOutput.ts).
    const meta = { dtype: 'float32' as const, shape: [N, C] };
    const rp = {
      payload: { input: { file: 'x.npy' }, target: { file: 't.npy' }, weight: null, options: {}, classNames: [] } as unknown as PayloadWithRefs,
      input: { kind: 'file' as const, path: path.join(dir, 'x.npy'), pin: undefined as never, meta },
      target: { kind: 'file' as const, path: path.join(dir, 't.npy'), pin: undefined as never, meta: { dtype: 'int64' as const, shape: [N] } },
    };
    const out = await openWithEngine(engine, rp, { options: {}, weight: undefined }, new AbortController().signal);
    const { value: m, heldMs } = await longestHold(() => out.sampleMaps(0));
    assert.ok(heldMs < 50, `sample maps: the host loop was held ${heldMs.toFixed(0)} ms`);
    assert.equal(m.confidence ?? null, null, 'no confidence maps over the budget');
    const want = numpyRows('x.npy', 't.npy', [0, 4321]);
    const t = decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, 't.npy')))).data as ArrayLike<number>;
    for (const [k, row] of [0, 4321].entries()) {
      const p = want[k].p[Number(t[row])];
      assert.ok(Math.abs(m.pTarget![row] - p) <= 2e-6 * p + 1e-7, `p(target) of row ${row}: ${m.pTarget![row]} vs ${p}`);
    }
    await assert.rejects(out.classMaps(0), /p\(class c\) maps are not shown here: they would read 20,000,000 input values/);
    const { value: d, heldMs: explainHeld } = await longestHold(() => out.explain(0, [4321]));
    assert.ok(explainHeld < 50, `breakdown: the host loop was held ${explainHeld.toFixed(0)} ms`);
    assert.equal(d.confidence, undefined, 'no confidence values over the budget');
    assert.ok(Math.abs(d.explanation.loss - want[1].loss) <= 1e-12 * want[1].loss);
  });
});
