// End-to-end in real VS Code: code-server + Chromium (test/e2e/harness.ts). Screenshots go to
// test-results/screenshots, server logs to test-results/logs.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ROOT, VsCode, cleanUpAfterSuite } from './harness';

const EXAMPLES = path.join(ROOT, 'examples');

describe('real VS Code (code-server + Chromium) with the development build', function () {
  let vs: VsCode | undefined;

  before(async function () {
    vs = await VsCode.launch({ name: 'dev', workspace: EXAMPLES, extension: { kind: 'dev' }, hostTests: true });
  });

  cleanUpAfterSuite(() => ({ vs }));

  it('runs the host-side suite inside the real extension host, all passing', async function () {
    const results = await vs!.hostResults();
    const failed = results.filter((r) => r.state === 'failed');
    assert.deepEqual(failed, [], failed.map((f) => `${f.title}: ${f.error}`).join('\n'));
    assert.ok(results.length >= 4, `only ${results.length} host tests ran`);
  });

  it('shows the sample workspace in the explorer', async function () {
    const page = vs!.workbench;
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'segmentation' }).first().waitFor({ timeout: 30_000 });
    await vs!.screenshot('workbench');
  });

  it('shows our settings in the Settings editor', async function () {
    const page = vs!.workbench;
    await vs!.runCommand('Preferences: Open Settings (UI)');
    const search = page.locator('.settings-editor .suggest-input-container textarea, .settings-editor .settings-header input').first();
    await search.waitFor({ timeout: 20_000 });
    await search.fill('crossEntropyLens.ignoreIndex');
    const item = page.locator('.settings-editor .setting-item-contents', { hasText: 'Ignore Index' }).first();
    await item.waitFor({ timeout: 20_000 });
    const text = (await item.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /Cross Entropy Lens: Ignore Index/);
    assert.match(text, /ignore_index/);
    const value = await item.locator('input').first().inputValue();
    assert.equal(value, '-100');
    await vs!.screenshot('settings');
  });
});
