// Per-class table: sorting and CSV export.
import * as assert from 'node:assert/strict';
import type { ClassStats } from '../../../../src/kernel/types';
import {
  classSearch, classTableCsv, csvField, csvNumber, defaultSortFor, filterOrder, nextSort, sortClasses, sortOrder, topClasses,
  type SortKey, type SortSpec,
} from '../../../../media/view/tables/table';

function row(index: number, lossMean: number, count: number, extra: Partial<ClassStats> = {}): ClassStats {
  return { index, count, ignored: 0, lossSum: lossMean * count, lossMean, weight: 1, share: 0.1, accuracy: 0.5, iou: 0.25, predicted: count, precision: 0.5, ...extra } as ClassStats;
}

const rows = [row(0, 0.5, 10), row(1, NaN, 0), row(2, 2, 3), row(3, 0.5, 7), row(4, 1, 1)];
const idx = (r: ClassStats[]): number[] => r.map((x) => x.index);

describe('view: class table sorting', function () {
  it('sorts numbers both ways with NaN always last and ties by class', function () {
    assert.deepEqual(idx(sortClasses(rows, { key: 'lossMean', dir: 'desc' })), [2, 4, 0, 3, 1]);
    assert.deepEqual(idx(sortClasses(rows, { key: 'lossMean', dir: 'asc' })), [0, 3, 4, 2, 1]);
    assert.deepEqual(idx(sortClasses(rows, { key: 'count', dir: 'desc' })), [0, 3, 2, 4, 1]);
  });

  it('sorts by class index or by name', function () {
    assert.deepEqual(idx(sortClasses(rows, { key: 'class', dir: 'desc' })), [4, 3, 2, 1, 0]);
    const names = ['zebra', 'apple', 'Mango', 'banana', 'class 10'];
    assert.deepEqual(idx(sortClasses(rows, { key: 'name', dir: 'asc' }, names)), [1, 3, 4, 2, 0]);
    assert.deepEqual(idx(sortClasses(rows, { key: 'name', dir: 'desc' }, names)), [0, 2, 4, 3, 1]);
  });

  it('does not change the input', function () {
    const copy = [...rows];
    sortClasses(rows, { key: 'lossMean', dir: 'desc' });
    assert.deepEqual(rows, copy);
  });

  it('cycles header clicks', function () {
    assert.deepEqual(nextSort({ key: 'class', dir: 'asc' }, 'lossMean'), { key: 'lossMean', dir: 'desc' });
    assert.deepEqual(nextSort({ key: 'lossMean', dir: 'desc' }, 'lossMean'), { key: 'lossMean', dir: 'asc' });
    assert.deepEqual(nextSort({ key: 'class', dir: 'asc' }, 'class'), { key: 'class', dir: 'desc' });
    assert.deepEqual(nextSort({ key: 'class', dir: 'desc' }, 'class'), { key: 'class', dir: 'asc' });
    assert.deepEqual(nextSort({ key: 'class', dir: 'desc' }, 'class', true), { key: 'name', dir: 'asc' });
    assert.deepEqual(nextSort({ key: 'name', dir: 'asc' }, 'class', true), { key: 'name', dir: 'desc' });
    assert.deepEqual(nextSort({ key: 'name', dir: 'desc' }, 'class', true), { key: 'class', dir: 'asc' });
  });
});

