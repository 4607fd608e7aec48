// Hover scans in the workers are bounded: a hostile 1 MB document is scanned in well under a second (it
// held a worker for about 20 minutes), a scan ahead of a hover stops at once when it is cancelled (the
// document changed or closed) and frees its worker, and a large document reaches the workers in shared
// memory, where the worker that scanned it keeps its index for the next hovers.
// CEL_DIST_DIR points the engine at another build of worker.js (default dist/).
import * as assert from 'node:assert/strict';
import { LensError } from '../../../../src/errors';
import { HOST_REPORT_CHARS } from '../../../../src/hover/limits';
import { hoverReport } from '../../../../src/hover/report';
import { PairFinder, literalRange, literalsToWarm, lookupAt, scanDocument } from '../../../../src/hover/scan';
import { findTensorLiterals } from '../../../../src/tensor/text/printed';
import { Engine } from '../../../../src/worker/engine/engine';
import { shareText, stringSource } from '../../../../src/worker/engine/sharedText';
import { bigJsonPair } from '../../../../bench/hover';
import { DIST } from '../helpers';

const DIST_DIR = process.env.CEL_DIST_DIR ?? DIST;

const engines: Engine[] = [];
function engine(maxWorkers = 2): Engine {
  const e = new Engine({ distDir: DIST_DIR, maxWorkers });
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.dispose()));
});

function isCancelled(e: unknown): boolean {
  return e instanceof LensError && e.kind === 'cancelled';
}

/** Settles with `p`, or fails the test after `ms` (the engine is disposed after it, stopping the worker). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** About 1 MiB of Python: 32 K '(', as many ']' that match none of them, then the ')' that close them. */
function hostileMiB(): string {
  return ('('.repeat(32 * 1024) + ']'.repeat(32 * 1024) + ')'.repeat(32 * 1024)).repeat(11);
}

describe('engine: hover scans are bounded', function () {
  this.timeout(120_000);

  it('scans a hostile 1 MiB document in a worker within seconds, twice over (it took about 20 minutes)', async function () {
    const e = engine(1);
    const doc = hostileMiB();
    const t0 = performance.now();
    const index = await within(e.hoverIndex(doc, 'python'), 10_000, 'hover-index');
    assert.deepEqual(index, { literals: [], paths: [] });
    const text = await shareText(stringSource(doc));
    const r = await within(e.hoverLookup({ key: 'hostile', text, syntax: 'python', offset: 5, warm: { minChars: 10, max: 4 } }), 10_000, 'hover-lookup');
    assert.deepEqual(r, { target: { kind: 'none' }, warm: [] });
    console.log(`      hostile 1 MiB: both scans in ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('a scan ahead of a hover stops at once when cancelled, and frees its worker', async function () {
    const e = engine(1);
    // 64 MiB of balanced brackets: linear, but a frame per character, so a scan of seconds.
    const doc = await shareText(stringSource(('('.repeat(50_000) + ')'.repeat(50_000)).repeat(671)));
    const scan = (key: string, signal?: AbortSignal): Promise<unknown> =>
      e.hoverLookup({ key, text: doc, syntax: 'python', offset: null, warm: { minChars: HOST_REPORT_CHARS, max: 4 } }, signal);
    // How long the scan holds the worker when nothing stops it (or until its deadline).
    const t0 = performance.now();
    await scan('full').catch((err: unknown) => {
      if (!(err instanceof LensError && /took too long/.test(err.message))) throw err;
    });
    const full = performance.now() - t0;
    const ac = new AbortController();
    const t1 = performance.now();
    const warm = scan('cancelled', ac.signal);
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(warm, isCancelled);
    assert.ok(performance.now() - t1 < 1000, `cancel answered after ${(performance.now() - t1).toFixed(0)} ms`);
    // The only worker was stopped and replaced: the next job runs on a fresh one instead of after the scan.
    const small = await shareText(stringSource('{"logits": [[1, 2]], "labels": [1]}'));
    const r = await e.hoverLookup({ key: 'small', text: small, syntax: 'json', offset: 14, warm: null });
    const next = performance.now() - t1;
    assert.equal(r.target.kind, 'literal');
    assert.ok(next < 0.8 * full, `next job answered ${next.toFixed(0)} ms after the scan began; the whole scan takes ${full.toFixed(0)} ms`);
  });

  it('answers lookups, warm literals and reports on shared text as the pure functions do; the index stays in the worker', async function () {
    const e = engine(1);
    const doc = bigJsonPair(1);
    const text = await shareText(stringSource(doc));
    const index = scanDocument(doc, 'json');
    const pairs = new PairFinder(index);
    const at = doc.indexOf('"labels"') + 12;
    const q = { key: 'doc', text, syntax: 'json' as const };
    const first = await e.hoverLookup({ ...q, offset: at, warm: { minChars: HOST_REPORT_CHARS, max: 4 } });
    assert.deepEqual(first.target, lookupAt(index, at, pairs));
    assert.deepEqual(first.warm, literalsToWarm(index, HOST_REPORT_CHARS, 4, pairs));
    assert.equal(first.warm.length, 1);
    // The same key on other text: answered from the index the worker kept, so it never scanned again.
    const other = await shareText(stringSource(' '.repeat(doc.length)));
    assert.deepEqual((await e.hoverLookup({ ...q, text: other, offset: at, warm: null })).target, first.target);
    assert.deepEqual((await e.hoverLookup({ ...q, key: 'other', text: other, offset: at, warm: null })).target, { kind: 'none' });

    assert.equal(first.target.kind, 'literal');
    if (first.target.kind !== 'literal' || first.target.pair === null) return;
    const pair = first.target.pair;
    const spans = [pair.input, pair.target];
    const request = { hovered: 1, pair: { input: 0, target: 1, weight: null }, options: {} };
    const literals = spans.map((s) => ({ text: doc.slice(literalRange(s).start, literalRange(s).end), syntax: s.syntax, name: s.name }));
    assert.deepEqual(await e.hoverReportShared(text, spans, request), hoverReport({ ...request, literals }));
  });

  it('finds printed tensors in shared text as findTensorLiterals does, errors as LensErrors', async function () {
    const e = engine(1);
    const src = 'a = tensor([[1.5, 2]], dtype=torch.float64)\nb = [[1], [2, 3]]\nc = np.array([0, 1])\n';
    const found = await e.findLiterals(await shareText(stringSource(src)));
    const want = findTensorLiterals(src);
    assert.equal(found.length, want.length);
    found.forEach((f, i) => {
      const w = want[i];
      assert.equal(f.start, w.start);
      assert.equal(f.end, w.end);
      if ('error' in w) {
        assert.ok('error' in f && f.error instanceof LensError);
        assert.equal(f.error.message, w.error.message);
        assert.equal(f.error.kind, w.error.kind);
      } else assert.deepEqual('tensor' in f ? f.tensor : null, w.tensor);
    });
  });
});
