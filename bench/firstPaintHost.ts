// Where the first paint's time goes on the extension host, without VS Code: the panel's steps from the
// choice of the target to the messages that paint (compute, vocabulary, class names, summary, sample 0),
// each timed, and the size of every message the view is sent first. Under code-server a message reaches a
// webview at a few MB/s, so the JSON part of the first messages weighs as much as the computation.
// Usage: npm run build, then npx tsx bench/firstPaintHost.ts INPUT.npy TARGET.npy [--class-dim D]
// [--vocab tokenizer.json] [--ignore-index I]. Two rounds: the first as after the palette's pick (workers prepared, files not
// yet in the engine's memory), the second a recompute.
import * as os from 'node:os';
import * as path from 'node:path';
import { toViewSummary, type HostToView } from '../src/protocol';
import { forView } from '../src/sampleWire';
import { Engine } from '../src/worker/engine/engine';
import { readClassNamesBeside } from '../src/worker/files/classNames';
import { LossSession } from '../src/worker/engine/session';

/** JSON bytes and typed-array bytes of a message as VS Code posts it (buffers travel beside the JSON). */
function size(msg: unknown): { json: number; buffers: number } {
  let buffers = 0;
  const json = JSON.stringify(msg, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v)) {
      buffers += v.byteLength;
      return null;
    }
    return v;
  });
  return { json: json.length, buffers };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const [input, target] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const classDim = Number(opt('--class-dim') ?? 1);
  const vocabPath = opt('--vocab');
  // The panel's engine (src/extension.ts), started as the palette starts it while the files are picked.
  const engine = new Engine({ distDir: path.resolve(__dirname, '../dist'), streamFilesOverBytes: 32 << 20, blockBytes: 16 << 20, keepStreamedMapsBytes: 512 << 20 });
  const t0 = performance.now();
  const lap = (what: string, from = t0): void => console.log(`${((performance.now() - from) / 1000).toFixed(3)} s  ${what}`);
  await engine.prepare();
  lap('engine prepared');
  for (let round = 0; round < 2; round++) {
    const r0 = performance.now();
    console.log(`-- round ${round} (load ${os.loadavg()[0].toFixed(2)})`);
    const session = await LossSession.open(engine, {
      input: { kind: 'file', path: input }, target: { kind: 'file', path: target }, weight: null,
      options: { classDim, ...(opt('--ignore-index') !== undefined ? { ignoreIndex: Number(opt('--ignore-index')) } : {}) }, topK: 20,
    }, { onFirstSample: () => lap('first sample maps', r0) });
    lap('computed', r0);
    if (vocabPath) {
      const v0 = performance.now();
      session.vocabulary = await LossSession.readVocabulary(engine, vocabPath);
      lap('vocabulary read in a worker (took)', v0);
    }
    const c0 = performance.now();
    const names = await readClassNamesBeside(input);
    lap(`class names (${names.names.length}) (took)`, c0);
    const s0 = performance.now();
    const r = session.result;
    const summary = {
      ...toViewSummary(r, { title: 't', input: { label: 'x', shape: r.input.shape, dtype: r.input.dtype }, target: { label: 'y', shape: r.target.shape, dtype: r.target.dtype }, weight: null, classNames: [...names.names], seconds: 0, engine: 'e', mapsAvailable: r.maps !== null }),
      tokens: session.tokenSummary('here'),
    };
    lap('summary built (took)', s0);
    const msg: HostToView = { type: 'summary', summary };
    const sz = size(msg);
    console.log(`summary unpacked: ${(sz.json / 1e6).toFixed(3)} MB JSON, ${(sz.buffers / 1e6).toFixed(3)} MB buffers`);
    for (const k of Object.keys(summary) as (keyof typeof summary)[]) {
      const part = size(summary[k]);
      if (part.json + part.buffers > 10_000) console.log(`  ${String(k)}: ${(part.json / 1e6).toFixed(3)} MB JSON, ${(part.buffers / 1e6).toFixed(3)} MB buffers`);
    }
    const p0 = performance.now();
    const wire = forView(msg);
    lap('summary packed (took)', p0);
    const pz = size(wire);
    console.log(`summary message: ${(pz.json / 1e6).toFixed(3)} MB JSON, ${(pz.buffers / 1e6).toFixed(3)} MB buffers`);
    const m0 = performance.now();
    const sample = forView({ type: 'sample', maps: await session.sampleMaps(0) });
    lap('sample 0 maps (took)', m0);
    const ss = size(sample);
    console.log(`sample message: ${(ss.json / 1e6).toFixed(3)} MB JSON, ${(ss.buffers / 1e6).toFixed(2)} MB buffers`);
    lap('round total', r0);
  }
  await engine.dispose();
}

void main();
