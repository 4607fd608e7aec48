// eval --label-issues --shard's two stages given the wrong files: parts that overlap or miss a shard, parts of
// different options, a thresholds file of another folder, classes or options, the stages mixed up, and
// stage-2 parts whose packed arrays are corrupted. Each is exit 2 with one line `error: FILE: …` naming the
// file (and the field), never a stack trace, within the hostile suite's time and memory bounds. Parts are
// made by the real CLI on the cleanlab fixtures (seg-k7: 7 classes; seg-k2: 2 classes, the same stems).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SEGMENTATION_CASES, writeCaseFolders } from '../labels/fixtures';
import { assertCleanJson, assertOneLineError, runCliBounded } from './boundedCli';

type Json = Record<string, unknown>;

describe('hostile label-issue parts and thresholds files: one line naming the file', function () {
  this.timeout(180_000);
  let root: string;
  let k7: { pred: string; labels: string };
  let k2: { pred: string; labels: string };
  /** Under root: stage-1 parts s1-I.json (2 shards), s1-0of3.json, s1-1bins.json; thresholds t7.json, t2.json;
   * stage-2 parts s2-I.json; plain parts p-I.json. */
  const f = (name: string): string => path.join(root, name);

  function run(args: readonly string[], out?: string): string {
    const r = runCliBounded(args, { killAfterMs: 20_000 });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    if (out !== undefined) fs.writeFileSync(f(out), r.stdout);
    return r.stdout;
  }

  const li = (dirs: { pred: string; labels: string }, ...extra: string[]): string[] => ['eval', dirs.pred, dirs.labels, '--ignore-index', '255', '--label-issues', ...extra, '--json'];

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-li-parts-'));
    const c = (id: string) => SEGMENTATION_CASES.find((x) => x.id === id)!;
    k7 = writeCaseFolders(c('seg-k7'), path.join(root, 'k7'));
    k2 = writeCaseFolders(c('seg-k2'), path.join(root, 'k2'));
    for (const i of [0, 1]) run(li(k7, '--shard', `${i}/2`), `s1-${i}.json`);
    run(li(k7, '--shard', '0/3'), 's1-0of3.json');
    run(li(k7, '--shard', '1/2', '--bins', '10'), 's1-1bins.json');
    run(['merge', '--thresholds', f('s1-0.json'), f('s1-1.json'), '--json'], 't7.json');
    run(li(k2, '--shard', '0/1'), 'k2-s1.json');
    run(['merge', '--thresholds', f('k2-s1.json'), '--json'], 't2.json');
    for (const i of [0, 1]) run(li(k7, '--thresholds', f('t7.json'), '--shard', `${i}/2`), `s2-${i}.json`);
    for (const i of [0, 1]) run(['eval', k7.pred, k7.labels, '--ignore-index', '255', '--shard', `${i}/2`, '--json'], `p-${i}.json`);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const merge = (...args: string[]) => runCliBounded(['merge', ...args], { killAfterMs: 20_000 });
  const evalK7 = (...extra: string[]) => runCliBounded(li(k7, ...extra), { killAfterMs: 20_000 });

  /** A copy of `from` with its sums edited, as `to`. */
  function edited(from: string, to: string, edit: (sums: Json) => void): string {
    const json = JSON.parse(fs.readFileSync(f(from), 'utf8')) as { sums: Json };
    edit(json.sums);
    fs.writeFileSync(f(to), JSON.stringify(json));
    return f(to);
  }
  const image0 = (sums: Json): Json => ((sums.labelIssues as Json).images as Json[])[0]!;

  it('the untouched files merge (the check of the checks)', () => {
    assertCleanJson(merge(f('s2-0.json'), f('s2-1.json'), '--json'), 'stage 2');
    assertCleanJson(merge('--thresholds', f('s1-1.json'), f('s1-0.json'), '--json'), 'stage 1');
  });

  it('overlapping and missing parts, other shard counts and options', () => {
    fs.copyFileSync(f('s1-0.json'), f('s1-0copy.json'));
    assertOneLineError(merge('--thresholds', f('s1-0.json'), f('s1-0copy.json')), /s1-0copy\.json: sums\.shard\.index is 0, and .*s1-0\.json is shard 0\/2 too/, 'the same shard twice');
    assertOneLineError(merge('--thresholds', f('s1-0.json')), /s1-0\.json: sums\.shard\.count is 2, but 1 part was given: shard 1\/2 missing/, 'a shard missing (stage 1)');
    assertOneLineError(merge(f('s2-1.json'), '--json'), /s2-1\.json: sums\.shard\.count is 2, but 1 part was given: shard 0\/2 missing/, 'a shard missing (stage 2)');
    assertOneLineError(merge('--thresholds', f('s1-0.json'), f('s1-0of3.json')), /s1-0of3\.json: sums\.shard\.count is 3 .* of 2 shards/, 'shards of another count');
    assertOneLineError(merge('--thresholds', f('s1-0.json'), f('s1-1bins.json')), /s1-1bins\.json: sums\.options\.bins is 10, .*s1-0\.json has 15/, 'other options');
    // An image claimed by another pair index than its place in the shard.
    const moved = edited('s1-1.json', 's1-1moved.json', (s) => void (image0(s).index = 3));
    assertOneLineError(merge('--thresholds', f('s1-0.json'), moved), /s1-1moved\.json: sums\.labelIssues\.images\[0\]\.index is 3, expected 1/, 'an image index');
  });

  it('a thresholds file of other classes, options or folders', () => {
    assertOneLineError(evalK7('--thresholds', f('t2.json'), '--shard', '0/2'), /t2\.json: thresholds for 2 classes, but the predictions have 7/, 'other classes');
    assertOneLineError(evalK7('--thresholds', f('t2.json')), /t2\.json: thresholds for 2 classes, but the predictions have 7/, 'other classes, one run');
    const r = runCliBounded(['eval', k7.pred, k7.labels, '--ignore-index', '254', '--label-issues', '--thresholds', f('t7.json'), '--json'], { killAfterMs: 20_000 });
    assertOneLineError(r, /t7\.json: made with --ignore-index 255, this run has --ignore-index 254/, 'other ignore index');
    // Fewer pairs, and as many pairs of other stems.
    const fewer = path.join(root, 'fewer');
    fs.cpSync(path.join(root, 'k7'), fewer, { recursive: true });
    fs.rmSync(path.join(fewer, 'pred', 'img7.npy'));
    fs.rmSync(path.join(fewer, 'labels', 'img7.npy'));
    const fewerRun = (t: string) => runCliBounded(['eval', path.join(fewer, 'pred'), path.join(fewer, 'labels'), '--ignore-index', '255', '--label-issues', '--thresholds', t, '--shard', '0/2', '--json'], { killAfterMs: 20_000 });
    assertOneLineError(fewerRun(f('t7.json')), /t7\.json: thresholds of a folder of 8 pairs, this one has 7/, 'fewer pairs');
    fs.renameSync(path.join(k2.pred, 'img7.npy'), path.join(k2.pred, 'other.npy'));
    fs.renameSync(path.join(k2.labels, 'img7.npy'), path.join(k2.labels, 'other.npy'));
    try {
      const renamed = runCliBounded(['eval', k2.pred, k2.labels, '--ignore-index', '255', '--label-issues', '--thresholds', f('t2.json'), '--json'], { killAfterMs: 20_000 });
      assertOneLineError(renamed, /t2\.json: thresholds of other pairs \(the stems differ\)/, 'other stems');
    } finally {
      fs.renameSync(path.join(k2.pred, 'other.npy'), path.join(k2.pred, 'img7.npy'));
      fs.renameSync(path.join(k2.labels, 'other.npy'), path.join(k2.labels, 'img7.npy'));
    }
  });

  it('labels changed between the stages', () => {
    const changed = path.join(root, 'changed');
    fs.cpSync(path.join(root, 'k7'), changed, { recursive: true });
    // img0's first labelled pixel becomes ignored (uint8 labels follow the .npy header).
    const file = path.join(changed, 'labels', 'img0.npy');
    const bytes = fs.readFileSync(file);
    let at = 10 + bytes.readUInt16LE(8);
    while (bytes[at] === 255) at++;
    bytes[at] = 255;
    fs.writeFileSync(file, bytes);
    const dirs = { pred: path.join(changed, 'pred'), labels: path.join(changed, 'labels') };
    assertOneLineError(runCliBounded(li(dirs, '--thresholds', f('t7.json')), { killAfterMs: 20_000 }), /t7\.json: thresholds from 5189 labelled pixels, but the folder now has 5188: the labels changed since stage 1/, 'one run');
    for (const i of [0, 1]) run(li(dirs, '--thresholds', f('t7.json'), '--shard', `${i}/2`), `changed-${i}.json`);
    assertOneLineError(merge(f('changed-0.json'), f('changed-1.json'), '--json'), /changed-0\.json: sums\.labelIssues\.thresholds\.pixels is 5189, but the parts' images have 5188 labelled pixels: the labels changed between the stages/, 'sharded');
  });

  it('stages mixed up', () => {
    assertOneLineError(merge(f('s1-0.json'), f('s1-1.json'), '--json'), /s1-0\.json: is a stage-1 label-issue part \(pass 1\): merge its thresholds first \(merge --thresholds PART\.json\.\.\. --json > thresholds\.json\)/, 'stage 1 merged as a report');
    assertOneLineError(merge('--thresholds', f('s2-0.json'), f('s2-1.json')), /s2-0\.json: is a stage-2 label-issue part .*merge stage-2 parts without --thresholds/, 'stage 2 merged as thresholds');
    assertOneLineError(merge('--thresholds', f('p-0.json'), f('p-1.json')), /p-0\.json: has no label-issue pass 1 — make stage-1 parts with eval PRED_DIR LABEL_DIR --label-issues --shard I\/N --json/, 'plain parts as thresholds');
    assertOneLineError(merge(f('s2-0.json'), f('p-1.json'), '--json'), /p-1\.json: is a plain eval part \(no label issues\), but .*s2-0\.json is a stage-2 label-issue part/, 'stage 2 with a plain part');
    assertOneLineError(merge(f('s1-0.json'), f('s2-1.json'), '--json'), /s2-1\.json: is a stage-2 label-issue part .* but .*s1-0\.json is a stage-1/, 'stage 1 with stage 2');
    assertOneLineError(evalK7('--thresholds', f('s1-0.json')), /s1-0\.json: is an eval part, not thresholds — make them from the stage-1 parts with merge --thresholds/, 'a part as thresholds');
    assertOneLineError(merge(f('t7.json'), '--json'), /t7\.json: not an eval part/, 'thresholds as a part');
    const noLi = runCliBounded(['eval', k7.pred, k7.labels, '--thresholds', f('t7.json'), '--json'], { killAfterMs: 20_000 });
    assertOneLineError(noLi, /^error: --thresholds FILE gives --label-issues its thresholds: add --label-issues/, '--thresholds without --label-issues');
    fs.writeFileSync(f('t-text.json'), run(['merge', '--thresholds', f('s1-0.json'), f('s1-1.json')]));
    assertOneLineError(evalK7('--thresholds', f('t-text.json')), /t-text\.json: not JSON — make it with merge --thresholds/, 'the text summary as thresholds');
  });

  it('corrupted stage-2 arrays and thresholds', () => {
    const cases: Array<[string, (s: Json) => void, RegExp]> = [
      ['a character outside base64', (s) => void (image0(s).low = `*${(image0(s).low as string).slice(1)}`), /sums\.labelIssues\.images\[0\]\.low is not base64/],
      ['a cut array', (s) => void (image0(s).lowGiven = (image0(s).lowGiven as string).slice(4)), /sums\.labelIssues\.images\[0\]\.lowGiven has \d+ base64 characters, expected \d+ \(\d+ int32 values, little-endian\)/],
      ['a count beyond its arrays', (s) => void (image0(s).lowCount = (image0(s).lowCount as number) + 1), /sums\.labelIssues\.images\[0\]\.low has \d+ base64 characters, expected \d+ \(\d+ float64 values/],
      ['a number where base64 belongs', (s) => void (image0(s).lowIndex = 12), /sums\.labelIssues\.images\[0\]\.lowIndex is 12, expected base64 text/],
      ['a flipped reportable flag', (s) => {
        const bytes = Buffer.from(image0(s).lowReportable as string, 'base64');
        bytes[0] ^= 1;
        image0(s).lowReportable = bytes.toString('base64');
      }, /sums\.labelIssues\.images\[0\]\.lowReportable\[0\] is [01], expected [01] \(given \d, predicted \d\)/],
      ['a score above 0.5', (s) => {
        const bytes = Buffer.from(image0(s).low as string, 'base64');
        bytes.writeDoubleLE(0.75, 0);
        image0(s).low = bytes.toString('base64');
      }, /sums\.labelIssues\.images\[0\]\.low\[0\] is 0\.75, expected a score in \[0, 0\.5\]/],
      ['other thresholds in one part', (s) => void (((s.labelIssues as Json).thresholds as Json).thresholds as number[])[0]++, /sums\.labelIssues\.thresholds\.thresholds\[0\] is [\d.]+, expected a threshold in \[0\.000002, 1\]/],
      ['pixels other than the image\'s', (s) => void (image0(s).pixels = (image0(s).pixels as number) + 1), /sums\.labelIssues\.images\[0\]\.pixels is \d+, but images\[0\] \(img1\) has \d+ labelled pixels/],
    ];
    for (const [what, edit, re] of cases) {
      const bad = edited('s2-1.json', 's2-1bad.json', edit);
      assertOneLineError(merge(f('s2-0.json'), bad, '--json'), new RegExp(`s2-1bad\\.json: ${re.source}`), what);
    }
    // Thresholds slightly off in one part only: both parts are well formed, but not of one thresholds file.
    const nudged = edited('s2-1.json', 's2-1nudged.json', (s) => {
      const t = ((s.labelIssues as Json).thresholds as Json).thresholds as number[];
      t[0] = t[0]! * (1 + 1e-15);
    });
    assertOneLineError(merge(f('s2-0.json'), nudged, '--json'), /s2-1nudged\.json: sums\.labelIssues\.thresholds\.thresholds\[0\] differs from .*s2-0\.json's — run every stage-2 shard with the same thresholds file/, 'thresholds of another file');
    // Stage-1 sums that do not count the image's pixels.
    const recount = edited('s1-1.json', 's1-1recount.json', (s) => void ((image0(s).sums as number[][])[0]![2]! += 1));
    assertOneLineError(merge('--thresholds', f('s1-0.json'), recount), /s1-1recount\.json: sums\.labelIssues\.images\[0\]\.sums count \d+ labelled pixels, but images\[0\] \(img1\) has \d+/, 'stage-1 counts');
    // A thresholds file with a class cut off.
    const t = JSON.parse(fs.readFileSync(f('t7.json'), 'utf8')) as { thresholds: number[] };
    t.thresholds.pop();
    fs.writeFileSync(f('t7cut.json'), JSON.stringify(t));
    assertOneLineError(evalK7('--thresholds', f('t7cut.json')), /t7cut\.json: thresholds has 6 entries, expected 7 thresholds \(one per class\)/, 'a thresholds file cut');
  });
});
