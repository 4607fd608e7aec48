// The per-class table component at vocabulary scale (happy-dom): only the rows in view are in the DOM,
// sorting, search, scrolling, keyboard, row picks and the top-classes chart, and small tables unchanged.
import * as assert from 'node:assert/strict';
import type { Window } from 'happy-dom' with { 'resolution-mode': 'import' };
import { BAR_LIMIT, ClassTable, MAX_ROWS, type BarsKey, type ClassTableEvents } from '../../../../media/view/tables/classTable';
import { builder } from '../../../../media/view/dom';
import { DEFAULT_SORT, type SortSpec } from '../../../../media/view/tables/table';
import type { ClassStats } from '../../../../src/kernel/types';

const VOCAB = 262_144;
/** The row pitch the component assumes where there is no layout (happy-dom). */
const ROW_PX = 24;

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** C classes with ties in share and mean loss, and empty classes (mean NaN). */
function stats(C: number, seed = 3): ClassStats[] {
  const rnd = lcg(seed);
  const out: ClassStats[] = new Array(C);
  for (let i = 0; i < C; i++) {
    const count = rnd() < 0.1 ? 0 : 1 + Math.floor(rnd() * 50);
    const lossMean = count ? Math.floor(rnd() * 4000) / 400 : NaN;
    const lossSum = count ? lossMean * count : 0;
    out[i] = {
      index: i, count, ignored: 0, lossSum, lossMean, weight: 1, share: Math.floor(rnd() * 5000) / (5000 * C),
      accuracy: count ? rnd() : NaN, iou: count ? rnd() : NaN, predicted: count, precision: count ? rnd() : NaN,
    };
  }
  return out;
}

/** Token-like names; a few hold "1234" (mixed case elsewhere to check case-insensitive search). */
function vocabNames(C: number): string[] {
  const names = Array.from({ length: C }, (_, i) => `tok_${((i * 2654435761) >>> 0).toString(36)}`);
  names[7] = 'ab1234cd';
  names[200_000] = 'Ġ1234';
  names[99] = 'Hello_World';
  return names;
}

/** Positions sorted independently of the code under test: value descending, NaN last, ties by index. */
function expectedDesc(rows: readonly ClassStats[], key: 'share' | 'lossMean'): number[] {
  return rows.map((r) => r.index).sort((a, b) => {
    const va = rows[a][key];
    const vb = rows[b][key];
    if (Number.isNaN(va) || Number.isNaN(vb)) return Number.isNaN(va) ? (Number.isNaN(vb) ? a - b : 1) : -1;
    return vb - va || a - b;
  });
}

interface Fixture {
  win: Window;
  doc: Document;
  table: ClassTable;
  picks: number[];
  changes: Array<{ sort?: SortSpec; bars?: BarsKey }>;
  $$(sel: string): HTMLElement[];
  rowClasses(): number[];
  wrap(): HTMLElement;
  scrollTo(px: number): void;
  close(): void;
}

async function fixture(init: { sort?: SortSpec; bars?: BarsKey } = {}): Promise<Fixture> {
  const { Window: HappyWindow } = await import('happy-dom');
  const win = new HappyWindow({ url: 'http://localhost/', width: 1024, height: 768 });
  const doc = win.document as unknown as Document;
  const picks: number[] = [];
  const changes: Array<{ sort?: SortSpec; bars?: BarsKey }> = [];
  let table: ClassTable | null = null;
  const events: ClassTableEvents = {
    // As LossView does: toggle the filter and mark the row.
    pick: (c) => {
      picks.push(c);
      table?.setSelected(c);
    },
    change: (p) => changes.push(p),
  };
  table = new ClassTable(builder(doc), events, { sort: init.sort ?? DEFAULT_SORT, bars: init.bars ?? 'lossMean' });
  doc.body.appendChild(table.el);
  const t = table;
  const $$ = (sel: string): HTMLElement[] => Array.from(t.el.querySelectorAll(sel)) as HTMLElement[];
  const wrap = (): HTMLElement => t.el.querySelector('.cel-table-wrap') as HTMLElement;
  return {
    win, doc, table: t, picks, changes, $$, wrap,
    rowClasses: () => $$('[data-testid="class-table"] tbody tr[data-class]').map((r) => Number(r.getAttribute('data-class'))),
    scrollTo: (px) => {
      wrap().scrollTop = px;
      wrap().dispatchEvent(new win.Event('scroll') as unknown as Event);
    },
    close: () => void win.happyDOM.close(),
  };
}

