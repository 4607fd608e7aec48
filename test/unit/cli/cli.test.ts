// The CLI as a process: exit codes, --json, --out, and one-line errors. Expected numbers come from
// test/fixtures/cli/expected.json, written by real PyTorch (make_cli_fixtures.py).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpy } from '../../../src/tensor/binary/npy';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const FIX = path.join(ROOT, 'test/fixtures/cli');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as Record<string, unknown>;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: FIX, encoding: 'utf8', timeout: 30000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(r: Run): Record<string, unknown> {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/**
 * float32 logits take the float32 SIMD kernel (per-element error within 1e-5 of float64, like PyTorch's own
 * float32 math), so their reduced values match PyTorch's float64 reference to F32; float64 inputs to EXACT.
 */
const F32 = 1e-6;
const EXACT = 1e-9;

function close(actual: unknown, want: unknown, rel = EXACT): void {
  assert.equal(typeof actual, 'number', `expected a number, got ${JSON.stringify(actual)}`);
  const a = actual as number;
  const b = want as number;
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} != ${b}`);
}

/** A bad-input run: exit 2, exactly one line on stderr starting with "error: ", no stack trace. */
function assertOneLineError(r: Run, ...mentions: RegExp[]): string {
  assert.equal(r.code, 2, `exit ${r.code}; stderr: ${r.stderr}; stdout: ${r.stdout}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  for (const m of mentions) assert.match(lines[0], m);
  return lines[0];
}

