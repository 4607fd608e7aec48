// What the lens runs in a paused debuggee (src/debug/debuggeeCode.ts through snippet.ts), against a real
// debugpy adapter and a real torch program: listing, saving as .npy (checked against NumPy's own np.save of
// the same values), statistics, target facts, the loss call's arguments, chunked reads, clean-up, and that
// nothing taken from the program (dict keys with quotes and code, a key whose repr is code) runs as code.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DapClient, type Frame, type StoppedEvent } from './dapClient';
import {
  debuggeeExpression, parseEvaluateName, parseReply, DebuggeeError, refLabel,
  type DebuggeeReplies, type DebuggeeRequest, type ListedValue,
} from '../../../src/debug/snippet';
import { decodeNpy } from '../../../src/tensor/binary/npy';

const PROGRAM = path.join(__dirname, 'debuggee_program.py');

describe('the debuggee code in a real debugpy session', function () {
  this.timeout(120_000);
  let out: string;
  let dap: DapClient;
  let stop: StoppedEvent;
  let frame: Frame;
  const dirs = new Set<string>();

  async function ask<K extends DebuggeeRequest['op']>(req: DebuggeeRequest & { op: K }, frameId = frame.id): Promise<DebuggeeReplies[K]> {
    const r = parseReply<K>(await dap.evaluate(debuggeeExpression(req), frameId));
    if (req.op === 'save') dirs.add((r as DebuggeeReplies['save']).dir);
    return r;
  }

  async function stepFrame(): Promise<Frame> {
    const frames = await dap.frames(stop.threadId);
    const f = frames.find((x) => x.name === 'step');
    assert.ok(f, `a frame of step() among ${frames.map((x) => x.name).join(', ')}`);
    return f;
  }

  before(async function () {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-debuggee-'));
    // The program writes its references (np.save, NumPy's statistics) to argv[1].
    dap = await DapClient.launch(PROGRAM, out, [out]);
    stop = await dap.stopped();
    frame = await stepFrame();
  });

  after(async function () {
    await dap?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('lists the frame\'s tensors and arrays, one level inside dicts, lists and dataclasses, with shape, dtype, device, requires_grad', async function () {
    const { values } = await ask({ op: 'list' });
    const by = new Map(values.map((v) => [v.label, v]));
    const logits = by.get('logits');
    assert.deepEqual(logits && { ...logits }, { kind: 'torch', shape: [2, 3, 4, 5], dtype: 'float32', device: 'cpu', requiresGrad: true, numel: 120, type: 'Tensor', label: 'logits', ref: { root: 'logits', steps: [] } });
    assert.deepEqual(by.get('batch["labels"]')?.ref, { root: 'batch', steps: [['key', 'labels']] });
    assert.deepEqual(by.get('batch[3]')?.shape, [1, 4, 5]);
    assert.equal(by.get('outputs.logits')?.dtype, 'bfloat16');
    assert.deepEqual(by.get('xs[1]')?.shape, [3, 4]);
    assert.equal(by.get('xs[1]')?.kind, 'numpy');
    assert.equal(by.get('probs')?.dtype, 'float16');
    assert.ok(!by.has('n') && !by.has('outputs.loss'), 'non-tensors are not listed');
    // The key object whose repr is code is not a str or int: not listed, never evaluated.
    assert.equal(values.filter((v) => v.label.startsWith('batch[')).length, 3, values.map((v) => v.label).join(', '));
    for (const v of values) assert.equal(refLabel(v.ref), v.label, 'the host rebuilds each label from its path');
  });

  it('saves each value as a .npy that NumPy reads back equal to np.save of the same value (bfloat16 widened, big-endian made little, views made contiguous)', async function () {
    const { values } = await ask({ op: 'list' });
    const cases: Array<[string, string]> = [['logits', 'logits'], ['target', 'target'], ['outputs.logits', 'outputs_logits'], ['xs[0]', 'xs0'], ['xs[1]', 'xs1'], ['probs', 'probs'], ['z', 'z']];
    let dir: string | null = null;
    for (const [label, ref] of cases) {
      const v = values.find((x) => x.label === label) as ListedValue;
      assert.ok(v, label);
      const saved: DebuggeeReplies['save'] = await ask({ op: 'save', ref: v.ref, name: `t-${ref}`, dir, transform: [] });
      if (dir !== null) assert.equal(saved.dir, dir, 'one private folder per session');
      dir = saved.dir;
      assert.equal(fs.statSync(saved.dir).mode & 0o777, 0o700, 'the folder is private');
      assert.equal(saved.bytes, fs.statSync(saved.path).size);
      const ours = decodeNpy(new Uint8Array(fs.readFileSync(saved.path)));
      const theirs = decodeNpy(new Uint8Array(fs.readFileSync(path.join(out, `${ref}.npy`))));
      assert.deepEqual(ours.shape, theirs.shape, label);
      assert.equal(ours.dtype, theirs.dtype, label);
      assert.deepEqual(Array.from(ours.data as ArrayLike<number>, (x) => (Number.isNaN(x) ? 'NaN' : x)), Array.from(theirs.data as ArrayLike<number>, (x) => (Number.isNaN(x) ? 'NaN' : x)), label);
      const check = spawnSync('/usr/bin/python3', ['-c', 'import numpy as np, sys; a = np.load(sys.argv[1], allow_pickle=False); b = np.load(sys.argv[2]); print(a.dtype == b.dtype.newbyteorder("<") and a.shape == b.shape and np.array_equal(a, b, equal_nan=True))', saved.path, path.join(out, `${ref}.npy`)], { encoding: 'utf8' });
      assert.equal(check.stdout.trim(), 'True', `${label}: ${check.stderr}`);
    }
  });

  it('keys holding quotes, newlines and __import__ stay keys: read by path, and via the debugger\'s evaluateName; a key whose repr is code is refused, never run', async function () {
    const { values } = await ask({ op: 'list' });
    const evil = values.find((v) => v.label.includes('__import__')) as ListedValue;
    assert.ok(evil, 'the evil key is listed (as a label)');
    const saved = await ask({ op: 'save', ref: evil.ref, name: 'evil', dir: null, transform: [] });
    const theirs = decodeNpy(new Uint8Array(fs.readFileSync(path.join(out, 'evil.npy'))));
    assert.deepEqual(Array.from(decodeNpy(new Uint8Array(fs.readFileSync(saved.path))).data as ArrayLike<number>), Array.from(theirs.data as ArrayLike<number>));
    // The Variables view hands the command debugpy's own evaluateName for the child.
    const scopes = await dap.request<{ scopes: Array<{ variablesReference: number }> }>('scopes', { frameId: frame.id });
    const locals = await dap.request<{ variables: Array<{ name: string; evaluateName?: string; variablesReference: number }> }>('variables', { variablesReference: scopes.scopes[0]!.variablesReference });
    const batch = locals.variables.find((v) => v.name === 'batch')!;
    const kids = (await dap.request<{ variables: Array<{ name: string; evaluateName?: string }> }>('variables', { variablesReference: batch.variablesReference })).variables;
    const evilKid = kids.find((k) => k.evaluateName?.includes('PWNED') && !k.evaluateName.includes('PWNED_REPR'));
    assert.ok(evilKid?.evaluateName, kids.map((k) => k.evaluateName).join(' | '));
    const ref = parseEvaluateName(evilKid.evaluateName);
    assert.deepEqual(ref, evil.ref, `${evilKid.evaluateName} parses to the same key`);
    await ask({ op: 'save', ref: ref!, name: 'evil2', dir: null, transform: [] });
    // debugpy gives that child no evaluateName; its name (the repr) is what a command would fall back to.
    const reprKid = kids.find((k) => k.name.includes('PWNED_REPR'));
    assert.ok(reprKid, 'the key object is shown by the debugger');
    assert.equal(parseEvaluateName(reprKid.evaluateName ?? reprKid.name), null, `${reprKid.evaluateName ?? reprKid.name} is not a path`);
    assert.deepEqual(fs.readdirSync(out).filter((f) => f.startsWith('PWNED')), [], 'no code from a key ran');
  });

  it('statistics as NumPy computes them: min/max/mean of the finite values, NaN and Inf counts', async function () {
    const want = JSON.parse(fs.readFileSync(path.join(out, 'stats.json'), 'utf8')) as Record<string, number>;
    const s = await ask({ op: 'stats', ref: { root: 'probs', steps: [] } });
    assert.deepEqual([s.min, s.max, s.nan, s.inf], [want.min, want.max, want.nan, want.inf]);
    assert.ok(Math.abs((s.mean as number) - want.mean!) <= 1e-12 * Math.abs(want.mean!));
    const l = await ask({ op: 'stats', ref: { root: 'logits', steps: [] } });
    assert.equal(l.requiresGrad, true);
    assert.equal(l.mean, want.logitsMean, 'PyTorch\'s own mean');
    assert.deepEqual([l.nan, l.inf], [0, 0]);
  });

  it('facts of a target: one-hot axis, integral, values out of range', async function () {
    const f = await ask({ op: 'facts', ref: { root: 'one_hot', steps: [] }, classes: 3, ignoreIndex: -100 });
    assert.deepEqual(f.oneHotDims, [1]);
    assert.equal(f.integral, true);
    assert.equal(f.outOfRange, 0);
    const e = await ask({ op: 'facts', ref: { root: 'batch', steps: [['key', 'labels']] }, classes: 2, ignoreIndex: -100 });
    assert.deepEqual(e.outOfRangeValues, [2]);
    assert.ok((e.outOfRange ?? 0) > 0);
  });

  it('saves after a fixed transform (argmax, long, movedim), as the fix would compute it', async function () {
    const saved = await ask({ op: 'save', ref: { root: 'one_hot', steps: [] }, name: 'argmax', dir: null, transform: [{ op: 'argmax', dim: 1 }] });
    const mine = decodeNpy(new Uint8Array(fs.readFileSync(saved.path)));
    const target = decodeNpy(new Uint8Array(fs.readFileSync(path.join(out, 'target.npy'))));
    assert.deepEqual(mine.shape, [2, 4, 5]);
    assert.deepEqual(Array.from(mine.data as ArrayLike<number>), Array.from(target.data as ArrayLike<number>));
    const moved = await ask({ op: 'save', ref: { root: 'xs', steps: [['index', 0]] }, name: 'moved', dir: null, transform: [{ op: 'movedim', source: -1, destination: 1 }] });
    const logits = decodeNpy(new Uint8Array(fs.readFileSync(path.join(out, 'logits.npy'))));
    assert.deepEqual(Array.from(decodeNpy(new Uint8Array(fs.readFileSync(moved.path))).data as ArrayLike<number>), Array.from(logits.data as ArrayLike<number>));
  });

  it('one-line errors: a value that is not a tensor, a name not in the frame, a dtype the lens does not read, a device nothing can be copied from; nothing left behind', async function () {
    await assert.rejects(ask({ op: 'save', ref: { root: 'n', steps: [] }, name: 'n', dir: null, transform: [] }), (e: Error) => e instanceof DebuggeeError && /^n is a int, not a torch\.Tensor or numpy\.ndarray$/.test(e.message));
    await assert.rejects(ask({ op: 'stats', ref: { root: 'nope', steps: [] } }), /nope is not defined in this frame/);
    const before = [...dirs].flatMap((d) => fs.readdirSync(d));
    await assert.rejects(ask({ op: 'save', ref: { root: 'cplx', steps: [] }, name: 'cplx', dir: [...dirs][0]!, transform: [] }), /dtype complex64, which the lens does not read/);
    const meta = await ask({ op: 'save', ref: { root: 'meta', steps: [] }, name: 'meta', dir: [...dirs][0]!, transform: [] }).then(() => null, (e: Error) => e);
    assert.ok(meta instanceof DebuggeeError, String(meta));
    assert.doesNotMatch(meta.message, /\n/);
    assert.match(meta.message, /meta/i);
    assert.deepEqual([...dirs].flatMap((d) => fs.readdirSync(d)), before);
  });

  it('reads a saved file in chunks (for sessions on another machine), and removes only its own folder', async function () {
    const saved = await ask({ op: 'save', ref: { root: 'logits', steps: [] }, name: 'chunks', dir: null, transform: [] });
    const parts: Buffer[] = [];
    for (let off = 0; off < saved.bytes; off += 200) parts.push(Buffer.from((await ask({ op: 'read', path: saved.path, offset: off, length: 200 })).data, 'base64'));
    assert.deepEqual(Buffer.concat(parts), fs.readFileSync(saved.path));
    await assert.rejects(ask({ op: 'read', path: path.join(out, 'logits.npy'), offset: 0, length: 10 }), /not a folder of the lens/);
    await assert.rejects(ask({ op: 'remove', dir: out }), /not a folder of the lens/);
    assert.ok(fs.existsSync(out));
    await ask({ op: 'remove', dir: saved.dir });
    assert.equal(fs.existsSync(saved.dir), false);
  });

  it('a write that fails part-way (file size limit, as a full disk) is one line and leaves no file and no folder', async function () {
    await dap.continue(stop.threadId);
    stop = await dap.stopped();
    frame = await stepFrame();
    const lensDirs = (): string[] => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('cross-entropy-lens-debug-')).sort();
    const before = lensDirs();
    const err = await ask({ op: 'save', ref: { root: 'big', steps: [] }, name: 'big', dir: null, transform: [] }).then(() => null, (e: Error) => e);
    assert.ok(err instanceof DebuggeeError, String(err));
    assert.match(err.message, /^OSError: .*File too large/);
    // Neither the partial file nor the folder made for it (the host never heard of that folder).
    assert.deepEqual(lensDirs(), before);
  });

  it('the loss call\'s arguments, read in F.cross_entropy\'s frame where the exception stopped', async function () {
    await dap.continue(stop.threadId);
    stop = await dap.stopped();
    assert.equal(stop.reason, 'exception');
    const frames = await dap.frames(stop.threadId);
    const ce = frames.find((f) => f.name === 'cross_entropy' && /torch[/\\]nn[/\\]functional\.py$/.test(f.source?.path ?? ''));
    assert.ok(ce, frames.map((f) => `${f.name} ${f.source?.path}`).join('\n'));
    const call = await ask({ op: 'call', module: false }, ce.id);
    assert.deepEqual(call.tensors.input?.shape, [2, 3, 4, 5]);
    assert.deepEqual(call.tensors.target?.shape, [2, 3, 4, 5]);
    assert.equal(call.tensors.target?.dtype, 'int64');
    assert.equal(call.tensors.weight, undefined);
    assert.deepEqual(call.scalars, { ignore_index: -100, reduction: 'mean', label_smoothing: 0, size_average: null, reduce: null });
    // Where library frames are hidden (justMyCode), the same call is found from the user's frame through the
    // exception's traceback, its values named by paths through it.
    // debugpy keeps the exception (__exception__) in the frame it paused in: the host tries the frames in turn.
    let user: Frame | undefined;
    let viaTb: DebuggeeReplies['call'] | undefined;
    for (const f of frames) {
      try {
        viaTb = await ask({ op: 'call', module: false, traceback: true }, f.id);
        user = f;
        break;
      } catch {
        // not this frame
      }
    }
    assert.ok(user && viaTb, 'a frame holds the exception');
    assert.equal(viaTb.function, 'cross_entropy');
    assert.deepEqual(viaTb.tensors.target?.shape, [2, 3, 4, 5]);
    assert.equal(viaTb.tensors.input?.ref.root, '__exception__');
    const saved = await ask({ op: 'save', ref: viaTb.tensors.target!.ref, name: 'tb-target', dir: null, transform: [{ op: 'argmax', dim: 1 }] }, user.id);
    console.log(`      the exception's frame: ${user.name}`);
    const target = decodeNpy(new Uint8Array(fs.readFileSync(path.join(out, 'target.npy'))));
    assert.deepEqual(Array.from(decodeNpy(new Uint8Array(fs.readFileSync(saved.path))).data as ArrayLike<number>), Array.from(target.data as ArrayLike<number>));
  });
});
