// The label-errors mode's numbers through the path the panel and the notebook renderer use: a LossSession
// over the engine's workers (the loss computed first, then the label-issues job on the session's tensors),
// and a notebook output's in-page session. Expected values are cleanlab 2.9.0's
// (test/fixtures/label-issues, written by test/parity/generators/label_issues_generate.py).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openInPage } from '../../../../media/inPageSession';
import { OutputController } from '../../../../src/outputController';
import type { HostToView, ViewLabelIssuesDone } from '../../../../src/protocol';
import type { Payload } from '../../../../src/tensor/text/payload';
import { Engine } from '../../../../src/worker/engine/engine';
import { LossSession } from '../../../../src/worker/engine/session';
import { CASES, FIXTURES, loadFixture, type Case } from '../../labels/fixtures';
import { DIST } from '../helpers';

interface Expected {
  readonly positions: number[];
  readonly table: Array<{ given: number; predicted: number; count: number }> | null;
}

/** cleanlab's reported positions (flat over the label grid) and, for segmentation, its untruncated table. */
function expected(c: Case): Expected {
  if (c.kind === 'segmentation') {
    const m = loadFixture(c.files.issues!).data as ArrayLike<number>;
    const positions: number[] = [];
    for (let i = 0; i < m.length; i++) if (m[i]) positions.push(i);
    return { positions, table: (c.expect as { commonLabelIssuesAll: Expected['table'] }).commonLabelIssuesAll };
  }
  return { positions: Array.from(loadFixture(c.files.batchedIssues!).data as ArrayLike<number | bigint>, Number), table: null };
}

function optionsOf(c: Case): { ignoreIndex: number; classDim: number } {
  return { ignoreIndex: c.kind === 'segmentation' ? 255 : -100, classDim: c.kind === 'lm-tokens' ? -1 : 1 };
}

/** From the logits, except where NumPy's exp decides a tie at the cut-off (docs/label-issues.md §10): NumPy's probabilities. */
function inputOf(c: Case): { file: string; inputKind: 'logits' | 'probs' } {
  return c.id === 'cls-ties-n40-k3' ? { file: c.files.predProbs!, inputKind: 'probs' } : { file: c.files.logits!, inputKind: 'logits' };
}

function check(c: Case, got: ViewLabelIssuesDone, labels: ArrayLike<number | bigint>): void {
  const want = expected(c);
  assert.deepEqual(Array.from(got.flagged), want.positions, `${c.id}: the reported positions`);
  assert.equal(got.count, want.positions.length);
  const perClass = new Array<number>(c.K).fill(0);
  for (const i of want.positions) perClass[Number(labels[i])]! += 1;
  assert.deepEqual(got.perClass, perClass, `${c.id}: per given class`);
  if (want.table) assert.deepEqual(got.table.map((r) => ({ ...r })), want.table.slice(0, got.table.length), `${c.id}: the given → predicted table`);
  assert.equal(got.table.reduce((a, r) => a + r.count, 0) <= got.count, true);
}

describe('engine: the label-errors mode equals cleanlab (panel and notebook sessions)', function () {
  let engine: Engine;
  before(() => (engine = new Engine({ distDir: DIST, maxWorkers: 2 })));
  after(() => engine.dispose());

  for (const c of CASES) {
    it(`${c.id}: a panel's session (files through the engine's workers)`, async function () {
      const inp = inputOf(c);
      const s = await LossSession.open(engine, {
        input: { kind: 'file', path: path.join(FIXTURES, inp.file) },
        target: { kind: 'file', path: path.join(FIXTURES, c.files.labels!) },
        options: { ...optionsOf(c), inputKind: inp.inputKind },
      });
      const got = await s.labelIssues('this batch');
      check(c, got, loadFixture(c.files.labels!).data as ArrayLike<number | bigint>);
    });
  }

  for (const c of CASES.filter((k) => loadFixture(k.files.logits!).data.length <= 200_000)) {
    it(`${c.id}: a notebook output computed in the page, through the output's controller`, async function () {
      const inp = inputOf(c);
      const x = loadFixture(inp.file);
      const t = loadFixture(c.files.labels!);
      const payload: Payload = { input: x, target: t, weight: null, options: { ...optionsOf(c), inputKind: inp.inputKind }, classNames: [] };
      const sent: HostToView[] = [];
      const ctl = new OutputController({ open: async (o) => openInPage(payload, o), send: (m) => sent.push(m) });
      await ctl.compute();
      await ctl.handle({ type: 'findLabelIssues' });
      const done = sent.filter((m): m is HostToView & { type: 'labelIssues' } => m.type === 'labelIssues').map((m) => m.issues);
      assert.deepEqual(done.map((d) => d.state), ['running', 'done']);
      check(c, done[1] as ViewLabelIssuesDone, t.data as ArrayLike<number | bigint>);
    });
  }
});
