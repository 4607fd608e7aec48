// Runs inside the real VS Code extension host (code-server or @vscode/test-electron): `vscode` is the
// real API here, not a mock.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const ID = 'cross-entropy-lens.cross-entropy-lens';

describe('Cross-Entropy Lens in the real extension host', function () {
  it('is installed and activates', async function () {
    const ext = vscode.extensions.getExtension(ID);
    assert.ok(ext, `${ID} is not installed; installed: ${vscode.extensions.all.map((e) => e.id).filter((id) => !id.startsWith('vscode.')).join(', ')}`);
    await ext.activate();
    assert.equal(ext.isActive, true);
    assert.equal(ext.packageJSON.displayName, 'Cross-Entropy Lens');
  });

  it('contributes its settings with the documented defaults', function () {
    const c = vscode.workspace.getConfiguration('crossEntropyLens');
    const defaults: Record<string, unknown> = {
      ignoreIndex: -100, reduction: 'mean', labelSmoothing: 0, inputKind: 'logits', classDim: 1, colormap: 'viridis', maxWorkers: 0, autoRecompute: 'auto',
    };
    for (const [key, value] of Object.entries(defaults)) {
      assert.deepEqual(c.inspect(key)?.defaultValue, value, `default of crossEntropyLens.${key} (from our package.json)`);
    }
    // The sample workspace npm start opens runs on the defaults: a new user's first minute is with no settings.
    for (const key of Object.keys(defaults)) {
      const seen = c.inspect(key);
      assert.equal(seen?.workspaceValue, undefined, `the sample workspace sets crossEntropyLens.${key}`);
      assert.equal(seen?.workspaceFolderValue, undefined, `the sample folder sets crossEntropyLens.${key}`);
    }
    assert.equal(c.get('ignoreIndex'), -100);
  });

  it('runs with its bundled entry points present', async function () {
    const ext = vscode.extensions.getExtension(ID)!;
    for (const f of ['dist/extension.js', 'dist/worker.js', 'dist/cli.js', 'dist/panel.js', 'dist/renderer.js']) {
      // Throws FileNotFound when a bundle is missing from the install.
      const stat = await vscode.workspace.fs.stat(vscode.Uri.joinPath(ext.extensionUri, f));
      assert.equal(stat.type, vscode.FileType.File, f);
    }
    const cli = await vscode.workspace.fs.stat(vscode.Uri.joinPath(ext.extensionUri, 'dist/cli.js'));
    assert.ok(cli.size > 10_000, 'the CLI bundle holds the kernel');
  });

  it('opens the sample workspace with its tensor files', async function () {
    const files = await vscode.workspace.findFiles('**/*.npy');
    const names = new Set(files.map((f) => f.path.split('/').slice(-2).join('/')));
    for (const want of ['segmentation/logits.npy', 'segmentation/target.npy', 'lm/logits.npy', 'lm/target.npy', 'checkpoints/epoch10_logits.npy', 'checkpoints/epoch30_logits.npy']) {
      assert.ok(names.has(want), `${want} among ${[...names].sort().join(', ')}`);
    }
  });
});
