// python/ as a pip package: its version is the extension's, the command Install Notebook Helper… builds is
// what it should be, and that very command installs it offline into a fresh venv (Debian's python3-venv with
// the system's NumPy), where display() emits exactly to_payload()'s payload.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { interpreterChoices, pipFailureLine, pipInstallCommand, setuptoolsProbe, stageHelper, whichOnPath } from '../../src/host/editor/pipInstall';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON_DIR = path.join(ROOT, 'python');
const SYSTEM_PYTHON = '/usr/bin/python3';

/** The value of `key = "..."` in a TOML table (enough for our own flat pyproject.toml). */
function tomlString(toml: string, table: string, key: string): string | undefined {
  const start = toml.indexOf(`\n[${table}]\n`);
  if (start < 0) return undefined;
  const end = toml.indexOf('\n[', start + 1);
  const body = toml.slice(start, end < 0 ? undefined : end);
  return new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, 'm').exec(body)?.[1];
}

describe('python/ as a package', function () {
  const toml = fs.readFileSync(path.join(PYTHON_DIR, 'pyproject.toml'), 'utf8');
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

  it("has the extension's version, name and module, with NumPy its only requirement", function () {
    assert.equal(tomlString(toml, 'project', 'version'), pkg.version, 'python/pyproject.toml [project] version must equal package.json version');
    assert.equal(tomlString(toml, 'project', 'name'), 'cross-entropy-lens');
    assert.equal(tomlString(toml, 'build-system', 'build-backend'), 'setuptools.build_meta');
    assert.match(toml, /^dependencies = \["numpy"\]$/m);
    assert.match(toml, /^py-modules = \["cross_entropy_lens"\]$/m);
  });

  it('builds `<python> -m pip install <folder>` as an argument array', function () {
    assert.deepEqual(pipInstallCommand('/v env/bin/python', '/tmp/a b', { buildIsolation: true }), {
      command: '/v env/bin/python',
      args: ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '/tmp/a b'],
    });
    assert.deepEqual(pipInstallCommand('python3', '/x', { buildIsolation: false }).args, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--no-build-isolation', '/x']);
    assert.equal(setuptoolsProbe('py').command, 'py');
  });

  it('offers the notebook environment first, then PATH and the system Python, each path once', function () {
    const all = interpreterChoices('/venv/bin/python', '/usr/local/bin/python3', 'linux', () => true);
    assert.deepEqual(all.map((c) => c.python), ['/venv/bin/python', 'python3', '/usr/bin/python3']);
    assert.deepEqual(interpreterChoices(undefined, '/usr/bin/python3', 'linux', () => true).map((c) => c.python), ['python3']);
    assert.deepEqual(interpreterChoices(undefined, undefined, 'linux', () => false).map((c) => c.python), ['python3']);
    assert.deepEqual(interpreterChoices(undefined, undefined, 'win32', () => true).map((c) => c.python), ['python']);
    assert.equal(whichOnPath('python3', ['/nope', '/usr/bin'].join(path.delimiter), (p) => p === '/usr/bin/python3'), '/usr/bin/python3');
    assert.equal(whichOnPath('python3', undefined, () => true), undefined);
  });

  it("says in one line why pip failed", function () {
    assert.match(pipFailureLine('error: externally-managed-environment\n\n× This environment is externally managed\n'), /PEP 668/);
    assert.equal(pipFailureLine('Processing /x\nERROR: Could not find a version that satisfies the requirement numpy\n'), 'ERROR: Could not find a version that satisfies the requirement numpy');
    assert.equal(pipFailureLine('/v/bin/python: No module named pip\n'), 'this Python has no pip');
    assert.equal(pipFailureLine('a\nlast words\n\n'), 'last words');
    assert.equal(pipFailureLine(''), 'no output');
  });

  describe('installed into a venv with the command the extension runs', function () {
    this.timeout(180_000);
    this.slow(30_000);
    let tmp = '';

    before(function () {
      // Debian ships venv without ensurepip unless python3-venv is installed (scripts/provision-python.sh).
      const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import venv, ensurepip'], { encoding: 'utf8' });
      if (probe.status !== 0) this.skip();
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-pip-'));
    });

    after(function () {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('pip-installs offline and display() emits to_payload()', function () {
      const venv = path.join(tmp, 'venv');
      // The system's site-packages give NumPy (Debian's python3-numpy) and setuptools without an index.
      const made = spawnSync(SYSTEM_PYTHON, ['-m', 'venv', '--system-site-packages', venv], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(made.status, 0, `python3 -m venv failed:\n${made.stdout}\n${made.stderr}`);
      const python = path.join(venv, 'bin', 'python');

      // As installHelper.ts does: probe setuptools, stage the bundled folder, run the built command.
      const probe = setuptoolsProbe(python);
      const hasSetuptools = spawnSync(probe.command, [...probe.args], { encoding: 'utf8' }).status === 0;
      assert.ok(hasSetuptools, 'the venv has no setuptools >= 61: apt-get install python3-setuptools');
      const staged = stageHelper(PYTHON_DIR, tmp);
      const inv = pipInstallCommand(python, staged, { buildIsolation: !hasSetuptools });
      // No index is needed: pip must not reach the network (numpy is already satisfied).
      const env = { ...process.env, PIP_NO_INDEX: '1', PYTHONPATH: '' };
      const pip = spawnSync(inv.command, [...inv.args], { encoding: 'utf8', env, cwd: tmp, timeout: 120_000 });
      assert.equal(pip.status, 0, `${[inv.command, ...inv.args].join(' ')} failed:\n${pip.stdout}\n${pip.stderr}`);

      // IPython is not installed here; a stand-in module takes what display() hands to IPython.display.
      const script = String.raw`
import importlib.metadata as md, json, sys, types
captured = []
ipython = types.ModuleType("IPython")
ipython_display = types.ModuleType("IPython.display")
ipython_display.display = lambda obj, raw=False: captured.append({"obj": obj, "raw": raw})
ipython.display = ipython_display
sys.modules["IPython"], sys.modules["IPython.display"] = ipython, ipython_display
import numpy as np
import cross_entropy_lens as cel
x = (np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) - 7) / 5
t = np.array([[0, 1, 2, -100], [2, 2, 1, 0]], dtype=np.int64)
w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
kw = dict(weight=w, ignore_index=-100, label_smoothing=0.1, class_names=["bg", "road", "car"], store="inline")
cel.display(x, t, **kw)
print(json.dumps({
    "file": cel.__file__,
    "version": md.version("cross-entropy-lens"),
    "requires": md.requires("cross-entropy-lens"),
    "captured": captured,
    "expected": cel.to_payload(x, t, **kw),
    "mime": cel.MIME,
}))
`;
      const r = spawnSync(python, ['-c', script], { encoding: 'utf8', env, cwd: tmp, timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        file: string;
        version: string;
        requires: string[];
        captured: Array<{ obj: Record<string, unknown>; raw: boolean }>;
        expected: Record<string, unknown>;
        mime: string;
      };
      assert.ok(out.file.startsWith(path.join(venv, 'lib')), `imported from the venv, not the source: ${out.file}`);
      assert.equal(out.version, pkg.version);
      assert.deepEqual(out.requires, ['numpy']);
      assert.equal(out.captured.length, 1);
      assert.equal(out.captured[0].raw, true);
      assert.deepEqual(Object.keys(out.captured[0].obj).sort(), [out.mime, 'text/plain'].sort());
      assert.deepEqual(out.captured[0].obj[out.mime], out.expected);
      assert.ok('weight' in out.expected, 'the comparison covers the weight too');
    });
  });
});
