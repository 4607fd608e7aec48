// Debug-session figures (issue #22), on a real debugpy session without VS Code in between:
// - transfer: the debuggee writes a [8, 21, 512, 512] float32 tensor that requires grad (176 MB) as .npy,
//   MB/s from the evaluate request to its reply (the file read in place afterwards, as on one machine);
// - hover: the statistics of a 10^7-element tensor (the debug hover's first line), ms per request;
// - engine: that batch's loss computed from the files the transfer wrote (what the panel then runs).
// Usage: npx tsx bench/debug.ts [--json]   (uptime first: see bench/quiet.ts)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DapClient } from '../test/unit/debug/dapClient';
import { debuggeeExpression, parseReply, type DebuggeeReplies } from '../src/debug/snippet';
import { Engine } from '../src/worker/engine/engine';
import { warnIfLoaded } from './quiet';

const PROGRAM = `
import torch
def step():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 21, 512, 512, generator=g).requires_grad_()
    target = torch.randint(0, 21, (8, 512, 512), generator=g)
    hover = torch.randn(10_000_000, generator=g)
    breakpoint()
    return logits
step()
`;

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const load = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-bench-debug-'));
  fs.writeFileSync(path.join(dir, 'step.py'), PROGRAM);
  const dap = await DapClient.launch(path.join(dir, 'step.py'), dir);
  const engine = new Engine({ distDir: path.resolve('dist'), maxWorkers: 2, streamFilesOverBytes: 32 << 20, blockBytes: 16 << 20 });
  try {
    const stop = await dap.stopped();
    const frame = (await dap.frames(stop.threadId)).find((f) => f.name === 'step')!;
    const ask = async <T>(req: Parameters<typeof debuggeeExpression>[0]): Promise<T> => parseReply(await dap.evaluate(debuggeeExpression(req), frame.id)) as T;
    const saves: number[] = [];
    let files: string[] = [];
    // As a panel that follows its breakpoint does: the previous stop's files are deleted before the next
    // ones are written. The first write of a session finds no freed page-cache pages to reuse (about 15 us
    // per fresh 4 KiB page on this VM): it is reported apart.
    for (let i = 0; i < 4; i++) {
      for (const f of files) fs.rmSync(f, { force: true });
      const t0 = performance.now();
      const a = await ask<DebuggeeReplies['save']>({ op: 'save', ref: { root: 'logits', steps: [] }, name: `l${i}`, dir: null, transform: [] });
      saves.push((performance.now() - t0) / 1000);
      const b = await ask<DebuggeeReplies['save']>({ op: 'save', ref: { root: 'target', steps: [] }, name: `t${i}`, dir: a.dir, transform: [] });
      files = [a.path, b.path];
    }
    const bytes = fs.statSync(files[0]!).size;
    const hover: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await ask({ op: 'stats', ref: { root: 'hover', steps: [] } });
      hover.push(performance.now() - t0);
    }
    const compute: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await engine.compute({ input: { kind: 'file', path: files[0]! }, target: { kind: 'file', path: files[1]! }, options: {} });
      compute.push((performance.now() - t0) / 1000);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const warning = warnIfLoaded(load);
    const report = {
      loadAverage: { start: load, end: os.loadavg()[0] },
      ...(warning ? { loadWarning: warning } : {}),
      transfer: { bytes, firstSeconds: saves[0]!, firstMbPerSecond: bytes / 1e6 / saves[0]!, seconds: median(saves.slice(1)), mbPerSecond: bytes / 1e6 / median(saves.slice(1)) },
      hoverStats: { elements: 10_000_000, ms: median(hover) },
      engineFromFiles: { seconds: median(compute) },
    };
    if (json) console.log(JSON.stringify(report));
    else {
      console.log(`load average ${load.toFixed(2)}`);
      console.log(`transfer of [8, 21, 512, 512] float32 requiring grad (${(bytes / 1e6).toFixed(0)} MB): first ${report.transfer.firstSeconds.toFixed(3)} s (${report.transfer.firstMbPerSecond.toFixed(0)} MB/s), then ${report.transfer.seconds.toFixed(3)} s (${report.transfer.mbPerSecond.toFixed(0)} MB/s)`);
      console.log(`debug hover statistics of 10^7 elements: ${report.hoverStats.ms.toFixed(0)} ms`);
      console.log(`engine on the transferred files: ${report.engineFromFiles.seconds.toFixed(3)} s`);
    }
    for (const f of files) fs.rmSync(path.dirname(f), { recursive: true, force: true });
  } finally {
    await engine.dispose();
    await dap.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
