// A panel opened from a paused debug session (HostToView 'debug', DebugContext): media/view/debugSection.ts.
// Its origin, the PyTorch exception explained with the lens's message and a fix to copy, the *Update on each
// stop* checkbox and the loss at each stop; it stays beside the results and the error alike.
import * as assert from 'node:assert/strict';
import { MAX_LISTED_STOPS, MAX_SPARK_POINTS, sparkPoints, sparkValues, stopLine } from '../../../media/view/debugSection';
import { fmt6 } from '../../../media/view/format';
import type { DebugContext, DebugExplanation, DebugStop } from '../../../src/protocol';
import { HOSTILE_NAME } from './fakeHost';
import { setup, type Harness } from './harness';

const RAISED = 'RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4';
const CALL = 'F.cross_entropy(input [4, 21, 64, 64] float32, target [4, 1, 64, 64] int64, ignore_index=255)';
const FIX_CODE = 'target = target.squeeze(1)  # [4, 1, 64, 64] -> [4, 64, 64]';

const EXPLANATION: DebugExplanation = {
  raised: RAISED,
  call: CALL,
  lensMessage: 'target [4, 1, 64, 64] has a size-1 channel axis the input does not',
  fix: { code: FIX_CODE, note: 'Drop the target\'s size-1 channel axis.' },
};

function ctx(o: Partial<DebugContext> = {}): DebugContext {
  return { origin: 'train_step (train.py:42)', explanation: null, follow: false, history: [], ...o };
}

describe('view: debug section (pure parts)', function () {
  it('a stop\'s line: six significant digits as the loss value shows them, or "no value"', function () {
    assert.equal(stopLine({ stop: 3, value: 2.302585092994046, where: 'train.py:42' }), 'stop 3: 2.30259 — train.py:42');
    assert.equal(stopLine({ stop: 4, value: 1e-7 / 3, where: 'a.py:1' }), `stop 4: ${Number((1e-7 / 3).toPrecision(6)).toString()} — a.py:1`);
    assert.equal(stopLine({ stop: 5, value: 120, where: 'a.py:1' }), 'stop 5: 120 — a.py:1');
    assert.equal(stopLine({ stop: 6, value: null, where: 'target not found' }), 'stop 6: no value — target not found');
  });

  it('the sparkline keeps short series as they are and each bucket\'s extremes of long ones', function () {
    assert.deepEqual(sparkValues([3, 1, 2]), [3, 1, 2]);
    const long = Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 50));
    long[5_003] = 99; // a spike
    long[7_001] = -99;
    const s = sparkValues(long);
    assert.ok(s.length <= MAX_SPARK_POINTS && s.length > MAX_SPARK_POINTS / 2, `${s.length} points`);
    assert.ok(s.includes(99) && s.includes(-99), 'a spike survives the downsampling');
    assert.ok(s.indexOf(99) < s.indexOf(-99), 'in the order they came');
    // One value: one point in the middle; a flat series: a line across the middle; higher values higher up.
    assert.deepEqual(sparkPoints([5], 100, 20, 2), [[50, 10]]);
    assert.deepEqual(sparkPoints([1, 1], 100, 20, 2), [[2, 10], [98, 10]]);
    assert.deepEqual(sparkPoints([0, 2, 1], 100, 20, 2), [[2, 18], [50, 2], [98, 10]]);
  });
});

