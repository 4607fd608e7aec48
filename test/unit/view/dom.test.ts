// The whole view in a DOM (happy-dom) against a fake host that runs the real kernel: what it shows,
// what it posts, and that untrusted strings stay text.
import * as assert from 'node:assert/strict';
import { fmt6 } from '../../../media/view/format';
import { DEFAULT_STATE } from '../../../media/view/state';
import type { ViewSummary, ViewToHost } from '../../../src/protocol';
import { HOSTILE_NAME } from './fakeHost';
import { change, key, setup, SEG, type Harness } from './harness';

describe('view: DOM', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  it('shows the reduced loss with 6 significant digits and the inputs', async function () {
    h = await setup();
    const s = h.host.summary();
    assert.equal(h.$('[data-testid="loss-value"]').textContent, fmt6(s.value));
    assert.match(h.$('.cel-loss-name').textContent ?? '', /cross-entropy \(mean\)/);
    assert.match(h.$('.cel-loss-formula').textContent ?? '', new RegExp(`= ${fmt6(s.numerator)} / ${fmt6(s.denominator)}`));
    assert.match(h.$('.cel-facts').textContent ?? '', /examples\/logits\.npy \[2, 21, 12, 16\] float32/);
    assert.ok(h.$('[data-testid="error"]').hidden);
    assert.ok(h.$('.cel-waiting').hidden);
  });

  it('lists every class in a real table, names as text only', async function () {
    h = await setup();
    const table = h.$<HTMLTableElement>('[data-testid="class-table"]');
    assert.equal(table.tagName, 'TABLE');
    const rows = h.$$('[data-testid="class-table"] tbody tr');
    assert.equal(rows.length, 21);
    assert.equal(rows[20].querySelector('.cel-rowname')?.textContent, HOSTILE_NAME);
    assert.equal(rows[16].querySelector('.cel-rowname')?.textContent, 'potted\nplant');
    assert.equal(h.$$('th button.cel-sort').length, 7);
    // Nothing in the document became markup: no <img>, no inline handlers, anywhere.
    const doc = h.root.ownerDocument;
    assert.equal(doc.querySelectorAll('img').length, 0);
    assert.equal(doc.querySelectorAll('[onerror]').length, 0);
    assert.ok((h.root.textContent ?? '').includes(HOSTILE_NAME));
  });

  it('keeps hostile strings as text in every part that shows class or file names', async function () {
    h = await setup();
    const s = h.host.summary();
    const hostile: ViewSummary = {
      ...s,
      title: '<img src=x onerror=alert(2)>',
      input: { ...s.input, label: '<svg onload=alert(3)>.npy' },
      worst: s.worst.map((w) => ({ ...w, target: 20, predicted: 20 })),
    };
    h.view.receive({ type: 'summary', summary: hostile });
    h.view.receive({ type: 'sample', maps: h.host.sample(0) }); // what the host sends with every summary
    await h.settle();
    // Open the tooltip, the breakdown and the small multiples, which also print class names.
    const vp = h.$('.cel-viewport');
    key(h, vp, 'ArrowRight');
    key(h, vp, 'Enter');
    h.$<HTMLButtonElement>('.cel-multiples .cel-button').click();
    await h.settle(120);
    const doc = h.root.ownerDocument;
    assert.equal(doc.querySelectorAll('img, svg, script, [onerror], [onload]').length, 0);
    assert.equal(h.$('.cel-title').textContent, '<img src=x onerror=alert(2)>');
    assert.ok((h.$('.cel-worst-list').textContent ?? '').includes(HOSTILE_NAME));
    assert.ok(h.$$('.cel-thumb-label').some((e) => e.textContent === `20 (${HOSTILE_NAME})`));
  });

  it('draws the heatmap canvas at map size from the sample the host sends with the summary, without asking again', async function () {
    h = await setup();
    const c = h.$<HTMLCanvasElement>('[data-testid="heatmap"]');
    assert.equal(c.tagName, 'CANVAS');
    assert.equal(c.width, 16);
    assert.equal(c.height, 12);
    assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample'), [], 'the host sends sample 0 with every summary');
    assert.match(h.$('.cel-legend').textContent ?? '', /loss/);
  });

  it('shows an error in place of the results, never a blank page', async function () {
    h = await setup(SEG, {}, false);
    assert.equal(h.$('.cel-waiting').hidden, false);
    h.view.receive({ type: 'error', message: 'target has class 30 but input has 21 classes' });
    const err = h.$('[data-testid="error"]');
    assert.equal(err.hidden, false);
    assert.equal(err.textContent, 'target has class 30 but input has 21 classes');
    assert.ok(h.$('.cel-results').hidden);
    assert.ok(h.$('.cel-waiting').hidden);
    h.view.receive({ type: 'error', message: '' });
    assert.ok((err.textContent ?? '').length > 0);
  });

  it('after a bad option the error replaces the results and the options stay editable', async function () {
    h = await setup();
    h.view.receive({ type: 'error', message: 'label_smoothing must be in [0, 1]' });
    assert.equal(h.$('[data-testid="error"]').hidden, false);
    assert.equal(h.$('.cel-header').hidden, false);
    assert.ok(h.$('.cel-results').hidden);
    h.view.receive({ type: 'summary', summary: h.host.summary() });
    assert.ok(h.$('[data-testid="error"]').hidden);
    assert.equal(h.$('.cel-results').hidden, false);
  });

  it('edits options in place and shows the recomputed loss', async function () {
    h = await setup();
    change(h, h.$<HTMLSelectElement>('select[name="reduction"]'), 'sum');
    assert.deepEqual(h.posted.at(-1), { type: 'setOptions', options: { reduction: 'sum' } });
    await h.settle();
    const s = h.host.summary();
    assert.equal(s.options.reduction, 'sum');
    assert.equal(h.$('[data-testid="loss-value"]').textContent, fmt6(s.value));

    change(h, h.$<HTMLInputElement>('input[name="weight"]'), '1, 2,0.5,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1');
    assert.deepEqual(h.posted.at(-1), { type: 'setOptions', options: {}, weight: [1, 2, 0.5, ...new Array(18).fill(1)] });
    await h.settle();
    assert.ok(h.host.summary().weight);
    assert.equal(h.$$('th[data-key="weight"]').length, 1);

    const before = h.posted.length;
    const ls = h.$<HTMLInputElement>('input[name="labelSmoothing"]');
    change(h, ls, '2');
    assert.equal(h.posted.length, before);
    assert.equal(ls.getAttribute('aria-invalid'), 'true');
    change(h, ls, '0.1');
    assert.deepEqual(h.posted.at(-1), { type: 'setOptions', options: { labelSmoothing: 0.1 } });
    change(h, h.$<HTMLInputElement>('input[name="ignoreIndex"]'), '0');
    assert.deepEqual(h.posted.at(-1), { type: 'setOptions', options: { ignoreIndex: 0 } });
    change(h, h.$<HTMLSelectElement>('select[name="inputKind"]'), 'log-probs');
    assert.deepEqual(h.posted.at(-1), { type: 'setOptions', options: { inputKind: 'log-probs' } });
  });

  it('for reduction none shows the mean and says so', async function () {
    h = await setup({ ...SEG, options: { reduction: 'none' } });
    const s = h.host.summary();
    assert.equal(s.value, null);
    assert.equal(h.$('[data-testid="loss-value"]').textContent, fmt6(s.numerator / s.denominator));
    assert.match(h.$('.cel-loss-name').textContent ?? '', /mean of the unreduced map/);
    assert.match(h.$('.cel-loss-formula').textContent ?? '', /reduction none returns the map \[2, 12, 16\]/);
  });

  it('sorts by clicking header buttons', async function () {
    h = await setup();
    const mean = h.$<HTMLButtonElement>('th[data-key="lossMean"] button');
    mean.click();
    const firstClass = (): number => Number(h.$$('[data-testid="class-table"] tbody tr')[0].getAttribute('data-class'));
    const best = [...h.host.summary().perClass].filter((c) => c.count > 0).sort((a, b) => b.lossMean - a.lossMean)[0];
    assert.equal(firstClass(), best.index);
    assert.equal(h.$('th[data-key="lossMean"]').getAttribute('aria-sort'), 'descending');
    h.$<HTMLButtonElement>('th[data-key="lossMean"] button').click();
    assert.equal(h.$('th[data-key="lossMean"]').getAttribute('aria-sort'), 'ascending');
    await h.settle(200);
    assert.deepEqual(h.states.at(-1)?.sort, { key: 'lossMean', dir: 'asc' });
  });

  it('a row click filters the heatmap to that class, and a second click clears it', async function () {
    h = await setup();
    const row = h.$('[data-testid="class-table"] tbody tr[data-class="12"]');
    row.click();
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'classLoss');
    assert.equal(h.$('tr[data-class="12"] .cel-rowbtn').getAttribute('aria-pressed'), 'true');
    assert.equal(h.$('.cel-chip').hidden, false);
    assert.match(h.$('.cel-chip').textContent ?? '', /12 \(dog\)/);
    h.$('[data-testid="class-table"] tbody tr[data-class="12"]').click();
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'loss');
    assert.ok(h.$('.cel-chip').hidden);
  });

  it('arrow keys move the selected element; hover asks for details; Enter opens the breakdown', async function () {
    h = await setup();
    const vp = h.$('.cel-viewport');
    assert.equal(vp.getAttribute('tabindex'), '0');
    key(h, vp, 'ArrowRight'); // from the centre (6, 8) to (6, 9)
    assert.match(h.$('.cel-status').textContent ?? '', /\(n, y, x\) = \(0, 6, 9\)/);
    assert.equal(h.$('.cel-tooltip').hidden, false);
    await h.settle(120);
    assert.deepEqual(h.posted.filter((m) => m.type === 'explain').at(-1), { type: 'explain', n: 0, index: [6, 9] });
    assert.match(h.$('.cel-tooltip').textContent ?? '', /top class/);
    key(h, vp, 'ArrowUp');
    key(h, vp, 'Enter');
    await h.settle(60);
    const ex = h.$('.cel-explain');
    assert.equal(ex.hidden, false);
    assert.match(ex.textContent ?? '', /Step by step: Element \(0, 5, 9\)/);
    assert.match(ex.textContent ?? '', /Subtract the maximum/);
    assert.match(ex.textContent ?? '', /Reduction: mean/);
    assert.ok((ex.textContent ?? '').includes(`${fmt6(h.host.summary().numerator)} / ${fmt6(h.host.summary().denominator)}`));
    await h.settle(200);
    assert.equal(h.states.at(-1)?.pixel, 5 * 16 + 9);
  });

  it('a worst element selects its sample and highlights it', async function () {
    h = await setup();
    const s = h.host.summary();
    const other = s.worst.findIndex((w) => w.index[0] === 1);
    assert.ok(other >= 0, 'a worst element in sample 1');
    const w = s.worst[other];
    h.$$<HTMLButtonElement>('.cel-worst-item')[other].click();
    assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample').at(-1), { type: 'selectSample', n: 1 });
    await h.settle(60);
    assert.equal(h.$<HTMLInputElement>('input[aria-label="Sample index"]').value, '1');
    assert.equal(h.$('.cel-marker').hidden, false);
    assert.ok((h.$('.cel-status').textContent ?? '').includes(`(${w.index.join(', ')})`));
    assert.ok((h.$('.cel-status').textContent ?? '').includes(`loss ${fmt6(w.loss)}`));
  });

  it('exports PNG, CSV and .npy through the host', async function () {
    h = await setup();
    h.$$<HTMLButtonElement>('.cel-actions .cel-button').find((b) => b.textContent === 'Export CSV')?.click();
    const csv = h.posted.at(-1) as Extract<ViewToHost, { type: 'export' }>;
    assert.equal(csv.kind, 'csv');
    assert.ok(csv.data?.startsWith('class,name,count,'));
    assert.ok(csv.data?.includes('"dining, table"'));
    assert.ok(csv.data?.includes('"motor""bike"'));
    assert.ok(csv.data?.includes('"potted\nplant"'));
    assert.ok(csv.data?.includes(HOSTILE_NAME));
    h.$$<HTMLButtonElement>('.cel-actions .cel-button').find((b) => b.textContent === 'Export .npy')?.click();
    assert.deepEqual(h.posted.at(-1), { type: 'export', kind: 'npy' });
    h.$$<HTMLButtonElement>('.cel-actions .cel-button').find((b) => b.textContent === 'Export PNG')?.click();
    const png = h.posted.at(-1) as Extract<ViewToHost, { type: 'export' }>;
    assert.equal(png.kind, 'png');
    assert.ok(png.data?.startsWith('data:image/png'));
  });

  it('small multiples: one map per class on demand, a click enlarges it', async function () {
    h = await setup();
    h.$<HTMLButtonElement>('.cel-multiples .cel-button').click();
    assert.deepEqual(h.posted.at(-1), { type: 'requestClassMaps', n: 0 });
    await h.settle();
    const thumbs = h.$$<HTMLButtonElement>('.cel-thumb-btn');
    assert.equal(thumbs.length, 21);
    thumbs[8].click();
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'classProb');
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="Class whose probability is shown"]').value, '8');
    assert.match(h.$('.cel-legend').textContent ?? '', /p\(class 8 \(cat\)\)/);
  });

  it('shows progress and notes', async function () {
    h = await setup(SEG, {}, false);
    h.view.receive({ type: 'progress', fraction: 0.25, message: 'Reading logits.npy' });
    assert.equal(h.$('.cel-progress').hidden, false);
    assert.equal(h.$('.cel-progress-text').textContent, 'Reading logits.npy 25%');
    h.view.receive({ type: 'note', message: 'Computed in the page.' });
    assert.equal(h.$('.cel-note').textContent, 'Computed in the page.');
    h.view.receive({ type: 'summary', summary: h.host.summary() });
    assert.ok(h.$('.cel-progress').hidden);
  });

  it('restores its state and reports changes', async function () {
    h = await setup(SEG, { initialState: { ...DEFAULT_STATE, n: 1, colormap: 'magma', mode: 'error', zoom: 3, cx: 4, cy: 5 } });
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="Colormap"]').value, 'magma');
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'error');
    assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample'), [{ type: 'selectSample', n: 1 }]);
    change(h, h.$<HTMLSelectElement>('select[aria-label="Colormap"]'), 'turbo');
    await h.settle(200);
    assert.equal(h.states.at(-1)?.colormap, 'turbo');
    assert.equal(h.states.at(-1)?.zoom, 3);
  });

  it('the (N, C) strip is drawn from the strip the host sends and explains by sample index', async function () {
    h = await setup({ lossShape: [40], C: 10 });
    assert.deepEqual(h.posted.filter((m) => m.type === 'selectSample'), []);
    const c = h.$<HTMLCanvasElement>('[data-testid="heatmap"]');
    assert.equal(c.width, 40);
    assert.equal(c.height, 1);
    assert.ok(h.$('.cel-toolbar .cel-group').hidden, 'no sample selector for a strip');
    const vp = h.$('.cel-viewport');
    key(h, vp, 'Home');
    key(h, vp, 'Enter');
    await h.settle(60);
    assert.deepEqual(h.posted.filter((m) => m.type === 'explain').at(-1), { type: 'explain', n: -1, index: [0] });
    assert.match(h.$('.cel-explain').textContent ?? '', /Element \(0\)/);
  });

  it('"Mark ignored" is offered where an ignore index exists: class-index targets, not bce, sigmoid focal or probabilities', async function () {
    h = await setup();
    const label = (): HTMLElement => [...h.root.querySelectorAll<HTMLElement>('.cel-toolbar label')].find((l) => /Mark ignored/.test(l.textContent ?? ''))!;
    assert.ok(label() && !label().hidden, 'cross-entropy: shown');
    const s = h.host.summary();
    for (const [loss, targetKind] of [['bce', 'binary'], ['sigmoid-focal', 'binary'], ['ce', 'probs']] as const) {
      h.view.receive({ type: 'summary', summary: { ...s, targetKind, options: { ...s.options, loss } } });
      await h.settle();
      assert.ok(label().hidden, `${loss} with ${targetKind} targets: hidden`);
    }
    h.view.receive({ type: 'summary', summary: s });
    await h.settle();
    assert.ok(!label().hidden, 'cross-entropy again: shown');
  });

  it('3-D samples get a slice slider over the first spatial axis', async function () {
    h = await setup({ lossShape: [1, 3, 6, 8], C: 4 });
    const slider = h.$<HTMLInputElement>('input[aria-label="Slice along the first spatial axis"]');
    assert.equal(slider.max, '2');
    slider.value = '2';
    slider.dispatchEvent(new h.win.Event('input') as unknown as Event);
    assert.ok(h.$$('.cel-group .cel-dim').some((e) => e.textContent === 'z = 2 (of 3)'));
    key(h, h.$('.cel-viewport'), 'Enter');
    await h.settle(60);
    const ex = h.posted.filter((m) => m.type === 'explain').at(-1);
    assert.deepEqual(ex, { type: 'explain', n: 0, index: [2, 3, 4] });
  });

  it('without maps it says so and still shows the statistics', async function () {
    h = await setup(SEG, {}, false);
    h.view.receive({ type: 'summary', summary: { ...h.host.summary(), mapsAvailable: false } });
    assert.equal(h.posted.filter((m) => m.type === 'selectSample').length, 0);
    assert.equal(h.$('.cel-map-message').hidden, false);
    assert.match(h.$('.cel-map-message').textContent ?? '', /statistics/);
    assert.ok(h.$('.cel-viewport').hidden);
    assert.equal(h.$$('[data-testid="class-table"] tbody tr').length, 21);
  });

  it('compact mode offers to open the panel', async function () {
    h = await setup(SEG, { compact: true });
    assert.ok(h.root.classList.contains('cel-compact'));
    h.$$<HTMLButtonElement>('.cel-button').find((b) => b.textContent === 'Open in panel')?.click();
    assert.deepEqual(h.posted.at(-1), { type: 'openInPanel' });
  });

  it('dispose empties the root and ignores later messages', async function () {
    h = await setup();
    h.view.dispose();
    assert.equal(h.root.childNodes.length, 0);
    h.view.receive({ type: 'error', message: 'late' });
    assert.equal(h.root.childNodes.length, 0);
  });
});

