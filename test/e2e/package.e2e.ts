// The .vsix as a user gets it: built with @vscode/vsce, holding only what runs, installed into real
// VS Code with --install-extension, and passing the host-side suite from its installed location.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALLOWED, REQUIRED, vsixNames } from '../unit/vsixContents';
import { ROOT, VsCode } from './harness';

const VSIX = path.join(ROOT, 'cross-entropy-lens.vsix');

describe('the packaged extension (.vsix)', function () {
  let vs: VsCode | undefined;

  before(function () {
    this.timeout(180_000);
    fs.rmSync(VSIX, { force: true });
    const r = spawnSync('npm', ['run', 'package'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
  });

  after(async function () {
    await vs?.close();
    // Later suites use the development build again.
    spawnSync('npm', ['run', 'build'], { cwd: ROOT });
  });

  it('holds only what runs and stays under 2 MB', function () {
    const size = fs.statSync(VSIX).size;
    assert.ok(size < 2 * 1024 * 1024, `${size} bytes`);
    const names = vsixNames(VSIX);
    const unexpected = names.filter((n) => !ALLOWED.some((re) => re.test(n)));
    assert.deepEqual(unexpected, []);
    for (const must of REQUIRED) {
      assert.ok(names.includes(must), `${must} missing from the .vsix`);
    }
  });

  it('installs into real VS Code with --install-extension and passes the host suite there', async function () {
    vs = await VsCode.launch({ name: 'vsix', workspace: path.join(ROOT, 'examples'), extension: { kind: 'vsix', file: VSIX }, hostTests: true });
    const installed = fs.readdirSync(path.join(vs.dir, 'extensions')).filter((d) => d.startsWith('cross-entropy-lens.cross-entropy-lens-'));
    assert.equal(installed.length, 1, 'installed by code-server, not staged');
    const results = await vs.hostResults();
    const failed = results.filter((r) => r.state === 'failed');
    assert.deepEqual(failed, [], failed.map((f) => `${f.title}: ${f.error}`).join('\n'));
    assert.ok(results.length >= 4);
    await vs.screenshot('workbench');
  });
});
