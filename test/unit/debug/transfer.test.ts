// DebugTransfers (src/debug/transfer.ts) against a real debugpy session: a value read where the debuggee wrote
// it (the same machine), and copied in chunks through the debugger as for a session on another machine
// (CEL_DEBUG_COPY=1), with the 64 MB limit and nothing left behind on either side.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DapClient, type Frame } from './dapClient';
import { askDebuggee, type DebuggeeReplies, type DebuggeeRequest } from '../../../src/debug/snippet';
import { DebugTransfers } from '../../../src/debug/transfer';
import type { FrameClient } from '../../../src/debug/frameClient';
import type { LensError } from '../../../src/errors';
import { decodeNpy } from '../../../src/tensor/binary/npy';

describe('debug values as files: where the debuggee wrote them, or copied through the debugger', function () {
  this.timeout(120_000);
  let out: string;
  let dap: DapClient;
  let frame: Frame;
  let client: FrameClient;

  before(async function () {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-transfer-'));
    dap = await DapClient.launch(path.join(__dirname, 'transfer_program.py'), out, [out]);
    const stop = await dap.stopped();
    const frames = await dap.frames(stop.threadId);
    frame = frames.find((f) => f.name === 'step')!;
    assert.ok(frame, JSON.stringify([stop, frames.map((f) => f.name), dap.output.join('')]));
    // The transfer needs only ask() and the session's id of a FrameClient.
    client = {
      session: { id: 'test-session' },
      ask: <K extends DebuggeeRequest['op']>(req: DebuggeeRequest & { op: K }): Promise<DebuggeeReplies[K]> => askDebuggee<K>((e) => dap.evaluate(e, frame.id), req),
    } as unknown as FrameClient;
  });

  after(async function () {
    delete process.env.CEL_DEBUG_COPY;
    await dap?.close();
    fs.rmSync(out, { recursive: true, force: true });
  });

  const reference = (): number[] => Array.from(decodeNpy(new Uint8Array(fs.readFileSync(path.join(out, 'small.npy')))).data as ArrayLike<number>);

  it('same machine: the engine reads the debuggee\'s own file; release deletes it, the session\'s end its folder', async function () {
    const t = new DebugTransfers();
    const v = await t.save(client, { root: 'small', steps: [] }, [], 'input');
    assert.equal(v.copied, false);
    assert.equal(v.path, v.saved.path);
    assert.deepEqual(Array.from(decodeNpy(new Uint8Array(fs.readFileSync(v.path))).data as ArrayLike<number>), reference());
    const w = await t.save(client, { root: 'small', steps: [] }, [], 'target');
    assert.equal(path.dirname(w.path), path.dirname(v.path), 'one folder per session');
    t.release([v]);
    assert.equal(fs.existsSync(v.path), false);
    assert.equal(fs.existsSync(w.path), true);
    t.endSession('test-session');
    assert.equal(fs.existsSync(path.dirname(v.path)), false);
  });

  it('another machine: copied in chunks to a private local folder, the debuggee\'s copy removed at once', async function () {
    process.env.CEL_DEBUG_COPY = '1';
    const t = new DebugTransfers();
    const fractions: number[] = [];
    const v = await t.save(client, { root: 'small', steps: [] }, [], 'input', (f) => fractions.push(f));
    assert.equal(v.copied, true);
    assert.notEqual(v.path, v.saved.path);
    assert.equal(fractions.at(-1), 1);
    assert.deepEqual(Array.from(decodeNpy(new Uint8Array(fs.readFileSync(v.path))).data as ArrayLike<number>), reference());
    assert.equal(fs.statSync(path.dirname(v.path)).mode & 0o777, 0o700);
    assert.equal(fs.existsSync(v.saved.dir), false, 'nothing stays in the debuggee\'s folder');
    t.endSession('test-session');
    assert.equal(fs.existsSync(path.dirname(v.path)), false);
  });

  it('another machine: a chunk longer or shorter than asked for is refused in one line, and nothing is left here', async function () {
    process.env.CEL_DEBUG_COPY = '1';
    // The real session's replies, each read's bytes changed (a debuggee that answers other than it was asked).
    const altered = (change: (b: Buffer) => Buffer): FrameClient => ({
      session: client.session,
      ask: async <K extends DebuggeeRequest['op']>(req: DebuggeeRequest & { op: K }): Promise<DebuggeeReplies[K]> => {
        const r = await client.ask<K>(req);
        if (req.op !== 'read') return r;
        return { ...r, data: change(Buffer.from((r as DebuggeeReplies['read']).data, 'base64')).toString('base64') } as DebuggeeReplies[K];
      },
    }) as unknown as FrameClient;
    for (const [what, change, ratio] of [
      ['twice', (b: Buffer) => Buffer.concat([b, b]), 2],
      ['half', (b: Buffer) => b.subarray(0, b.length / 2), 0.5],
    ] as const) {
      const t = new DebugTransfers();
      const before = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('cross-entropy-lens-debug-')).sort();
      const err = await t.save(altered(change), { root: 'small', steps: [] }, [], 'input').then(() => null, (e: Error) => e);
      assert.ok(err, what);
      assert.match(err.message, /^small: the debuggee sent (\d+) bytes at byte 0, asked for (\d+)$/, what);
      const [, sent, asked] = /sent (\d+) bytes at byte 0, asked for (\d+)/.exec(err.message)!;
      assert.equal(Number(sent), ratio * Number(asked), what);
      t.endSession('test-session');
      assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('cross-entropy-lens-debug-')).sort(), before, what);
    }
  });

  it('another machine, over 64 MB: one line naming the value and its size, and nothing left on either side', async function () {
    process.env.CEL_DEBUG_COPY = '1';
    const t = new DebugTransfers();
    const before = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('cross-entropy-lens-debug-')).sort();
    const err = await t.save(client, { root: 'big', steps: [] }, [], 'input').then(() => null, (e: Error) => e);
    assert.ok(err);
    assert.match(err.message, /^big is 68 MB on a machine whose files are not visible here: values up to 64 MB are copied through the debugger; save it there with np\.save and open the file$/);
    // Now that the session is known to be remote, the debuggee refuses before copying or writing anything.
    const again = await t.save(client, { root: 'big', steps: [] }, [], 'input').then(() => null, (e: Error) => e);
    assert.ok(again);
    assert.equal(again.message, err.message);
    // The host's refusal (after the copy was written) is an io error; the debuggee's (before) a value error.
    assert.equal((err as LensError).kind, 'io');
    assert.equal((again as LensError).kind, 'value');
    t.endSession('test-session');
    assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('cross-entropy-lens-debug-')).sort(), before);
  });

  it('a debuggee that dies during a save: one line, and nothing left here', async function () {
    delete process.env.CEL_DEBUG_COPY;
    const t = new DebugTransfers();
    const before = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('cross-entropy-lens-debug-')).sort();
    // Reading bomb.value runs os._exit in the debuggee.
    const err = await t.save(client, { root: 'bomb', steps: [['attr', 'value']] }, [], 'input').then(() => null, (e: Error) => e);
    assert.ok(err);
    assert.match(err.message, /^the debuggee did not answer \([^\n]*\): it may have ended or be running$/);
    t.endSession('test-session');
    assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('cross-entropy-lens-debug-')).sort(), before);
  });
});