describe('view: DOM, a table of many classes', function () {
  this.timeout(30_000);
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  it('keeps only the rows in view in the DOM; a row far down still filters the heatmap; search, sort and bars go through', async function () {
    const C = 300;
    h = await setup({ lossShape: [1, 8, 8], C });
    const table = h.$('[data-testid="class-table"]');
    assert.ok(h.$$('[data-testid="class-table"] tbody tr').length <= 102, `${h.$$('[data-testid="class-table"] tbody tr').length} rows`);
    assert.equal(table.getAttribute('aria-rowcount'), String(C + 1));
    // Class order below 1,000 classes: class 250 is row 250; scroll there and pick it.
    const wrap = h.$('.cel-classes .cel-table-wrap');
    wrap.scrollTop = 250 * 24;
    wrap.dispatchEvent(new h.win.Event('scroll') as unknown as Event);
    h.$('[data-testid="class-table"] tbody tr[data-class="250"]').click();
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'classLoss');
    assert.equal(h.$('tr[data-class="250"] .cel-rowbtn').getAttribute('aria-pressed'), 'true');
    assert.match(h.$('.cel-chip').textContent ?? '', /Only class 250/);
    h.$('[data-testid="class-table"] tbody tr[data-class="250"]').click();
    assert.equal(h.$<HTMLSelectElement>('select[aria-label="View mode"]').value, 'loss');
    assert.ok(h.$('.cel-chip').hidden);
    // The search box: class 25 first, then every class whose index holds "25".
    const search = h.$<HTMLInputElement>('input.cel-class-search');
    search.value = '25';
    search.dispatchEvent(new h.win.Event('input') as unknown as Event);
    const listed = h.$$('tbody tr[data-class]').map((r) => Number(r.getAttribute('data-class')));
    assert.deepEqual(listed, [25, ...Array.from({ length: C }, (_, i) => i).filter((i) => i !== 25 && String(i).includes('25'))]);
    // The CSV holds every class whatever the search.
    h.$$<HTMLButtonElement>('.cel-actions .cel-button').find((b) => b.textContent === 'Export CSV')?.click();
    const csv = h.posted.at(-1) as Extract<ViewToHost, { type: 'export' }>;
    assert.equal(csv.data?.trim().split('\r\n').length, C + 1);
    // At most 20 bars, with a caption; the sort and the bar value are kept in the view state.
    assert.ok(h.$$('.cel-bar-row').length <= 20);
    assert.match(h.$('.cel-bars-caption').textContent ?? '', /top \d+ of 300 classes by mean loss/);
    h.$<HTMLButtonElement>('th[data-key="share"] button').click();
    change(h, h.$<HTMLSelectElement>('select[aria-label="Bar chart value"]'), 'share');
    await h.settle(200);
    assert.deepEqual(h.states.at(-1)?.sort, { key: 'share', dir: 'desc' });
    assert.equal(h.states.at(-1)?.bars, 'share');
  });
});