function typeInto(f: Fixture, input: HTMLInputElement, text: string): void {
  input.value = text;
  input.dispatchEvent(new f.win.Event('input', { bubbles: true }) as unknown as Event);
}

function key(f: Fixture, el: HTMLElement, k: string): void {
  el.dispatchEvent(new f.win.KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }) as unknown as Event);
}

/** The positions (aria-rowindex - 2) of the rows in the DOM. */
function positions(f: Fixture): number[] {
  return f.$$('tbody tr[data-class]').map((r) => Number(r.getAttribute('aria-rowindex')) - 2);
}

/** Every class the table lists, collected by scrolling through it a window at a time. */
function scrollThrough(f: Fixture, total: number): number[] {
  const seen = new Map<number, number>();
  for (let px = 0; px <= total * ROW_PX; px += 20 * ROW_PX) {
    f.scrollTo(px);
    const rows = f.$$('tbody tr[data-class]');
    for (const r of rows) seen.set(Number(r.getAttribute('aria-rowindex')) - 2, Number(r.getAttribute('data-class')));
  }
  f.scrollTo(0);
  return [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
}

describe('view: class table component at vocabulary scale', function () {
  this.timeout(60_000);
  const big = stats(VOCAB);
  const names = vocabNames(VOCAB);
  // The expected orders, sorted once for all the tests below.
  const memo = new Map<string, number[]>();
  const expected = (key: 'share' | 'lossMean'): number[] => memo.get(key) ?? (memo.set(key, expectedDesc(big, key)).get(key) as number[]);
  let f: Fixture;
  afterEach(function () {
    f?.close();
  });

  it('holds at most MAX_ROWS rows for 262,144 classes, with spacers giving the full scroll height', async function () {
    f = await fixture();
    f.table.update(big, names);
    const rows = f.$$('[data-testid="class-table"] tbody tr');
    assert.ok(rows.length <= MAX_ROWS + 2, `${rows.length} row elements`);
    assert.ok(MAX_ROWS <= 100);
    const data = f.$$('tbody tr[data-class]');
    assert.ok(data.length >= 20, `${data.length} rows in view`);
    // Rows in the DOM plus the spacers' heights make C rows' worth of height.
    const spacers = f.$$('tbody tr.cel-spacer td').reduce((a, td) => a + parseFloat(td.style.height), 0);
    assert.equal(spacers + data.length * ROW_PX, VOCAB * ROW_PX);
    assert.equal(f.$$('[data-testid="class-table"]')[0].getAttribute('aria-rowcount'), String(VOCAB + 1));
    // Still true halfway down.
    f.scrollTo(VOCAB * ROW_PX / 2);
    assert.ok(f.$$('tbody tr').length <= MAX_ROWS + 2);
    const mid = f.$$('tbody tr.cel-spacer td').reduce((a, td) => a + parseFloat(td.style.height), 0);
    assert.equal(mid + f.$$('tbody tr[data-class]').length * ROW_PX, VOCAB * ROW_PX);
  });

  it('updates 262,144 classes in under a second, and 4x the classes take about 4x the time (not 16x)', async function () {
    f = await fixture();
    const quarter = stats(VOCAB / 4, 5);
    const timeUpdate = (rows: readonly ClassStats[]): number => {
      let best = Infinity;
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        f.table.update(rows, []);
        best = Math.min(best, performance.now() - t0);
        f.table.update(stats(3), []); // a different table in between: every update starts from scratch
      }
      return best;
    };
    timeUpdate(quarter); // warm up
    const tn = timeUpdate(quarter);
    const t4n = timeUpdate(big);
    assert.ok(t4n < 1000, `update of ${VOCAB} classes took ${t4n.toFixed(0)} ms`);
    // O(C) work plus a constant for the rows in view: the ratio stays near 4 (an O(C²) step gives 16).
    const ratio = t4n / Math.max(tn, 10);
    assert.ok(ratio < 8, `n: ${tn.toFixed(1)} ms, 4n: ${t4n.toFixed(1)} ms, ratio ${ratio.toFixed(2)}`);
  });

  it('over 1,000 classes starts sorted by share, largest first (the first row is the largest share)', async function () {
    f = await fixture();
    f.table.update(big, names);
    const want = expected('share');
    assert.deepEqual(f.rowClasses(), want.slice(0, f.rowClasses().length));
    assert.equal(f.rowClasses()[0], want[0]);
    assert.equal(f.$$('th[data-key="share"]')[0].getAttribute('aria-sort'), 'descending');
    assert.equal(f.$$('th[data-key="class"]')[0].getAttribute('aria-sort'), 'none');
    assert.match(f.$$('.cel-table-status')[0].textContent ?? '', /sorted by share/);
    assert.deepEqual(f.table.sort, { key: 'share', dir: 'desc' });
    assert.equal(f.changes.length, 0, 'the automatic sort is not stored as a choice');
    // A stored choice is kept, and 1,000 classes exactly still start in index order.
    const g = await fixture({ sort: { key: 'count', dir: 'asc' } });
    g.table.update(big, names);
    assert.equal(g.$$('th[data-key="count"]')[0].getAttribute('aria-sort'), 'ascending');
    g.table.update(stats(1000), []);
    g.close();
    f.table.update(stats(1000), []);
    assert.deepEqual(f.rowClasses().slice(0, 5), [0, 1, 2, 3, 4]);
  });

  it('scrolling shows the rows at the scroll offset, in sort order, by any column', async function () {
    f = await fixture();
    f.table.update(big, names);
    const byShare = expected('share');
    f.scrollTo(100_000 * ROW_PX);
    const pos = positions(f);
    assert.ok(pos.includes(100_000) && pos.includes(100_010), `positions ${pos[0]}..${pos.at(-1)}`);
    assert.deepEqual(f.rowClasses(), pos.map((p) => byShare[p]));
    // The end of the table.
    f.scrollTo(VOCAB * ROW_PX);
    assert.equal(f.rowClasses().at(-1), byShare[VOCAB - 1]);
    // Sort by mean loss: back to the top, the largest mean first, empty classes (NaN) last.
    f.$$('th[data-key="lossMean"] button')[0].click();
    assert.deepEqual(f.changes.at(-1), { sort: { key: 'lossMean', dir: 'desc' } });
    const byMean = expected('lossMean');
    assert.equal(f.wrap().scrollTop, 0);
    assert.deepEqual(f.rowClasses(), byMean.slice(0, f.rowClasses().length));
    f.scrollTo(VOCAB * ROW_PX);
    assert.ok(Number.isNaN(big[f.rowClasses().at(-1) as number].lossMean));
    // Ascending by class index.
    f.$$('th[data-key="class"] button')[0].click();
    assert.deepEqual(f.table.sort, { key: 'class', dir: 'asc' });
    f.scrollTo(12_345 * ROW_PX);
    assert.deepEqual(f.rowClasses(), positions(f));
    assert.ok(f.rowClasses().includes(12_345));
  });

  it('search "1234" lists exactly the classes whose index or name contains it, class 1234 first', async function () {
    f = await fixture();
    f.table.update(big, names);
    const input = f.$$('input.cel-class-search')[0] as HTMLInputElement;
    // Each keystroke is one pass over the classes.
    for (const q of ['1', '12', '123', '1234']) {
      const t0 = performance.now();
      typeInto(f, input, q);
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `keystroke "${q}" took ${ms.toFixed(0)} ms`);
    }
    const byShare = expected('share');
    const match = byShare.filter((c) => String(c).includes('1234') || names[c].toLowerCase().includes('1234'));
    assert.ok(match.includes(7) && match.includes(200_000) && match.includes(11_234));
    const want = [1234, ...match.filter((c) => c !== 1234)];
    assert.equal(f.rowClasses()[0], 1234);
    assert.ok(f.$$('tbody tr').length <= MAX_ROWS + 2);
    assert.deepEqual(scrollThrough(f, want.length), want);
    assert.match(f.$$('.cel-table-status')[0].textContent ?? '', new RegExp(`^${want.length} of 262\u202f144 classes match`));
    // Case-insensitive names; no match says so; clearing brings every class back.
    typeInto(f, input, 'hello_WORLD');
    assert.deepEqual(f.rowClasses(), [99]);
    typeInto(f, input, 'no such class');
    assert.equal(f.rowClasses().length, 0);
    assert.match(f.$$('tbody')[0].textContent ?? '', /No class matches/);
    key(f, input, 'Escape');
    assert.equal(input.value, '');
    assert.equal(f.rowClasses()[0], byShare[0]);
  });

  it('clicking a row picks its class (as before), marks it and keeps the focus on its button', async function () {
    f = await fixture();
    f.table.update(big, names);
    f.scrollTo(50_000 * ROW_PX);
    const target = f.rowClasses()[5];
    (f.$$(`tr[data-class="${target}"]`)[0]).click();
    assert.deepEqual(f.picks, [target]);
    const row = f.$$(`tr[data-class="${target}"]`)[0];
    assert.ok(row.classList.contains('cel-selected'));
    assert.equal(row.querySelector('.cel-rowbtn')?.getAttribute('aria-pressed'), 'true');
    assert.equal(f.doc.activeElement, row.querySelector('.cel-rowbtn'));
    // The mark survives scrolling away and back.
    f.scrollTo(0);
    f.scrollTo(50_000 * ROW_PX);
    assert.ok(f.$$(`tr[data-class="${target}"]`)[0].classList.contains('cel-selected'));
  });

  it('arrow keys, End and Home move the focus between rows, scrolling rows in', async function () {
    f = await fixture();
    f.table.update(big, names);
    const byShare = expected('share');
    const first = f.$$(`tr[data-class="${byShare[0]}"] .cel-rowbtn`)[0];
    first.focus();
    key(f, first, 'ArrowDown');
    assert.equal(f.doc.activeElement?.closest('tr')?.getAttribute('data-class'), String(byShare[1]));
    key(f, f.doc.activeElement as HTMLElement, 'End');
    assert.equal(f.doc.activeElement?.closest('tr')?.getAttribute('data-class'), String(byShare[VOCAB - 1]));
    assert.ok(f.$$('tbody tr').length <= MAX_ROWS + 2);
    key(f, f.doc.activeElement as HTMLElement, 'Home');
    assert.equal(f.doc.activeElement?.closest('tr')?.getAttribute('data-class'), String(byShare[0]));
  });

  it('the chart shows the top 20 by the chosen value, with a caption saying so', async function () {
    f = await fixture();
    f.table.update(big, names);
    const bars = (): number[] => f.$$('.cel-bars .cel-bar-row').map((b) => Number(b.getAttribute('data-class')));
    assert.equal(BAR_LIMIT, 20);
    assert.deepEqual(bars(), expected('lossMean').slice(0, 20));
    const caption = f.$$('.cel-bars-caption')[0];
    assert.equal(caption.hidden, false);
    assert.equal(caption.textContent, 'The top 20 of 262\u202f144 classes by mean loss.');
    const select = f.$$('select[aria-label="Bar chart value"]')[0] as HTMLSelectElement;
    select.value = 'share';
    select.dispatchEvent(new f.win.Event('change') as unknown as Event);
    assert.deepEqual(f.changes.at(-1), { bars: 'share' });
    assert.deepEqual(bars(), expected('share').slice(0, 20));
    assert.match(caption.textContent ?? '', /by share of total loss/);
  });

  it('exports every class as CSV in the table order, whatever the search', async function () {
    f = await fixture();
    const rows = stats(2000);
    f.table.update(rows, []);
    typeInto(f, f.$$('input.cel-class-search')[0] as HTMLInputElement, '77');
    const lines = f.table.csv().trim().split('\r\n');
    assert.equal(lines.length, 2001);
    assert.deepEqual(lines.slice(1, 4).map((l) => Number(l.split(',')[0])), expectedDesc(rows, 'share').slice(0, 3));
  });
});