describe('view: class table CSV', function () {
  it('quotes and escapes fields per RFC 4180', function () {
    assert.equal(csvField('cat'), 'cat');
    assert.equal(csvField('dining, table'), '"dining, table"');
    assert.equal(csvField('motor"bike'), '"motor""bike"');
    assert.equal(csvField('potted\nplant'), '"potted\nplant"');
    assert.equal(csvField('cr\rlf'), '"cr\rlf"');
    assert.equal(csvField(' padded'), '" padded"');
    assert.equal(csvField('<script>alert(1)</script>'), '<script>alert(1)</script>');
  });

  it('defuses spreadsheet formulas', function () {
    assert.equal(csvField('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
    assert.equal(csvField('+1'), '"\'+1"');
    assert.equal(csvField('-cls'), '"\'-cls"');
    assert.equal(csvField('@sum'), '"\'@sum"');
  });

  it('writes full-precision numbers and nan/inf', function () {
    assert.equal(csvNumber(0.1 + 0.2), '0.30000000000000004');
    assert.equal(csvNumber(NaN), 'nan');
    assert.equal(csvNumber(-Infinity), '-inf');
  });

  it('exports the table with hostile class names intact', function () {
    const names = ['a,b', 'say "hi"', 'two\nlines', '<script>alert(1)</script>'];
    const stats = [row(0, 0.5, 2), row(1, NaN, 0), row(2, 1.25, 4, { share: 0.75 }), row(3, 2, 1)];
    const csv = classTableCsv(stats, names);
    const expected = [
      'class,name,count,ignored,predicted,weight,mean_loss,loss_sum,share,accuracy,iou',
      '0,"a,b",2,0,2,1,0.5,1,0.1,0.5,0.25',
      '1,"say ""hi""",0,0,0,1,nan,nan,0.1,0.5,0.25',
      '2,"two\nlines",4,0,4,1,1.25,5,0.75,0.5,0.25',
      '3,<script>alert(1)</script>,1,0,1,1,2,2,0.1,0.5,0.25',
    ].join('\r\n') + '\r\n';
    assert.equal(csv, expected);
    assert.equal(parseCsv(csv)[3][1], 'two\nlines');
    assert.equal(parseCsv(csv)[2][1], 'say "hi"');
  });
});

/** A minimal RFC 4180 reader, to prove the export round-trips. */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let rowCells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      rowCells.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      rowCells.push(cell);
      out.push(rowCells);
      rowCells = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return out;
}

/** The comparator sort the table used before the radix sort: the reference the fast one must equal. */
function referenceSort(rs: ReadonlyArray<ClassStats & { flagged?: number }>, spec: SortSpec): number[] {
  const sign = spec.dir === 'asc' ? 1 : -1;
  const key = spec.key as Exclude<SortKey, 'name'>;
  const val = (r: ClassStats & { flagged?: number }): number => (key === 'class' ? r.index : r[key] ?? NaN);
  return [...rs].sort((a, b) => {
    const va = val(a);
    const vb = val(b);
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na || nb) return na && nb ? a.index - b.index : na ? 1 : -1;
    const d = va === vb ? 0 : va < vb ? -1 : 1;
    return sign * d || a.index - b.index;
  }).map((r) => r.index);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('view: class table at vocabulary scale (sort, search, top classes)', function () {
  // Values with ties, NaN, -0, ±Infinity, negatives, subnormals and large magnitudes.
  const SPECIAL = [NaN, 0, -0, Infinity, -Infinity, -1, 1, 5e-324, -5e-324, 1e300, -1e300, 0.5, 0.5];
  const rnd = lcg(11);
  const pick = (): number => (rnd() < 0.3 ? SPECIAL[Math.floor(rnd() * SPECIAL.length)] : Math.round((rnd() - 0.3) * 40) / 8);
  const many: ClassStats[] = Array.from({ length: 5000 }, (_, i) => ({
    index: i, count: Math.floor(rnd() * 4), ignored: Math.floor(rnd() * 3), lossSum: pick(), lossMean: pick(), weight: pick(),
    share: pick(), accuracy: pick(), iou: pick(), predicted: 1, precision: pick(),
  }));

  it('sortOrder equals the comparator sort for every numeric column, both ways', function () {
    for (const key of ['class', 'count', 'ignored', 'weight', 'lossMean', 'lossSum', 'share', 'accuracy', 'iou'] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        assert.deepEqual(Array.from(sortOrder(many, { key, dir })), referenceSort(many, { key, dir }), `${key} ${dir}`);
      }
    }
    // The label-errors column: counts with ties, and rows without one (no label errors known) last.
    const flagged = many.map((r, i) => (i % 7 === 0 ? r : { ...r, flagged: Math.floor(rnd() * 5) }));
    for (const dir of ['asc', 'desc'] as const) assert.deepEqual(Array.from(sortOrder(flagged, { key: 'flagged', dir })), referenceSort(flagged, { key: 'flagged', dir }), `flagged ${dir}`);
    // Rows not in index order still tie by index.
    const shuffled = [...many].reverse();
    const order = Array.from(sortOrder(shuffled, { key: 'share', dir: 'desc' }), (p) => shuffled[p].index);
    assert.deepEqual(order, referenceSort(many, { key: 'share', dir: 'desc' }));
  });

  it('tables over 1,000 classes start sorted by share, largest first', function () {
    assert.deepEqual(defaultSortFor(5), { key: 'class', dir: 'asc' });
    assert.deepEqual(defaultSortFor(1000), { key: 'class', dir: 'asc' });
    assert.deepEqual(defaultSortFor(1001), { key: 'share', dir: 'desc' });
    assert.deepEqual(defaultSortFor(262_144), { key: 'share', dir: 'desc' });
  });

  it('topClasses keeps the k largest (NaN left out), largest first, ties by class index', function () {
    for (const key of ['lossMean', 'share'] as const) {
      const want = referenceSort(many, { key, dir: 'desc' }).filter((c) => !Number.isNaN(many[c][key])).slice(0, 20);
      assert.deepEqual(topClasses(many, key, 20).map((r) => r.index), want, key);
    }
    assert.deepEqual(topClasses(rows, 'lossMean', 10).map((r) => r.index), [2, 4, 0, 3]);
    assert.deepEqual(topClasses(rows, 'lossMean', 0), []);
  });

  it('search matches index or name as a case-insensitive substring, the exact index first', function () {
    const rs = Array.from({ length: 13_000 }, (_, i) => row(i, 1, 1, { share: (i % 7) / 7 }));
    const names: string[] = [];
    names[3] = 'Hello World';
    names[5] = 'x1234y';
    names[6] = 'İİstanbul'; // lower-cases to a longer string (each İ to i and a combining dot)
    names[7] = 'zq'; // after 'İİstanbul': offsets must follow the lower-cased lengths
    names[8] = 'two\nlines\u0000nul';
    names[9] = 'WORLD cup';
    const order = sortOrder(rs, { key: 'share', dir: 'desc' });
    const s = classSearch(rs, names);
    const find = (q: string): number[] => Array.from(filterOrder(order, s, q, rs), (p) => rs[p].index);
    const inOrder = (cs: number[]): number[] => Array.from(order, (p) => rs[p].index).filter((c) => cs.includes(c));
    const with1234 = [5, 1234, 11234, 12340, 12341, 12342, 12343, 12344, 12345, 12346, 12347, 12348, 12349];
    assert.deepEqual(find('1234'), [1234, ...inOrder(with1234.filter((c) => c !== 1234))]);
    assert.deepEqual(find('  world '), inOrder([3, 9]));
    assert.deepEqual(find('İİSTANBUL'.toLowerCase()), [6]);
    assert.deepEqual(find('stanbul'), [6]);
    assert.deepEqual(find('q'), [7]);
    assert.deepEqual(find('lines'), [8]);
    assert.deepEqual(find('nul'), [8]);
    assert.deepEqual(find('s\nnul'), [], 'no match across a name boundary or the separator');
    assert.deepEqual(find('0012'), [10012], 'an index matches as a substring, as written');
    assert.equal(find('').length, rs.length);
    assert.equal(find('nothing like it').length, 0);
    // A query never matches across two rows' text.
    const joinedIds = Array.from({ length: 20 }, (_, i) => row(i, 1, 1));
    const s2 = classSearch(joinedIds);
    assert.deepEqual(Array.from(filterOrder(sortOrder(joinedIds, { key: 'class', dir: 'asc' }), s2, '12', joinedIds)), [12]);
  });
});
