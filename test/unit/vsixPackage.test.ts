// vsce as the marketplace runs it: packaging with package.json's own vsce flags prints no WARNING (icon,
// gallery banner, keywords, repository handling) and the .vsix carries the icon and the pip-installable
// notebook helper. test/e2e/package.e2e.ts installs the production package into real VS Code.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ALLOWED, REQUIRED, vsixNames } from './vsixContents';

const ROOT = path.resolve(__dirname, '../..');
const VSCE = path.join(ROOT, 'node_modules/.bin/vsce');

/** The arguments after `vsce` in `npm run package`, with the output moved to `out`: one source of flags. */
function vsceArgs(out: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const m = /\bvsce (package\b[^&|;]*)/.exec(pkg.scripts.package);
  assert.ok(m, `no "vsce package" in the package script: ${pkg.scripts.package}`);
  const args = m[1].trim().split(/\s+/);
  const o = args.findIndex((a) => a === '-o' || a === '--out');
  if (o >= 0) args.splice(o, 2);
  return [...args, '-o', out];
}

describe('vsce package', function () {
  this.timeout(240_000);
  this.slow(20_000);
  let dir = '';
  let vsix = '';
  let log = '';

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist/extension.js'))) {
      const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(b.status, 0, `build failed:\n${b.stdout}\n${b.stderr}`);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-vsix-'));
    vsix = path.join(dir, 'cross-entropy-lens.vsix');
    // GITHUB_ACTIONS turns warnings into ::warning:: lines; the check below reads vsce's own format.
    const env = { ...process.env, GITHUB_ACTIONS: '' };
    const r = spawnSync(VSCE, vsceArgs(vsix), { cwd: ROOT, encoding: 'utf8', env, timeout: 180_000 });
    log = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `vsce package failed:\n${log}`);
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints no warning', function () {
    const warnings = log.split('\n').filter((l) => /WARNING|::warning/i.test(l));
    assert.deepEqual(warnings, [], log);
  });

  it('holds the icon and the notebook helper package, and nothing that does not run', function () {
    const names = vsixNames(vsix);
    for (const must of REQUIRED) assert.ok(names.includes(must), `${must} missing from the .vsix`);
    assert.deepEqual(names.filter((n) => !ALLOWED.some((re) => re.test(n))), []);
    const manifest = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');
    assert.match(manifest, /"icon": "media\/icon\.png"/);
  });

  it('has a 128x128 PNG icon', function () {
    const png = fs.readFileSync(path.join(ROOT, 'media/icon.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.toString('latin1', 12, 16), 'IHDR');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
  });
});