describe('CLI (dist/cli.js as a process)', function () {
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build first (npm test does)');
  });

  it('computes the mean loss with ignore_index like F.cross_entropy (--json)', function () {
    const out = json(cli('seg_logits.npy', 'seg_target.npy', '--ignore-index', '255', '--json'));
    close(out.value, expected.seg_mean_ignore255, F32);
    assert.deepEqual(out.lossShape, expected.seg_none_shape, 'lossShape is the unreduced map shape');
    const perClass = out.perClass as { count: number; lossSum: number }[];
    assert.deepEqual(perClass.map((c) => c.count), expected.seg_count);
    perClass.forEach((c, i) => close(c.lossSum, (expected.seg_lossSum as number[])[i], F32));
    assert.equal(out.ignoredCount, 2);
  });

  it('applies weight given inline, label smoothing and sum', function () {
    const out = json(cli('seg_logits.npy', 'seg_target.npy', '--weight', '0.5,1,2', '--ignore-index=255', '--label-smoothing', '0.1', '--reduction', 'sum', '--json'));
    close(out.value, expected.seg_sum_weight_ls, F32);
  });

  it('reads channels-last data with --class-dim -1', function () {
    const out = json(cli('seg_logits_nhwc.npy', 'seg_target.npy', '--class-dim', '-1', '--ignore-index', '255', '--json'));
    close(out.value, expected.seg_mean_ignore255, F32);
  });

  it('reduction none prints value null and --out writes the float32 loss map', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cli-'));
    try {
      const file = path.join(dir, 'loss.npy');
      const out = json(cli('seg_logits.npy', 'seg_target.npy', '--ignore-index', '255', '--reduction', 'none', '--out', file, '--json'));
      assert.equal(out.value, null);
      assert.deepEqual(out.lossShape, expected.seg_none_shape);
      const written = decodeNpy(new Uint8Array(fs.readFileSync(file)));
      const torchMap = decodeNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 'seg_expected_none.npy'))));
      assert.equal(written.dtype, 'float32');
      assert.deepEqual(written.shape, torchMap.shape);
      for (let i = 0; i < torchMap.data.length; i++) {
        // The kernel keeps an unweighted loss within 3.5e-6 of float64; PyTorch's float32 map is itself
        // off by a few ulps.
        assert.ok(Math.abs(written.data[i] - torchMap.data[i]) <= 4e-6 + 1e-6 * Math.abs(torchMap.data[i]), `element ${i}: ${written.data[i]} vs ${torchMap.data[i]}`);
      }
      assert.deepEqual(fs.readdirSync(dir), ['loss.npy'], 'no temporary file left behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--out also writes the unreduced map when the reduction is mean', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cli-'));
    try {
      const file = path.join(dir, 'm.npy');
      json(cli('seg_logits.npy', 'seg_target.npy', '--ignore-index', '255', '--out', file, '--json'));
      assert.deepEqual(decodeNpy(new Uint8Array(fs.readFileSync(file))).shape, expected.seg_none_shape);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a JSON object holding logits and labels, and npz members by name', function () {
    close(json(cli('pair.json', 'pair.json', '--json')).value, expected.pair_mean);
    close(json(cli('pair.npz:logits', 'pair.npz:labels', '--json')).value, expected.pair_npz_mean, F32);
    close(json(cli('pair.npz', 'pair.npz', '--json')).value, expected.pair_npz_mean, F32);
  });

  it('uses a weight stored beside input and target (JSON key, npz member) unless --weight is given', function () {
    close(json(cli('pair_weighted.json', 'pair_weighted.json', '--json')).value, expected.pair_weighted_mean);
    close(json(cli('pair_weighted.npz', 'pair_weighted.npz', '--json')).value, expected.pair_weighted_mean);
    close(json(cli('pair_weighted.json', 'pair_weighted.json', '--weight', '1,1,1,1,1', '--json')).value, expected.pair_mean);
  });

  it('writes NaN as the string "NaN" in --json', function () {
    const out = json(cli('nan_logits.npy', 'cls_target.npy', '--json'));
    assert.equal(expected.nan_mean, 'NaN');
    assert.equal(out.value, 'NaN');
  });

  it('computes bce with --pos-weight', function () {
    close(json(cli('ml_logits.npy', 'ml_target.npy', '--loss', 'bce', '--pos-weight', '1,2,0.5,3', '--json')).value, expected.bce_mean_posweight);
  });

  it('prints a human report with the loss to 6 significant digits', function () {
    const r = cli('seg_logits.npy', 'seg_target.npy', '--ignore-index', '255');
    assert.equal(r.code, 0, r.stderr);
    const want = Number((expected.seg_mean_ignore255 as number).toPrecision(6)).toString();
    assert.match(r.stdout.split('\n')[0], new RegExp(`^cross-entropy \\(mean\\): ${want.replace('.', '\\.')}$`));
    assert.match(r.stdout, /class\s+count\s+ignored/);
  });

  it('--help exits 0 with usage', function () {
    const r = cli('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: cross-entropy-lens INPUT TARGET/);
  });

  describe('empty tensors: PyTorch\'s answer (expected.json "empty", written by make_cli_fixtures.py)', function () {
    type Json = number | 'NaN' | 'Infinity' | '-Infinity';
    interface EmptyExpect {
      readonly lossShape: number[];
      readonly [key: string]: Json | Json[] | number[];
    }
    const empty = expected.empty as Record<string, EmptyExpect>;
    const num = (v: Json): number => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
    /** --json writes NaN as "NaN"; -0 and 0 are one number in JSON. */
    const same = (got: unknown, want: Json): boolean => (Number.isNaN(num(want)) ? got === 'NaN' : got === num(want));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-cli-empty-'));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    // rows, spatial and hw (Fortran order) take the SIMD path; f64 and probs the general path; noclass has
    // an input without classes whose targets are all ignored.
    for (const name of ['empty_rows', 'empty_spatial', 'empty_hw', 'empty_f64', 'empty_probs', 'noclass_ignored']) {
      it(`${name}: --json values, --out maps and the text report`, function () {
        this.timeout(60000); // 13 runs of the CLI
        const e = empty[name];
        const x = `${name}_x.npy`;
        const t = `${name}_t.npy`;
        const nothing = e.lossShape.includes(0);
        for (const reduction of ['mean', 'sum', 'none']) {
          for (const ls of ['0.0', '0.1']) {
            const where = `${name} ${reduction} label_smoothing ${ls}`;
            const out = path.join(tmp, `${name}-${reduction}-${ls}.npy`);
            const r = json(cli(x, t, '--reduction', reduction, '--label-smoothing', ls, '--json', '--out', out));
            if (reduction === 'none') assert.equal(r.value, null, where);
            else assert.ok(same(r.value, e[`${reduction}_ls${ls}`] as Json), `${where}: value ${JSON.stringify(r.value)}, PyTorch ${JSON.stringify(e[`${reduction}_ls${ls}`])}`);
            assert.deepEqual(r.lossShape, e.lossShape, where);
            // The unreduced loss, whatever the reduction: PyTorch's reduction='none' output.
            const written = decodeNpy(new Uint8Array(fs.readFileSync(out)));
            assert.deepEqual(written.shape, e.lossShape, where);
            const want = (e[`none_ls${ls}`] as Json[]).map(num);
            assert.deepEqual(Array.from(written.data as Float32Array), want, where);
            if (nothing) {
              assert.equal(r.elementCount, 0, where);
              assert.equal(r.ignoredCount, 0, where);
              assert.deepEqual(r.worst, [], where);
              for (const c of r.perClass as Array<Record<string, unknown>>) assert.deepEqual([c.count, c.lossSum, c.predicted], [0, 0, 0], `${where}: class ${String(c.index)}`);
            }
          }
        }
        const text = cli(x, t);
        assert.equal(text.code, 0, text.stderr);
        assert.equal(text.stdout.split('\n')[0], 'cross-entropy (mean): nan');
        // Classes without elements have no mean loss: a dash, not nan.
        assert.doesNotMatch(text.stdout, /^ {2}\d+ .*\bnan\b/m);
      });
    }

    it('an input without classes and a class index: one line, as PyTorch raises (IndexError: Target 0 is out of bounds)', function () {
      assert.equal(empty.noclass_bad_error as unknown, 'Target 0 is out of bounds.');
      assertOneLineError(cli('noclass_ignored_x.npy', 'noclass_bad_t.npy'), /target value 0 at index \[0\]/, /no classes/);
    });
  });

  describe('bad input: exit 2 and one line', function () {
    it('missing file names the file', function () {
      assertOneLineError(cli('nope.npy', 'seg_target.npy'), /nope\.npy/, /no such file/);
    });
    it('target with a singleton channel axis suggests squeezing axis 1', function () {
      assertOneLineError(cli('seg_logits.npy', 'seg_target_channel.npy', '--ignore-index', '255'), /singleton/, /squeeze/i, /\[2, 1, 4, 5\]/, /\[2, 3, 4, 5\]/);
    });
    it('out-of-range label names the value and its index', function () {
      assertOneLineError(cli('seg_logits.npy', 'seg_target_bad.npy', '--ignore-index', '255'), /\b7\b/, /\[1, 2, 3\]/, /3 classes/);
    });
    it('unlisted ignore value suggests setting ignore_index', function () {
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy'), /255/, /ignore_index to 255/);
    });
    it('label smoothing outside [0, 1]', function () {
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--label-smoothing', '1.5'), /label_smoothing/, /1\.5/);
    });
    it('weight of the wrong length', function () {
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--ignore-index', '255', '--weight', '1,2'), /weight/, /3 classes/);
    });
    it('malformed .npy names the file', function () {
      assertOneLineError(cli('not_npy.npy', 'seg_target.npy'), /not_npy\.npy/);
    });
    it('unknown option, bad reduction, missing target', function () {
      assertOneLineError(cli('a.npy', 'b.npy', '--frobnicate'), /unknown option --frobnicate/);
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--reduction', 'avg'), /reduction/, /none, mean, sum/);
      assertOneLineError(cli('seg_logits.npy'), /INPUT and TARGET/);
    });
    it('--ignore-index with bce or sigmoid-focal, whose PyTorch functions have none, instead of dropping it', function () {
      for (const loss of ['bce', 'sigmoid-focal']) {
        assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--loss', loss, '--ignore-index', '1'), new RegExp(`--ignore-index applies to --loss ce and focal only; ${loss} has no ignore_index`));
      }
    });
    it('a switch given twice or with a value, as other flags given twice are', function () {
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--json', '--json'), /--json given twice/);
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--json=1'), /--json takes no value/);
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--label-issues', '--label-issues'), /--label-issues given twice/);
    });
    it('unwritable --out', function () {
      assertOneLineError(cli('seg_logits.npy', 'seg_target.npy', '--ignore-index', '255', '--out', '/nonexistent-dir/x.npy'), /nonexistent-dir/);
    });
  });
});