describe('view: debug section', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  const send = async (debug: DebugContext | null): Promise<void> => {
    h.view.receive({ type: 'debug', debug });
    await h.settle();
  };
  const section = (): HTMLElement => h.$('[data-testid="debug-section"]');
  const follow = (): HTMLInputElement => h.$<HTMLInputElement>('[data-testid="follow-stops"]');
  const visible = (e: Element): boolean => {
    for (let x: Element | null = e; x; x = x.parentElement) if ((x as HTMLElement).hidden) return false;
    return true;
  };

  it('is hidden until a debug message comes, then shows its origin; debug: null hides it again', async function () {
    h = await setup();
    assert.equal(section().hidden, true, 'a panel not from a debug session shows none');
    await send(ctx());
    assert.equal(section().hidden, false);
    assert.equal(h.$('.cel-debug-head').textContent, 'From the debugger: train_step (train.py:42)');
    assert.equal(h.$('[data-testid="debug-explain"]').hidden, true, 'no explanation: no explain block');
    assert.equal(h.$('[data-testid="stop-history"]').hidden, true, 'no stops: no history');
    await send(ctx({ origin: 'eval_step (eval.py:7)' }));
    assert.equal(h.$('.cel-debug-head').textContent, 'From the debugger: eval_step (eval.py:7)');
    await send(null);
    assert.equal(section().hidden, true);
    assert.equal(visible(h.$('.cel-results')), true, 'the results stay');
  });

  it('shows the explanation: what PyTorch raised, the call, the lens\'s message and the fix', async function () {
    h = await setup();
    await send(ctx({ explanation: EXPLANATION }));
    const ex = h.$('[data-testid="debug-explain"]');
    assert.equal(visible(ex), true);
    const raised = h.$('[data-testid="debug-raised"]');
    assert.equal(raised.textContent, RAISED);
    assert.equal(raised.tagName, 'PRE', 'a monospace block');
    assert.match(ex.textContent ?? '', /PyTorch raised/);
    assert.equal(h.$('[data-testid="debug-call"]').textContent, CALL);
    assert.equal(h.$('[data-testid="debug-lens-message"]').textContent, `Cross-Entropy Lens: ${EXPLANATION.lensMessage}`);
    const fix = h.$('[data-testid="debug-fix"]');
    assert.match(fix.textContent ?? '', /Drop the target's size-1 channel axis\./);
    assert.match(fix.textContent ?? '', /loss shown is the loss after this fix/);
    const code = h.$('[data-testid="debug-fix-code"]');
    assert.equal(code.tagName, 'CODE');
    assert.equal(code.textContent, FIX_CODE, 'the exact line, nothing added');
    assert.ok(fix.contains(code));
    assert.equal(h.$('[data-testid="debug-fix-copy"]').textContent, 'Copy');
  });

  it('has no lens-message element when the lens computes the values without error, and no fix block without a fix', async function () {
    h = await setup();
    await send(ctx({ explanation: { ...EXPLANATION, lensMessage: null, fix: null } }));
    assert.equal(h.$('[data-testid="debug-raised"]').textContent, RAISED);
    assert.equal(h.$$('[data-testid="debug-lens-message"]').length, 0);
    assert.equal(h.$$('[data-testid="debug-fix"]').length, 0);
    // Back with both: they appear; then no explanation at all: the block goes.
    await send(ctx({ explanation: EXPLANATION }));
    assert.equal(h.$$('[data-testid="debug-lens-message"]').length, 1);
    assert.equal(h.$$('[data-testid="debug-fix"]').length, 1);
    await send(ctx());
    assert.equal(h.$('[data-testid="debug-explain"]').hidden, true);
    assert.equal(h.$$('[data-testid="debug-raised"]').length, 0);
  });

  it('Copy posts copyText with the fix\'s code, and nothing else', async function () {
    h = await setup();
    await send(ctx({ explanation: EXPLANATION }));
    h.posted.length = 0;
    h.$<HTMLButtonElement>('[data-testid="debug-fix-copy"]').click();
    assert.deepEqual(h.posted, [{ type: 'copyText', text: FIX_CODE }]);
    // A later context's fix is the one copied.
    await send(ctx({ explanation: { ...EXPLANATION, fix: { code: 'x = x.float()', note: 'Cast.' } } }));
    h.posted.length = 0;
    h.$<HTMLButtonElement>('[data-testid="debug-fix-copy"]').click();
    assert.deepEqual(h.posted, [{ type: 'copyText', text: 'x = x.float()' }]);
  });

  it('the checkbox reflects follow and posts followStops; the host\'s answer sets it', async function () {
    h = await setup();
    await send(ctx({ follow: false }));
    const box = follow();
    assert.equal(box.type, 'checkbox');
    assert.equal(box.checked, false);
    assert.match(box.closest('label')?.textContent ?? '', /Update on each stop/);
    h.posted.length = 0;
    box.click();
    assert.deepEqual(h.posted, [{ type: 'followStops', on: true }]);
    await send(ctx({ follow: true }));
    assert.equal(follow().checked, true);
    h.posted.length = 0;
    follow().click();
    assert.deepEqual(h.posted, [{ type: 'followStops', on: false }]);
    // The host may refuse: its answer wins over the click.
    await send(ctx({ follow: true }));
    assert.equal(follow().checked, true);
    await send(ctx({ follow: false }));
    assert.equal(follow().checked, false);
  });

  it('lists each stop with its loss and draws the non-null values as a sparkline', async function () {
    h = await setup();
    const history: DebugStop[] = [
      { stop: 1, value: 2.302585092994046, where: 'train.py:42' },
      { stop: 2, value: null, where: 'target not in frame' },
      { stop: 3, value: 1.0986122886681098, where: 'train.py:42' },
      { stop: 4, value: 0.6931471805599453, where: 'train.py:42' },
    ];
    await send(ctx({ follow: true, history }));
    const hist = h.$('[data-testid="stop-history"]');
    assert.equal(visible(hist), true);
    const items = h.$$('[data-testid="stop-history"] ol > li');
    assert.deepEqual(items.map((li) => li.getAttribute('data-stop')), ['1', '2', '3', '4']);
    assert.deepEqual(items.map((li) => li.textContent), [
      `stop 1: ${fmt6(2.302585092994046)} — train.py:42`,
      'stop 2: no value — target not in frame',
      'stop 3: 1.09861 — train.py:42',
      'stop 4: 0.693147 — train.py:42',
    ]);
    const svg = hist.querySelector('svg');
    assert.ok(svg, 'a sparkline');
    assert.equal(svg.namespaceURI, 'http://www.w3.org/2000/svg');
    const line = svg.querySelector('polyline');
    assert.ok(line);
    assert.equal((line.getAttribute('points') ?? '').trim().split(/\s+/).length, 3, 'the three values, not the null one');
    assert.equal(svg.querySelectorAll('circle').length, 1, 'the latest value marked');
    assert.equal(h.$$('.cel-debug-earlier:not([hidden])').length, 0);
  });

  it('draws a single value as a point, and no sparkline when no stop has a value', async function () {
    h = await setup();
    await send(ctx({ history: [{ stop: 1, value: 0.5, where: 'train.py:42' }] }));
    const svg = h.$('[data-testid="stop-history"] svg');
    assert.equal(svg.querySelectorAll('polyline').length, 0);
    const dot = svg.querySelector('circle');
    assert.ok(dot);
    assert.ok(Number.isFinite(Number(dot.getAttribute('cx'))) && Number.isFinite(Number(dot.getAttribute('cy'))));
    assert.equal(h.$$('[data-testid="stop-history"] li').length, 1);
    await send(ctx({ history: [{ stop: 1, value: null, where: 'no frame' }, { stop: 2, value: null, where: 'no frame' }] }));
    assert.equal(h.$$('[data-testid="stop-history"] svg').length, 0);
    assert.deepEqual(h.$$('[data-testid="stop-history"] li').map((li) => li.textContent), ['stop 1: no value — no frame', 'stop 2: no value — no frame']);
  });

  it('keeps the list to the last 200 stops and says how many came before', async function () {
    h = await setup();
    const history: DebugStop[] = Array.from({ length: 1000 }, (_, i) => ({ stop: i + 1, value: 1 / (i + 1), where: 'train.py:42' }));
    await send(ctx({ follow: true, history }));
    const items = h.$$('[data-testid="stop-history"] li');
    assert.equal(items.length, MAX_LISTED_STOPS);
    assert.equal(items[0].getAttribute('data-stop'), '801');
    assert.equal(items[items.length - 1].getAttribute('data-stop'), '1000');
    assert.equal(h.$('.cel-debug-earlier').textContent, '… 800 earlier stops');
    assert.equal(h.$('.cel-debug-earlier').hidden, false);
    const pts = (h.$('[data-testid="stop-history"] polyline').getAttribute('points') ?? '').trim().split(/\s+/);
    assert.ok(pts.length <= MAX_SPARK_POINTS && pts.length >= 2, `${pts.length} points`);
    // Shorter again: the note goes.
    await send(ctx({ follow: true, history: history.slice(0, 3) }));
    assert.equal(h.$$('[data-testid="stop-history"] li').length, 3);
    assert.equal(h.$('.cel-debug-earlier').hidden, true);
  });

  it('stays in sight with the error when the fix is null, above it, and through a later summary and progress', async function () {
    h = await setup();
    await send(ctx({ explanation: { ...EXPLANATION, fix: null }, history: [{ stop: 1, value: 1, where: 'a.py:1' }] }));
    h.view.receive({ type: 'error', message: 'only batches of spatial targets supported' });
    await h.settle();
    const err = h.$('[data-testid="error"]');
    assert.equal(visible(err), true);
    assert.equal(visible(section()), true);
    assert.equal(visible(h.$('[data-testid="debug-raised"]')), true);
    assert.ok(section().compareDocumentPosition(err) & 4 /* DOCUMENT_POSITION_FOLLOWING */, 'the section is above the error');
    h.view.receive({ type: 'progress', fraction: 0.3, message: 'Computing' });
    h.view.receive({ type: 'summary', summary: h.host.summary() });
    await h.settle();
    assert.equal(visible(section()), true, 'a summary after it');
    assert.equal(h.$('.cel-debug-head').textContent, 'From the debugger: train_step (train.py:42)');
    assert.equal(h.$$('[data-testid="stop-history"] li').length, 1);
    assert.equal(err.hidden, true);
    h.view.receive({ type: 'progress', fraction: 1, message: 'Done' });
    h.view.receive({ type: 'error', message: 'again' });
    await h.settle();
    assert.equal(visible(section()), true, 'and another error');
  });

  it('keeps a focused Copy button when the next stop brings the same explanation', async function () {
    h = await setup();
    await send(ctx({ explanation: EXPLANATION, follow: true, history: [{ stop: 1, value: 1, where: 'a.py:1' }] }));
    const copy = h.$('[data-testid="debug-fix-copy"]');
    await send(ctx({ explanation: { ...EXPLANATION }, follow: true, history: [{ stop: 1, value: 1, where: 'a.py:1' }, { stop: 2, value: 0.5, where: 'a.py:1' }] }));
    assert.equal(h.$('[data-testid="debug-fix-copy"]'), copy, 'the same element');
    assert.equal(h.$$('[data-testid="stop-history"] li').length, 2);
  });

  it('keeps untrusted text as text: no element from any string of the context', async function () {
    h = await setup();
    const evil = HOSTILE_NAME;
    const history: DebugStop[] = [{ stop: 1, value: 1, where: evil }, { stop: 2, value: null, where: evil }];
    await send(ctx({
      origin: evil,
      explanation: { raised: evil, call: evil, lensMessage: evil, fix: { code: evil, note: evil } },
      history,
    }));
    const s = section();
    assert.equal(s.querySelectorAll('img').length, 0);
    assert.equal(h.root.querySelectorAll('img').length, 0);
    assert.equal(h.$('.cel-debug-head').textContent, `From the debugger: ${evil}`);
    assert.equal(h.$('[data-testid="debug-raised"]').textContent, evil);
    assert.equal(h.$('[data-testid="debug-call"]').textContent, evil);
    assert.equal(h.$('[data-testid="debug-lens-message"]').textContent, `Cross-Entropy Lens: ${evil}`);
    assert.equal(h.$('[data-testid="debug-fix-code"]').textContent, evil);
    assert.equal(h.$('.cel-debug-fix-note').textContent, evil);
    assert.equal(h.$('[data-testid="stop-history"] li[data-stop="1"]').textContent, `stop 1: 1 — ${evil}`);
    h.posted.length = 0;
    h.$<HTMLButtonElement>('[data-testid="debug-fix-copy"]').click();
    assert.deepEqual(h.posted, [{ type: 'copyText', text: evil }]);
  });
});
