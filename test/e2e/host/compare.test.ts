// Compare Losses… with arguments (inputA, inputB, target), inside the real extension host: the panel that
// opens carries the comparison in its summary. A against itself: every change is exactly 0.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { CrossEntropyLensApi } from '../../../src/extension';

const ID = 'cross-entropy-lens.cross-entropy-lens';

describe('Compare Losses… from code (real extension host)', function () {
  it('opens a comparison panel for (inputA, inputB, target) arguments', async function () {
    this.timeout(60_000);
    const ext = vscode.extensions.getExtension<CrossEntropyLensApi>(ID)!;
    const api = await ext.activate();
    // The checkpoints sample: its labels are all in range under the default ignore_index.
    const [x] = await vscode.workspace.findFiles('checkpoints/epoch10_logits.npy');
    const [t] = await vscode.workspace.findFiles('checkpoints/target.npy');
    assert.ok(x && t, 'the sample workspace holds the checkpoints pair');
    await vscode.commands.executeCommand('crossEntropyLens.compareLosses', x, x, t);
    const deadline = Date.now() + 45_000;
    let found: NonNullable<ReturnType<CrossEntropyLensApi['panels']>[number]['summary']>['compare'] = null;
    while (!found && Date.now() < deadline) {
      found = api.panels().map((p) => p.summary?.compare ?? null).find((c) => c) ?? null;
      if (!found) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(found, `no comparison panel; panels: ${JSON.stringify(api.panels().map((p) => [p.title, p.error]))}`);
    assert.equal(found.delta, 0);
    assert.equal(found.improved, 0);
    assert.equal(found.regressed, 0);
    assert.ok(found.perClass.length === 10 && found.perClass.every((c) => c.deltaMeanLoss === 0), JSON.stringify(found.perClass));
    // The panel would sit beside the UI tests that follow this suite.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