describe('view: class table component, small tables unchanged', function () {
  let f: Fixture;
  afterEach(function () {
    f?.close();
  });

  it('5 classes: every row, in class order, no spacer, a bar per class in table order, no caption', async function () {
    f = await fixture();
    const rows = stats(5);
    f.table.update(rows, ['cat', 'dog', 'bird', 'fish', 'ant']);
    assert.deepEqual(f.rowClasses(), [0, 1, 2, 3, 4]);
    assert.equal(f.$$('tbody tr').length, 5);
    assert.equal(f.$$('tbody tr.cel-spacer').length, 0);
    assert.deepEqual(f.$$('.cel-rowname').map((e) => e.textContent), ['cat', 'dog', 'bird', 'fish', 'ant']);
    assert.equal(f.$$('th button.cel-sort').length, 7);
    assert.equal(f.$$('th[data-key="class"]')[0].getAttribute('aria-sort'), 'ascending');
    assert.deepEqual(f.$$('.cel-bar-row').map((b) => Number(b.getAttribute('data-class'))), [0, 1, 2, 3, 4]);
    assert.ok(f.$$('.cel-bars-caption')[0].hidden);
    assert.equal(f.$$('.cel-table-status')[0].textContent, '5 classes');
    // Sorting moves every row; the bars follow the table.
    f.$$('th[data-key="share"] button')[0].click();
    const want = expectedDesc(rows, 'share');
    assert.deepEqual(f.rowClasses(), want);
    assert.deepEqual(f.$$('.cel-bar-row').map((b) => Number(b.getAttribute('data-class'))), want);
    assert.equal(f.doc.activeElement, f.$$('th[data-key="share"] button')[0]);
  });
});
